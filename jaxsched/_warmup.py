"""Warmup schedules and the warmup-then-decay schedules of transformers."""

from typing import Any, Optional

import jax.numpy as jnp
import numpy as np
import optax

from jaxsched import _common as c

DECAY_KINDS = ("linear", "cosine", "1-sqrt")


def _warmup_then(t, warmup_steps, kind, init_value, peak_value, exponent, dtype, after):
  """The warmup ramp for ``t < warmup_steps``, then ``after``."""
  r = c.fraction(jnp.minimum(t, warmup_steps), warmup_steps, dtype)
  ramp = c.warmup_ramp(kind, r, init_value, peak_value, exponent)
  return jnp.where(t < warmup_steps, ramp, after)


def _check_warmup_total(fn: str, warmup_steps: Any, total_steps: Any) -> None:
  c.check_steps(fn, "warmup_steps", warmup_steps)
  c.check_steps(fn, "total_steps", total_steps)
  c.check_order(fn, "warmup_steps", warmup_steps, "total_steps", total_steps)


def warmup(peak_value: Any, warmup_steps: Any, kind: str = "linear", init_value: Any = 0.0,
           exponent: Any = 2.0) -> optax.Schedule:
  """A warmup from ``init_value`` to ``peak_value``, then ``peak_value``.

  With ``r = t / warmup_steps``:

  .. math::
    \\eta_t = \\begin{cases}
      i + (p - i)\\, r & \\text{linear} \\\\
      i + (p - i)\\, (1 - \\cos \\pi r) / 2 & \\text{cosine} \\\\
      i \\, (p / i)^{r} & \\text{exponential} \\\\
      i + (p - i)\\, r^{e} & \\text{polynomial} \\\\
      i + (p - i)\\, (1 - \\sqrt{1 - r}) & \\text{1-sqrt}
    \\end{cases} \\quad (t < W), \\qquad \\eta_t = p \\quad (t \\ge W)

  Seeds 001 and 004: ``linear_warmup``, ``cosine_warmup``,
  ``exponential_warmup(base=b)`` (which is ``kind="exponential",
  init_value=peak/b``), seed 004's quadratic warmup (``kind="polynomial",
  exponent=2``); transformers' ``get_constant_schedule_with_warmup`` for
  linear from 0.

  Args:
    peak_value: the rate from ``warmup_steps`` on, >= 0.
    warmup_steps: length of the warmup, >= 0.
    kind: "linear", "cosine", "exponential", "polynomial" or "1-sqrt".
    init_value: the rate at step 0, >= 0 (> 0 for "exponential").
    exponent: the power of "polynomial", > 0.

  Returns:
    An ``optax.Schedule``.

  Examples:
    >>> import jaxsched
    >>> float(jaxsched.warmup(1.0, warmup_steps=4, kind="polynomial")(2))
    0.25
  """
  fn = "warmup"
  c.check_real(fn, "peak_value", peak_value, low=0.0)
  c.check_steps(fn, "warmup_steps", warmup_steps)
  c.check_real(fn, "init_value", init_value, low=0.0)
  c.check_warmup(fn, kind, init_value, peak_value, exponent)
  dtype = c.value_dtype(peak_value, init_value, exponent)

  def schedule(count):
    t = c.as_count(count)
    peak = c.as_value(peak_value, dtype)
    return c.finish(_warmup_then(t, c.as_steps(warmup_steps), kind, c.as_value(init_value, dtype),
                                 peak, c.as_value(exponent, dtype), dtype, peak))

  return schedule


def warmup_constant(peak_value: Any, warmup_steps: Any) -> optax.Schedule:
  """Linear warmup from 0, then constant.

  .. math:: \\eta_t = p \\min(1, t / W)

  transformers: ``get_constant_schedule_with_warmup(optimizer, num_warmup_steps)``.

  Args:
    peak_value: the rate after warmup, >= 0.
    warmup_steps: length of the warmup, >= 0.

  Returns:
    An ``optax.Schedule``.

  Examples:
    >>> import jaxsched
    >>> float(jaxsched.warmup_constant(1.0, warmup_steps=4)(1))
    0.25
  """
  c.check_real("warmup_constant", "peak_value", peak_value, low=0.0)
  c.check_steps("warmup_constant", "warmup_steps", warmup_steps)
  return warmup(peak_value, warmup_steps)


