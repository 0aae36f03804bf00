"""The learning-rate range test (LR finder) as one compiled ``lax.scan``.

The compiled programs are cached per loss function (held weakly: dropping the
function drops its programs) and per optimizer, evaluation function, init
function, model structure, number of trials, data layout and mesh; shapes are
left to ``jax.jit``. Parameters, data, keys and the learning rates are traced
arguments, so a second call with new values (or new ``start_lr``/``end_lr``)
runs without tracing again.
"""

import collections
import collections.abc
import inspect
import math
import sys
import threading
import warnings
import weakref
from typing import Any, Callable, NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxsched import _common as c
from jaxsched.tools import _plotting

SUGGESTION_RULES = ("valley", "steepest", "minimum")
SWEEP_MODES = ("exponential", "linear")


def _steepest(lrs: np.ndarray, smoothed: np.ndarray) -> float:
  """LR of the steepest descent of the smoothed loss against log LR."""
  if len(lrs) < 2:
    return float(lrs[0])
  slope = np.gradient(smoothed, np.log(lrs))
  return float(lrs[int(np.argmin(slope))])


def _valley(lrs: np.ndarray, smoothed: np.ndarray) -> float:
  """fastai's valley rule: a point two thirds down the longest descent.

  The longest decreasing subsequence of the smoothed losses marks the valley;
  the suggestion lies past its first half, where the loss still falls fast
  but is well away from the divergence. fastai's double loop, with its inner
  loop over ``j`` done in NumPy (same result, including where fastai records
  the start of the valley while ``lengths[i]`` is still growing).
  """
  n = len(smoothed)
  if n < 2:
    return float(lrs[0])
  smoothed = np.asarray(smoothed)
  lengths = np.ones(n, dtype=int)
  start = end = 0
  for i in range(1, n):
    # Running value of lengths[i] after each j of fastai's inner loop.
    running = np.maximum.accumulate(np.where(smoothed[i] < smoothed[:i], lengths[:i] + 1, 1))
    lengths[i] = running[-1]
    exceeded = np.flatnonzero(running > lengths[end])
    if exceeded.size:
      end = i
      start = end - int(running[exceeded[0]])
  sections = (end - start) / 3
  index = start + int(sections) + int(sections / 2)
  return float(lrs[min(max(index, 0), n - 1)])


def _suggest(lrs: np.ndarray, smoothed: np.ndarray) -> dict:
  """Every rule's suggestion from one curve (its finite points)."""
  finite = np.isfinite(smoothed)  # a trial that got this far has two finite points or more
  kept_lrs, kept = lrs[finite], smoothed[finite]
  return {
    "valley": _valley(kept_lrs, kept),
    "steepest": _steepest(kept_lrs, kept),
    "minimum": float(kept_lrs[int(np.argmin(kept))]) / 10.0,
  }


def _smooth(losses_KxN: np.ndarray, beta: float, threshold: float) -> tuple:
  """Bias-corrected EMA of each row, each row's stop step and whether it diverged.

  A row stops at its first step whose smoothed loss is not finite or exceeds
  ``threshold`` times the best before it; one that never does "stops" at its
  last step (``diverged`` False).
  """
  num_trials, n = losses_KxN.shape
  smoothed = np.full((num_trials, n), np.nan)
  stops = np.full(num_trials, n - 1)
  diverged = np.zeros(num_trials, bool)
  corrections = 1.0 - beta ** np.arange(1, n + 1)
  for k in range(num_trials):  # plain floats: far quicker than NumPy calls per step
    average, best, row = 0.0, np.inf, smoothed[k]
    for i, loss in enumerate(losses_KxN[k].tolist()):
      average = beta * average + (1.0 - beta) * loss
      value = row[i] = average / corrections[i]
      if not math.isfinite(value) or (i > 0 and value > threshold * best):
        stops[k], diverged[k] = i, True
        break
      best = min(best, value)
  return smoothed, stops, diverged


