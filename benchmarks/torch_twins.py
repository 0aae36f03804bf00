"""The PyTorch twins of the studies' models, loaded with a JAX run's weights, and their trainers.

Each twin computes the same function as its Flax NNX model, the same way
(gathered embeddings, float32, the same attention arithmetic), so the first
loss agrees with the JAX run's:

* :func:`grokking_twin`: ``experiments.grokking.model.MLP`` (``(E_a[a] +
  E_b[b])**2 @ W``) and the Nanda transformer (one block, no LayerNorm, ``a b
  =``, the block at the ``=`` position only, as the JAX model runs it);
* :func:`lm_twin`: ``experiments.lm_warmup.model.Transformer`` (pre-LN,
  RoPE halves, no biases, tanh GELU, causal softmax; no qk-layernorm).

The trainers are eager Python loops with ``torch.optim.AdamW`` and the same
betas, epsilon and decay as the JAX side: :func:`grokking_trainer` (full
batch, ``LambdaLR`` for the linear warmup) and :func:`lm_trainer` (clipped at
global norm 1).
"""

import contextlib
from typing import Any, Callable

import numpy as np
import torch
from flax import nnx
from torch import nn


def _tensor(x: Any) -> torch.Tensor:
  return torch.tensor(np.ascontiguousarray(np.asarray(x)), dtype=torch.float32)


class GrokkingMLP(nn.Module):
  """``model.MLP``: ``(E_a[a] + E_b[b])**2 @ W``, gathers, no biases."""

  def __init__(self, modulus: int, width: int):
    super().__init__()
    self.embed_a = nn.Embedding(modulus, width)
    self.embed_b = nn.Embedding(modulus, width)
    self.out = nn.Linear(width, modulus, bias=False)

  def forward(self, pairs_Bx2):
    hidden_BxH = (self.embed_a(pairs_Bx2[:, 0]) + self.embed_b(pairs_Bx2[:, 1])) ** 2
    return self.out(hidden_BxH)


