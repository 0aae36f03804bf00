"""Grokfast: amplify the slow component of the gradients (Lee et al., 2024)."""

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from jaxsched import _common as c


class GrokfastEmaState(NamedTuple):
  """State of :func:`grokfast_ema`. Field names are a checkpoint format."""

  grokfast_ema: optax.Updates  # the parameters' tree of float arrays
  grokfast_count: jax.Array  # shape=(), dtype=int32


def grokfast_ema(alpha: float = 0.98, lamb: float = 2.0) -> optax.GradientTransformation:
  """Adds ``lamb`` times an exponential average of the gradients to them.

  .. math::
    \\mu_t = \\alpha \\mu_{t-1} + (1 - \\alpha) g_t, \\qquad \\mu_0 = g_0; \\qquad
    \\tilde g_t = g_t + \\lambda \\mu_t

  Chain it before the optimizer: ``optax.chain(jaxsched.grokfast_ema(),
  optax.adamw(1e-3, weight_decay=1.0))``. The reference ``gradfilter_ema``
  starts its average from the first gradient, as here.

  Args:
    alpha: EMA momentum, in [0, 1).
    lamb: amplification of the slow component, >= 0.

  Returns:
    An ``optax.GradientTransformation``.

  Examples:
    >>> import jax.numpy as jnp, jaxsched
    >>> tx = jaxsched.grokfast_ema(alpha=0.5, lamb=2.0)
    >>> state = tx.init(jnp.zeros(()))
    >>> g, state = tx.update(jnp.ones(()), state)   # mu = 1
    >>> g, state = tx.update(jnp.zeros(()), state)  # mu = 0.5
    >>> float(g)
    1.0

  References:
    Lee et al., 2024, Grokfast: https://arxiv.org/abs/2405.20233
  """
  fn = "grokfast_ema"
  c.check_real(fn, "alpha", alpha, low=0.0, high=1.0, high_open=True)
  c.check_real(fn, "lamb", lamb, low=0.0)

  def init_fn(params):
    return GrokfastEmaState(
      grokfast_ema=jax.tree.map(jnp.zeros_like, params), grokfast_count=jnp.zeros((), jnp.int32)
    )

  def update_fn(updates, state, params=None):
    del params
    first = state.grokfast_count == 0
    ema = jax.tree.map(
      lambda m, g: jnp.where(first, g, alpha * m + (1.0 - alpha) * g).astype(m.dtype),
      state.grokfast_ema,
      updates,
    )
    updates = jax.tree.map(lambda g, m: g + lamb * m.astype(g.dtype), updates, ema)
    return updates, GrokfastEmaState(
      grokfast_ema=ema, grokfast_count=optax.safe_increment(state.grokfast_count)
    )

  return optax.GradientTransformation(init_fn, update_fn)
