"""Tabulating any scheduler: stepping a copy of it and reading its rates."""

import copy
import warnings
from typing import Any, Optional

import jax.numpy as jnp
import numpy as np
import optax

from jaxsched import _common as c
from jaxsched.porting import _objects


def _group_momentum(group: dict) -> Optional[float]:
  if "betas" in group:
    return float(group["betas"][0])
  return float(group["momentum"]) if "momentum" in group else None


def torch_values(scheduler: Any, num_steps: int, fn: str, *, momentum: bool = False):
  """Steps a copy of ``scheduler``: its rates (and momenta) for ``num_steps`` steps.

  A timm scheduler is stateless: row ``n`` holds the rates its ``step_update(n)``
  (or ``step(n)`` with ``t_in_epochs=True``) sets, from ``start = 0``.

  Returns:
    ``(start, lrs, momenta)``: ``start`` is the scheduler's step now, ``lrs``
    a float64 array of shape ``(num_steps, groups)`` whose row ``n`` is every
    group's rate at step ``start + n``; ``momenta`` the same for the momentum
    (None unless asked for).
  """
  name = _objects.class_name(scheduler)
  if name in ("ReduceLROnPlateau", "PlateauLRScheduler"):
    raise ValueError(f"{fn}: {name} is stepped with a metric and cannot be tabulated")
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
  start = _objects.current_step(scheduler)
  timm = _objects.is_timm(scheduler)
  lrs, momenta = [], []
  with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    for n in range(num_steps):
      if timm:  # stateless: the rate step(epoch) or step_update(t) sets at each step
        try:
          (twin.step if twin.t_in_epochs else twin.step_update)(start + n)
        except Exception as e:  # pylint: disable=broad-except
          raise ValueError(
            f"{fn}: {name} failed at step {start + n}: {type(e).__name__}: {e}"
          ) from None
      lrs.append([float(g["lr"]) for g in groups])
      if momentum:
        values = [_group_momentum(g) for g in groups]
        if None in values:
          raise ValueError(f"{fn}: the optimizer of {name} has no momentum or betas to tabulate")
        momenta.append(values)
      if n + 1 < num_steps and not timm:
        try:
          twin.step()
        except Exception as e:  # pylint: disable=broad-except
          raise ValueError(
            f"{fn}: {name}.step() failed at step {start + n + 1}: {type(e).__name__}: {e}"
          ) from None
  return start, np.asarray(lrs, np.float64), (np.asarray(momenta, np.float64) if momentum else None)


def tabulated(values: np.ndarray, start: int) -> optax.Schedule:
  """``values[t - start]``, the first value before ``start``, the last one after."""
  table = jnp.asarray(values, jnp.float32)
  last = len(values) - 1

  def tabulated_schedule(count):
    t = c.as_count(count)
    return table[jnp.clip(t - start, 0, last)]

  return tabulated_schedule
