"""cooldown: a schedule followed to a step, then decayed from its value there.

Reference values are closed-form NumPy (float64) of the documented formula.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxsched
from jaxsched import cooldown

KINDS = ("linear", "cosine", "1-sqrt")
INT32_MAX = 2**31 - 1


def _shape(kind, x):
  if kind == "linear":
    return 1.0 - x
  if kind == "cosine":
    return 0.5 * (1.0 + np.cos(np.pi * x))
  return 1.0 - np.sqrt(x)


def _ref(base, start, decay, kind, end, steps):
  """The cooldown formula over ``steps`` for a NumPy base schedule ``base(t)``."""
  out = []
  for t in steps:
    if t < start:
      out.append(base(t))
    elif t < start + decay:
      v = base(start)
      out.append(end + (v - end) * _shape(kind, (t - start) / decay))
    else:
      out.append(end)
  return np.array(out)


def _values(sched, steps):
  return np.asarray(jax.jit(sched)(jnp.asarray(steps)), np.float64)


def _np_cosine(init, t_max):
  return lambda t: 0.5 * init * (1.0 + np.cos(np.pi * min(t, t_max) / t_max))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
  "start, decay, end", [(60, 40, 0.0), (25, 7, 0.01), (0, 50, 0.0), (30, 0, 0.0)]
)
def test_matches_the_formula_on_a_cosine_base(kind, start, decay, end):
  steps = np.arange(130)
  got = _values(cooldown(jaxsched.cosine_annealing(0.1, t_max=100), start, decay, kind, end), steps)
  want = _ref(_np_cosine(0.1, 100), start, decay, kind, end, steps)
  np.testing.assert_allclose(got, want, rtol=2e-6, atol=1e-9)


@pytest.mark.parametrize("kind", KINDS)
def test_forked_from_a_constant_run_is_warmup_stable_decay(kind):
  # A checkpoint of warmup_constant forked at step S with a D-step cooldown is WSD
  # with stable = S - W (the schedule Hägele et al. compare to cosine).
  w, s, d, peak = 10, 70, 30, 3e-4
  steps = np.arange(150)
  forked = _values(cooldown(jaxsched.warmup_constant(peak, w), w + s, d, kind), steps)
  wsd = _values(jaxsched.warmup_stable_decay(peak, w, d, stable_steps=s, decay_kind=kind), steps)
  np.testing.assert_allclose(forked, wsd, rtol=1e-6, atol=1e-12)
  base = np.where(steps < w, peak * steps / w, peak)
  want = _ref(lambda t: base[t], w + s, d, kind, 0.0, steps)
  np.testing.assert_allclose(forked, want, rtol=2e-6, atol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_continuous_at_the_fork_and_monotone_down(kind):
  base = jaxsched.warmup_constant(1.0, 20)
  values = _values(cooldown(base, 50, 40, kind, end_value=0.1), np.arange(120))
  assert values[50] == pytest.approx(1.0)  # f(0) = 1: no jump at the fork
  assert np.all(np.diff(values[20:]) <= 1e-7)
  assert values[89] > 0.1 and np.all(values[90:] == pytest.approx(0.1))


def test_decay_starts_from_the_value_at_start_step_not_the_peak():
  sched = cooldown(
    jaxsched.cosine_annealing(1.0, t_max=100), start_step=50, decay_steps=10, decay_kind="linear"
  )
  assert float(sched(50)) == pytest.approx(0.5, abs=1e-6)
  assert float(sched(55)) == pytest.approx(0.25, abs=1e-6)


def test_traced_hyperparameters_vmap_equals_one_by_one():
  starts = jnp.array([10, 40, 60])
  decays = jnp.array([5, 30, 0])
  ends = jnp.array([0.0, 0.02, 0.05])
  base = jaxsched.warmup_constant(0.1, 20)
  steps = jnp.arange(100)

  def curve(start, decay, end):
    return cooldown(base, start, decay, "1-sqrt", end)(steps)

  got = np.asarray(jax.jit(jax.vmap(curve))(starts, decays, ends))
  b = np.where(np.arange(100) < 20, 0.1 * np.arange(100) / 20, 0.1)
  for i in range(3):
    one = _values(
      cooldown(base, int(starts[i]), int(decays[i]), "1-sqrt", float(ends[i])), np.arange(100)
    )
    np.testing.assert_allclose(got[i], one, rtol=1e-6, atol=1e-9)
    want = _ref(b.__getitem__, int(starts[i]), int(decays[i]), "1-sqrt", float(ends[i]), range(100))
    np.testing.assert_allclose(got[i], want, rtol=2e-6, atol=1e-9)


def test_huge_steps_do_not_overflow():
  sched = cooldown(
    jaxsched.constant(1.0), start_step=INT32_MAX - 100, decay_steps=200, decay_kind="linear"
  )
  got = _values(sched, np.array([INT32_MAX - 101, INT32_MAX - 50, INT32_MAX], np.int64))
  np.testing.assert_allclose(got, [1.0, 0.75, 0.5], rtol=1e-6)


def test_from_config_builds_the_nested_schedule():
  cfg = {
    "type": "cooldown",
    "schedule": {"type": "constant", "value": 0.1},
    "start_step": 10,
    "decay_steps": 10,
  }
  steps = np.arange(30)
  np.testing.assert_allclose(
    _values(jaxsched.from_config(cfg), steps),
    _values(cooldown(jaxsched.constant(0.1), 10, 10), steps),
  )


@pytest.mark.parametrize(
  "kwargs, message",
  [
    (dict(schedule=0.1), "cooldown: schedule=0.1 must be a schedule"),
    (dict(start_step=-1), "cooldown: start_step=-1 must be an integer number of steps"),
    (dict(start_step=2.5), "cooldown: start_step=2.5 must be an integer"),
    (dict(decay_steps=-3), "cooldown: decay_steps=-3 must be an integer"),
    (dict(decay_kind="exponential"), "cooldown: decay_kind='exponential' must be one of"),
    (dict(end_value=-0.1), "cooldown: end_value=-0.1 must be a finite number in [0, inf)"),
    (dict(end_value=float("nan")), "cooldown: end_value=nan must be a finite number"),
  ],
)
def test_bad_arguments_raise_a_clear_error(kwargs, message):
  args = dict(schedule=jaxsched.constant(0.1), start_step=10, decay_steps=10)
  args.update(kwargs)
  with pytest.raises(ValueError) as err:
    cooldown(**args)
  assert message in str(err.value)
