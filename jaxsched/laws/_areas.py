"""The learning-rate curve of a run and the areas the loss laws read from it.

Every law here sees a run through its learning rates ``eta[0], eta[1], ...``,
where ``eta[t] = schedule(t)`` is the rate of update ``t`` (Optax's count, as
everywhere in jaxsched). The loss "at step t" is the loss measured after
update ``t``; in the papers' one-based count (step ``s`` is the ``s``-th
update) that is their step ``s = t + 1``, with their ``eta_s`` our ``eta[t]``.
"""

from typing import Any, Callable, NamedTuple, Optional, Union

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from jaxsched import _common as c

LRCurve = Union[Callable[[Any], Any], ArrayLike]  # a schedule, or the rates of updates 0, 1, ...


class LRAreas(NamedTuple):
  """The areas of a learning-rate curve after each update (see :func:`lr_areas`)."""

  s1: jax.Array  # shape=(num_steps,): forward area sum_{i <= t} eta[i]
  s2: jax.Array  # shape=(num_steps,): annealing area sum_{i <= t} m[i]


def lr_curve(fn: str, schedule: LRCurve, num_steps: Optional[int] = None) -> jax.Array:
  """The rates of updates ``0 .. num_steps - 1`` from a schedule or an array of rates.

  A schedule is evaluated on ``jnp.arange(num_steps)`` (``num_steps`` is then
  required and static); an array is taken as it is, its first ``num_steps``
  entries if given. Concrete rates are checked: 1-D, finite and >= 0.
  """
  if callable(schedule):
    if num_steps is None:
      raise ValueError(f"{fn}: num_steps is required when the curve is a schedule")
    c.check_steps(fn, "num_steps", num_steps, minimum=1)
    return jnp.asarray(schedule(jnp.arange(int(num_steps), dtype=jnp.int32)))
  lrs: Any = schedule if c.is_traced(schedule) else np.asarray(schedule)
  if np.ndim(lrs) != 1 or np.shape(lrs)[0] < 1:
    raise ValueError(
      f"{fn}: the learning rates must be a schedule or a 1-D array of at least one "
      f"rate, not an array of shape {np.shape(lrs)}"
    )
  if num_steps is not None:
    c.check_steps(fn, "num_steps", num_steps, minimum=1)
    if int(num_steps) > np.shape(lrs)[0]:
      raise ValueError(
        f"{fn}: num_steps={int(num_steps)} is beyond the {np.shape(lrs)[0]} learning rates given"
      )
    lrs = lrs[: int(num_steps)]
  check_rates(fn, lrs)
  return jnp.asarray(lrs, dtype=c.value_dtype(lrs))


def check_rates(fn: str, lrs: Any) -> None:
  """Concrete rates must be finite and >= 0 (a rate of 0 is a step that does nothing)."""
  value = c.concrete(lrs)
  if value is None:
    return
  bad = ~np.isfinite(value) | (value < 0)
  if bad.any():
    t = int(np.argmax(bad))
    raise ValueError(
      f"{fn}: the learning rate of update {t} is {float(value[t])!r}; every rate must be "
      "finite and >= 0"
    )


def annealing_drops(lrs: jax.Array) -> jax.Array:
  """``d[t] = eta[t-1] - eta[t]`` after the first maximum of the curve, 0 up to it.

  The steps up to the first maximum are the warmup: their rises are not
  annealing (Luo et al. start the decay terms after warmup and add the
  warmup's area to the forward area). Later rises (a restart) count as
  negative drops, as in both papers.
  """
  peak = jnp.argmax(lrs, axis=-1)[..., None]
  step = jnp.arange(lrs.shape[-1])
  diff = jnp.concatenate([jnp.zeros_like(lrs[..., :1]), lrs[..., :-1] - lrs[..., 1:]], axis=-1)
  return jnp.where(step > peak, diff, 0.0)


