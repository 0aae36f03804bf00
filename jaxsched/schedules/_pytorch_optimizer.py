"""pytorch_optimizer's LR schedulers (``pytorch_optimizer.lr_scheduler``) that jaxsched lacked.

Each factory takes the reference's keyword names and gives at step ``t`` the
value of the reference's formula at ``t``. Where the scheduler objects hold
another rate than their formula (REXScheduler and
CosineAnnealingWarmupRestarts start at ``min_lr``; LinearScheduler,
CosineScheduler and PolyScheduler run one ``step()`` behind it),
:func:`jaxsched.from_torch` converts the object to the rates it really holds;
each docstring says where. pytorch_optimizer's ``LinearScheduler`` and
``CosineScheduler`` are :func:`warmup_linear` and :func:`warmup_cosine` with
``hold_after_end=False``; its ``get_wsd_schedule`` is a
:func:`warmup_stable_decay` (see :func:`from_torch`).
"""

import jax.numpy as jnp
import numpy as np
import optax
from jax.typing import ArrayLike

from jaxsched import _common as c


def rex(max_lr: ArrayLike, total_steps: int | ArrayLike, min_lr: ArrayLike = 0.0) -> optax.Schedule:
  """REX: a rational decay from ``max_lr`` to ``min_lr`` over ``total_steps``.

  With ``z = t / T``:

  .. math::
    \\eta_t = \\begin{cases}
      \\eta_{min} + (\\eta_{max} - \\eta_{min}) \\frac{1 - z}{1 - z / 2} & t < T \\\\
      \\eta_{min} & t \\ge T
    \\end{cases}

  pytorch_optimizer: ``REXScheduler(optimizer, total_steps, max_lr,
  min_lr)``, whose ``step()`` returns this value at ``t`` on its ``t``-th
  call (counting the one its construction makes as call 0). The object is
  odd at its start: its construction sets every param group to ``min_lr``
  (its ``init_lr`` overwrites the ``max_lr`` that call set), so the first
  update uses ``min_lr`` (no update at all for the default ``min_lr=0``);
  and it sets every group to the same absolute rate, whatever the group's
  ``lr``. This factory follows the paper (``max_lr`` at step 0);
  :func:`from_torch` gives the object's rates (``min_lr`` at step 0).

  Args:
    max_lr: the rate at step 0, >= 0.
    total_steps: the budget ``T``, >= 0 (0: ``min_lr`` throughout).
    min_lr: the rate from ``T`` on, >= 0.

  Returns:
    An ``optax.Schedule``.

  Examples:
    >>> import jaxsched
    >>> sched = jaxsched.rex(1.0, total_steps=100)
    >>> float(sched(0)), round(float(sched(50)), 6), float(sched(100))
    (1.0, 0.666667, 0.0)

  References:
    Chen, Wolfe & Kyrillidis, 2022: https://arxiv.org/abs/2107.04197
  """
  fn = "rex"
  c.check_real(fn, "max_lr", max_lr, low=0.0)
  c.check_steps(fn, "total_steps", total_steps)
  c.check_real(fn, "min_lr", min_lr, low=0.0)
  dtype = c.value_dtype(max_lr, min_lr)

  def schedule(count):
    t = c.as_count(count)
    n = c.as_steps(total_steps)
    left = jnp.maximum(n - t, 0).astype(dtype)  # T - t, exact
    # (1 - z) / (1 - z / 2) = (T - t) / (T - t / 2)
    weight = left / jnp.maximum(n.astype(dtype) - 0.5 * jnp.minimum(t, n).astype(dtype), 0.5)
    top, floor = c.as_value(max_lr, dtype), c.as_value(min_lr, dtype)
    return c.finish(jnp.where(t < n, c.mix(top, floor, weight), floor))

  return schedule


