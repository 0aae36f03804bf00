"""Schedules made of other schedules: one after another, or multiplied."""

from typing import Any, Sequence

import jax.numpy as jnp
import numpy as np
import optax

from jaxsched import _common as c


def sequential(schedules: Sequence[optax.Schedule], boundaries: Sequence[int]) -> optax.Schedule:
  """Runs ``schedules[i]`` from ``boundaries[i-1]``, counting from its own start.

  .. math::
    \\eta_t = s_i(t - b_{i-1}) \\quad \\text{for } b_{i-1} \\le t < b_i, \\qquad b_{-1} = 0

  PyTorch: ``SequentialLR(optimizer, schedulers, milestones=boundaries)``;
  ``optax.join_schedules`` is the same. The number of schedules is static;
  boundary values may be traced.

  Args:
    schedules: one or more schedules (any callable of the step).
    boundaries: ``len(schedules) - 1`` strictly increasing steps, each >= 0.

  Returns:
    An ``optax.Schedule``.

  Examples:
    >>> import jaxsched
    >>> sched = jaxsched.sequential(
    ...     [jaxsched.warmup(1.0, 10), jaxsched.exponential_decay(1.0, 0.5)], [10])
    >>> float(sched(5)), float(sched(11))
    (0.5, 0.5)
  """
  fn = "sequential"
  schedules = list(schedules)
  if not schedules or not all(callable(s) for s in schedules):
    raise ValueError(f"{fn}: schedules must be a non-empty list of schedules, got {schedules!r}")
  if c.is_traced(boundaries):
    size = jnp.shape(boundaries)[0] if jnp.ndim(boundaries) == 1 else -1
  else:
    size = len(np.atleast_1d(np.asarray(boundaries))) if np.ndim(boundaries) <= 1 else -1
  if size != len(schedules) - 1:
    raise ValueError(f"{fn}: boundaries={boundaries!r} must hold len(schedules) - 1 = "
                     f"{len(schedules) - 1} steps")
  if size:
    c.check_steps(fn, "boundaries", boundaries)
    marks = c.concrete(boundaries)
    if marks is not None and np.any(np.diff(marks) <= 0):
      raise ValueError(f"{fn}: boundaries={list(marks)} must be strictly increasing")

  def schedule(count):
    t = c.as_count(count)
    marks = c.as_steps(boundaries).reshape(-1)
    out = schedules[0](t)
    for i, part in enumerate(schedules[1:]):
      start = marks[i]
      value = part(jnp.maximum(t - start, 0))
      dtype = jnp.result_type(out, value)
      out = jnp.where(t >= start, value.astype(dtype), out.astype(dtype))
    return out

  return schedule


def chained(init_value: Any, *factor_schedules: optax.Schedule) -> optax.Schedule:
  """The product of multiplicative schedules, scaled by ``init_value``.

  .. math:: \\eta_t = \\eta_0 \\prod_i f_i(t)

  PyTorch: ``ChainedScheduler([...])`` of multiplicative schedulers (ConstantLR,
  LinearLR, StepLR, MultiStepLR, ExponentialLR, ...), each built here with an
  ``init_value`` of 1.0 so that it returns its factor.

  Args:
    init_value: the base learning rate, >= 0.
    *factor_schedules: one or more schedules giving factors.

  Returns:
    An ``optax.Schedule``.

  Examples:
    >>> import jaxsched
    >>> sched = jaxsched.chained(0.1, jaxsched.constant_factor(1.0, 0.5, 2),
    ...                          jaxsched.exponential_decay(1.0, gamma=0.9))
    >>> round(float(sched(1)), 6)
    0.045
  """
  fn = "chained"
  c.check_real(fn, "init_value", init_value, low=0.0)
  if not factor_schedules or not all(callable(s) for s in factor_schedules):
    raise ValueError(f"{fn}: give one or more factor schedules after init_value, "
                     f"got {factor_schedules!r}")
  dtype = c.value_dtype(init_value)

  def schedule(count):
    t = c.as_count(count)
    out = c.as_value(init_value, dtype)
    for factor in factor_schedules:
      out = out * factor(t)
    return c.finish(out)

  return schedule