def _log_quantile(values: np.ndarray, q: float) -> float:
  """A quantile taken on log LR (the geometric mean of the middle two for an even median)."""
  return float(np.exp(np.quantile(np.log(values), q)))


class LRFinderResult(NamedTuple):
  """What :func:`lr_find` measured.

  With one trial the curve fields are that trial's; with ``num_trials=K`` they
  are the medians over the trials at each step and the per-trial arrays carry
  a leading axis of ``K`` (steps after a trial stopped are NaN there).

  Attributes:
    lrs: learning rate of each step, up to and including ``stop_step``.
    losses: loss before each step's update (as in the classic range test), or
      the validation loss after it when an evaluation was given; the median
      over trials for several.
    smoothed_losses: bias-corrected exponential average of ``losses`` (of each
      trial's, then the median over trials).
    stop_step: first step whose smoothed loss exceeded ``diverge_threshold``
      times the best so far or was not finite; the last step if none did. With
      several trials, the last step any trial ran.
    suggestions: ``{"valley", "steepest", "minimum"}`` rule -> learning rate
      (with several trials, the median over trials of each trial's).
    suggestion: the learning rate of the chosen rule.
    rule: the name of the chosen rule.
    num_trials: number of trials ``K``.
    trial_losses: ``(K, stop_step + 1)`` each trial's losses.
    trial_smoothed_losses: ``(K, stop_step + 1)`` each trial's smoothed losses.
    trial_stop_steps: ``(K,)`` each trial's stop step.
    trial_suggestions: rule -> ``(K,)`` each trial's suggestion.
    suggestion_spread: ``(low, high)``: first and third quartile over trials
      of the chosen rule's suggestions (taken on log LR); ``(s, s)`` for one.
    mode: the sweep, "exponential" or "linear".
  """

  lrs: np.ndarray
  losses: np.ndarray
  smoothed_losses: np.ndarray
  stop_step: int
  suggestions: dict
  suggestion: float
  rule: str
  num_trials: int = 1
  trial_losses: Optional[np.ndarray] = None
  trial_smoothed_losses: Optional[np.ndarray] = None
  trial_stop_steps: Optional[np.ndarray] = None
  trial_suggestions: Optional[dict] = None
  suggestion_spread: Optional[tuple] = None
  mode: str = "exponential"

  def plot(self, path: Any, *, title: str = "LR range test") -> Any:
    """Draws loss against LR with the suggestion, and its slope below.

    With several trials, the median curve is drawn with the band between the
    trials' smallest and largest smoothed losses, and the suggestion's
    quartiles are shaded.

    Args:
      path: where to save the figure (PNG by extension).
      title: the figure title.

    Returns:
      The path written.
    """
    return _plotting.plot_lr_find(self, path, title=title)


# --- compiled programs, cached ---------------------------------------------------------


class _Static(NamedTuple):
  """Everything a compiled sweep depends on besides shapes (hashable)."""

  optimizer: Any
  eval_fn: Any  # None: the loss function itself
  has_eval: bool
  init_fn: Any
  graphdef: Any  # an NNX GraphDef when params is a module, else None
  num_trials: int
  per_step: bool
  shuffle: bool
  mesh: Any
  data_axis: Any


class _Programs(NamedTuple):
  init: Callable  # (model, keys, lr0) -> carry
  run: Callable  # (carry, keys, lrs, data, eval_data, chunk_index) -> (carry, losses)


_PROGRAMS_PER_FUNCTION = 8
_ProgramsKey = tuple[Optional[Callable], _Static]  # (a method's function or None, static)
# loss_fn (or a method's owner) -> {key: _Programs}
_BY_FUNCTION: weakref.WeakKeyDictionary[Any, collections.OrderedDict[_ProgramsKey, _Programs]] = (
  weakref.WeakKeyDictionary()
)
# (loss_fn, key) -> _Programs, bounded
_UNREFERENCEABLE: collections.OrderedDict[tuple[Callable, _Static], _Programs] = (
  collections.OrderedDict()
)
_LOCK = threading.Lock()


