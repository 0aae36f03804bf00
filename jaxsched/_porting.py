"""Porting between PyTorch / transformers schedulers and jaxsched schedules.

:func:`from_torch` turns a live ``torch.optim.lr_scheduler`` object, or a
transformers schedule (a ``LambdaLR``), into the equivalent jaxsched schedule;
:func:`to_torch` goes the other way; :func:`get_scheduler` is transformers'
``get_scheduler`` by name; :func:`compare` measures how far two schedules are
apart.

Step convention: a schedule converted from a scheduler gives at step ``t`` the
rate that scheduler's optimizer holds when ``scheduler.last_epoch == t``: the
steps are counted from the scheduler's construction, whatever step the object
is at when it is converted, so ``sched(scheduler.last_epoch)`` is the
``optimizer.param_groups[i]["lr"]`` of now. For a scheduler built and then
stepped once after every optimizer update this is jaxsched's convention:
``sched(t)`` is the rate of update ``t``.

torch, transformers and timm are never imported here: their objects are
recognized by class name and module, and :func:`to_torch` imports torch when
called. timm's schedulers take the step they are at as an argument: a
converted one gives at step ``t`` the rate its ``step_update(t)`` (or, per
epoch, ``step(epoch)``) sets.
"""

import copy
import functools
import inspect
import math
import warnings
from typing import (
  Any,
  Callable,
  cast,
  List,
  NamedTuple,
  Optional,
  Protocol,
  Sequence,
  SupportsFloat,
  Union,
)

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.typing import ArrayLike

from jaxsched import _adaptive
from jaxsched import _common as c
from jaxsched import _composition
from jaxsched import _cyclic
from jaxsched import _decay
from jaxsched import _greedy
from jaxsched import _timm
from jaxsched import _warmup

Schedules = Union[optax.Schedule, List[optax.Schedule]]

# The classes of torch.optim.lr_scheduler that from_torch converts in closed form.
TORCH_CLASSES = (
  "StepLR",
  "MultiStepLR",
  "ConstantLR",
  "LinearLR",
  "ExponentialLR",
  "PolynomialLR",
  "CosineAnnealingLR",
  "CosineAnnealingWarmRestarts",
  "CyclicLR",
  "OneCycleLR",
  "SequentialLR",
  "ChainedScheduler",
  "LambdaLR",
  "ReduceLROnPlateau",
)
# Schedulers whose step multiplies the current rate: the ones a ChainedScheduler composes.
_MULTIPLICATIVE = (
  "ConstantLR",
  "LinearLR",
  "StepLR",
  "MultiStepLR",
  "ExponentialLR",
  "PolynomialLR",
)
_COMPOSITES = ("SequentialLR", "ChainedScheduler")
# The classes of timm.scheduler that from_torch converts.
TIMM_CLASSES = (
  "CosineLRScheduler",
  "TanhLRScheduler",
  "StepLRScheduler",
  "MultiStepLRScheduler",
  "PolyLRScheduler",
  "PlateauLRScheduler",
)

# transformers.optimization: the function inside each get_*_schedule*'s LambdaLR.
HF_LAMBDAS = {
  "_get_constant_lambda": "get_constant_schedule",
  "_get_constant_schedule_with_warmup_lr_lambda": "get_constant_schedule_with_warmup",
  "_get_linear_schedule_with_warmup_lr_lambda": "get_linear_schedule_with_warmup",
  "_get_cosine_schedule_with_warmup_lr_lambda": (
    "get_cosine_schedule_with_warmup, get_cosine_with_min_lr_schedule_with_warmup"
  ),
  "_get_cosine_with_hard_restarts_schedule_with_warmup_lr_lambda": (
    "get_cosine_with_hard_restarts_schedule_with_warmup"
  ),
  "_get_polynomial_decay_schedule_with_warmup_lr_lambda": (
    "get_polynomial_decay_schedule_with_warmup"
  ),
  "_get_inverse_sqrt_schedule_lr_lambda": "get_inverse_sqrt_schedule",
  "_get_cosine_with_min_lr_schedule_with_warmup_lr_rate_lambda": (
    "get_cosine_with_min_lr_schedule_with_warmup_lr_rate"
  ),
  "_get_wsd_scheduler_lambda": "get_wsd_schedule",
}

# transformers.SchedulerType names and the scheduler_specific_kwargs each takes.
HF_SCHEDULER_KWARGS = {
  "linear": (),
  "cosine": ("num_cycles",),
  "cosine_with_restarts": ("num_cycles",),
  "polynomial": ("lr_end", "power"),
  "constant": None,  # transformers ignores them
  "constant_with_warmup": None,  # transformers ignores them
  "inverse_sqrt": ("timescale",),
  "reduce_lr_on_plateau": (
    "mode",
    "factor",
    "patience",
    "threshold",
    "threshold_mode",
    "cooldown",
    "min_lr",
    "eps",
  ),
  "cosine_with_min_lr": ("num_cycles", "min_lr", "min_lr_rate"),
  "cosine_warmup_with_min_lr": ("num_cycles", "min_lr", "min_lr_rate", "warmup_lr_rate"),
  "warmup_stable_decay": (
    "num_decay_steps",
    "num_stable_steps",
    "warmup_type",
    "decay_type",
    "min_lr_ratio",
    "num_cycles",
  ),
  "greedy": (
    "mode",
    "factor",
    "patience",
    "threshold",
    "threshold_mode",
    "cooldown",
    "warmup",
    "min_lr",
    "max_lr",
    "eps",
    "verbose",
    "smooth",
    "window_size",
    "reset_start",
  ),
}
_WSD_KINDS = ("linear", "cosine", "1-sqrt")

_TABLE_BLOCK = 4096  # steps evaluated at once by to_torch's lambdas


class LearningRateAndMomentum(NamedTuple):
  """What ``from_torch(..., with_momentum=True)`` returns.

  The field names are ``optax.inject_hyperparams(optax.sgd)``'s keywords; for
  Adam pass ``momentum`` as ``b1``. Each field is a schedule, or a list with
  one per param group.
  """

  learning_rate: Schedules
  momentum: Schedules


class PlateauConversion(NamedTuple):
  """A ``ReduceLROnPlateau`` as a jaxsched transformation with its state.

  ``transform.init`` returns ``state``, so a chain holding ``transform``
  resumes where the PyTorch run is. The transformation scales updates; use
  ``base_lr`` as the optimizer's learning rate.
  """

  transform: optax.GradientTransformationExtraArgs
  state: _adaptive.ReduceOnPlateauState
  base_lr: float


class Comparison(NamedTuple):
  """What :func:`compare` returns."""

  max_abs_deviation: float  # max |schedule - reference| over the steps compared
  max_rel_deviation: float  # max of it over |reference|; inf where only the reference is 0
  first_mismatch: Optional[int]  # first step beyond tolerance, None when there is none


