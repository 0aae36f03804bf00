"""pytorch_optimizer's LR schedulers (``pytorch_optimizer.lr_scheduler``) as jaxsched schedules.

Its classes set absolute rates (``max_lr``, ``min_lr``), the same for every
param group. ``REXScheduler`` and ``CosineAnnealingWarmupRestarts`` hold
``min_lr`` after their construction; ``LinearScheduler``, ``CosineScheduler``
and ``PolyScheduler`` (not ``torch.optim.lr_scheduler.LRScheduler``s) hold
``min_lr`` until their first ``step()``, whose value is their formula's at
step 0, so their optimizer runs one step behind the formula. The conversions
give the rates the optimizer holds. ``get_chebyshev_schedule`` and
``get_wsd_schedule`` build ``LambdaLR``s, recognized by their functions.
pytorch_optimizer is never imported here.
"""

import functools
from typing import Any, Optional

import optax

from jaxsched.porting import _objects
from jaxsched.schedules import _composition
from jaxsched.schedules import _decay
from jaxsched.schedules import _pytorch_optimizer
from jaxsched.schedules import _warmup


def _behind(formula: optax.Schedule, min_lr: float) -> optax.Schedule:
  """The rate of a ``BaseLinearWarmupScheduler``: ``min_lr``, then ``formula(t - 1)``."""
  return _objects.replaced(_objects.shifted(formula, -1), 0, float(min_lr))


def convert(s: Any) -> optax.Schedule:
  """The schedule of a pytorch_optimizer scheduler object (every group's: they are the same)."""
  name = _objects.class_name(s)
  floor = float(s.min_lr)
  if name == "REXScheduler":
    return _objects.replaced(_pytorch_optimizer.rex(s.max_lr, s.total_steps, floor), 0, floor)
  if name == "CosineAnnealingWarmupRestarts":
    sched = _pytorch_optimizer.cosine_annealing_warmup_restarts(
      s.first_cycle_steps, s.cycle_mult, s.base_max_lr, floor, s.warmup_steps, s.gamma
    )
    # Its construction sets min_lr, where the cosine of a cycle without warmup starts at max_lr.
    return _objects.replaced(sched, 0, floor) if s.warmup_steps == 0 else sched
  if name == "PolyScheduler":
    return _behind(
      _pytorch_optimizer.warmup_poly_growth(
        s.max_lr, s.warmup_steps, s.poly_order, floor, s.init_lr
      ),
      floor,
    )
  factory = _warmup.warmup_linear if name == "LinearScheduler" else _warmup.warmup_cosine
  formula = factory(
    s.max_lr,
    s.warmup_steps,
    s.total_steps,
    end_value=floor,
    init_value=s.init_lr,
    hold_after_end=False,
  )
  return _behind(formula, floor)


def _wsd(base: float, kw: dict) -> optax.Schedule:
  """``get_wsd_schedule``: a linear warmup from 0, the plateau, a cooldown, then ``min_lr_ratio``.

  Its cosine cooldown ends at ``min_lr_ratio``; the other shapes fall to 0 and
  the rate jumps to ``min_lr_ratio`` after them.
  """
  w, stable, d = kw["num_warmup_steps"], kw["num_stable_steps"], kw["num_decay_steps"]
  ratio, kind = kw["min_lr_ratio"], kw["cooldown_type"]
  parts, ends = [], []
  if w > 0:
    parts.append(_warmup.warmup(base, w))
    ends.append(w)
  if stable + d > 0:
    parts.append(
      _warmup.warmup_stable_decay(
        base,
        0,
        d,
        stable_steps=stable,
        decay_kind=kind,
        min_lr_ratio=ratio if kind == "cosine" else 0.0,
        num_cycles=kw["num_cycles"],
      )
    )
    ends.append(w + stable + d)
  parts.append(_decay.constant(base * ratio))
  return _composition.sequential(parts, ends[: len(parts) - 1])


def from_lambda(fn: Any, base: float) -> Optional[optax.Schedule]:
  """The schedule of a pytorch_optimizer ``LambdaLR`` function, None for any other function."""
  func = fn.func if isinstance(fn, functools.partial) else fn
  if not getattr(func, "__module__", "").startswith("pytorch_optimizer"):
    return None
  name = getattr(func, "__name__", "")
  if name not in ("get_chebyshev_lr_lambda", "get_wsd_scheduler_lambda"):
    return None
  kw = _objects.partial_keywords(fn) if isinstance(fn, functools.partial) else {}
  if name == "get_wsd_scheduler_lambda":
    return _wsd(base, kw)
  if kw.get("is_warmup"):  # its lambda is 1 during warmup
    return _decay.constant(base)
  return _pytorch_optimizer.chebyshev(base, kw["num_epochs"])
