"""A decoder-only transformer in Flax NNX, as Wortsman et al. (2023) train their proxies.

Pre-LayerNorm, no biases, RoPE (or learned positions), GELU MLP of width 4d,
optional per-head qk-layernorm, tied nothing. Kernels are annotated for the
mesh's ``model`` axis (attention heads and MLP hidden units split over it), so
the engine shards them when ``model_axis > 1``.

The largest |attention logit| of each layer (Wortsman et al.'s instability
signal) is an evaluation metric: ``model(tokens, attention_stats=True)``
computes it, the training step (``model(tokens)``) does not.
"""

import jax
import jax.numpy as jnp
from flax import nnx

from experiments.common.sharding import MODEL_AXIS


def _kernel(axes):
  return nnx.with_partitioning(nnx.initializers.lecun_normal(), axes)


def rope(x_BxLxHxK: jax.Array) -> jax.Array:
  """Rotary position embedding (Su et al. 2021) over the first and second halves of K."""
  length, half = x_BxLxHxK.shape[1], x_BxLxHxK.shape[3] // 2
  freqs_F = 10_000.0 ** (-jnp.arange(half, dtype=jnp.float32) / half)
  angles_LxF = jnp.arange(length, dtype=jnp.float32)[:, None] * freqs_F[None, :]
  cos, sin = jnp.cos(angles_LxF)[None, :, None, :], jnp.sin(angles_LxF)[None, :, None, :]
  x1, x2 = x_BxLxHxK[..., :half], x_BxLxHxK[..., half:]
  return jnp.concatenate([x1 * cos - x2 * sin, x1 * sin + x2 * cos], axis=-1)


class Attention(nnx.Module):
  """Causal multi-head self-attention; with ``stats``, also the largest |attention logit|."""

  def __init__(self, width: int, heads: int, qk_layernorm: bool, use_rope: bool, *, rngs: nnx.Rngs):
    self.heads, self.use_rope = heads, use_rope
    self.qkv = nnx.Linear(
      width, 3 * width, use_bias=False, kernel_init=_kernel((None, MODEL_AXIS)), rngs=rngs
    )
    self.out = nnx.Linear(
      width, width, use_bias=False, kernel_init=_kernel((MODEL_AXIS, None)), rngs=rngs
    )
    head_dim = width // heads
    self.q_norm = nnx.LayerNorm(head_dim, use_bias=False, rngs=rngs) if qk_layernorm else None
    self.k_norm = nnx.LayerNorm(head_dim, use_bias=False, rngs=rngs) if qk_layernorm else None

  def __call__(self, x_BxLxD: jax.Array, stats: bool = False) -> tuple:
    """``(output, max |q.k| / sqrt(K) over the causal pairs)``; the second is None unless
    ``stats``."""
    b, length, d = x_BxLxD.shape
    qkv = self.qkv(x_BxLxD).reshape(b, length, 3, self.heads, d // self.heads)
    q_BxLxHxK, k_BxLxHxK, v_BxLxHxK = qkv[:, :, 0], qkv[:, :, 1], qkv[:, :, 2]
    if self.q_norm is not None:
      q_BxLxHxK, k_BxLxHxK = self.q_norm(q_BxLxHxK), self.k_norm(k_BxLxHxK)
    if self.use_rope:
      q_BxLxHxK, k_BxLxHxK = rope(q_BxLxHxK), rope(k_BxLxHxK)
    logits_BxHxLxL = jnp.einsum("bqhk,bthk->bhqt", q_BxLxHxK, k_BxLxHxK) / jnp.sqrt(
      jnp.float32(d // self.heads)
    )
    causal_LxL = jnp.tril(jnp.ones((length, length), bool))
    weights = jax.nn.softmax(jnp.where(causal_LxL, logits_BxHxLxL, -1e30), axis=-1)
    y_BxLxHxK = jnp.einsum("bhqt,bthk->bqhk", weights, v_BxLxHxK)
    max_logit = jnp.max(jnp.where(causal_LxL, jnp.abs(logits_BxHxLxL), 0.0)) if stats else None
    return self.out(y_BxLxHxK.reshape(b, length, d)), max_logit


class Block(nnx.Module):
  def __init__(self, width: int, heads: int, qk_layernorm: bool, use_rope: bool, *, rngs: nnx.Rngs):
    self.norm_attn = nnx.LayerNorm(width, use_bias=False, rngs=rngs)
    self.attn = Attention(width, heads, qk_layernorm, use_rope, rngs=rngs)
    self.norm_mlp = nnx.LayerNorm(width, use_bias=False, rngs=rngs)
    self.mlp_in = nnx.Linear(
      width, 4 * width, use_bias=False, kernel_init=_kernel((None, MODEL_AXIS)), rngs=rngs
    )
    self.mlp_out = nnx.Linear(
      4 * width, width, use_bias=False, kernel_init=_kernel((MODEL_AXIS, None)), rngs=rngs
    )

  def __call__(self, x_BxLxD: jax.Array, stats: bool = False) -> tuple:
    h_BxLxD, max_logit = self.attn(self.norm_attn(x_BxLxD), stats)
    x_BxLxD = x_BxLxD + h_BxLxD
    return x_BxLxD + self.mlp_out(jax.nn.gelu(self.mlp_in(self.norm_mlp(x_BxLxD)))), max_logit


class Transformer(nnx.Module):
  """Token ids ``(B, L)`` to next-token logits ``(B, L, V)`` (and, with ``attention_stats``,
  the per-layer max |attention logit| ``(depth,)``)."""

  def __init__(
    self,
    vocab_size: int,
    context: int,
    width: int,
    depth: int,
    heads: int,
    qk_layernorm: bool,
    positions: str,
    z_loss: float,
    *,
    rngs: nnx.Rngs,
  ):
    self.z_loss = z_loss  # the z-loss coefficient (static)
    self.embed = nnx.Embed(vocab_size, width, rngs=rngs)
    self.position = (
      nnx.Param(nnx.initializers.normal(0.02)(rngs.params(), (context, width)))
      if positions == "learned"
      else None
    )
    self.blocks = nnx.List(
      [Block(width, heads, qk_layernorm, positions == "rope", rngs=rngs) for _ in range(depth)]
    )
    self.norm = nnx.LayerNorm(width, use_bias=False, rngs=rngs)
    self.unembed = nnx.Linear(width, vocab_size, use_bias=False, rngs=rngs)

  def __call__(self, tokens_BxL: jax.Array, attention_stats: bool = False):
    x_BxLxD = self.embed(tokens_BxL)
    if self.position is not None:
      x_BxLxD = x_BxLxD + self.position[...][None, : tokens_BxL.shape[1]]
    max_logits = []
    for block in self.blocks:
      x_BxLxD, max_logit = block(x_BxLxD, attention_stats)
      max_logits.append(max_logit)
    logits_BxLxV = self.unembed(self.norm(x_BxLxD))
    return (logits_BxLxV, jnp.stack(max_logits)) if attention_stats else logits_BxLxV
