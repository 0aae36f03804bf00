"""timm's schedulers (``timm.scheduler``) as schedules, and timm's learning-rate noise.

Each factory takes timm's keyword names and defaults, and ``sched(t)`` is
``scheduler._get_lr(t)``: the rate timm's ``step_update(t)`` sets when the
scheduler was built with ``t_in_epochs=False``. The base rate is
``peak_value``, as in every jaxsched schedule that warms up to it (timm's
``warmup_lr_init`` plays the part of Optax's ``init_value``).

timm counts cycles with ``floor(log(1 - t / T (1 - m)) / log(m))`` in float64.
Here that float index is corrected by comparing ``t`` with the cycle starts
``T (m^i - 1) / (m - 1)`` (``m^i`` by exact squaring), so a cycle starts
on the very step the formula gives while that start is below ``2**24``
(beyond, within float32 rounding of it; float64 under x64). timm's float64 logarithm
lands one cycle short on a few exact boundaries (``cycle_mul=3``:
``log(243) / log(3) < 5``); at those single steps timm gives the end of the
previous cycle and jaxsched the start of the new one.
"""

import fractions
from typing import Any, Optional, Sequence, Union

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.typing import ArrayLike

from jaxsched import _common as c

NOISE_TYPES = ("normal", "uniform")


# ----------------------------------------------------------------- shared parts


def _check_warmup_args(fn: str, warmup_t: Any, warmup_lr_init: Any, warmup_prefix: Any) -> None:
  c.check_steps(fn, "warmup_t", warmup_t)
  c.check_real(fn, "warmup_lr_init", warmup_lr_init, low=0.0)
  c.check_bool(fn, "warmup_prefix", warmup_prefix)


def _check_cycle_args(
  fn: str,
  peak_value: Any,
  t_initial: Any,
  lr_min: Any,
  cycle_mul: Any,
  cycle_decay: Any,
  cycle_limit: Any,
) -> None:
  c.check_real(fn, "peak_value", peak_value, low=0.0)
  c.check_steps(fn, "t_initial", t_initial, minimum=1)
  c.check_real(fn, "lr_min", lr_min, low=0.0)
  c.check_real(fn, "cycle_mul", cycle_mul, low=0.0, low_open=True)
  c.check_real(fn, "cycle_decay", cycle_decay, low=0.0, high=1.0)
  c.check_steps(fn, "cycle_limit", cycle_limit, noun="cycles")


def _int_power(m: jax.Array, i: jax.Array) -> jax.Array:
  """``m ** i`` for int32 ``i >= 0`` by squaring: exact while the result is representable."""
  result = jnp.ones(jnp.broadcast_shapes(m.shape, i.shape), m.dtype)
  base = m
  for bit in range(31):
    result = jnp.where((i >> bit) & 1, result * base, result)
    base = base * base
  return result


def _warmed(t, warmup_t, warmup_lr_init, target, after, dtype):
  """timm's linear warmup ``warmup_lr_init + t (target - warmup_lr_init) / warmup_t``."""
  return c.warmup_then(
    t,
    warmup_t,
    "linear",
    c.as_value(warmup_lr_init, dtype),
    target,
    1.0,
    dtype,
    after,
  )


def _cycle(t: jax.Array, t_initial: Any, cycle_mul: Any, dtype: jnp.dtype):
  """``(i, p, r)``: timm's cycle index of step ``t``, the fraction ``p`` of it done, ``r = 1 - p``.

  Cycle ``i`` lasts ``T m^i`` steps from ``S_i = T (m^i - 1) / (m - 1)``. For
  ``m = 1`` all of it is integer arithmetic. Otherwise the index from the
  logarithm is moved by one where ``t`` is not in ``[S_i, S_{i+1})``; ``r`` is
  ``(S_{i+1} - t) / (T m^i)``, formed without going through ``p``. For
  ``m < 1`` the cycles shrink towards ``T / (1 - m)``; from there on (where
  timm's logarithm fails) the index is ``2**31 - 1``, past any cycle limit.
  """
  n = jnp.maximum(c.as_steps(t_initial), 1)
  mul = c.concrete(cycle_mul)

  def whole():
    i = t // n
    done = t - i * n
    return i, c.fraction(done, n, dtype), c.fraction(n - done, n, dtype)

  def geometric():
    m = c.as_value(cycle_mul, dtype)
    m = jnp.where(m == 1, 2.0, m)  # the other branch when m is traced and 1
    tf, nf = t.astype(dtype), n.astype(dtype)
    arg = 1.0 + tf / nf * (m - 1.0)
    beyond = arg <= 0
    i0 = jnp.floor(jnp.log(jnp.where(beyond, 1.0, arg)) / jnp.log(m))
    i0 = jnp.clip(jnp.nan_to_num(i0), 0, 2**30).astype(jnp.int32)

    def start(i):
      return nf * ((_int_power(m, i) - 1.0) / (m - 1.0))

    i = i0 - (tf < start(i0)).astype(jnp.int32) + (tf >= start(i0 + 1)).astype(jnp.int32)
    i = jnp.maximum(i, 0)
    length = nf * _int_power(m, i)
    ok = length > 0
    safe_length = jnp.where(ok, length, 1.0)
    p = jnp.clip((tf - start(i)) / safe_length, 0.0, 1.0)
    r = jnp.clip((start(i + 1) - tf) / safe_length, 0.0, 1.0)
    p, r = jnp.where(ok, p, 1.0), jnp.where(ok, r, 0.0)
    return jnp.where(beyond, c.INT32_MAX, i), p, r

  if mul is not None and mul.ndim == 0:
    return whole() if float(mul) == 1.0 else geometric()
  is_one = c.as_value(cycle_mul, dtype) == 1
  return tuple(jnp.where(is_one, a, b) for a, b in zip(whole(), geometric()))


