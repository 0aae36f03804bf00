"""The three models of the study, in Flax NNX. Each maps ``(B, 2)`` pairs to ``(B, p)`` logits."""

import jax
import jax.numpy as jnp
from flax import nnx


class MLP(nnx.Module):
  """One hidden layer on one-hot ``a`` and ``b`` with a quadratic activation.

  ``h = (E_a[a] + E_b[b])**2``, ``logits = W h``: the embedding sum is the first
  layer applied to the concatenated one-hots (Gromov, 2023), as a gather.
  """

  def __init__(self, modulus: int, width: int, *, rngs: nnx.Rngs):
    init = nnx.initializers.normal(stddev=1.0 / jnp.sqrt(2.0))
    self.embed_a = nnx.Embed(modulus, width, embedding_init=init, rngs=rngs)
    self.embed_b = nnx.Embed(modulus, width, embedding_init=init, rngs=rngs)
    self.out = nnx.Linear(
      width,
      modulus,
      use_bias=False,
      kernel_init=nnx.initializers.normal(stddev=1.0 / jnp.sqrt(width)),
      rngs=rngs,
    )

  def __call__(self, pairs_Bx2: jax.Array) -> jax.Array:
    hidden_BxH = (self.embed_a(pairs_Bx2[:, 0]) + self.embed_b(pairs_Bx2[:, 1])) ** 2
    return self.out(hidden_BxH)


class Block(nnx.Module):
  """Pre-LayerNorm (optional) causal self-attention and MLP block.

  ``last_only``: the block's output at the last position alone (one query,
  attending to every position), all that a model reading its prediction at
  ``=`` needs from its last block. Keys and values still cover every position.
  """

  def __init__(
    self, width: int, num_heads: int, mlp_width: int, layer_norm: bool, *, rngs: nnx.Rngs
  ):
    self.norm_attn = nnx.LayerNorm(width, rngs=rngs) if layer_norm else None
    self.attn = nnx.MultiHeadAttention(
      num_heads=num_heads, in_features=width, use_bias=layer_norm, decode=False, rngs=rngs
    )
    self.norm_mlp = nnx.LayerNorm(width, rngs=rngs) if layer_norm else None
    self.mlp_in = nnx.Linear(width, mlp_width, rngs=rngs)
    self.mlp_out = nnx.Linear(mlp_width, width, rngs=rngs)

  def __call__(self, x_BxLxD: jax.Array, mask: jax.Array, *, last_only: bool = False) -> jax.Array:
    h_BxLxD = self.norm_attn(x_BxLxD) if self.norm_attn is not None else x_BxLxD
    if last_only:  # one query, at the last position: L = 1 from here on
      x_BxLxD, mask = x_BxLxD[:, -1:], mask[..., -1:, :]
    x_BxLxD = x_BxLxD + self.attn(h_BxLxD[:, -x_BxLxD.shape[1] :], h_BxLxD, mask=mask)
    return self._mlp(x_BxLxD)

  def on_rows(
    self, rows_RxD: jax.Array, index_BxL: jax.Array, mask: jax.Array, *, last_only: bool = False
  ) -> jax.Array:
    """The block on inputs that take few distinct values: position ``l`` of example ``b``
    holds ``rows_RxD[index_BxL[b, l]]``.

    The same function as ``self(rows_RxD[index_BxL], mask, last_only=last_only)`` (to
    float32 rounding), but what each position computes alone before attention mixes them
    (the LayerNorm, the query, key and value projections) runs once per row, R rows instead
    of B x L, and is gathered after. A first block's input is such: a token's embedding
    plus its position's.
    """
    attn = self.attn
    h_RxD = self.norm_attn(rows_RxD) if self.norm_attn is not None else rows_RxD
    at_BxL = index_BxL[:, -1:] if last_only else index_BxL  # the positions queried
    if last_only:
      mask = mask[..., -1:, :]
    mixed = attn.attention_fn(
      attn.query(h_RxD)[at_BxL],
      attn.key(h_RxD)[index_BxL],
      attn.value(h_RxD)[index_BxL],
      mask=mask,
      deterministic=True,
    )  # nnx.MultiHeadAttention's arithmetic, its projections moved before the gathers
    return self._mlp(rows_RxD[at_BxL] + attn.out(mixed))

  def _mlp(self, x_BxLxD: jax.Array) -> jax.Array:
    h_BxLxD = self.norm_mlp(x_BxLxD) if self.norm_mlp is not None else x_BxLxD
    return x_BxLxD + self.mlp_out(jax.nn.relu(self.mlp_in(h_BxLxD)))


