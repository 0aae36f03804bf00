"""Fitting a loss law to measured curves: one jitted program, several starts vmapped."""

import functools
from typing import Any, Iterable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.typing import ArrayLike

from jaxsched import _common as c
from jaxsched.laws import _areas
from jaxsched.laws import _law


class Curve(NamedTuple):
  """One measured run: the rates of its updates and its losses after some of them."""

  lrs: np.ndarray  # shape=(num_updates,), every rate the run used, from update 0
  steps: np.ndarray  # shape=(num_points,), int: the losses are measured after these updates
  losses: np.ndarray  # shape=(num_points,)


def as_curves(fn: str, curves: Iterable[Any]) -> list:
  """Checks ``(schedule or rates, steps, losses)`` triples and returns :class:`Curve` s.

  A schedule is evaluated on updates ``0 .. max(steps)``; an array of rates
  must cover them.
  """
  out = []
  for i, curve in enumerate(curves):
    where = f"[{i}]"
    if not isinstance(curve, (tuple, list)) or len(curve) != 3:
      raise ValueError(f"{fn}: curves{where} must be a (schedule or rates, steps, losses) triple")
    schedule, steps, losses = curve
    steps, losses = np.asarray(steps), np.asarray(losses)
    if steps.ndim != 1 or losses.ndim != 1 or steps.size == 0:
      raise ValueError(
        f"{fn}: curves{where}: steps and losses must be 1-D and not empty, not of shapes "
        f"{steps.shape} and {losses.shape}"
      )
    if steps.shape != losses.shape:
      raise ValueError(
        f"{fn}: curves{where} has {steps.size} steps and {losses.size} losses; give one "
        "loss per step"
      )
    c.check_steps(fn, f"curves{where} steps", steps)
    if not np.issubdtype(losses.dtype, np.number) or np.iscomplexobj(losses):
      raise ValueError(f"{fn}: curves{where}: the losses must be real numbers")
    bad = ~np.isfinite(losses) | (losses <= 0)
    if bad.any():
      j = int(np.argmax(bad))
      raise ValueError(
        f"{fn}: curves{where}: the loss at step {int(steps[j])} is {float(losses[j])!r}; "
        "every loss must be finite and > 0 (the laws are fitted to its logarithm)"
      )
    steps = steps.astype(np.int64)
    if callable(schedule):
      lrs = np.asarray(_areas.lr_curve(fn, jax.jit(schedule), int(steps.max()) + 1))
      _areas.check_rates(f"{fn}: curves{where}", lrs)
    else:
      lrs = np.asarray(_areas.lr_curve(f"{fn}: curves{where}", schedule))
    _law.check_steps_on_curve(fn, lrs, steps, where=f" of curves{where}")
    out.append(Curve(lrs.astype(np.float64), steps, losses.astype(np.float64)))
  if not out:
    raise ValueError(f"{fn}: no curves given")
  return out


def _bucket(n: int, smallest: int) -> int:
  """``n`` rounded up to a power of two: fits of similar sizes share one compiled program."""
  return max(smallest, 1 << (max(n, 1) - 1).bit_length())


class _Data(NamedTuple):
  """One curve as the fit reads it: what its law reads, and its log-losses with weights."""

  prepared: tuple
  log_losses: np.ndarray  # shape=(points,), padded with the last value
  weight: np.ndarray  # shape=(points,), 1 for a measured point, 0 for padding


def _data(kind: str, curves: list, fixed: dict) -> tuple:
  """Each curve padded to power-of-two sizes (rates with 0, points with weight 0)."""
  out = []
  for cv in curves:
    n, p, k = _bucket(len(cv.lrs), 128), _bucket(len(cv.steps), 8), len(cv.steps)
    lrs = np.zeros(n, np.float32)
    lrs[: len(cv.lrs)] = cv.lrs
    steps = np.full(p, cv.steps[-1], np.int32)
    steps[:k] = cv.steps
    log_losses = np.full(p, np.log(cv.losses[-1]), np.float32)
    log_losses[:k] = np.log(cv.losses)
    weight = np.zeros(p, np.float32)
    weight[:k] = 1.0
    prepared = _prepare(kind, jnp.asarray(lrs), jnp.asarray(steps), fixed)
    if kind == _law.MULTI_POWER:
      drops = np.asarray(prepared[-1])
      live = int(np.count_nonzero((drops != 0) & (np.arange(n) <= cv.steps.max())))
      prepared = _law.shrink_multi_power(prepared, _bucket(live, 8))
    out.append(_Data(tuple(jnp.asarray(x) for x in prepared), log_losses, weight))
  return tuple(out)


