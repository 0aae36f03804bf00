"""Decay schedules: PyTorch's multiplicative and annealing schedulers."""

from typing import Optional, Sequence

import jax.numpy as jnp
import numpy as np
import optax
from jax.typing import ArrayLike

from jaxsched import _common as c


def constant(value: ArrayLike) -> optax.Schedule:
  """A constant learning rate.

  .. math:: \\eta_t = v

  Equivalent: a PyTorch optimizer with no scheduler; ``optax.constant_schedule``.

  Args:
    value: the learning rate, finite and >= 0.

  Returns:
    An ``optax.Schedule``.

  Examples:
    >>> import jaxsched
    >>> float(jaxsched.constant(3e-4)(10_000))
    0.0003...
  """
  c.check_real("constant", "value", value, low=0.0)
  dtype = c.value_dtype(value)

  def schedule(count):
    return c.finish(jnp.broadcast_to(c.as_value(value, dtype), c.as_count(count).shape))

  return schedule


def constant_factor(
  init_value: ArrayLike, factor: ArrayLike = 1 / 3, total_steps: int | ArrayLike = 5
) -> optax.Schedule:
  """``init_value * factor`` for the first ``total_steps`` steps, then ``init_value``.

  .. math:: \\eta_t = \\eta_0 \\cdot (f \\text{ if } t < T \\text{ else } 1)

  PyTorch: ``ConstantLR(optimizer, factor, total_iters=total_steps)``.

  Args:
    init_value: the base learning rate, >= 0.
    factor: multiplier in [0, 1] applied before ``total_steps``.
    total_steps: number of steps the factor applies, >= 0.

  Returns:
    An ``optax.Schedule``.

  Examples:
    >>> import jaxsched
    >>> [round(float(v), 4) for v in jaxsched.constant_factor(0.3, 0.5, 2)(jnp.arange(3))]
    [0.15, 0.15, 0.3]
  """
  fn = "constant_factor"
  c.check_real(fn, "init_value", init_value, low=0.0)
  c.check_real(fn, "factor", factor, low=0.0, high=1.0)
  c.check_steps(fn, "total_steps", total_steps)
  dtype = c.value_dtype(init_value, factor)

  def schedule(count):
    t = c.as_count(count)
    scale = jnp.where(t < c.as_steps(total_steps), c.as_value(factor, dtype), 1.0)
    return c.finish(c.as_value(init_value, dtype) * scale)

  return schedule


def linear_factor(
  init_value: ArrayLike,
  start_factor: ArrayLike = 1 / 3,
  end_factor: ArrayLike = 1.0,
  total_steps: int | ArrayLike = 5,
) -> optax.Schedule:
  """A linear change of a multiplicative factor over ``total_steps`` steps.

  .. math::
    \\eta_t = \\eta_0 \\left(s + (e - s) \\frac{\\min(t, T)}{T}\\right)

  PyTorch: ``LinearLR(optimizer, start_factor, end_factor, total_iters=total_steps)``.

  Args:
    init_value: the base learning rate, >= 0.
    start_factor: factor at step 0, in (0, 1] as in PyTorch.
    end_factor: factor from step ``total_steps`` on, in [0, 1].
    total_steps: length of the ramp, >= 0 (0 means ``end_factor`` throughout).

  Returns:
    An ``optax.Schedule``.

  Examples:
    >>> import jaxsched
    >>> float(jaxsched.linear_factor(1.0, 0.5, 1.0, 4)(2))
    0.75
  """
  fn = "linear_factor"
  c.check_real(fn, "init_value", init_value, low=0.0)
  c.check_real(fn, "start_factor", start_factor, low=0.0, high=1.0, low_open=True)
  c.check_real(fn, "end_factor", end_factor, low=0.0, high=1.0)
  c.check_steps(fn, "total_steps", total_steps)
  dtype = c.value_dtype(init_value, start_factor, end_factor)

  def schedule(count):
    t = c.as_count(count)
    n = c.as_steps(total_steps)
    p = jnp.where(n > 0, c.fraction(jnp.minimum(t, n), n, dtype), 1.0)
    s, e = c.as_value(start_factor, dtype), c.as_value(end_factor, dtype)
    return c.finish(c.as_value(init_value, dtype) * c.mix(s, e, 1.0 - p))

  return schedule


