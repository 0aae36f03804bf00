"""The study engine on the grokking study's tiny preset: execution modes, resume, divergence,
adaptive metrics, configs, TensorBoard, the optimizer list (devices and processes:
test_engine_processes.py)."""

import contextlib
import json
import sys

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.experimental.compilation_cache import compilation_cache

from experiments.common import config as config_lib
from experiments.common import engine
from experiments.common import optim
from experiments.grokking import configs
from experiments.grokking import train
from tests.engine_runs import assert_rows_close
from tests.engine_runs import METRICS
from tests.engine_runs import read_rows
from tests.engine_runs import ROOT
from tests.engine_runs import run_cli
from tests.engine_runs import tiny_config

# ----------------------------------------------------------------------------- grouping


def test_runs_differing_in_numbers_share_one_group():
  config = configs.get("seed_schedules")
  groups = engine.group_runs(config)
  warmups = [
    g for g in groups if g.setup.schedule.type == "warmup_cosine" and len(g.setup.entries) == 1
  ]
  assert len(warmups) == 1
  assert len(warmups[0].runs) == 4 * len(config.seeds)
  np.testing.assert_array_equal(
    np.unique(warmups[0].numbers["schedule"]["warmup_steps"]), [0, 500, 1000, 2000]
  )
  recipe = engine.group_runs(configs.get("seed_recipe"))
  assert len(recipe) == 1  # weight decay 1e-2 and 1.0: one program
  np.testing.assert_allclose(
    np.unique(recipe[0].numbers["optimizer"][0]["weight_decay"]), [1e-2, 1.0], rtol=1e-6
  )


def test_changing_numbers_does_not_recompile(tmp_path):
  base = tiny_config(
    total_steps=100,
    checkpoint_every=0,
    seeds=(0,),
    execution="vmap",
    runs=(
      {"name": "a", "schedule": {"type": "warmup_cosine", "warmup_steps": 10, "total_steps": 100}},
    ),
  )
  other = config_lib.replace(
    base,
    {
      "runs": (
        {
          "name": "a",
          "schedule": {"type": "warmup_cosine", "warmup_steps": 50, "total_steps": 100},
        },
      ),
      "optimizer": ({"type": "adamw", "weight_decay": 0.3},),
    },
  )
  keys = [engine.group_runs(c)[0].key for c in (base, other)]
  assert keys[0] == keys[1]


# ------------------------------------------------------------------------- execution modes


# Equivalence tests. Two computations that differ only in the order of float32 sums (vmap's batched
# kernels against one run's, 8 shards against 1, 2 processes against 1) agree to rounding, and
# training may amplify that: these compare runs where it cannot grow, the tiny preset's MLP at LR
# 3e-3 for 100 steps, where a perturbation of 1e-7 of the weights stays below 1e-5 of every metric
# (the tolerances below leave a factor of 10 over that). The mode is pinned on both sides: under
# auto each side would choose by its own timing.


def test_vmap_map_and_sequential_execution_agree(tmp_path):
  config = tiny_config(total_steps=100, checkpoint_every=0)
  for execution in ("vmap", "map", "sequential"):
    train.train_and_evaluate(
      config_lib.replace(config, {"execution": execution}), tmp_path / execution, progress=False
    )
  assert_rows_close(read_rows(tmp_path / "vmap"), read_rows(tmp_path / "sequential"), rtol=1e-5)
  assert_rows_close(read_rows(tmp_path / "map"), read_rows(tmp_path / "sequential"), rtol=1e-5)


def test_execution_candidates():
  groups = engine.group_runs(tiny_config())
  assert engine.execution_candidates(tiny_config(), groups[0]) == ("sequential", "map", "vmap")
  assert engine.execution_candidates(tiny_config(execution="map"), groups[0]) == ("map",)
  single = engine.group_runs(tiny_config(seeds=(0,), runs=tiny_config().runs[:1]))[0]
  assert engine.execution_candidates(tiny_config(), single) == ("vmap",)


