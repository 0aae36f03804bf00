"""A piecewise-linear schedule through given points (every value traceable)."""

from typing import Sequence

import jax.numpy as jnp
import numpy as np
import optax
from jax.typing import ArrayLike

from jaxsched import _common as c


def piecewise_linear(
  boundaries: Sequence[int] | ArrayLike, values: Sequence[float] | ArrayLike
) -> optax.Schedule:
  """Straight lines through the points ``(boundaries[i], values[i])``.

  With boundaries ``b_0 < b_1 < ... < b_{n-1}`` and values ``v_i``:

  .. math::
    \\eta_t = \\begin{cases}
      v_0 & t \\le b_0 \\\\
      v_i + (v_{i+1} - v_i) \\frac{t - b_i}{b_{i+1} - b_i} & b_i \\le t \\le b_{i+1} \\\\
      v_{n-1} & t \\ge b_{n-1}
    \\end{cases}

  which is ``np.interp(t, boundaries, values)``. Optax:
  ``optax.piecewise_interpolate_schedule("linear", v_0, {b_i: v_i / v_{i-1}})``
  when ``b_0 = 0`` and every value is > 0; here the values are absolute, so a
  curve may start from or pass through 0 (a warmup from 0, a decay to 0). The
  number of points is static; the boundaries and the values may be traced
  (a sweep over values is one ``jax.vmap``), so a schedule found by gradient
  descent through its values (:func:`jaxsched.optimize_schedule`) is one of
  these. Steps are interpolated from their int32 distances to the
  neighbouring boundaries, exact up to ``2**31 - 1``.

  Args:
    boundaries: the steps of the points, a 1-D list of at least one integer,
      each in ``[0, 2**31 - 1]``, strictly increasing.
    values: the rates at those steps, as many as ``boundaries``, each finite
      and >= 0.

  Returns:
    An ``optax.Schedule``.

  Examples:
    >>> import jaxsched
    >>> sched = jaxsched.piecewise_linear([0, 10, 110], [0.0, 1.0, 0.1])
    >>> [round(float(sched(t)), 4) for t in (5, 10, 60, 500)]
    [0.5, 1.0, 0.55, 0.1]
  """
  fn = "piecewise_linear"
  # Lists become arrays once, here; traced arrays stay as they are.
  boundaries = boundaries if c.is_traced(boundaries) else np.asarray(boundaries)
  values = values if c.is_traced(values) else np.asarray(values)
  for name, x in (("boundaries", boundaries), ("values", values)):
    if not c.is_traced(x) and (np.ndim(x) != 1 or np.size(x) < 1):
      raise ValueError(
        f"{fn}: {name}={np.asarray(x).tolist()!r} must be a 1-D list of at least one number"
      )
  if np.shape(boundaries) != np.shape(values):
    raise ValueError(
      f"{fn}: boundaries has {np.size(boundaries)} entries and values "
      f"{np.size(values)}; give one value per boundary"
    )
  c.check_steps(fn, "boundaries", boundaries)
  c.check_real(fn, "values", values, low=0.0)
  b = c.concrete(boundaries)
  if b is not None and np.any(np.diff(b.astype(np.int64)) <= 0):
    raise ValueError(f"{fn}: boundaries={b.tolist()} must be strictly increasing")
  dtype = c.value_dtype(values)
  n = int(np.shape(values)[0])

  def schedule(count):
    t = c.as_count(count)
    v = c.as_value(values, dtype)
    if n == 1:
      return c.finish(jnp.broadcast_to(v[0], t.shape))
    marks = c.as_steps(boundaries)
    # The segment [b_i, b_{i+1}] holding t; steps outside all segments use the
    # first or the last, where the fraction is clipped to 0 or 1.
    passed = jnp.sum(t[..., None] >= marks.reshape((1,) * t.ndim + (-1,)), axis=-1)
    i = jnp.clip(passed - 1, 0, n - 2)
    start, end = marks[i], marks[i + 1]
    p = c.progress(t, start, end - start, dtype)
    return c.finish(c.mix(v[i], v[i + 1], 1.0 - p))

  return schedule