def warmup_linear(peak_value: Any, warmup_steps: Any, total_steps: Any,
                  end_value: Any = 0.0) -> optax.Schedule:
  """Linear warmup from 0, then linear decay to ``end_value`` at ``total_steps``.

  .. math::
    \\eta_t = \\begin{cases} p \\, t / W & t < W \\\\
    e + (p - e) \\max\\left(0, \\frac{T - t}{T - W}\\right) & t \\ge W \\end{cases}

  transformers: ``get_linear_schedule_with_warmup(optimizer, num_warmup_steps,
  num_training_steps)`` for ``end_value=0``. Holds ``end_value`` after ``T``.

  Args:
    peak_value: the rate at the end of warmup, >= 0.
    warmup_steps: length of the warmup, in [0, total_steps].
    total_steps: step at which ``end_value`` is reached, >= 0.
    end_value: the final rate, >= 0.

  Returns:
    An ``optax.Schedule``.

  Examples:
    >>> import jaxsched
    >>> float(jaxsched.warmup_linear(1.0, warmup_steps=2, total_steps=10)(6))
    0.5
  """
  fn = "warmup_linear"
  c.check_real(fn, "peak_value", peak_value, low=0.0)
  _check_warmup_total(fn, warmup_steps, total_steps)
  c.check_real(fn, "end_value", end_value, low=0.0)
  dtype = c.value_dtype(peak_value, end_value)

  def schedule(count):
    t = c.as_count(count)
    w, n = c.as_steps(warmup_steps), c.as_steps(total_steps)
    peak, end = c.as_value(peak_value, dtype), c.as_value(end_value, dtype)
    remaining = c.fraction(n - jnp.minimum(t, n), n - w, dtype)
    return c.finish(_warmup_then(t, w, "linear", 0.0, peak, 1.0, dtype,
                                 c.mix(peak, end, remaining)))

  return schedule


def warmup_cosine(peak_value: Any, warmup_steps: Any, total_steps: Any, end_value: Any = 0.0,
                  init_value: Any = 0.0, num_cycles: Any = 0.5,
                  warmup_kind: str = "linear") -> optax.Schedule:
  """Warmup to ``peak_value``, then cosine decay to ``end_value`` at ``total_steps``.

  .. math::
    \\eta_t = \\begin{cases} \\text{warmup}(t / W) & t < W \\\\
    e + (p - e) \\frac{1 + \\cos(2 \\pi c \\, \\pi_t)}{2} & W \\le t < T \\end{cases},
    \\qquad \\pi_t = \\frac{t - W}{T - W}

  transformers: ``get_cosine_schedule_with_warmup(optimizer, W, T, num_cycles)``
  (``end_value=0``) and ``get_cosine_with_min_lr_schedule_with_warmup(...,
  min_lr=end_value)``; ``optax.warmup_cosine_decay_schedule``. From ``T`` on it
  holds the value reached at ``T`` (``end_value`` for ``num_cycles=0.5``),
  where transformers keeps following the cosine. Seed 002's LLM ``get_lr``
  warms up with ``(t + 1) / W`` instead of ``t / W``: the same curve one step
  earlier during warmup, identical afterwards.

  Args:
    peak_value: the rate at the end of warmup, >= 0.
    warmup_steps: length of the warmup, in [0, total_steps].
    total_steps: end of the decay, >= 0.
    end_value: the final rate, >= 0.
    init_value: the rate at step 0, >= 0 (> 0 for an exponential warmup).
    num_cycles: number of cosine periods in the decay, >= 0 (0.5: one half-wave down).
    warmup_kind: any ``kind`` of :func:`warmup` (its polynomial uses exponent 2).

  Returns:
    An ``optax.Schedule``.

  Examples:
    >>> import jaxsched
    >>> sched = jaxsched.warmup_cosine(1.0, warmup_steps=10, total_steps=110)
    >>> round(float(sched(5)), 6), round(float(sched(60)), 6)
    (0.5, 0.5)
  """
  fn = "warmup_cosine"
  c.check_real(fn, "peak_value", peak_value, low=0.0)
  _check_warmup_total(fn, warmup_steps, total_steps)
  c.check_real(fn, "end_value", end_value, low=0.0)
  c.check_real(fn, "init_value", init_value, low=0.0)
  c.check_real(fn, "num_cycles", num_cycles, low=0.0)
  c.check_warmup(fn, warmup_kind, init_value, peak_value, 2.0, kind_name="warmup_kind")
  dtype = c.value_dtype(peak_value, end_value, init_value, num_cycles)

  def schedule(count):
    t = c.as_count(count)
    w, n = c.as_steps(warmup_steps), c.as_steps(total_steps)
    peak, end = c.as_value(peak_value, dtype), c.as_value(end_value, dtype)
    p = c.fraction(jnp.minimum(t, n) - w, n - w, dtype)
    decay = c.mix(peak, end, c.cosine_factor(p, num_cycles))
    return c.finish(_warmup_then(t, w, warmup_kind, c.as_value(init_value, dtype), peak, 2.0,
                                 dtype, decay))

  return schedule