def step_decay(
  init_value: ArrayLike, step_size: int | ArrayLike, gamma: ArrayLike = 0.1
) -> optax.Schedule:
  """Multiplies the rate by ``gamma`` every ``step_size`` steps.

  .. math:: \\eta_t = \\eta_0 \\, \\gamma^{\\lfloor t / s \\rfloor}

  PyTorch: ``StepLR(optimizer, step_size, gamma)``. The floor is an integer
  division, exact at every step.

  Args:
    init_value: the base learning rate, >= 0.
    step_size: steps between decays, >= 1.
    gamma: decay factor in (0, 1].

  Returns:
    An ``optax.Schedule``.

  Examples:
    >>> import jaxsched
    >>> float(jaxsched.step_decay(1.0, step_size=10, gamma=0.5)(25))
    0.25
  """
  fn = "step_decay"
  c.check_real(fn, "init_value", init_value, low=0.0)
  c.check_steps(fn, "step_size", step_size, minimum=1)
  c.check_real(fn, "gamma", gamma, low=0.0, high=1.0, low_open=True)
  dtype = c.value_dtype(init_value, gamma)

  def schedule(count):
    k = c.as_count(count) // jnp.maximum(c.as_steps(step_size), 1)
    return c.finish(c.as_value(init_value, dtype) * c.as_value(gamma, dtype) ** k.astype(dtype))

  return schedule


def multistep_decay(
  init_value: ArrayLike, milestones: Sequence[int], gamma: ArrayLike = 0.1
) -> optax.Schedule:
  """Multiplies the rate by ``gamma`` at each milestone.

  .. math:: \\eta_t = \\eta_0 \\, \\gamma^{\\#\\{i : m_i \\le t\\}}

  PyTorch: ``MultiStepLR(optimizer, milestones, gamma)``; a milestone given twice
  decays twice, as there. The number of milestones is static; their values may
  be traced.

  Args:
    init_value: the base learning rate, >= 0.
    milestones: steps at which to decay, each >= 0, in any order.
    gamma: decay factor, > 0 (a factor above 1 grows the rate at each milestone).

  Returns:
    An ``optax.Schedule``.

  Examples:
    >>> import jaxsched
    >>> float(jaxsched.multistep_decay(1.0, [10, 20], gamma=0.5)(20))
    0.25
  """
  fn = "multistep_decay"
  c.check_real(fn, "init_value", init_value, low=0.0)
  if not c.is_traced(milestones) and np.ndim(milestones) != 1:
    raise ValueError(f"multistep_decay: milestones={milestones!r} must be a 1-D list of steps")
  c.check_steps(fn, "milestones", milestones)
  c.check_real(fn, "gamma", gamma, low=0.0, low_open=True)
  dtype = c.value_dtype(init_value, gamma)

  def schedule(count):
    t = c.as_count(count)
    marks = c.as_steps(milestones).reshape((1,) * t.ndim + (-1,))
    k = jnp.sum(t[..., None] >= marks, axis=-1)
    return c.finish(c.as_value(init_value, dtype) * c.as_value(gamma, dtype) ** k.astype(dtype))

  return schedule


