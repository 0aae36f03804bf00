"""The grokking experiment on tiny presets: data, models, detector, vmap, sharding, resume, CLI."""

import dataclasses
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

from experiments.grokking import analysis
from experiments.grokking import config as config_lib
from experiments.grokking import configs
from experiments.grokking import data
from experiments.grokking import model
from experiments.grokking import train

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _tiny(**changes):
  return dataclasses.replace(configs.get("tiny"), **changes)


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


def test_nanda_model_has_no_layer_norm_and_power_model_has():
  nanda = nnx.state(model.build("nanda", 13, width=32, rngs=nnx.Rngs(0)), nnx.Param)
  power = nnx.state(model.build("power", 13, width=32, rngs=nnx.Rngs(0)), nnx.Param)
  keys = lambda s: ["/".join(map(str, k)) for k, _ in jax.tree_util.tree_flatten_with_path(s)[0]]
  assert not any("norm" in k for k in keys(nanda))
  assert any("norm" in k for k in keys(power))
  assert sum(k.count("blocks") > 0 for k in keys(power)) > sum(
      k.count("blocks") > 0 for k in keys(nanda))


def test_detector_on_crafted_curves():
  steps = [100, 200, 300, 400]
  assert analysis.first_step_at_least(steps, [0.2, 0.99, 1.0, 1.0], 0.99) == 200
  assert analysis.first_step_at_least(steps, [0.2, 0.5, 0.98, 0.989], 0.99) is None
  rows = [{"run": "r", "schedule": "s", "seed": 0, "step": s, "train_acc": t, "val_acc": v,
           "lr": 1e-3} for s, t, v in zip(steps, [0.5, 1.0, 1.0, 1.0], [0.0, 0.1, 0.995, 1.0])]
  (summary,) = analysis.summarize(rows, {"r": 1.0}, 0.99)
  assert summary["steps_to_train_acc_99"] == 200
  assert summary["steps_to_val_acc_99"] == 300
  assert summary["grokking_gap"] == 100


def test_runs_differing_in_numbers_share_one_group():
  config = configs.get("seed_warmup")
  groups = train.group_runs(config)
  warmups = [g for g in groups if g.schedule_type == "warmup_cosine" and not g.grokfast]
  assert len(warmups) == 1
  assert len(warmups[0].runs) == 4 * len(config.seeds)
  np.testing.assert_array_equal(np.unique(warmups[0].numeric["warmup_steps"]), [0, 500, 1000, 2000])


def test_tiny_config_memorizes_and_writes_every_file(tmp_path):
  config = _tiny(total_steps=300, eval_every=50, checkpoint_every=150,
                 runs=({"name": "constant", "schedule": {"type": "constant"}},), seeds=(0,))
  summary = train.train_and_evaluate(config, tmp_path, progress=False)
  for name in ("metrics.jsonl", "summary.json", "results.md", "curves.png", "comparison.png"):
    assert (tmp_path / name).stat().st_size > 0, name
  assert summary[0]["steps_to_train_acc_99"] is not None  # memorized within 300 steps
  assert summary[0]["final_train_acc"] > 0.99
  rows = [json.loads(l) for l in (tmp_path / "metrics.jsonl").read_text().splitlines()]
  assert [r["step"] for r in rows] == list(range(50, 301, 50))
  assert all(abs(r["lr"] - config.learning_rate) < 1e-9 for r in rows)
  for key in ("train_loss", "val_loss", "param_norm", "grad_norm"):
    assert all(np.isfinite(r[key]) for r in rows)


def _rows(path):
  return [json.loads(l) for l in (path / "metrics.jsonl").read_text().splitlines()]


def _assert_rows_close(a, b, rtol):
  assert [(r["run"], r["step"]) for r in a] == [(r["run"], r["step"]) for r in b]
  for x, y in zip(a, b):
    for key in ("train_loss", "train_acc", "val_loss", "val_acc", "lr", "param_norm", "grad_norm"):
      np.testing.assert_allclose(x[key], y[key], rtol=rtol, atol=1e-6, err_msg=f"{x['run']} {key}")