def _nnx_module(x: Any) -> Any:
  """``flax.nnx`` if ``x`` is an NNX module (flax is never imported here), else None."""
  nnx = sys.modules.get("flax.nnx")
  return nnx if nnx is not None and isinstance(x, nnx.Module) else None


def _split(module: Any) -> tuple:
  nnx = sys.modules["flax.nnx"]
  graphdef, params, rest = nnx.split(module, nnx.Param, ...)
  return graphdef, (params, rest)


def _programs(loss_fn: Callable, static: _Static) -> _Programs:
  """The cached programs for ``loss_fn`` and ``static``, built on first use.

  The programs refer to ``loss_fn`` through a weak reference (to a bound
  method's owner for a method), so the cache never keeps it alive.
  """
  key: _ProgramsKey
  if inspect.ismethod(loss_fn):
    anchor, func, key = loss_fn.__self__, loss_fn.__func__, (loss_fn.__func__, static)
  else:
    anchor, func, key = loss_fn, None, (None, static)
  try:
    ref = weakref.ref(anchor)
    hash(anchor)
  except TypeError:
    ref = None
  if ref is None:
    with _LOCK:
      try:
        programs = _UNREFERENCEABLE.get((loss_fn, static))
      except TypeError:  # not hashable either: nothing to cache on
        return _build(lambda: loss_fn, static)
      if programs is None:
        programs = _UNREFERENCEABLE[(loss_fn, static)] = _build(lambda: loss_fn, static)
        while len(_UNREFERENCEABLE) > 4 * _PROGRAMS_PER_FUNCTION:
          _UNREFERENCEABLE.popitem(last=False)
      return programs
  resolve: Callable[[], Any] = ref if func is None else (lambda: func.__get__(ref()))
  with _LOCK:
    table = _BY_FUNCTION.setdefault(anchor, collections.OrderedDict())
    programs = table.get(key)
    if programs is None:
      programs = table[key] = _build(resolve, static)
      while len(table) > _PROGRAMS_PER_FUNCTION:
        table.popitem(last=False)
    else:
      table.move_to_end(key)
    return programs


def _build(resolve: Callable[[], Callable], s: _Static) -> _Programs:
  """The init and sweep programs (``jax.jit``), for one or ``num_trials`` vmapped trials."""
  tx = optax.inject_hyperparams(s.optimizer)(learning_rate=0.0)
  found: dict[str, Any] = {}  # the GraphDef an init_fn's module has, seen when init is traced

  def graphdef():
    return s.graphdef if s.graphdef is not None else found.get("graphdef")

  def call(fn, params, rest, batch):
    """``fn`` on the params (or the merged module); the module's new non-param state."""
    gd = graphdef()
    if gd is None:
      return fn(params, batch), rest
    # copy: fresh Variables of this trace level, which the module may update (batch stats).
    model = sys.modules["flax.nnx"].merge(gd, params, rest, copy=True)
    out = fn(model, batch)
    return out, _split(model)[1][1]

  def loss_and_rest(params, rest, batch):
    return call(resolve(), params, rest, batch)

  grad_fn = jax.value_and_grad(loss_and_rest, has_aux=True)

  def constrain(batch):
    if s.mesh is None:
      return batch
    spec = lambda x: jax.sharding.PartitionSpec(*((s.data_axis,) if jnp.ndim(x) else ()))
    return jax.tree.map(
      lambda x: jax.lax.with_sharding_constraint(x, jax.sharding.NamedSharding(s.mesh, spec(x))),
      batch,
    )

  def init_one(model, key, lr0):
    if s.init_fn is not None:
      made = s.init_fn(jax.random.split(key)[0])
      if _nnx_module(made) is not None:
        found["graphdef"], model = _split(made)
      else:
        model = (made, ())
    params, rest = model
    opt_state = tx.init(params)
    opt_state.hyperparams["learning_rate"] = jnp.asarray(lr0, jnp.float32)
    return params, rest, opt_state

  def run_one(carry, key, lrs, data, eval_data, chunk_index):
    order = None
    if s.shuffle:
      order_key = jax.random.fold_in(jax.random.split(key)[1], chunk_index)
      order = jax.random.permutation(order_key, lrs.shape[0])
    scanned = data if s.per_step and order is None else None

    def step(carry, inputs):
      params, rest, opt_state = carry
      lr, batch, index = inputs
      if not s.per_step:
        batch = data
      elif index is not None:
        batch = jax.tree.map(lambda x: x[index], data)
      (loss, rest), grads = grad_fn(params, rest, constrain(batch))
      opt_state.hyperparams["learning_rate"] = lr
      updates, opt_state = tx.update(grads, opt_state, params)
      params = optax.apply_updates(params, updates)
      if s.has_eval:
        evaluate = resolve() if s.eval_fn is None else s.eval_fn
        loss, _ = call(evaluate, params, rest, constrain(eval_data))
      return (params, rest, opt_state), loss

    return jax.lax.scan(step, carry, (lrs, scanned, order), unroll=1)

  if s.num_trials == 1:
    init = lambda model, keys, lr0: init_one(model, keys[0], lr0)
    run = lambda carry, keys, *rest: run_one(carry, keys[0], *rest)
  else:
    init = jax.vmap(init_one, in_axes=(None, 0, None))
    run = jax.vmap(run_one, in_axes=(0, 0, None, None, None, None))
  return _Programs(jax.jit(init), jax.jit(run))