def _starts(kind: str, curves: list, data: tuple, stage: tuple | None = None) -> np.ndarray:
  """Starting points of the fit, in log space, spread around scales read from the data.

  For the momentum law: a grid over ``L0`` (a fraction of the lowest loss),
  ``alpha``, and ``C`` (scaled by the largest ``S2``), with ``A`` set so that
  the law passes through the earliest point. For the multi-power law: the
  fitted momentum law with ``decay = 0`` (the multi-power law with ``G = 1``)
  gives ``L0, A, alpha, B``, then a grid over ``C`` and ``gamma``.
  """
  losses = np.concatenate([cv.losses for cv in curves])
  s1 = np.concatenate([np.cumsum(cv.lrs)[cv.steps] for cv in curves])
  if kind == _law.MULTI_POWER:
    assert stage is not None
    peak = max(cv.lrs.max() for cv in curves)
    rows = []
    for gamma in (0.3, 0.7):
      # x = C eta^-gamma S is 1 where S is 0.1% or 3% of the longest run's area.
      for frac in (1e-3, 3e-2):
        rows.append([*stage, 1.0 / (peak**-gamma * frac * s1.max()), 0.5, gamma])
    return np.log(np.asarray(rows, np.float64)).astype(np.float32)
  first = int(np.argmin(s1))  # the earliest point: fixes A given L0 and alpha
  low, spread = losses.min(), max(np.ptp(losses), 1e-3 * losses.min())
  s2 = max(float(np.abs(np.asarray(d.prepared[1])).max()) for d in data)
  rows = []
  for l0_frac in (0.5, 0.8, 0.95):
    l0 = l0_frac * low
    for alpha in (0.3, 0.6, 1.0):
      a = max(losses[first] - l0, 0.1 * spread) * s1[first] ** alpha
      for c_frac in (0.1, 1.0):
        rows.append([l0, a, alpha, c_frac * spread / max(s2, 1e-12)])
  return np.log(np.asarray(rows, np.float64)).astype(np.float32)


@functools.partial(jax.jit, static_argnames=("kind",))
def _fit(
  kind: str, iterations: jax.Array, starts: jax.Array, data: tuple, delta: jax.Array
) -> tuple:
  """L-BFGS from every start at once; the best end point, its objective and RMS log error."""
  law = _law.LAWS[kind]
  total = sum(jnp.sum(d.weight) for d in data)

  def residuals(u):
    params = dict(zip(law.names, jnp.exp(u)))
    return [
      jnp.log(jnp.maximum(law.evaluate(params, d.prepared), 1e-30)) - d.log_losses for d in data
    ]

  def objective(u):
    huber = [optax.losses.huber_loss(r, delta=delta) * d.weight for r, d in zip(residuals(u), data)]
    return sum(jnp.sum(h) for h in huber) / (total * delta**2)

  # A backtracking line search that halves the step: the same end points as the
  # default zoom search on these problems, in half the compile time.
  solver = optax.lbfgs(
    linesearch=optax.scale_by_backtracking_linesearch(
      max_backtracking_steps=15, decrease_factor=0.5, store_grad=True
    )
  )
  value_and_grad = optax.value_and_grad_from_state(objective)

  def run(u):
    # Until three iterations in a row gain less than a millionth of the objective
    # (the line search then finds no decrease and would spend its every trial),
    # at most `iterations` times.
    def going(carry):
      i, _, _, stalled = carry
      return (i < iterations) & (stalled < 3)

    def step(carry):
      i, u, state, stalled = carry
      value, grad = value_and_grad(u, state=state)
      updates, state = solver.update(grad, state, u, value=value, grad=grad, value_fn=objective)
      new = optax.tree.get(state, "value")
      small = ~(value - new > 1e-6 * jnp.abs(value))
      return i + 1, optax.apply_updates(u, updates), state, jnp.where(small, stalled + 1, 0)

    zero = jnp.zeros((), jnp.int32)
    _, u, _, _ = jax.lax.while_loop(going, step, (zero, u, solver.init(u), zero))
    value = objective(u)
    return u, jnp.where(jnp.isfinite(value), value, jnp.inf)

  ends, values = jax.vmap(run)(starts)
  best = jnp.argmin(values)
  u = ends[best]
  squares = sum(jnp.sum(r**2 * d.weight) for r, d in zip(residuals(u), data))
  return jnp.exp(u), values[best], jnp.sqrt(squares / total)


@functools.partial(jax.jit, static_argnames=("kind",))
def _prepare(kind: str, lrs: jax.Array, steps: jax.Array, fixed: dict) -> tuple:
  return _law.LAWS[kind].prepare(lrs, steps, fixed)


def _run(kind: str, curves: list, fixed: dict, delta: Any, iterations: int, stage=None) -> tuple:
  data = _data(kind, curves, fixed)
  starts = _starts(kind, curves, data, stage)
  params, _, rms = _fit(
    kind, jnp.asarray(int(iterations)), jnp.asarray(starts), data, jnp.asarray(delta, jnp.float32)
  )
  return np.asarray(params, np.float64), float(rms)


