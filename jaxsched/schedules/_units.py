"""Step units: batch-size schedules, schedules in samples or tokens, and per-update counting.

A *batch schedule* gives the global batch size of every update: a
:class:`BatchSchedule` of stages ``(start update, batch size)``, built by
:func:`staged_batch_size` (Levanter's ``BatchSchedule``) or
:func:`rampup_batch_size` (MaxText's and Megatron's batch-size ramp-up); a
plain integer is a constant batch size. :func:`consumed` counts the samples
(or tokens) that the updates before a step have used, :func:`steps_for`
inverts it on the host, and :func:`in_units` turns a schedule written in
samples or tokens into one of the update count. :func:`per_update` makes a
schedule advance once per optimizer update when it is driven by a counter of
micro-batches.

All counting is exact int32 arithmetic up to ``2**31 - 1`` units (counts
beyond saturate there, as every jaxsched schedule holds its value past that
step).
"""

import dataclasses
import math
from typing import NamedTuple, Optional, Sequence, Union

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.typing import ArrayLike

from jaxsched import _common as c

UNITS = ("samples", "tokens")


@dataclasses.dataclass(frozen=True)
class BatchSchedule:
  """A piecewise-constant global batch size: ``sizes[i]`` from update ``starts[i]`` on.

  Calling it with an update count (a traced or concrete int, any shape)
  gives the batch size of that update as int32: it is an integer-valued
  schedule that runs under ``jax.jit``. Build it with
  :func:`staged_batch_size` or :func:`rampup_batch_size`, which validate.
  (A frozen dataclass, not a NamedTuple: ``jax.jit`` of a callable needs a
  weak reference to it, which tuples cannot give.)

  Attributes:
    starts: the first update of each stage, from 0, increasing.
    sizes: the batch size of each stage, >= 1.
  """

  starts: tuple[int, ...]
  sizes: tuple[int, ...]

  def __call__(self, count: Union[int, ArrayLike]) -> jax.Array:
    t = c.as_count(count)
    stage = jnp.searchsorted(jnp.asarray(self.starts, jnp.int32), t, side="right") - 1
    return jnp.asarray(self.sizes, jnp.int32)[stage]


BatchSize = Union[int, BatchSchedule]


def _stages(fn: str, stages: Sequence[tuple[int, int]]) -> BatchSchedule:
  """Validated stages ``(start, size)`` as a BatchSchedule."""
  stages = list(stages)
  if not stages or any(len(tuple(s)) != 2 for s in stages):
    raise ValueError(f"{fn}: stages={stages!r} must be a non-empty list of (start, batch_size)")
  for i, (start, size) in enumerate(stages):
    c.check_steps(fn, f"stages[{i}] start", start)
    c.check_steps(fn, f"stages[{i}] batch size", size, minimum=1, noun="samples")
  starts = [int(s) for s, _ in stages]
  if starts[0] != 0:
    raise ValueError(
      f"{fn}: stages[0] starts at update {starts[0]}; the first stage must start at 0"
    )
  for i in range(1, len(starts)):
    if starts[i] <= starts[i - 1]:
      raise ValueError(
        f"{fn}: stages[{i}] starts at {starts[i]}, not after stages[{i - 1}] at {starts[i - 1]}"
      )
  return BatchSchedule(tuple(starts), tuple(int(b) for _, b in stages))


def _table(fn: str, batch_size: BatchSize) -> BatchSchedule:
  if isinstance(batch_size, BatchSchedule):
    return _stages(fn, list(zip(batch_size.starts, batch_size.sizes)))
  c.check_steps(fn, "batch_size", batch_size, minimum=1, noun="samples")
  return BatchSchedule((0,), (int(batch_size),))


def staged_batch_size(stages: Sequence[tuple[int, int]]) -> BatchSchedule:
  """A batch size that changes at given updates: Levanter's staged ``BatchSchedule``.

  .. math:: B_t = b_i \\quad \\text{for } s_i \\le t < s_{i+1}

  Levanter: ``BatchSchedule([ScheduleStep(start=s_0, value=b_0), ...])``
  (config ``train_batch_size: [{start: 0, value: 256}, {start: 1000, value:
  512}]``); ``batch_size_at_step(t)`` is ``B_t`` and
  ``global_data_offset_by_step(t)`` is :func:`consumed`.

  Args:
    stages: ``(start update, batch size)`` pairs; the first starts at 0,
      starts increase, batch sizes are >= 1.

  Returns:
    A :class:`BatchSchedule`.

  Examples:
    >>> import jax.numpy as jnp, jaxsched
    >>> b = jaxsched.staged_batch_size([(0, 32), (3, 64)])
    >>> b(jnp.arange(5)).tolist()
    [32, 32, 32, 64, 64]
  """
  return _stages("staged_batch_size", stages)


