"""The schedule a fitted loss law expects to end lowest, found by gradient descent through it."""

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.typing import ArrayLike

from jaxsched import _common as c
from jaxsched.laws import _law
from jaxsched.schedules import _piecewise


class OptimizedSchedule(NamedTuple):
  """What :func:`optimize_schedule` found.

  Attributes:
    schedule: ``jaxsched.piecewise_linear(boundaries, values)``.
    final_loss: the law's predicted loss after the last update.
    boundaries: the steps of the knots (the warmup's start and end first).
    values: the rates at the knots.
  """

  schedule: optax.Schedule
  final_loss: float
  boundaries: tuple
  values: tuple

  @property
  def config(self) -> dict:
    """The schedule as a config: ``jaxsched.from_config(result.config)`` builds it again."""
    return {
      "type": "piecewise_linear",
      "boundaries": list(self.boundaries),
      "values": list(self.values),
    }


def _decay_values(logits: jax.Array, peak: jax.Array, end: jax.Array) -> jax.Array:
  """``peak, then peak - (peak - end) * cumsum(softmax(logits))[:-1]``: never rising, >= end.

  The last logit is slack: the share of ``peak - end`` left unused.
  """
  steps = jnp.cumsum(jax.nn.softmax(logits))[:-1]
  return jnp.concatenate([peak[None], peak - (peak - end) * steps])


@functools.partial(jax.jit, static_argnames=("kind", "total_steps"))
def _descend(
  kind: str,
  total_steps: int,
  iterations: jax.Array,
  params: dict,
  start: jax.Array,
  boundaries: jax.Array,
  head: jax.Array,
  peak: jax.Array,
  end: jax.Array,
  learning_rate: jax.Array,
) -> tuple:
  """Adam on the logits from one start; the end point and its final loss."""
  law = _law.LossLaw(kind, params, 0.0)
  last = jnp.asarray([total_steps - 1])

  def final_loss(logits):
    values = jnp.concatenate([head, _decay_values(logits, peak, end)])
    lrs = _piecewise.piecewise_linear(boundaries, values)(jnp.arange(total_steps))
    return law.predict(lrs, last)[0]

  opt = optax.adam(learning_rate)

  def step(_, carry):
    logits, state = carry
    updates, state = opt.update(jax.grad(final_loss)(logits), state)
    return optax.apply_updates(logits, updates), state

  logits, _ = jax.lax.fori_loop(0, iterations, step, (start, opt.init(start)))
  loss = final_loss(logits)
  return logits, jnp.where(jnp.isfinite(loss), loss, jnp.inf)


