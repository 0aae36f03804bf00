"""The grokking study on tiny presets: data, models, detector, outputs, CLI.

The engine's behaviour (execution modes, devices, processes, resume, divergence)
is tested in test_engine.py on the same study.
"""

import json
import os
import pathlib
import subprocess
import sys

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats
from flax import nnx

from experiments.common import config as config_lib
from experiments.common import engine
from experiments.grokking import analysis
from experiments.grokking import configs
from experiments.grokking import data
from experiments.grokking import model
from experiments.grokking import train

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _tiny(**changes):
  return config_lib.replace(configs.get("tiny"), changes)


@pytest.mark.parametrize("operation", data.OPERATIONS)
def test_table_is_every_pair_with_the_right_answer(operation):
  p = 11
  table = data.table(operation, p)
  a, b = table.inputs[:, 0].astype(int), table.inputs[:, 1].astype(int)
  if operation == "div":
    assert len(table.targets) == p * (p - 1) and (b != 0).all()
    np.testing.assert_array_equal((table.targets.astype(int) * b) % p, a)  # c * b == a
  else:
    assert len(table.targets) == p * p
    expected = {"add": (a + b) % p, "sub": (a - b) % p, "mul": (a * b) % p}[operation]
    np.testing.assert_array_equal(table.targets, expected)
  assert len({(x, y) for x, y in zip(a, b)}) == len(a)


def test_split_is_disjoint_complete_and_seeded():
  s = data.split(100, 0.3, seed=4)
  assert len(s.train) == 30 and len(s.val) == 70
  assert not set(s.train) & set(s.val)
  assert sorted(set(s.train) | set(s.val)) == list(range(100))
  np.testing.assert_array_equal(s.train, data.split(100, 0.3, seed=4).train)
  assert not np.array_equal(s.train, data.split(100, 0.3, seed=5).train)


def test_bad_data_arguments():
  with pytest.raises(ValueError, match="prime"):
    data.table("add", 12)
  with pytest.raises(ValueError, match="operation"):
    data.table("pow", 11)
  with pytest.raises(ValueError, match="train_fraction"):
    data.split(10, 1.0, 0)


@pytest.mark.parametrize("name", ["mlp", "power", "nanda"])
def test_models_map_pairs_to_logits(name):
  net = model.build(name, 13, width=32, rngs=nnx.Rngs(0))
  logits = net(jnp.array([[1, 2], [3, 4], [12, 0]], jnp.int32))
  chex.assert_shape(logits, (3, 13))
  chex.assert_tree_all_finite(logits)