def _chebyshev_table(num_epochs: int, small_m: float, big_m: float) -> np.ndarray:
  """pytorch_optimizer's Chebyshev multipliers for ``num_epochs``, in its order (float64).

  ``get_chebyshev_lr_lambda`` takes the next power of two ``E`` above
  ``num_epochs - 1``, the reciprocal Chebyshev nodes ``1 / (c - r cos((k + 1/2)
  pi / E))`` of ``[m, M]`` and their fractal permutation, built by doubling
  ``perm -> [perm, 2 len - 1 - perm]`` interleaved until it holds ``E - 2``
  indices.
  """
  size = 2 ** (int(np.log2(num_epochs - 1)) + 1) if num_epochs > 1 else 1
  center, radius = (big_m + small_m) / 2.0, (big_m - small_m) / 2.0
  thetas = (np.arange(size) + 0.5) * np.pi / size
  nodes = 1.0 / (center - radius * np.cos(thetas))
  perm = np.array([0])
  while len(perm) < size - 2:
    perm = np.vstack([perm, 2 * len(perm) - 1 - perm]).T.flatten()
  return nodes[perm[perm < size]]


def chebyshev(
  init_value: ArrayLike,
  num_epochs: int,
  small_m: float = 0.05,
  big_m: float = 1.0,
) -> optax.Schedule:
  """Chebyshev step sizes in fractal order: the rate times reciprocal Chebyshev nodes.

  With ``E`` the smallest power of two above ``num_epochs - 1`` and
  ``c, r = (M + m) / 2, (M - m) / 2``, the multipliers are

  .. math::
    \\lambda_k = \\frac{1}{c - r \\cos((k + \\tfrac12) \\pi / E)}, \\qquad
    \\eta_t = \\eta_0 \\, \\lambda_{\\sigma(\\min(\\max(t - 2, 0), n - 1))}

  with ``sigma`` the fractal permutation of the nodes (``n`` of them) that
  keeps every partial product of the steps stable. They range from
  ``1 / M`` to ``1 / m``: up to 20 times ``init_value`` for the defaults.

  pytorch_optimizer: ``get_chebyshev_schedule(optimizer, num_epochs)`` (a
  ``LambdaLR``, usually stepped once per epoch), with ``init_value`` the
  optimizer's ``lr``; its ``is_warmup=True`` is the constant rate. Odd in the
  reference, and kept here: the schedule starts at the node of ``t - 2``, so
  steps 0, 1 and 2 share the first multiplier; the table is built for ``E``
  (not ``num_epochs``) nodes and holds its last one after them; and for
  ``E = 4`` its permutation keeps only 2 of the 4 nodes.

  Args:
    init_value: the optimizer's rate that the multipliers scale, >= 0.
    num_epochs: the horizon the nodes are built for, >= 1 (static).
    small_m: the lower end ``m`` of the spectral interval, in (0, big_m].
    big_m: its upper end ``M``, > 0.

  Returns:
    An ``optax.Schedule``.

  Examples:
    >>> import jaxsched
    >>> sched = jaxsched.chebyshev(0.1, num_epochs=10)
    >>> round(float(sched(0)), 4), round(float(sched(3)), 4)
    (1.9125, 0.1002)

  References:
    Agarwal, Goel & Zhang, 2021: https://arxiv.org/abs/2103.01338
  """
  fn = "chebyshev"
  c.check_real(fn, "init_value", init_value, low=0.0)
  if c.is_traced(num_epochs):
    raise ValueError(f"{fn}: num_epochs must be a concrete integer (it sizes the table)")
  c.check_steps(fn, "num_epochs", num_epochs, minimum=1, noun="epochs")
  if c.is_traced((small_m, big_m)):
    raise ValueError(f"{fn}: small_m and big_m must be concrete numbers (they build the table)")
  c.check_real(fn, "big_m", big_m, low=0.0, low_open=True)
  c.check_real(fn, "small_m", small_m, low=0.0, low_open=True)
  c.check_order(fn, "small_m", small_m, "big_m", big_m)
  dtype = c.value_dtype(init_value)
  table = jnp.asarray(_chebyshev_table(int(num_epochs), float(small_m), float(big_m)), dtype)
  last = table.shape[0] - 1

  def schedule(count):
    t = c.as_count(count)
    return c.finish(c.as_value(init_value, dtype) * table[jnp.clip(t - 2, 0, last)])

  return schedule