# --- the range test -----------------------------------------------------------------------


def _is_key(key: Any) -> bool:
  if not hasattr(key, "dtype") or not hasattr(key, "shape"):
    return False
  if jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key):
    return key.shape == ()
  return key.dtype == jnp.uint32 and key.shape == (2,)


def _stack(batches: list) -> Any:
  """One pytree with a leading axis from a list of batches (NumPy stays on the host)."""

  def stack(*xs):
    if all(isinstance(x, (np.ndarray, np.generic, int, float)) for x in xs):
      return np.stack(xs)
    return jnp.stack(xs)

  return jax.tree.map(stack, *batches)


def _strong(tree: Any) -> Any:
  """``tree`` with weakly typed leaves (``jnp.full(n, 2.0)``, Python numbers) strongly typed.

  ``jax.jit`` compiles a weak and a strong float32 argument separately; with
  every input strong, new parameter or data values of the same shapes and
  dtypes reuse the compiled sweep whatever made them.
  """

  def strong(x):
    if isinstance(x, jax.Array) and x.weak_type:
      return x.astype(x.dtype)
    if isinstance(x, (bool, int, float, complex)):
      return np.asarray(x)
    return x

  return jax.tree.map(strong, tree)


def _check_failed(fn: str, lrs: np.ndarray, losses_KxN: np.ndarray, stops: np.ndarray) -> None:
  """Raises when a trial has no range to suggest from: it diverged at step 0 or 1.

  ``stops`` holds each trial's divergence step (past the end for one that did not).
  """
  failed = np.flatnonzero(stops <= 1)
  if not failed.size:
    return
  k = int(failed[0])
  which = f"trial {k} of {len(stops)}" if len(stops) > 1 else "the range test"
  first = losses_KxN[k, 0]
  if not np.isfinite(first):
    why = (
      f"the loss at step 0 (lr={lrs[0]:.3g}) is {first}: check the parameters, the data "
      "and the loss function"
    )
  else:
    why = (
      f"the loss diverged at step 1 (it is {losses_KxN[k, 1]} after one update at "
      f"lr={lrs[0]:.3g}): lower start_lr"
    )
  raise ValueError(f"{fn}: {which} failed, no learning rate to suggest: {why}")


