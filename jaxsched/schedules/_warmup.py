"""Warmup schedules and the warmup-then-decay schedules of transformers."""

from typing import Any, cast, Optional, Sequence, SupportsInt, Union

import jax.numpy as jnp
import numpy as np
import optax
from jax.typing import ArrayLike

from jaxsched import _common as c

UNTUNED_WARMUP_KINDS = ("linear", "exponential")


def _check_warmup_total(fn: str, warmup_steps: Any, total_steps: Any) -> None:
  c.check_steps(fn, "warmup_steps", warmup_steps)
  c.check_steps(fn, "total_steps", total_steps)
  c.check_order(fn, "warmup_steps", warmup_steps, "total_steps", total_steps)


@c.renamed_keywords(kind="warmup_kind")
def warmup(
  peak_value: ArrayLike,
  warmup_steps: int | ArrayLike,
  warmup_kind: str = "linear",
  init_value: ArrayLike = 0.0,
  exponent: ArrayLike = 2.0,
) -> optax.Schedule:
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
  ``exponential_warmup(base=b)`` (which is ``warmup_kind="exponential",
  init_value=peak/b``), seed 004's quadratic warmup
  (``warmup_kind="polynomial", exponent=2``); transformers'
  ``get_constant_schedule_with_warmup`` for linear from 0. Step 0 gives
  ``init_value`` (0 by default).

  Args:
    peak_value: the rate from ``warmup_steps`` on, >= 0.
    warmup_steps: length of the warmup, >= 0.
    warmup_kind: "linear", "cosine", "exponential", "polynomial" or "1-sqrt".
      The old name ``kind`` still works, with a ``DeprecationWarning``.
    init_value: the rate at step 0, >= 0 (> 0 for "exponential").
    exponent: the power of "polynomial", > 0.

  Returns:
    An ``optax.Schedule``.

  Examples:
    >>> import jaxsched
    >>> float(jaxsched.warmup(1.0, warmup_steps=4, warmup_kind="polynomial")(2))
    0.25
  """
  fn = "warmup"
  c.check_real(fn, "peak_value", peak_value, low=0.0)
  c.check_steps(fn, "warmup_steps", warmup_steps)
  c.check_real(fn, "init_value", init_value, low=0.0)
  c.check_warmup(fn, warmup_kind, init_value, peak_value, exponent)
  dtype = c.value_dtype(peak_value, init_value, exponent)

  def schedule(count):
    t = c.as_count(count)
    peak = c.as_value(peak_value, dtype)
    return c.finish(
      c.warmup_then(
        t,
        c.as_steps(warmup_steps),
        warmup_kind,
        c.as_value(init_value, dtype),
        peak,
        c.as_value(exponent, dtype),
        dtype,
        peak,
      )
    )

  return schedule


def warmup_constant(peak_value: ArrayLike, warmup_steps: int | ArrayLike) -> optax.Schedule:
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


def warmup_linear(
  peak_value: ArrayLike,
  warmup_steps: int | ArrayLike,
  total_steps: int | ArrayLike,
  end_value: ArrayLike = 0.0,
  init_value: ArrayLike = 0.0,
  hold_after_end: bool = True,
) -> optax.Schedule:
  """Linear warmup, then linear decay to ``end_value`` at ``total_steps``.

  .. math::
    \\eta_t = \\begin{cases} i + (p - i) \\, t / W & t < W \\\\
    e + (p - e) \\frac{T - t}{T - W} & W \\le t \\le T \\end{cases}

  After ``T`` it holds ``end_value``, or with ``hold_after_end=False`` the line
  goes on below it (floored at 0).

  transformers: ``get_linear_schedule_with_warmup(optimizer, num_warmup_steps,
  num_training_steps)`` for ``end_value=0`` (either way past ``T``).
  pytorch_optimizer: ``LinearScheduler(optimizer, t_max=T, max_lr=p,
  min_lr=e, init_lr=i, warmup_steps=W)`` with ``hold_after_end=False``: its
  ``n``-th ``step()`` call returns this schedule's value at ``n`` (the object
  itself holds ``min_lr`` before its first call, see :func:`from_torch`); past
  ``t_max`` its line goes negative, where this stops at 0.

  Args:
    peak_value: the rate at the end of warmup, >= 0.
    warmup_steps: length of the warmup, in [0, total_steps].
    total_steps: step at which ``end_value`` is reached, >= 0.
    end_value: the final rate, >= 0.
    init_value: the rate at step 0, >= 0.
    hold_after_end: True: ``end_value`` from ``total_steps`` on; False: the
      line continues (``T - W`` counts as 1 when it is 0), floored at 0.

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
  c.check_real(fn, "init_value", init_value, low=0.0)
  c.check_bool(fn, "hold_after_end", hold_after_end)
  dtype = c.value_dtype(peak_value, end_value, init_value)

  def schedule(count):
    t = c.as_count(count)
    w, n = c.as_steps(warmup_steps), c.as_steps(total_steps)
    peak, end = c.as_value(peak_value, dtype), c.as_value(end_value, dtype)
    if hold_after_end:
      remaining = c.fraction(n - jnp.minimum(t, n), n - w, dtype)
    else:  # n - t >= -(2**31 - 1): no int32 overflow
      remaining = (n - t).astype(dtype) / jnp.maximum(n - w, 1).astype(dtype)
    init = c.as_value(init_value, dtype)
    return c.finish(
      c.warmup_then(t, w, "linear", init, peak, 1.0, dtype, c.mix(peak, end, remaining))
    )

  return schedule