def _k_decayed(p: jax.Array, r: jax.Array, k_decay: Any, dtype: jnp.dtype):
  """``(p^k, 1 - p^k)``, the second as ``-expm1(k log1p(-r))`` so it stays exact near p = 1."""
  k = c.concrete(k_decay)
  if k is not None and k.ndim == 0 and float(k) == 1.0:
    return p, r
  kv = c.as_value(k_decay, dtype)
  return p**kv, -jnp.expm1(kv * jnp.log1p(-r))


def _cyclic_schedule(
  weight,
  warms_to_peak,
  peak_value,
  t_initial,
  lr_min,
  cycle_mul,
  cycle_decay,
  cycle_limit,
  warmup_t,
  warmup_lr_init,
  warmup_prefix,
  dtype,
):
  """The schedule timm's cosine, tanh and poly share; ``weight(p, r)`` is the share of lr_max.

  Without the prefix, timm's warmup ends at the base rate (``warms_to_peak``)
  or at the decay's value at step ``warmup_t`` (tanh).
  """

  def after_warmup(t):
    i, p, r = _cycle(t, t_initial, cycle_mul, dtype)
    peak, floor = c.as_value(peak_value, dtype), c.as_value(lr_min, dtype)
    live = i < c.as_steps(cycle_limit)
    lr_max = peak * c.whole_power(cycle_decay, jnp.where(live, i, 0).astype(dtype), dtype)
    return jnp.where(live, c.mix(lr_max, floor, weight(p, r)), floor)

  def schedule(count):
    t = c.as_count(count)
    w = c.as_steps(warmup_t)
    peak = c.as_value(peak_value, dtype)
    if warmup_prefix:
      return c.finish(
        _warmed(t, w, warmup_lr_init, peak, after_warmup(jnp.maximum(t - w, 0)), dtype)
      )
    target = peak if warms_to_peak else after_warmup(w)
    return c.finish(_warmed(t, w, warmup_lr_init, target, after_warmup(t), dtype))

  return schedule


# ------------------------------------------------------------------ factories


def timm_cosine(
  peak_value: ArrayLike,
  t_initial: int | ArrayLike,
  lr_min: ArrayLike = 0.0,
  cycle_mul: ArrayLike = 1.0,
  cycle_decay: ArrayLike = 1.0,
  cycle_limit: int | ArrayLike = 1,
  warmup_t: int | ArrayLike = 0,
  warmup_lr_init: ArrayLike = 0.0,
  warmup_prefix: bool = False,
  k_decay: ArrayLike = 1.0,
) -> optax.Schedule:
  """timm's cosine decay with restarts, cycle growth and decay, k-decay and warmup.

  With ``t' = t - W`` if ``warmup_prefix`` else ``t``, and cycle ``i`` of
  length ``T_i = T m^i`` holding ``t'`` from its step ``t_cur``:

  .. math::
    \\eta_t = \\begin{cases}
      \\eta_{w} + t \\, (\\eta_0 - \\eta_{w}) / W & t < W \\\\
      \\eta_{min} + (\\eta_0 d^i - \\eta_{min})
        \\frac{1 + \\cos(\\pi \\, t_{cur}^k / T_i^k)}{2} & i < L \\\\
      \\eta_{min} & i \\ge L
    \\end{cases}

  timm: ``CosineLRScheduler(optimizer, t_initial, lr_min, cycle_mul,
  cycle_decay, cycle_limit, warmup_t, warmup_lr_init, warmup_prefix,
  t_in_epochs=False, k_decay=k_decay)`` with the optimizer's ``lr =
  peak_value``: ``sched(t)`` is its ``_get_lr(t)``. Without the prefix the
  warmup overlays the first cycle, as in timm. Every argument but
  ``warmup_prefix`` may be traced (step counts are truncated to integers).

  Args:
    peak_value: the base rate (the optimizer's ``lr``), >= 0.
    t_initial: length of the first cycle, >= 1.
    lr_min: the floor, >= 0.
    cycle_mul: growth factor of the cycle length, > 0 (below 1 cycles shrink;
      past their limit ``T / (1 - m)``, where timm fails, the rate is ``lr_min``).
    cycle_decay: factor ``d`` on the peak of each new cycle, in [0, 1].
    cycle_limit: number of cycles ``L`` before the rate stays at ``lr_min``, >= 0.
    warmup_t: warmup steps ``W``, >= 0.
    warmup_lr_init: the rate at step 0 of the warmup, >= 0.
    warmup_prefix: True: the cycles start after the warmup; False: at step 0.
    k_decay: the exponent ``k``, > 0.

  Returns:
    An ``optax.Schedule``.

  Examples:
    >>> import jaxsched
    >>> sched = jaxsched.timm_cosine(1.0, t_initial=100, warmup_t=10, warmup_prefix=True)
    >>> round(float(sched(5)), 6), round(float(sched(60)), 6)
    (0.5, 0.5)

  References:
    Loshchilov & Hutter, 2017: https://arxiv.org/abs/1608.03983;
    Zhang & Li, 2020 (k-decay): https://arxiv.org/abs/2004.05909
  """
  fn = "timm_cosine"
  _check_cycle_args(fn, peak_value, t_initial, lr_min, cycle_mul, cycle_decay, cycle_limit)
  _check_warmup_args(fn, warmup_t, warmup_lr_init, warmup_prefix)
  c.check_real(fn, "k_decay", k_decay, low=0.0, low_open=True)
  dtype = c.value_dtype(peak_value, lr_min, cycle_mul, cycle_decay, warmup_lr_init, k_decay)

  def weight(p, r):
    pk, qk = _k_decayed(p, r, k_decay, dtype)
    return c.cosine_weight(pk, qk)

  return _cyclic_schedule(
    weight,
    True,
    peak_value,
    t_initial,
    lr_min,
    cycle_mul,
    cycle_decay,
    cycle_limit,
    warmup_t,
    warmup_lr_init,
    warmup_prefix,
    dtype,
  )