def exponential_decay(
  init_value: ArrayLike,
  gamma: ArrayLike,
  transition_steps: int | ArrayLike = 1,
  staircase: bool = False,
  end_value: Optional[ArrayLike] = None,
) -> optax.Schedule:
  """Exponential decay, optionally in stairs and bounded by ``end_value``.

  .. math::
    \\eta_t = \\operatorname{clip}\\left(\\eta_0 \\, \\gamma^{t / k}, \\eta_{end}\\right)
    \\qquad (t / k \\text{ floored when staircase})

  PyTorch: ``ExponentialLR(optimizer, gamma)`` when ``transition_steps=1``;
  otherwise seed 004's ``base_lr * decay_rate ** (step / decay_steps)``, and
  ``optax.exponential_decay`` (whose ``decay_rate`` is our ``gamma``). The
  exponent ``t / k`` is formed from its integer and fractional parts, and
  ``gamma ** x`` is ``exp(x log gamma)`` with the logarithm of a concrete
  ``gamma`` taken in float64, so long runs stay accurate. ``end_value`` is a
  floor when ``gamma < 1`` and a ceiling when ``gamma > 1``.

  Args:
    init_value: the base learning rate, >= 0.
    gamma: factor per ``transition_steps`` steps, > 0. Above 1 the rate grows,
      so ``end_value`` is then required (the rate would otherwise overflow).
    transition_steps: steps per factor of ``gamma``, >= 1.
    staircase: decay in whole steps of ``transition_steps``.
    end_value: optional bound, >= 0.

  Returns:
    An ``optax.Schedule``.

  Examples:
    >>> import jaxsched
    >>> float(jaxsched.exponential_decay(1.0, gamma=0.5, transition_steps=10)(20))
    0.25
  """
  fn = "exponential_decay"
  c.check_real(fn, "init_value", init_value, low=0.0)
  c.check_real(fn, "gamma", gamma, low=0.0, low_open=True)
  c.check_steps(fn, "transition_steps", transition_steps, minimum=1)
  if end_value is not None:
    c.check_real(fn, "end_value", end_value, low=0.0)
  else:
    g = c.concrete(gamma)
    if g is not None and np.any(g > 1):
      raise ValueError(
        f"{fn}: gamma={g.item() if g.ndim == 0 else g} > 1 grows without bound; "
        "give end_value as the ceiling"
      )
  dtype = c.value_dtype(init_value, gamma, *(() if end_value is None else (end_value,)))

  def schedule(count):
    t = c.as_count(count)
    k = jnp.maximum(c.as_steps(transition_steps), 1)
    g = c.as_value(gamma, dtype)
    whole, part = t // k, t % k
    exponent = whole.astype(dtype)
    if not staircase:
      exponent = exponent + part.astype(dtype) / k.astype(dtype)
    init = c.as_value(init_value, dtype)
    # A growing rate overflows to inf before the clip: keep 0 * inf from making NaN.
    lr = jnp.where(init > 0, init * jnp.exp(exponent * c.log_of(gamma, dtype)), 0.0)
    if end_value is not None:
      end = c.as_value(end_value, dtype)
      lr = jnp.where(g < 1, jnp.maximum(lr, end), jnp.minimum(lr, end))
    return c.finish(lr)

  return schedule


def polynomial_decay(
  init_value: ArrayLike,
  total_steps: int | ArrayLike,
  power: ArrayLike = 1.0,
  end_value: ArrayLike = 0.0,
) -> optax.Schedule:
  """Polynomial decay from ``init_value`` to ``end_value`` over ``total_steps``.

  .. math::
    \\eta_t = (\\eta_0 - \\eta_{end}) \\left(1 - \\frac{\\min(t, T)}{T}\\right)^{p} + \\eta_{end}

  PyTorch: ``PolynomialLR(optimizer, total_iters=total_steps, power)`` for
  ``end_value=0``; ``optax.polynomial_schedule`` otherwise. The remaining
  fraction is formed from the integer ``T - min(t, T)``.

  Args:
    init_value: the base learning rate, >= 0.
    total_steps: length of the decay, >= 0 (0 means ``end_value`` throughout).
    power: exponent, > 0.
    end_value: value from ``total_steps`` on, >= 0.

  Returns:
    An ``optax.Schedule``.

  Examples:
    >>> import jaxsched
    >>> float(jaxsched.polynomial_decay(1.0, total_steps=10, power=2.0)(5))
    0.25
  """
  fn = "polynomial_decay"
  c.check_real(fn, "init_value", init_value, low=0.0)
  c.check_steps(fn, "total_steps", total_steps)
  c.check_real(fn, "power", power, low=0.0, low_open=True)
  c.check_real(fn, "end_value", end_value, low=0.0)
  dtype = c.value_dtype(init_value, power, end_value)

  def schedule(count):
    t = c.as_count(count)
    n = c.as_steps(total_steps)
    remaining = c.fraction(n - jnp.minimum(t, n), n, dtype)
    w = remaining ** c.as_value(power, dtype)
    return c.finish(c.mix(c.as_value(init_value, dtype), c.as_value(end_value, dtype), w))

  return schedule


