"""Section 4: the grokking experiment's full-batch train step, JAX vs PyTorch, and vmapped sweeps.

The JAX step is the study's own: ``compile_group(train.STUDY, group,
mesh).train``, the scan of the engine's step (NNX split/merge, AdamW with betas
0.9/0.98 and weight decay 1.0 from the optimizer list, ``warmup_constant``,
divergence guard) over ``steps`` full batches per call, vmapped over the runs
of the group (one run for the single-run rows). The data is the training split
(30%, seed 0) of ``a + b mod p``, the whole of it every step, given as the
scan's inputs as the engine gives it.

The PyTorch twins below compute the same functions the same way (gather
embeddings, float32, the same attention arithmetic, the transformer's block at
the ``=`` position only) and start from the JAX model's weights, so the first
loss agrees; ``torch.optim.AdamW`` with the same betas, epsilon and decoupled
weight decay, and ``LambdaLR`` for the same warmup.

Each step row also gives both sides' GFLOP/s (``step_flops``: the model's
matmul FLOPs, forward and backward, counted per product) and their percentage
of this CPU's float32 matmul peak, the faster of one large ``jnp.dot`` and
``torch.mm`` measured first (row ``matmul_peak/...``).
"""

import contextlib
import os
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
from experiments.grokking import config as grokking_config
from experiments.grokking import data as data_lib
from experiments.grokking import train

LR, B1, B2, WEIGHT_DECAY, WARMUP = 1e-3, 0.9, 0.98, 1.0, 10


# ------------------------------------------------------------------------------------------- JAX


def _config(name: str, modulus: int, width: int, steps: int, warmups) -> grokking_config.Config:
  """The study's config for ``len(warmups)`` runs of ``steps`` full-batch updates per call."""
  runs = tuple(
    {"name": f"warmup{w}#{i}", "schedule": {"type": "warmup_constant", "warmup_steps": int(w)}}
    for i, w in enumerate(warmups)
  )
  return config_lib.replace(
    grokking_config.Config(),
    {
      "model": name,
      "modulus": modulus,
      "width": width,
      "train_fraction": 0.3,
      "batch_size": 0,
      "total_steps": steps,
      "eval_every": steps,
      "learning_rate": LR,
      "optimizer": (grokking_config.adamw(WEIGHT_DECAY, b1=B1, b2=B2),),
      "seeds": (0,),
      "runs": runs,
    },
  )


class JaxProgram:
  """The study's real scanned train step (``engine.programs``) for one group of runs.

  Every run trains on seed 0's split (the benchmark's problem); the runs differ in
  their warmup length, a traced number, so they are one compiled program.
  """

  def __init__(self, name: str, modulus: int, width: int, steps: int, warmups=(WARMUP,)):
    self.config = _config(name, modulus, width, steps, warmups)
    (self.group,) = engine.group_runs(self.config)
    mesh = sharding.make_mesh()
    self.programs = compile_group(train.STUDY, self.group, mesh)
    self.mapped = compile_group(train.STUDY, self.group, mesh, "map")  # execution: map
    self.numbers = jax.tree.map(jnp.asarray, self.group.numbers)
    run = self.group.runs[0]
    batch = train.batches(self.config, run, 0, steps)
    self.batches = jax.tree.map(lambda x: jnp.asarray(np.stack([x] * len(warmups))), batch)
    self.state = self.programs.init(jnp.zeros((len(warmups),), jnp.uint32), self.numbers)
    self.graphdef = nnx.split(train.init_model(self.config, nnx.Rngs(0)))[0]

  def params(self, i: int = 0):
    return _run(self.state.params, i)

  def loss(self, inputs, targets) -> float:
    model = nnx.merge(self.graphdef, self.params(), _run(self.state.model_state, 0))
    examples = {
      "inputs": inputs,
      "targets": targets,
      "weights": jnp.ones(targets.shape, jnp.float32),
    }
    return float(train.loss_fn(model, examples)[0])

  def train_all(self):
    """One call: every run of the group, vmapped."""
    return self.programs.train(self.state, self.numbers, self.batches)

  def map_all(self):
    """One call: every run of the group one after another (``lax.map``, ``execution: map``)."""
    return self.mapped.train(self.state, self.numbers, self.batches)

  def singles(self):
    """One call per run of the same program on one run's slice (``execution: sequential``)."""
    take = lambda tree, i: jax.tree.map(lambda x: x[i : i + 1], tree)
    return [
      (take(self.state, i), take(self.numbers, i), take(self.batches, i))
      for i in range(len(self.group.runs))
    ]