def _periodic_cosine_factor(elapsed, span, num_cycles, dtype):
  """``(1 + cos(2 pi c e / max(span, 1))) / 2`` for every ``elapsed = e >= 0``, past the span too.

  ``e = k max(span, 1) + r`` is split in int32 first. For ``c = 0.5`` the value
  is ``cos^2`` of the fraction ``r / span`` on even ``k`` and its mirror on odd
  ``k``: exact at every step. Otherwise the phase is ``frac(c k) + c r / span``.
  """
  den = jnp.maximum(span, 1)
  k, r = elapsed // den, elapsed % den
  f = r.astype(dtype) / den.astype(dtype)
  g = (den - r).astype(dtype) / den.astype(dtype)  # 1 - f, formed exactly
  cycles = c.concrete(num_cycles)
  if cycles is not None and cycles.ndim == 0 and float(cycles) == 0.5:
    return jnp.where(k % 2 == 0, c.cosine_weight(f, g), c.cosine_weight(g, f))
  nc = c.as_value(num_cycles, dtype)
  turns = nc * k.astype(dtype)
  return c.cosine_cycles_weight(turns - jnp.floor(turns) + nc * f, jnp.ones((), dtype))


def warmup_cosine(
  peak_value: ArrayLike,
  warmup_steps: int | ArrayLike,
  total_steps: int | ArrayLike,
  end_value: ArrayLike = 0.0,
  init_value: ArrayLike = 0.0,
  num_cycles: ArrayLike = 0.5,
  warmup_kind: str = "linear",
  hold_after_end: bool = True,
) -> optax.Schedule:
  """Warmup to ``peak_value``, then cosine decay to ``end_value`` at ``total_steps``.

  .. math::
    \\eta_t = \\begin{cases} \\text{warmup}(t / W) & t < W \\\\
    e + (p - e) \\frac{1 + \\cos(2 \\pi c \\, \\pi_t)}{2} & W \\le t < T \\end{cases},
    \\qquad \\pi_t = \\frac{t - W}{T - W}

  transformers: ``get_cosine_schedule_with_warmup(optimizer, W, T, num_cycles)``
  (``end_value=0``) and ``get_cosine_with_min_lr_schedule_with_warmup(...,
  min_lr=end_value)``, with ``hold_after_end=False``: transformers keeps
  following the cosine after ``T`` (back up to the peak at ``2T - W`` for
  ``num_cycles=0.5``) and divides by ``max(T - W, 1)``.
  pytorch_optimizer: ``CosineScheduler(optimizer, t_max=T, max_lr=p,
  min_lr=e, init_lr=i, warmup_steps=W)``, also with ``hold_after_end=False``
  (its ``n``-th ``step()`` call returns the value at ``n``; see
  :func:`from_torch` for the rate the object holds). With
  ``hold_after_end=True`` (the default, as ``optax.warmup_cosine_decay_schedule``)
  it holds the value reached at ``T`` (``end_value`` for ``num_cycles=0.5``).
  Seed 002's LLM ``get_lr`` warms up with ``(t + 1) / W`` instead of ``t / W``:
  the same curve one step earlier during warmup, identical afterwards.

  Args:
    peak_value: the rate at the end of warmup, >= 0.
    warmup_steps: length of the warmup, in [0, total_steps].
    total_steps: end of the decay, >= 0.
    end_value: the final rate, >= 0.
    init_value: the rate at step 0, >= 0 (> 0 for an exponential warmup).
    num_cycles: number of cosine periods in the decay, >= 0 (0.5: one half-wave down).
    warmup_kind: any ``warmup_kind`` of :func:`warmup` (its polynomial uses exponent 2).
    hold_after_end: True: the value at ``total_steps`` from then on; False:
      the cosine goes on (exactly, at every step, for ``num_cycles=0.5``).

  Returns:
    An ``optax.Schedule``.

  Examples:
    >>> import jaxsched
    >>> sched = jaxsched.warmup_cosine(1.0, warmup_steps=10, total_steps=110)
    >>> round(float(sched(5)), 6), round(float(sched(60)), 6)
    (0.5, 0.5)
    >>> follow = jaxsched.warmup_cosine(1.0, 10, 110, hold_after_end=False)
    >>> float(sched(210)), float(follow(210))
    (0.0, 1.0)
  """
  fn = "warmup_cosine"
  c.check_real(fn, "peak_value", peak_value, low=0.0)
  _check_warmup_total(fn, warmup_steps, total_steps)
  c.check_real(fn, "end_value", end_value, low=0.0)
  c.check_real(fn, "init_value", init_value, low=0.0)
  c.check_real(fn, "num_cycles", num_cycles, low=0.0)
  c.check_warmup(fn, warmup_kind, init_value, peak_value, 2.0)
  c.check_bool(fn, "hold_after_end", hold_after_end)
  dtype = c.value_dtype(peak_value, end_value, init_value, num_cycles)

  def schedule(count):
    t = c.as_count(count)
    w, n = c.as_steps(warmup_steps), c.as_steps(total_steps)
    peak, end = c.as_value(peak_value, dtype), c.as_value(end_value, dtype)
    if hold_after_end:
      weight = c.cosine_factor(c.fraction(jnp.minimum(t, n) - w, n - w, dtype), num_cycles)
    else:
      weight = _periodic_cosine_factor(jnp.maximum(t - w, 0), n - w, num_cycles, dtype)
    return c.finish(
      c.warmup_then(
        t, w, warmup_kind, c.as_value(init_value, dtype), peak, 2.0, dtype, c.mix(peak, end, weight)
      )
    )

  return schedule