@pytest.mark.parametrize("name", ["power", "nanda"])
def test_last_block_at_the_last_position_only_gives_the_full_logits(name):
  net = model.build(name, 13, width=32, rngs=nnx.Rngs(0))
  pairs = jnp.array([[1, 2], [3, 4], [12, 0], [5, 5]], jnp.int32)
  a, b = pairs[:, 0], pairs[:, 1]
  parts = (
    [a, jnp.full_like(a, 13), b, jnp.full_like(a, 14)]
    if net.with_operator
    else [a, b, jnp.full_like(a, 14)]
  )
  tokens = jnp.stack(parts, axis=1)
  x = net.embed(tokens) + net.position[...][None]
  for block in net.blocks:  # every block at every position, as the causal model is defined
    x = block(x, nnx.make_causal_mask(tokens))
  x = net.norm(x) if net.norm is not None else x
  chex.assert_trees_all_close(net(pairs), net.unembed(x)[:, -1], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", ["power", "nanda"])
@pytest.mark.parametrize("last_only", [False, True])
def test_block_on_distinct_rows_is_the_block_on_the_gathered_inputs(name, last_only):
  """Block.on_rows (projections once per distinct row, then gathered) against the block applied to
  the gathered (B, L, D) inputs: the same values and parameter gradients to float32 rounding."""
  block = model.build(name, 13, width=32, rngs=nnx.Rngs(0)).blocks[0]
  graphdef, params = nnx.split(block)
  rows = jax.random.normal(jax.random.PRNGKey(1), (9, 32))
  index = jax.random.randint(jax.random.PRNGKey(2), (6, 3), 0, 9)
  mask = nnx.make_causal_mask(index)
  weights = jax.random.normal(jax.random.PRNGKey(3), (6, 1 if last_only else 3, 32))

  def loss(params, rows, on_rows):
    b = nnx.merge(graphdef, params)
    out = (
      b.on_rows(rows, index, mask, last_only=last_only)
      if on_rows
      else b(rows[index], mask, last_only=last_only)
    )
    return jnp.sum(weights * out), out

  (_, got), grads = jax.value_and_grad(loss, argnums=(0, 1), has_aux=True)(params, rows, True)
  (_, want), want_grads = jax.value_and_grad(loss, argnums=(0, 1), has_aux=True)(
    params, rows, False
  )
  chex.assert_trees_all_close(got, want, rtol=1e-6, atol=1e-6)
  chex.assert_trees_all_close(grads, want_grads, rtol=1e-5, atol=1e-5)


def test_nanda_model_has_no_layer_norm_and_power_model_has():
  nanda = nnx.state(model.build("nanda", 13, width=32, rngs=nnx.Rngs(0)), nnx.Param)
  power = nnx.state(model.build("power", 13, width=32, rngs=nnx.Rngs(0)), nnx.Param)
  keys = lambda s: ["/".join(map(str, k)) for k, _ in jax.tree_util.tree_flatten_with_path(s)[0]]
  assert not any("norm" in k for k in keys(nanda))
  assert any("norm" in k for k in keys(power))
  assert sum(k.count("blocks") > 0 for k in keys(power)) > sum(
    k.count("blocks") > 0 for k in keys(nanda)
  )


def test_detector_on_crafted_curves():
  steps = [100, 200, 300, 400]
  assert analysis.first_step_at_least(steps, [0.2, 0.99, 1.0, 1.0], 0.99) == 200
  assert analysis.first_step_at_least(steps, [0.2, 0.5, 0.98, 0.989], 0.99) is None
  assert analysis.first_step_at_least(steps, [None, None, 1.0, 1.0], 0.99) == 300
  rows = [
    {"run": "r", "spec": "s", "seed": 0, "step": s, "train_acc": t, "val_acc": v, "lr": 1e-3}
    for s, t, v in zip(steps, [0.5, 1.0, 1.0, 1.0], [0.0, 0.1, 0.995, 1.0])
  ]
  summary = analysis.summarize_run(configs.get("tiny"), rows, {})
  assert summary["steps_to_train_acc_99"] == 200
  assert summary["steps_to_val_acc_99"] == 300
  assert summary["steps_to_stable_val"] == 300
  assert summary["grokking_gap"] == 100
  assert summary["val_collapses"] == 0 and summary["val_at_target_fraction"] == 1.0


@pytest.mark.parametrize(
  "values, first, stable",
  [
    ([0.1, 0.995, 0.02, 0.999, 1.0], 200, 400),  # a collapse after the first crossing
    ([0.1, 0.995, 0.999, 0.98, 0.3], 200, None),  # ends below the target
    ([0.1, 0.995, None, 0.999, 1.0], 200, 400),  # a diverged (None) value is below
    ([0.99, 0.99, 0.99, 0.99, 0.99], 100, 100),  # the threshold itself counts
    ([0.1, 0.2, 0.3, 0.4, 0.5], None, None),
  ],
)
def test_stable_step_on_crafted_series(values, first, stable):
  steps = [100, 200, 300, 400, 500]
  assert analysis.first_step_at_least(steps, values, 0.99) == first
  assert analysis.stable_step_at_least(steps, values, 0.99) == stable
  # Reference: the first index i such that every value from i on is >= 0.99.
  ok = [v is not None and v >= 0.99 for v in values]
  want = next((steps[i] for i in range(len(ok)) if all(ok[i:])), None)
  assert analysis.stable_step_at_least(steps, values, 0.99) == want


def test_collapses_and_schedule_end_on_a_crafted_run():
  steps = list(range(50, 551, 50))
  val = [0.0, 0.3, 0.995, 0.04, 0.2, 1.0, 1.0, 0.45, 1.0, 0.999, 1.0]
  rows = [
    {"run": "r", "spec": "s", "seed": 0, "step": s, "train_acc": 1.0, "val_acc": v}
    for s, v in zip(steps, val)
  ]
  hparams = {"schedule": {"type": "warmup_cosine", "total_steps": 320}}
  summary = analysis.summarize_run(configs.get("tiny"), rows, hparams)
  assert summary["steps_to_val_acc_99"] == 150
  assert summary["steps_to_stable_val"] == 450
  assert summary["val_collapses"] == 2  # steps 200-250 and 400
  after = val[2:]
  assert summary["val_at_target_fraction"] == pytest.approx(np.mean(np.array(after) >= 0.99))
  assert summary["val_acc_at_schedule_end"] == 1.0  # the evaluation at step 300 <= 320
  assert analysis.summarize_run(configs.get("tiny"), rows, {})["val_acc_at_schedule_end"] is None
  assert analysis.episodes_below([0.1, None, 0.9, 0.2, 0.2, 0.7], 0.5) == 2
  assert analysis.episodes_below([0.9, 0.8], 0.5) == 0


@pytest.mark.parametrize("n", range(1, 31))
def test_order_statistic_rank_against_the_binomial(n):
  k, coverage = analysis.order_statistic_rank(n)
  cover = lambda j: 1.0 - 2.0 * scipy.stats.binom.cdf(j - 1, n, 0.5)
  assert coverage == pytest.approx(cover(k), abs=1e-12)
  if n >= 6:  # the full range reaches 95% from n = 6 on
    assert coverage >= 0.95
    assert k + 1 > (n + 1) // 2 or cover(k + 1) < 0.95  # the largest such k
  else:
    assert k == 1 and coverage < 0.95


def test_median_interval_covers_at_its_stated_rate():
  rng = np.random.default_rng(0)
  n, trials = 10, 20_000
  k, coverage = analysis.order_statistic_rank(n)
  x = np.sort(rng.standard_normal((trials, n)), axis=1)
  hit = np.mean((x[:, k - 1] <= 0.0) & (x[:, n - k] >= 0.0))
  assert abs(hit - coverage) < 4 * np.sqrt(coverage * (1 - coverage) / trials)
  values = [5.0, None, 1.0, 3.0, 2.0, 4.0, None, 6.0, 7.0, 8.0]
  median, low, high, _ = analysis.median_interval(values)
  ref = np.sort(np.array([np.inf if v is None else v for v in values]))
  assert median == np.median(ref) and low == ref[k - 1] and high == ref[n - k] == np.inf


def test_paired_differences_and_the_comparison_table():
  run = {0: {"t": 500}, 1: {"t": None}, 2: {"t": 700}, 3: {"t": None}}
  base = {0: {"t": 400}, 1: {"t": 300}, 2: {"t": 900}, 3: {"t": None}, 4: {"t": 1}}
  assert analysis.paired_differences(run, base, "t") == [100.0, np.inf, -200.0]
  summary = [
    {
      "spec": spec,
      "seed": seed,
      "steps_to_train_acc_99": 100,
      "steps_to_val_acc_99": v,
      "steps_to_stable_val": v,
      "final_val_acc": 1.0,
      "val_collapses": None if spec == "a" else 1,
    }
    for spec, values in (("a", [600, 650, 700, 800, 900, 950]), ("b", [500] * 6))
    for seed, v in enumerate(values)
  ]
  (row,) = [
    line for line in analysis.comparisons_table(summary, (("a", "b"),)) if line.startswith("| a")
  ]
  d = np.array([600, 650, 700, 800, 900, 950]) - 500
  assert f"+{np.median(d):.0f} [+{d.min()}, +{d.max()}] (n=6)" in row
  assert row.endswith("| -1 [-1, -1] (n=6) |")  # no collapse (None) against one per seed
  assert "Not in this invocation: c - a." in analysis.comparisons_table(summary, (("c", "a"),))[-1]


@pytest.mark.parametrize("name", configs.PRESETS)
def test_every_preset_validates(name):
  config = configs.get(name)
  engine.check(train.STUDY, config)
  names = {r["name"] for r in config.runs}
  for run, baseline in config.comparisons:
    assert run in names and baseline in names, (run, baseline)


def test_seed_recipe_runs_ten_thousand_epochs_of_the_training_split():
  config = configs.get("seed_recipe")
  n_train = round(0.3 * 97 * 97)  # 2823 pairs
  epochs_in_steps = round(10_000 * n_train / 512)
  for run in config.runs:
    assert run["schedule"]["total_steps"] == epochs_in_steps
  assert epochs_in_steps <= config.total_steps < epochs_in_steps + config.eval_every


def test_tiny_config_memorizes_and_writes_every_file(tmp_path):
  config = _tiny(
    total_steps=300,
    eval_every=50,
    checkpoint_every=150,
    runs=({"name": "constant", "schedule": {"type": "constant"}},),
    seeds=(0,),
  )
  summary = train.train_and_evaluate(config, tmp_path, progress=False)
  for name in ("metrics.jsonl", "summary.json", "results.md", "curves.png", "comparison.png"):
    assert (tmp_path / name).stat().st_size > 0, name
  assert summary[0]["steps_to_train_acc_99"] is not None  # memorized within 300 steps
  assert summary[0]["final_train_acc"] > 0.99
  rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
  assert [r["step"] for r in rows] == list(range(50, 301, 50))
  assert all(abs(r["lr"] - config.learning_rate) < 1e-9 for r in rows)
  for key in ("train_loss", "val_loss", "param_norm", "grad_norm"):
    assert all(np.isfinite(r[key]) for r in rows)


def test_cli_writes_every_file_and_rejects_bad_overrides(tmp_path):
  env = dict(os.environ, PYTHONPATH=str(ROOT))
  out = tmp_path / "cli"
  cfg = tmp_path / "override.json"
  cfg.write_text(json.dumps({"total_steps": 100, "seeds": [3]}))
  result = subprocess.run(
    [
      sys.executable,
      "-m",
      "experiments.grokking",
      "--preset",
      "tiny",
      "--config",
      str(cfg),
      "--set",
      "eval_every=50",
      "--set",
      "checkpoint_every=0",
      "--out",
      str(out),
      "--no-progress",
    ],
    cwd=ROOT,
    env=env,
    capture_output=True,
    text=True,
    timeout=600,
  )
  assert result.returncode == 0, result.stderr
  for name in ("metrics.jsonl", "summary.json", "results.md", "curves.png", "comparison.png"):
    assert (out / name).exists(), name
  summary = json.loads((out / "summary.json").read_text())
  assert {s["seed"] for s in summary} == {3}
  assert set(summary[0]) >= {
    "run",
    "spec",
    "seed",
    "diverged",
    "steps_to_train_acc_99",
    "steps_to_val_acc_99",
    "final_train_acc",
    "final_val_acc",
    "wall_seconds",
  }
  bad = subprocess.run(
    [
      sys.executable,
      "-m",
      "experiments.grokking",
      "--preset",
      "tiny",
      "--set",
      "no_such_field=1",
      "--out",
      str(tmp_path / "bad"),
    ],
    cwd=ROOT,
    env=env,
    capture_output=True,
    text=True,
    timeout=300,
  )
  assert bad.returncode == 2 and "no_such_field" in bad.stderr
