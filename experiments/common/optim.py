"""A run's optimizer: the one place that turns a run's config into its schedule, peak and chain.

A run's optimizer is one ordered list of ``{type: ...}`` entries, applied in
order as ``optax.chain``. Exactly one is the optimizer:

* ``{type: adamw, b1: 0.9, b2: 0.999, eps: 1e-8, weight_decay: 0.0}``: PyTorch's
  ``AdamW``; decay after the Adam direction.
* ``{type: adam, b1, b2, eps, weight_decay}``: PyTorch's ``Adam``; weight decay
  is L2, added to the gradient before the Adam statistics.
* ``{type: sgd, momentum: 0.0, nesterov: false, weight_decay: 0.0}``: PyTorch's
  ``SGD`` (no dampening); weight decay is added to the gradient before momentum.

Each takes ``weight_decay_mode`` (``lambda`` the weight decay, ``eta_t`` the
schedule's rate at step ``t``, ``eta`` its peak, ``s_t = eta_t / eta``):

* ``coupled`` (the default, as PyTorch and Optax): the decay term is
  multiplied by the learning rate, ``theta <- theta - eta_t (Delta + lambda theta)``
  (for ``adam`` and ``sgd`` it joins the gradient, as L2);
* ``independent`` (Wortsman et al. 2023, Loshchilov & Hutter's original
  AdamW): ``theta <- theta - s_t (eta Delta + lambda theta)``: ``lambda`` is a
  decay per step at the peak, following the schedule's shape;
* ``constant``: ``theta <- theta - eta_t Delta - eta lambda theta``: the decay
  per step is ``eta lambda`` at every step, whatever the schedule (and the
  adaptive entries) do to the rate, so a decaying schedule decays the
  learning rate alone.

``independent`` and ``constant`` decay act on the weights directly (after the
direction), whatever the optimizer.

The other entries are transformations placed before or after it:

* ``{type: clip_by_global_norm, max_norm: 1.0}`` (``torch.nn.utils.clip_grad_norm_``);
* any transformation of ``jaxsched.registry()`` (``reduce_on_plateau``,
  ``adaptive_step_decay``, ``phase_transition``, ``greedy_lr``,
  ``grokfast_ema``, ``layerwise``, ...), built by ``jaxsched.resolve_config``
  with the run's peak rate filling the factory's base rate when the entry
  leaves it out (``greedy_lr``'s ``base_lr``). Those whose ``update`` takes
  the metric (``value=``) observe the one named by ``metric``:
  ``train_loss`` is each step's training loss, fed every step; any other name
  is the study's evaluation metric of that name, fed at the first update after
  each evaluation (as PyTorch's ``scheduler.step(val_loss)`` after each epoch).
  Default ``val_loss``.

The schedule's numbers and those of the optimizer and ``clip_by_global_norm``
entries may be traced (a sweep over peak LR, warmup length or weight decay is
one vmapped program); the other entries' numbers are fixed per compiled
program.

:func:`resolve` reads a run once (:class:`Setup`); :func:`numbers` lists its
traceable numbers as a pytree; :func:`make` builds the optimizer from a setup
and (possibly traced) numbers; :func:`hyperparameters` is what the run
resolved to, written into its summary row.
"""

import inspect
import json
from typing import Any, Callable, NamedTuple, Optional

import jax.numpy as jnp
import optax

import jaxsched
from experiments.common import sharpness

OPTIMIZERS = {
  "adamw": {"b1": 0.9, "b2": 0.999, "eps": 1e-8, "weight_decay": 0.0},
  "adam": {"b1": 0.9, "b2": 0.999, "eps": 1e-8, "weight_decay": 0.0},
  "sgd": {"momentum": 0.0, "nesterov": False, "weight_decay": 0.0},
}
WEIGHT_DECAY_MODES = ("coupled", "independent", "constant")
CLIP = {"clip_by_global_norm": {"max_norm": 1.0}}
TRACEABLE = tuple(OPTIMIZERS) + tuple(CLIP)  # entry types whose numbers may be traced
TRAIN_LOSS = "train_loss"
DEFAULT_METRIC = "val_loss"


class Optimizer(NamedTuple):
  """A run's built optimizer."""

  tx: optax.GradientTransformationExtraArgs
  schedule: optax.Schedule  # the learning rate before adaptive scales
  peak: Any  # the peak rate eta (a number, or a traced scalar)
  metric: Optional[str]  # what the adaptive entries observe, or None


