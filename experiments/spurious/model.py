"""The networks (an MLP for vectors, a small CNN for images) and group DRO's weights as state."""

import jax
import jax.numpy as jnp
from flax import nnx


class GroupWeights(nnx.Variable):
  """Group DRO's distribution ``q`` over groups: per-run state, not a parameter."""


class MLP(nnx.Module):
  """``in -> width -> width -> 2`` with ReLU, plus ``q`` (uniform at start)."""

  def __init__(self, in_features: int, width: int, groups: int, *, rngs: nnx.Rngs):
    self.hidden1 = nnx.Linear(in_features, width, rngs=rngs)
    self.hidden2 = nnx.Linear(width, width, rngs=rngs)
    self.out = nnx.Linear(width, 2, rngs=rngs)
    self.q = GroupWeights(jnp.full((groups,), 1.0 / groups, jnp.float32))

  def __call__(self, x_BxD: jax.Array) -> jax.Array:
    h_BxH = jax.nn.relu(self.hidden1(x_BxD))
    h_BxH = jax.nn.relu(self.hidden2(h_BxH))
    return self.out(h_BxH)


def patches_3x3_stride2(x_BxHxWxC: jax.Array) -> jax.Array:
  """The 3x3 neighbourhoods of every second pixel, zero-padded by 1: ``(B, H/2, W/2, 9C)``.

  A dense layer on them is a 3x3 convolution of stride 2 with padding 1
  (``lax.conv_general_dilated(..., (2, 2), ((1, 1), (1, 1)))``, tested): written as slices and
  a matrix product because XLA's CPU convolution gradient is tens of times slower.
  """
  _, h, w, _ = x_BxHxWxC.shape
  padded = jnp.pad(x_BxHxWxC, ((0, 0), (1, 1), (1, 1), (0, 0)))
  shifted = [padded[:, i : i + h : 2, j : j + w : 2, :] for i in range(3) for j in range(3)]
  return jnp.concatenate(shifted, axis=-1)


class CNN(nnx.Module):
  """Three 3x3 convolutions of stride 2 (``c``, ``2c``, ``4c`` channels, ReLU), global average
  pooling, a linear layer to 2 logits; plus ``q``. Takes ``uint8`` images, scaled to [-1, 1].

  No normalization layer, so the model has no batch statistics: a run's forward pass depends on
  its parameters alone (vmapped runs, evaluation and training see the same function).
  """

  def __init__(self, channels: int, groups: int, *, rngs: nnx.Rngs):
    c = channels
    self.conv1 = nnx.Linear(9 * 3, c, rngs=rngs)
    self.conv2 = nnx.Linear(9 * c, 2 * c, rngs=rngs)
    self.conv3 = nnx.Linear(9 * 2 * c, 4 * c, rngs=rngs)
    self.out = nnx.Linear(4 * c, 2, rngs=rngs)
    self.q = GroupWeights(jnp.full((groups,), 1.0 / groups, jnp.float32))

  def __call__(self, x_BxHxWx3: jax.Array) -> jax.Array:
    h = x_BxHxWx3.astype(jnp.float32) / 127.5 - 1.0
    for conv in (self.conv1, self.conv2, self.conv3):
      h = jax.nn.relu(conv(patches_3x3_stride2(h)))
    return self.out(jnp.mean(h, axis=(1, 2)))