def timm_tanh(
  peak_value: ArrayLike,
  t_initial: int | ArrayLike,
  lb: ArrayLike = -7.0,
  ub: ArrayLike = 3.0,
  lr_min: ArrayLike = 0.0,
  cycle_mul: ArrayLike = 1.0,
  cycle_decay: ArrayLike = 1.0,
  cycle_limit: int | ArrayLike = 1,
  warmup_t: int | ArrayLike = 0,
  warmup_lr_init: ArrayLike = 0.0,
  warmup_prefix: bool = False,
) -> optax.Schedule:
  """timm's hyperbolic-tangent decay with restarts and warmup.

  With ``t'``, ``i``, ``T_i`` and ``t_cur`` as in :func:`timm_cosine` and
  ``r = t_cur / T_i``:

  .. math::
    \\eta_t = \\eta_{min} + (\\eta_0 d^i - \\eta_{min})
      \\frac{1 - \\tanh(lb (1 - r) + ub \\, r)}{2} \\quad (t \\ge W, i < L)

  and ``lr_min`` from cycle ``L`` on. The warmup rises linearly from
  ``warmup_lr_init`` to ``peak_value`` with ``warmup_prefix``, else to the
  rate the decay has at step ``W`` (timm's choice).

  timm: ``TanhLRScheduler(optimizer, t_initial, lb, ub, lr_min, cycle_mul,
  cycle_decay, cycle_limit, warmup_t, warmup_lr_init, warmup_prefix,
  t_in_epochs=False)``; ``sched(t)`` is its ``_get_lr(t)``. Every argument
  but ``warmup_prefix`` may be traced.

  Args:
    peak_value: the base rate, >= 0.
    t_initial: length of the first cycle, >= 1.
    lb: the tanh argument at the start of a cycle, < ub.
    ub: the tanh argument at its end.
    lr_min: the floor, >= 0.
    cycle_mul: growth factor of the cycle length, > 0.
    cycle_decay: factor on the peak of each new cycle, in [0, 1].
    cycle_limit: number of cycles before the rate stays at ``lr_min``, >= 0.
    warmup_t: warmup steps, >= 0.
    warmup_lr_init: the rate at step 0 of the warmup, >= 0.
    warmup_prefix: True: the cycles start after the warmup; False: at step 0.

  Returns:
    An ``optax.Schedule``.

  Examples:
    >>> import jaxsched
    >>> round(float(jaxsched.timm_tanh(1.0, t_initial=100, lb=-1.0, ub=1.0)(50)), 6)
    0.5

  References:
    Hsueh et al., 2019: https://arxiv.org/abs/1806.01593
  """
  fn = "timm_tanh"
  _check_cycle_args(fn, peak_value, t_initial, lr_min, cycle_mul, cycle_decay, cycle_limit)
  _check_warmup_args(fn, warmup_t, warmup_lr_init, warmup_prefix)
  c.check_real(fn, "lb", lb)
  c.check_real(fn, "ub", ub)
  c.check_order(fn, "lb", lb, "ub", ub, strict=True)
  dtype = c.value_dtype(peak_value, lr_min, cycle_mul, cycle_decay, warmup_lr_init, lb, ub)

  def weight(p, r):
    # (1 - tanh x) / 2 == sigmoid(-2 x), without the cancellation near x >> 1.
    x = c.as_value(lb, dtype) * r + c.as_value(ub, dtype) * p
    return jax.nn.sigmoid(-2.0 * x)

  return _cyclic_schedule(
    weight,
    False,
    peak_value,
    t_initial,
    lr_min,
    cycle_mul,
    cycle_decay,
    cycle_limit,
    warmup_t,
    warmup_lr_init,
    warmup_prefix,
    dtype,
  )