def _decayed_sum(decay: jax.Array, drops: jax.Array, block: int = 128) -> jax.Array:
  """``m[t] = decay * m[t-1] + drops[t]`` (``m[-1] = 0``) along the last axis.

  In blocks of ``block`` steps: inside a block a product with the matrix of
  ``decay ** (i - k)`` (``i >= k``), across blocks a scan over the blocks'
  last values. Compiles in a fraction of a second and runs as matrix
  products, where a scan over every step or an associative scan would not.
  """
  n = drops.shape[-1]
  blocks = -(-n // block)
  padded = jnp.pad(drops, [(0, 0)] * (drops.ndim - 1) + [(0, blocks * block - n)])
  padded = padded.reshape(drops.shape[:-1] + (blocks, block))
  i = jnp.arange(block)
  lag = i[:, None] - i[None, :]
  decay = jnp.asarray(decay, drops.dtype)
  within = jnp.where(lag >= 0, decay ** jnp.maximum(lag, 0).astype(drops.dtype), 0.0)
  local = jnp.einsum("ik,...bk->...bi", within, padded)
  carry_in = decay ** (i + 1).astype(drops.dtype)  # weight of the previous block's last m

  def across(last, x):
    m = x + carry_in * last[..., None]
    return m[..., -1], m

  first = jnp.zeros(drops.shape[:-1], drops.dtype)
  _, m = jax.lax.scan(across, first, jnp.moveaxis(local, -2, 0))
  m = jnp.moveaxis(m, 0, -2).reshape(drops.shape[:-1] + (blocks * block,))
  return m[..., :n]


def lr_areas(
  schedule: LRCurve, num_steps: Optional[int] = None, decay: ArrayLike = 0.999
) -> LRAreas:
  """The forward area S1 and the annealing area S2 after every update.

  Tissue et al.'s quantities, in jaxsched's step count (``eta[t]`` is the rate
  of update ``t``; the loss "at step t" is measured after it):

  .. math::
    S_1(t) = \\sum_{i=0}^{t} \\eta_i \\qquad
    S_2(t) = \\sum_{i=0}^{t} m_i \\qquad
    m_i = \\lambda \\, m_{i-1} + d_i, \\quad m_{-1} = 0 \\\\
    d_i = \\begin{cases}
      \\eta_{i-1} - \\eta_i & i > w \\\\
      0 & i \\le w
    \\end{cases}

  with ``lambda = decay`` and ``w`` the step of the curve's first maximum
  (the end of its warmup; 0 for a curve that starts at its peak). In the
  paper's one-based count, ``S1(s) = sum_{i=1}^{s} eta_i`` at its step
  ``s = t + 1``. ``decay = 0`` gives the plain LR drop ``S2 = eta_w - eta_t``;
  ``decay = 1`` the area between the peak and the curve,
  ``S2 = sum_{i=w}^{t} (eta_w - eta_i)``; the paper's default is 0.999.

  Warmup: the rises up to the curve's first maximum count in ``S1`` and are
  left out of ``S2``, as Luo et al. treat warmup (their ``S_W``); a rising
  rate would otherwise count as negative annealing. Later rises (restarts)
  do count, negatively. The rates enter as given (not normalized), so a law's
  ``A`` and ``C`` carry their units; ``m_0 = 0`` (no drop before the first
  update).

  Args:
    schedule: a schedule, or a 1-D array of the rates of updates 0, 1, ...
      (each finite and >= 0).
    num_steps: the number of updates, >= 1; required for a schedule (static),
      optional for an array (its first ``num_steps`` rates; all by default).
    decay: ``lambda``, in [0, 1].

  Returns:
    ``LRAreas(s1, s2)``, each of shape ``(num_steps,)``.

  Examples:
    >>> import jaxsched
    >>> areas = jaxsched.lr_areas([1.0, 1.0, 0.5, 0.5], decay=0.5)
    >>> areas.s1.tolist(), areas.s2.tolist()
    ([1.0, 2.0, 2.5, 3.0], [0.0, 0.0, 0.5, 0.75])

  References:
    Tissue et al., 2024, Scaling Law with Learning Rate Annealing:
    https://arxiv.org/abs/2408.11029
  """
  fn = "lr_areas"
  c.check_real(fn, "decay", decay, low=0.0, high=1.0)
  return _areas(lr_curve(fn, schedule, num_steps), jnp.asarray(decay))


@jax.jit
def _areas(lrs: jax.Array, decay: jax.Array) -> LRAreas:
  drops = annealing_drops(lrs)
  return LRAreas(jnp.cumsum(lrs, axis=-1), jnp.cumsum(_decayed_sum(decay, drops), axis=-1))
