"""Cyclical schedules: CyclicLR and the one-cycle policy, with their momenta."""

from typing import Any, Optional

import jax.numpy as jnp
import optax
from jax.typing import ArrayLike

from jaxsched import _common as c

CYCLIC_MODES = ("triangular", "triangular2", "exp_range")
ANNEAL_STRATEGIES = ("cos", "linear")


def _check_cycle(fn: str, step_size_up: Any, step_size_down: Any, mode: str, gamma: Any) -> None:
  c.check_steps(fn, "step_size_up", step_size_up, minimum=1)
  if step_size_down is not None:
    c.check_steps(fn, "step_size_down", step_size_down, minimum=1)
  c.check_choice(fn, "mode", mode, CYCLIC_MODES)
  c.check_real(fn, "gamma", gamma, low=0.0, high=1.0, low_open=True)


def _cycle_height(count, step_size_up, step_size_down, mode, gamma, dtype):
  """CyclicLR's ``scale_factor * scale_fn``, in [0, 1], from integer steps.

  PyTorch forms ``x = 1 + t / total - cycle`` in floating point; here the
  position ``r = t mod total`` in the cycle is an integer, and ``x <= up/total``
  becomes the exact ``r <= up``.
  """
  t = c.as_count(count)
  up = jnp.maximum(c.as_steps(step_size_up), 1)
  down = up if step_size_down is None else jnp.maximum(c.as_steps(step_size_down), 1)
  total = up + down
  r = t % total
  rising = r <= up
  height = jnp.where(rising, c.fraction(r, up, dtype), c.fraction(total - r, down, dtype))
  if mode == "triangular2":
    cycle = (t // total).astype(dtype)  # PyTorch's cycle - 1
    height = height * jnp.exp2(-cycle)
  elif mode == "exp_range":
    height = height * c.as_value(gamma, dtype) ** t.astype(dtype)
  return height


def cyclic(
  base_lr: ArrayLike,
  max_lr: ArrayLike,
  step_size_up: int | ArrayLike = 2000,
  step_size_down: Optional[int | ArrayLike] = None,
  mode: str = "triangular",
  gamma: ArrayLike = 1.0,
) -> optax.Schedule:
  """Cyclical learning rate: triangles between ``base_lr`` and ``max_lr``.

  .. math::
    \\eta_t = \\eta_{base} + (\\eta_{max} - \\eta_{base}) \\, h(r) \\, s, \\qquad
    h(r) = \\begin{cases} r / u & r \\le u \\\\ (u + d - r) / d & r > u \\end{cases}

  with ``r = t mod (u + d)``, ``s = 1`` (triangular), ``2**-(cycle-1)``
  (triangular2) or ``gamma**t`` (exp_range).

  PyTorch: ``CyclicLR(optimizer, base_lr, max_lr, step_size_up, step_size_down,
  mode, gamma)``. Seed 000's ``CyclicLR`` and seed 004's ``CyclicalScheduler``
  compute the same triangle for symmetric cycles.

  Args:
    base_lr: the low end of the cycle, >= 0.
    max_lr: the high end, >= 0.
    step_size_up: steps from low to high, >= 1.
    step_size_down: steps from high to low, >= 1; defaults to ``step_size_up``.
    mode: "triangular", "triangular2" or "exp_range".
    gamma: exp_range decay per step, in (0, 1].

  Returns:
    An ``optax.Schedule``.

  Examples:
    >>> import jaxsched
    >>> float(jaxsched.cyclic(0.0, 1.0, step_size_up=4)(2))
    0.5

  References:
    Smith, 2017: https://arxiv.org/abs/1506.01186
  """
  fn = "cyclic"
  c.check_real(fn, "base_lr", base_lr, low=0.0)
  c.check_real(fn, "max_lr", max_lr, low=0.0)
  _check_cycle(fn, step_size_up, step_size_down, mode, gamma)
  dtype = c.value_dtype(base_lr, max_lr, gamma)

  def schedule(count):
    h = _cycle_height(count, step_size_up, step_size_down, mode, gamma, dtype)
    return c.finish(c.mix(c.as_value(max_lr, dtype), c.as_value(base_lr, dtype), h))

  return schedule


def cyclic_momentum(
  base_momentum: ArrayLike = 0.8,
  max_momentum: ArrayLike = 0.9,
  step_size_up: int | ArrayLike = 2000,
  step_size_down: Optional[int | ArrayLike] = None,
  mode: str = "triangular",
  gamma: ArrayLike = 1.0,
) -> optax.Schedule:
  """The momentum that cycles against :func:`cyclic`'s learning rate.

  .. math:: m_t = m_{max} - (m_{max} - m_{base}) \\, h(r) \\, s

  with ``h`` and ``s`` as in :func:`cyclic` for the same step sizes and mode.

  PyTorch: the momentum (or Adam's ``beta1``) that ``CyclicLR(...,
  cycle_momentum=True)`` writes into the optimizer. Use it as
  ``optax.inject_hyperparams(optax.sgd)(learning_rate=lr, momentum=m)``.

  Args:
    base_momentum: momentum at the LR peak, in [0, 1].
    max_momentum: momentum at the LR trough, in [0, 1].
    step_size_up: steps from low to high LR, >= 1.
    step_size_down: steps from high to low LR, >= 1; defaults to ``step_size_up``.
    mode: "triangular", "triangular2" or "exp_range".
    gamma: exp_range decay per step, in (0, 1].

  Returns:
    An ``optax.Schedule`` of momentum values.

  Examples:
    >>> import jaxsched
    >>> round(float(jaxsched.cyclic_momentum(0.8, 0.9, step_size_up=4)(4)), 6)
    0.8
  """
  fn = "cyclic_momentum"
  c.check_real(fn, "base_momentum", base_momentum, low=0.0, high=1.0)
  c.check_real(fn, "max_momentum", max_momentum, low=0.0, high=1.0)
  _check_cycle(fn, step_size_up, step_size_down, mode, gamma)
  dtype = c.value_dtype(base_momentum, max_momentum, gamma)

  def schedule(count):
    h = _cycle_height(count, step_size_up, step_size_down, mode, gamma, dtype)
    return c.finish(c.mix(c.as_value(base_momentum, dtype), c.as_value(max_momentum, dtype), h))

  return schedule


def _check_one_cycle(
  fn: str, total_steps: Any, pct_start: Any, anneal_strategy: str, three_phase: bool
) -> None:
  c.check_steps(fn, "total_steps", total_steps, minimum=1)
  c.check_real(fn, "pct_start", pct_start, low=0.0, high=1.0)
  c.check_bool(fn, "three_phase", three_phase)
  c.check_choice(fn, "anneal_strategy", anneal_strategy, ANNEAL_STRATEGIES)


def _one_cycle_curve(count, total_steps, pct_start, anneal_strategy, three_phase, values, dtype):
  """PyTorch's ``OneCycleLR`` phases, through ``values`` at their ends.

  Phase ends are ``pct * T - 1`` and ``T - 1`` (two phases) or ``pct * T - 1``,
  ``2 pct * T - 2`` and ``T - 1`` (three). Inside a phase the value moves from
  its start to its end value by a half cosine or a straight line. A step
  belongs to the first phase whose end it has not passed, as in PyTorch: with
  three phases and ``pct > 0.5`` the second one ends after ``T - 1``, so the
  cycle ends inside it and the third is never reached. From step ``T - 1`` on
  the value there is held (PyTorch raises past ``T``).
  """
  total = c.as_steps(total_steps).astype(dtype)
  pct = c.as_value(pct_start, dtype)
  ends = (
    [pct * total - 1.0, 2.0 * pct * total - 2.0, total - 1.0]
    if three_phase
    else [pct * total - 1.0, total - 1.0]
  )
  t = jnp.minimum(c.as_count(count).astype(dtype), total - 1.0)
  out = None
  for i in reversed(range(len(ends))):
    start = 0.0 if i == 0 else ends[i - 1]
    span = ends[i] - start
    safe_span = jnp.where(span > 0, span, 1.0)
    p = jnp.clip(jnp.where(span > 0, (t - start) / safe_span, 1.0), 0.0, 1.0)
    q = jnp.clip(jnp.where(span > 0, (ends[i] - t) / safe_span, 0.0), 0.0, 1.0)  # 1 - p
    w = c.cosine_weight(p, q) if anneal_strategy == "cos" else q
    value = c.mix(values[i], values[i + 1], w)
    out = value if out is None else jnp.where(t <= ends[i], value, out)
  return out


def one_cycle(
  max_lr: ArrayLike,
  total_steps: int | ArrayLike,
  pct_start: ArrayLike = 0.3,
  anneal_strategy: str = "cos",
  div_factor: ArrayLike = 25.0,
  final_div_factor: ArrayLike = 1e4,
  three_phase: bool = False,
) -> optax.Schedule:
  """The one-cycle policy: up to ``max_lr``, then down far below the start.

  .. math::
    \\eta_0 = \\eta_{max} / d, \\quad \\eta_{min} = \\eta_0 / d_f; \\qquad
    \\eta_0 \\nearrow \\eta_{max} \\text{ until } pT - 1, \\;
    \\searrow \\eta_{min} \\text{ until } T - 1

  (three phases: ``eta_0 -> max -> eta_0 -> eta_min`` with ends ``pT - 1``,
  ``2pT - 2``, ``T - 1``), each by a half cosine or a line; a step is in the
  first phase whose end it has not passed (with three phases and ``p > 0.5``
  the cycle ends inside the second).

  PyTorch: ``OneCycleLR(optimizer, max_lr, total_steps, pct_start,
  anneal_strategy, div_factor=..., final_div_factor=..., three_phase=...)``.
  ``optax.cosine_onecycle_schedule`` ends its first phase at ``pT`` rather than
  ``pT - 1``. PyTorch can be stepped to step ``T`` (extrapolating its last
  phase there: below 0 for ``anneal_strategy="linear"``) and raises after it;
  this holds its value at ``T - 1`` (``eta_min`` unless three phases end
  early) from step ``T - 1`` on. :func:`from_torch` follows PyTorch at ``T`` too.

  Args:
    max_lr: the peak rate, >= 0.
    total_steps: length of the cycle, >= 1.
    pct_start: fraction of the cycle spent rising, in [0, 1] as PyTorch accepts
      (with three phases above 0.5 the cycle ends while the rate still falls
      back towards ``max_lr / div_factor``, as in PyTorch).
    anneal_strategy: "cos" or "linear".
    div_factor: ``max_lr / initial rate``, > 0.
    final_div_factor: ``initial rate / final rate``, > 0.
    three_phase: use the symmetric three-phase variant.

  Returns:
    An ``optax.Schedule``.

  Examples:
    >>> import jaxsched
    >>> sched = jaxsched.one_cycle(1.0, total_steps=10, pct_start=0.5)
    >>> round(float(sched(0)), 6), round(float(sched(4)), 6)
    (0.04, 1.0)

  References:
    Smith & Topin, 2019: https://arxiv.org/abs/1708.07120
  """
  fn = "one_cycle"
  c.check_real(fn, "max_lr", max_lr, low=0.0)
  _check_one_cycle(fn, total_steps, pct_start, anneal_strategy, three_phase)
  c.check_real(fn, "div_factor", div_factor, low=0.0, low_open=True)
  c.check_real(fn, "final_div_factor", final_div_factor, low=0.0, low_open=True)
  dtype = c.value_dtype(max_lr, pct_start, div_factor, final_div_factor)

  def schedule(count):
    peak = c.as_value(max_lr, dtype)
    initial = peak / c.as_value(div_factor, dtype)
    final = initial / c.as_value(final_div_factor, dtype)
    values = [initial, peak, initial, final] if three_phase else [initial, peak, final]
    return c.finish(
      _one_cycle_curve(count, total_steps, pct_start, anneal_strategy, three_phase, values, dtype)
    )

  return schedule


def one_cycle_momentum(
  total_steps: int | ArrayLike,
  base_momentum: ArrayLike = 0.85,
  max_momentum: ArrayLike = 0.95,
  pct_start: ArrayLike = 0.3,
  anneal_strategy: str = "cos",
  three_phase: bool = False,
) -> optax.Schedule:
  """The momentum (or Adam ``b1``) that moves against :func:`one_cycle`'s rate.

  .. math::
    m_{max} \\searrow m_{base} \\text{ until } pT - 1, \\; \\nearrow m_{max}
    \\text{ until } T - 1

  (three phases: ``max -> base -> max -> max``).

  PyTorch: the momentum, or ``betas[0]`` for Adam, that ``OneCycleLR(...,
  cycle_momentum=True, base_momentum, max_momentum)`` writes into the
  optimizer. Use with ``optax.inject_hyperparams(optax.adam)(learning_rate=lr,
  b1=m)``.

  Args:
    total_steps: length of the cycle, >= 1.
    base_momentum: momentum at the LR peak, in [0, 1].
    max_momentum: momentum at the start and end, in [0, 1].
    pct_start: fraction of the cycle spent rising, as in :func:`one_cycle`.
    anneal_strategy: "cos" or "linear".
    three_phase: use the symmetric three-phase variant.

  Returns:
    An ``optax.Schedule`` of momentum values.

  Examples:
    >>> import jaxsched
    >>> round(float(jaxsched.one_cycle_momentum(total_steps=100)(0)), 6)
    0.95
  """
  fn = "one_cycle_momentum"
  _check_one_cycle(fn, total_steps, pct_start, anneal_strategy, three_phase)
  c.check_real(fn, "base_momentum", base_momentum, low=0.0, high=1.0)
  c.check_real(fn, "max_momentum", max_momentum, low=0.0, high=1.0)
  dtype = c.value_dtype(base_momentum, max_momentum, pct_start)

  def schedule(count):
    low, high = c.as_value(base_momentum, dtype), c.as_value(max_momentum, dtype)
    values = [high, low, high, high] if three_phase else [high, low, high]
    return c.finish(
      _one_cycle_curve(count, total_steps, pct_start, anneal_strategy, three_phase, values, dtype)
    )

  return schedule