class NandaTransformer(nn.Module):
  """``model.Transformer`` with Nanda's settings: 1 block, no LayerNorm, ``a b =``.

  Attention as the JAX model computes it: bias-free q/k/v/out projections,
  queries scaled by ``head_dim**-0.5``, softmax over keys. Like the JAX model
  (``Block.on_rows``), the query, key and value projections run once per
  distinct input row (a position's embedding plus its token's: ``p`` rows for
  ``a``, ``p`` for ``b``, one for ``=``) and are gathered per example, and the
  block runs at the last position only (the one the logits read; its query
  sees every key, so no mask), with keys and values at all three.
  """

  def __init__(self, modulus: int, width: int, num_heads: int = 4):
    super().__init__()
    self.modulus, self.num_heads = modulus, num_heads
    self.embed = nn.Embedding(modulus + 2, width)
    self.position = nn.Parameter(torch.zeros(3, width))
    self.query = nn.Linear(width, width, bias=False)
    self.key = nn.Linear(width, width, bias=False)
    self.value = nn.Linear(width, width, bias=False)
    self.attn_out = nn.Linear(width, width, bias=False)
    self.mlp_in = nn.Linear(width, 4 * width)
    self.mlp_out = nn.Linear(4 * width, width)
    self.unembed = nn.Linear(width, modulus, bias=False)

  def forward(self, pairs_Bx2):
    p, (a, b) = self.modulus, (pairs_Bx2[:, 0], pairs_Bx2[:, 1])
    embeddings, position = self.embed.weight, self.position
    rows_RxD = torch.cat(
      [
        embeddings[:p] + position[0],
        embeddings[:p] + position[1],
        embeddings[p + 1 :] + position[2],
      ]
    )
    index_BxL = torch.stack([a, b + p, torch.full_like(a, 2 * p)], dim=1)
    n, width = len(a), rows_RxD.shape[1]
    heads = lambda t: t.view(n, -1, self.num_heads, width // self.num_heads).transpose(1, 2)
    # One query, at "=", which sees every key (B H 1 d); keys and values at all three (B H L d).
    q = heads(self.query(rows_RxD)[index_BxL[:, -1:]]) * (width // self.num_heads) ** -0.5
    k, v = heads(self.key(rows_RxD)[index_BxL]), heads(self.value(rows_RxD)[index_BxL])
    mixed_BxD = ((q @ k.transpose(-2, -1)).softmax(-1) @ v).reshape(n, width)
    x_BxD = rows_RxD[index_BxL[:, -1]] + self.attn_out(mixed_BxD)
    x_BxD = x_BxD + self.mlp_out(torch.relu(self.mlp_in(x_BxD)))
    return self.unembed(x_BxD)


def grokking_twin(name: str, modulus: int, width: int, params: Any) -> nn.Module:
  """The PyTorch model for the grokking study's ``name`` (``mlp`` or ``nanda``), loaded with
  ``params`` (one run's ``nnx.Param`` state)."""
  p = nnx.to_pure_dict(params)
  model: nn.Module
  if name == "mlp":
    model = GrokkingMLP(modulus, width)
    weights = {
      "embed_a.weight": p["embed_a"]["embedding"],
      "embed_b.weight": p["embed_b"]["embedding"],
      "out.weight": np.asarray(p["out"]["kernel"]).T,
    }
  elif name == "nanda":
    model = NandaTransformer(modulus, width)
    block = p["blocks"][0]
    attn = {k: np.asarray(block["attn"][k]["kernel"]) for k in ("query", "key", "value", "out")}
    weights = {
      "embed.weight": p["embed"]["embedding"],
      "position": p["position"],
      "query.weight": attn["query"].reshape(width, width).T,
      "key.weight": attn["key"].reshape(width, width).T,
      "value.weight": attn["value"].reshape(width, width).T,
      "attn_out.weight": attn["out"].reshape(width, width).T,
      "mlp_in.weight": np.asarray(block["mlp_in"]["kernel"]).T,
      "mlp_in.bias": block["mlp_in"]["bias"],
      "mlp_out.weight": np.asarray(block["mlp_out"]["kernel"]).T,
      "mlp_out.bias": block["mlp_out"]["bias"],
      "unembed.weight": np.asarray(p["unembed"]["kernel"]).T,
    }
  else:
    raise ValueError(f"grokking_twin: name={name!r} must be 'mlp' or 'nanda'")
  model.load_state_dict({k: _tensor(v) for k, v in weights.items()})
  return model


def grokking_trainer(
  model: nn.Module,
  inputs: torch.Tensor,
  targets: torch.Tensor,
  steps: int,
  *,
  lr: float,
  betas: tuple,
  weight_decay: float,
  warmup: int,
) -> Callable:
  """``steps`` full-batch AdamW steps of ``model`` per call (an eager Python loop), with
  ``LambdaLR`` for the linear warmup over ``warmup`` steps."""
  opt = torch.optim.AdamW(
    model.parameters(), lr=lr, betas=betas, eps=1e-8, weight_decay=weight_decay
  )
  sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, s / warmup))

  def train():
    for _ in range(steps):
      opt.zero_grad(set_to_none=True)
      loss = nn.functional.cross_entropy(model(inputs), targets)
      loss.backward()
      opt.step()
      sched.step()
    return loss.detach()

  return train


def _rope(x_BxLxHxK: torch.Tensor) -> torch.Tensor:
  length, half = x_BxLxHxK.shape[1], x_BxLxHxK.shape[3] // 2
  freqs = 10_000.0 ** (-torch.arange(half, dtype=torch.float32) / half)
  angles = torch.arange(length, dtype=torch.float32)[:, None] * freqs[None, :]
  cos, sin = torch.cos(angles)[None, :, None, :], torch.sin(angles)[None, :, None, :]
  x1, x2 = x_BxLxHxK[..., :half], x_BxLxHxK[..., half:]
  return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)


