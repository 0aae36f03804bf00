"""The grokking study's full-batch train step, JAX vs PyTorch, and its execution modes.

The JAX step is the study's own, compiled by the engine
(:class:`benchmarks.programs.StudyGroup`): the scan of the engine's step (NNX
split/merge, AdamW with betas 0.9/0.98 and weight decay 1.0 from the optimizer
list, ``warmup_constant``, divergence guard) over ``steps`` full batches per
call. The data is the training split (30%, seed 0) of ``a + b mod p``, the
whole of it every step, as the study's batch source gives it.

The PyTorch twins (:mod:`benchmarks.torch_twins`) compute the same functions
the same way and start from the JAX model's weights, so the first loss agrees;
``torch.optim.AdamW`` with the same betas, epsilon and decoupled weight decay,
and ``LambdaLR`` for the same warmup.

Each step row also gives both sides' GFLOP/s (``step_flops``: the model's
matmul FLOPs, forward and backward, counted per product) and their percentage
of this CPU's float32 matmul peak, the faster of one large ``jnp.dot`` and
``torch.mm`` measured first (row ``matmul_peak/...``).

Execution modes: a group of runs (warmup lengths) trained under ``vmap``,
``map`` and ``sequential``, and under the engine's ``auto`` (its choice,
made by ``engine.train_and_evaluate`` itself), alternated in one
measurement (:func:`benchmarks.execution.entries`).
"""

import os
import time

import jax
import jax.numpy as jnp
import numpy as np
import torch

from benchmarks import execution
from benchmarks import timing
from benchmarks import torch_twins
from benchmarks.programs import StudyGroup
from experiments.common import config as config_lib
from experiments.grokking import config as grokking_config
from experiments.grokking import train

LR, B1, B2, WEIGHT_DECAY, WARMUP = 1e-3, 0.9, 0.98, 1.0, 10


def study_config(name: str, modulus: int, width: int, steps: int, warmups=(WARMUP,)):
  """The study's config: ``len(warmups)`` runs (seed 0) of ``steps`` full-batch updates per
  call (``eval_every``), one group."""
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
      "checkpoint_every": 0,
      "learning_rate": LR,
      "optimizer": (grokking_config.adamw(WEIGHT_DECAY, b1=B1, b2=B2),),
      "seeds": (0,),
      "runs": runs,
    },
  )


def training_examples(group: StudyGroup) -> tuple:
  """The first run's training examples (the padding left out), as torch tensors."""
  batch = group.host_batches[0]
  real = batch["weights"][0] > 0
  return (
    torch.as_tensor(batch["inputs"][0][real]).long(),
    torch.as_tensor(batch["targets"][0][real]).long(),
  )


def twin_trainer(name: str, group: StudyGroup, *, threads=None, compiled: bool = False) -> tuple:
  """The PyTorch twin of the group's first run (``torch.compile``d if ``compiled``) and its
  trainer: the group's ``steps`` full-batch steps per call, on ``threads`` threads if given."""
  config = group.config
  model = torch_twins.grokking_twin(name, config.modulus, config.width, group.params(0))
  if compiled:
    model = torch.compile(model)
  train_fn = torch_twins.grokking_trainer(
    model,
    *training_examples(group),
    group.steps,
    lr=LR,
    betas=(B1, B2),
    weight_decay=WEIGHT_DECAY,
    warmup=WARMUP,
  )
  return model, (train_fn if threads is None else torch_twins.with_threads(threads, train_fn))


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
  # name: (modulus, width, steps per call, steps per call in the sweeps, runs in the sweeps)
  "mlp": {"full": (97, 256, 50, 20, (4, 16)), "quick": (23, 32, 5, 5, (2,))},
  # --quick leaves the transformer's sweeps out: compiling them alone takes a few seconds.
  "nanda": {"full": (113, 128, 5, 1, (4, 16)), "quick": (23, 32, 2, 2, ())},
}
SWEEP_WARMUPS = (10, 100, 500, 2000)


def _model_entries(name: str, quick: bool, peak: float) -> list:
  modulus, width, steps, sweep_steps, sweeps = SETTINGS[name]["quick" if quick else "full"]
  repeats = 1 if quick else {"mlp": 5, "nanda": 3}[name]
  label = {"mlp": "grokking MLP", "nanda": "Nanda transformer"}[name]
  group = StudyGroup(train.STUDY, study_config(name, modulus, width, steps))
  examples = len(training_examples(group)[1])
  where = f"{name} p={modulus} width={width}, {examples} examples full batch"
  gflop = steps * step_flops(name, modulus, width, examples) / 1e9

  eager, eager_train = twin_trainer(name, group)
  inputs_t, targets_t = training_examples(group)
  with torch.no_grad():
    loss_torch = float(torch.nn.functional.cross_entropy(eager(inputs_t), targets_t))
  sides = {
    "jax": group.vmapped,
    "torch_eager": eager_train,
    # Not a target: one thread, because two OpenMP threads suffer badly when the two
    # cores are shared with other jobs (see RESULTS.md).
    "torch_eager_1thread": twin_trainer(name, group, threads=1)[1],
  }
  compile_error = None
  if quick:
    compile_error = "skipped in --quick (compilation takes tens of seconds)"
  else:
    compiled_train = twin_trainer(name, group, compiled=True)[1]
    try:
      with torch_twins.fresh_inductor_cache():
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
      initial_loss={"jax": group.first_loss(), "torch": loss_torch},
      torch_threads=torch.get_num_threads(),
      **_rates(gflop, t["jax"].median_s, t["torch_eager"].median_s, peak),
    ),
    timing.entry(
      "grokking_step",
      f"{name}/jax_vs_torch_eager_1thread",
      ours="the study's compile_group(...).train",
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
      ours="the study's compile_group(...).train",
      baseline="torch.compile(twin) + eager AdamW",
      ours_t=t["jax"],
      baseline_t=tc,
      work=work,
      target=("ratio", "<=", 1.0) if name == "nanda" else None,
      **compiled,
      **_rates(gflop, t["jax"].median_s, tc.median_s if tc is not None else None, peak),
    )
  )

  # Execution modes: S runs (warmups varying) under vmap, map and sequential. The MLP's
  # calls are the engine's chunks (train, then evaluate), with auto's choice beside them;
  # the transformer's take one training step each (dispatch-bound, no evaluation).
  for runs in sweeps:
    config = study_config(name, modulus, width, sweep_steps, np.resize(SWEEP_WARMUPS, runs))
    sweep_gflop = runs * sweep_steps * step_flops(name, modulus, width, examples) / 1e9
    rows = execution.entries(
      "grokking_step",
      name,
      train.STUDY,
      config,
      auto=name == "mlp",
      evaluate=name == "mlp",
      repeats=repeats,
      work=f"{runs} runs x {sweep_steps} steps{' and an evaluation' if name == 'mlp' else ''} "
      f"per call ({where})",
    )
    for e in rows:
      baseline_s = e["timings"]["baseline_s"]
      e.update(_rates(sweep_gflop, e["timings"]["ours_s"], baseline_s, peak))
      e["run_steps_per_s"] = {
        "ours": runs * sweep_steps / e["timings"]["ours_s"],
        "baseline": runs * sweep_steps / baseline_s,
      }
    entries += rows
  for e in entries:
    e["model"] = label
  return entries


def run(quick: bool) -> list:
  torch.set_num_threads(os.cpu_count() or 1)
  peak = matmul_peak(quick)
  return (
    [peak]
    + _model_entries("mlp", quick, peak["peak_gflop_per_s"])
    + _model_entries("nanda", quick, peak["peak_gflop_per_s"])
  )
