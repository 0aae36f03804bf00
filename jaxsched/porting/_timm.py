"""timm's schedulers (``timm.scheduler``) as jaxsched schedules (timm is never imported)."""

from typing import Any, Optional

import optax

from jaxsched import schedules
from jaxsched.porting import _objects
from jaxsched.porting import _plateau
from jaxsched.porting import _tabulate


def _timm_base(s: Any, name: str, base: float) -> optax.Schedule:
  """The closed form of timm's ``_get_lr`` for a group whose base rate is ``base``."""
  warm = dict(warmup_t=s.warmup_t, warmup_lr_init=s.warmup_lr_init)
  if name == "WSDLRScheduler":
    if callable(s.decay_fn):
      raise _objects.Unsupported(f"timm's WSDLRScheduler with a callable decay_fn={s.decay_fn!r}")
    return schedules.timm_wsd(
      base,
      s.t_initial,
      s.decay_t,
      lr_min=s.lr_min,
      stable_fn=s.stable_fn,
      stable_timescale=s.stable_timescale,
      stable_power=s.stable_power,
      decay_fn=s.decay_fn,
      decay_power=s.decay_power,
      decay_ratio=s.decay_ratio,
      **warm,
    )
  warm["warmup_prefix"] = bool(s.warmup_prefix)
  if name in ("StepLRScheduler", "MultiStepLRScheduler"):
    factory = schedules.timm_step if name == "StepLRScheduler" else schedules.timm_multistep
    return factory(base, s.decay_t, s.decay_rate, **warm)
  cycles = dict(
    lr_min=s.lr_min,
    cycle_mul=s.cycle_mul,
    cycle_decay=s.cycle_decay,
    cycle_limit=s.cycle_limit,
    **warm,
  )
  if name == "CosineLRScheduler":
    return schedules.timm_cosine(base, s.t_initial, k_decay=s.k_decay, **cycles)
  if name == "TanhLRScheduler":
    return schedules.timm_tanh(base, s.t_initial, lb=s.lb, ub=s.ub, **cycles)
  return schedules.timm_poly(base, s.t_initial, power=s.power, k_decay=s.k_decay, **cycles)


def _timm_group(s: Any, i: int, lr_scale: Optional[float]) -> optax.Schedule:
  """Param group ``i`` of a timm scheduler: its ``_get_lr`` times ``lr_scale``, with its noise."""
  name = _objects.class_name(s)
  if name not in _objects.TIMM_CLASSES:
    raise _objects.Unsupported(f"timm's {name}")
  sched = _timm_base(s, name, float(s.base_values[i]))
  if lr_scale is not None and float(lr_scale) != 1.0:  # timm's update_groups multiplies by it
    sched = _objects.scaled(sched, float(lr_scale))
  if s.noise_range_t is not None:
    sched = schedules.with_noise(
      sched,
      s.noise_range_t,
      s.noise_pct,
      s.noise_std,
      seed=s.noise_seed,
      noise_type="normal" if s.noise_type == "normal" else "uniform",
    )
  return sched


def from_timm(
  s: Any, steps_per_epoch: Optional[int], num_steps: Optional[int], with_momentum: bool, fn: str
) -> Any:
  """from_torch for a timm scheduler."""
  name = _objects.class_name(s)
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
    return _plateau.from_plateau(s.lr_scheduler)
  if name not in _objects.TIMM_CLASSES and num_steps is None:
    raise ValueError(
      f"{fn}: cannot convert timm's {name}. Converted: {_objects.supported_text()}. Give "
      "num_steps=N to tabulate any scheduler by stepping a copy of it"
    )
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
  groups = s.optimizer.param_groups
  try:
    lrs = [_timm_group(s, i, group.get("lr_scale")) for i, group in enumerate(groups)]
  except ValueError as e:
    if num_steps is None:
      reason = (
        str(e)
        if isinstance(e, _objects.Unsupported)
        else f"timm's {name}: jaxsched rejects its hyperparameters ({e})"
      )
      raise ValueError(
        f"{fn}: cannot convert {reason}. Converted: {_objects.supported_text()}. Give "
        "num_steps=N to tabulate any scheduler by stepping a copy of it"
      ) from None
    start, table, _ = _tabulate.torch_values(s, num_steps, fn)
    lrs = [_tabulate.tabulated(table[:, i], start) for i in range(len(groups))]
  if steps_per_epoch is not None:
    lrs = [schedules.per_update(sched, steps_per_epoch) for sched in lrs]
  return _objects.one_or_list(lrs)