def optimize_schedule(
  law: _law.LossLaw,
  total_steps: int,
  peak_value: ArrayLike,
  warmup_steps: int = 0,
  *,
  end_value: ArrayLike = 0.0,
  num_knots: int = 16,
  iterations: int = 500,
  learning_rate: ArrayLike = 0.05,
) -> OptimizedSchedule:
  """The decay after warmup that ``law`` predicts to end at the lowest loss.

  The schedule is a linear warmup from 0 to ``peak_value`` over
  ``warmup_steps`` steps, then straight lines through ``num_knots + 1``
  knots spread evenly from ``warmup_steps`` to ``total_steps - 1``: the first
  at ``peak_value``, the others

  .. math::
    v_j = p - (p - e) \\sum_{i < j} \\operatorname{softmax}(\\theta)_i,
    \\qquad \\theta \\in \\mathbb{R}^{K + 1}

  so that every candidate is non-increasing and stays in ``[e, p]`` (the last
  logit is slack, the share of ``p - e`` left unused). The logits minimize
  the law's predicted loss after update ``total_steps - 1`` by Adam in a
  jitted program, from three starts (a near-linear decay, a late one and an
  early one); the best end point wins. Luo et al. optimize every step's
  rate; a few knots find the same shape (a long stable phase, then a decay
  to near ``e``, for the multi-power law) with a schedule that is easy to
  read, plot and write as a config.

  Args:
    law: a fitted :class:`LossLaw`.
    total_steps: the run's number of updates, >= 2.
    peak_value: the rate after warmup, > 0.
    warmup_steps: the length of the linear warmup, >= 0, with
      ``warmup_steps + num_knots <= total_steps - 1``.
    end_value: the lowest rate allowed, in ``[0, peak_value)``.
    num_knots: the number of free knots of the decay, >= 1.
    iterations: Adam steps from each start, >= 1.
    learning_rate: Adam's learning rate on the logits, > 0.

  Returns:
    An :class:`OptimizedSchedule`: ``schedule`` (a
    :func:`jaxsched.piecewise_linear`), its predicted ``final_loss``, its
    ``boundaries`` and ``values``, and its ``config``.

  Examples:
    >>> import jaxsched
    >>> law = jaxsched.LossLaw("multi_power", dict(
    ...   L0=2.5, A=0.6, alpha=0.45, B=400.0, C=2.0, beta=0.6, gamma=0.65), 0.0)
    >>> best = jaxsched.optimize_schedule(law, 1000, 3e-4, 50, num_knots=4, iterations=100)
    >>> best.boundaries
    (0, 50, 287, 524, 762, 999)
    >>> cosine = jaxsched.warmup_cosine(3e-4, 50, 1000)
    >>> best.final_loss < float(law.predict(cosine, 999))
    True

  References:
    Luo et al., 2025, A Multi-Power Law for Loss Curve Prediction Across
    Learning Rate Schedules: https://arxiv.org/abs/2503.12811
  """
  fn = "optimize_schedule"
  if not isinstance(law, _law.LossLaw):
    raise ValueError(f"{fn}: law={law!r} must be a LossLaw (from fit_loss_law)")
  c.check_choice(fn, "law.kind", law.kind, _law.KINDS)
  c.check_steps(fn, "total_steps", total_steps, minimum=2)
  c.check_real(fn, "peak_value", peak_value, low=0.0, low_open=True)
  c.check_steps(fn, "warmup_steps", warmup_steps)
  c.check_real(fn, "end_value", end_value, low=0.0)
  c.check_order(fn, "end_value", end_value, "peak_value", peak_value, strict=True)
  c.check_steps(fn, "num_knots", num_knots, minimum=1)
  c.check_steps(fn, "iterations", iterations, minimum=1)
  c.check_real(fn, "learning_rate", learning_rate, low=0.0, low_open=True)
  total, warm, k = int(total_steps), int(warmup_steps), int(num_knots)
  if warm + k > total - 1:
    raise ValueError(
      f"{fn}: warmup_steps={warm} + num_knots={k} must be <= total_steps - 1 = {total - 1} "
      "(one step at least between knots)"
    )
  knots = np.round(np.linspace(warm, total - 1, k + 1)).astype(np.int64)
  boundaries = np.concatenate([[0], knots]) if warm > 0 else knots
  head = np.zeros(1 if warm > 0 else 0, np.float32)  # the warmup starts at 0
  ramp = np.linspace(0.0, 3.0, k + 1)
  starts = np.stack([np.zeros(k + 1), ramp, -ramp]).astype(np.float32)  # linear, late, early
  starts[1:, -1] = 0.0  # the slack logit starts even
  peak = jnp.asarray(peak_value, jnp.float32)
  end = jnp.asarray(end_value, jnp.float32)
  # One compiled program run from each start in turn: compiling it for a batch
  # of starts takes twice as long as the runs themselves.
  ends = [
    _descend(
      law.kind,
      total,
      jnp.asarray(int(iterations)),
      {name: float(v) for name, v in law.params.items()},
      jnp.asarray(start),
      jnp.asarray(boundaries, jnp.int32),
      jnp.asarray(head),
      peak,
      end,
      jnp.asarray(learning_rate, jnp.float32),
    )
    for start in starts
  ]
  logits = min(ends, key=lambda e: float(e[1]))[0]
  decay = np.asarray(_decay_values(logits, peak, end), np.float64)
  values = tuple(float(v) for v in np.concatenate([head, decay]))
  schedule = _piecewise.piecewise_linear(boundaries, values)
  final = float(law.predict(schedule, total - 1))
  return OptimizedSchedule(schedule, final, tuple(int(b) for b in boundaries), values)