def _restart_cycles(first_cycle_steps: int, cycle_mult: float, warmup_steps: int):
  """``(starts, lengths)``: the cycles of CosineAnnealingWarmupRestarts, listed in NumPy.

  Cycle ``i + 1`` lasts ``max(1, int((L_i - W) m)) + W`` steps: the lengths
  grow strictly or stop changing (``m >= 1``), or shrink to a fixed length
  (``m < 1``). They are listed until a cycle starts past ``2**31 - 1`` or the
  length stops changing; from the last one listed on, cycles repeat with its
  length. Strict growth by whole steps keeps the list short (below 50,000
  cycles for any ``m``).
  """
  starts, lengths = [0], [first_cycle_steps]
  while starts[-1] + lengths[-1] <= c.INT32_MAX:
    length = max(1, int((lengths[-1] - warmup_steps) * cycle_mult)) + warmup_steps
    starts.append(starts[-1] + lengths[-1])
    lengths.append(length)
    if length == lengths[-2]:  # a fixed point: every later cycle is this long
      break
  return np.asarray(starts, np.int64), np.asarray(lengths, np.int64)


def cosine_annealing_warmup_restarts(
  first_cycle_steps: int,
  cycle_mult: float = 1.0,
  max_lr: ArrayLike = 1e-4,
  min_lr: ArrayLike = 1e-6,
  warmup_steps: int = 0,
  gamma: ArrayLike = 0.9,
) -> optax.Schedule:
  """Cosine cycles, each with its own linear warmup, whose peaks decay by ``gamma``.

  Cycle ``i`` (from 0) lasts ``L_i`` steps, ``L_0 = first_cycle_steps`` and
  ``L_{i+1} = max(1, int((L_i - W) m)) + W``. At step ``s`` of cycle ``i``,
  with ``p_i = max_lr gamma^i``:

  .. math::
    \\eta_t = \\begin{cases}
      \\eta_{min} + (p_i - \\eta_{min}) \\, s / W & s < W \\\\
      \\eta_{min} + (p_i - \\eta_{min}) \\frac{1 + \\cos(\\pi (s - W) / (L_i - W))}{2} & s \\ge W
    \\end{cases}

  pytorch_optimizer: ``CosineAnnealingWarmupRestarts(optimizer,
  first_cycle_steps, cycle_mult, max_lr, min_lr, warmup_steps, gamma)``
  stepped with ``step()``: the rate it sets at its ``last_epoch == t``. The
  rates are absolute: every param group gets the same one, whatever its
  ``lr``. Odd in the reference: with ``warmup_steps=0`` its construction sets
  ``min_lr`` where this formula gives ``max_lr`` (:func:`from_torch` gives
  the object's ``min_lr`` at step 0); and a ``gamma`` close to 0 can put a
  later peak below ``min_lr``, which the cosine then climbs up to.

  Args:
    first_cycle_steps: length of the first cycle, > ``warmup_steps`` (static).
    cycle_mult: the factor on each cycle's post-warmup length, > 0 (static).
    max_lr: the first cycle's peak, >= 0.
    min_lr: the rate each cycle starts from and decays to, >= 0.
    warmup_steps: warmup steps at the start of every cycle, >= 0 (static).
    gamma: factor on the peak from one cycle to the next, in [0, 1].

  Returns:
    An ``optax.Schedule``.

  Examples:
    >>> import jaxsched
    >>> sched = jaxsched.cosine_annealing_warmup_restarts(
    ...     10, max_lr=1.0, min_lr=0.0, warmup_steps=2, gamma=0.5)
    >>> float(sched(1)), float(sched(2)), float(sched(12))
    (0.5, 1.0, 0.5)
  """
  fn = "cosine_annealing_warmup_restarts"
  if c.is_traced((first_cycle_steps, cycle_mult, warmup_steps)):
    raise ValueError(
      f"{fn}: first_cycle_steps, cycle_mult and warmup_steps must be concrete (they "
      "build the table of cycles)"
    )
  c.check_steps(fn, "first_cycle_steps", first_cycle_steps, minimum=1)
  c.check_steps(fn, "warmup_steps", warmup_steps)
  c.check_order(
    fn, "warmup_steps", warmup_steps, "first_cycle_steps", first_cycle_steps, strict=True
  )
  c.check_real(fn, "cycle_mult", cycle_mult, low=0.0, low_open=True)
  c.check_real(fn, "max_lr", max_lr, low=0.0)
  c.check_real(fn, "min_lr", min_lr, low=0.0)
  c.check_real(fn, "gamma", gamma, low=0.0, high=1.0)
  starts, lengths = _restart_cycles(int(first_cycle_steps), float(cycle_mult), int(warmup_steps))
  last = len(starts) - 1
  period = int(lengths[-1])
  starts_j = jnp.asarray(starts, jnp.int32)
  lengths_j = jnp.asarray(lengths, jnp.int32)
  w = int(warmup_steps)
  dtype = c.value_dtype(max_lr, min_lr, gamma)

  def schedule(count):
    t = c.as_count(count)
    listed = jnp.clip(jnp.searchsorted(starts_j, t, side="right") - 1, 0, last)
    since = t - starts_j[listed]
    beyond = since // period  # cycles past the last one listed (all of length ``period``)
    i = jnp.where(listed == last, last + beyond, listed)
    s = jnp.where(listed == last, since % period, since)
    length = lengths_j[jnp.minimum(i, last)]
    floor = c.as_value(min_lr, dtype)
    peak = c.as_value(max_lr, dtype) * c.whole_power(gamma, i.astype(dtype), dtype)
    ramp = c.fraction(s, jnp.asarray(max(w, 1), jnp.int32), dtype)
    decay = c.cosine_weight(
      c.fraction(s - w, length - w, dtype), c.fraction(length - s, length - w, dtype)
    )
    return c.finish(c.mix(peak, floor, jnp.where(s < w, ramp, decay)))

  return schedule


