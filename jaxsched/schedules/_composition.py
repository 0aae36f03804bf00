"""Schedules made of other schedules: one after another, or multiplied."""

from typing import cast, Sequence

import jax.numpy as jnp
import numpy as np
import optax
from jax.typing import ArrayLike

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
    traced = cast(ArrayLike, boundaries)  # a traced array: jnp.ndim and jnp.shape reject a list
    size = jnp.shape(traced)[0] if jnp.ndim(traced) == 1 else -1
  else:
    size = len(np.atleast_1d(np.asarray(boundaries))) if np.ndim(boundaries) <= 1 else -1
  if size != len(schedules) - 1:
    raise ValueError(
      f"{fn}: boundaries={boundaries!r} must hold len(schedules) - 1 = {len(schedules) - 1} steps"
    )
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


def chained(init_value: ArrayLike, *factor_schedules: optax.Schedule) -> optax.Schedule:
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
    raise ValueError(
      f"{fn}: give one or more factor schedules after init_value, got {factor_schedules!r}"
    )
  dtype = c.value_dtype(init_value)

  def schedule(count):
    t = c.as_count(count)
    out = c.as_value(init_value, dtype)
    for factor in factor_schedules:
      out = out * factor(t)
    return c.finish(out)

  return schedule


@c.renamed_keywords(min_momentum="base_momentum")
def adaptive_momentum(
  lr_schedule: optax.Schedule,
  reference_lr: ArrayLike,
  max_momentum: ArrayLike = 0.95,
  base_momentum: ArrayLike = 0.85,
) -> optax.Schedule:
  """Momentum coupled inversely to a learning-rate schedule.

  .. math::
    m_t = \\operatorname{clip}\\left(m_{max} - (m_{max} - m_{base})
    \\frac{\\eta_t}{\\eta_{ref}}, \\; m_{base}, m_{max}\\right)

  Seed 000: ``AdaptiveMomentumScheduler(optimizer, lr_scheduler,
  max_momentum, min_momentum)``, whose ``initial_lr`` is ``reference_lr``
  and whose ``min_momentum`` is ``base_momentum`` here (torch's CyclicLR and
  OneCycleLR spelling): high rate, low momentum. The seed only touches
  optimizers with a ``momentum`` field; use this for SGD's ``momentum`` or
  Adam's ``b1`` alike, through ``optax.inject_hyperparams``:

  ``optax.inject_hyperparams(optax.adam)(learning_rate=lr, b1=adaptive_momentum(lr, peak))``

  Args:
    lr_schedule: the learning-rate schedule the momentum follows.
    reference_lr: the rate at which momentum reaches ``base_momentum``, > 0.
    max_momentum: momentum at zero learning rate, in [0, 1].
    base_momentum: the lowest momentum, in [0, max_momentum]. The old name
      ``min_momentum`` still works, with a ``DeprecationWarning``.

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
    raise ValueError(
      f"{fn}: lr_schedule={lr_schedule!r} must be a schedule (a callable of the step)"
    )
  c.check_real(fn, "reference_lr", reference_lr, low=0.0, low_open=True)
  c.check_real(fn, "max_momentum", max_momentum, low=0.0, high=1.0)
  c.check_real(fn, "base_momentum", base_momentum, low=0.0, high=1.0)
  c.check_order(fn, "base_momentum", base_momentum, "max_momentum", max_momentum)
  dtype = c.value_dtype(reference_lr, max_momentum, base_momentum)

  def schedule(count):
    ratio = lr_schedule(count).astype(dtype) / c.as_value(reference_lr, dtype)
    high, low = c.as_value(max_momentum, dtype), c.as_value(base_momentum, dtype)
    return jnp.clip(high - (high - low) * ratio, low, high)

  return schedule


def cooldown(
  schedule: optax.Schedule,
  start_step: int | ArrayLike,
  decay_steps: int | ArrayLike,
  decay_kind: str = "1-sqrt",
  end_value: ArrayLike = 0.0,
) -> optax.Schedule:
  """Follows ``schedule`` until ``start_step``, then decays from its value there.

  With ``v = s(S)``, the value ``schedule`` has at ``start_step = S``, and
  ``x = (t - S) / D``:

  .. math::
    \\eta_t = \\begin{cases}
      s(t) & t < S \\\\
      e + (v - e)\\, f(x) & S \\le t < S + D \\\\
      e & t \\ge S + D
    \\end{cases}

  with ``f`` = ``1 - x`` (linear), ``(1 + cos(pi x)) / 2`` (cosine),
  ``1 - sqrt(x)`` (1-sqrt) or ``1 - x^2`` (1-square), the decay shapes of
  :func:`warmup_stable_decay`. A run at a constant (or any) rate can so fork
  a cooldown from any checkpoint, without knowing its length in advance:
  ``cooldown(warmup_constant(p, W), S, D)`` is the WSD schedule of Hägele
  et al. with the decay starting at ``S``, and a continuous one for every
  ``S``.

  levanter and nanotron call this phase the cooldown; Hägele et al. find
  "1-sqrt" the best shape and a cooldown of 10-20% of the run enough to
  match a cosine schedule.

  Args:
    schedule: the schedule followed before ``start_step`` (any callable of the step).
    start_step: the first step of the cooldown, >= 0.
    decay_steps: length of the cooldown, >= 0 (0: ``end_value`` from ``start_step`` on).
    decay_kind: "linear", "cosine", "1-sqrt" or "1-square".
    end_value: the final rate, >= 0.

  Returns:
    An ``optax.Schedule``.

  Examples:
    >>> import jaxsched
    >>> sched = jaxsched.cooldown(jaxsched.constant(1.0), start_step=100, decay_steps=100)
    >>> float(sched(99)), float(sched(125)), float(sched(200))
    (1.0, 0.5, 0.0)

  References:
    Hägele et al., 2024: https://arxiv.org/abs/2405.18392
  """
  fn = "cooldown"
  if not callable(schedule):
    raise ValueError(f"{fn}: schedule={schedule!r} must be a schedule (a callable of the step)")
  c.check_steps(fn, "start_step", start_step)
  c.check_steps(fn, "decay_steps", decay_steps)
  c.check_choice(fn, "decay_kind", decay_kind, c.DECAY_KINDS)
  c.check_real(fn, "end_value", end_value, low=0.0)
  base_schedule = schedule

  def cooled(count):
    t = c.as_count(count)
    start, d = c.as_steps(start_step), c.as_steps(decay_steps)
    base = jnp.asarray(base_schedule(jnp.minimum(t, start)))  # s(t) before S, s(S) from S on
    dtype = jnp.result_type(c.value_dtype(end_value), base)
    base, end = base.astype(dtype), c.as_value(end_value, dtype)
    # t - start < d rather than t < start + d, which could overflow int32.
    f = c.decay_factor(decay_kind, c.fraction(t - start, d, dtype))
    decayed = jnp.where(t - start < d, c.mix(base, end, f), end)
    return c.finish(jnp.where(t < start, base, decayed))

  return cooled
