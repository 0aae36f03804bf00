"""The network: an MLP with two ReLU hidden layers, and group DRO's weights as model state."""

import jax
import jax.numpy as jnp
from flax import nnx


class GroupWeights(nnx.Variable):
  """Group DRO's distribution ``q`` over groups: per-run state, not a parameter."""


class GroupAdjustment(nnx.Variable):
  """Sagawa et al.'s ``C / sqrt(n_g)``, added to each group's loss (a constant)."""


class MLP(nnx.Module):
  """``in -> width -> width -> 2`` with ReLU, plus ``q`` (uniform at start) and the adjustment."""

  def __init__(self, in_features: int, width: int, adjustment: jax.Array, *, rngs: nnx.Rngs):
    self.hidden1 = nnx.Linear(in_features, width, rngs=rngs)
    self.hidden2 = nnx.Linear(width, width, rngs=rngs)
    self.out = nnx.Linear(width, 2, rngs=rngs)
    groups = adjustment.shape[0]
    self.q = GroupWeights(jnp.full((groups,), 1.0 / groups, jnp.float32))
    self.adjustment = GroupAdjustment(jnp.asarray(adjustment, jnp.float32))

  def __call__(self, x_BxD: jax.Array) -> jax.Array:
    h_BxH = jax.nn.relu(self.hidden1(x_BxD))
    h_BxH = jax.nn.relu(self.hidden2(h_BxH))
    return self.out(h_BxH)