def test_auto_keeps_the_fastest_mode_and_equals_a_run_in_that_mode(tmp_path):
  config = tiny_config(total_steps=100, checkpoint_every=50, runs=tiny_config().runs[:1])
  summary = train.train_and_evaluate(config, tmp_path / "auto", progress=False)
  (mode,) = {s["execution"] for s in summary}
  assert mode in ("sequential", "map", "vmap")
  train.train_and_evaluate(
    config_lib.replace(config, {"execution": mode}), tmp_path / "fixed", progress=False
  )
  # The chosen mode's first chunk is kept, so the run is that mode's run, bit for bit.
  assert read_rows(tmp_path / "auto") == read_rows(tmp_path / "fixed")
  # A resumed run keeps the mode it started in (recorded with the checkpoint).
  train.train_and_evaluate(
    config_lib.replace(config, {"total_steps": 50}), tmp_path / "resumed", progress=False
  )
  resumed = train.train_and_evaluate(config, tmp_path / "resumed", resume=True, progress=False)
  assert {s["execution"] for s in resumed} == {
    json.loads((tmp_path / "resumed" / "summary.json").read_text())[0]["execution"]
  }


# ----------------------------------------------------------------------------------- resume


def test_resume_equals_uninterrupted_run(tmp_path):
  config = tiny_config(total_steps=200, checkpoint_every=100, execution="sequential")
  train.train_and_evaluate(config, tmp_path / "straight", progress=False)
  # Killed after its step-100 checkpoint: its metrics file already holds a later row.
  train.train_and_evaluate(
    config_lib.replace(config, {"total_steps": 150, "eval_every": 50}),
    tmp_path / "resumed",
    progress=False,
  )
  summary = train.train_and_evaluate(config, tmp_path / "resumed", resume=True, progress=False)
  assert {s["final_step"] for s in summary} == {200}
  assert read_rows(tmp_path / "straight") == read_rows(tmp_path / "resumed")


# ------------------------------------------------------------------------------- divergence


def _with_third(third: dict) -> config_lib.Config:
  runs = (
    {"name": "a", "schedule": {"type": "constant"}},
    {"name": "b", "schedule": {"type": "constant"}, "learning_rate": 1e-3},
    third,
  )
  return tiny_config(total_steps=150, checkpoint_every=0, seeds=(0,), execution="vmap", runs=runs)


def test_a_diverging_run_is_flagged_and_leaves_its_group_unchanged(tmp_path):
  healthy = {"name": "c", "schedule": {"type": "constant"}, "learning_rate": 1e-2}
  diverging = {"name": "c", "schedule": {"type": "constant"}, "learning_rate": 1e30}
  config = _with_third(diverging)
  assert len(engine.group_runs(config)) == 1  # one vmapped program holds all three
  summary = train.train_and_evaluate(config, tmp_path / "bad", progress=False)
  train.train_and_evaluate(_with_third(healthy), tmp_path / "good", progress=False)
  by_run = {s["run"]: s for s in summary}
  assert by_run["c/seed0"]["diverged"] is True
  assert isinstance(by_run["c/seed0"]["diverged_at_step"], int)
  assert by_run["a/seed0"]["diverged"] is False and by_run["b/seed0"]["diverged"] is False
  bad, good = read_rows(tmp_path / "bad"), read_rows(tmp_path / "good")
  for row in bad:
    if row["run"] == "c/seed0":
      assert row["diverged"] and all(row[k] is None for k in METRICS)
  others = lambda rows: [r for r in rows if r["run"] != "c/seed0"]
  assert others(bad) == others(good)  # exactly: runs are independent under vmap
  for name in ("summary.json", "results.md", "curves.png", "comparison.png"):
    assert (tmp_path / "bad" / name).stat().st_size > 0
  assert "diverged at" in (tmp_path / "bad" / "results.md").read_text()


# ------------------------------------------------------------------------ adaptive metrics


def test_plateau_fed_val_loss_matches_torch_reduce_lr_on_plateau(tmp_path):
  import torch  # pylint: disable=import-outside-toplevel

  plateau = {"factor": 0.5, "patience": 2, "threshold": 1e-3, "cooldown": 1}
  # The validation loss rises while the network memorizes (steps 20-200), then falls.
  config = tiny_config(
    total_steps=400,
    eval_every=20,
    checkpoint_every=0,
    seeds=(0,),
    runs=(
      {
        "name": "plateau",
        "schedule": {"type": "constant"},
        "optimizer": [
          {"type": "adamw", "weight_decay": 1.0},
          {"type": "reduce_on_plateau", "metric": "val_loss", **plateau},
        ],
      },
    ),
  )
  train.train_and_evaluate(config, tmp_path, progress=False)
  rows = read_rows(tmp_path)
  param = torch.nn.Parameter(torch.zeros(1))
  opt = torch.optim.SGD([param], lr=config.learning_rate)
  scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", **plateau)
  expected = []
  for row in rows:  # chunk k trains at the rate set by the validation losses before it
    expected.append(opt.param_groups[0]["lr"])
    scheduler.step(row["val_loss"])
  np.testing.assert_allclose([r["lr"] for r in rows], expected, rtol=1e-6)
  assert len(set(expected)) > 1  # the plateau was reached: the test compares reductions


