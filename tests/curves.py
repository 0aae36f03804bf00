"""Curve comparison shared by the parity tests."""

import chex
import jax
import jax.numpy as jnp
import numpy as np

# Tolerance. jaxsched computes in float32, the references (PyTorch, transformers,
# plain Python) in float64, and PyTorch's chainable schedulers accumulate products
# step by step. A relative tolerance
# alone cannot work where the reference reaches (or nearly reaches) zero, e.g.
# the end of a cosine or polynomial decay: there float32 rounding of the
# *inputs* (cos(pi * t / T) near -1, 1 - t / T near 0) leaves an absolute error
# of order 1e-7 * peak that is huge relative to a value that is ~0. So the
# check is |got - want| <= RTOL * |want| + ATOL_FRACTION * max|want|, i.e. 1e-5
# relative plus 1e-6 of the largest value of the curve (the same 1e-6 * peak
# accuracy the library promises).
RTOL = 1e-5
ATOL_FRACTION = 1e-6


def assert_curve_close(got, want, *, what, steps=None):
  """Asserts got ~= want elementwise; names the first differing steps."""
  got = np.asarray(got, dtype=np.float64)
  want = np.asarray(want, dtype=np.float64)
  chex.assert_shape(got, want.shape)
  atol = ATOL_FRACTION * float(np.max(np.abs(want)))
  bad = np.flatnonzero(~np.isclose(got, want, rtol=RTOL, atol=atol))
  if bad.size:
    steps = np.arange(want.size) if steps is None else np.asarray(steps)
    detail = "; ".join(f"step {steps[i]}: got {got[i]:.9g}, want {want[i]:.9g}" for i in bad[:8])
    raise AssertionError(
      f"{what}: {bad.size}/{want.size} steps differ (rtol={RTOL}, atol={atol:.3g}): {detail}"
    )
  chex.assert_trees_all_close(got, want, rtol=RTOL, atol=atol)


def jax_curve(schedule, n):
  """The schedule at steps 0..n-1, computed the way it runs: under jax.jit."""
  values = jax.jit(schedule)(jnp.arange(n))
  chex.assert_shape(values, (n,))
  chex.assert_type(values, jnp.float32)
  return np.asarray(values)


def x64():
  """jax.enable_x64 as a context manager (jax.experimental.enable_x64 before 0.8)."""
  try:
    from jax.experimental import enable_x64  # pylint: disable=g-import-not-at-top

    return enable_x64()
  except ImportError:
    return jax.enable_x64(True)