class _At(NamedTuple):
  """Where a scheduler sits in a composite, which decides how torch starts it."""

  path: str  # for messages: "SequentialLR._schedulers[1]", "" at the top
  factor: bool  # inside a ChainedScheduler: build its factor (init value 1.0)
  plain_start: bool  # its first step is a plain step(), outside torch's initial mode
  closed_start: bool  # started at a SequentialLR milestone, through its closed form


class _Unsupported(ValueError):
  """A scheduler (or part) that from_torch does not convert in closed form."""


def _class_name(obj: Any) -> str:
  return type(obj).__name__


def _is_torch_scheduler(obj: Any) -> bool:
  return hasattr(obj, "optimizer") and callable(getattr(obj, "step", None))


def _is_torch_class(obj: Any, names: Sequence[str]) -> bool:
  return _class_name(obj) in names and type(obj).__module__.startswith("torch.")


def _where(at: _At, name: str) -> str:
  return f"{name} at {at.path}" if at.path else name


def _child(at: _At, parent: str, k: int) -> str:
  return f"{at.path or parent}._schedulers[{k}]"


def _supported_text() -> str:
  return (
    ", ".join(TORCH_CLASSES[:-2]) + ", LambdaLR built by transformers' "
    "get_*_schedule* functions, ReduceLROnPlateau, and timm's " + ", ".join(TIMM_CLASSES)
  )


# ----------------------------------------------------------------- from_torch