def test_an_unknown_adaptive_metric_is_an_error(tmp_path):
  config = tiny_config(
    runs=(
      {
        "name": "p",
        "schedule": {"type": "constant"},
        "optimizer": [{"type": "adamw"}, {"type": "reduce_on_plateau", "metric": "val_f1"}],
      },
    )
  )
  with pytest.raises(ValueError, match="val_f1"):
    train.train_and_evaluate(config, tmp_path, progress=False)


# ----------------------------------------------------------------- configs and the CLI


def test_yaml_config_with_exponent_numbers(tmp_path):
  cfg = tmp_path / "runs.yaml"
  cfg.write_text(
    "learning_rate: 1e-3\ntotal_steps: 100\neval_every: 50\ncheckpoint_every: 0\n"
    "seeds: [0]\nruns:\n  - name: fixed\n    schedule: {type: constant, value: 3e-3}\n"
    "  - name: filled\n    schedule: {type: constant}\n"
  )
  result = run_cli("--preset", "tiny", "--config", cfg, "--out", tmp_path / "out", "--no-progress")
  assert result.returncode == 0, result.stderr[-3000:]
  lrs = {r["run"]: r["lr"] for r in read_rows(tmp_path / "out")}
  assert lrs == pytest.approx({"fixed/seed0": 3e-3, "filled/seed0": 1e-3})


@pytest.mark.parametrize(
  "args, field",
  [
    (["--set", "no_such_field=1"], "no_such_field"),
    (["--set", "total_steps=abc"], "total_steps"),
    (["--set", "eval_every=0"], "eval_every"),
    (
      [
        "--set",
        "runs=[{name: x, schedule: {type: warmup_cosine, warmup_steps: -1, total_steps: 10}}]",
      ],
      "warmup_steps",
    ),
    (["--set", "optimizer=[{type: adamw, beta1: 0.9}]"], "beta1"),
    (["--set", "optimizer=[{type: adamw, weight_decay: -1}]"], "weight_decay"),
    (["--preset", "huge"], "huge"),
    (["--set", "modulus=12"], "modulus"),
    (["--set", "model=resnet"], "model"),
  ],
)
def test_cli_rejects_bad_fields_in_one_line_before_writing(tmp_path, args, field):
  out = tmp_path / "bad"
  result = run_cli("--preset", "tiny", *args, "--out", out, timeout=300)
  assert result.returncode == 2, result.stderr
  assert field in result.stderr and len(result.stderr.strip().splitlines()) == 1
  assert not out.exists()


def test_overrides_read_yaml_values():
  config = config_lib.apply_overrides(
    configs.get("demo"), ["total_steps=1000", "seeds=[1,2]", "learning_rate=3e-3"]
  )
  assert config.total_steps == 1000 and config.seeds == (1, 2) and config.learning_rate == 3e-3
  with pytest.raises(ValueError, match="field=value"):
    config_lib.apply_overrides(config, ["total_steps"])


# ---------------------------------------------------------------------------- TensorBoard


def test_tensorboard_files_hold_every_scalar(tmp_path):
  from tensorboard.backend.event_processing import event_accumulator  # pylint: disable=import-outside-toplevel

  config = tiny_config(total_steps=100, checkpoint_every=0, seeds=(0,))
  train.train_and_evaluate(config, tmp_path, progress=False)
  rows = read_rows(tmp_path)
  for run in {r["run"] for r in rows}:
    acc = event_accumulator.EventAccumulator(str(tmp_path / "tensorboard" / run))
    acc.Reload()
    for key in METRICS:
      events = acc.Scalars(key)
      expected = [(r["step"], r[key]) for r in rows if r["run"] == run]
      assert [(e.step, pytest.approx(e.value, rel=1e-6)) for e in events] == expected


# ------------------------------------------------------------------------ optimizer list

PARAMS = {"w": jnp.asarray([0.5, -1.0, 2.0]), "b": jnp.asarray([0.1])}
GRADS = [
  {"w": jnp.asarray([0.3, 0.1, -0.2]) * (k + 1), "b": jnp.asarray([0.05 * k])} for k in range(4)
]


