"""Step units: batch-size schedules, schedules in samples or tokens, per-update counting.

References: MaxText's ``RampupBatchManager`` and Levanter's ``BatchSchedule``
are not installable here (MaxText is not on PyPI; Levanter needs equinox,
haliax and draccus), so each is written out below in plain Python from its
source, as stated at each class; Optax's ``MultiSteps`` and
``inject_hyperparams`` run live; token and sample counts are checked against
Python's unbounded integers.
"""

import math

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxsched

INT32_MAX = 2**31 - 1


class MaxTextRampup:
  """MaxText ``src/MaxText/jaxsched.rampup_batch_size.py`` ``RampupBatchManager``, global sizes.

  The data loader slices ``global_batch_size_current`` samples for a batch,
  then calls ``update()``.
  """

  def __init__(self, start, increment, rampup_samples, end):
    self.samples_per_increment = rampup_samples / ((end - start) // increment)
    self.current, self.increment, self.end = start, increment, end
    self.num_accum_samples = 0

  def update(self):
    self.num_accum_samples += self.current
    if self.num_accum_samples >= self.samples_per_increment:
      self.current = min(self.increment + self.current, self.end)
      self.num_accum_samples = 0


class LevanterBatchSchedule:
  """Levanter ``src/levanter/schedule.py`` ``BatchSchedule`` over ``ScheduleStep(start, value)``."""

  def __init__(self, stages):
    self.segments, offset = [], 0
    for i, (start, value) in enumerate(stages):
      until = 2**63 - 1 if i == len(stages) - 1 else stages[i + 1][0]
      self.segments.append((start, until, value, offset))
      if until < 2**63 - 1:
        offset += (until - start) * value

  def batch_size_at_step(self, step):
    for start, until, value, _ in self.segments:
      if start <= step < until:
        return value
    return self.segments[-1][2]

  def global_data_offset_by_step(self, step):
    for start, until, value, offset in self.segments:
      if start <= step < until:
        return offset + (step - start) * value
    start, _, value, offset = self.segments[-1]
    return offset + (step - start) * value

  def find_step_containing_offset(self, offset):
    for start, until, value, seg_offset in self.segments:
      if seg_offset <= offset < seg_offset + (until - start) * value:
        return start + (offset - seg_offset) // value
    raise ValueError(offset)


RAMPS = [
  (2, 2, 12, 6),
  (64, 64, 10_000, 512),
  (32, 32, 1000, 128),
  (8, 8, 0, 32),
  (16, 8, 1234, 64),
]


@pytest.mark.parametrize("start,inc,samples,end", RAMPS)
def test_rampup_batch_size_is_maxtext_rampup_batch_manager(start, inc, samples, end):
  manager = MaxTextRampup(start, inc, samples, end)
  want, seen, total = [], [], 0
  for _ in range(400):
    want.append(manager.current)
    seen.append(total)
    total += manager.current
    manager.update()
  sched = jaxsched.rampup_batch_size(start, inc, samples, end)
  steps = jnp.arange(400)
  got = jax.jit(sched)(steps)
  assert got.dtype == jnp.int32
  np.testing.assert_array_equal(np.asarray(got), want)
  np.testing.assert_array_equal(
    np.asarray(jax.jit(lambda t: jaxsched.consumed(sched, t))(steps)), seen
  )


STAGES = [[(0, 32)], [(0, 32), (3, 64)], [(0, 256), (100, 512), (250, 1024), (1000, 4096)]]


@pytest.mark.parametrize("stages", STAGES, ids=["constant", "two", "four"])
def test_staged_batch_size_is_levanter_batch_schedule(stages):
  ref = LevanterBatchSchedule(stages)
  sched = jaxsched.staged_batch_size(stages)
  steps = np.concatenate([np.arange(1200), [10**6, 2**24 + 1]])
  np.testing.assert_array_equal(
    np.asarray(jax.jit(sched)(steps)), [ref.batch_size_at_step(int(t)) for t in steps]
  )
  np.testing.assert_array_equal(
    np.asarray(jax.jit(lambda t: jaxsched.consumed(sched, t))(steps)),
    [min(ref.global_data_offset_by_step(int(t)), INT32_MAX) for t in steps],
  )
  # steps_for inverts it: the update holding sample ``offset`` is steps_for(offset + 1) - 1.
  for offset in [0, 1, 31, 32, 95, 96, 97, 10_000, 123_456, 5_000_000]:
    assert jaxsched.steps_for(sched, offset + 1) - 1 == ref.find_step_containing_offset(offset)


def _python_consumed(stages, t, per_sample, unit_size):
  ref = LevanterBatchSchedule(stages)
  return min(ref.global_data_offset_by_step(t) * per_sample // unit_size, INT32_MAX)


@pytest.mark.parametrize(
  "unit,seq_len,unit_size",
  [
    ("samples", None, 1),
    ("samples", None, 1000),
    ("tokens", 2048, 1),
    ("tokens", 2048, 10**6),
    ("tokens", 4096, 10**9),
    ("tokens", 1000, 7),
  ],  # fmt: skip
)
def test_consumed_is_exact_up_to_int32_and_saturates(unit, seq_len, unit_size):
  stages = [(0, 384), (1000, 512), (50_000, 3072)]
  per_sample = seq_len or 1
  rng = np.random.default_rng(0)
  steps = np.unique(
    np.concatenate([np.arange(200), rng.integers(0, INT32_MAX, 300), [999, 1000, 49_999, 50_000]])
  )
  steps = np.concatenate([steps, [INT32_MAX]]).astype(np.int64)
  got = jax.jit(
    lambda t: jaxsched.consumed(
      jaxsched.staged_batch_size(stages), t, unit=unit, seq_len=seq_len, unit_size=unit_size
    )
  )(jnp.asarray(steps, jnp.int32))
  want = [_python_consumed(stages, int(t), per_sample, unit_size) for t in steps]
  np.testing.assert_array_equal(np.asarray(got), want)


def test_steps_for_is_the_smallest_step_that_consumes_the_amount():
  stages = [(0, 3), (5, 7), (9, 2)]
  sched = jaxsched.staged_batch_size(stages)
  for unit, seq_len, unit_size in [("samples", None, 1), ("tokens", 10, 4), ("tokens", 3, 5)]:
    per_sample = seq_len or 1
    table = [_python_consumed(stages, t, per_sample, unit_size) for t in range(60)]
    for amount in range(0, max(table) - 10):
      want = next(t for t, v in enumerate(table) if v >= amount)
      kw = dict(unit=unit, seq_len=seq_len, unit_size=unit_size)
      assert jaxsched.steps_for(sched, amount, **kw) == want, (amount, kw)
  # Exact far past int32: 15T tokens at 4M tokens per update.
  assert jaxsched.steps_for(2048, 15 * 10**12, unit="tokens", seq_len=2048) == math.ceil(
    15 * 10**12 / (2048 * 2048)
  )


def _hf_cosine(t, peak, warmup, total):
  """transformers' get_cosine_schedule_with_warmup * peak, float64."""
  t = np.asarray(t, np.float64)
  progress = np.clip((t - warmup) / max(1, total - warmup), 0.0, 1.0)
  return peak * np.where(t < warmup, t / max(1, warmup), 0.5 * (1.0 + np.cos(np.pi * progress)))


def test_in_units_evaluates_the_schedule_at_the_units_consumed():
  # A warmup of 20M tokens and a cosine to 500M tokens, under a batch ramp.
  stages = [(0, 64), (40, 128), (90, 256)]
  tokens_lr = jaxsched.warmup_cosine(3e-4, warmup_steps=20, total_steps=500)  # in millions
  lr = jaxsched.in_units(
    tokens_lr, jaxsched.staged_batch_size(stages), unit="tokens", seq_len=2048, unit_size=10**6
  )
  steps = np.arange(1200)
  millions = [_python_consumed(stages, int(t), 2048, 10**6) for t in steps]
  got = np.asarray(jax.jit(lr)(steps))
  np.testing.assert_allclose(got, _hf_cosine(millions, 3e-4, 20, 500), rtol=1e-5, atol=1e-10)
  assert got.dtype == np.float32
  # The warmup ends after 20M tokens, at the update steps_for gives.
  end = jaxsched.steps_for(
    jaxsched.staged_batch_size(stages), 20, unit="tokens", seq_len=2048, unit_size=10**6
  )
  assert got[end - 1] < 3e-4 and got[end] == pytest.approx(3e-4)


def test_in_units_with_a_constant_batch_is_the_stretched_schedule():
  lr = jaxsched.in_units(jaxsched.warmup_linear(1.0, warmup_steps=640, total_steps=6400), 64)
  steps = np.arange(150)
  np.testing.assert_allclose(
    np.asarray(jax.jit(lr)(steps)),
    np.asarray(jaxsched.warmup_linear(1.0, warmup_steps=10, total_steps=100)(steps)),
    rtol=1e-6,
    atol=1e-7,
  )


# --------------------------------------------------------------------------
# Gradient accumulation with optax.MultiSteps (k = 4), counted by hand.

K = 4
UPDATES = 12


def _schedule():
  return jaxsched.warmup_cosine(0.1, warmup_steps=3, total_steps=UPDATES)


def _rates_applied(tx):
  """Runs K * UPDATES micro-batches of gradient 1 on a scalar; the rate of each real update."""
  params = jnp.zeros(())
  state = tx.init(params)
  update = jax.jit(tx.update)
  rates = []
  for micro in range(K * UPDATES):
    updates, state = update(jnp.ones(()), state, params)
    if (micro + 1) % K == 0:  # a real update: SGD moved the parameter by -lr * mean gradient
      rates.append(-float(updates))
    else:
      assert float(updates) == 0.0
    params = optax.apply_updates(params, updates)
  return np.array(rates), state


def test_a_schedule_inside_multisteps_advances_per_update():
  rates, state = _rates_applied(optax.MultiSteps(optax.sgd(_schedule()), every_k_schedule=K))
  np.testing.assert_allclose(rates, _hf_cosine(np.arange(UPDATES), 0.1, 3, UPDATES), rtol=1e-5)
  # The inner count and gradient_step count real updates; mini_step wraps.
  assert int(state.gradient_step) == UPDATES
  assert int(optax.tree.get(state.inner_opt_state, "count")) == UPDATES


def test_inject_hyperparams_outside_multisteps_counts_micro_batches_and_per_update_fixes_it():
  def build(lr):
    inner = lambda learning_rate: optax.MultiSteps(optax.sgd(learning_rate), every_k_schedule=K)
    return optax.inject_hyperparams(inner)(learning_rate=lr)

  want = _hf_cosine(np.arange(UPDATES), 0.1, 3, UPDATES)
  # The common bug: the outer count sees every micro-batch, so real update u
  # (micro-batch K u + K - 1) runs at schedule(K u + K - 1).
  wrong, _ = _rates_applied(build(_schedule()))
  micro = K * np.arange(UPDATES) + K - 1
  np.testing.assert_allclose(wrong, _hf_cosine(micro, 0.1, 3, UPDATES), rtol=1e-5, atol=1e-9)
  assert np.abs(wrong - want).max() > 0.01
  right, _ = _rates_applied(build(jaxsched.per_update(_schedule(), K)))
  np.testing.assert_allclose(right, want, rtol=1e-5)


def test_per_update_is_the_schedule_of_the_micro_batch_count_divided_by_k():
  sched = jaxsched.warmup_cosine(1.0, warmup_steps=5, total_steps=50)
  micro = jnp.arange(400)
  np.testing.assert_array_equal(
    np.asarray(jax.jit(jaxsched.per_update(sched, 8))(micro)), np.asarray(sched(micro // 8))
  )
  chex.assert_shape(jaxsched.per_update(sched, 8)(jnp.int32(INT32_MAX)), ())


# --------------------------------------------------------------------------
# Bad input.

BAD = [
  (
    jaxsched.staged_batch_size,
    dict(stages=[]),
    "staged_batch_size: stages=\\[\\] must be a non-empty",
  ),
  (jaxsched.staged_batch_size, dict(stages=[(1, 32)]), "the first stage must start at 0"),
  (
    jaxsched.staged_batch_size,
    dict(stages=[(0, 32), (0, 64)]),
    r"stages\[1\] starts at 0, not after",
  ),
  (jaxsched.staged_batch_size, dict(stages=[(0, 0)]), r"stages\[0\] batch size=0"),
  (
    jaxsched.rampup_batch_size,
    dict(start_batch_size=64, batch_size_increment=64, rampup_samples=10, end_batch_size=64),
    "start_batch_size=64 must be < end_batch_size=64",
  ),
  (
    jaxsched.rampup_batch_size,
    dict(start_batch_size=64, batch_size_increment=48, rampup_samples=10, end_batch_size=128),
    "batch_size_increment=48 must divide",
  ),
  (
    jaxsched.rampup_batch_size,
    dict(start_batch_size=8, batch_size_increment=8, rampup_samples=-1, end_batch_size=16),
    "rampup_samples=-1",
  ),
  (jaxsched.consumed, dict(batch_size=32, count=3, unit="words"), "unit='words' must be one of"),
  (jaxsched.consumed, dict(batch_size=32, count=3, unit="tokens"), "unit='tokens' needs seq_len"),
  (
    jaxsched.consumed,
    dict(batch_size=32, count=3, seq_len=128),
    "seq_len=128 is only for unit='tokens'",
  ),
  (jaxsched.consumed, dict(batch_size=0, count=3), "consumed: batch_size=0"),
  (
    jaxsched.consumed,
    dict(batch_size=2**20, count=3, unit="tokens", seq_len=2**12),
    "larger unit_size",
  ),
  (jaxsched.steps_for, dict(batch_size=32, amount=-1), "steps_for: amount=-1"),
  (
    jaxsched.in_units,
    dict(schedule=0.1, batch_size=32),
    "in_units: schedule=0.1 must be a schedule",
  ),
  (jaxsched.per_update, dict(schedule=lambda t: t, every_k=0), "per_update: every_k=0"),
]


@pytest.mark.parametrize("factory,kwargs,match", BAD)
def test_bad_input_raises_value_error_naming_the_argument(factory, kwargs, match):
  with pytest.raises(ValueError, match=match):
    factory(**kwargs)


def test_batch_schedule_is_a_jittable_pytree_of_static_stages():
  sched = jaxsched.staged_batch_size([(0, 8), (10, 16)])
  assert sched == jaxsched.BatchSchedule((0, 10), (8, 16))
  assert sched(jnp.array([[9, 10], [-3, INT32_MAX]])).tolist() == [[8, 16], [8, 16]]