def _run(tree, i):
  return jax.tree.map(lambda x: x[i], tree)


def problem(modulus: int):
  """The training split of ``a + b mod p`` (30%, seed 0), as NumPy arrays."""
  table = data_lib.table("add", modulus)
  split = data_lib.split(len(table.targets), 0.3, 0)
  return table.inputs[split.train], table.targets[split.train]


# ----------------------------------------------------------------------------------------- torch


def _torch_modules():
  import torch  # pylint: disable=import-outside-toplevel
  from torch import nn  # pylint: disable=import-outside-toplevel

  class TorchMLP(nn.Module):
    """``model.MLP``: ``(E_a[a] + E_b[b])**2 @ W``, gathers, no biases."""

    def __init__(self, modulus: int, width: int):
      super().__init__()
      self.embed_a = nn.Embedding(modulus, width)
      self.embed_b = nn.Embedding(modulus, width)
      self.out = nn.Linear(width, modulus, bias=False)

    def forward(self, pairs_Bx2):
      hidden_BxH = (self.embed_a(pairs_Bx2[:, 0]) + self.embed_b(pairs_Bx2[:, 1])) ** 2
      return self.out(hidden_BxH)

  class TorchNanda(nn.Module):
    """``model.Transformer`` with Nanda's settings: 1 block, no LayerNorm, ``a b =``.

    Attention as the JAX model computes it: bias-free q/k/v/out projections,
    queries scaled by ``head_dim**-0.5``, softmax over keys; like the JAX model,
    the block runs at the last position only (the one the logits read; its
    query sees every key, so no mask), with keys and values at all three.
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
      a, b = pairs_Bx2[:, 0], pairs_Bx2[:, 1]
      tokens_BxL = torch.stack([a, b, torch.full_like(a, self.modulus + 1)], dim=1)
      x_BxLxD = self.embed(tokens_BxL) + self.position
      n, length, width = x_BxLxD.shape
      heads = lambda t: t.view(n, -1, self.num_heads, width // self.num_heads).transpose(1, 2)
      # The block's output is read at "=" only: one query, which sees every key (B H 1 d).
      q = heads(self.query(x_BxLxD[:, -1:])) * (width // self.num_heads) ** -0.5
      k, v = heads(self.key(x_BxLxD)), heads(self.value(x_BxLxD))  # B H L d
      mixed_BxD = ((q @ k.transpose(-2, -1)).softmax(-1) @ v).reshape(n, width)
      x_BxD = x_BxLxD[:, -1] + self.attn_out(mixed_BxD)
      x_BxD = x_BxD + self.mlp_out(torch.relu(self.mlp_in(x_BxD)))
      return self.unembed(x_BxD)

  return TorchMLP, TorchNanda


def torch_twin(name: str, modulus: int, width: int, params):
  """The PyTorch model for ``name``, loaded with the JAX run's parameters."""
  import torch  # pylint: disable=import-outside-toplevel

  torch_mlp, torch_nanda = _torch_modules()
  p = jax.tree.map(np.asarray, nnx.to_pure_dict(params))
  t = lambda x: torch.tensor(np.ascontiguousarray(x), dtype=torch.float32)
  if name == "mlp":
    model = torch_mlp(modulus, width)
    weights = {
      "embed_a.weight": p["embed_a"]["embedding"],
      "embed_b.weight": p["embed_b"]["embedding"],
      "out.weight": p["out"]["kernel"].T,
    }
  else:
    model = torch_nanda(modulus, width)
    block = p["blocks"][0]
    attn = {k: block["attn"][k]["kernel"] for k in ("query", "key", "value", "out")}
    weights = {
      "embed.weight": p["embed"]["embedding"],
      "position": p["position"],
      "query.weight": attn["query"].reshape(width, width).T,
      "key.weight": attn["key"].reshape(width, width).T,
      "value.weight": attn["value"].reshape(width, width).T,
      "attn_out.weight": attn["out"].reshape(width, width).T,
      "mlp_in.weight": block["mlp_in"]["kernel"].T,
      "mlp_in.bias": block["mlp_in"]["bias"],
      "mlp_out.weight": block["mlp_out"]["kernel"].T,
      "mlp_out.bias": block["mlp_out"]["bias"],
      "unembed.weight": p["unembed"]["kernel"].T,
    }
  model.load_state_dict({k: t(v) for k, v in weights.items()})
  return model