def _trajectory(tx, params=PARAMS):
  state = tx.init(params)
  out = []
  for g in GRADS:
    updates, state = tx.update(g, state, params)
    params = optax.apply_updates(params, updates)
    out.append(params)
  return out


def _torch_trajectory(make):
  import torch  # pylint: disable=import-outside-toplevel

  tensors = {k: torch.nn.Parameter(torch.tensor(np.asarray(v))) for k, v in PARAMS.items()}
  opt = make(list(tensors.values()))
  out = []
  for g in GRADS:
    for k, t in tensors.items():
      t.grad = torch.tensor(np.asarray(g[k]))
    opt.step()
    out.append({k: jnp.asarray(t.detach().numpy().copy()) for k, t in tensors.items()})
  return out


def _optimizer(entries, schedule=None, learning_rate=0.01):
  """The engine's optimizer for a run of ``entries`` around ``schedule`` (constant default)."""
  spec = {"name": "x", "schedule": schedule or {"type": "constant"}, "optimizer": list(entries)}
  return optim.make(optim.resolve(config_lib.Config(learning_rate=learning_rate), spec))


@pytest.mark.parametrize(
  "entry, torch_make",
  [
    (
      {"type": "adamw", "b1": 0.8, "b2": 0.95, "eps": 1e-6, "weight_decay": 0.1},
      lambda p: __import__("torch").optim.AdamW(
        p, lr=0.01, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.1
      ),
    ),
    (
      {"type": "adam", "weight_decay": 0.1},
      lambda p: __import__("torch").optim.Adam(p, lr=0.01, weight_decay=0.1),
    ),
    (
      {"type": "sgd", "momentum": 0.9, "nesterov": True, "weight_decay": 0.1},
      lambda p: __import__("torch").optim.SGD(
        p, lr=0.01, momentum=0.9, nesterov=True, weight_decay=0.1
      ),
    ),
  ],
)
def test_optimizer_entries_match_torch(entry, torch_make):
  opt = _optimizer((entry,))
  chex.assert_trees_all_close(
    _trajectory(opt.tx), _torch_trajectory(torch_make), rtol=1e-5, atol=1e-7
  )


LINEAR_DECAY = {
  "type": "polynomial_decay",
  "init_value": 0.02,
  "total_steps": 4,
  "end_value": 0.005,
  "power": 1.0,
}


def _linear_decay(t: int) -> float:
  """LINEAR_DECAY's rate at step t, from its formula."""
  return 0.02 + (0.005 - 0.02) * min(t, 4) / 4


