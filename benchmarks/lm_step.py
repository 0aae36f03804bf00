"""The LM warmup study's train step, JAX vs PyTorch eager, and its vmapped LR grid.

The JAX side is the study's own program (``compile_group(lm_warmup.STUDY, group,
mesh).train``): the pre-LN RoPE transformer, clip 1, AdamW (0.9, 0.95) with
independent weight decay, warmup + cosine, ``steps`` updates per call in one
scan. The PyTorch twin computes the same model the same way (same RoPE halves,
no biases, GELU, causal softmax) from the JAX run's weights, so the first loss
agrees, with ``clip_grad_norm_`` and ``torch.optim.AdamW`` (coupled decay; the
update arithmetic is the same size). The sweep rows time the LR grid of one
model shape as one vmapped call against the same program called once per run
(the engine's ``sequential`` execution).
"""

import time

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from benchmarks import timing
from experiments.common import config as config_lib
from experiments.common import engine
from experiments.common import sharding
from experiments.common.programs import compile_group
from experiments.lm_warmup import configs
from experiments.lm_warmup import train

SETTINGS = {
  "full": {"widths": (32, 64, 128), "steps": 20, "repeats": 5, "sweep": (7,)},
  "quick": {"widths": (32,), "steps": 2, "repeats": 1, "sweep": (2,)},
}
LRS = (3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1)


class JaxProgram:
  """One group of the study: ``len(lrs)`` runs of one model shape."""

  def __init__(self, width: int, steps: int, lrs):
    self.config = config_lib.replace(
      configs.get("cpu"),
      {
        "total_steps": steps,
        "eval_every": steps,
        "checkpoint_every": 0,
        "seeds": (0,),
        "runs": tuple(configs.grid(lrs, (0,), steps, width=width)),
      },
    )
    self.mesh = sharding.make_mesh()
    with jax.set_mesh(self.mesh):
      (self.group,) = engine.group_runs(self.config)
      self.programs = compile_group(train.STUDY, self.group, self.mesh)
      self.numbers = jax.tree.map(jnp.asarray, self.group.numbers)
      self.state = self.programs.init(jnp.zeros((len(lrs),), jnp.uint32), self.numbers)
    batch = train.batches(self.group.config, self.group.runs[0], 0, steps)
    self.tokens = batch["tokens"]
    self.batches = {"tokens": jnp.asarray(np.stack([self.tokens] * len(lrs)))}

  def train_all(self):
    with jax.set_mesh(self.mesh):
      return self.programs.train(self.state, self.numbers, self.batches)

  def singles(self):
    take = lambda tree, i: jax.tree.map(lambda x: x[i : i + 1], tree)
    runs = [
      (take(self.state, i), take(self.numbers, i), take(self.batches, i))
      for i in range(len(self.group.runs))
    ]

    def call():
      with jax.set_mesh(self.mesh):
        return [self.programs.train(*args) for args in runs]

    return call

  def params(self) -> dict:
    return jax.tree.map(lambda x: np.asarray(x[0]), nnx.to_pure_dict(self.state.params))