def cosine_annealing(
  init_value: ArrayLike, t_max: int | ArrayLike, eta_min: ArrayLike = 0.0
) -> optax.Schedule:
  """Cosine annealing, periodic past ``t_max`` exactly as PyTorch's.

  .. math::
    \\eta_t = \\eta_{min} + (\\eta_0 - \\eta_{min}) \\frac{1 + \\cos(\\pi t / T_{max})}{2}

  PyTorch: ``CosineAnnealingLR(optimizer, T_max, eta_min)``. Its recursive
  form follows this closed form, which past ``t_max`` climbs back to
  ``init_value`` at ``2 t_max`` and so on; the phase ``t mod 2 t_max`` is taken
  in integers. For a decay that holds ``eta_min`` afterwards use
  :func:`warmup_cosine` with ``warmup_steps=0``.

  Args:
    init_value: the rate at step 0, >= 0.
    t_max: half-period in steps, >= 1.
    eta_min: the rate at ``t_max``, >= 0.

  Returns:
    An ``optax.Schedule``.

  Examples:
    >>> import jaxsched
    >>> round(float(jaxsched.cosine_annealing(1.0, t_max=10)(5)), 6)
    0.5
  """
  fn = "cosine_annealing"
  c.check_real(fn, "init_value", init_value, low=0.0)
  c.check_steps(fn, "t_max", t_max, minimum=1)
  c.check_real(fn, "eta_min", eta_min, low=0.0)
  dtype = c.value_dtype(init_value, eta_min)

  def schedule(count):
    t = c.as_count(count)
    n = jnp.maximum(c.as_steps(t_max), 1)
    # The phase in [0, 2 t_max); 2 t_max may not fit in int32, so fold twice.
    phase = t % n
    falling = (t // n) % 2 == 0
    p = c.fraction(jnp.where(falling, phase, n - phase), n, dtype)
    return c.finish(
      c.mix(c.as_value(init_value, dtype), c.as_value(eta_min, dtype), c.cosine_weight(p))
    )

  return schedule


def _restart_phase(t, t_0, t_mult):
  """Position ``t_cur`` and length ``t_i`` of the SGDR cycle holding step ``t``.

  With ``t_mult == 1`` this is ``t mod t_0``. Otherwise cycle lengths grow
  geometrically, so at most 31 cycles fit in int32; a static loop walks them
  with saturating integer arithmetic (no float logarithm as in PyTorch).
  """
  start = jnp.zeros_like(t)
  length = jnp.broadcast_to(t_0, t.shape)
  for _ in range(32):
    advance = (t - start) >= length
    start = jnp.where(advance, start + length, start)
    grown = jnp.where(length > c.INT32_MAX // jnp.maximum(t_mult, 1), c.INT32_MAX, length * t_mult)
    length = jnp.where(advance, grown, length)
  return jnp.where(t_mult == 1, t % t_0, t - start), jnp.where(t_mult == 1, t_0, length)


def cosine_warm_restarts(
  init_value: ArrayLike, t_0: int | ArrayLike, t_mult: ArrayLike = 1, eta_min: ArrayLike = 0.0
) -> optax.Schedule:
  """Cosine annealing with warm restarts (SGDR).

  .. math::
    \\eta_t = \\eta_{min} + (\\eta_0 - \\eta_{min}) \\frac{1 + \\cos(\\pi T_{cur} / T_i)}{2}

  where cycle ``i`` lasts ``T_i = t_0 * t_mult**i`` steps and ``T_cur`` counts
  the steps since its start.

  PyTorch: ``CosineAnnealingWarmRestarts(optimizer, T_0, T_mult, eta_min)``;
  ``optax.sgdr_schedule`` for ``t_mult=1``. Seed 000's class of the same name
  reads back the rate it has just overwritten as its base, so its cycles
  shrink; this follows PyTorch.

  Args:
    init_value: the rate at the start of every cycle, >= 0.
    t_0: length of the first cycle, >= 1.
    t_mult: integer growth factor of the cycle length, >= 1.
    eta_min: the floor, >= 0.

  Returns:
    An ``optax.Schedule``.

  Examples:
    >>> import jaxsched
    >>> float(jaxsched.cosine_warm_restarts(1.0, t_0=10)(10))
    1.0

  References:
    Loshchilov & Hutter, 2017: https://arxiv.org/abs/1608.03983
  """
  fn = "cosine_warm_restarts"
  c.check_real(fn, "init_value", init_value, low=0.0)
  c.check_steps(fn, "t_0", t_0, minimum=1)
  c.check_steps(fn, "t_mult", t_mult, minimum=1)
  c.check_real(fn, "eta_min", eta_min, low=0.0)
  dtype = c.value_dtype(init_value, eta_min)

  def schedule(count):
    t = c.as_count(count)
    t_cur, t_i = _restart_phase(
      t, jnp.maximum(c.as_steps(t_0), 1), jnp.maximum(c.as_steps(t_mult), 1)
    )
    p = c.fraction(t_cur, t_i, dtype)
    return c.finish(
      c.mix(c.as_value(init_value, dtype), c.as_value(eta_min, dtype), c.cosine_weight(p))
    )

  return schedule
