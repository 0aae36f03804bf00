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
from flax import nnx

from experiments.common import config as config_lib
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
  assert summary["grokking_gap"] == 100


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
