"""The spurious-correlation study: data and groups, group DRO against NumPy, metrics, the CLI,
vmapped = separate runs, q checkpointed."""

import json
import os
import pathlib
import subprocess
import sys

import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from experiments.common import config as config_lib
from experiments.spurious import configs
from experiments.spurious import data
from experiments.spurious import model as model_lib
from experiments.spurious import train

ROOT = pathlib.Path(__file__).resolve().parents[1]
SMALLEST_TEST_GROUP = int(np.bincount(data.load("digits")["test"].g).min())


def _rows(path):
  return [
    json.loads(line) for line in (pathlib.Path(path) / "metrics.jsonl").read_text().splitlines()
  ]


# ------------------------------------------------------------------------------------ data


def test_digits_groups_cue_and_balance():
  splits = data.digits(agreement=0.95)
  train_split = splits["train"]
  a = train_split.g % 2
  assert 0.92 < np.mean(a == train_split.y) < 0.98  # the cue agrees with the label ~95%
  np.testing.assert_array_equal(train_split.g // 2, train_split.y)
  for name in ("val", "test"):
    counts = np.bincount(splits[name].g, minlength=4)
    assert counts.min() == counts.max() > 50, (name, counts)
  for split in splits.values():  # the patch is there exactly when a = 1
    patch = split.x.reshape(-1, 8, 8)[:, :2, :2].min(axis=(1, 2)) == 1.0
    np.testing.assert_array_equal(patch, split.g % 2 == 1)
  sizes = sum(len(s.y) for s in splits.values())
  assert sizes <= 1797


def test_lms5_coordinates_are_predictive_and_randomized_only_in_the_linear_one():
  splits = data.lms5(num_train=500, num_eval=400, slabs=3)
  x, y = splits["train"].x, splits["train"].y
  np.testing.assert_array_equal(x[:, 0] > 0, y == 1)  # linearly separable on coordinate 0
  nearest = np.round(x[:, 1:] * 2) / 2  # slab centres: -1, 0, 1 for y = 0; -0.5, 0.5 for y = 1
  np.testing.assert_array_equal(np.all(np.isin(nearest, [-0.5, 0.5]), axis=1), y == 1)
  test, randomized = splits["test"], splits["randomized"]
  np.testing.assert_array_equal(test.x[:, 1:], randomized.x[:, 1:])
  assert 0.35 < np.mean((randomized.x[:, 0] > 0) == (test.y == 1)) < 0.65


def test_bad_data_arguments():
  with pytest.raises(ValueError, match="agreement"):
    data.digits(agreement=0.2)
  with pytest.raises(ValueError, match="dataset"):
    data.load("waterbirds")


# ------------------------------------------------------------------------------- group DRO


def test_group_dro_weights_follow_sagawa_algorithm_1():
  q = np.array([0.1, 0.2, 0.3, 0.4])
  losses = np.array([2.0, 0.5, 1.0, 0.0])
  for eta in (0.01, 0.1, 1.0):
    expected = q * np.exp(eta * losses)
    expected /= expected.sum()
    np.testing.assert_allclose(
      train.group_dro_weights(jnp.asarray(q), jnp.asarray(losses), eta), expected, rtol=1e-6
    )


def _numpy_logits(model, x):
  p = {k: np.asarray(v) for k, v in jax_tree_items(nnx.state(model, nnx.Param))}
  h = np.maximum(x @ p["hidden1/kernel"] + p["hidden1/bias"], 0)
  h = np.maximum(h @ p["hidden2/kernel"] + p["hidden2/bias"], 0)
  return h @ p["out/kernel"] + p["out/bias"]


def jax_tree_items(state):
  return [("/".join(str(k) for k in path), leaf) for path, leaf in nnx.to_flat_state(state)]


@pytest.mark.parametrize("method", ["erm", "group_dro"])
def test_loss_and_q_update_against_numpy(method):
  rng = np.random.default_rng(0)
  adjustment = np.array([0.0, 0.3, 0.1, 0.2], np.float32)
  model = model_lib.MLP(6, 16, jnp.asarray(adjustment), rngs=nnx.Rngs(0))
  x = rng.normal(size=(12, 6)).astype(np.float32)
  y = rng.integers(0, 2, 12).astype(np.int32)
  g = np.array([0, 0, 0, 1, 1, 3, 3, 3, 3, 0, 1, 3], np.int32)  # group 2 absent
  eta = 0.5
  batch = {
    "x": jnp.asarray(x),
    "y": jnp.asarray(y),
    "g": jnp.asarray(g),
    "group_dro": jnp.full(12, float(method == "group_dro")),
    "eta_q": jnp.full(12, eta),
  }
  logits = _numpy_logits(model, x).astype(np.float64)
  log_probs = logits - np.log(np.exp(logits).sum(1, keepdims=True))
  losses = -log_probs[np.arange(12), y]
  group_losses = np.array([losses[g == k].mean() if np.any(g == k) else 0.0 for k in range(4)])
  group_losses += adjustment
  q = np.full(4, 0.25) * np.exp(eta * group_losses)
  q /= q.sum()
  loss, _ = train.loss_fn(model, batch)
  if method == "group_dro":
    np.testing.assert_allclose(float(loss), np.sum(q * group_losses), rtol=1e-5)
    np.testing.assert_allclose(np.asarray(model.q[...]), q, rtol=1e-5)
  else:
    np.testing.assert_allclose(float(loss), losses.mean(), rtol=1e-5)
    np.testing.assert_allclose(np.asarray(model.q[...]), np.full(4, 0.25))


# --------------------------------------------------------------------------------- metrics


class _Fixed(nnx.Module):
  """Predicts fixed logits, with the q a study model holds."""

  def __init__(self, logits):
    self.logits = nnx.Variable(jnp.asarray(logits, jnp.float32))
    self.q = model_lib.GroupWeights(jnp.full((4,), 0.25))

  def __call__(self, x):
    del x
    return self.logits[...]


def test_worst_group_metrics_on_crafted_predictions():
  y = np.array([0, 0, 0, 0, 1, 1, 1, 1, 0, 0])
  g = np.array([0, 0, 0, 1, 2, 2, 3, 3, 0, 0])
  predicted = np.array([0, 0, 1, 1, 1, 1, 1, 0, 0, 1])  # groups: 2/3, 0/1, 2/2, 1/2
  w = np.array([1, 1, 1, 1, 1, 1, 1, 1, 0, 0], np.float32)  # the last two are padding
  logits = np.stack([predicted == 0, predicted == 1], axis=1).astype(np.float32) * 5
  metrics = train._split_metrics(
    _Fixed(logits),
    {
      "x": jnp.zeros((10, 1)),
      "y": y,
      "g": g,  # pylint: disable=protected-access
      "w": w,
    },
    "test",
    True,
    jnp.asarray([0.4, 0.1, 0.1, 0.4]),
  )
  np.testing.assert_allclose(metrics["test_acc"], 5 / 8)
  np.testing.assert_allclose(metrics["test_worst_acc"], 0.0)
  np.testing.assert_allclose(metrics["test_balanced_acc"], np.mean([2 / 3, 0, 1, 0.5]))
  np.testing.assert_allclose(
    metrics["test_train_weighted_acc"], 0.4 * 2 / 3 + 0.1 * 0 + 0.1 * 1 + 0.4 * 0.5, rtol=1e-6
  )
  np.testing.assert_allclose(
    [metrics[f"test_acc_g{k}"] for k in range(4)], [2 / 3, 0, 1, 0.5], rtol=1e-6
  )


# ------------------------------------------------------------------------------ the engine


def test_cli_smoke_writes_every_file(tmp_path):
  out = tmp_path / "smoke"
  result = subprocess.run(
    [
      sys.executable,
      "-m",
      "experiments.spurious",
      "--preset",
      "smoke",
      "--out",
      str(out),
      "--no-progress",
    ],
    cwd=ROOT,
    capture_output=True,
    text=True,
    env=dict(os.environ, PYTHONPATH=str(ROOT)),
    timeout=600,
  )
  assert result.returncode == 0, result.stderr[-3000:]
  for name in (
    "metrics.jsonl",
    "summary.json",
    "results.md",
    "curves.png",
    "accuracy.png",
    "comparison.png",
    "config.json",
  ):
    assert (out / name).stat().st_size > 0, name
  assert list((out / "tensorboard").iterdir())
  summary = json.loads((out / "summary.json").read_text())
  for item in summary:
    assert set(item) >= {
      "run",
      "method",
      "schedule",
      "peak_lr",
      "weight_decay",
      "eta_q",
      "seed",
      "test_avg_acc",
      "test_worst_group_acc",
      "val_worst_group_acc",
      "train_acc",
      "diverged",
    }
  rows = _rows(out)
  dro = [r for r in rows if r["spec"].startswith("dro")]
  erm = [r for r in rows if r["spec"].startswith("erm")]
  assert all(abs(sum(r[f"q_g{k}"] for k in range(4)) - 1) < 1e-5 for r in dro)
  assert any(abs(r["q_g1"] - 0.25) > 1e-3 for r in dro)  # q moved
  assert all(r["q_g1"] == pytest.approx(0.25) for r in erm)  # and not for ERM


def test_bad_method_is_one_line(tmp_path):
  result = subprocess.run(
    [
      sys.executable,
      "-m",
      "experiments.spurious",
      "--preset",
      "smoke",
      "--set",
      "runs=[{name: x, schedule: {type: constant}, method: irm}]",
      "--out",
      str(tmp_path / "b"),
    ],
    cwd=ROOT,
    capture_output=True,
    text=True,
    env=dict(os.environ, PYTHONPATH=str(ROOT)),
    timeout=300,
  )
  assert result.returncode == 2 and "method" in result.stderr
  assert not (tmp_path / "b").exists()


def test_vmapped_runs_equal_separate_runs(tmp_path):
  config = config_lib.replace(configs.get("smoke"), {"execution": "vmap", "seeds": (0, 1)})
  train.train_and_evaluate(config, tmp_path / "together", progress=False)
  together = _rows(tmp_path / "together")
  for spec in config.runs:
    single = config_lib.replace(config, {"runs": (spec,), "seeds": (1,)})
    train.train_and_evaluate(single, tmp_path / "alone", progress=False)
    for row in _rows(tmp_path / "alone"):
      match = next(r for r in together if (r["run"], r["step"]) == (row["run"], row["step"]))
      # vmap's batched kernels sum in another order than one run's: the losses, q and the LR
      # agree to float32 rounding grown over the smoke preset's few steps; an accuracy is a
      # count of examples, which such a difference can move by one example at most.
      for key in ("q_g1", "lr", "train_loss"):
        np.testing.assert_allclose(match[key], row[key], rtol=1e-4, atol=1e-6)
      for key in ("test_acc", "test_worst_acc"):
        assert abs(match[key] - row[key]) <= 1.5 / SMALLEST_TEST_GROUP, key


def test_group_weights_survive_a_resume(tmp_path):
  # The mode pinned: under auto the two invocations would each choose by their own timing.
  config = config_lib.replace(
    configs.get("smoke"), {"checkpoint_every": 34, "execution": "sequential"}
  )
  train.train_and_evaluate(config, tmp_path / "straight", progress=False)
  train.train_and_evaluate(
    config_lib.replace(config, {"total_steps": 51}), tmp_path / "resumed", progress=False
  )
  train.train_and_evaluate(config, tmp_path / "resumed", resume=True, progress=False)
  assert _rows(tmp_path / "straight") == _rows(tmp_path / "resumed")