def test_independent_weight_decay_follows_its_formula():
  peak, lam = 0.02, 0.1
  entry = {"type": "sgd", "weight_decay": lam, "weight_decay_mode": "independent"}
  opt = _optimizer((entry,), LINEAR_DECAY)
  assert float(opt.peak) == pytest.approx(peak)
  params = {k: np.asarray(v, np.float64) for k, v in PARAMS.items()}
  expected = []
  for t, g in enumerate(GRADS):  # theta <- theta - s_t (eta g + lambda theta), s_t = eta_t / eta
    s = _linear_decay(t) / peak
    params = {k: params[k] - s * (peak * np.asarray(g[k]) + lam * params[k]) for k in params}
    expected.append(params)
  chex.assert_trees_all_close(_trajectory(opt.tx), expected, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("kind", ["adamw", "adam", "sgd"])
def test_constant_weight_decay_follows_its_formula(kind):
  # theta <- theta - eta_t Delta_t - eta lambda theta: the decay ignores the schedule.
  peak, lam = 0.02, 0.3
  entry = {"type": kind, "weight_decay": lam, "weight_decay_mode": "constant"}
  if kind == "sgd":
    entry["momentum"] = 0.9
  opt = _optimizer((entry,), LINEAR_DECAY)
  params = {k: np.asarray(v, np.float64) for k, v in PARAMS.items()}
  m = {k: np.zeros_like(v) for k, v in params.items()}
  v = {k: np.zeros_like(x) for k, x in params.items()}
  expected = []
  for t, g in enumerate(GRADS):
    new = {}
    for k in params:
      grad = np.asarray(g[k], np.float64)
      if kind == "sgd":  # torch SGD momentum, no dampening; the direction is the buffer
        m[k] = grad if t == 0 else 0.9 * m[k] + grad
        direction = m[k]
      else:  # Adam, bias-corrected, eps outside the square root
        m[k] = 0.9 * m[k] + 0.1 * grad
        v[k] = 0.999 * v[k] + 0.001 * grad**2
        m_hat, v_hat = m[k] / (1 - 0.9 ** (t + 1)), v[k] / (1 - 0.999 ** (t + 1))
        direction = m_hat / (np.sqrt(v_hat) + 1e-8)
      new[k] = params[k] - _linear_decay(t) * direction - peak * lam * params[k]
    params = new
    expected.append(params)
  chex.assert_trees_all_close(_trajectory(opt.tx), expected, rtol=1e-5, atol=1e-7)


def test_clip_and_grokfast_entries_chain_in_order():
  entries = (
    {"type": "clip_by_global_norm", "max_norm": 0.1},
    {"type": "grokfast_ema", "alpha": 0.5, "lamb": 2.0},
    {"type": "sgd"},
  )
  opt = _optimizer(entries, learning_rate=1.0)
  import jaxsched  # pylint: disable=import-outside-toplevel

  reference = optax.chain(
    optax.clip_by_global_norm(0.1), jaxsched.grokfast_ema(0.5, 2.0), optax.sgd(1.0)
  )
  chex.assert_trees_all_close(_trajectory(opt.tx), _trajectory(reference), rtol=1e-6)


@pytest.mark.parametrize(
  "entries, message",
  [
    (({"type": "lion"},), "lion"),
    (({"type": "sgd"}, {"type": "adamw"}), "exactly one"),
    (({"type": "clip_by_global_norm"},), "exactly one"),
    (({"type": "sgd", "weight_decay_mode": "decoupled"},), "weight_decay_mode"),
    (({"type": "adamw", "b2": 1.5},), "b2"),
    (
      (
        {"type": "adamw"},
        {"type": "reduce_on_plateau", "metric": "val_loss"},
        {"type": "phase_transition", "metric": "train_loss"},
      ),
      "one metric",
    ),
  ],
)
def test_bad_optimizer_lists_are_named(entries, message):
  with pytest.raises(ValueError, match=message):
    _optimizer(entries, learning_rate=0.1)


# ----------------------------------------------------------------------------- compiler options


@contextlib.contextmanager
def _without_compilation_cache():
  """Every compile inside runs XLA (no persistent-cache read or write)."""
  jax.config.update("jax_enable_compilation_cache", False)
  compilation_cache.reset_cache()
  try:
    yield
  finally:
    jax.config.update("jax_enable_compilation_cache", True)
    compilation_cache.reset_cache()


def test_cpu_compiler_options_reach_every_program_of_the_study(tmp_path):
  # xla_dump_to is an option whose effect is visible: each compile writes its HLO there.
  sys.path.insert(0, str(ROOT / "tests"))
  import toy_study  # pylint: disable=import-outside-toplevel

  study = toy_study.STUDY._replace(cpu_compiler_options={"xla_dump_to": str(tmp_path / "hlo")})
  # The dump path is not part of the compilation cache's key: with the suite's cache on, an
  # executable of an earlier test would be loaded, and nothing compiled or dumped.
  with _without_compilation_cache():
    summary = engine.train_and_evaluate(study, toy_study.config(), tmp_path / "out", progress=False)
  assert summary[0]["final_val_loss"] is not None
  hlo = [p.read_text() for p in (tmp_path / "hlo").glob("module_*.before_optimizations.txt")]
  assert any("init_one" in text for text in hlo) and any("chunk_one" in text for text in hlo)


# ------------------------------------------------------------- records: hparams, machine, report


def test_summary_rows_hold_the_resolved_hyperparameters_and_the_machine(tmp_path):
  config = tiny_config(
    total_steps=50,
    checkpoint_every=0,
    seeds=(0,),
    execution="sequential",
    runs=(
      {
        "name": "wc",
        "schedule": {"type": "warmup_cosine", "warmup_steps": 20, "total_steps": 50},
        "learning_rate": 2e-3,
        "optimizer": [{"type": "adamw", "weight_decay": 0.5, "weight_decay_mode": "constant"}],
      },
    ),
  )
  (row,) = train.train_and_evaluate(config, tmp_path, progress=False)
  hparams = row["hparams"]
  assert hparams["peak_lr"] == pytest.approx(2e-3)
  assert hparams["schedule"] == {
    "type": "warmup_cosine",
    "peak_value": 2e-3,
    "warmup_steps": 20,
    "total_steps": 50,
    "end_value": 0.0,  # the factory's defaults, resolved
    "init_value": 0.0,
    "num_cycles": 0.5,
    "warmup_kind": "linear",
    "hold_after_end": True,
  }
  assert optim.core_entry(hparams) == {
    "type": "adamw",
    "b1": 0.9,
    "b2": 0.999,
    "eps": 1e-8,
    "weight_decay": 0.5,
    "weight_decay_mode": "constant",
  }
  recorded = json.loads((tmp_path / "config.json").read_text())["machine"]
  assert recorded["cores"] >= 1 and recorded["cpu"] and recorded["jax"]
  assert recorded["cpu"] in (tmp_path / "results.md").read_text()
  assert row["execution"] == "vmap"  # one run: one call


def test_hyperparameters_of_nested_schedules_are_their_configs():
  """A schedule made of schedules (a list of them included) is recorded as its config, never as
  the functions built from it (whose reprs hold memory addresses)."""
  parts = [
    {"type": "warmup", "peak_value": 1e-2, "warmup_steps": 10},
    {"type": "cosine_annealing", "init_value": 1e-2, "t_max": 40},
  ]
  spec = {"type": "sequential", "schedules": parts, "boundaries": [10]}
  config = tiny_config(runs=({"name": "seq", "schedule": spec, "learning_rate": 1e-2},))
  setup = optim.resolve(config, config.runs[0])
  hparams = optim.hyperparameters(setup, spec)
  assert hparams["schedule"]["schedules"] == parts
  assert "0x" not in json.dumps(hparams)


def test_report_writes_the_same_results_again_without_training(tmp_path):
  out = tmp_path / "out"
  args = ("--preset", "tiny", "--set", "total_steps=100", "--set", "seeds=[0]", "--no-progress")
  assert run_cli(*args, "--out", out).returncode == 0
  before = json.loads((out / "summary.json").read_text())
  (out / "summary.json").rename(out / "summary.before.json")
  (out / "summary.json").write_text(json.dumps(before))  # wall times come from it
  metrics = (out / "metrics.jsonl").read_text()
  result = run_cli("--preset", "tiny", "--out", out, "--report")
  assert result.returncode == 0, result.stderr[-3000:]
  assert json.loads((out / "summary.json").read_text()) == before
  assert (out / "metrics.jsonl").read_text() == metrics  # nothing trained


def test_reproduce_reruns_committed_runs_and_compares(tmp_path):
  committed = tmp_path / "committed"
  args = ("--preset", "tiny", "--set", "total_steps=100", "--no-progress")
  assert run_cli(*args, "--set", "execution=sequential", "--out", committed).returncode == 0
  out = tmp_path / "again"
  result = run_cli(
    "--preset",
    "tiny",
    "--reproduce",
    "2",
    "--reproduce-from",
    committed,
    "--out",
    out,
    "--no-progress",
  )
  assert result.returncode == 0, result.stderr[-3000:]
  pairs = json.loads((out / "reproduce.json").read_text())
  assert len(pairs) == 2 and len({p["committed"]["run"] for p in pairs}) == 2
  for pair in pairs:  # the same machine, the same mode: the same numbers
    for key in ("final_val_loss", "final_train_acc", "steps_to_train_acc_99"):
      assert pair["rerun"][key] == pair["committed"][key], key
  assert "Largest finite relative difference: 0.00e+00" in result.stdout
  bad = run_cli("--preset", "tiny", "--reproduce", "2", "--reproduce-from", tmp_path, "--out", out)
  assert bad.returncode == 2 and "summary.json" in bad.stderr


def test_greedy_lr_drives_a_study_run(tmp_path):
  config = tiny_config(
    total_steps=200,
    eval_every=20,
    checkpoint_every=0,
    seeds=(0,),
    runs=(
      {
        "name": "greedy",
        "schedule": {"type": "constant"},
        "optimizer": [
          {"type": "adamw", "weight_decay": 1.0},
          {
            "type": "greedy_lr",
            "metric": "train_loss",
            "patience": 2,
            "min_lr": 1e-4,
            "base_lr": 3e-3,
            "max_lr": 1.0,
          },
        ],
      },
    ),
  )
  train.train_and_evaluate(config, tmp_path, progress=False)
  lrs = [r["lr"] for r in read_rows(tmp_path)]
  # base_lr is the run's rate (the registry's rate keyword of greedy_lr), max_lr its default 1.
  assert len(set(lrs)) > 1 and max(lrs) > config.learning_rate  # it raised the rate