def _check_mesh(fn: str, mesh: Any, data_axis: Any, batch_trees: list) -> None:
  if not isinstance(mesh, jax.sharding.Mesh):
    raise ValueError(f"{fn}: mesh={mesh!r} must be a jax.sharding.Mesh")
  if data_axis not in mesh.axis_names:
    raise ValueError(
      f"{fn}: data_axis={data_axis!r} must be one of mesh.axis_names={tuple(mesh.axis_names)}"
    )
  size = mesh.shape[data_axis]
  for name, tree, skip in batch_trees:
    for x in jax.tree.leaves(tree):
      shape = jnp.shape(x)[skip:]
      if shape and shape[0] % size:
        raise ValueError(
          f"{fn}: the batch axis of {name} (shape {tuple(jnp.shape(x))}) must be "
          f"divisible by mesh.shape[{data_axis!r}]={size}"
        )


def _put(tree: Any, mesh: Any, data_axis: Any, skip: int) -> Any:
  """``tree`` on ``mesh``: the batch axis (after ``skip`` leading axes) split over ``data_axis``."""

  def put(x):
    spec = (None,) * skip + ((data_axis,) if jnp.ndim(x) > skip else ())
    sharding = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec(*spec))
    return jax.device_put(x, sharding)

  return jax.tree.map(put, tree)


