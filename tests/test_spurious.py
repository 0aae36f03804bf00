"""The spurious-correlation study: data and groups, the samplers, group DRO against NumPy, the
CNN's convolution against lax, metrics, the bootstrap interval against an exact computation,
the presets, the CLI, vmapped = separate runs, q checkpointed."""

import itertools
import json
import os
import pathlib
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from scipy import stats

from experiments.common import config as config_lib
from experiments.common import engine
from experiments.spurious import analysis
from experiments.spurious import configs
from experiments.spurious import data
from experiments.spurious import model as model_lib
from experiments.spurious import train
from experiments.spurious.config import run_settings

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _rows(path):
  return [
    json.loads(line) for line in (pathlib.Path(path) / "metrics.jsonl").read_text().splitlines()
  ]


def _run(spec: dict, seed: int = 0) -> engine.Run:
  return engine.Run(f"{spec['name']}/seed{seed}", spec["name"], seed, spec)


# ------------------------------------------------------------------------------------ data


@pytest.mark.parametrize("seed", [0, 3])
def test_digits_groups_cue_and_balance(seed):
  splits = data.digits(seed, agreement=0.95, val_per_group=85, test_per_group=85)
  train_split = splits["train"]
  a = train_split.g % 2
  assert 0.92 < np.mean(a == train_split.y) < 0.98  # the cue agrees with the label ~95%
  np.testing.assert_array_equal(train_split.g // 2, train_split.y)
  for name in ("val", "test"):
    np.testing.assert_array_equal(np.bincount(splits[name].g, minlength=4), [85] * 4)
  for split in splits.values():  # the patch is there exactly when a = 1
    patch = split.x.reshape(-1, 8, 8)[:, :2, :2].min(axis=(1, 2)) == 1.0
    np.testing.assert_array_equal(patch, split.g % 2 == 1)
  assert sum(len(s.y) for s in splits.values()) == 1797  # every image used once
  assert len(train_split.y) == 1797 - 4 * 170


def test_digits_split_is_drawn_from_the_seed():
  a, b = data.digits(0), data.digits(1)
  assert not np.array_equal(a["test"].x, b["test"].x)
  np.testing.assert_array_equal(data.digits(1)["test"].x, b["test"].x)


def test_shapes_group_proportions_and_correlation():
  splits = data.shapes(5, train_size=400, val_per_group=20, test_per_group=30, agreement=0.95)
  train_split = splits["train"]
  np.testing.assert_array_equal(np.bincount(train_split.g, minlength=4), [190, 10, 10, 190])
  np.testing.assert_array_equal(data.group_counts(400, 0.95), [190, 10, 10, 190])
  y, a = train_split.y, train_split.g % 2
  assert np.mean(a == y) == pytest.approx(0.95)
  assert np.corrcoef(y, a)[0, 1] == pytest.approx(0.9)  # phi of a 95/5 table, classes balanced
  for name, per_group in (("val", 20), ("test", 30)):
    split = splits[name]
    np.testing.assert_array_equal(np.bincount(split.g, minlength=4), [per_group] * 4)
    assert np.corrcoef(split.y, split.g % 2)[0, 1] == pytest.approx(0.0, abs=1e-12)
  for split in splits.values():
    assert split.x.dtype == np.uint8 and split.x.shape[1:] == (32, 32, 3)


def test_shapes_backgrounds_are_land_or_water_and_objects_differ():
  splits = data.shapes(0, train_size=200, val_per_group=10, test_per_group=40)
  x, g = splits["test"].x.astype(float) / 255, splits["test"].g
  border = np.concatenate([x[:, :3].reshape(len(x), -1, 3), x[:, -3:].reshape(len(x), -1, 3)], 1)
  blue_minus_green = border[..., 2].mean(1) - border[..., 1].mean(1)
  water = g % 2 == 1
  assert blue_minus_green[water].min() > blue_minus_green[~water].max()  # the cue is the colour
  background = data.shapes(0, "shapes_background", 200, 10, 40)["test"]
  np.testing.assert_array_equal(background.y, background.g % 2)  # the label is the background
  shape = data.shapes(0, "shapes_shape", 200, 10, 40)["test"]
  np.testing.assert_array_equal(shape.g, 3 * shape.y)  # no background cue: a = y
  corners = shape.x[:, [0, 0, -1, -1], [0, -1, 0, -1]].astype(int)
  assert np.all(np.abs(corners - 128) <= 1)  # flat grey where the object is not
  # The object covers part of the image: between 3% and 40% of the pixels differ from grey.
  covered = np.mean(np.any(np.abs(shape.x.astype(int) - 128) > 1, axis=-1), axis=(1, 2))
  assert 0.03 < covered.min() and covered.max() < 0.4


def test_lms5_coordinates_are_predictive_and_randomized_only_in_the_linear_one():
  splits = data.lms5(seed=2, num_train=500, num_eval=400, slabs=3)
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
  with pytest.raises(ValueError, match="test_per_group"):
    data.digits(val_per_group=200, test_per_group=300)
  with pytest.raises(ValueError, match="kind"):
    data.shapes(kind="waterbirds")
  with pytest.raises(ValueError, match="empty"):
    data.shapes(train_size=10, agreement=0.99)
  with pytest.raises(ValueError, match="dataset"):
    data.load(config_lib.replace(configs.get("smoke"), {"dataset": "waterbirds"}), 0)


# -------------------------------------------------------------------------------- samplers


def test_balanced_probabilities_are_sagawa_weighted_random_sampler():
  g = np.array([0] * 50 + [1] * 3 + [2] * 7 + [3] * 40)
  # Sagawa et al.'s DRODataset.get_loader: WeightedRandomSampler(weights = N / n_g[g_i]).
  weights = len(g) / np.bincount(g)[g]
  np.testing.assert_allclose(data.balanced_probabilities(g, 4), weights / weights.sum())
  # With a group absent, the groups present share the draws equally.
  p = data.balanced_probabilities(np.array([0, 0, 3, 3, 3, 3]), 4)
  np.testing.assert_allclose([p[:2].sum(), p[2:].sum()], [0.5, 0.5])


@pytest.mark.parametrize("method", ["erm", "erm_reweighted", "group_dro"])
def test_sampler_frequencies(method):
  config = configs.get("smoke")
  spec = {"name": "x", "schedule": {"type": "constant"}, "method": method}
  _, _, sampler = run_settings(config, spec)
  batch = train.batches(config, _run(spec, seed=1), 0, 400)
  counts = np.bincount(batch["g"].reshape(-1), minlength=4)
  train_g = data.load(config, 1)["train"].g
  expected = (
    np.full(4, 0.25) if sampler == "group_balanced" else np.bincount(train_g) / len(train_g)
  )
  assert sampler == ("uniform" if method == "erm" else "group_balanced")
  # A chi-square goodness of fit over 400 x 128 draws: p > 1e-4 unless the frequencies are off.
  assert stats.chisquare(counts, expected * counts.sum()).pvalue > 1e-4
  # Within a group every image equally often: the minority group 1's images, uniformly.
  if sampler == "group_balanced":
    drawn = batch["x"].reshape(-1, 64)[batch["g"].reshape(-1) == 1]
    images, multiplicity = np.unique(
      data.load(config, 1)["train"].x[train_g == 1], axis=0, return_counts=True
    )
    hits = np.array([np.sum(np.all(drawn == image, axis=1)) for image in images])
    expected = multiplicity / multiplicity.sum() * hits.sum()
    assert hits.sum() == len(drawn) and stats.chisquare(hits, expected).pvalue > 1e-4


def test_run_settings_check_method_and_sampler():
  config = configs.get("smoke")
  assert run_settings(config, {"name": "a"}) == ("erm", 0.01, "uniform")
  assert run_settings(config, {"name": "a", "method": "group_dro", "sampler": "uniform"})[2] == (
    "uniform"
  )
  with pytest.raises(ValueError, match="erm_reweighted"):
    run_settings(config, {"name": "a", "method": "erm_reweighted", "sampler": "uniform"})
  with pytest.raises(ValueError, match="sampler"):
    run_settings(config, {"name": "a", "sampler": "stratified"})
  with pytest.raises(ValueError, match="eta_q"):
    run_settings(config, {"name": "a", "method": "group_dro", "eta_q": -1})


# ------------------------------------------------------------------------------- group DRO


def _numpy_logits(model, x):
  p = {k: np.asarray(v, np.float64) for k, v in _flat(nnx.state(model, nnx.Param))}
  h = np.maximum(x @ p["hidden1/kernel"] + p["hidden1/bias"], 0)
  h = np.maximum(h @ p["hidden2/kernel"] + p["hidden2/bias"], 0)
  return h @ p["out/kernel"] + p["out/bias"]


def _flat(state):
  return [("/".join(str(k) for k in path), leaf) for path, leaf in nnx.to_flat_state(state)]


def test_group_dro_on_balanced_batches_follows_algorithm_1():
  """Sagawa et al.'s Algorithm 1 in NumPy over several group-balanced minibatches: each step's
  group losses (with C / sqrt(n_g)), q <- q exp(eta l_g) / Z, loss = sum_g q_g l_g, q carried
  from step to step; the parameters held fixed so the recursion is the algorithm's alone."""
  config = config_lib.replace(configs.get("smoke"), {"group_adjustment": 0.5})
  spec = {"name": "dro", "schedule": {"type": "constant"}, "method": "group_dro", "eta_q": 0.3}
  batch = train.batches(config, _run(spec, seed=2), 0, 6)
  model = train.init_model(config, nnx.Rngs(0))
  counts = np.bincount(data.load(config, 2)["train"].g, minlength=4)
  adjustment = 0.5 / np.sqrt(counts)
  q = np.full(4, 0.25)
  for step in range(6):
    x, y, g = (np.asarray(batch[k][step]) for k in ("x", "y", "g"))
    logits = _numpy_logits(model, x.astype(np.float64))
    log_probs = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    losses = -log_probs[np.arange(len(y)), y]
    group_losses = np.array([losses[g == k].mean() if np.any(g == k) else 0.0 for k in range(4)])
    group_losses += adjustment
    q = q * np.exp(0.3 * group_losses)
    q /= q.sum()
    loss, _ = train.loss_fn(model, {k: jnp.asarray(v[step]) for k, v in batch.items()})
    np.testing.assert_allclose(float(loss), np.sum(q * group_losses), rtol=2e-5)
    np.testing.assert_allclose(np.asarray(model.q[...]), q, rtol=2e-5)


def _numpy_algorithm_1_step(p, q, x, y, g, adjustment, eta_q, lr):
  """One iteration of Sagawa et al.'s Algorithm 1 in NumPy (float64) on the MLP: group losses
  (plus C / sqrt(n_g)), q <- q exp(eta_q l_g) / Z, then theta <- theta - lr sum_g q_g grad l_g
  (q held fixed in the gradient), by hand-written backpropagation."""
  z1 = x @ p["hidden1/kernel"] + p["hidden1/bias"]
  h1 = np.maximum(z1, 0)
  z2 = h1 @ p["hidden2/kernel"] + p["hidden2/bias"]
  h2 = np.maximum(z2, 0)
  logits = h2 @ p["out/kernel"] + p["out/bias"]
  probs = np.exp(logits - logits.max(1, keepdims=True))
  probs /= probs.sum(1, keepdims=True)
  losses = -np.log(probs[np.arange(len(y)), y])
  present = np.array([np.any(g == k) for k in range(4)])
  sizes = np.maximum(np.bincount(g, minlength=4), 1)
  group_losses = np.bincount(g, weights=losses, minlength=4) / sizes + adjustment
  group_losses = np.where(
    present, group_losses, adjustment
  )  # an absent group's loss: 0 + C/sqrt(n_g)
  q = q * np.exp(eta_q * group_losses)
  q /= q.sum()
  # d(sum_g q_g l_g)/d logits_i = q_{g_i} / n_{g_i} (softmax_i - onehot_i)
  d_logits = (probs - np.eye(2)[y]) * (q[g] / sizes[g])[:, None]
  grads = {"out/kernel": h2.T @ d_logits, "out/bias": d_logits.sum(0)}
  d_z2 = (d_logits @ p["out/kernel"].T) * (z2 > 0)
  grads.update({"hidden2/kernel": h1.T @ d_z2, "hidden2/bias": d_z2.sum(0)})
  d_z1 = (d_z2 @ p["hidden2/kernel"].T) * (z1 > 0)
  grads.update({"hidden1/kernel": x.T @ d_z1, "hidden1/bias": d_z1.sum(0)})
  return {k: v - lr * grads[k] for k, v in p.items()}, q, float(np.sum(q * group_losses))


def test_group_dro_training_on_balanced_batches_is_algorithm_1():
  """Algorithm 1 end to end over 5 group-balanced minibatches: q and every parameter after
  each SGD step (plain SGD, the engine's split of parameters from q) against NumPy."""
  config = config_lib.replace(configs.get("smoke"), {"group_adjustment": 1.0})
  spec = {"name": "dro", "schedule": {"type": "constant"}, "method": "group_dro", "eta_q": 0.5}
  run = _run(spec, seed=3)
  batch = train.batches(config, run, 0, 5)
  assert set(np.unique(batch["g"])) == {0, 1, 2, 3}
  model = train.init_model(config, nnx.Rngs(4))
  graphdef, params, model_state = nnx.split(model, nnx.Param, ...)
  counts = np.bincount(data.load(config, 3)["train"].g, minlength=4)
  adjustment, lr = 1.0 / np.sqrt(counts), 0.1

  def loss_of(params, model_state, batch):
    model = nnx.merge(graphdef, params, jax.tree.map(jnp.asarray, model_state))
    loss, _ = train.loss_fn(model, batch)
    return loss, nnx.state(model, nnx.Not(nnx.Param))

  step = jax.jit(jax.value_and_grad(loss_of, has_aux=True))
  p = {k: np.asarray(v, np.float64) for k, v in _flat(params)}
  q = np.full(4, 0.25)
  for t in range(5):
    x, y, g = (np.asarray(batch[k][t]) for k in ("x", "y", "g"))
    p, q, loss = _numpy_algorithm_1_step(p, q, x.astype(np.float64), y, g, adjustment, 0.5, lr)
    (ours, model_state), grads = step(
      params, model_state, {k: jnp.asarray(v[t]) for k, v in batch.items()}
    )
    params = jax.tree.map(lambda w, d: w - lr * d, params, grads)
    np.testing.assert_allclose(float(ours), loss, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(model_state["q"][...]), q, rtol=1e-5)
    # float32 against a float64 reference over 5 SGD steps at LR 0.1: the rounding of each
    # step's gradient (about 1e-7 relative) accumulates, 1e-4 bounds it with room.
    for k, v in _flat(params):
      np.testing.assert_allclose(np.asarray(v), p[k], rtol=1e-4, atol=1e-6, err_msg=k)
  assert np.abs(q - 0.25).max() > 0.01  # q moved


@pytest.mark.parametrize("method", ["erm", "erm_reweighted"])
def test_erm_losses_are_the_batch_mean_and_leave_q(method):
  config = configs.get("smoke")
  spec = {"name": "e", "schedule": {"type": "constant"}, "method": method}
  batch = train.batches(config, _run(spec), 0, 1)
  model = train.init_model(config, nnx.Rngs(1))
  x, y = np.asarray(batch["x"][0], np.float64), np.asarray(batch["y"][0])
  logits = _numpy_logits(model, x)
  log_probs = logits - np.log(np.exp(logits).sum(1, keepdims=True))
  loss, _ = train.loss_fn(model, {k: jnp.asarray(v[0]) for k, v in batch.items()})
  np.testing.assert_allclose(float(loss), -log_probs[np.arange(len(y)), y].mean(), rtol=1e-5)
  np.testing.assert_allclose(np.asarray(model.q[...]), np.full(4, 0.25))


def test_group_dro_weights_follow_sagawa_algorithm_1():
  q = np.array([0.1, 0.2, 0.3, 0.4])
  losses = np.array([2.0, 0.5, 1.0, 0.0])
  for eta in (0.01, 0.1, 1.0):
    expected = q * np.exp(eta * losses)
    expected /= expected.sum()
    np.testing.assert_allclose(
      train.group_dro_weights(jnp.asarray(q), jnp.asarray(losses), eta), expected, rtol=1e-6
    )


# ------------------------------------------------------------------------------------- CNN


def test_cnn_convolutions_are_lax_convolutions():
  x = jax.random.normal(jax.random.PRNGKey(0), (2, 8, 8, 3))
  kernel = jax.random.normal(jax.random.PRNGKey(1), (3, 3, 3, 5))
  expected = jax.lax.conv_general_dilated(
    x, kernel, (2, 2), ((1, 1), (1, 1)), dimension_numbers=("NHWC", "HWIO", "NHWC")
  )
  ours = model_lib.patches_3x3_stride2(x) @ kernel.reshape(27, 5)
  np.testing.assert_allclose(ours, expected, rtol=1e-5, atol=1e-5)


def test_cnn_trains_and_evaluates_on_shapes():
  config = config_lib.replace(
    configs.get("shapes"), {"train_size": 40, "val_per_group": 2, "test_per_group": 3}
  )
  model = train.init_model(config, nnx.Rngs(0))
  spec = {"name": "d", "schedule": {"type": "constant"}, "method": "group_dro"}
  batch = train.batches(config, _run(spec), 0, 1)
  assert batch["x"].dtype == np.uint8 and batch["x"].shape == (1, 64, 32, 32, 3)
  loss, _ = train.loss_fn(model, {k: jnp.asarray(v[0]) for k, v in batch.items()})
  assert np.isfinite(float(loss))
  metrics = train.evaluate(model, jax.tree.map(jnp.asarray, train.eval_data(config, _run(spec))))
  assert [metrics[f"test_n_g{g}"] for g in range(4)] == [3, 3, 3, 3]
  assert 0 <= float(metrics["test_worst_acc"]) <= float(metrics["test_acc"]) <= 1


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
  split = {"x": jnp.zeros((10, 1)), "y": y, "g": g, "w": w}
  metrics = train._split_metrics(_Fixed(logits), split, "test", jnp.asarray([0.4, 0.1, 0.1, 0.4]))
  np.testing.assert_allclose(metrics["test_acc"], 5 / 8)
  np.testing.assert_allclose(metrics["test_worst_acc"], 0.0)
  np.testing.assert_allclose(
    metrics["test_train_weighted_acc"], 0.4 * 2 / 3 + 0.1 * 0 + 0.1 * 1 + 0.4 * 0.5, rtol=1e-6
  )
  np.testing.assert_allclose(
    [metrics[f"test_acc_g{k}"] for k in range(4)], [2 / 3, 0, 1, 0.5], rtol=1e-6
  )
  np.testing.assert_allclose([metrics[f"test_n_g{k}"] for k in range(4)], [3, 1, 2, 2])


# ------------------------------------------------------------------------------- intervals


def _exact_quantiles(correct, size, qs):
  """The bootstrap's exact distribution when one group per seed can be the worst (the others
  are always right): choose seeds with replacement, then each drawn seed's count is binomial;
  the mean over the drawn seeds, by enumeration and convolution."""
  seeds = len(correct)
  n = size[0, 0]
  support = np.zeros(seeds * n + 1)
  for chosen in itertools.product(range(seeds), repeat=seeds):
    pmf = np.array([1.0])
    for s in chosen:
      pmf = np.convolve(pmf, stats.binom.pmf(np.arange(n + 1), n, correct[s, 0] / n))
    support += pmf / seeds**seeds
  cdf = np.cumsum(support)
  return [np.searchsorted(cdf, q) / (seeds * n) for q in qs]


def test_worst_group_interval_against_an_exact_computation():
  correct = np.array([[10, 20], [16, 20], [13, 20]])  # group 1 always right
  size = np.full((3, 2), 20)
  mean, low, high = analysis.worst_group_ci95(correct, size, draws=20000, seed=1)
  assert mean == pytest.approx(np.mean([10, 16, 13]) / 20)
  exact_low, exact_high = _exact_quantiles(correct, size, [0.025, 0.975])
  step = 1 / 60  # the distribution's grid
  assert abs(low - exact_low) <= step + 1e-9 and abs(high - exact_high) <= step + 1e-9


def test_difference_interval_against_an_exact_computation():
  size = np.full((3, 2), 20)
  a = (np.array([[0, 20], [0, 20], [0, 20]]), size)  # worst group 0 always: no variance
  b = (np.array([[10, 20], [16, 20], [13, 20]]), size)
  mean, low, high = analysis.difference_ci95(a, b, draws=20000, seed=2)
  assert mean == pytest.approx(np.mean([10, 16, 13]) / 20)
  exact_low, exact_high = _exact_quantiles(b[0], size, [0.025, 0.975])
  assert abs(low - exact_low) <= 1 / 60 + 1e-9 and abs(high - exact_high) <= 1 / 60 + 1e-9
  # A worst group that switches between seeds: the interval holds the per-seed minimum's mean.
  c = (np.array([[20, 5], [9, 20], [20, 20]]), size)
  mean, low, high = analysis.worst_group_ci95(*c)
  assert mean == pytest.approx((5 + 9 + 20) / 60) and low < mean < high


def _item(spec, schedule, warmup_epochs, method="erm", peak_lr=1e-3, **changes):
  return {
    "spec": spec,
    "dataset": "digits",
    "method": method,
    "sampler": "uniform" if method == "erm" else "group_balanced",
    "eta_q": 0.01 if method == "group_dro" else None,
    "schedule": schedule,
    "warmup_epochs": warmup_epochs,
    "optimizer": "sgd",
    "peak_lr": peak_lr,
    "weight_decay": 1e-4,
    **changes,
  }


def test_schedule_pairs_on_crafted_specs():
  """Each schedule against the constant rate at its peak in the same setting; warmup + 3-phase
  also against 3-phase; nothing across methods, rates or optimizers."""
  stats = [
    _item("const", "warmup_constant", 0),
    _item("cos", "warmup_cosine", 10),
    _item("w30", "warmup_constant", 30),  # a warmup: the warmup contrasts' business
    _item("3ph", "bias_mitigation", None),
    _item("w+3ph", "sequential", None),
    _item("dro-cos", "warmup_cosine", 10, method="group_dro"),  # no constant DRO twin
    _item("cos-1e-2", "warmup_cosine", 10, peak_lr=1e-2),  # no constant at 1e-2
    _item("adam-const", "warmup_constant", 0, optimizer="adamw"),
  ]
  assert sorted(analysis._schedule_pairs(stats)) == sorted(
    [("const", "cos"), ("const", "3ph"), ("const", "w+3ph"), ("3ph", "w+3ph")]
  )


def test_weight_decay_twins_and_optimizer_pairs_on_crafted_specs():
  """Each weight decay against 1e-4 with everything else equal; SGD against another optimizer
  only for the same method, sampler and weight decay."""
  stats = [
    _item("std-1e-2", "warmup_constant", 0, peak_lr=1e-2),
    _item("wd0.01-1e-2", "warmup_constant", 0, peak_lr=1e-2, weight_decay=0.01),
    _item("wd1-1e-5", "warmup_constant", 0, peak_lr=1e-5, weight_decay=1.0),  # no twin at 1e-5
    _item("dro-wd0.01", "warmup_constant", 0, method="group_dro", peak_lr=1e-2, weight_decay=0.01),
  ]
  assert analysis._twins(stats, "weight_decay", analysis.STANDARD_DECAY) == [
    ("std-1e-2", "wd0.01-1e-2")
  ]
  chosen = [
    {"spec": "sgd", "optimizer": "sgd", "weight_decay": 1e-4},
    {"spec": "sgd-wd0.1", "optimizer": "sgd", "weight_decay": 0.1},
    {"spec": "adamw", "optimizer": "adamw", "weight_decay": 1e-4},
    {"spec": "sgd-dro", "optimizer": "sgd", "weight_decay": 1e-4, "method": "group_dro"},
    {"spec": "sgd-uniform-dro", "optimizer": "sgd", "weight_decay": 1e-4, "sampler": "uniform"},
  ]
  chosen = [{"dataset": "digits", "method": "erm", "sampler": "uniform", **c} for c in chosen]
  chosen[3]["sampler"] = "group_balanced"
  chosen[4]["method"] = "group_dro"
  assert analysis.optimizer_pairs(chosen) == [("adamw", "sgd")]


def _summary_row(spec, seed, **counts):
  size = [20, 20]
  return {
    "run": f"{spec}/seed{seed}",
    "spec": spec,
    "seed": seed,
    "test_group_size": size,
    **{key: None if value is None else list(value) for key, value in counts.items()},
  }


def test_contrast_pairs_seeds_and_selections():
  """A contrast pairs the seeds both specs ran and reports each selection (last epoch,
  early-stopped, epochs 10 and 20); one missing selection is None, not a crash."""
  a = [
    _summary_row(
      "a",
      s,
      test_group_correct=(c, 20),
      early_stopped_test_group_correct=(c, 20),
      test_group_correct_epoch10=(10, 20),
      test_group_correct_epoch20=(10, 20),
    )
    for s, c in ((0, 4), (1, 6), (2, 8))
  ]
  b = [
    _summary_row(
      "b",
      s,
      test_group_correct=(20, c),
      early_stopped_test_group_correct=(20, c),
      test_group_correct_epoch10=(14, 20),
      test_group_correct_epoch20=(14, 20),
    )
    for s, c in ((1, 16), (2, 12), (3, 0))
  ]
  b[0]["test_group_correct_epoch20"] = None  # seed 1 has no evaluation at epoch 20
  found = analysis.contrast(a + b, "a", "b")
  assert found["seeds"] == 2  # seeds 1 and 2
  # Worst groups over seeds 1, 2: a 6/20, 8/20; b 16/20, 12/20.
  assert found["final"][0] == pytest.approx((16 + 12 - 6 - 8) / 40)
  assert found["final"][1] <= found["final"][0] <= found["final"][2]
  assert found["early_stopped"][0] == pytest.approx(found["final"][0])
  assert found["epoch10"][0] == pytest.approx(4 / 20)
  assert found["epoch20"] is None


# --------------------------------------------------------------------------------- presets


@pytest.mark.parametrize("name", configs.PRESETS)
def test_presets_validate(name):
  """Every preset's runs, schedules, optimizers, samplers and model check out (the data at a
  small size and one seed: the sizes do not change what is checked)."""
  config = configs.get(name)
  small = {"seeds": (0,)}
  if config.dataset != "lms5":
    small.update({"train_size": 60, "val_per_group": 2, "test_per_group": 2})
  groups = engine.check(train.STUDY, config_lib.replace(config, small))
  assert sum(len(g.runs) for g in groups) == len(config.runs)
  for spec in config.runs:
    run_settings(config, spec)


def test_preset_sizes():
  smoke = configs.get("smoke")  # seconds: a few hundred steps in all
  assert smoke.total_steps * len(smoke.runs) * len(smoke.seeds) <= 200
  assert len(configs.get("cpu").seeds) >= 10
  assert len(configs.get("cpu").runs) == 63
  shapes, gpu = configs.get("shapes"), configs.get("gpu")
  assert shapes.dataset == "shapes" and shapes.image_size == 32
  assert gpu.image_size > shapes.image_size and len(gpu.seeds) > len(shapes.seeds)


# ------------------------------------------------------------------------------ the engine


def test_cli_smoke_writes_every_file(tmp_path):
  out = tmp_path / "smoke"
  result = subprocess.run(
    [sys.executable, "-m", "experiments.spurious", "--preset", "smoke", "--out", str(out)]
    + ["--no-progress"],
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
    "spurious.json",
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
      "sampler",
      "schedule",
      "peak_lr",
      "weight_decay",
      "shrink_per_step",
      "eta_q",
      "seed",
      "test_avg_acc",
      "test_worst_group_acc",
      "test_group_correct",
      "test_group_size",
      "early_stopped_test_group_correct",
      "val_worst_group_acc",
      "train_acc",
      "diverged",
    }
  assert {s["method"] for s in summary} == {"erm", "erm_reweighted", "group_dro"}
  assert all(s["wall_seconds"] < 30 for s in summary)  # the smoke preset runs in seconds
  specs = json.loads((out / "spurious.json").read_text())["specs"]
  for s in specs:
    low, high = s["test_worst_group_acc_ci95"]
    assert low <= s["test_worst_group_acc"] <= high
  rows = _rows(out)
  assert [r["step"] for r in rows if r["run"] == "erm/constant/seed0"] == [9, 18, 27, 36]
  dro = [r for r in rows if r["spec"].startswith("dro")]
  erm = [r for r in rows if r["spec"].startswith("erm")]
  assert all(abs(sum(r[f"q_g{k}"] for k in range(4)) - 1) < 1e-5 for r in dro)
  assert any(abs(r["q_g1"] - 0.25) > 1e-3 for r in dro)  # q moved
  assert all(r["q_g1"] == pytest.approx(0.25) for r in erm)  # and not for ERM


@pytest.mark.parametrize(
  "run, field",
  [
    ("{name: x, schedule: {type: constant}, method: irm}", "method"),
    ("{name: x, schedule: {type: constant}, method: erm_reweighted, sampler: uniform}", "sampler"),
  ],
)
def test_bad_method_or_sampler_is_one_line(tmp_path, run, field):
  result = subprocess.run(
    [sys.executable, "-m", "experiments.spurious", "--preset", "smoke", "--set", f"runs=[{run}]"]
    + ["--out", str(tmp_path / "b")],
    cwd=ROOT,
    capture_output=True,
    text=True,
    env=dict(os.environ, PYTHONPATH=str(ROOT)),
    timeout=300,
  )
  assert result.returncode == 2 and field in result.stderr
  assert len(result.stderr.strip().splitlines()) == 1
  assert not (tmp_path / "b").exists()


def test_vmapped_runs_equal_separate_runs(tmp_path):
  config = config_lib.replace(configs.get("smoke"), {"execution": "vmap", "seeds": (0, 1)})
  train.train_and_evaluate(config, tmp_path / "together", progress=False)
  together = _rows(tmp_path / "together")
  smallest_group = config.test_per_group
  for spec in config.runs:
    single = config_lib.replace(config, {"runs": (spec,), "seeds": (1,)})
    train.train_and_evaluate(single, tmp_path / "alone", progress=False)
    for row in _rows(tmp_path / "alone"):
      match = next(r for r in together if (r["run"], r["step"]) == (row["run"], row["step"]))
      # vmap's batched kernels sum in another order than one run's: the losses, q and the LR
      # agree to float32 rounding grown over the smoke preset's few steps; an accuracy is a
      # count of examples, which such a difference can move by one example at most.
      for key in ("q_g1", "lr", "batch_loss"):
        np.testing.assert_allclose(match[key], row[key], rtol=1e-4, atol=1e-6)
      for key in ("test_acc", "test_worst_acc"):
        assert abs(match[key] - row[key]) <= 1.5 / smallest_group, key


def test_group_weights_survive_a_resume(tmp_path):
  # The mode pinned: under auto the two invocations would each choose by their own timing.
  config = config_lib.replace(
    configs.get("smoke"), {"checkpoint_every": 18, "execution": "sequential"}
  )
  train.train_and_evaluate(config, tmp_path / "straight", progress=False)
  train.train_and_evaluate(
    config_lib.replace(config, {"total_steps": 27}), tmp_path / "resumed", progress=False
  )
  train.train_and_evaluate(config, tmp_path / "resumed", resume=True, progress=False)
  assert _rows(tmp_path / "straight") == _rows(tmp_path / "resumed")