def torch_trainer(model, inputs, targets, steps: int):
  """K steps of the twin's full-batch AdamW training per call (eager Python loop)."""
  import torch  # pylint: disable=import-outside-toplevel

  opt = torch.optim.AdamW(
    model.parameters(), lr=LR, betas=(B1, B2), eps=1e-8, weight_decay=WEIGHT_DECAY
  )
  sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, s / WARMUP))

  def train():
    for _ in range(steps):
      opt.zero_grad(set_to_none=True)
      loss = torch.nn.functional.cross_entropy(model(inputs), targets)
      loss.backward()
      opt.step()
      sched.step()
    return loss.detach()

  return train


def with_threads(threads: int, fn):
  """``fn`` run with torch limited to ``threads`` intra-op threads, restored after."""
  import torch  # pylint: disable=import-outside-toplevel

  def call():
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
      return fn()
    finally:
      torch.set_num_threads(previous)

  return call


def _fresh_inductor_cache():
  """A cold, empty inductor cache, so torch.compile's time is a cold compile like JAX's.

  (Inductor otherwise reuses kernels from earlier processes in its on-disk
  cache.) ``fresh_cache`` is PyTorch's own test helper; without it, a no-op.
  """
  try:
    from torch._inductor.utils import fresh_cache  # pylint: disable=import-outside-toplevel

    return fresh_cache()
  except ImportError:
    return contextlib.nullcontext()


# ----------------------------------------------------------------------------------------- FLOPs


def step_flops(name: str, modulus: int, width: int, examples: int) -> float:
  """Matmul FLOPs of one full-batch training step (forward + backward), counted per product.

  ``2 m k n`` for each ``(m, k) @ (k, n)`` product of the forward; the backward
  takes two products of the same size for each (the gradients of both
  operands), so a step is three forwards. Gathers, elementwise work, softmax
  and the optimizer are not counted. The transformer counts what both sides
  compute: keys and values at the 3 positions, the rest at ``=`` only.
  """
  if name == "mlp":
    forward = 2 * width * modulus  # logits: (B, W) @ (W, p); the embedding sum is a gather
  else:
    length, mlp_width = 3, 4 * width
    forward = 2 * (
      2 * length * width * width  # key and value projections
      + 2 * width * width  # query and output projections
      + 2 * length * width  # scores q . k and the weighted sum of values
      + 2 * width * mlp_width  # MLP in and out
      + width * modulus
    )  # unembedding
  return 3.0 * forward * examples


def matmul_peak(quick: bool) -> dict:
  """This CPU's float32 matmul rate: one large ``jnp.dot`` (jitted) and ``torch.mm``, alternated."""
  import torch  # pylint: disable=import-outside-toplevel

  n = 256 if quick else 2048
  a, b = jax.random.normal(jax.random.PRNGKey(0), (2, n, n), jnp.float32)
  a_t, b_t = torch.from_numpy(np.array(a)), torch.from_numpy(np.array(b))
  dot = jax.jit(jnp.dot)
  t = timing.alternate(
    {"jax": lambda: dot(a, b), "torch": lambda: torch.mm(a_t, b_t)},
    repeats=1 if quick else 10,
    number=1 if quick else 3,
    warmup=2,
  )
  gflop = 2.0 * n**3 / 1e9
  rates = {"ours": gflop / t["jax"].median_s, "baseline": gflop / t["torch"].median_s}
  return timing.entry(
    "grokking_step",
    "matmul_peak/jnp_dot_vs_torch_mm",
    ours="jax.jit(jnp.dot), float32",
    baseline=f"torch.mm, float32, {torch.get_num_threads()} threads",
    ours_t=t["jax"],
    baseline_t=t["torch"],
    work=f"one {n}x{n} @ {n}x{n} product ({gflop:.1f} GFLOP)",
    gflop_per_s=rates,
    peak_gflop_per_s=max(rates.values()),
    torch_threads=torch.get_num_threads(),
  )