def lr_find(
  loss_fn: Callable[[Any, Any], jax.Array],
  params: Any,
  data: Any,
  *,
  optimizer: Callable[..., optax.GradientTransformation] = optax.sgd,
  start_lr: float = 1e-7,
  end_lr: float = 10.0,
  num_steps: int = 100,
  smoothing: float = 0.98,
  diverge_threshold: float = 4.0,
  data_per_step: Optional[bool] = None,
  rule: str = "valley",
  mode: str = "exponential",
  eval_fn: Optional[Callable[[Any, Any], jax.Array]] = None,
  eval_data: Any = None,
  num_trials: int = 1,
  init_fn: Optional[Callable[[jax.Array], Any]] = None,
  key: Optional[jax.Array] = None,
  chunk_size: Optional[int] = None,
  mesh: Optional[jax.sharding.Mesh] = None,
  data_axis: str = "data",
) -> LRFinderResult:
  """The learning-rate range test: train with a rising LR and record the loss.

  Step ``i`` of ``n`` uses, for ``mode="exponential"`` and ``mode="linear"``,

  .. math::
    \\eta_i = \\eta_{start} (\\eta_{end} / \\eta_{start})^{i / (n - 1)} \\qquad
    \\eta_i = \\eta_{start} + (\\eta_{end} - \\eta_{start}) \\, i / (n - 1)

  and records the loss before its update (or, with ``eval_data``, the
  validation loss after it); the smoothed loss is
  ``a_i = beta a_{i-1} + (1 - beta) L_i`` divided by ``1 - beta^(i+1)``. The
  sweep is one compiled ``lax.scan``, compiled once per loss function,
  optimizer, shapes, dtypes and number of steps: later calls with new
  parameter, data, key or LR-bound values reuse it (weakly typed inputs such
  as ``jnp.full(n, 2.0)`` or Python numbers are made strongly typed first, so
  they do too). ``params`` are not modified (the sweep trains a copy; nothing
  is donated) and nothing global is changed.

  A range test fails, and ``lr_find`` raises ``ValueError`` saying why, when
  a trial has no curve to suggest from: its loss is not finite at step 0
  (broken parameters, data or loss) or diverges at step 1 (``start_lr`` too
  high). A suggestion is only returned from a measured range.

  ``num_trials=K`` runs K range tests in one vmapped program: trial ``k``
  starts from ``init_fn(key_k)`` (or from ``params``) and, with one batch per
  step, takes the batches in its own random order. The result holds every
  trial's curve, the median suggestion and its quartiles, so the spread of the
  suggestion is visible.

  Data may also come from an iterator of batches (data too large to stack in
  memory): it is scanned ``chunk_size`` steps at a time by one compiled chunk
  program, and no more batches are drawn once every trial has diverged.

  Seed 000: ``LRRangeFinder.find_lr_range`` (which stops at a raw loss of 4x the
  best and suggests the steepest point of the raw curve); fastai's
  ``lr_find``; torch-lr-finder's ``LRFinder.range_test`` (``step_mode`` "exp"
  or "linear", ``val_loader``). Suggestions: "steepest" (most negative slope of
  the smoothed loss against log LR), "minimum" (LR at the lowest smoothed loss
  / 10) and "valley" (fastai's rule, the default).

  Args:
    loss_fn: ``loss_fn(params, batch) -> scalar``; ``loss_fn(model, batch)``
      when ``params`` is a Flax NNX module (split into its ``nnx.Param``
      state, which is trained, and the rest, which is carried along).
    params: initial parameters (any pytree) or an NNX module; None when
      ``init_fn`` is given.
    data: one batch reused every step; a pytree whose leaves have a leading
      axis of ``num_steps``, one batch per step; or an iterator yielding one
      batch per step.
    optimizer: an Optax optimizer factory taking ``learning_rate`` first.
    start_lr: first learning rate, > 0.
    end_lr: last learning rate, > ``start_lr``.
    num_steps: number of steps, >= 2.
    smoothing: ``beta`` of the exponential average, in [0, 1).
    diverge_threshold: stop once the smoothed loss exceeds this multiple of its
      best, > 1.
    data_per_step: whether ``data`` holds one batch per step; None infers it
      (True when every leaf's leading axis has length ``num_steps``).
    rule: which suggestion becomes ``suggestion``: "valley", "steepest" or "minimum".
    mode: "exponential" (geometric LR steps) or "linear".
    eval_fn: ``eval_fn(params_or_model, batch) -> scalar`` recorded after every
      update on ``eval_data``; None uses ``loss_fn``. Needs ``eval_data``.
    eval_data: one validation batch; when given, the recorded loss of each step
      is the validation loss after its update.
    num_trials: number of range tests ``K`` run together, >= 1. Above 1 the
      trials must differ: give ``init_fn`` or one batch per step.
    init_fn: ``init_fn(key) -> params`` (or an NNX module) for each trial's
      initial parameters; ``params`` must then be None.
    key: a PRNG key for the trials' initial parameters and batch orders;
      None uses ``jax.random.key(0)``.
    chunk_size: steps per compiled chunk when ``data`` is an iterator, in
      [1, ``num_steps``]; None uses ``min(num_steps, 100)``.
    mesh: a ``jax.sharding.Mesh``: batches are split over its ``data_axis``
      (their batch axis must be divisible by its size), parameters replicated.
    data_axis: the mesh axis name the batches are split over.

  Returns:
    An :class:`LRFinderResult`.

  Raises:
    ValueError: for bad arguments, and when the range test fails (see above).

  Examples:
    >>> import jax.numpy as jnp, jaxsched
    >>> loss = lambda w, x: jnp.sum((w * x) ** 2)
    >>> result = jaxsched.lr_find(loss, jnp.ones(3), jnp.ones(3), num_steps=50)
    >>> 1e-7 <= result.suggestion < 1.0  # GD on this loss diverges above lr = 1
    True
  """
  fn = "lr_find"
  if not callable(loss_fn):
    raise ValueError(f"{fn}: loss_fn={loss_fn!r} must be a callable loss_fn(params, batch)")
  c.check_real(fn, "start_lr", start_lr, low=0.0, low_open=True)
  c.check_real(fn, "end_lr", end_lr, low=0.0, low_open=True)
  c.check_order(fn, "start_lr", start_lr, "end_lr", end_lr, strict=True)
  c.check_steps(fn, "num_steps", num_steps, minimum=2)
  c.check_real(fn, "smoothing", smoothing, low=0.0, high=1.0, high_open=True)
  c.check_real(fn, "diverge_threshold", diverge_threshold, low=1.0, low_open=True)
  c.check_choice(fn, "rule", rule, SUGGESTION_RULES)
  c.check_choice(fn, "mode", mode, SWEEP_MODES)
  c.check_steps(fn, "num_trials", num_trials, minimum=1, noun="trials")
  if not callable(optimizer):
    raise ValueError(f"{fn}: optimizer={optimizer!r} must be an Optax optimizer factory")
  for name, value in (("eval_fn", eval_fn), ("init_fn", init_fn)):
    if value is not None and not callable(value):
      raise ValueError(f"{fn}: {name}={value!r} must be callable or None")
  if eval_fn is not None and eval_data is None:
    raise ValueError(f"{fn}: eval_fn needs eval_data (the validation batch); eval_data=None")
  if init_fn is None and params is None:
    raise ValueError(f"{fn}: params=None needs init_fn(key) -> params")
  if init_fn is not None and params is not None:
    raise ValueError(f"{fn}: give params or init_fn, not both (params must be None with init_fn)")
  if key is None:
    key = jax.random.key(0)
  elif not _is_key(key):
    raise ValueError(f"{fn}: key={key!r} must be a PRNG key (jax.random.key(seed))")
  num_steps, num_trials = int(num_steps), int(num_trials)

  iterator = isinstance(data, collections.abc.Iterator)
  if iterator:
    if data_per_step is False:
      raise ValueError(f"{fn}: data_per_step=False, but data is an iterator (one batch per step)")
    data_per_step = True
    if chunk_size is None:
      chunk_size = min(num_steps, 100)
    c.check_steps(fn, "chunk_size", chunk_size, minimum=1)
    if int(chunk_size) > num_steps:
      raise ValueError(f"{fn}: chunk_size={chunk_size} must be in [1, num_steps={num_steps}]")
    chunk_size = int(chunk_size)
  else:
    if chunk_size is not None:
      raise ValueError(
        f"{fn}: chunk_size={chunk_size!r} is for data given as an iterator of "
        f"batches; data here is one pytree"
      )
    leaves = jax.tree.leaves(data)
    stacked = bool(leaves) and all(
      jnp.ndim(x) >= 1 and jnp.shape(x)[0] == num_steps for x in leaves
    )
    if data_per_step is None:
      data_per_step = stacked
    elif data_per_step and not stacked:
      raise ValueError(
        f"{fn}: data_per_step=True needs every leaf of data to have a leading "
        f"axis of num_steps={num_steps}"
      )
  data_per_step = bool(data_per_step)
  if num_trials > 1 and init_fn is None and not data_per_step:
    raise ValueError(
      f"{fn}: num_trials={num_trials} trials would all be the same: give "
      f"init_fn(key) or one batch per step (shuffled per trial)"
    )

  module_nnx = _nnx_module(params)
  graphdef = None
  if module_nnx is not None:
    graphdef, model = _split(params)
  elif init_fn is None:
    model = (params, ())
  else:
    model = None
  model, eval_data = _strong(model), _strong(eval_data)
  if not iterator:
    data = _strong(data)
  if mesh is not None:
    batches = [("eval_data", eval_data, 0)]
    if not iterator:
      batches.append(("data", data, 1 if data_per_step else 0))
    _check_mesh(fn, mesh, data_axis, batches)
    replicated = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec())
    model = jax.device_put(model, replicated)
    eval_data = _put(eval_data, mesh, data_axis, 0)
    if not iterator:
      data = _put(data, mesh, data_axis, 1 if data_per_step else 0)

  static = _Static(
    optimizer=optimizer,
    eval_fn=eval_fn,
    has_eval=eval_data is not None,
    init_fn=init_fn,
    graphdef=graphdef,
    num_trials=num_trials,
    per_step=data_per_step,
    shuffle=num_trials > 1 and data_per_step,
    mesh=mesh,
    data_axis=data_axis if mesh is not None else None,
  )
  programs = _programs(loss_fn, static)

  fraction = np.arange(num_steps) / (num_steps - 1)
  if mode == "exponential":
    lrs = start_lr * (end_lr / start_lr) ** fraction
  else:
    lrs = start_lr + (end_lr - start_lr) * fraction
  lrs32 = np.asarray(lrs, np.float32)
  keys = jax.random.split(key, num_trials)
  carry = programs.init(model, keys, lrs32[0])

  if not iterator:
    _, losses = programs.run(carry, keys, lrs32, data, eval_data, np.int32(0))
    losses = np.asarray(losses, np.float64).reshape(num_trials, num_steps)
  else:
    assert chunk_size is not None  # set above for an iterator
    losses = np.full((num_trials, num_steps), np.nan)
    for chunk, first in enumerate(range(0, num_steps, chunk_size)):
      count = min(chunk_size, num_steps - first)
      batches = []
      for _ in range(count):
        try:
          batches.append(next(data))
        except StopIteration:
          raise ValueError(
            f"{fn}: the data iterator ended after {first + len(batches)} "
            f"batches; num_steps={num_steps} needs one per step"
          ) from None
      batches += [batches[-1]] * (chunk_size - count)  # one shape: one compiled chunk
      batch = _stack(_strong(batches))
      if mesh is not None:
        if chunk == 0:
          _check_mesh(fn, mesh, data_axis, [("a batch of data", batches[0], 0)])
        batch = _put(batch, mesh, data_axis, 1)
      chunk_lrs = np.concatenate(
        [lrs32[first : first + count], np.full(chunk_size - count, lrs32[first + count - 1])]
      )
      carry, out = programs.run(carry, keys, chunk_lrs, batch, eval_data, np.int32(chunk))
      losses[:, first : first + count] = np.asarray(out, np.float64).reshape(
        num_trials, chunk_size
      )[:, :count]
      if (
        first + count < num_steps
        and _smooth(losses[:, : first + count], smoothing, diverge_threshold)[2].all()
      ):
        losses = losses[:, : first + count]
        break
  return _summarize(lrs, losses, smoothing, diverge_threshold, rule, mode, fn)