class Setup(NamedTuple):
  """A run's optimizer as its config resolves it, before any number is traced."""

  schedule: jaxsched.ResolvedConfig  # the base rate filled in
  entries: tuple  # the optimizer list as given (each checked), "type" included
  learning_rate: float  # the run's learning_rate (the peak when the schedule has no base rate)
  metric: Optional[str]  # what the adaptive entries observe, or None


def _is_number(x: Any) -> bool:
  return isinstance(x, (int, float)) and not isinstance(x, bool)


def _transformations() -> dict:
  return {
    name: entry
    for name, entry in jaxsched.registry().items()
    # chained with the optimizer: not the schedules, the whole optimizers, the batch sizes
    if entry.kind in ("transformation", "layerwise")
  }


def _kwargs(entry: dict) -> dict:
  return {k: v for k, v in entry.items() if k != "type"}


def _entry(entry: Any, where: str) -> tuple[str, dict]:
  if not isinstance(entry, dict) or "type" not in entry:
    raise ValueError(f"{where}={entry!r} must be a mapping with a 'type'")
  kind = entry["type"]
  allowed = tuple(OPTIMIZERS) + tuple(CLIP) + tuple(_transformations())
  if kind not in allowed:
    raise ValueError(f"{where}.type={kind!r} must be one of {', '.join(allowed)}")
  return kind, _kwargs(entry)


def _defaults(kind: str, kwargs: dict, where: str) -> dict:
  """An optimizer or clip entry's keywords over its defaults; unknown keys are an error."""
  defaults = dict(OPTIMIZERS.get(kind) or CLIP[kind])
  if kind in OPTIMIZERS:
    defaults["weight_decay_mode"] = "coupled"
  unknown = [k for k in kwargs if k not in defaults]
  if unknown:
    raise ValueError(
      f"{where}.{unknown[0]} is not a keyword of {kind}; it takes {', '.join(defaults)}"
    )
  values = {**defaults, **kwargs}
  if kind in OPTIMIZERS and values["weight_decay_mode"] not in WEIGHT_DECAY_MODES:
    raise ValueError(
      f"{where}.weight_decay_mode={values['weight_decay_mode']!r} must be one of "
      f"{', '.join(WEIGHT_DECAY_MODES)}"
    )
  return values


def _check_real(where: str, name: str, value: Any, low: float, high: float = float("inf")):
  if _is_number(value) and not low <= value <= high:
    raise ValueError(f"{where}.{name}={value} must be in [{low:g}, {high:g}]")


def _observes(tx: optax.GradientTransformation) -> bool:
  """Whether ``tx.update`` takes the metric (a keyword ``value``)."""
  return "value" in inspect.signature(tx.update).parameters


def _transformation(kind: str, kwargs: dict, peak: Any, where: str) -> tuple:
  """A registry transformation built from its entry: ``(tx, metric or None)``."""
  kwargs = dict(kwargs)
  metric = kwargs.pop("metric", None)
  try:
    tx = jaxsched.resolve_config({"type": kind, **kwargs}, learning_rate=peak).build()
  except (TypeError, ValueError) as e:
    raise ValueError(f"{where}: {e}") from None
  if not _observes(tx):
    if metric is not None:
      raise ValueError(f"{where}.metric: {kind} observes no metric")
    return tx, None
  metric = DEFAULT_METRIC if metric is None else metric
  if not isinstance(metric, str):
    raise ValueError(f"{where}.metric={metric!r} must be a metric name such as val_loss")
  return tx, metric


def _core(kind: str, c: dict, schedule: optax.Schedule, peak: Any, where: str) -> tuple:
  """The optimizer's transformations, learning rate included, and the constant decay (applied
  after every other entry) or None."""
  for name in ("b1", "b2", "momentum"):
    if name in c:
      _check_real(where, name, c[name], 0.0, 1.0)
  _check_real(where, "weight_decay", c["weight_decay"], 0.0)
  if "eps" in c:
    _check_real(where, "eps", c["eps"], 0.0)
  mode = c["weight_decay_mode"]
  if kind == "sgd":
    direction = [optax.trace(decay=c["momentum"], nesterov=bool(c["nesterov"]))]
  else:
    direction = [optax.scale_by_adam(b1=c["b1"], b2=c["b2"], eps=c["eps"])]
  rate = [optax.scale_by_learning_rate(schedule)]
  if mode == "constant":  # -eta lambda theta, added once the rate has scaled the rest
    return direction + rate, optax.add_decayed_weights(-peak * c["weight_decay"])
  # Independent decay: lambda / eta per unit of learning rate, so s_t * lambda per step.
  decay = optax.add_decayed_weights(
    c["weight_decay"] / peak if mode == "independent" else c["weight_decay"]
  )
  if mode == "independent" or kind == "adamw":
    return direction + [decay] + rate, None
  return [decay] + direction + rate, None  # L2: the decay joins the gradient


