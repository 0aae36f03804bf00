"""timm's schedulers (``timm.scheduler``) as jaxsched schedules (timm is never imported)."""

from typing import Any, Optional

import optax

from jaxsched import schedules
from jaxsched.porting import _objects
from jaxsched.porting import _plateau


def _timm_group(s: Any, i: int) -> optax.Schedule:
  """Param group ``i`` of a timm scheduler: its ``_get_lr`` times ``lr_scale``, with its noise."""
  name = _objects.class_name(s)
  base = float(s.base_values[i])
  warm = dict(
    warmup_t=s.warmup_t, warmup_lr_init=s.warmup_lr_init, warmup_prefix=bool(s.warmup_prefix)
  )
  if name in ("StepLRScheduler", "MultiStepLRScheduler"):
    factory = schedules.timm_step if name == "StepLRScheduler" else schedules.timm_multistep
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
      sched = schedules.timm_cosine(base, s.t_initial, k_decay=s.k_decay, **cycles)
    elif name == "TanhLRScheduler":
      sched = schedules.timm_tanh(base, s.t_initial, lb=s.lb, ub=s.ub, **cycles)
    else:
      sched = schedules.timm_poly(base, s.t_initial, power=s.power, k_decay=s.k_decay, **cycles)
  scale = s.optimizer.param_groups[i].get("lr_scale")
  if scale is not None and float(scale) != 1.0:  # timm's update_groups multiplies by it
    sched = _objects.scaled(sched, float(scale))
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


def from_timm(s: Any, steps_per_epoch: Optional[int], with_momentum: bool, fn: str) -> Any:
  """from_torch for a timm scheduler."""
  name = _objects.class_name(s)
  if name not in _objects.TIMM_CLASSES:
    raise ValueError(f"{fn}: cannot convert timm's {name}. Converted: {_objects.supported_text()}")
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
    lrs = [schedules.per_update(sched, steps_per_epoch) for sched in lrs]
  return _objects.one_or_list(lrs)
