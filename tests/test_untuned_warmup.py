"""untuned_warmup: Ma & Yarats' warmup whose length comes from Adam's beta_2.

Reference values are the paper's closed forms in NumPy (float64), with the
paper's iteration ``n = t + 1`` for Optax's count ``t``.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxsched
from jaxsched import untuned_warmup


def _ref(peak, b2, kind, steps):
  n = np.asarray(steps, np.float64) + 1.0
  if kind == "linear":
    return peak * np.minimum(1.0, 0.5 * (1.0 - b2) * n)
  return peak * (1.0 - np.exp(-(1.0 - b2) * n))


def _values(sched, steps):
  return np.asarray(jax.jit(sched)(jnp.asarray(steps)), np.float64)


@pytest.mark.parametrize("kind", ("linear", "exponential"))
@pytest.mark.parametrize("b2", (0.9, 0.98, 0.999, 0.9999))
def test_matches_the_paper(kind, b2):
  steps = np.unique(
    np.concatenate([np.arange(50), np.linspace(0, 4 / (1 - b2), 400).astype(int), [2**31 - 1]])
  )
  np.testing.assert_allclose(
    _values(untuned_warmup(3e-4, b2, kind), steps), _ref(3e-4, b2, kind, steps), rtol=2e-6, atol=0
  )


def test_step_convention_first_update_is_not_zero():
  sched = untuned_warmup(1.0, 0.999)
  assert float(sched(0)) == pytest.approx(0.0005, rel=1e-6)  # (1 - b2) / 2 at n = 1
  assert float(sched(1998)) == pytest.approx(0.9995, rel=1e-6)
  assert float(sched(1999)) == 1.0  # the 2 / (1 - b2) = 2000th update
  # warmup() gives 0 at step 0: the same line, one step later.
  steps = np.arange(2100)
  np.testing.assert_allclose(
    _values(sched, steps[:-1]), _values(jaxsched.warmup(1.0, 2000), steps[1:]), rtol=2e-6
  )


def test_exponential_tracks_adams_bias_correction():
  b2, steps = 0.99, np.arange(1000)
  values = _values(untuned_warmup(1.0, b2, "exponential"), steps)
  bias_correction = 1.0 - b2 ** (steps + 1.0)
  np.testing.assert_allclose(values, bias_correction, atol=0.02)
  assert np.all(np.diff(values) >= 0) and values[-1] <= 1.0


@pytest.mark.parametrize("kind", ("linear", "exponential"))
def test_traced_b2_and_peak_vmap(kind):
  b2s = jnp.array([0.9, 0.99, 0.999], jnp.float32)
  peaks = jnp.array([1.0, 0.1, 3e-4])
  steps = jnp.arange(3000)
  got = np.asarray(jax.jit(jax.vmap(lambda p, b: untuned_warmup(p, b, kind)(steps)))(peaks, b2s))
  for i in range(3):
    # float32 rounds b2 before 1 - b2 is taken: the reference uses that b2.
    want = _ref(float(peaks[i]), float(np.float32(b2s[i])), kind, np.arange(3000))
    np.testing.assert_allclose(got[i], want, rtol=1e-5, atol=0)


def test_concrete_b2_is_not_rounded_to_float32():
  # 1 - float32(0.999) is 1.3e-5 off in relative terms; the concrete path takes it in float64.
  got = _values(untuned_warmup(1.0, 0.999), np.array([100]))
  assert got[0] == pytest.approx(101 * 0.0005, rel=1e-6)


@pytest.mark.parametrize(
  "kwargs, message",
  [
    (dict(b2=0.0), "untuned_warmup: b2=0.0 must be a finite number in (0, 1)"),
    (dict(b2=1.0), "untuned_warmup: b2=1.0 must be a finite number in (0, 1)"),
    (dict(b2=1.5), "untuned_warmup: b2=1.5 must be a finite number in (0, 1)"),
    (dict(b2=float("nan")), "untuned_warmup: b2=nan must be a finite number"),
    (dict(peak_value=-1.0), "untuned_warmup: peak_value=-1.0 must be a finite number"),
    (
      dict(warmup_kind="cosine"),
      "untuned_warmup: warmup_kind='cosine' must be one of 'linear', 'exponential'",
    ),
  ],
)
def test_bad_arguments_raise_a_clear_error(kwargs, message):
  args = dict(peak_value=1.0, b2=0.999)
  args.update(kwargs)
  with pytest.raises(ValueError) as err:
    untuned_warmup(**args)
  assert message in str(err.value)