def warmup_cosine_restarts(
  peak_value: ArrayLike,
  warmup_steps: int | ArrayLike,
  total_steps: int | ArrayLike,
  num_cycles: ArrayLike = 1,
) -> optax.Schedule:
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
    return c.finish(c.warmup_then(t, w, "linear", 0.0, peak, 1.0, dtype, decay))

  return schedule


def warmup_polynomial(
  peak_value: ArrayLike,
  warmup_steps: int | ArrayLike,
  total_steps: int | ArrayLike,
  end_value: ArrayLike = 1e-7,
  power: ArrayLike = 1.0,
) -> optax.Schedule:
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
    return c.finish(c.warmup_then(t, w, "linear", 0.0, peak, 1.0, dtype, decay))

  return schedule


def inverse_sqrt(
  peak_value: ArrayLike, warmup_steps: int | ArrayLike, timescale: Optional[int | ArrayLike] = None
) -> optax.Schedule:
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
    return c.finish(c.warmup_then(t, w, "linear", 0.0, peak, 1.0, dtype, decay))

  return schedule


def noam(
  d_model: ArrayLike, warmup_steps: int | ArrayLike, scale: ArrayLike = 1.0
) -> optax.Schedule:
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


def warmup_stable_decay(
  peak_value: ArrayLike,
  warmup_steps: int | ArrayLike,
  decay_steps: int | ArrayLike,
  stable_steps: Optional[int | ArrayLike] = None,
  total_steps: Optional[int | ArrayLike] = None,
  warmup_kind: str = "linear",
  decay_kind: str = "cosine",
  min_lr_ratio: ArrayLike = 0.0,
  num_cycles: ArrayLike = 0.5,
) -> optax.Schedule:
  """Warmup, a stable plateau at ``peak_value``, then a decay (WSD).

  With ``m = min_lr_ratio``, ``S`` stable and ``D`` decay steps:

  .. math::
    \\eta_t = p \\begin{cases}
      m + (1 - m)\\, \\text{warmup}(t / W) & t < W \\\\
      1 & W \\le t < W + S \\\\
      m + (1 - m)\\, f((t - W - S) / D) & W + S \\le t < W + S + D \\\\
      m & \\text{after}
    \\end{cases}

  with ``f`` = ``1 - x`` (linear), ``(1 + cos(2 pi c x)) / 2`` (cosine),
  ``1 - sqrt(x)`` (1-sqrt) or ``1 - x^2`` (1-square; transformers has the first three).

  transformers: ``get_wsd_schedule(optimizer, num_warmup_steps,
  num_decay_steps, num_training_steps, num_stable_steps, warmup_type,
  decay_type, min_lr_ratio, num_cycles)``, value for value.

  Args:
    peak_value: the plateau rate, >= 0.
    warmup_steps: length of the warmup, >= 0.
    decay_steps: length of the decay, >= 0.
    stable_steps: length of the plateau, >= 0. Give this or ``total_steps``.
    total_steps: whole length; the plateau is ``total - warmup - decay`` >= 0.
    warmup_kind: any ``warmup_kind`` of :func:`warmup`, starting from ``m * peak``
      (its polynomial uses exponent 2); transformers has linear, cosine, 1-sqrt.
    decay_kind: "linear", "cosine", "1-sqrt" or "1-square".
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
        raise ValueError(
          f"{fn}: stable_steps={given} disagrees with total_steps - warmup_steps"
          f" - decay_steps={implied}; give one of them"
        )
    stable: int | ArrayLike = derived
  else:
    assert stable_steps is not None  # both None was rejected above
    c.check_steps(fn, "stable_steps", stable_steps)
    stable = stable_steps
  _check_wsd_shape(fn, peak_value, warmup_kind, decay_kind, min_lr_ratio)
  c.check_real(fn, "num_cycles", num_cycles, low=0.0)
  dtype = c.value_dtype(peak_value, min_lr_ratio, num_cycles)

  def schedule(count):
    t = c.as_count(count)
    peak = c.as_value(peak_value, dtype)
    floor = peak * c.as_value(min_lr_ratio, dtype)
    return c.finish(
      _wsd_cycle(
        t,
        c.as_steps(warmup_steps),
        c.as_steps(stable),
        c.as_steps(decay_steps),
        floor,
        peak,
        floor,
        warmup_kind,
        decay_kind,
        num_cycles,
        dtype,
      )
    )

  return schedule


def _check_wsd_shape(
  fn: str, peak_value: Any, warmup_kind: str, decay_kind: str, min_lr_ratio: Any
) -> None:
  c.check_real(fn, "peak_value", peak_value, low=0.0)
  c.check_warmup(fn, warmup_kind, min_lr_ratio, peak_value, 2.0, init_name="min_lr_ratio")
  c.check_choice(fn, "decay_kind", decay_kind, c.DECAY_KINDS)
  c.check_real(fn, "min_lr_ratio", min_lr_ratio, low=0.0, high=1.0)


def _wsd_cycle(t, w, s, d, start, peak, floor, warmup_kind, decay_kind, num_cycles, dtype):
  """One warmup-stable-decay cycle at its own step ``t``: ``start``, ``peak``, ``floor``."""
  f = c.decay_factor(decay_kind, c.fraction(t - w - s, d, dtype), num_cycles)
  decayed = jnp.where(t < w + s + d, c.mix(peak, floor, f), floor)
  after = jnp.where(t < w + s, peak, decayed)
  return c.warmup_then(t, w, warmup_kind, start, peak, 2.0, dtype, after)


def _check_cycles(fn: str, cycles: Any, total_steps: Any) -> None:
  """Validates ``cycles``: a static number of cycles, or the steps where cycles 1, 2, ... begin."""
  if isinstance(cycles, (int, np.integer)) and not isinstance(cycles, bool):
    if cycles < 1:
      raise ValueError(
        f"{fn}: cycles={cycles} must be >= 1 (a number of cycles) or a list of steps"
      )
    return
  bad = (
    f"{fn}: cycles={cycles!r} must be an int (a number of cycles) or a 1-D list of the "
    "steps at which a new cycle begins"
  )
  if c.is_traced(cycles):
    if jnp.ndim(jnp.asarray(cycles)) != 1:
      raise ValueError(bad)
    return
  try:
    marks = np.asarray(cycles)
  except ValueError:  # a ragged nested list
    raise ValueError(bad) from None
  if marks.ndim != 1 or marks.dtype == bool or not np.issubdtype(marks.dtype, np.number):
    raise ValueError(bad)
  if marks.size:
    c.check_steps(fn, "cycles", marks, minimum=1)
    if np.any(np.diff(marks) <= 0):
      raise ValueError(f"{fn}: cycles={marks.tolist()} must be strictly increasing")
    c.check_order(fn, "cycles", marks[-1], "total_steps", total_steps, strict=True)


def _cycle_bounds(cycles: Any, total_steps: Any) -> jnp.ndarray:
  """``[0, b_1, ..., b_{K-1}, T]`` as int32: where each cycle begins, then the end."""
  total = c.as_steps(total_steps).reshape(1)
  if isinstance(cycles, (int, np.integer)):
    k = jnp.arange(1, int(cycles), dtype=jnp.int32)
    starts = (total // cycles) * k + ((total % cycles) * k) // cycles  # floor(T k / K), no overflow
  else:
    starts = c.as_steps(cycles).reshape(-1)
  return jnp.concatenate([jnp.zeros(1, jnp.int32), starts, total])


def warmup_stable_decay_cycles(
  peak_value: ArrayLike,
  warmup_steps: int | ArrayLike,
  decay_steps: int | ArrayLike,
  total_steps: int | ArrayLike,
  cycles: Union[int, Sequence[int], Any],
  rewarmup_steps: Optional[int | ArrayLike] = None,
  warmup_kind: str = "linear",
  decay_kind: str = "cosine",
  min_lr_ratio: ArrayLike = 0.0,
) -> optax.Schedule:
  """Several warmup-stable-decay cycles, each re-warming to ``peak_value``.

  The steps ``0 = b_0 < b_1 < ... < b_K = T`` split the run into ``K``
  cycles. Cycle ``k`` is a :func:`warmup_stable_decay` over its own span, at
  its own step ``t - b_k``:

  .. math::
    \\eta_t = \\text{WSD}_k(t - b_k) \\quad (b_k \\le t < b_{k+1}), \\qquad
    \\text{WSD}_k = \\text{warmup}(W_k) \\to p \\to \\text{stable} \\to
    \\text{decay}(D) \\to m p

  with ``W_0 = warmup_steps``, ``W_k = rewarmup_steps`` after that, the
  plateau filling the rest of the cycle, ``b_{k+1} - b_k - W_k - D``. Every
  cycle ends at ``m p`` and the next re-warms from there (from ``p`` when
  ``decay_steps = 0``), so the curve is continuous; after ``T`` it holds
  ``m p``.

  levanter: ``OptimizerConfig(cycles=..., warmup=W, rewarmup=R, decay=D,
  min_lr_ratio=m)`` with integer steps and a linear warmup, the WSD-S
  schedule of Wen et al. 2024 (training on at the peak from a decayed
  checkpoint); levanter's first warmup starts from 0 and this one from
  ``m p``, as transformers' ``get_wsd_schedule`` does (the same for ``m =
  0``), and levanter's default ``rewarmup=0`` is ``rewarmup_steps=0`` here.
  The cosine decay is one half wave (:func:`warmup_stable_decay`'s
  ``num_cycles=0.5``). One cycle is :func:`warmup_stable_decay` with
  ``total_steps=T``.

  Args:
    peak_value: the plateau rate of every cycle, >= 0.
    warmup_steps: length of the first cycle's warmup, >= 0.
    decay_steps: length of every cycle's decay, >= 0.
    total_steps: the end of the last cycle, >= 0.
    cycles: the number of cycles ``K`` >= 1 (a static int; cycle ``k``
      begins at ``floor(k T / K)``, as levanter splits them), or the list of
      steps ``b_1 < ... < b_{K-1}`` at which cycles 1, 2, ... begin, each in
      [1, total_steps) (its length is static, its values may be traced).
      Every cycle must hold its warmup and decay: ``b_{k+1} - b_k >= W_k + D``.
    rewarmup_steps: length of the warmup of cycles 1, 2, ..., >= 0;
      defaults to ``warmup_steps``.
    warmup_kind: any ``warmup_kind`` of :func:`warmup`, starting from the
      previous cycle's end value (its polynomial uses exponent 2).
    decay_kind: "linear", "cosine", "1-sqrt" or "1-square".
    min_lr_ratio: the floor every decay reaches, as a fraction of the peak, in [0, 1].

  Returns:
    An ``optax.Schedule``.

  Examples:
    >>> import jaxsched
    >>> sched = jaxsched.warmup_stable_decay_cycles(
    ...     1.0, warmup_steps=10, decay_steps=20, total_steps=200, cycles=2,
    ...     decay_kind="linear")
    >>> [round(float(sched(t)), 6) for t in (5, 50, 90, 100, 105, 190, 200)]
    [0.5, 1.0, 0.5, 0.0, 0.5, 0.5, 0.0]

  References:
    Wen et al., 2024 (WSD-S): https://arxiv.org/abs/2410.05192;
    Hu et al., 2024 (MiniCPM): https://arxiv.org/abs/2404.06395
  """
  fn = "warmup_stable_decay_cycles"
  c.check_steps(fn, "warmup_steps", warmup_steps)
  c.check_steps(fn, "decay_steps", decay_steps)
  c.check_steps(fn, "total_steps", total_steps)
  if rewarmup_steps is None:
    rewarmup_steps = warmup_steps
  else:
    c.check_steps(fn, "rewarmup_steps", rewarmup_steps)
  _check_wsd_shape(fn, peak_value, warmup_kind, decay_kind, min_lr_ratio)
  _check_cycles(fn, cycles, total_steps)
  if not c.is_traced((cycles, warmup_steps, rewarmup_steps, decay_steps, total_steps)):
    bounds = np.asarray(_cycle_bounds(cycles, total_steps), np.int64)
    for k in range(len(bounds) - 1):
      warm = "warmup_steps" if k == 0 else "rewarmup_steps"
      # The steps are concrete here (checked just above).
      warm_steps = cast(SupportsInt, warmup_steps if k == 0 else rewarmup_steps)
      need = int(warm_steps) + int(cast(SupportsInt, decay_steps))
      if bounds[k + 1] - bounds[k] < need:
        raise ValueError(
          f"{fn}: cycle {k} spans {bounds[k + 1] - bounds[k]} steps (from "
          f"{bounds[k]} to {bounds[k + 1]}), fewer than {warm} + decay_steps = "
          f"{need}"
        )
  dtype = c.value_dtype(peak_value, min_lr_ratio)

  def schedule(count):
    t = c.as_count(count)
    peak = c.as_value(peak_value, dtype)
    floor = peak * c.as_value(min_lr_ratio, dtype)
    d = c.as_steps(decay_steps)
    # A cycle ends at the floor, or at the peak when it has no decay.
    restart = jnp.where(d > 0, floor, peak)
    marks = _cycle_bounds(cycles, total_steps)

    def cycle(k, warmup, start):
      w = c.as_steps(warmup)
      s = marks[k + 1] - marks[k] - w - d
      return _wsd_cycle(
        t - marks[k], w, s, d, start, peak, floor, warmup_kind, decay_kind, 0.5, dtype
      )

    out = cycle(0, warmup_steps, floor)
    for k in range(1, marks.shape[0] - 1):
      out = jnp.where(t >= marks[k], cycle(k, rewarmup_steps, restart), out)
    return c.finish(out)

  return schedule


def untuned_warmup(
  peak_value: ArrayLike, b2: ArrayLike, warmup_kind: str = "linear"
) -> optax.Schedule:
  """The untuned warmup of Adam: its length set by ``b2`` alone, not tuned.

  With ``n = t + 1`` (the paper counts Adam's iterations from 1, Optax's
  count ``t`` from 0):

  .. math::
    \\eta_t = p \\begin{cases}
      \\min\\left(1, \\frac{1 - \\beta_2}{2} n\\right) & \\text{linear} \\\\
      1 - \\exp(-(1 - \\beta_2)\\, n) & \\text{exponential}
    \\end{cases}

  "linear" reaches ``p`` after ``2 / (1 - b2)`` updates (2000 for
  ``b2=0.999``), the rule of thumb the paper recommends; "exponential" has
  time constant ``1 / (1 - b2)``, tracking Adam's bias correction
  ``1 - b2**n``. Step 0 is therefore ``p (1 - b2) / 2`` (linear), not 0:
  :func:`warmup` with ``warmup_steps = 2 / (1 - b2)`` (when that is whole)
  is the same line one step later. To warm up a decaying schedule,
  multiply: ``chained(p, untuned_warmup(1.0, b2), cosine_annealing(1.0, T))``.

  PyTorch: ``pytorch_warmup.UntunedLinearWarmup`` /
  ``UntunedExponentialWarmup`` dampening a constant rate, which use the same
  ``n = t + 1`` but round the period to an integer, ``int(2 / (1 - b2))``
  (1999 for ``b2=0.999`` in floating point); here the formula is exact.

  Args:
    peak_value: the rate after warmup, >= 0.
    b2: Adam's second-moment decay rate ``beta_2``, in (0, 1).
    warmup_kind: "linear" or "exponential".

  Returns:
    An ``optax.Schedule``.

  Examples:
    >>> import jaxsched
    >>> sched = jaxsched.untuned_warmup(1.0, b2=0.99)
    >>> round(float(sched(0)), 6), round(float(sched(99)), 6), float(sched(199))
    (0.005, 0.5, 1.0)

  References:
    Ma & Yarats, 2019: https://arxiv.org/abs/1910.04209
  """
  fn = "untuned_warmup"
  c.check_real(fn, "peak_value", peak_value, low=0.0)
  c.check_real(fn, "b2", b2, low=0.0, high=1.0, low_open=True, high_open=True)
  c.check_choice(fn, "warmup_kind", warmup_kind, UNTUNED_WARMUP_KINDS)
  dtype = c.value_dtype(peak_value, b2)

  def schedule(count):
    # 1 - b2 in float64 when concrete: float32 rounds 0.999 by 1.3e-5 of 1 - b2.
    b2_value = c.concrete(b2)
    rate = (
      jnp.asarray(1.0 - b2_value.astype(np.float64), dtype)
      if b2_value is not None
      else 1.0 - jnp.asarray(b2, dtype)
    )
    n = c.as_count(count).astype(dtype) + 1.0
    if warmup_kind == "linear":
      w = jnp.minimum(1.0, 0.5 * rate * n)
    else:
      w = -jnp.expm1(-rate * n)
    return c.finish(c.as_value(peak_value, dtype) * w)

  return schedule