class Transformer(nnx.Module):
  """Decoder-only transformer reading ``a op b =`` (or ``a b =``), predicting at ``=``.

  Power et al. (2022): 2 layers, width 128, 4 heads, LayerNorm, operator token.
  Nanda et al. (2023): 1 layer, width 128, 4 heads, MLP 512, no LayerNorm, ``a b =``.
  Only the prediction at ``=`` is read, so the last block runs at that position
  alone (the same logits as running it at every position, for a third of the work), and
  the first block projects each distinct (position, token) input once (``Block.on_rows``).
  """

  def __init__(
    self,
    modulus: int,
    num_layers: int,
    width: int,
    num_heads: int,
    mlp_width: int,
    layer_norm: bool,
    with_operator: bool,
    *,
    rngs: nnx.Rngs,
  ):
    self.modulus = modulus
    self.with_operator = with_operator
    length = 4 if with_operator else 3
    self.embed = nnx.Embed(modulus + 2, width, rngs=rngs)
    self.position = nnx.Param(nnx.initializers.normal(0.02)(rngs.params(), (length, width)))
    self.blocks = nnx.List(
      [Block(width, num_heads, mlp_width, layer_norm, rngs=rngs) for _ in range(num_layers)]
    )
    self.norm = nnx.LayerNorm(width, rngs=rngs) if layer_norm else None
    self.unembed = nnx.Linear(width, modulus, use_bias=False, rngs=rngs)

  def __call__(self, pairs_Bx2: jax.Array) -> jax.Array:
    a, b = pairs_Bx2[:, 0], pairs_Bx2[:, 1]
    p = self.modulus
    # Position l holds its token's embedding plus position l's, so the first block's inputs
    # are a few rows (p where a or b stands, one where the operator or "=" does): the block
    # computes each row once (Block.on_rows) and gathers them by index_BxL.
    tokens = [a, p, b, p + 1] if self.with_operator else [a, b, p + 1]
    embeddings_VxD, position_LxD = self.embed.embedding[...], self.position[...]
    rows, index, offset = [], [], 0
    for position, token in enumerate(tokens):
      at_1xD = position_LxD[position : position + 1]
      if isinstance(token, int):  # the operator or "=": one row
        rows.append(embeddings_VxD[token : token + 1] + at_1xD)
        index.append(jnp.full_like(a, offset))
        offset += 1
      else:  # a or b: one row per residue
        rows.append(embeddings_VxD[:p] + at_1xD)
        index.append(token + offset)
        offset += p
    index_BxL = jnp.stack(index, axis=1)
    mask = nnx.make_causal_mask(index_BxL)
    last = len(self.blocks) - 1
    x_BxLxD = self.blocks[0].on_rows(jnp.concatenate(rows), index_BxL, mask, last_only=last == 0)
    for i, block in enumerate(self.blocks[1:], start=1):
      x_BxLxD = block(x_BxLxD, mask, last_only=i == last)
    x_BxD = x_BxLxD[:, -1]
    if self.norm is not None:
      x_BxD = self.norm(x_BxD)
    return self.unembed(x_BxD)


def build(name: str, modulus: int, *, width: int, rngs: nnx.Rngs) -> nnx.Module:
  """The model called ``name`` ("mlp", "power" or "nanda") for modulus ``p``."""
  if name == "mlp":
    return MLP(modulus, width, rngs=rngs)
  if name == "power":
    return Transformer(
      modulus,
      num_layers=2,
      width=width,
      num_heads=4,
      mlp_width=4 * width,
      layer_norm=True,
      with_operator=True,
      rngs=rngs,
    )
  if name == "nanda":
    return Transformer(
      modulus,
      num_layers=1,
      width=width,
      num_heads=4,
      mlp_width=4 * width,
      layer_norm=False,
      with_operator=False,
      rngs=rngs,
    )
  raise ValueError(f"model={name!r} must be one of 'mlp', 'power', 'nanda'")