class LMTransformer(nn.Module):
  """``experiments.lm_warmup.model.Transformer`` with RoPE, no qk-layernorm, no z-loss."""

  def __init__(self, heads: int, params: dict):
    super().__init__()
    param = lambda x: nn.Parameter(_tensor(x))
    self.heads = heads
    self.embed = param(params["embed"]["embedding"])
    self.blocks = nn.ModuleList()
    for _, block in sorted(params["blocks"].items()):
      layer = nn.Module()
      layer.ln1 = param(block["norm_attn"]["scale"])
      layer.qkv = param(block["attn"]["qkv"]["kernel"])
      layer.out = param(block["attn"]["out"]["kernel"])
      layer.ln2 = param(block["norm_mlp"]["scale"])
      layer.mlp_in = param(block["mlp_in"]["kernel"])
      layer.mlp_out = param(block["mlp_out"]["kernel"])
      self.blocks.append(layer)
    self.norm = param(params["norm"]["scale"])
    self.unembed = param(params["unembed"]["kernel"])

  def forward(self, tokens_BxL):
    layer_norm = lambda x, scale: nn.functional.layer_norm(x, x.shape[-1:], weight=scale, eps=1e-6)
    x = self.embed[tokens_BxL]
    b, length, d = x.shape
    causal = torch.tril(torch.ones(length, length, dtype=torch.bool))
    for layer in self.blocks:
      qkv = (layer_norm(x, layer.ln1) @ layer.qkv).reshape(
        b, length, 3, self.heads, d // self.heads
      )
      q, k, v = _rope(qkv[:, :, 0]), _rope(qkv[:, :, 1]), qkv[:, :, 2]
      logits = torch.einsum("bqhk,bthk->bhqt", q, k) / (d // self.heads) ** 0.5
      weights = torch.softmax(logits.masked_fill(~causal, -1e30), dim=-1)
      x = x + torch.einsum("bhqt,bthk->bqhk", weights, v).reshape(b, length, d) @ layer.out
      h = nn.functional.gelu(layer_norm(x, layer.ln2) @ layer.mlp_in, approximate="tanh")
      x = x + h @ layer.mlp_out
    return layer_norm(x, self.norm) @ self.unembed


def lm_twin(config: Any, params: Any) -> nn.Module:
  """The LM study's transformer in PyTorch, loaded with ``params`` (one run's ``nnx.Param``
  state); ``config`` is the study's config (its ``heads``; RoPE, no qk-layernorm, no z-loss)."""
  if config.positions != "rope" or config.qk_layernorm or config.z_loss:
    raise ValueError(
      "lm_twin: the twin has RoPE, no qk-layernorm and no z-loss; got "
      f"positions={config.positions!r}, qk_layernorm={config.qk_layernorm}, z_loss={config.z_loss}"
    )
  return LMTransformer(config.heads, nnx.to_pure_dict(params))


def lm_loss(model: nn.Module, tokens_BxL1: torch.Tensor) -> torch.Tensor:
  """Mean next-token cross-entropy of a batch of windows of ``context + 1`` tokens."""
  logits = model(tokens_BxL1[:, :-1])
  return nn.functional.cross_entropy(
    logits.reshape(-1, logits.shape[-1]), tokens_BxL1[:, 1:].reshape(-1)
  )


def lm_trainer(model: nn.Module, tokens_SxBxL1: np.ndarray, *, lr: float, weight_decay: float):
  """One clipped AdamW step (betas 0.9/0.95) per batch of ``tokens_SxBxL1`` per call (eager).

  PyTorch's AdamW decays coupled (``lr * weight_decay``), the study's
  independently: the update arithmetic is the same size.
  """
  batches = torch.as_tensor(tokens_SxBxL1).long()
  opt = torch.optim.AdamW(
    model.parameters(), lr=lr, betas=(0.9, 0.95), eps=1e-8, weight_decay=weight_decay
  )

  def train():
    for batch in batches:
      opt.zero_grad(set_to_none=True)
      loss = lm_loss(model, batch)
      loss.backward()
      nn.utils.clip_grad_norm_(model.parameters(), 1.0)
      opt.step()
    return loss.detach()

  return train


def with_threads(threads: int, fn: Callable) -> Callable:
  """``fn`` run with torch limited to ``threads`` intra-op threads, restored after."""

  def call():
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
      return fn()
    finally:
      torch.set_num_threads(previous)

  return call


def fresh_inductor_cache():
  """A cold, empty inductor cache, so torch.compile's time is a cold compile like JAX's.

  (Inductor otherwise reuses kernels from earlier processes in its on-disk
  cache.) ``fresh_cache`` is PyTorch's own test helper; without it, a no-op.
  """
  try:
    from torch._inductor.utils import fresh_cache  # pylint: disable=import-outside-toplevel

    return fresh_cache()
  except ImportError:
    return contextlib.nullcontext()
