"""Multi-phase schedules of the delayed-generalization study (seed 000)."""

import jax.numpy as jnp
import optax
from jax.typing import ArrayLike

from jaxsched import _common as c


def _ramp(t, start, length, dtype):
  """``(t - start) / length`` in [0, 1] for a float ``start`` and ``length``."""
  safe = jnp.where(length > 0, length, 1.0)
  return jnp.clip((t.astype(dtype) - start) / safe, 0.0, 1.0)


def grokking(
  peak_value: ArrayLike,
  total_steps: int | ArrayLike,
  end_value: ArrayLike = 1e-6,
  warmup_fraction: ArrayLike = 0.1,
  decay_fraction: ArrayLike = 0.8,
) -> optax.Schedule:
  """Seed 000's three-phase grokking schedule: warmup, cosine, floor.

  With ``pi_t = t / T``, ``a`` = warmup fraction and ``b`` = decay fraction:

  .. math::
    \\eta_t = \\begin{cases}
      p \\, \\pi_t / a & \\pi_t < a \\\\
      e + (p - e) \\frac{1 + \\cos(\\pi (\\pi_t - a) / b)}{2} & a \\le \\pi_t < a + b \\\\
      e & \\text{otherwise}
    \\end{cases}

  Seed 000: ``GrokkingScheduler(optimizer, total_epochs)`` with its 10% linear
  warmup to 1e-3, 80% cosine to 1e-6 and 10% at 1e-6. Phase boundaries are the
  first integer steps with ``t / T >= a`` (and ``>= a + b``), as the seed's
  float comparison gives.

  Args:
    peak_value: the rate at the end of warmup, >= 0.
    total_steps: the run length ``T``, >= 1.
    end_value: the final rate, >= 0.
    warmup_fraction: ``a``, in [0, 1].
    decay_fraction: ``b``, in [0, 1], with ``a + b <= 1``.

  Returns:
    An ``optax.Schedule``.

  Examples:
    >>> import jaxsched
    >>> sched = jaxsched.grokking(1e-3, total_steps=10_000)
    >>> round(float(sched(500)), 7), round(float(sched(5000)), 7)
    (0.0005, 0.0005005)

  References:
    Power et al., 2022: https://arxiv.org/abs/2201.02177
  """
  fn = "grokking"
  c.check_real(fn, "peak_value", peak_value, low=0.0)
  c.check_steps(fn, "total_steps", total_steps, minimum=1)
  c.check_real(fn, "end_value", end_value, low=0.0)
  c.check_real(fn, "warmup_fraction", warmup_fraction, low=0.0, high=1.0)
  c.check_real(fn, "decay_fraction", decay_fraction, low=0.0, high=1.0)
  c.check_real(
    fn,
    "warmup_fraction + decay_fraction",
    c.concrete_sum(warmup_fraction, decay_fraction),
    low=0.0,
    high=1.0,
  )
  dtype = c.value_dtype(peak_value, end_value, warmup_fraction, decay_fraction)
  warmup_end = c.fraction_boundary(fn, warmup_fraction, total_steps)
  decay_end = c.fraction_boundary(fn, c.concrete_sum(warmup_fraction, decay_fraction), total_steps)

  def schedule(count):
    t = c.as_count(count)
    total = c.as_steps(total_steps).astype(dtype)
    a, b = c.as_value(warmup_fraction, dtype) * total, c.as_value(decay_fraction, dtype) * total
    peak, end = c.as_value(peak_value, dtype), c.as_value(end_value, dtype)
    rising = peak * _ramp(t, 0.0, a, dtype)
    falling = c.mix(peak, end, c.cosine_weight(_ramp(t, a, b, dtype)))
    return c.finish(jnp.where(t < warmup_end, rising, jnp.where(t < decay_end, falling, end)))

  return schedule


def bias_mitigation(
  total_steps: int | ArrayLike,
  high_value: ArrayLike = 1e-2,
  plateau_value: ArrayLike = 1e-3,
  end_value: ArrayLike = 1e-5,
  high_fraction: ArrayLike = 0.2,
  plateau_fraction: ArrayLike = 0.3,
) -> optax.Schedule:
  """Seed 000's simplicity-bias schedule: high, plateau, cosine fine-tune.

  With ``pi_t = t / T``, ``a`` = high fraction, ``b`` = plateau fraction:

  .. math::
    \\eta_t = \\begin{cases}
      h & \\pi_t < a \\\\
      q & a \\le \\pi_t < a + b \\\\
      e + (q - e) \\frac{1 + \\cos(\\pi (\\pi_t - a - b) / (1 - a - b))}{2} & \\text{otherwise}
    \\end{cases}

  Seed 000: ``BiasScheduler(optimizer, total_epochs)`` (20% at 1e-2, 30% at
  1e-3, 50% cosine from 1e-3 to 1e-5). The seed's cosine starts from its own
  ``start_lr``, equal to the plateau rate; here it is ``plateau_value``. Past
  ``T`` the seed's cosine climbs again; this holds ``end_value``.

  Args:
    total_steps: the run length ``T``, >= 1.
    high_value: the rate of the first phase, >= 0.
    plateau_value: the rate of the second phase and start of the cosine, >= 0.
    end_value: the final rate, >= 0.
    high_fraction: ``a``, in [0, 1].
    plateau_fraction: ``b``, in [0, 1], with ``a + b <= 1``.

  Returns:
    An ``optax.Schedule``.

  Examples:
    >>> import jaxsched
    >>> sched = jaxsched.bias_mitigation(total_steps=300)
    >>> [round(float(sched(t)), 6) for t in (59, 60, 150)]
    [0.01, 0.001, 0.001]
  """
  fn = "bias_mitigation"
  c.check_steps(fn, "total_steps", total_steps, minimum=1)
  c.check_real(fn, "high_value", high_value, low=0.0)
  c.check_real(fn, "plateau_value", plateau_value, low=0.0)
  c.check_real(fn, "end_value", end_value, low=0.0)
  c.check_real(fn, "high_fraction", high_fraction, low=0.0, high=1.0)
  c.check_real(fn, "plateau_fraction", plateau_fraction, low=0.0, high=1.0)
  both = c.concrete_sum(high_fraction, plateau_fraction)
  c.check_real(fn, "high_fraction + plateau_fraction", both, low=0.0, high=1.0)
  dtype = c.value_dtype(high_value, plateau_value, end_value, high_fraction, plateau_fraction)
  high_end = c.fraction_boundary(fn, high_fraction, total_steps)
  plateau_end = c.fraction_boundary(fn, both, total_steps)

  def schedule(count):
    t = c.as_count(count)
    total = c.as_steps(total_steps).astype(dtype)
    start = c.as_value(both, dtype) * total
    plateau, end = c.as_value(plateau_value, dtype), c.as_value(end_value, dtype)
    tail = c.mix(plateau, end, c.cosine_weight(_ramp(t, start, total - start, dtype)))
    return c.finish(
      jnp.where(
        t < high_end, c.as_value(high_value, dtype), jnp.where(t < plateau_end, plateau, tail)
      )
    )

  return schedule