def torch_twin(config, params: dict):
  """The transformer in PyTorch with the JAX parameters."""
  import torch  # pylint: disable=import-outside-toplevel
  from torch import nn  # pylint: disable=import-outside-toplevel

  t = lambda x: nn.Parameter(torch.tensor(np.ascontiguousarray(x), dtype=torch.float32))
  heads = config.heads

  def rope(x):  # (B, L, H, K)
    length, half = x.shape[1], x.shape[3] // 2
    freqs = 10_000.0 ** (-torch.arange(half, dtype=torch.float32) / half)
    angles = torch.arange(length, dtype=torch.float32)[:, None] * freqs[None, :]
    cos, sin = torch.cos(angles)[None, :, None, :], torch.sin(angles)[None, :, None, :]
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)

  def layer_norm(x, scale):
    return nn.functional.layer_norm(x, x.shape[-1:], weight=scale, eps=1e-6)

  class Twin(nn.Module):
    """Same arithmetic as ``experiments.lm_warmup.model.Transformer`` (no qk-layernorm)."""

    def __init__(self):
      super().__init__()
      self.embed = t(params["embed"]["embedding"])
      self.blocks = nn.ParameterList()
      self.names = []
      for i, block in params["blocks"].items():
        for name, value in (
          ("ln1", block["norm_attn"]["scale"]),
          ("qkv", block["attn"]["qkv"]["kernel"]),
          ("out", block["attn"]["out"]["kernel"]),
          ("ln2", block["norm_mlp"]["scale"]),
          ("mlp_in", block["mlp_in"]["kernel"]),
          ("mlp_out", block["mlp_out"]["kernel"]),
        ):
          self.blocks.append(t(value))
          self.names.append((i, name))
      self.norm = t(params["norm"]["scale"])
      self.unembed = t(params["unembed"]["kernel"])

    def forward(self, tokens):
      x = self.embed[tokens]
      b, length, d = x.shape
      causal = torch.tril(torch.ones(length, length, dtype=torch.bool))
      p = iter(self.blocks)
      for _ in range(len(self.names) // 6):
        ln1, qkv_w, out_w, ln2, mlp_in, mlp_out = (next(p) for _ in range(6))
        qkv = (layer_norm(x, ln1) @ qkv_w).reshape(b, length, 3, heads, d // heads)
        q, k, v = rope(qkv[:, :, 0]), rope(qkv[:, :, 1]), qkv[:, :, 2]
        logits = torch.einsum("bqhk,bthk->bhqt", q, k) / (d // heads) ** 0.5
        weights = torch.softmax(logits.masked_fill(~causal, -1e30), dim=-1)
        x = x + torch.einsum("bhqt,bthk->bqhk", weights, v).reshape(b, length, d) @ out_w
        x = x + nn.functional.gelu(layer_norm(x, ln2) @ mlp_in, approximate="tanh") @ mlp_out
      return layer_norm(x, self.norm) @ self.unembed

  return Twin()


def torch_trainer(model, tokens: np.ndarray, lr: float):
  """``len(tokens)`` clipped AdamW steps per call, one batch of windows each (eager)."""
  import torch  # pylint: disable=import-outside-toplevel

  batches = torch.as_tensor(tokens).long()
  opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.95), eps=1e-8, weight_decay=1e-4)

  def run():
    for batch in batches:
      opt.zero_grad(set_to_none=True)
      logits = model(batch[:, :-1])
      loss = torch.nn.functional.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), batch[:, 1:].reshape(-1)
      )
      loss.backward()
      torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
      opt.step()
    return loss.detach()

  return run


def _first_loss(model, tokens) -> float:
  import torch  # pylint: disable=import-outside-toplevel

  batch = torch.as_tensor(tokens[0]).long()
  with torch.no_grad():
    logits = model(batch[:, :-1])
    return float(
      torch.nn.functional.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), batch[:, 1:].reshape(-1)
      )
    )


def run(quick: bool) -> list:
  settings = SETTINGS["quick" if quick else "full"]
  steps, repeats = settings["steps"], settings["repeats"]
  entries = []
  for width in settings["widths"]:
    prog = JaxProgram(width, steps, (1e-3,))
    twin = torch_twin(prog.group.config, prog.params())
    jax_loss = float(
      prog.programs.train(prog.state, prog.numbers, jax.tree.map(lambda x: x[:, :1], prog.batches))[
        1
      ]["batch_loss"][0, 0]
    )
    torch_loss = _first_loss(twin, prog.tokens)  # before the timed calls train the twin
    t = timing.alternate(
      {"jax": prog.train_all, "torch": torch_trainer(twin, prog.tokens, 1e-3)}, repeats=repeats
    )
    work = (
      f"{steps} AdamW steps per call, width {width}, depth {prog.config.depth}, context "
      f"{prog.config.context}, batch {prog.config.batch_size}"
    )
    entries.append(
      timing.entry(
        "lm_step",
        f"width{width}/jax_vs_torch_eager",
        ours="the study's compile_group(...).train",
        baseline="PyTorch eager twin",
        ours_t=t["jax"],
        baseline_t=t["torch"],
        work=work,
        initial_loss={"jax": jax_loss, "torch": torch_loss},
        steps_per_s={"ours": steps / t["jax"].median_s, "baseline": steps / t["torch"].median_s},
      )
    )
    for runs in settings["sweep"]:
      sweep = JaxProgram(width, steps, LRS[:runs])
      t = timing.alternate(
        {"vmap": sweep.train_all, "sequential": sweep.singles()}, repeats=repeats
      )
      entries.append(
        timing.entry(
          "lm_step",
          f"width{width}/vmap{runs}_vs_sequential",
          ours=f"jax.vmap over {runs} LRs",
          baseline=f"{runs} calls of the same program on one run each",
          ours_t=t["vmap"],
          baseline_t=t["sequential"],
          work=f"{runs} runs x {steps} steps per call ({work})",
        )
      )
  return entries


if __name__ == "__main__":
  began = time.perf_counter()
  for e in run(quick=False):
    print(e["name"], e["ratio"], e.get("initial_loss"))
  print(f"{time.perf_counter() - began:.0f} s")
