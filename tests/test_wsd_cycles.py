"""warmup_stable_decay_cycles: WSD cycles that re-warm to the peak (levanter's ``cycles``).

Reference values are closed-form NumPy (float64): one WSD per cycle, from the
formula in ``warmup_stable_decay``'s docstring (transformers' get_wsd_schedule
for linear, cosine and 1-sqrt), shifted to the cycle's start.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxsched
from jaxsched import warmup_stable_decay_cycles

KINDS = ("linear", "cosine", "1-sqrt")


def _wsd_ref(t, w, s, d, peak, floor, start, warmup_kind, decay_kind):
  """One WSD cycle at its own step ``t``: ``start`` -> ``peak`` -> ``floor``."""
  if t < w:
    r = t / w
    ramp = {"linear": r, "cosine": 0.5 * (1 - np.cos(np.pi * r)), "1-sqrt": 1 - np.sqrt(1 - r)}[
      warmup_kind
    ]
    return start + (peak - start) * ramp
  if t < w + s:
    return peak
  if t < w + s + d:
    x = (t - w - s) / d
    f = {"linear": 1 - x, "cosine": 0.5 * (1 + np.cos(np.pi * x)), "1-sqrt": 1 - np.sqrt(x)}[
      decay_kind
    ]
    return floor + (peak - floor) * f
  return floor


def _cycles_ref(steps, peak, w, r, d, bounds, warmup_kind="linear", decay_kind="cosine", m=0.0):
  """The cycles over ``steps``; ``bounds`` = [0, b_1, ..., T]."""
  floor = peak * m
  out = []
  for t in steps:
    k = max(i for i in range(len(bounds) - 1) if bounds[i] <= t)
    wk = w if k == 0 else r
    start = floor if (k == 0 or d > 0) else peak
    span = bounds[k + 1] - bounds[k]
    out.append(
      _wsd_ref(t - bounds[k], wk, span - wk - d, d, peak, floor, start, warmup_kind, decay_kind)
    )
  return np.array(out)


def _values(sched, steps):
  return np.asarray(jax.jit(sched)(jnp.asarray(steps)), np.float64)


@pytest.mark.parametrize("decay_kind", KINDS)
@pytest.mark.parametrize("warmup_kind", ("linear", "cosine", "1-sqrt"))
def test_each_cycle_is_one_wsd_over_its_span(warmup_kind, decay_kind):
  steps = np.arange(330)
  sched = warmup_stable_decay_cycles(
    1e-3,
    20,
    30,
    total_steps=300,
    cycles=[100, 180],
    rewarmup_steps=10,
    warmup_kind=warmup_kind,
    decay_kind=decay_kind,
    min_lr_ratio=0.1,
  )
  want = _cycles_ref(steps, 1e-3, 20, 10, 30, [0, 100, 180, 300], warmup_kind, decay_kind, 0.1)
  np.testing.assert_allclose(_values(sched, steps), want, rtol=2e-6, atol=1e-12)


@pytest.mark.parametrize("decay_kind", KINDS)
def test_one_cycle_is_warmup_stable_decay(decay_kind):
  steps = np.arange(260)
  one = warmup_stable_decay_cycles(
    1.0, 25, 40, total_steps=240, cycles=1, decay_kind=decay_kind, min_lr_ratio=0.05
  )
  wsd = jaxsched.warmup_stable_decay(
    1.0, 25, 40, total_steps=240, decay_kind=decay_kind, min_lr_ratio=0.05
  )
  np.testing.assert_array_equal(_values(one, steps), _values(wsd, steps))


def test_a_number_of_cycles_splits_like_levanter():
  # levanter: cycle ends int(T / K * (k + 1)); T=100, K=3 -> new cycles at 33 and 66.
  steps = np.arange(110)
  sched = warmup_stable_decay_cycles(1.0, 5, 10, total_steps=100, cycles=3, decay_kind="linear")
  want = _cycles_ref(steps, 1.0, 5, 5, 10, [0, 33, 66, 100], decay_kind="linear")
  np.testing.assert_allclose(_values(sched, steps), want, rtol=1e-6, atol=1e-9)
  listed = warmup_stable_decay_cycles(
    1.0, 5, 10, total_steps=100, cycles=[33, 66], decay_kind="linear"
  )
  np.testing.assert_array_equal(_values(sched, steps), _values(listed, steps))


@pytest.mark.parametrize("decay_kind", KINDS)
def test_continuous_every_step_moves_at_most_one_ramp_step(decay_kind):
  w, r, d, peak = 20, 8, 16, 1.0
  values = _values(
    warmup_stable_decay_cycles(
      peak,
      w,
      d,
      total_steps=400,
      cycles=4,
      rewarmup_steps=r,
      decay_kind=decay_kind,
      min_lr_ratio=0.1,
    ),
    np.arange(420),
  )
  jumps = np.abs(np.diff(values))
  # the steepest step of any shape: 1-sqrt's first decay step, (p - m p) / sqrt(D)
  assert jumps.max() <= max(peak / r, 0.9 * peak / np.sqrt(d)) + 1e-6
  for b in (100, 200, 300):  # each cycle ends at the floor and the next starts there
    assert values[b] == pytest.approx(0.1, abs=1e-7)
    assert values[b - 1] == pytest.approx(0.1, abs=0.2 if decay_kind == "1-sqrt" else 0.06)
  assert np.all(values[400:] == pytest.approx(0.1))


def test_without_decay_the_rewarmup_starts_at_the_peak():
  values = _values(
    warmup_stable_decay_cycles(1.0, 10, 0, total_steps=100, cycles=2), np.arange(100)
  )
  np.testing.assert_allclose(values[10:], 1.0)


def test_zero_rewarmup_jumps_back_to_the_peak():
  values = _values(
    warmup_stable_decay_cycles(
      1.0, 10, 20, total_steps=100, cycles=[50], rewarmup_steps=0, decay_kind="linear"
    ),
    np.arange(60),
  )
  assert values[49] == pytest.approx(0.05) and values[50] == 1.0


def test_traced_hyperparameters_vmap_equals_the_reference():
  peaks = jnp.array([1.0, 0.5, 2.0])
  warmups = jnp.array([10, 0, 20])
  rewarmups = jnp.array([5, 15, 0])
  decays = jnp.array([20, 10, 30])
  totals = jnp.array([200, 150, 240])
  starts = jnp.array([[60, 120], [50, 100], [80, 160]])
  ratios = jnp.array([0.0, 0.1, 0.2])
  steps = jnp.arange(260)

  def curve(p, w, r, d, t, b, m):
    return warmup_stable_decay_cycles(p, w, d, t, b, rewarmup_steps=r, min_lr_ratio=m)(steps)

  got = np.asarray(
    jax.jit(jax.vmap(curve))(peaks, warmups, rewarmups, decays, totals, starts, ratios)
  )
  for i in range(3):
    bounds = [0, *np.asarray(starts[i]).tolist(), int(totals[i])]
    want = _cycles_ref(
      np.arange(260),
      float(peaks[i]),
      int(warmups[i]),
      int(rewarmups[i]),
      int(decays[i]),
      bounds,
      m=float(ratios[i]),
    )
    np.testing.assert_allclose(got[i], want, rtol=1e-5, atol=1e-7)

  def counted(t):  # a static number of cycles with a traced total
    return warmup_stable_decay_cycles(1.0, 5, 10, t, 3, decay_kind="linear")(steps)

  got = np.asarray(jax.vmap(counted)(jnp.array([100, 240])))
  for i, total in enumerate((100, 240)):
    bounds = [0, total // 3, 2 * total // 3, total]
    np.testing.assert_allclose(
      got[i],
      _cycles_ref(np.arange(260), 1.0, 5, 5, 10, bounds, decay_kind="linear"),
      rtol=1e-6,
      atol=1e-7,
    )


def test_huge_total_does_not_overflow():
  total = 2**31 - 1
  sched = warmup_stable_decay_cycles(1.0, 10, 10, total_steps=total, cycles=7)
  b = [total * k // 7 for k in range(8)]
  got = _values(sched, np.array([b[3] - 1, b[3], b[3] + 5, b[6] + 15, total], np.int64))
  last_decay_step = 0.5 * (1 + np.cos(0.9 * np.pi))
  np.testing.assert_allclose(got, [last_decay_step, 0.0, 0.5, 1.0, 0.0], rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize(
  "kwargs, message",
  [
    (dict(cycles=0), "cycles=0 must be >= 1"),
    (dict(cycles=[50, 50]), "cycles=[50, 50] must be strictly increasing"),
    (dict(cycles=[0, 50]), "must be an integer number of steps in [1, 2147483647]"),
    (dict(cycles=[50, 200]), "cycles=200 must be < total_steps=200"),
    (dict(cycles=[[50]]), "must be an int (a number of cycles) or a 1-D list"),
    (dict(cycles="3"), "must be an int (a number of cycles) or a 1-D list"),
    (
      dict(cycles=[20]),
      "cycle 0 spans 20 steps (from 0 to 20), fewer than warmup_steps + decay_steps = 30",
    ),
    (
      dict(cycles=[100, 110], rewarmup_steps=5),
      "cycle 1 spans 10 steps (from 100 to 110), fewer than rewarmup_steps + decay_steps = 25",
    ),
    (dict(cycles=8), "cycle 0 spans 25 steps"),
    (dict(rewarmup_steps=-1), "rewarmup_steps=-1 must be an integer"),
    (dict(total_steps=-5), "total_steps=-5 must be an integer"),
    (dict(decay_kind="exponential"), "decay_kind='exponential' must be one of"),
    (dict(warmup_kind="quadratic"), "warmup_kind='quadratic' must be one of"),
    (dict(warmup_kind="exponential"), "min_lr_ratio=0.0 must be a finite number in (0, inf)"),
    (dict(min_lr_ratio=1.5), "min_lr_ratio=1.5 must be a finite number in [0, 1]"),
    (dict(peak_value=-1.0), "peak_value=-1.0 must be a finite number in [0, inf)"),
  ],
)
def test_bad_arguments_raise_a_clear_error(kwargs, message):
  args = dict(peak_value=1.0, warmup_steps=10, decay_steps=20, total_steps=200, cycles=2)
  args.update(kwargs)
  with pytest.raises(ValueError) as err:
    warmup_stable_decay_cycles(**args)
  assert str(err.value).startswith("warmup_stable_decay_cycles: ")
  assert message in str(err.value)
