"""From a jaxsched schedule to a ``torch.optim.lr_scheduler.LambdaLR``.

torch is imported when :func:`jaxsched.to_torch` is called, never at import time.
"""

import math
from typing import Any, Callable, cast, Optional, Protocol

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxsched import _common as c
from jaxsched.porting import _objects

_TABLE_BLOCK = 4096  # steps evaluated at once by to_torch's lambdas


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


def followed(fn: Any) -> Optional[tuple[optax.Schedule, float]]:
  """``(schedule, base_lr)`` of a lambda made by :func:`to_torch`, None for any other function."""
  schedule = getattr(fn, "_jaxsched_schedule", None)
  if schedule is None:
    return None
  return schedule, fn._jaxsched_base_lr  # pylint: disable=protected-access


def to_torch(schedule: _objects.Schedules, optimizer: Any) -> Any:
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