def proportion(
  schedule: optax.Schedule,
  max_lr: float,
  min_lr: float = 0.0,
  max_value: ArrayLike = 2.0,
  min_value: ArrayLike = 2.0,
) -> optax.Schedule:
  """Another hyperparameter proportional to a learning-rate schedule (GSAM's rho).

  .. math::
    v_t = \\begin{cases}
      v_{min} + (v_{max} - v_{min}) \\frac{\\eta_t - \\eta_{min}}{\\eta_{max} - \\eta_{min}}
        & \\eta_{max} > \\eta_{min} \\\\
      v_{max} & \\text{otherwise}
    \\end{cases}

  floored at 0, with ``eta_t = schedule(t)``: ``max_value`` where the rate is
  ``max_lr``, ``min_value`` where it is ``min_lr``, on the line through them.

  pytorch_optimizer: ``ProportionScheduler(lr_scheduler, max_lr, min_lr,
  max_value, min_value)``, stepped after its ``lr_scheduler``. That object is
  no scheduler of an optimizer, so :func:`from_torch` does not take it: give
  its LR scheduler's conversion here, ``proportion(from_torch(lr_scheduler),
  ...)``. Odd in the reference: before its first ``step()`` it reads the
  ``last_lr`` pytorch_optimizer's own schedulers start with (``init_lr``, or
  ``max_lr`` for REXScheduler), not the ``min_lr`` their optimizer holds.

  Args:
    schedule: the learning-rate schedule (any callable of the step).
    max_lr: the rate mapped to ``max_value``, >= 0.
    min_lr: the rate mapped to ``min_value``, >= 0.
    max_value: the value at ``max_lr``, >= 0.
    min_value: the value at ``min_lr``, >= 0.

  Returns:
    An ``optax.Schedule`` of the proportional value.

  Examples:
    >>> import jaxsched
    >>> lr = jaxsched.warmup_cosine(0.1, 0, 100)
    >>> rho = jaxsched.proportion(lr, max_lr=0.1, max_value=0.05, min_value=0.01)
    >>> round(float(rho(0)), 6), round(float(rho(50)), 6)
    (0.05, 0.03)

  References:
    Zhuang et al., 2022 (GSAM): https://arxiv.org/abs/2203.08065
  """
  fn = "proportion"
  if not callable(schedule):
    raise ValueError(f"{fn}: schedule={schedule!r} must be a schedule (a callable of the step)")
  c.check_real(fn, "max_lr", max_lr, low=0.0)
  c.check_real(fn, "min_lr", min_lr, low=0.0)
  c.check_real(fn, "max_value", max_value, low=0.0)
  c.check_real(fn, "min_value", min_value, low=0.0)
  lr_schedule = schedule

  def proportional(count):
    lr = jnp.asarray(lr_schedule(count))
    dtype = jnp.result_type(c.value_dtype(max_value, min_value), lr)
    top, bottom = c.as_value(max_lr, dtype), c.as_value(min_lr, dtype)
    high, low = c.as_value(max_value, dtype), c.as_value(min_value, dtype)
    span = jnp.where(top > bottom, top - bottom, 1.0)
    value = low + (high - low) * (lr.astype(dtype) - bottom) / span
    return c.finish(jnp.where(top > bottom, value, high))

  return proportional