def warmup_cosine_restarts(peak_value: Any, warmup_steps: Any, total_steps: Any,
                           num_cycles: Any = 1) -> optax.Schedule:
  """Linear warmup, then ``num_cycles`` hard-restarted cosine decays to 0.

  .. math::
    \\eta_t = p \\, \\frac{1 + \\cos(\\pi \\, ((c \\, \\pi_t) \\bmod 1))}{2}
    \\quad (W \\le t < T), \\qquad \\eta_t = 0 \\quad (t \\ge T)

  transformers: ``get_cosine_with_hard_restarts_schedule_with_warmup(optimizer,
  W, T, num_cycles)``. The phase ``(c (t - W)) mod (T - W)`` is computed
  exactly in integers at every step.

  Args:
    peak_value: the rate at the start of each cycle, >= 0.
    warmup_steps: length of the warmup, in [0, total_steps].
    total_steps: end of the last cycle, >= 0.
    num_cycles: integer number of cycles, >= 1.

  Returns:
    An ``optax.Schedule``.

  Examples:
    >>> import jaxsched
    >>> float(jaxsched.warmup_cosine_restarts(1.0, 0, 100, num_cycles=2)(50))
    1.0
  """
  fn = "warmup_cosine_restarts"
  c.check_real(fn, "peak_value", peak_value, low=0.0)
  _check_warmup_total(fn, warmup_steps, total_steps)
  c.check_steps(fn, "num_cycles", num_cycles, minimum=1, noun="cycles")
  dtype = c.value_dtype(peak_value)

  def schedule(count):
    t = c.as_count(count)
    w, n = c.as_steps(warmup_steps), c.as_steps(total_steps)
    cycles = jnp.maximum(c.as_steps(num_cycles), 1)
    span = jnp.maximum(n - w, 1)
    r = jnp.clip(t - w, 0, span - 1)
    phase = c.mulmod(r, cycles, span).astype(dtype) / span.astype(dtype)
    peak = c.as_value(peak_value, dtype)
    decay = jnp.where(t < n, peak * c.cosine_weight(phase), 0.0)
    return c.finish(_warmup_then(t, w, "linear", 0.0, peak, 1.0, dtype, decay))

  return schedule


def warmup_polynomial(peak_value: Any, warmup_steps: Any, total_steps: Any, end_value: Any = 1e-7,
                      power: Any = 1.0) -> optax.Schedule:
  """Linear warmup from 0, then polynomial decay to ``end_value``.

  .. math::
    \\eta_t = e + (p - e) \\left(1 - \\frac{t - W}{T - W}\\right)^{k} \\quad (W \\le t \\le T),
    \\qquad \\eta_t = e \\quad (t > T)

  transformers: ``get_polynomial_decay_schedule_with_warmup(optimizer, W, T,
  lr_end=end_value, power)`` with the optimizer's rate as ``peak_value``.

  Args:
    peak_value: the rate at the end of warmup, > ``end_value``.
    warmup_steps: length of the warmup, in [0, total_steps].
    total_steps: end of the decay, >= 0.
    end_value: the final rate, >= 0 and < ``peak_value`` (as transformers requires).
    power: exponent of the decay, > 0.

  Returns:
    An ``optax.Schedule``.

  Examples:
    >>> import jaxsched
    >>> float(jaxsched.warmup_polynomial(1.0, 0, 10, end_value=0.0, power=2.0)(5))
    0.25
  """
  fn = "warmup_polynomial"
  c.check_real(fn, "peak_value", peak_value, low=0.0)
  _check_warmup_total(fn, warmup_steps, total_steps)
  c.check_real(fn, "end_value", end_value, low=0.0)
  c.check_order(fn, "end_value", end_value, "peak_value", peak_value, strict=True)
  c.check_real(fn, "power", power, low=0.0, low_open=True)
  dtype = c.value_dtype(peak_value, end_value, power)

  def schedule(count):
    t = c.as_count(count)
    w, n = c.as_steps(warmup_steps), c.as_steps(total_steps)
    peak, end = c.as_value(peak_value, dtype), c.as_value(end_value, dtype)
    remaining = c.fraction(n - jnp.minimum(t, n), n - w, dtype)
    decay = c.mix(peak, end, remaining ** c.as_value(power, dtype))
    return c.finish(_warmup_then(t, w, "linear", 0.0, peak, 1.0, dtype, decay))

  return schedule