def _summarize(lrs, losses_KxN, smoothing, diverge_threshold, rule, mode, fn) -> LRFinderResult:
  """Smooths, stops and suggests for every trial, then takes medians over the trials."""
  num_trials = losses_KxN.shape[0]
  smoothed_KxN, stops, diverged = _smooth(losses_KxN, smoothing, diverge_threshold)
  _check_failed(fn, lrs, losses_KxN, np.where(diverged, stops, len(lrs)))
  stop = int(stops.max())
  lrs = lrs[: stop + 1]
  past = np.arange(stop + 1)[None, :] > stops[:, None]
  trial_losses = np.where(past, np.nan, losses_KxN[:, : stop + 1])
  trial_smoothed = np.where(past, np.nan, smoothed_KxN[:, : stop + 1])
  per_trial = [_suggest(lrs[: s + 1], trial_smoothed[k, : s + 1]) for k, s in enumerate(stops)]
  trial_suggestions = {r: np.array([p[r] for p in per_trial]) for r in SUGGESTION_RULES}
  if num_trials == 1:
    losses, smoothed, suggestions = trial_losses[0], trial_smoothed[0], per_trial[0]
    spread = (suggestions[rule], suggestions[rule])
  else:
    with warnings.catch_warnings():
      warnings.simplefilter("ignore", RuntimeWarning)  # steps where every trial had stopped
      losses = np.nanmedian(trial_losses, axis=0)
      smoothed = np.nanmedian(trial_smoothed, axis=0)
    suggestions = {r: _log_quantile(v, 0.5) for r, v in trial_suggestions.items()}
    spread = (
      _log_quantile(trial_suggestions[rule], 0.25),
      _log_quantile(trial_suggestions[rule], 0.75),
    )
  return LRFinderResult(
    lrs=lrs,
    losses=losses,
    smoothed_losses=smoothed,
    stop_step=stop,
    suggestions=suggestions,
    suggestion=suggestions[rule],
    rule=rule,
    num_trials=num_trials,
    trial_losses=trial_losses,
    trial_smoothed_losses=trial_smoothed,
    trial_stop_steps=stops,
    trial_suggestions=trial_suggestions,
    suggestion_spread=spread,
    mode=mode,
  )