def warmup_poly_growth(
  max_lr: ArrayLike,
  warmup_steps: int | ArrayLike = 0,
  poly_order: ArrayLike = 0.5,
  min_lr: ArrayLike = 0.0,
  init_lr: ArrayLike = 0.0,
) -> optax.Schedule:
  """pytorch_optimizer's ``PolyScheduler`` formula: a warmup, then a rate growing as a power.

  .. math::
    \\eta_t = \\begin{cases}
      \\eta_{init} + (\\eta_{max} - \\eta_{init}) \\, t / W & t < W \\\\
      \\eta_{max} & t = W \\\\
      \\eta_{min} + (\\eta_{max} - \\eta_{min}) \\, (t - W)^{k} & t > W
    \\end{cases}

  saturating at the largest finite float. pytorch_optimizer:
  ``PolyScheduler(optimizer, poly_order=k, t_max=..., max_lr, min_lr,
  init_lr, warmup_steps)``, whose ``n``-th ``step()`` call returns this value
  at ``n`` (:func:`from_torch` gives the rate the object holds, one call
  behind). Its docstring states this formula, and it is odd: nothing
  normalizes ``t - W`` by ``t_max`` (which the object ignores), so the rate
  never decays: it is ``max_lr`` at ``W + 1`` and grows without bound after
  (``(t - W)^k >= 1``). jaxsched reproduces it as written, so that a
  converted run is the run that was made; for a polynomial decay after a
  warmup use :func:`warmup_polynomial` or :func:`polynomial_decay`.

  Args:
    max_lr: the rate at the end of the warmup, >= 0.
    warmup_steps: warmup steps ``W``, >= 0.
    poly_order: the exponent ``k``, > 0.
    min_lr: the base of the growth, >= 0.
    init_lr: the rate at step 0 of the warmup, >= 0.

  Returns:
    An ``optax.Schedule``.

  Examples:
    >>> import jaxsched
    >>> sched = jaxsched.warmup_poly_growth(1.0, warmup_steps=2, poly_order=0.5)
    >>> float(sched(1)), float(sched(3)), float(sched(6))
    (0.5, 1.0, 2.0)
  """
  fn = "warmup_poly_growth"
  c.check_real(fn, "max_lr", max_lr, low=0.0)
  c.check_steps(fn, "warmup_steps", warmup_steps)
  c.check_real(fn, "poly_order", poly_order, low=0.0, low_open=True)
  c.check_real(fn, "min_lr", min_lr, low=0.0)
  c.check_real(fn, "init_lr", init_lr, low=0.0)
  dtype = c.value_dtype(max_lr, poly_order, min_lr, init_lr)

  def schedule(count):
    t = c.as_count(count)
    w = c.as_steps(warmup_steps)
    top, base = c.as_value(max_lr, dtype), c.as_value(min_lr, dtype)
    elapsed = jnp.maximum(t - w, 1).astype(dtype)
    growth = c.mix(top, base, jnp.exp(c.as_value(poly_order, dtype) * jnp.log(elapsed)))
    after = jnp.where(t == w, top, jnp.minimum(growth, jnp.finfo(dtype).max))
    init = c.as_value(init_lr, dtype)
    return c.finish(c.warmup_then(t, w, "linear", init, top, 1.0, dtype, after))

  return schedule