def _rates(gflop_per_call: float, ours_s: float, baseline_s, peak: float) -> dict:
  """GFLOP/s of both sides and their percentage of the CPU's matmul peak."""
  rates = {
    "ours": gflop_per_call / ours_s,
    "baseline": gflop_per_call / baseline_s if baseline_s else None,
  }
  return {
    "gflop_per_call": gflop_per_call,
    "gflop_per_s": rates,
    "peak_gflop_per_s": peak,
    "percent_of_peak": {k: None if v is None else 100.0 * v / peak for k, v in rates.items()},
  }


# ------------------------------------------------------------------------------------------ runs


SETTINGS = {
  # name: (modulus, width, steps per call, steps per call in the sweep)
  "mlp": {"full": (97, 256, 50, 20), "quick": (23, 32, 5, 5)},
  "nanda": {"full": (113, 128, 5, 1), "quick": (23, 32, 2, 2)},
}


def _model_entries(name: str, quick: bool, peak: float) -> list:
  import torch  # pylint: disable=import-outside-toplevel

  modulus, width, steps, sweep_steps = SETTINGS[name]["quick" if quick else "full"]
  repeats = 1 if quick else {"mlp": 5, "nanda": 3}[name]
  inputs_np, targets_np = problem(modulus)
  inputs, targets = jnp.asarray(inputs_np), jnp.asarray(targets_np)
  inputs_t, targets_t = torch.as_tensor(inputs_np).long(), torch.as_tensor(targets_np).long()
  where = f"{name} p={modulus} width={width}, {len(targets_np)} examples full batch"
  gflop = steps * step_flops(name, modulus, width, len(targets_np)) / 1e9
  label = {"mlp": "grokking MLP", "nanda": "Nanda transformer"}[name]

  prog = JaxProgram(name, modulus, width, steps)
  params = prog.params()
  eager = torch_twin(name, modulus, width, params)
  with torch.no_grad():
    loss_torch = float(torch.nn.functional.cross_entropy(eager(inputs_t), targets_t))
  loss_jax = prog.loss(inputs, targets)

  sides = {
    "jax": prog.train_all,
    "torch_eager": torch_trainer(eager, inputs_t, targets_t, steps),
    # Not a target: one thread, because two OpenMP threads suffer badly when the two
    # cores are shared with other jobs (see RESULTS.md).
    "torch_eager_1thread": with_threads(
      1, torch_trainer(torch_twin(name, modulus, width, params), inputs_t, targets_t, steps)
    ),
  }
  compile_error = None
  if quick:
    compile_error = "skipped in --quick (compilation takes tens of seconds)"
  else:
    compiled_model = torch.compile(torch_twin(name, modulus, width, params))
    compiled_train = torch_trainer(compiled_model, inputs_t, targets_t, steps)
    try:
      with _fresh_inductor_cache():
        start = time.perf_counter()
        compiled_train()  # compiles here; the warm-up call in alternate() is then steady
        compile_first_call_s = time.perf_counter() - start
      sides["torch_compile"] = compiled_train
    except Exception as e:  # pylint: disable=broad-except
      compile_error = f"{type(e).__name__}: {e}".splitlines()[0][:500]
  t = timing.alternate(sides, repeats=repeats, number=1, warmup=1)
  work = f"{steps} full-batch AdamW steps per call ({where})"
  steps_per_s = lambda s: steps / s
  entries = [
    timing.entry(
      "grokking_step",
      f"{name}/jax_vs_torch_eager",
      ours="the study's compile_group(...).train",
      baseline="PyTorch eager twin",
      ours_t=t["jax"],
      baseline_t=t["torch_eager"],
      work=work,
      target=("speedup", ">=", 1.0) if name == "nanda" else None,
      steps_per_s={
        "ours": steps_per_s(t["jax"].median_s),
        "baseline": steps_per_s(t["torch_eager"].median_s),
      },
      initial_loss={"jax": loss_jax, "torch": loss_torch},
      torch_threads=torch.get_num_threads(),
      **_rates(gflop, t["jax"].median_s, t["torch_eager"].median_s, peak),
    ),
    timing.entry(
      "grokking_step",
      f"{name}/jax_vs_torch_eager_1thread",
      ours="jax.jit(lax.scan(step))",
      baseline="PyTorch eager twin, 1 thread",
      ours_t=t["jax"],
      baseline_t=t["torch_eager_1thread"],
      work=work,
      torch_threads=1,
      steps_per_s={
        "ours": steps_per_s(t["jax"].median_s),
        "baseline": steps_per_s(t["torch_eager_1thread"].median_s),
      },
      **_rates(gflop, t["jax"].median_s, t["torch_eager_1thread"].median_s, peak),
    ),
  ]
  tc = t.get("torch_compile")  # None when skipped (--quick) or when it failed to compile
  compiled = (
    {
      "baseline_compile_s": compile_first_call_s - tc.median_s,
      "steps_per_s": {"ours": steps_per_s(t["jax"].median_s), "baseline": steps_per_s(tc.median_s)},
    }
    if tc is not None
    else {"error": compile_error}
  )
  entries.append(
    timing.entry(
      "grokking_step",
      f"{name}/jax_vs_torch_compile",
      ours="jax.jit(lax.scan(step))",
      baseline="torch.compile(twin) + eager AdamW",
      ours_t=t["jax"],
      baseline_t=tc,
      work=work,
      target=("ratio", "<=", 1.0) if name == "nanda" else None,
      **compiled,
      **_rates(gflop, t["jax"].median_s, tc.median_s if tc is not None else None, peak),
    )
  )

  # Sweeps: S runs (seeds 0..S-1, warmups varying) under one vmap vs one after another.
  # --quick runs the (identical) sweep code for the MLP only: compiling the vmapped
  # transformer alone takes a few seconds.
  for runs in ((2,) if name == "mlp" else ()) if quick else (4, 16):
    sweep = JaxProgram(name, modulus, width, sweep_steps, np.resize([10, 100, 500, 2000], runs))
    singles = sweep.singles()
    t = timing.alternate(
      {
        "vmap": sweep.train_all,
        "map": sweep.map_all,
        "sequential": lambda: [sweep.programs.train(*args) for args in singles],
      },
      repeats=repeats,
      number=1,
      warmup=1,
    )
    sweep_gflop = runs * sweep_steps * step_flops(name, modulus, width, len(targets_np)) / 1e9
    on_cpu = jax.default_backend() == "cpu"
    for mode, ours in (
      ("vmap", f"jax.vmap over {runs} runs"),
      ("map", f"lax.map over {runs} runs in one call (execution: map)"),
    ):
      target = None
      if mode == "vmap" and on_cpu:  # a vmapped sweep never slower than its runs in turn
        target = ("speedup", ">=", 1.0)
      elif mode == "vmap" and runs == 16:  # on an accelerator
        target = ("speedup", ">=", 8.0)
      entries.append(
        timing.entry(
          "grokking_step",
          f"{name}/{mode}{runs}_vs_sequential",
          ours=ours,
          baseline=f"{runs} runs one after another (same jitted single-run chunk)",
          ours_t=t[mode],
          baseline_t=t["sequential"],
          work=f"{runs} runs x {sweep_steps} steps per call ({where})",
          target=target,
          run_steps_per_s={
            "ours": runs * sweep_steps / t[mode].median_s,
            "baseline": runs * sweep_steps / t["sequential"].median_s,
          },
          **_rates(sweep_gflop, t[mode].median_s, t["sequential"].median_s, peak),
        )
      )
  for e in entries:
    e["model"] = label
  return entries


def run(quick: bool) -> list:
  import torch  # pylint: disable=import-outside-toplevel

  torch.set_num_threads(os.cpu_count() or 1)
  peak = matmul_peak(quick)
  return (
    [peak]
    + _model_entries("mlp", quick, peak["peak_gflop_per_s"])
    + _model_entries("nanda", quick, peak["peak_gflop_per_s"])
  )