def rampup_batch_size(
  start_batch_size: int,
  batch_size_increment: int,
  rampup_samples: int,
  end_batch_size: int,
) -> BatchSchedule:
  """MaxText's batch-size ramp-up: grow by an increment every ``rampup_samples / n`` samples.

  With ``n = (end - start) / increment`` increments and
  ``m = rampup_samples / n`` samples per increment, stage ``i`` uses the batch
  size ``start + i * increment`` for ``max(1, ceil(m / B_i))`` updates (the
  samples counted toward the next increment restart from 0 at each one),
  then ``end_batch_size`` holds.

  MaxText: ``RampupBatchManager`` (``per_device_batch_size_start``,
  ``per_device_batch_size_increment``, ``global_rampup_samples``,
  ``per_device_batch_size``, given here as global batch sizes): the batch of
  update ``t`` has the size its ``global_batch_size_current`` holds after
  ``t`` calls of ``update()``. Megatron's ``--rampup-batch-size start
  increment samples`` differs slightly: it takes ``start + floor(consumed /
  m) * increment`` from the total samples consumed, keeping the samples of
  an increment's last batch beyond ``m``.

  Args:
    start_batch_size: the first batch size, >= 1.
    batch_size_increment: the step of the ramp, >= 1, dividing
      ``end_batch_size - start_batch_size``.
    rampup_samples: samples over which the ramp runs, >= 0.
    end_batch_size: the batch size after the ramp, > ``start_batch_size``.

  Returns:
    A :class:`BatchSchedule`.

  Examples:
    >>> import jax.numpy as jnp, jaxsched
    >>> b = jaxsched.rampup_batch_size(2, 2, 12, 6)  # 6 samples per increment
    >>> b(jnp.arange(6)).tolist()  # 3 updates of 2, 2 updates of 4, then 6
    [2, 2, 2, 4, 4, 6]
  """
  fn = "rampup_batch_size"
  c.check_steps(fn, "start_batch_size", start_batch_size, minimum=1, noun="samples")
  c.check_steps(fn, "batch_size_increment", batch_size_increment, minimum=1, noun="samples")
  c.check_steps(fn, "rampup_samples", rampup_samples, noun="samples")
  c.check_steps(fn, "end_batch_size", end_batch_size, minimum=1, noun="samples")
  start, inc, end = int(start_batch_size), int(batch_size_increment), int(end_batch_size)
  c.check_order(fn, "start_batch_size", start, "end_batch_size", end, strict=True)
  if (end - start) % inc:
    raise ValueError(
      f"{fn}: batch_size_increment={inc} must divide end_batch_size - start_batch_size = "
      f"{end - start}"
    )
  per_increment = int(rampup_samples) / ((end - start) // inc)  # a float, as in MaxText
  stages, update = [], 0
  for size in range(start, end, inc):
    if update == c.INT32_MAX:  # the rest of the ramp lies beyond the last countable update
      break
    stages.append((update, size))
    updates = max(1, math.ceil(per_increment / size))
    while updates > 1 and (updates - 1) * size >= per_increment:
      updates -= 1
    while updates * size < per_increment:
      updates += 1
    update = min(update + updates, c.INT32_MAX)
  if update < c.INT32_MAX:
    stages.append((update, end))
  return BatchSchedule(tuple(s for s, _ in stages), tuple(b for _, b in stages))


def _ratio(fn: str, unit: str, seq_len: Optional[int], unit_size: int) -> tuple[int, int]:
  """Units per sample as a reduced fraction ``p / q`` (``seq_len / unit_size`` for tokens)."""
  c.check_choice(fn, "unit", unit, UNITS)
  if unit == "tokens":
    if seq_len is None:
      raise ValueError(f"{fn}: unit='tokens' needs seq_len (tokens per sample)")
    c.check_steps(fn, "seq_len", seq_len, minimum=1, noun="tokens")
  elif seq_len is not None:
    raise ValueError(f"{fn}: seq_len={seq_len!r} is only for unit='tokens'")
  c.check_steps(fn, "unit_size", unit_size, minimum=1, noun=unit)
  per_sample = 1 if seq_len is None else int(seq_len)
  g = math.gcd(per_sample, int(unit_size))
  return per_sample // g, int(unit_size) // g


class _Counter(NamedTuple):
  """Per-stage constants of ``consumed``: units before the stage and per update."""

  starts: np.ndarray  # int32, the first update of each stage
  before: np.ndarray  # int32, floor(samples before the stage * p / q), saturated
  carry: np.ndarray  # int32, (samples before the stage * p) mod q
  per_update: np.ndarray  # int32, batch size * p
  q: int


def _counter(fn: str, batch_size: BatchSize, unit: str, seq_len, unit_size) -> _Counter:
  table = _table(fn, batch_size)
  p, q = _ratio(fn, unit, seq_len, unit_size)
  per_update = [b * p for b in table.sizes]
  if max(per_update) > c.INT32_MAX:
    raise ValueError(
      f"{fn}: a batch of {max(table.sizes)} samples is {max(per_update)} units of "
      f"{unit_size} {unit}; it must be at most {c.INT32_MAX} (use a larger unit_size)"
    )
  samples, before, carry = 0, [], []
  for i, start in enumerate(table.starts):
    if i:
      samples += (start - table.starts[i - 1]) * table.sizes[i - 1]
    before.append(min(samples * p // q, c.INT32_MAX))
    carry.append(samples * p % q)
  as_int32 = lambda x: np.asarray(x, np.int32)
  return _Counter(
    as_int32(table.starts), as_int32(before), as_int32(carry), as_int32(per_update), q
  )


def _consumed(counter: _Counter, count: Union[int, ArrayLike]) -> jax.Array:
  t = c.as_count(count)
  stage = jnp.searchsorted(jnp.asarray(counter.starts), t, side="right") - 1
  n = t - jnp.asarray(counter.starts)[stage]
  within, _ = c.muldiv(
    n, jnp.asarray(counter.per_update)[stage], counter.q, jnp.asarray(counter.carry)[stage]
  )
  total = jnp.asarray(counter.before)[stage].astype(jnp.uint32) + within.astype(jnp.uint32)
  return jnp.minimum(total, jnp.uint32(c.INT32_MAX)).astype(jnp.int32)


def consumed(
  batch_size: BatchSize,
  count: Union[int, ArrayLike],
  *,
  unit: str = "samples",
  seq_len: Optional[int] = None,
  unit_size: int = 1,
) -> jax.Array:
  """The samples (or tokens) used by the updates before update ``count``.

  .. math:: C_t = \\left\\lfloor \\frac{L}{u} \\sum_{j < t} B_j \\right\\rfloor

  with ``L = seq_len`` for tokens (1 for samples) and ``u = unit_size``, as
  exact int32 arithmetic, saturating at ``2**31 - 1``. Levanter:
  ``BatchSchedule.global_data_offset_by_step(t)`` (samples).

  Args:
    batch_size: a :class:`BatchSchedule` or a constant batch size >= 1.
    count: the update count (traced or concrete, any shape).
    unit: ``"samples"`` or ``"tokens"``.
    seq_len: tokens per sample, >= 1 (tokens only).
    unit_size: count in units of this many samples or tokens, >= 1 (e.g.
      ``1_000_000`` for millions of tokens).

  Returns:
    int32 of the shape of ``count``.

  Examples:
    >>> import jax.numpy as jnp, jaxsched
    >>> b = jaxsched.staged_batch_size([(0, 32), (3, 64)])
    >>> jaxsched.consumed(b, jnp.arange(6)).tolist()
    [0, 32, 64, 96, 160, 224]
    >>> int(jaxsched.consumed(b, 5, unit="tokens", seq_len=1024, unit_size=1000))
    229
  """
  return _consumed(_counter("consumed", batch_size, unit, seq_len, unit_size), count)


def steps_for(
  batch_size: BatchSize,
  amount: int,
  *,
  unit: str = "samples",
  seq_len: Optional[int] = None,
  unit_size: int = 1,
) -> int:
  """The number of updates that consume at least ``amount`` samples (or tokens).

  The smallest ``t`` with ``consumed(batch_size, t, ...) >= amount``,
  computed on the host with Python integers (exact for any size): for
  setting ``total_steps`` or ``warmup_steps`` from a token budget.

  Args:
    batch_size: a :class:`BatchSchedule` or a constant batch size >= 1.
    amount: the samples or tokens (in units of ``unit_size``), >= 0.
    unit: ``"samples"`` or ``"tokens"``.
    seq_len: tokens per sample (tokens only).
    unit_size: the size of a unit, >= 1.

  Returns:
    A Python int.

  Examples:
    >>> import jaxsched
    >>> b = jaxsched.staged_batch_size([(0, 32), (3, 64)])
    >>> jaxsched.steps_for(b, 100), jaxsched.steps_for(b, 96)
    (4, 3)
    >>> jaxsched.steps_for(512, 10**9, unit="tokens", seq_len=2048)  # 1B tokens
    954
  """
  fn = "steps_for"
  table = _table(fn, batch_size)
  p, q = _ratio(fn, unit, seq_len, unit_size)
  if isinstance(amount, bool) or not isinstance(amount, (int, np.integer)) or amount < 0:
    raise ValueError(f"{fn}: amount={amount!r} must be an integer >= 0")
  need = -(-int(amount) * q // p)  # samples needed: ceil(amount * q / p)
  samples, stage = 0, 0
  while stage + 1 < len(table.starts):
    length = table.starts[stage + 1] - table.starts[stage]
    if samples + length * table.sizes[stage] >= need:
      break
    samples += length * table.sizes[stage]
    stage += 1
  return table.starts[stage] + max(0, -(-(need - samples) // table.sizes[stage]))


def in_units(
  schedule: optax.Schedule,
  batch_size: BatchSize,
  *,
  unit: str = "samples",
  seq_len: Optional[int] = None,
  unit_size: int = 1,
) -> optax.Schedule:
  """A schedule written in samples or tokens, as a schedule of the update count.

  .. math:: \\eta_t = f(C_t), \\qquad C_t = \\text{consumed}(B, t)

  ``schedule`` takes the number of units consumed before update ``t`` (see
  :func:`consumed`): its durations (``warmup_steps``, ``total_steps``, ...)
  are counts of samples or tokens. With a constant batch size this is the
  schedule stretched by ``B L / u``; under a batch-size ramp the warmup ends
  after the same number of *samples* whatever the ramp, as Megatron and
  MaxText count their ``lr_warmup_samples`` / token-based schedules.

  Args:
    schedule: an ``optax.Schedule`` of the units consumed.
    batch_size: a :class:`BatchSchedule` or a constant batch size >= 1.
    unit: ``"samples"`` or ``"tokens"``.
    seq_len: tokens per sample, >= 1 (tokens only).
    unit_size: units of this many samples or tokens, >= 1 (so that a
      schedule over trillions of tokens fits int32: ``unit_size=10**6``).

  Returns:
    An ``optax.Schedule`` of the update count.

  Examples:
    >>> import jaxsched
    >>> lr = jaxsched.warmup_cosine(1e-3, warmup_steps=1000, total_steps=100_000)
    >>> per_step = jaxsched.in_units(lr, 64)  # durations were in samples
    >>> round(float(per_step(10)), 8), round(float(lr(640)), 8)
    (0.00064, 0.00064)
  """
  if not callable(schedule):
    raise ValueError(f"in_units: schedule={schedule!r} must be a schedule (a callable)")
  counter = _counter("in_units", batch_size, unit, seq_len, unit_size)

  def wrapped(count):
    return schedule(_consumed(counter, count))

  return wrapped


def per_update(schedule: optax.Schedule, every_k: int) -> optax.Schedule:
  """A schedule that advances once per optimizer update, driven by a micro-batch counter.

  .. math:: \\eta_m = f(\\lfloor m / k \\rfloor)

  Under gradient accumulation over ``k`` micro-batches, the update count is
  the micro-batch count ``m`` divided by ``k``. Inside ``optax.MultiSteps``
  this is not needed: the inner optimizer's own count (and so any schedule
  in it) advances only on real updates, and ``MultiStepsState.gradient_step``
  counts them. It is needed where a counter of micro-batches drives the
  schedule: a training loop's step when every micro-batch calls the
  optimizer, ``optax.inject_hyperparams`` wrapped around ``MultiSteps``
  (its count sees every micro-batch), logging from a loop index of
  micro-batches, or a PyTorch-style scheduler stepped once per micro-batch
  (Hugging Face accelerate stepped prepared schedulers so before it learned
  to skip the accumulation steps; diffusers' training scripts multiply
  warmup and total steps by ``k`` to match).

  Args:
    schedule: an ``optax.Schedule`` of the update count.
    every_k: micro-batches per update, >= 1.

  Returns:
    An ``optax.Schedule`` of the micro-batch count.

  Examples:
    >>> import jax.numpy as jnp, jaxsched
    >>> lr = jaxsched.per_update(jaxsched.warmup(1.0, warmup_steps=2), every_k=3)
    >>> lr(jnp.arange(8)).tolist()
    [0.0, 0.0, 0.0, 0.5, 0.5, 0.5, 1.0, 1.0]
  """
  fn = "per_update"
  if not callable(schedule):
    raise ValueError(f"{fn}: schedule={schedule!r} must be a schedule (a callable)")
  c.check_steps(fn, "every_k", every_k, minimum=1, noun="micro-batches")

  def wrapped(count):
    return schedule(c.as_count(count) // c.as_steps(every_k))

  return wrapped