def test_vmapped_runs_equal_separate_runs(tmp_path):
  config = _tiny(total_steps=100, checkpoint_every=0)
  train.train_and_evaluate(config, tmp_path / "together", progress=False)
  together = _rows(tmp_path / "together")
  alone = []
  for spec in config.runs:
    for seed in config.seeds:
      single = dataclasses.replace(config, runs=(spec,), seeds=(seed,))
      train.train_and_evaluate(single, tmp_path / f"{spec['name']}{seed}", progress=False)
      alone += _rows(tmp_path / f"{spec['name']}{seed}")
  key = lambda r: (r["run"], r["step"])
  _assert_rows_close(sorted(together, key=key), sorted(alone, key=key), rtol=1e-5)


def test_resume_equals_uninterrupted_run(tmp_path):
  config = _tiny(total_steps=200, checkpoint_every=100)
  train.train_and_evaluate(config, tmp_path / "straight", progress=False)
  # A run killed after its step-100 checkpoint: its metrics file already holds a later row.
  first = dataclasses.replace(config, total_steps=150)
  train.train_and_evaluate(first, tmp_path / "resumed", progress=False)
  summary = train.train_and_evaluate(config, tmp_path / "resumed", resume=True, progress=False)
  assert {s["final_step"] for s in summary} == {200}
  straight, resumed = _rows(tmp_path / "straight"), _rows(tmp_path / "resumed")
  assert straight == resumed


def test_eight_host_devices_match_one(tmp_path):
  config = _tiny(total_steps=100, checkpoint_every=0, batch_size=64)
  code = ("import sys, dataclasses, jax; from experiments.grokking import configs, train; "
          f"assert len(jax.devices()) == 8; c = configs.get('tiny'); "
          f"c = dataclasses.replace(c, total_steps=100, checkpoint_every=0, batch_size=64); "
          f"train.train_and_evaluate(c, sys.argv[1], progress=False)")
  env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=8",
             PYTHONPATH=str(ROOT), JAX_PLATFORMS="cpu")
  subprocess.run([sys.executable, "-c", code, str(tmp_path / "eight")], cwd=ROOT, env=env,
                 check=True, timeout=600)
  train.train_and_evaluate(config, tmp_path / "one", progress=False)
  _assert_rows_close(_rows(tmp_path / "eight"), _rows(tmp_path / "one"), rtol=1e-4)


def test_cli_writes_every_file_and_rejects_bad_overrides(tmp_path):
  env = dict(os.environ, PYTHONPATH=str(ROOT))
  out = tmp_path / "cli"
  cfg = tmp_path / "override.json"
  cfg.write_text(json.dumps({"total_steps": 100, "seeds": [3]}))
  result = subprocess.run(
      [sys.executable, "-m", "experiments.grokking", "--preset", "tiny", "--config", str(cfg),
       "--set", "eval_every=50", "--set", "checkpoint_every=0", "--out", str(out), "--no-progress"],
      cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
  assert result.returncode == 0, result.stderr
  for name in ("metrics.jsonl", "summary.json", "results.md", "curves.png", "comparison.png"):
    assert (out / name).exists(), name
  summary = json.loads((out / "summary.json").read_text())
  assert {s["seed"] for s in summary} == {3}
  assert set(summary[0]) >= {"run", "schedule", "seed", "steps_to_train_acc_99",
                             "steps_to_val_acc_99", "final_train_acc", "final_val_acc",
                             "wall_seconds"}
  bad = subprocess.run([sys.executable, "-m", "experiments.grokking", "--preset", "tiny",
                        "--set", "no_such_field=1", "--out", str(tmp_path / "bad")],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
  assert bad.returncode == 2 and "no_such_field" in bad.stderr


def test_config_overrides():
  config = config_lib.apply_overrides(configs.get("demo"), ["total_steps=10", "seeds=[1,2]"])
  assert config.total_steps == 10 and config.seeds == (1, 2)
  with pytest.raises(ValueError, match="field=value"):
    config_lib.apply_overrides(config, ["total_steps"])
  with pytest.raises(ValueError, match="unknown preset"):
    configs.get("huge")