def resolve(config, spec: dict, where: str = "run") -> Setup:
  """Reads run ``spec`` of ``config``: its schedule, optimizer entries and metric, checked.

  Raises:
    ValueError: naming ``where`` and the field, for any invalid schedule or entry.
  """
  learning_rate = spec.get("learning_rate", config.learning_rate)
  try:
    schedule = jaxsched.resolve_config(spec["schedule"], learning_rate=learning_rate)
    schedule.build()  # the factory checks its concrete values
  except (ValueError, TypeError) as e:
    raise ValueError(f"{where}.schedule: {e}") from None
  entries = []
  for i, entry in enumerate(spec.get("optimizer", config.optimizer)):
    at = f"{where}.optimizer[{i}]"
    kind, kwargs = _entry(entry, at)
    if kind in TRACEABLE:
      _defaults(kind, kwargs, at)
    entries.append({"type": kind, **kwargs})
  setup = Setup(schedule, tuple(entries), float(learning_rate), None)
  metric = make(setup, where=f"{where}.optimizer").metric  # builds once: checks every entry
  return setup._replace(metric=metric)


def numbers(setup: Setup) -> dict:
  """The run's traceable numbers: ``{"learning_rate", "schedule": {kw: v}, "optimizer": [{kw:
  v} per entry]}``, the numbers the config gives (a default stays a constant of the program;
  empty for the entries whose numbers are fixed)."""
  return {
    "learning_rate": setup.learning_rate,
    "schedule": {k: v for k, v in setup.schedule.kwargs.items() if _is_number(v)},
    "optimizer": [
      {k: v for k, v in e.items() if _is_number(v)} if e["type"] in TRACEABLE else {}
      for e in setup.entries
    ],
  }


def structure(setup: Setup) -> str:
  """What must be equal for two runs to share a compiled program: everything but the numbers
  of :func:`numbers`, as text."""
  traced = numbers(setup)
  static_schedule = {
    k: ("#" if k in traced["schedule"] else repr(v)) for k, v in setup.schedule.kwargs.items()
  }
  static_entries = [
    {k: ("#" if k in t else v) for k, v in e.items()}
    for e, t in zip(setup.entries, traced["optimizer"])
  ]
  return json.dumps(
    [setup.schedule.type, static_schedule, static_entries], sort_keys=True, default=repr
  )


def peak_of(setup: Setup, values: dict) -> Any:
  """The peak rate ``eta``: the schedule's base rate (the keyword the registry names), or the
  run's ``learning_rate`` when the schedule takes none."""
  keyword = setup.schedule.rate_keyword
  if keyword is not None and keyword in values["schedule"]:
    return values["schedule"][keyword]
  return values["learning_rate"]


def make(setup: Setup, values: Optional[dict] = None, *, where: str = "optimizer") -> Optimizer:
  """The run's optimizer from its setup and numbers (default: its own, concrete).

  Args:
    setup: the run's :class:`Setup`.
    values: the pytree of :func:`numbers`, e.g. with traced leaves under ``vmap``.
    where: the config path for error messages.

  Returns:
    ``Optimizer(tx, schedule, peak, metric)``.
  """
  values = numbers(setup) if values is None else values
  schedule = setup.schedule.build(**values["schedule"])
  peak = peak_of(setup, values)
  parts, metrics, cores, after = [], set(), 0, []
  for i, entry in enumerate(setup.entries):
    at = f"{where}[{i}]"
    kind = entry["type"]
    kwargs = {**_kwargs(entry), **values["optimizer"][i]}
    if kind in TRACEABLE:
      kwargs = _defaults(kind, kwargs, at)
    if kind in OPTIMIZERS:
      cores += 1
      core, constant_decay = _core(kind, kwargs, schedule, peak, at)
      parts += core
      after += [constant_decay] if constant_decay is not None else []
    elif kind in CLIP:
      _check_real(at, "max_norm", kwargs["max_norm"], 0.0)
      parts.append(optax.clip_by_global_norm(kwargs["max_norm"]))
    else:
      tx, metric = _transformation(kind, kwargs, peak, at)
      parts.append(tx)
      metrics |= {metric} if metric else set()
  if cores != 1:
    raise ValueError(f"{where} must hold exactly one of {', '.join(OPTIMIZERS)}; it holds {cores}")
  if len(metrics) > 1:
    raise ValueError(
      f"{where}: the adaptive entries observe {sorted(metrics)}; one optimizer feeds one metric"
    )
  return Optimizer(optax.chain(*parts, *after), schedule, peak, metrics.pop() if metrics else None)