def timm_poly(
  peak_value: ArrayLike,
  t_initial: int | ArrayLike,
  power: ArrayLike = 0.5,
  lr_min: ArrayLike = 0.0,
  cycle_mul: ArrayLike = 1.0,
  cycle_decay: ArrayLike = 1.0,
  cycle_limit: int | ArrayLike = 1,
  warmup_t: int | ArrayLike = 0,
  warmup_lr_init: ArrayLike = 0.0,
  warmup_prefix: bool = False,
  k_decay: ArrayLike = 1.0,
) -> optax.Schedule:
  """timm's polynomial decay with restarts, k-decay and warmup.

  With ``t'``, ``i``, ``T_i`` and ``t_cur`` as in :func:`timm_cosine`:

  .. math::
    \\eta_t = \\eta_{min} + (\\eta_0 d^i - \\eta_{min})
      \\left(1 - \\frac{t_{cur}^k}{T_i^k}\\right)^{p} \\quad (t \\ge W, i < L)

  and ``lr_min`` from cycle ``L`` on; the warmup is :func:`timm_cosine`'s.

  timm: ``PolyLRScheduler(optimizer, t_initial, power, lr_min, cycle_mul,
  cycle_decay, cycle_limit, warmup_t, warmup_lr_init, warmup_prefix,
  t_in_epochs=False, k_decay=k_decay)``; ``sched(t)`` is its ``_get_lr(t)``.
  Every argument but ``warmup_prefix`` may be traced.

  Args:
    peak_value: the base rate, >= 0.
    t_initial: length of the first cycle, >= 1.
    power: the exponent ``p``, >= 0.
    lr_min: the floor, >= 0.
    cycle_mul: growth factor of the cycle length, > 0.
    cycle_decay: factor on the peak of each new cycle, in [0, 1].
    cycle_limit: number of cycles before the rate stays at ``lr_min``, >= 0.
    warmup_t: warmup steps, >= 0.
    warmup_lr_init: the rate at step 0 of the warmup, >= 0.
    warmup_prefix: True: the cycles start after the warmup; False: at step 0.
    k_decay: the exponent ``k``, > 0.

  Returns:
    An ``optax.Schedule``.

  Examples:
    >>> import jaxsched
    >>> round(float(jaxsched.timm_poly(1.0, t_initial=100, power=2.0)(50)), 6)
    0.25

  References:
    Zhang & Li, 2020 (k-decay): https://arxiv.org/abs/2004.05909
  """
  fn = "timm_poly"
  _check_cycle_args(fn, peak_value, t_initial, lr_min, cycle_mul, cycle_decay, cycle_limit)
  _check_warmup_args(fn, warmup_t, warmup_lr_init, warmup_prefix)
  c.check_real(fn, "power", power, low=0.0)
  c.check_real(fn, "k_decay", k_decay, low=0.0, low_open=True)
  dtype = c.value_dtype(peak_value, lr_min, cycle_mul, cycle_decay, warmup_lr_init, power, k_decay)

  def weight(p, r):
    _, qk = _k_decayed(p, r, k_decay, dtype)
    return qk ** c.as_value(power, dtype)

  return _cyclic_schedule(
    weight,
    True,
    peak_value,
    t_initial,
    lr_min,
    cycle_mul,
    cycle_decay,
    cycle_limit,
    warmup_t,
    warmup_lr_init,
    warmup_prefix,
    dtype,
  )