def fit_loss_law(
  curves: Iterable[tuple],
  kind: str = "momentum",
  *,
  decay: ArrayLike = 0.999,
  huber_delta: ArrayLike = 1e-3,
  iterations: int = 200,
) -> _law.LossLaw:
  """Fits a loss law to one or more measured loss curves.

  ``kind="momentum"`` (Tissue et al. 2024), with ``S1``, ``S2`` of
  :func:`jaxsched.lr_areas` at the step ``t`` (the loss after update ``t``):

  .. math:: L(t) = L_0 + A \\, S_1(t)^{-\\alpha} - C \\, S_2(t)

  ``kind="multi_power"`` (Luo et al. 2025):

  .. math::
    L(t) = L_0 + A \\, S_1(t)^{-\\alpha} - B \\sum_{k=1}^{t} d_k \\,
      G\\!\\left(\\eta_k^{-\\gamma} S_k(t)\\right), \\qquad
    G(x) = 1 - (C x + 1)^{-\\beta}, \\qquad S_k(t) = \\sum_{\\tau=k}^{t} \\eta_\\tau

  with ``d_k = eta_{k-1} - eta_k`` after the curve's first maximum and 0 up
  to it (see :func:`jaxsched.lr_areas`), so that ``S1`` includes the warmup's
  area (the paper's ``S1 + S_W``) and the loss-drop sum runs over the steps
  after warmup, as in the paper. A rate of 0 enters ``eta^-gamma`` as its
  limit (``G = 1`` if a later rate is positive, ``G = 0`` if none is).

  The fit: the Huber loss (``delta = 1e-3``) of ``log(predicted) -
  log(measured)``, as Luo et al.'s code fits, averaged over every point of
  every curve and minimized by L-BFGS (``optax.lbfgs`` with a backtracking
  line search; Wang et al.'s code fits the momentum law by L-BFGS-B on a
  Huber loss too), from a grid of starting points around scales read from
  the data, all in one jitted program vmapped over the starts; the best end
  point wins. Every fitted parameter is kept > 0 by fitting its logarithm.
  The momentum law's ``decay`` is fixed, as in the paper (18 starts over
  ``L0``, ``alpha`` and ``C``). The multi-power law is fitted in two stages,
  as Luo et al. do: the law with ``G = 1`` (the momentum law with
  ``decay = 0``) first gives ``L0, A, alpha, B``; then all seven parameters
  from four starts over ``C`` and ``gamma``. Departure: Luo et al. refine
  with AdamW where this uses L-BFGS throughout.

  Args:
    curves: ``(schedule or rates, steps, losses)`` triples: a schedule (or a
      1-D array of the rates of updates 0, 1, ..., each >= 0, covering every
      step), the 1-D integer steps where the loss was measured (after update
      ``step``; a subset, e.g. the evaluation steps) and the losses there
      (finite, > 0). Each step needs a positive learning-rate sum so far.
    kind: ``"momentum"`` or ``"multi_power"``.
    decay: the momentum law's ``lambda``, in [0, 1].
    huber_delta: the Huber loss's ``delta`` on log-losses, > 0.
    iterations: the most L-BFGS iterations from each start, >= 1 (a start stops
      earlier once three iterations in a row gain under 1e-6 of the objective).

  Returns:
    A :class:`LossLaw` (``kind``, ``params``, ``residual``); its
    ``predict(schedule, steps)`` gives loss curves for any schedule.

  Examples:
    >>> import numpy as np, jaxsched
    >>> steps = np.arange(50, 1000, 50)
    >>> params = dict(L0=2.0, A=1.0, alpha=0.5, C=2.0, decay=0.999)
    >>> truth = jaxsched.LossLaw("momentum", params, 0.0)
    >>> curves = [(s, steps, truth.predict(s, steps)) for s in
    ...           (jaxsched.constant(1e-3), jaxsched.warmup_cosine(1e-3, 0, 1000))]
    >>> law = jaxsched.fit_loss_law(curves)
    >>> round(law.params["L0"], 2), round(law.params["alpha"], 2)
    (2.0, 0.5)

  References:
    Tissue et al., 2024, Scaling Law with Learning Rate Annealing:
    https://arxiv.org/abs/2408.11029 ;
    Luo et al., 2025, A Multi-Power Law for Loss Curve Prediction Across
    Learning Rate Schedules: https://arxiv.org/abs/2503.12811
  """
  fn = "fit_loss_law"
  c.check_choice(fn, "kind", kind, _law.KINDS)
  c.check_real(fn, "decay", decay, low=0.0, high=1.0)
  c.check_real(fn, "huber_delta", huber_delta, low=0.0, low_open=True)
  c.check_steps(fn, "iterations", iterations, minimum=1)
  data = as_curves(fn, curves)
  law = _law.LAWS[kind]
  points = sum(len(cv.steps) for cv in data)
  if points < len(law.names):
    raise ValueError(
      f"{fn}: {points} measured points for the {len(law.names)} parameters of the {kind} law "
      f"({', '.join(law.names)}); give at least {len(law.names)}"
    )
  if kind == _law.MOMENTUM:
    fixed = {"decay": float(np.asarray(decay))}
    params, rms = _run(kind, data, fixed, huber_delta, iterations)
  else:
    fixed = {}
    stage, _ = _run(_law.MOMENTUM, data, {"decay": 0.0}, huber_delta, iterations)
    params, rms = _run(kind, data, fixed, huber_delta, iterations, stage=tuple(stage))
  fitted = {name: float(v) for name, v in zip(law.names, params)}
  return _law.LossLaw(kind, {**fitted, **fixed}, rms)
