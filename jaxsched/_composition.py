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


def adaptive_momentum(lr_schedule: optax.Schedule, reference_lr: Any, max_momentum: Any = 0.95,
                      min_momentum: Any = 0.85) -> optax.Schedule:
  """Momentum coupled inversely to a learning-rate schedule.

  .. math::
    m_t = \\operatorname{clip}\\left(m_{max} - (m_{max} - m_{min})
    \\frac{\\eta_t}{\\eta_{ref}}, \\; m_{min}, m_{max}\\right)

  Seed 000: ``AdaptiveMomentumScheduler(optimizer, lr_scheduler,
  max_momentum, min_momentum)``, whose ``initial_lr`` is ``reference_lr``
  here: high rate, low momentum. The seed only touches optimizers with a
  ``momentum`` field; use this for SGD's ``momentum`` or Adam's ``b1`` alike,
  through ``optax.inject_hyperparams``:

  ``optax.inject_hyperparams(optax.adam)(learning_rate=lr, b1=adaptive_momentum(lr, peak))``

  Args:
    lr_schedule: the learning-rate schedule the momentum follows.
    reference_lr: the rate at which momentum reaches ``min_momentum``, > 0.
    max_momentum: momentum at zero learning rate, in [0, 1].
    min_momentum: the lowest momentum, in [0, max_momentum].

  Returns:
    An ``optax.Schedule`` of momentum values.

  Examples:
    >>> import jaxsched
    >>> lr = jaxsched.warmup(1.0, warmup_steps=10)
    >>> m = jaxsched.adaptive_momentum(lr, reference_lr=1.0)
    >>> round(float(m(0)), 6), round(float(m(5)), 6), round(float(m(10)), 6)
    (0.95, 0.9, 0.85)
  """
  fn = "adaptive_momentum"
  if not callable(lr_schedule):
    raise ValueError(f"{fn}: lr_schedule={lr_schedule!r} must be a schedule (a callable of the step)")
  c.check_real(fn, "reference_lr", reference_lr, low=0.0, low_open=True)
  c.check_real(fn, "max_momentum", max_momentum, low=0.0, high=1.0)
  c.check_real(fn, "min_momentum", min_momentum, low=0.0, high=1.0)
  c.check_order(fn, "min_momentum", min_momentum, "max_momentum", max_momentum)
  dtype = c.value_dtype(reference_lr, max_momentum, min_momentum)

  def schedule(count):
    ratio = lr_schedule(count).astype(dtype) / c.as_value(reference_lr, dtype)
    high, low = c.as_value(max_momentum, dtype), c.as_value(min_momentum, dtype)
    return jnp.clip(high - (high - low) * ratio, low, high)

  return schedule