def _floor_div(t: jax.Array, d: Any, dtype: jnp.dtype) -> jax.Array:
  """Python's ``t // d`` for int32 ``t >= 0`` and a real ``d > 0``, as a float.

  A concrete ``d`` that is the double nearest a fraction ``a / b`` with
  ``a b < 2**31`` (any whole number, 2.4, 3002.4, ...) is divided in
  integers; where the double lies above ``a / b``, Python's exact division
  falls one short at the multiples of ``a / b`` (``11 // 1.1 == 9``), and so
  does this. A traced or other ``d`` is divided in floating point.
  """
  value = c.concrete(d)
  if value is not None and value.ndim == 0:
    exact = fractions.Fraction(float(value))
    ratio = exact.limit_denominator(4096)
    a, b = ratio.numerator, ratio.denominator
    if float(ratio) == float(value) and a * b < 2**31:
      whole, part = t // a, t % a
      k = whole.astype(dtype) * b + ((part * b) // a).astype(dtype)
      if exact > ratio:
        k = k - (((part * b) % a == 0) & (t > 0)).astype(dtype)
      return k
  return jnp.floor(t.astype(dtype) / c.as_value(d, dtype))


def timm_step(
  peak_value: ArrayLike,
  decay_t: int | ArrayLike,
  decay_rate: ArrayLike = 1.0,
  warmup_t: int | ArrayLike = 0,
  warmup_lr_init: ArrayLike = 0.0,
  warmup_prefix: bool = True,
) -> optax.Schedule:
  """timm's step decay: ``decay_rate`` every ``decay_t`` steps, after a warmup.

  With ``t' = t - W`` if ``warmup_prefix`` else ``t``:

  .. math::
    \\eta_t = \\begin{cases}
      \\eta_{w} + t \\, (\\eta_0 - \\eta_{w}) / W & t < W \\\\
      \\eta_0 \\, \\gamma^{\\lfloor t' / s \\rfloor} & t \\ge W
    \\end{cases}

  timm: ``StepLRScheduler(optimizer, decay_t, decay_rate, warmup_t,
  warmup_lr_init, warmup_prefix, t_in_epochs=False)``; ``sched(t)`` is its
  ``_get_lr(t)``. A fractional ``decay_t`` (timm's ``decay_epochs=2.4``
  times the updates per epoch) floors as Python's ``//`` does. PyTorch's
  ``StepLR`` is :func:`step_decay`. Every argument but ``warmup_prefix``
  may be traced.

  Args:
    peak_value: the base rate, >= 0.
    decay_t: steps ``s`` between decays, a real number > 0.
    decay_rate: factor ``gamma`` per decay, in [0, 1].
    warmup_t: warmup steps ``W``, >= 0.
    warmup_lr_init: the rate at step 0 of the warmup, >= 0.
    warmup_prefix: True (timm's default): decays count from the end of the
      warmup; False: from step 0.

  Returns:
    An ``optax.Schedule``.

  Examples:
    >>> import jaxsched
    >>> float(jaxsched.timm_step(1.0, decay_t=10, decay_rate=0.5)(25))
    0.25
  """
  fn = "timm_step"
  c.check_real(fn, "peak_value", peak_value, low=0.0)
  c.check_real(fn, "decay_t", decay_t, low=0.0, low_open=True)
  c.check_real(fn, "decay_rate", decay_rate, low=0.0, high=1.0)
  _check_warmup_args(fn, warmup_t, warmup_lr_init, warmup_prefix)
  dtype = c.value_dtype(peak_value, decay_rate, warmup_lr_init)

  def schedule(count):
    t = c.as_count(count)
    w = c.as_steps(warmup_t)
    k = _floor_div(jnp.maximum(t - w, 0) if warmup_prefix else t, decay_t, dtype)
    peak = c.as_value(peak_value, dtype)
    decayed = peak * c.whole_power(decay_rate, k, dtype)
    return c.finish(_warmed(t, w, warmup_lr_init, peak, decayed, dtype))

  return schedule


def timm_multistep(
  peak_value: ArrayLike,
  decay_t: Sequence[Any],
  decay_rate: ArrayLike = 1.0,
  warmup_t: int | ArrayLike = 0,
  warmup_lr_init: ArrayLike = 0.0,
  warmup_prefix: bool = True,
) -> optax.Schedule:
  """timm's multi-step decay: ``decay_rate`` at each milestone, one step early.

  With ``t' = t - W`` if ``warmup_prefix`` else ``t``:

  .. math::
    \\eta_t = \\eta_0 \\, \\gamma^{\\#\\{j : m_j \\le t' + 1\\}} \\quad (t \\ge W)

  and timm's linear warmup before ``W``. timm: ``MultiStepLRScheduler(optimizer,
  decay_t, decay_rate, warmup_t, warmup_lr_init, warmup_prefix,
  t_in_epochs=False)``; ``sched(t)`` is its ``_get_lr(t)``. Milestone ``m``
  applies from step ``m - 1`` on (timm compares with ``t + 1``), one step
  before PyTorch's ``MultiStepLR`` (:func:`multistep_decay`). The number of
  milestones is static; their values, like every other argument but
  ``warmup_prefix``, may be traced.

  Args:
    peak_value: the base rate, >= 0.
    decay_t: milestones, each a real number >= 0, sorted ascending (timm
      bisects the list).
    decay_rate: factor ``gamma`` per milestone passed, >= 0.
    warmup_t: warmup steps ``W``, >= 0.
    warmup_lr_init: the rate at step 0 of the warmup, >= 0.
    warmup_prefix: True (timm's default): milestones count from the end of the
      warmup; False: from step 0.

  Returns:
    An ``optax.Schedule``.

  Examples:
    >>> import jaxsched
    >>> float(jaxsched.timm_multistep(1.0, [10, 20], decay_rate=0.5)(19))
    0.25
  """
  fn = "timm_multistep"
  c.check_real(fn, "peak_value", peak_value, low=0.0)
  if not c.is_traced(decay_t) and np.ndim(decay_t) != 1:
    raise ValueError(f"{fn}: decay_t={decay_t!r} must be a 1-D list of steps")
  c.check_real(fn, "decay_t", decay_t, low=0.0)
  marks = c.concrete(decay_t)
  if marks is not None and np.any(np.diff(marks.astype(np.float64)) < 0):
    raise ValueError(
      f"{fn}: decay_t={list(marks.tolist())} must be sorted ascending (timm bisects it)"
    )
  c.check_real(fn, "decay_rate", decay_rate, low=0.0)
  _check_warmup_args(fn, warmup_t, warmup_lr_init, warmup_prefix)
  dtype = c.value_dtype(peak_value, decay_rate, warmup_lr_init)
  if marks is not None:  # the last step before each milestone, exactly
    firsts = jnp.asarray(np.clip(np.ceil(marks.astype(np.float64)) - 1, -1, c.INT32_MAX), jnp.int32)
  else:
    firsts = None

  def schedule(count):
    t = c.as_count(count)
    w = c.as_steps(warmup_t)
    tp = jnp.maximum(t - w, 0) if warmup_prefix else t
    last = firsts if firsts is not None else (c.as_steps(jnp.ceil(jnp.asarray(decay_t, dtype))) - 1)
    k = jnp.sum(tp[..., None] >= last.reshape((1,) * tp.ndim + (-1,)), axis=-1)
    peak = c.as_value(peak_value, dtype)
    decayed = peak * c.whole_power(decay_rate, k.astype(dtype), dtype)
    return c.finish(_warmed(t, w, warmup_lr_init, peak, decayed, dtype))

  return schedule


WSD_STABLE_FNS = ("constant", "rsqrt", "power")
WSD_DECAY_FNS = ("linear", "1-sqrt", "cosine", "power", "exp")


def _wsd_decay(decay_fn: str, f, q, decay_power: Any, decay_ratio: Any, dtype):
  """timm's WSD decay factor at progress ``f`` (``q = 1 - f``, formed exactly), 1 -> 0."""
  if decay_fn == "linear":
    return q
  if decay_fn == "1-sqrt":
    return 1.0 - jnp.sqrt(f)
  if decay_fn == "cosine":
    return c.cosine_weight(f, q)
  if decay_fn == "power":  # 1 - f**a as -expm1(a log1p(-q)): exact near f = 1
    return -jnp.expm1(c.as_value(decay_power, dtype) * jnp.log1p(-q))
  # exp: (r**f - r) / (1 - r) = r (r**-q - 1) / (1 - r)
  r = c.as_value(decay_ratio, dtype)
  return r * jnp.expm1(-q * c.log_of(decay_ratio, dtype)) / (1.0 - r)


def timm_wsd(
  peak_value: ArrayLike,
  t_initial: int | ArrayLike,
  decay_t: int | ArrayLike,
  lr_min: ArrayLike = 0.0,
  stable_fn: str = "constant",
  stable_timescale: Optional[ArrayLike] = None,
  stable_power: ArrayLike = 0.5,
  decay_fn: str = "1-sqrt",
  decay_power: ArrayLike = 0.5,
  decay_ratio: ArrayLike = 0.1,
  warmup_t: int | ArrayLike = 0,
  warmup_lr_init: ArrayLike = 0.0,
) -> optax.Schedule:
  """timm's warmup-stable-decay: a warmup prefix, a stable phase, a decay to ``lr_min``.

  With ``s = t - W`` (the time since the warmup), the stable value
  ``v_s = max(\\eta_0 S(s), \\eta_{min})`` and the decay progress
  ``f = min((s - T + D) / D, 1)``:

  .. math::
    \\eta_t = \\begin{cases}
      \\eta_{w} + t \\, (\\eta_0 - \\eta_{w}) / W & t < W \\\\
      v_s & s \\le T - D \\\\
      \\eta_{min} + (v_s - \\eta_{min}) \\, F(f) & s > T - D
    \\end{cases}

  Stable functions ``S``: "constant" (1, the WSD schedule), "rsqrt"
  (``(1 + s / tau)^{-1/2}``, big_vision's rsqrt) and "power"
  (``(1 + s / tau)^{-b}``, the Power scheduler), with ``tau =
  stable_timescale`` (``warmup_t`` by default). Decay functions ``F``:
  "1-sqrt" (``1 - sqrt(f)``), "linear" (``1 - f``), "cosine" (``(1 + cos
  pi f) / 2``), "power" (``1 - f^a``) and "exp" (``(r^f - r) / (1 - r)``),
  all from 1 to 0. ``lr_min`` is reached at ``t = W + T`` and held after.

  timm: ``WSDLRScheduler(optimizer, t_initial, decay_t, lr_min, stable_fn,
  stable_timescale, stable_power, decay_fn, decay_power, decay_ratio,
  warmup_t, warmup_lr_init, t_in_epochs=False)`` with the optimizer's ``lr =
  peak_value``: ``sched(t)`` is its ``_get_lr(t)``. timm's warmup is always a
  prefix of ``t_initial`` (the whole schedule lasts ``W + T``). A callable
  ``decay_fn`` has no closed form here (:func:`from_torch` tabulates it with
  ``num_steps``). Every argument but ``stable_fn`` and ``decay_fn`` may be
  traced (step counts are truncated to integers).

  Args:
    peak_value: the base rate (the optimizer's ``lr``), >= 0.
    t_initial: length ``T`` of the stable and decay phases, >= 1.
    decay_t: length ``D`` of the decay, the last steps of ``t_initial``, in [1, t_initial].
    lr_min: the rate at the end of the decay, >= 0.
    stable_fn: "constant", "rsqrt" or "power".
    stable_timescale: ``tau`` of "rsqrt" and "power", > 0; None uses ``warmup_t``
      (which must then be >= 1). Ignored by "constant".
    stable_power: the exponent ``b`` of "power", > 0.
    decay_fn: "1-sqrt", "linear", "cosine", "power" or "exp".
    decay_power: the exponent ``a`` of the "power" decay, > 0.
    decay_ratio: ``r`` of the "exp" decay, in (0, 1).
    warmup_t: warmup steps ``W``, >= 0.
    warmup_lr_init: the rate at step 0 of the warmup, >= 0.

  Returns:
    An ``optax.Schedule``.

  Examples:
    >>> import jaxsched
    >>> sched = jaxsched.timm_wsd(1.0, t_initial=100, decay_t=20, decay_fn="linear", warmup_t=10)
    >>> float(sched(5)), float(sched(50)), float(sched(100)), float(sched(110))
    (0.5, 1.0, 0.5, 0.0)

  References:
    Hu et al., 2024 (MiniCPM, WSD): https://arxiv.org/abs/2404.06395;
    Hägele et al., 2024 (1-sqrt cooldown): https://arxiv.org/abs/2405.18392;
    Zhai et al., 2022 (rsqrt with linear cooldown): https://arxiv.org/abs/2106.04560;
    Shen et al., 2024 (Power scheduler): https://arxiv.org/abs/2408.13359
  """
  fn = "timm_wsd"
  c.check_real(fn, "peak_value", peak_value, low=0.0)
  c.check_steps(fn, "t_initial", t_initial, minimum=1)
  c.check_steps(fn, "decay_t", decay_t, minimum=1)
  c.check_order(fn, "decay_t", decay_t, "t_initial", t_initial)
  c.check_real(fn, "lr_min", lr_min, low=0.0)
  c.check_choice(fn, "stable_fn", stable_fn, WSD_STABLE_FNS)
  if callable(decay_fn):
    raise ValueError(
      f"{fn}: decay_fn={decay_fn!r}: a callable has no closed form here; give one of "
      f"{', '.join(map(repr, WSD_DECAY_FNS))} (from_torch tabulates a timm scheduler "
      "with a callable decay_fn when given num_steps)"
    )
  c.check_choice(fn, "decay_fn", decay_fn, WSD_DECAY_FNS)
  c.check_real(fn, "stable_power", stable_power, low=0.0, low_open=True)
  c.check_real(fn, "decay_power", decay_power, low=0.0, low_open=True)
  c.check_real(fn, "decay_ratio", decay_ratio, low=0.0, high=1.0, low_open=True, high_open=True)
  c.check_steps(fn, "warmup_t", warmup_t)
  c.check_real(fn, "warmup_lr_init", warmup_lr_init, low=0.0)
  if stable_fn != "constant":
    if stable_timescale is None:
      value = c.concrete(warmup_t)
      if value is not None and not np.all(value > 0):
        raise ValueError(
          f"{fn}: stable_fn={stable_fn!r} needs stable_timescale > 0; it defaults to "
          f"warmup_t={warmup_t}, so give it when there is no warmup"
        )
      stable_timescale = warmup_t
    else:
      c.check_real(fn, "stable_timescale", stable_timescale, low=0.0, low_open=True)
  dtype = c.value_dtype(
    peak_value, lr_min, stable_power, decay_power, decay_ratio, warmup_lr_init, stable_timescale
  )

  def schedule(count):
    t = c.as_count(count)
    w = c.as_steps(warmup_t)
    peak, floor = c.as_value(peak_value, dtype), c.as_value(lr_min, dtype)
    since = jnp.maximum(t - w, 0)
    if stable_fn == "constant":
      stable = peak
    else:
      power = 0.5 if stable_fn == "rsqrt" else c.as_value(stable_power, dtype)
      tau = c.as_value(stable_timescale, dtype)
      stable = peak * jnp.exp(-power * jnp.log1p(since.astype(dtype) / tau))
    stable = jnp.maximum(stable, floor)
    length = c.as_steps(decay_t)
    into = since - (c.as_steps(t_initial) - length)  # steps into the decay
    f = c.fraction(into, length, dtype)
    q = c.fraction(length - jnp.clip(into, 0, length), length, dtype)
    factor = _wsd_decay(decay_fn, f, q, decay_power, decay_ratio, dtype)
    after = jnp.where(into <= 0, stable, c.mix(stable, floor, factor))
    return c.finish(_warmed(t, w, warmup_lr_init, peak, after, dtype))

  return schedule


# ---------------------------------------------------------------------- noise


def _noise_bounds(fn: str, noise_range: Any):
  """``(first, end)`` steps of the noise: timm's ``t >= a`` or ``a <= t < b`` for integer t."""
  if noise_range is None:
    raise ValueError(f"{fn}: noise_range=None applies no noise; use the schedule itself")
  pair = isinstance(noise_range, (list, tuple))
  if pair and len(noise_range) != 2:
    raise ValueError(f"{fn}: noise_range={noise_range!r} must be a step or a (start, end) pair")
  start, end = noise_range if pair else (noise_range, None)
  c.check_real(fn, "noise_range start" if pair else "noise_range", start)
  if pair:
    c.check_real(fn, "noise_range end", end)
    c.check_order(fn, "noise_range start", start, "noise_range end", end)

  def first_at_least(x):
    value = c.concrete(x)
    if value is not None:
      return jnp.asarray(np.clip(np.ceil(value.astype(np.float64)), 0, c.INT32_MAX), jnp.int32)
    return c.as_steps(jnp.ceil(jnp.asarray(x, jnp.float32)))

  return first_at_least(start), (None if end is None else first_at_least(end))


def _check_seed(fn: str, seed: Any) -> None:
  value = c.concrete(seed)
  if value is None:
    return
  if (
    value.ndim != 0
    or isinstance(seed, (bool, np.bool_))
    or not np.issubdtype(value.dtype, np.integer)
    or not -(2**31) <= int(value) <= c.INT32_MAX
  ):
    raise ValueError(f"{fn}: seed={seed!r} must be an integer in [{-(2**31)}, {c.INT32_MAX}]")


def _draw(t: jax.Array, seed: Any, noise_pct: Any, noise_std: Any, noise_type: str) -> jax.Array:
  """timm's noise at each step of ``t``, from ``fold_in(key(seed), step)``."""
  key = jax.random.key(jnp.asarray(seed, jnp.int32))
  pct = jnp.asarray(noise_pct, jnp.float32)
  std = jnp.asarray(noise_std, jnp.float32)

  def one(step):
    k = jax.random.fold_in(key, step)
    if noise_type == "uniform":
      return jax.random.uniform(k, (), jnp.float32, -1.0, 1.0) * pct
    # timm redraws std * N(0, 1) until |noise| < pct: a normal truncated to +-pct / std.
    bound = jnp.where(std > 0, pct / jnp.where(std > 0, std, 1.0), 1.0)
    z = jax.random.truncated_normal(k, -bound, bound, (), jnp.float32)
    return jnp.where(std > 0, std * z, 0.0)

  return jax.vmap(one)(t.reshape(-1)).reshape(t.shape)


def with_noise(
  schedule: optax.Schedule,
  noise_range: Union[Any, Sequence[Any]],
  noise_pct: ArrayLike = 0.67,
  noise_std: ArrayLike = 1.0,
  seed: ArrayLike = 42,
  noise_type: str = "normal",
) -> optax.Schedule:
  """timm's learning-rate noise on any schedule, as a pure function of (seed, step).

  .. math::
    \\eta'_t = \\eta_t (1 + n_t), \\qquad n_t \\sim \\begin{cases}
      \\sigma Z \\text{ given } |\\sigma Z| < p & \\text{normal} \\\\
      U(-p, p) & \\text{uniform}
    \\end{cases}

  inside the noise range, ``n_t = 0`` outside it. timm: the ``noise_range_t``,
  ``noise_pct``, ``noise_std``, ``noise_seed`` and ``noise_type`` of any
  ``timm.scheduler`` (its ``_add_noise``), which redraws a normal until
  ``|noise| < noise_pct``: the same truncated normal as
  ``noise_std * jax.random.truncated_normal(-p / sigma, p / sigma)`` here.
  Same distribution as timm, not the same draws: timm seeds a torch generator
  with ``seed + t``, this folds ``t`` into ``jax.random.key(seed)``. Every
  param group of a timm scheduler gets the same draw at a step, and so does
  every schedule wrapped with the same seed. All but ``noise_type`` may be
  traced.

  Args:
    schedule: the schedule to perturb.
    noise_range: a step ``a`` (noise from step ``a`` on) or a pair ``(a, b)``
      (noise at ``a <= t < b``), as timm's ``noise_range_t``; real numbers.
    noise_pct: the bound ``p`` of ``|n_t|``, in (0, 1] so that the rate stays >= 0.
    noise_std: the standard deviation ``sigma`` of the normal before
      truncation, >= 0 (0: no noise).
    seed: an int32 seed (timm's ``noise_seed``, default 42).
    noise_type: "normal" or "uniform" (timm takes anything but "normal" as uniform).

  Returns:
    An ``optax.Schedule``.

  Examples:
    >>> import jaxsched
    >>> sched = jaxsched.with_noise(jaxsched.constant(1.0), noise_range=(10, 20))
    >>> float(sched(5)), 0.33 < float(sched(15)) < 1.67
    (1.0, True)
  """
  fn = "with_noise"
  if not callable(schedule):
    raise ValueError(f"{fn}: schedule={schedule!r} must be a schedule (a callable of the step)")
  first, end = _noise_bounds(fn, noise_range)
  c.check_real(fn, "noise_pct", noise_pct, low=0.0, high=1.0, low_open=True)
  c.check_real(fn, "noise_std", noise_std, low=0.0)
  _check_seed(fn, seed)
  c.check_choice(fn, "noise_type", noise_type, NOISE_TYPES)

  def noisy_schedule(count):
    t = c.as_count(count)
    lr = schedule(count)
    inside = t >= first if end is None else (t >= first) & (t < end)
    noise = jnp.where(inside, _draw(t, seed, noise_pct, noise_std, noise_type), 0.0)
    return c.finish(lr * (1.0 + noise).astype(lr.dtype))

  return noisy_schedule