def _per_update(schedule: optax.Schedule, steps_per_epoch: int) -> optax.Schedule:
  """The rate of epoch ``t // steps_per_epoch`` at update ``t``."""

  def per_update(count):
    return schedule(c.as_count(count) // steps_per_epoch)

  return per_update


def _shifted(schedule: optax.Schedule, shift: int) -> optax.Schedule:
  """``schedule(t + shift)``, saturating at the largest int32 step."""

  def shifted_schedule(count):
    t = c.as_count(count)
    return schedule(jnp.minimum(t, c.INT32_MAX - shift) + shift)

  return shifted_schedule


def _scaled(schedule: optax.Schedule, factor: float) -> optax.Schedule:

  def scaled_schedule(count):
    return schedule(count) * factor

  return scaled_schedule


def _hf_keywords(fn: functools.partial) -> dict:
  """All keyword values of a transformers lambda, its defaults included."""
  bound = inspect.signature(fn.func).bind(0, *fn.args, **fn.keywords)
  bound.apply_defaults()
  return {k: v for k, v in list(bound.arguments.items())[1:]}


def _cosine_with_min_lr_rate(
  base: float,
  warmup_steps: int,
  total_steps: int,
  num_cycles: float,
  min_lr_rate: ArrayLike,
  warmup_lr_rate: Optional[float],
) -> optax.Schedule:
  """transformers' ``get_cosine_with_min_lr_schedule_with_warmup_lr_rate``.

  Its warmup is ``(t + 1) / W`` (or ``r + (1 - r) t / (W - 1)``) and its
  decay counts ``t - W + 1``: a warmup, then :func:`warmup_cosine` one step
  ahead, which holds its final value from step ``T - 1`` on (transformers
  keeps following the cosine there).
  """
  decay = _shifted(
    _warmup.warmup_cosine(
      base,
      0,
      max(total_steps - warmup_steps, 1),
      end_value=base * min_lr_rate,
      num_cycles=num_cycles,
    ),
    1,
  )
  if warmup_steps <= 0:
    return decay
  init = base / warmup_steps if warmup_lr_rate is None else base * warmup_lr_rate
  ramp = _warmup.warmup(base, max(warmup_steps - 1, 1), init_value=init)
  return _composition.sequential([ramp, decay], [warmup_steps])


def _hf_schedule(func_name: str, kw: dict, base: float) -> optax.Schedule:
  """The jaxsched schedule of a transformers lambda (by its function's name) times ``base``."""
  if func_name == "_get_constant_lambda":
    return _decay.constant(base)
  w = kw["num_warmup_steps"]
  if func_name == "_get_constant_schedule_with_warmup_lr_lambda":
    return _warmup.warmup_constant(base, w)
  if func_name == "_get_inverse_sqrt_schedule_lr_lambda":
    return _warmup.inverse_sqrt(base, w, timescale=kw["timescale"])
  if func_name == "_get_wsd_scheduler_lambda":
    return _warmup.warmup_stable_decay(
      base,
      w,
      kw["num_decay_steps"],
      stable_steps=kw["num_stable_steps"],
      warmup_kind=kw["warmup_type"],
      decay_kind=kw["decay_type"],
      min_lr_ratio=kw["min_lr_ratio"],
      num_cycles=kw["num_cycles"],
    )
  total = kw["num_training_steps"]
  if func_name == "_get_linear_schedule_with_warmup_lr_lambda":
    return _warmup.warmup_linear(base, w, total)
  if func_name == "_get_cosine_schedule_with_warmup_lr_lambda":
    return _warmup.warmup_cosine(
      base, w, total, end_value=base * kw.get("min_lr_rate", 0.0), num_cycles=kw["num_cycles"]
    )
  if func_name == "_get_cosine_with_hard_restarts_schedule_with_warmup_lr_lambda":
    return _warmup.warmup_cosine_restarts(base, w, total, num_cycles=kw["num_cycles"])
  if func_name == "_get_polynomial_decay_schedule_with_warmup_lr_lambda":
    # LambdaLR multiplies lr_end / lr_init by the group's base rate.
    return _warmup.warmup_polynomial(
      base, w, total, end_value=kw["lr_end"] * base / kw["lr_init"], power=kw["power"]
    )
  if func_name == "_get_cosine_with_min_lr_schedule_with_warmup_lr_rate_lambda":
    return _cosine_with_min_lr_rate(
      base, w, total, kw["num_cycles"], kw["min_lr_rate"], kw["warmup_lr_rate"]
    )
  raise _Unsupported(f"transformers lambda {func_name}")


def _lambda_lr(s: Any, i: int, at: _At) -> optax.Schedule:
  base = float(s.base_lrs[i])
  fn = s.lr_lambdas[i]
  ported = getattr(fn, "_jaxsched_schedule", None)
  if ported is not None:  # made by to_torch: LambdaLR multiplies schedule / base_lr by base
    ratio = base / fn._jaxsched_base_lr  # pylint: disable=protected-access
    return ported if ratio == 1.0 else _scaled(ported, ratio)
  func = fn.func if isinstance(fn, functools.partial) else fn
  name = getattr(func, "__name__", type(func).__name__)
  if name not in HF_LAMBDAS or not getattr(func, "__module__", "").startswith("transformers"):
    raise _Unsupported(
      f"{_where(at, 'LambdaLR')} with lr_lambda {name!r} (of the LambdaLRs, "
      "those of transformers' get_*_schedule* functions and of to_torch are "
      "converted)"
    )
  kw = _hf_keywords(fn) if isinstance(fn, functools.partial) else {}
  return _hf_schedule(name, kw, base)


def _cyclic_steps(s: Any) -> tuple:
  """CyclicLR's integer step_size_up and step_size_down (torch keeps their float sum and ratio)."""
  total = float(s.total_size)
  up = float(s.step_ratio) * total
  up_steps, down_steps = round(up), round(total - up)
  if (
    abs(up - up_steps) > 1e-6
    or abs(total - up - down_steps) > 1e-6
    or min(up_steps, down_steps) < 1
  ):
    raise _Unsupported(
      f"CyclicLR with step sizes {up:g}, {total - up:g} (whole steps >= 1 are converted)"
    )
  return up_steps, down_steps


def _one_cycle_args(s: Any) -> dict:
  phases = s._schedule_phases  # pylint: disable=protected-access
  anneal = getattr(s, "_anneal_func_type", None)
  if anneal not in _cyclic.ANNEAL_STRATEGIES:
    raise _Unsupported("OneCycleLR without a known anneal strategy")
  total = int(s.total_steps)
  return dict(
    total_steps=total,
    pct_start=(float(phases[0]["end_step"]) + 1.0) / total,
    anneal_strategy=anneal,
    three_phase=len(phases) == 3,
  )


def _momentum(s: Any, i: int) -> optax.Schedule:
  """The momentum (or Adam beta1) schedule a cycling CyclicLR / OneCycleLR writes."""
  name = _class_name(s)
  if not (_is_torch_class(s, ("CyclicLR", "OneCycleLR")) and getattr(s, "cycle_momentum", False)):
    raise _Unsupported(f"the momentum of {name} (it does not cycle momentum)")
  if name == "CyclicLR":
    up, down = _cyclic_steps(s)
    return _cyclic.cyclic_momentum(
      float(s.base_momentums[i]), float(s.max_momentums[i]), up, down, mode=s.mode, gamma=s.gamma
    )
  group = s.optimizer.param_groups[i]
  return _cyclic.one_cycle_momentum(
    base_momentum=float(group["base_momentum"]),
    max_momentum=float(group["max_momentum"]),
    **_one_cycle_args(s),
  )


def _sequential(s: Any, i: int, at: _At) -> optax.Schedule:
  if at.factor:
    raise _Unsupported(
      f"{_where(at, 'SequentialLR')} inside a ChainedScheduler (at its "
      "milestones it sets the rate instead of multiplying it)"
    )
  # A SequentialLR first in another one is started by a plain step(): one step ahead.
  shift = 1 if at.plain_start else 0
  milestones = [int(m) for m in s._milestones]  # pylint: disable=protected-access
  if shift and min(milestones, default=2) < 2:
    raise _Unsupported(
      f"{_where(at, 'SequentialLR')} nested first in another one with a milestone below 2"
    )
  parts = []
  for k, child in enumerate(s._schedulers):  # pylint: disable=protected-access
    composite = _is_torch_class(child, _COMPOSITES)
    path = _child(at, "SequentialLR", k)
    if k == 0 or milestones[k - 1] - shift == 0:  # started by SequentialLR's initial step
      child_at = _At(path, False, plain_start=at.plain_start or composite, closed_start=False)
    else:
      if composite:
        raise _Unsupported(
          f"{_class_name(child)} at {path}, after a milestone (torch raises "
          "NotImplementedError there)"
        )
      child_at = _At(path, False, plain_start=False, closed_start=True)
    parts.append(_convert(child, i, child_at))
  return _composition.sequential(parts, [m - shift for m in milestones])


def _chained(s: Any, i: int, at: _At) -> optax.Schedule:
  children = list(s._schedulers)  # pylint: disable=protected-access
  factors = [
    _convert(child, i, _At(_child(at, "ChainedScheduler", k), True, at.plain_start, False))
    for k, child in enumerate(children)
  ]
  if at.factor:
    return _composition.chained(1.0, *factors)
  first = children[0]
  while _is_torch_class(first, _COMPOSITES):
    first = first._schedulers[0]  # pylint: disable=protected-access
  return _composition.chained(float(first.base_lrs[i]), *factors)


def _convert(s: Any, i: int, at: _At) -> optax.Schedule:
  """The schedule of param group ``i`` of scheduler ``s`` placed at ``at``."""
  name = _class_name(s)
  if not _is_torch_class(s, TORCH_CLASSES) or name == "ReduceLROnPlateau":
    raise _Unsupported(_where(at, name))
  if name == "SequentialLR":
    return _sequential(s, i, at)
  if name == "ChainedScheduler":
    return _chained(s, i, at)
  if at.factor and name not in _MULTIPLICATIVE:
    raise _Unsupported(
      f"{_where(at, name)} inside a ChainedScheduler (only "
      f"{', '.join(_MULTIPLICATIVE)} multiply the rate there)"
    )
  base = 1.0 if at.factor else float(s.base_lrs[i])
  if name == "StepLR":
    return _decay.step_decay(base, s.step_size, s.gamma)
  if name == "MultiStepLR":
    return _decay.multistep_decay(base, sorted(s.milestones.elements()), s.gamma)
  if name == "ConstantLR":
    if s.total_iters == 0:  # torch applies the factor at step 0 and never lifts it
      return _decay.constant(base if at.closed_start else base * s.factor)
    return _decay.constant_factor(base, s.factor, s.total_iters)
  if name == "LinearLR":
    if s.total_iters == 0:  # torch applies start_factor at step 0 and keeps it
      if at.closed_start:
        raise _Unsupported(
          f"{_where(at, 'LinearLR')} with total_iters=0 after a milestone (torch divides by zero)"
        )
      return _decay.constant(base * s.start_factor)
    return _decay.linear_factor(base, s.start_factor, s.end_factor, s.total_iters)
  if name == "ExponentialLR":
    # Started by a plain step(), torch already multiplies by gamma at step 0.
    return _decay.exponential_decay(base * s.gamma if at.plain_start else base, s.gamma)
  if name == "PolynomialLR":
    total, power = s.total_iters, s.power
    if total == 0:
      if at.closed_start or at.plain_start:
        raise _Unsupported(
          f"{_where(at, 'PolynomialLR')} with total_iters=0 there (torch divides by zero)"
        )
      return _decay.constant(base)
    # Started by a plain step(), torch's recursive form applies (T / (T + 1))**p at step 0.
    first = (total / (total + 1)) ** power if at.plain_start else 1.0
    return _decay.polynomial_decay(base * first, total, power=power)
  if name == "CosineAnnealingLR":
    if at.plain_start:
      raise _Unsupported(
        f"{_where(at, 'CosineAnnealingLR')} (started by a plain step() there, "
        "its recursive form leaves the cosine)"
      )
    return _decay.cosine_annealing(base, s.T_max, s.eta_min)
  if name == "CosineAnnealingWarmRestarts":
    return _decay.cosine_warm_restarts(base, s.T_0, s.T_mult, s.eta_min)
  if name == "CyclicLR":
    if getattr(s, "_scale_fn_custom", None) is not None:
      raise _Unsupported(f"{_where(at, 'CyclicLR')} with a custom scale_fn")
    up, down = _cyclic_steps(s)
    return _cyclic.cyclic(base, float(s.max_lrs[i]), up, down, mode=s.mode, gamma=s.gamma)
  if name == "OneCycleLR":
    group = s.optimizer.param_groups[i]
    peak, initial, final = (float(group[k]) for k in ("max_lr", "initial_lr", "min_lr"))
    if min(peak, initial, final) <= 0:
      raise _Unsupported(f"{_where(at, 'OneCycleLR')} with a zero rate")
    return _cyclic.one_cycle(
      peak, div_factor=peak / initial, final_div_factor=initial / final, **_one_cycle_args(s)
    )
  return _lambda_lr(s, i, at)


def _current_step(s: Any) -> int:
  """The scheduler's ``last_epoch`` (a ChainedScheduler's is its first scheduler's)."""
  while not hasattr(s, "last_epoch") and hasattr(s, "_schedulers"):
    s = s._schedulers[0]  # pylint: disable=protected-access
  return int(getattr(s, "last_epoch", 0))


def _group_momentum(group: dict) -> Optional[float]:
  if "betas" in group:
    return float(group["betas"][0])
  return float(group["momentum"]) if "momentum" in group else None


def _torch_values(scheduler: Any, num_steps: int, fn: str, *, momentum: bool = False):
  """Steps a copy of ``scheduler``: its rates (and momenta) for ``num_steps`` steps.

  Returns:
    ``(start, lrs, momenta)``: ``start`` is the scheduler's step now, ``lrs``
    a float64 array of shape ``(num_steps, groups)`` whose row ``n`` is every
    group's rate at step ``start + n``; ``momenta`` the same for the momentum
    (None unless asked for).
  """
  name = _class_name(scheduler)
  if name == "ReduceLROnPlateau":
    raise ValueError(f"{fn}: ReduceLROnPlateau is stepped with a metric and cannot be tabulated")
  optimizer = scheduler.optimizer
  # The copy shares the parameters and the optimizer state (never written here), so a
  # model's tensors are not copied.
  memo = {id(p): p for group in optimizer.param_groups for p in group["params"]}
  for state in optimizer.state.values():
    memo.update({id(v): v for v in state.values() if hasattr(v, "shape")})
  try:
    twin = copy.deepcopy(scheduler, memo)
  except Exception as e:  # pylint: disable=broad-except
    raise ValueError(f"{fn}: cannot copy {name} to step it: {type(e).__name__}: {e}") from None
  groups = twin.optimizer.param_groups
  start = _current_step(scheduler)
  lrs, momenta = [], []
  with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    for n in range(num_steps):
      lrs.append([float(g["lr"]) for g in groups])
      if momentum:
        values = [_group_momentum(g) for g in groups]
        if None in values:
          raise ValueError(f"{fn}: the optimizer of {name} has no momentum or betas to tabulate")
        momenta.append(values)
      if n + 1 < num_steps:
        try:
          twin.step()
        except Exception as e:  # pylint: disable=broad-except
          raise ValueError(
            f"{fn}: {name}.step() failed at step {start + n + 1}: {type(e).__name__}: {e}"
          ) from None
  return start, np.asarray(lrs, np.float64), (np.asarray(momenta, np.float64) if momentum else None)


def _tabulated(values: np.ndarray, start: int) -> optax.Schedule:
  """``values[t - start]``, the first value before ``start``, the last one after."""
  table = jnp.asarray(values, jnp.float32)
  last = len(values) - 1

  def tabulated_schedule(count):
    t = c.as_count(count)
    return table[jnp.clip(t - start, 0, last)]

  return tabulated_schedule


def _one_or_list(items: list) -> Any:
  return items[0] if len(items) == 1 else items


def _resuming_init(state: Any):
  """An ``init_fn`` that returns ``state`` whatever the parameters."""

  def init_fn(params):
    del params
    return state

  return init_fn


def _plateau(s: Any) -> Any:
  """A ReduceLROnPlateau as :class:`PlateauConversion` per param group."""
  out = []
  defaults = s.optimizer.defaults
  for i, group in enumerate(s.optimizer.param_groups):
    base = float(group.get("initial_lr", defaults.get("lr", group["lr"])))
    if not base > 0:
      raise ValueError(
        f"from_torch: param group {i} of the ReduceLROnPlateau has base lr "
        f"{base}; the scale needs a positive one"
      )
    tx = _adaptive.reduce_on_plateau(
      factor=s.factor,
      patience=s.patience,
      threshold=s.threshold,
      threshold_mode=s.threshold_mode,
      cooldown=s.cooldown,
      min_scale=min(float(s.min_lrs[i]) / base, 1.0),
      mode=s.mode,
      eps=s.eps / base,
    )
    state = _adaptive.ReduceOnPlateauState(
      plateau_scale=jnp.asarray(float(group["lr"]) / base, jnp.float32),
      plateau_best=jnp.asarray(float(s.best), jnp.float32),
      plateau_bad_count=jnp.asarray(min(int(s.num_bad_epochs), c.INT32_MAX), jnp.int32),
      plateau_cooldown_count=jnp.asarray(int(s.cooldown_counter), jnp.int32),
      plateau_accumulated_value=jnp.zeros((), jnp.float32),
      plateau_accumulated_count=jnp.zeros((), jnp.int32),
    )

    out.append(
      PlateauConversion(
        optax.GradientTransformationExtraArgs(_resuming_init(state), tx.update), state, base
      )
    )
  return _one_or_list(out)


def _is_timm(obj: Any) -> bool:
  return type(obj).__module__.split(".")[0] == "timm"


def _timm_group(s: Any, i: int) -> optax.Schedule:
  """Param group ``i`` of a timm scheduler: its ``_get_lr`` times ``lr_scale``, with its noise."""
  name = _class_name(s)
  base = float(s.base_values[i])
  warm = dict(
    warmup_t=s.warmup_t, warmup_lr_init=s.warmup_lr_init, warmup_prefix=bool(s.warmup_prefix)
  )
  if name in ("StepLRScheduler", "MultiStepLRScheduler"):
    factory = _timm.timm_step if name == "StepLRScheduler" else _timm.timm_multistep
    sched = factory(base, s.decay_t, s.decay_rate, **warm)
  else:
    cycles = dict(
      lr_min=s.lr_min,
      cycle_mul=s.cycle_mul,
      cycle_decay=s.cycle_decay,
      cycle_limit=s.cycle_limit,
      **warm,
    )
    if name == "CosineLRScheduler":
      sched = _timm.timm_cosine(base, s.t_initial, k_decay=s.k_decay, **cycles)
    elif name == "TanhLRScheduler":
      sched = _timm.timm_tanh(base, s.t_initial, lb=s.lb, ub=s.ub, **cycles)
    else:
      sched = _timm.timm_poly(base, s.t_initial, power=s.power, k_decay=s.k_decay, **cycles)
  scale = s.optimizer.param_groups[i].get("lr_scale")
  if scale is not None and float(scale) != 1.0:  # timm's update_groups multiplies by it
    sched = _scaled(sched, float(scale))
  if s.noise_range_t is not None:
    sched = _timm.with_noise(
      sched,
      s.noise_range_t,
      s.noise_pct,
      s.noise_std,
      seed=s.noise_seed,
      noise_type="normal" if s.noise_type == "normal" else "uniform",
    )
  return sched


def _from_timm(s: Any, steps_per_epoch: Optional[int], with_momentum: bool, fn: str) -> Any:
  """from_torch for a timm scheduler."""
  name = _class_name(s)
  if name not in TIMM_CLASSES:
    raise ValueError(f"{fn}: cannot convert timm's {name}. Converted: {_supported_text()}")
  if with_momentum:
    raise ValueError(
      f"{fn}: with_momentum=True does not apply to timm's {name} (it schedules the rate only)"
    )
  if name == "PlateauLRScheduler":
    # Without warmup and noise its step(epoch, metric) is its ReduceLROnPlateau's step(metric).
    if s.warmup_t or s.noise_range_t is not None:
      raise ValueError(
        f"{fn}: cannot convert timm's PlateauLRScheduler with warmup_t={s.warmup_t}, "
        f"noise_range_t={s.noise_range_t!r}: its warmup sets the rate per epoch while it "
        "ignores the metric, and its noise is undone before each plateau step; "
        "reduce_on_plateau models neither (converted with warmup_t=0 and no noise)"
      )
    if steps_per_epoch is not None:
      raise ValueError(
        f"{fn}: steps_per_epoch does not apply to PlateauLRScheduler (feed its "
        "metric with observe= once per epoch)"
      )
    return _plateau(s.lr_scheduler)
  if s.t_in_epochs and steps_per_epoch is None:
    raise ValueError(
      f"{fn}: timm's {name} has t_in_epochs=True: its rate changes once per "
      "epoch, at step(epoch); give steps_per_epoch=N so that sched(t) is the "
      "rate of epoch t // N (N=1 counts epochs)"
    )
  if not s.t_in_epochs and steps_per_epoch is not None:
    raise ValueError(
      f"{fn}: timm's {name} has t_in_epochs=False: it counts updates "
      "(step_update), so steps_per_epoch does not apply"
    )
  try:
    lrs = [_timm_group(s, i) for i in range(len(s.optimizer.param_groups))]
  except ValueError as e:
    raise ValueError(
      f"{fn}: cannot convert timm's {name}: jaxsched rejects its hyperparameters ({e})"
    ) from None
  if steps_per_epoch is not None:
    lrs = [_per_update(sched, steps_per_epoch) for sched in lrs]
  return _one_or_list(lrs)


def from_torch(
  scheduler: Any,
  *,
  steps_per_epoch: Optional[int] = None,
  num_steps: Optional[int] = None,
  with_momentum: bool = False,
) -> Any:
  """The jaxsched schedule equivalent to a live PyTorch or transformers scheduler.

  .. math:: \\eta_t = \\text{the rate of param group } i \\text{ when }
    \\texttt{scheduler.last_epoch} = t

  Steps count from the scheduler's construction, whatever step the object is
  at now: ``sched(scheduler.last_epoch)`` is ``optimizer.param_groups[i]["lr"]``
  now. The hyperparameters are read from the object, the base rates from
  ``scheduler.base_lrs`` (OneCycleLR: its param groups), so stepping the
  scheduler before converting changes nothing.

  Converted in closed form: ``StepLR``, ``MultiStepLR``, ``ConstantLR``,
  ``LinearLR``, ``ExponentialLR``, ``PolynomialLR``, ``CosineAnnealingLR``,
  ``CosineAnnealingWarmRestarts``, ``CyclicLR``, ``OneCycleLR``, the
  ``LambdaLR`` of every transformers ``get_*_schedule*`` function (recognized
  by the name of the function in its ``functools.partial``; WSD included),
  the ``LambdaLR`` of :func:`to_torch`, ``SequentialLR`` and
  ``ChainedScheduler``, nested as far as torch runs them: a ChainedScheduler
  of the multiplicative schedulers (ConstantLR, LinearLR, StepLR, MultiStepLR,
  ExponentialLR, PolynomialLR, or ChainedSchedulers of them), a
  SequentialLR of any of these, with a SequentialLR or ChainedScheduler only
  first (torch raises at the milestone of a later one). Where torch starts a
  nested scheduler with a plain ``step()`` (first in a nested composite),
  its first value is torch's, e.g. ``gamma`` for an ExponentialLR; the few
  start-ups torch runs off its curve there (a CosineAnnealingLR, a nested
  SequentialLR with a milestone below 2) are refused, the message says which.

  ``ReduceLROnPlateau`` becomes :func:`reduce_on_plateau` with the same
  settings (``min_scale = min_lr / base_lr``, ``eps = eps / base_lr``) and a
  :class:`PlateauConversion` ``(transform, state, base_lr)``: ``state``
  holds the object's best value, bad-epoch count, cooldown counter and scale
  ``lr / base_lr`` now, and ``transform.init`` returns it, so the PyTorch
  run's plateau state resumes in JAX. ``base_lr`` is the group's
  ``initial_lr`` if it has one, else the optimizer's default ``lr``: give it
  to the optimizer the transformation follows,
  ``optax.chain(optax.sgd(p.base_lr), p.transform)``.

  timm's ``CosineLRScheduler``, ``TanhLRScheduler``, ``PolyLRScheduler``,
  ``StepLRScheduler`` and ``MultiStepLRScheduler`` become :func:`timm_cosine`,
  :func:`timm_tanh`, :func:`timm_poly`, :func:`timm_step` and
  :func:`timm_multistep` of each group's ``base_values[i]``, times the
  group's ``lr_scale`` where it has one, and wrapped in :func:`with_noise`
  when the object has a ``noise_range_t`` (same noise distribution, other
  draws; one draw per step shared by all groups, as in timm). timm's
  schedulers are stateless, so ``sched(t)`` is the rate ``step_update(t)``
  sets (``t_in_epochs=False``) whatever step the object is at. With
  ``t_in_epochs=True`` give ``steps_per_epoch``: ``sched(t)`` is the rate
  ``step(t // steps_per_epoch)`` sets, constant over the epoch, the noise
  drawn per epoch. A ``PlateauLRScheduler`` without warmup and noise is its
  inner ``ReduceLROnPlateau`` (see above; timm's training loop calls
  ``step(epoch + 1, metric)``, so its ``step(0)``, which sets
  ``warmup_lr_init``, is never taken); with either it is refused, since
  :func:`reduce_on_plateau` models neither. ``num_steps`` does not apply.

  Anything else (another ``LambdaLR``, ``MultiplicativeLR``, unknown classes,
  hyperparameters jaxsched's factory rejects) raises ``ValueError`` unless
  ``num_steps`` is given: then the schedule is a table read by stepping a
  ``copy.deepcopy`` of the scheduler and its optimizer (sharing its
  parameter tensors), exact on steps ``last_epoch .. last_epoch + num_steps -
  1``, holding the last value after them and the first one before.

  Where the references go on past their end, the closed forms follow
  jaxsched: transformers' cosine schedules hold their value at
  ``num_training_steps`` (``T - 1`` for ``cosine_warmup_with_min_lr``)
  instead of following the cosine back up, and ``OneCycleLR`` holds its
  final rate at step ``total_steps``, where torch extrapolates its last phase.

  Several param groups give a list of schedules, one per group (a single
  schedule for one group). Feed them to ``optax.multi_transform``::

    scheds = jaxsched.from_torch(torch_scheduler)
    tx = optax.multi_transform(
        {f"group{i}": optax.adam(s) for i, s in enumerate(scheds)}, param_labels)

  where ``param_labels`` labels each parameter with its group.

  Args:
    scheduler: a ``torch.optim.lr_scheduler`` object (transformers' are
      ``LambdaLR`` ones) or a ``timm.scheduler`` one.
    steps_per_epoch: if given (>= 1), the scheduler is stepped once per epoch
      and the result counts updates: ``sched(t)`` is the rate of epoch
      ``t // steps_per_epoch``. Required for a timm scheduler with
      ``t_in_epochs=True``, refused with ``t_in_epochs=False``. Not for
      ReduceLROnPlateau (feed its metric with ``observe=`` once per epoch).
    num_steps: steps to tabulate, >= 1, for a scheduler without a closed form;
      ignored for the others.
    with_momentum: also return the momentum (or Adam ``beta1``) schedule of a
      CyclicLR or OneCycleLR with ``cycle_momentum=True`` (or of a tabulated
      scheduler), as :class:`LearningRateAndMomentum`.

  Returns:
    An ``optax.Schedule``, or a list with one per param group; a
    :class:`LearningRateAndMomentum` with ``with_momentum=True``; a
    :class:`PlateauConversion` (or a list) for a ``ReduceLROnPlateau``.

  Examples:
    >>> import torch, jaxsched
    >>> opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(()))], lr=0.1)
    >>> torch_sched = torch.optim.lr_scheduler.StepLR(opt, step_size=10, gamma=0.5)
    >>> sched = jaxsched.from_torch(torch_sched)
    >>> round(float(sched(25)), 6)
    0.025
  """
  fn = "from_torch"
  if not _is_torch_scheduler(scheduler):
    raise ValueError(
      f"{fn}: scheduler={scheduler!r} is not a torch scheduler (an object with "
      "an optimizer and step())"
    )
  if steps_per_epoch is not None:
    c.check_steps(fn, "steps_per_epoch", steps_per_epoch, minimum=1)
  if num_steps is not None:
    c.check_steps(fn, "num_steps", num_steps, minimum=1)
  if _is_timm(scheduler):
    return _from_timm(scheduler, steps_per_epoch, with_momentum, fn)
  if _is_torch_class(scheduler, ("ReduceLROnPlateau",)):
    if steps_per_epoch is not None or with_momentum:
      raise ValueError(
        f"{fn}: steps_per_epoch and with_momentum do not apply to "
        "ReduceLROnPlateau (feed its metric with observe= once per epoch)"
      )
    return _plateau(scheduler)
  num_groups = len(scheduler.optimizer.param_groups)
  cycles_momentum = _is_torch_class(scheduler, ("CyclicLR", "OneCycleLR")) and getattr(
    scheduler, "cycle_momentum", False
  )
  if with_momentum and not cycles_momentum and num_steps is None:
    raise ValueError(
      f"{fn}: with_momentum=True needs a CyclicLR or OneCycleLR with "
      f"cycle_momentum=True (or num_steps=N to tabulate the momentum), got "
      f"{_class_name(scheduler)}"
    )
  try:
    lrs = [_convert(scheduler, i, _At("", False, False, False)) for i in range(num_groups)]
    momenta = [_momentum(scheduler, i) for i in range(num_groups)] if with_momentum else None
  except ValueError as e:
    if num_steps is None:
      reason = (
        str(e)
        if isinstance(e, _Unsupported)
        else (f"{_class_name(scheduler)}: jaxsched rejects its hyperparameters ({e})")
      )
      raise ValueError(
        f"{fn}: cannot convert {reason}. Converted: {_supported_text()}. Give num_steps=N to "
        "tabulate any scheduler by stepping a copy of it"
      ) from None
    start, table, moments = _torch_values(scheduler, num_steps, fn, momentum=with_momentum)
    lrs = [_tabulated(table[:, i], start) for i in range(num_groups)]
    momenta = (
      [_tabulated(moments[:, i], start) for i in range(num_groups)] if (with_momentum) else None
    )
  if steps_per_epoch is not None:
    lrs = [_per_update(s, steps_per_epoch) for s in lrs]
    if momenta is not None:
      momenta = [_per_update(s, steps_per_epoch) for s in momenta]
  if with_momentum:
    assert momenta is not None  # built above whenever with_momentum
    return LearningRateAndMomentum(_one_or_list(lrs), _one_or_list(momenta))
  return _one_or_list(lrs)


# ------------------------------------------------------------------- to_torch


class _RatioLambda(Protocol):
  """A ``LambdaLR`` lambda of :func:`to_torch` that remembers the schedule it follows."""

  _jaxsched_schedule: optax.Schedule
  _jaxsched_base_lr: float

  def __call__(self, step: int) -> float: ...


def _ratio_lambda(schedule: optax.Schedule, base_lr: float) -> _RatioLambda:
  """``t -> schedule(t) / base_lr``, from jitted blocks of the schedule kept in a small cache."""
  evaluate = jax.jit(schedule)
  blocks: dict[int, np.ndarray] = {}

  def lr_lambda(step):
    step = max(int(step), 0)
    block, offset = divmod(step, _TABLE_BLOCK)
    if block not in blocks:
      if len(blocks) >= 4:
        blocks.pop(next(iter(blocks)))
      steps = np.minimum(np.arange(block * _TABLE_BLOCK, (block + 1) * _TABLE_BLOCK), c.INT32_MAX)
      blocks[block] = np.asarray(evaluate(jnp.asarray(steps, jnp.int32)), np.float64)
    return float(blocks[block][offset]) / base_lr

  ratio_lambda = cast(_RatioLambda, lr_lambda)
  ratio_lambda._jaxsched_schedule = schedule  # pylint: disable=protected-access
  ratio_lambda._jaxsched_base_lr = base_lr  # pylint: disable=protected-access
  return ratio_lambda


def to_torch(schedule: Schedules, optimizer: Any) -> Any:
  """A ``torch.optim.lr_scheduler.LambdaLR`` that follows a jaxsched schedule.

  .. math:: \\lambda_i(t) = \\eta(t) / \\eta_{base, i}

  so that the LambdaLR sets every group's rate to ``schedule(t)`` when its
  ``last_epoch`` is ``t``: the rate of update ``t`` when it is stepped after
  every ``optimizer.step()``. ``eta_base`` is the group's ``initial_lr`` (or
  ``lr``), which LambdaLR multiplies by the lambda. The schedule is
  evaluated through ``jax.jit`` in blocks of 4096 steps, cached. The lambdas
  are plain functions, so the LambdaLR's ``state_dict`` leaves them out as
  torch does for any function. :func:`from_torch` gives the schedule back.

  Args:
    schedule: a schedule for every group, or a list with one per param group.
    optimizer: a ``torch.optim.Optimizer``; every group's rate must be > 0.

  Returns:
    A ``torch.optim.lr_scheduler.LambdaLR`` on ``optimizer``.

  Examples:
    >>> import torch, jaxsched
    >>> opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(()))], lr=1.0)
    >>> torch_sched = jaxsched.to_torch(jaxsched.warmup_constant(0.1, warmup_steps=4), opt)
    >>> torch_sched.step(); torch_sched.step()
    >>> round(opt.param_groups[0]["lr"], 6)
    0.05
  """
  fn = "to_torch"
  import torch  # pylint: disable=import-outside-toplevel

  groups = optimizer.param_groups
  if isinstance(schedule, (list, tuple)):
    schedules = list(schedule)
    if len(schedules) != len(groups):
      raise ValueError(f"{fn}: {len(schedules)} schedules for {len(groups)} param groups")
  else:
    schedules = [schedule] * len(groups)
  lambdas: list[Callable[[int], float]] = []
  for i, (sched, group) in enumerate(zip(schedules, groups)):
    if not callable(sched):
      raise ValueError(f"{fn}: schedule={sched!r} must be a schedule (a callable of the step)")
    base = float(group.get("initial_lr", group["lr"]))
    if not base > 0 or not math.isfinite(base):
      raise ValueError(
        f"{fn}: param group {i} has lr={base}; LambdaLR multiplies it by "
        "schedule(t) / lr, so it must be > 0"
      )
    lambdas.append(_ratio_lambda(sched, base))
  return torch.optim.lr_scheduler.LambdaLR(optimizer, lambdas)


# -------------------------------------------------------------- get_scheduler


def get_scheduler(
  name: Any,
  peak_value: ArrayLike,
  num_warmup_steps: Optional[int] = None,
  num_training_steps: Optional[int] = None,
  scheduler_specific_kwargs: Optional[dict] = None,
) -> Any:
  """transformers' ``get_scheduler``: a schedule by ``SchedulerType`` name.

  .. math:: \\eta_t = p \\, \\lambda_{name}(t)

  with ``lambda`` the factor transformers' ``get_scheduler(name, optimizer,
  ...)`` gives a ``LambdaLR`` and ``p = peak_value`` the optimizer's rate.
  Names, keyword names, defaults and missing-argument errors are
  transformers': ``linear``, ``cosine``, ``cosine_with_restarts``,
  ``polynomial``, ``constant``, ``constant_with_warmup``, ``inverse_sqrt``,
  ``cosine_with_min_lr``, ``cosine_warmup_with_min_lr`` and
  ``warmup_stable_decay`` are closed-form schedules (the cosine ones hold
  their last value after the end, see :func:`from_torch`).
  ``reduce_lr_on_plateau`` returns :func:`reduce_on_plateau` with
  ``ReduceLROnPlateau``'s defaults (``min_lr`` and ``eps`` divided by
  ``peak_value``), a transformation that scales updates: use it after an
  optimizer whose rate is ``peak_value``. ``greedy`` returns
  :func:`greedy_lr` with ``GreedyLR``'s defaults and
  ``base_lr=peak_value`` (``min_lr``, ``max_lr`` and ``eps`` stay absolute;
  ``peak_value`` must be > 0; ``verbose`` is accepted and ignored), a
  transformation used the same way.

  Args:
    name: a ``transformers.SchedulerType`` or its string value.
    peak_value: the optimizer's learning rate, >= 0.
    num_warmup_steps: warmup steps; required by all but ``constant``,
      ``reduce_lr_on_plateau`` and ``greedy``.
    num_training_steps: total steps; required by the decaying schedules
      (``warmup_stable_decay`` takes it or ``num_stable_steps``).
    scheduler_specific_kwargs: transformers' extra keywords, e.g.
      ``num_cycles``, ``lr_end``, ``power``, ``timescale``, ``min_lr``,
      ``min_lr_rate``, ``warmup_lr_rate``, ``num_decay_steps``,
      ``num_stable_steps``, ``warmup_type``, ``decay_type``, ``min_lr_ratio``,
      or ``ReduceLROnPlateau``'s, or ``GreedyLR``'s.

  Returns:
    An ``optax.Schedule``, or an ``optax.GradientTransformationExtraArgs``
    for ``reduce_lr_on_plateau`` and ``greedy``.

  Examples:
    >>> import jaxsched
    >>> sched = jaxsched.get_scheduler("linear", 1e-3, num_warmup_steps=10,
    ...                                num_training_steps=110)
    >>> round(float(sched(5)), 6), round(float(sched(60)), 6)
    (0.0005, 0.0005)
  """
  fn = "get_scheduler"
  name = str(getattr(name, "value", name))
  if name not in HF_SCHEDULER_KWARGS:
    raise ValueError(
      f"{fn}: {name} is not a valid SchedulerType, please select one of {list(HF_SCHEDULER_KWARGS)}"
    )
  c.check_real(fn, "peak_value", peak_value, low=0.0, low_open=name == "greedy")
  kw = dict(scheduler_specific_kwargs or {})
  allowed = HF_SCHEDULER_KWARGS[name]
  if allowed is not None:
    unknown = sorted(set(kw) - set(allowed))
    if unknown:
      raise ValueError(
        f"{fn}: scheduler_specific_kwargs {unknown} are not keywords of {name!r} "
        f"(it takes {', '.join(allowed) or 'none'})"
      )
  if name == "greedy":
    for key in ("min_lr", "max_lr"):
      if isinstance(kw.get(key), (list, tuple)):
        raise ValueError(
          f"{fn}: {key}={kw[key]!r}: one schedule has one param group, give a number"
        )
    kw.pop("verbose", None)  # GreedyLR only prints with it
    return _greedy.greedy_lr(peak_value, **kw)
  if name == "constant":
    return _decay.constant(peak_value)
  if name == "reduce_lr_on_plateau":
    min_lr = kw.get("min_lr", 0.0)
    if isinstance(min_lr, (list, tuple)):
      raise ValueError(f"{fn}: min_lr={min_lr!r}: one schedule has one param group, give a number")
    peak = float(cast(SupportsFloat, peak_value))  # a concrete rate: float() fails on a tracer
    return _adaptive.reduce_on_plateau(
      factor=kw.get("factor", 0.1),
      patience=kw.get("patience", 10),
      threshold=kw.get("threshold", 1e-4),
      threshold_mode=kw.get("threshold_mode", "rel"),
      cooldown=kw.get("cooldown", 0),
      mode=kw.get("mode", "min"),
      min_scale=min(min_lr / peak, 1.0) if peak > 0 else 0.0,
      eps=kw.get("eps", 1e-8) / peak if peak > 0 else 0.0,
    )
  if num_warmup_steps is None:
    raise ValueError(f"{fn}: {name} requires `num_warmup_steps`, please provide that argument.")
  w = num_warmup_steps
  if name == "constant_with_warmup":
    return _warmup.warmup_constant(peak_value, w)
  if name == "inverse_sqrt":
    return _warmup.inverse_sqrt(peak_value, w, timescale=kw.get("timescale"))
  if name == "warmup_stable_decay":
    if "num_decay_steps" not in kw:
      raise ValueError(
        f"{fn}: warmup_stable_decay requires `num_decay_steps` in scheduler_specific_kwargs"
      )
    stable = kw.get("num_stable_steps")
    if num_training_steps is None and stable is None:
      raise ValueError(f"{fn}: Either num_training_steps or num_stable_steps must be specified.")
    for key in ("warmup_type", "decay_type"):
      kind = kw.get(key, "cosine" if key == "decay_type" else "linear")
      if kind not in _WSD_KINDS:
        raise ValueError(f"{fn}: {key}={kind!r} must be one of 'linear', 'cosine', '1-sqrt'")
    # With both, transformers warns and uses num_stable_steps.
    counts = (
      dict(stable_steps=stable) if stable is not None else dict(total_steps=num_training_steps)
    )
    return _warmup.warmup_stable_decay(
      peak_value,
      w,
      kw["num_decay_steps"],
      warmup_kind=kw.get("warmup_type", "linear"),
      decay_kind=kw.get("decay_type", "cosine"),
      min_lr_ratio=kw.get("min_lr_ratio", 0.0),
      num_cycles=kw.get("num_cycles", 0.5),
      **counts,
    )
  if num_training_steps is None:
    raise ValueError(f"{fn}: {name} requires `num_training_steps`, please provide that argument.")
  t = num_training_steps
  if name == "linear":
    return _warmup.warmup_linear(peak_value, w, t)
  if name == "cosine":
    return _warmup.warmup_cosine(peak_value, w, t, num_cycles=kw.get("num_cycles", 0.5))
  if name == "cosine_with_restarts":
    return _warmup.warmup_cosine_restarts(peak_value, w, t, num_cycles=kw.get("num_cycles", 1))
  if name == "polynomial":
    lr_end = kw.get("lr_end", 1e-7)
    if not c.is_traced(peak_value) and not np.all(np.asarray(peak_value) > lr_end):
      raise ValueError(f"{fn}: lr_end ({lr_end}) must be smaller than initial lr ({peak_value})")
    return _warmup.warmup_polynomial(peak_value, w, t, end_value=lr_end, power=kw.get("power", 1.0))
  # cosine_with_min_lr, cosine_warmup_with_min_lr
  min_lr, min_lr_rate = kw.get("min_lr"), kw.get("min_lr_rate")
  if min_lr is not None and min_lr_rate is not None:
    raise ValueError(f"{fn}: Only one of min_lr or min_lr_rate should be set")
  if min_lr is None and min_lr_rate is None:
    raise ValueError(
      f"{fn}: One of min_lr or min_lr_rate should be set through the `lr_scheduler_kwargs`"
    )
  if min_lr_rate is None:
    assert min_lr is not None  # one of the two is set (checked above)
    min_lr_rate = min_lr / peak_value
  num_cycles = kw.get("num_cycles", 0.5)
  if name == "cosine_with_min_lr":
    return _warmup.warmup_cosine(
      peak_value, w, t, end_value=peak_value * min_lr_rate, num_cycles=num_cycles
    )
  base = float(cast(SupportsFloat, peak_value))  # a concrete rate: float() fails on a tracer
  return _cosine_with_min_lr_rate(base, w, t, num_cycles, min_lr_rate, kw.get("warmup_lr_rate"))


# -------------------------------------------------------------------- compare


def _curve(x: Any, start: int, num_steps: int, fn: str, name: str) -> tuple:
  """``(start, values)``: a schedule, list of schedules or torch scheduler over num_steps steps."""
  if _is_torch_scheduler(x):
    start, values, _ = _torch_values(x, num_steps, fn)
    return start, values
  parts = list(x) if isinstance(x, (list, tuple)) else [x]
  if not parts or not all(callable(p) for p in parts):
    raise ValueError(f"{fn}: {name}={x!r} must be a schedule, a list of them or a torch scheduler")
  steps = jnp.asarray(np.minimum(np.arange(start, start + num_steps), c.INT32_MAX), jnp.int32)
  columns = [
    np.broadcast_to(np.asarray(jax.jit(p)(steps), np.float64), (num_steps,)) for p in parts
  ]
  return start, np.stack(columns, axis=1)


def compare(
  reference: Any, schedule: Schedules, num_steps: int, *, rtol: float = 1e-5, atol: float = 0.0
) -> Comparison:
  """How far ``schedule`` is from ``reference``, step by step.

  .. math::
    \\text{mismatch at } t \\iff |s_t - r_t| > \\text{atol} + \\text{rtol} \\, |r_t|

  (``numpy.isclose``'s test, NaN always a mismatch). A torch scheduler as
  ``reference`` is stepped on a ``copy.deepcopy``, reading its rates at its
  steps ``last_epoch .. last_epoch + num_steps - 1`` (``0 .. num_steps - 1``
  for a fresh one), where ``schedule`` is evaluated too (see
  :func:`from_torch` for the step convention). Several param groups compare
  against a list with one schedule per group.

  Args:
    reference: a torch scheduler, a schedule, or a list of schedules.
    schedule: a schedule, or a list with one per param group of ``reference``.
    num_steps: steps compared, >= 1.
    rtol: relative tolerance, >= 0.
    atol: absolute tolerance, >= 0.

  Returns:
    A :class:`Comparison` ``(max_abs_deviation, max_rel_deviation,
    first_mismatch)``; ``first_mismatch`` is None when every step is within
    tolerance.

  Examples:
    >>> import jaxsched
    >>> result = jaxsched.compare(jaxsched.step_decay(1.0, 30, gamma=0.5),
    ...                           jaxsched.multistep_decay(1.0, [30, 60, 80], gamma=0.5), 100)
    >>> result.first_mismatch
    80
  """
  fn = "compare"
  c.check_steps(fn, "num_steps", num_steps, minimum=1)
  c.check_real(fn, "rtol", rtol, low=0.0)
  c.check_real(fn, "atol", atol, low=0.0)
  if _is_torch_scheduler(schedule):
    raise ValueError(
      f"{fn}: schedule must be a jaxsched schedule; pass the torch scheduler as reference"
    )
  start, want = _curve(reference, 0, int(num_steps), fn, "reference")
  _, got = _curve(schedule, start, int(num_steps), fn, "schedule")
  if got.shape != want.shape:
    raise ValueError(
      f"{fn}: reference has {want.shape[1]} param groups, schedule "
      f"{got.shape[1]}; give one schedule per group"
    )
  diff = np.abs(got - want)
  diff = np.where(np.isnan(diff), np.inf, diff)
  scale = np.abs(want)
  with np.errstate(divide="ignore", invalid="ignore"):
    rel = np.where(diff == 0, 0.0, diff / scale)
  bad = np.flatnonzero(np.any(~(diff <= atol + rtol * scale), axis=1))
  return Comparison(
    max_abs_deviation=float(diff.max()),
    max_rel_deviation=float(rel.max()),
    first_mismatch=int(start + bad[0]) if bad.size else None,
  )