def _plain(value: Any) -> Any:
  """``value`` as JSON: numbers, strings, booleans and lists of them; anything else as text."""
  if value is None or isinstance(value, (bool, int, float, str)):
    return value
  if isinstance(value, (list, tuple)):
    return [_plain(v) for v in value]
  if isinstance(value, dict):
    return {k: _plain(v) for k, v in value.items()}
  return repr(value)


def _holds_callable(value: Any) -> bool:
  """Whether ``value`` is a function or a list, tuple or dict holding one."""
  if callable(value):
    return True
  if isinstance(value, (list, tuple)):
    return any(_holds_callable(v) for v in value)
  if isinstance(value, dict):
    return any(_holds_callable(v) for v in value.values())
  return False


def hyperparameters(setup: Setup, spec_schedule: dict) -> dict:
  """What the run resolved to, for its summary row: the peak rate, the schedule's type and
  every keyword (defaults included; a nested schedule as its config), the optimizer entries
  over their defaults."""
  params = inspect.signature(setup.schedule.factory).parameters
  schedule = {"type": setup.schedule.type}
  for name, param in params.items():
    if name in setup.schedule.kwargs:
      value = setup.schedule.kwargs[name]
      built = _holds_callable(value)  # a nested schedule (or a list of them): its config
      schedule[name] = _plain(spec_schedule.get(name, value) if built else value)
    elif name in spec_schedule:
      schedule[name] = _plain(spec_schedule[name])
    elif param.default is not param.empty:
      schedule[name] = _plain(param.default)
  return {
    "peak_lr": float(peak_of(setup, numbers(setup))),
    "schedule": schedule,
    "optimizer": [
      _plain({"type": e["type"], **_defaults(e["type"], _kwargs(e), "optimizer")})
      if e["type"] in TRACEABLE
      else _plain(e)
      for e in setup.entries
    ],
  }


def core_entry(hparams: dict) -> dict:
  """The optimizer entry (adamw, adam or sgd) of a run's :func:`hyperparameters`."""
  return next(e for e in hparams["optimizer"] if e["type"] in OPTIMIZERS)


def learning_rate_of(opt: Optimizer, opt_state: optax.OptState) -> jnp.ndarray:
  """The rate the optimizer used for its last update: ``schedule(count - 1)`` times the
  adaptive scales, read from the state (0-th update: the schedule at 0)."""
  last: Callable = lambda count: opt.schedule(jnp.maximum(count - 1, 0))
  return jaxsched.current_learning_rate(opt_state, last)


def preconditioner(setup: Setup, values: dict, opt_state: optax.OptState) -> Any:
  """The diagonal ``P`` of the run's step ``theta <- theta - eta_t P^-1 m``: Adam's
  ``sqrt(v_hat) + eps`` read from ``opt_state`` (``adam``, ``adamw``, with the entry's ``b2``
  and ``eps``, possibly traced), or None (``P = I``) for ``sgd``. What the preconditioned
  sharpness (:mod:`experiments.common.sharpness`) divides the Hessian by."""
  for entry, traced in zip(setup.entries, values["optimizer"]):
    if entry["type"] in OPTIMIZERS:
      c = _defaults(entry["type"], {**_kwargs(entry), **traced}, "optimizer")
      if entry["type"] == "sgd":
        return None
      return sharpness.adam_preconditioner(opt_state, c["b2"], c["eps"])
  raise ValueError("preconditioner: the run has no optimizer entry")