def inverse_sqrt(peak_value: Any, warmup_steps: Any, timescale: Optional[Any] = None) -> optax.Schedule:
  """Linear warmup from 0, then decay with the inverse square root of the step.

  .. math::
    \\eta_t = \\frac{p}{\\sqrt{1 + (t - W) / \\tau}} \\quad (t \\ge W)

  transformers: ``get_inverse_sqrt_schedule(optimizer, num_warmup_steps,
  timescale)``, whose ``(t + tau - W) / tau`` is the same quantity.

  Args:
    peak_value: the rate at the end of warmup, >= 0.
    warmup_steps: length of the warmup, >= 0.
    timescale: decay time scale ``tau``, >= 1; defaults to ``warmup_steps`` or
      10,000 when that is 0, as in transformers.

  Returns:
    An ``optax.Schedule``.

  Examples:
    >>> import jaxsched
    >>> float(jaxsched.inverse_sqrt(1.0, warmup_steps=100)(400))
    0.5
  """
  fn = "inverse_sqrt"
  c.check_real(fn, "peak_value", peak_value, low=0.0)
  c.check_steps(fn, "warmup_steps", warmup_steps)
  if timescale is not None:
    c.check_steps(fn, "timescale", timescale, minimum=1)
  dtype = c.value_dtype(peak_value)

  def schedule(count):
    t = c.as_count(count)
    w = c.as_steps(warmup_steps)
    tau = jnp.where(w > 0, w, 10_000) if timescale is None else c.as_steps(timescale)
    tau = jnp.maximum(tau, 1).astype(dtype)
    peak = c.as_value(peak_value, dtype)
    decay = peak * jnp.reciprocal(jnp.sqrt(1.0 + jnp.maximum(t - w, 0).astype(dtype) / tau))
    return c.finish(_warmup_then(t, w, "linear", 0.0, peak, 1.0, dtype, decay))

  return schedule


def noam(d_model: Any, warmup_steps: Any, scale: Any = 1.0) -> optax.Schedule:
  """The Transformer schedule of Vaswani et al.

  .. math::
    \\eta_t = s \\, d^{-1/2} \\min(n^{-1/2}, \\; n \\, W^{-3/2}), \\qquad n = t + 1

  Step offset: the paper counts steps from 1, so update ``t`` (Optax's count,
  from 0) uses ``n = t + 1``; the peak ``s / sqrt(d W)`` is at ``t = W - 1``.
  (Implementations that evaluate at ``n = t`` need a special case for 0.)

  Args:
    d_model: model width, > 0.
    warmup_steps: steps to the peak, >= 1.
    scale: overall factor, >= 0.

  Returns:
    An ``optax.Schedule``.

  Examples:
    >>> import jaxsched
    >>> round(float(jaxsched.noam(512, warmup_steps=4000)(3999)), 8)
    0.00069877

  References:
    Vaswani et al., 2017: https://arxiv.org/abs/1706.03762
  """
  fn = "noam"
  c.check_real(fn, "d_model", d_model, low=0.0, low_open=True)
  c.check_steps(fn, "warmup_steps", warmup_steps, minimum=1)
  c.check_real(fn, "scale", scale, low=0.0)
  dtype = c.value_dtype(d_model, scale)

  def schedule(count):
    n = c.as_count(count).astype(dtype) + 1.0
    w = jnp.maximum(c.as_steps(warmup_steps), 1).astype(dtype)
    factor = c.as_value(scale, dtype) * jnp.reciprocal(jnp.sqrt(c.as_value(d_model, dtype)))
    return c.finish(factor * jnp.minimum(jnp.reciprocal(jnp.sqrt(n)), n / (w * jnp.sqrt(w))))

  return schedule


