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
from typing import Any, Sequence, Union

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


def _power(base: Any, k: jax.Array, dtype: jnp.dtype) -> jax.Array:
  """``base ** k`` for ``base >= 0`` and a whole ``k >= 0`` (float), with ``0 ** 0 = 1``.

  ``exp(k log base)`` with the logarithm of a concrete base taken in float64.
  """
  b = c.as_value(base, dtype)
  value = c.concrete(base)
  safe = jnp.where(b > 0, b, 1.0) if value is None else np.where(value > 0, value, 1.0)
  return jnp.where(k == 0, 1.0, jnp.where(b > 0, jnp.exp(k * c.log_of(safe, dtype)), 0.0))


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
    lr_max = peak * _power(cycle_decay, jnp.where(live, i, 0).astype(dtype), dtype)
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
    return c.finish(_warmed(t, w, warmup_lr_init, peak, peak * _power(decay_rate, k, dtype), dtype))

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
    return c.finish(
      _warmed(t, w, warmup_lr_init, peak, peak * _power(decay_rate, k.astype(dtype), dtype), dtype)
    )

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