def warmup_stable_decay(peak_value: Any, warmup_steps: Any, decay_steps: Any,
                        stable_steps: Optional[Any] = None, total_steps: Optional[Any] = None,
                        warmup_kind: str = "linear", decay_kind: str = "cosine",
                        min_lr_ratio: Any = 0.0, num_cycles: Any = 0.5) -> optax.Schedule:
  """Warmup, a stable plateau at ``peak_value``, then a decay (WSD).

  With ``m = min_lr_ratio``, ``S`` stable and ``D`` decay steps:

  .. math::
    \\eta_t = p \\begin{cases}
      m + (1 - m)\\, \\text{warmup}(t / W) & t < W \\\\
      1 & W \\le t < W + S \\\\
      m + (1 - m)\\, f((t - W - S) / D) & W + S \\le t < W + S + D \\\\
      m & \\text{after}
    \\end{cases}

  with ``f`` = ``1 - x`` (linear), ``(1 + cos(2 pi c x)) / 2`` (cosine) or
  ``1 - sqrt(x)`` (1-sqrt).

  transformers: ``get_wsd_schedule(optimizer, num_warmup_steps,
  num_decay_steps, num_training_steps, num_stable_steps, warmup_type,
  decay_type, min_lr_ratio, num_cycles)``, value for value.

  Args:
    peak_value: the plateau rate, >= 0.
    warmup_steps: length of the warmup, >= 0.
    decay_steps: length of the decay, >= 0.
    stable_steps: length of the plateau, >= 0. Give this or ``total_steps``.
    total_steps: whole length; the plateau is ``total - warmup - decay`` >= 0.
    warmup_kind: any ``kind`` of :func:`warmup`, starting from ``m * peak``
      (its polynomial uses exponent 2); transformers has linear, cosine, 1-sqrt.
    decay_kind: "linear", "cosine" or "1-sqrt".
    min_lr_ratio: floor as a fraction of the peak, in [0, 1].
    num_cycles: cosine periods of the decay, >= 0 (0.5: one half-wave down).

  Returns:
    An ``optax.Schedule``.

  Examples:
    >>> import jaxsched
    >>> sched = jaxsched.warmup_stable_decay(1.0, 10, 10, total_steps=100, decay_kind="linear")
    >>> float(sched(50)), float(sched(95))
    (1.0, 0.5)

  References:
    Hu et al., 2024 (MiniCPM): https://arxiv.org/abs/2404.06395
  """
  fn = "warmup_stable_decay"
  c.check_real(fn, "peak_value", peak_value, low=0.0)
  c.check_steps(fn, "warmup_steps", warmup_steps)
  c.check_steps(fn, "decay_steps", decay_steps)
  if stable_steps is None and total_steps is None:
    raise ValueError(f"{fn}: give stable_steps or total_steps (both are None)")
  if total_steps is not None:
    c.check_steps(fn, "total_steps", total_steps)
    if not c.is_traced((warmup_steps, decay_steps)):
      used = np.add(warmup_steps, decay_steps, dtype=np.int64)
      c.check_order(fn, "warmup_steps + decay_steps", used, "total_steps", total_steps)
    derived = c.as_steps(total_steps) - c.as_steps(warmup_steps) - c.as_steps(decay_steps)
    if stable_steps is not None:
      c.check_steps(fn, "stable_steps", stable_steps)
      given, implied = c.concrete(stable_steps), c.concrete(derived)
      if given is not None and implied is not None and given != implied:
        raise ValueError(f"{fn}: stable_steps={given} disagrees with total_steps - warmup_steps"
                         f" - decay_steps={implied}; give one of them")
    stable = derived
  else:
    c.check_steps(fn, "stable_steps", stable_steps)
    stable = stable_steps
  c.check_warmup(fn, warmup_kind, min_lr_ratio, peak_value, 2.0, kind_name="warmup_kind",
                 init_name="min_lr_ratio")
  c.check_choice(fn, "decay_kind", decay_kind, DECAY_KINDS)
  c.check_real(fn, "min_lr_ratio", min_lr_ratio, low=0.0, high=1.0)
  c.check_real(fn, "num_cycles", num_cycles, low=0.0)
  dtype = c.value_dtype(peak_value, min_lr_ratio, num_cycles)

  def schedule(count):
    t = c.as_count(count)
    w, s, d = c.as_steps(warmup_steps), c.as_steps(stable), c.as_steps(decay_steps)
    peak = c.as_value(peak_value, dtype)
    floor = peak * c.as_value(min_lr_ratio, dtype)
    x = c.fraction(t - w - s, d, dtype)
    if decay_kind == "linear":
      f = 1.0 - x
    elif decay_kind == "cosine":
      f = c.cosine_factor(x, num_cycles)
    else:
      f = 1.0 - jnp.sqrt(x)
    decayed = jnp.where(t < w + s + d, c.mix(peak, floor, f), floor)
    after = jnp.where(t < w + s, peak, decayed)
    return c.finish(_warmup_then(t, w, warmup_kind, floor, peak, 2.0, dtype, after))

  return schedule
