"""The LR range test (``jaxsched.lr_find``).

References are independent of jaxsched: the divergence bound ``2 / L`` of
gradient descent on a quadratic, a plain Python loop of Optax steps, and the
smoothing and suggestion rules recomputed here in NumPy.
"""

import chex
import jax
import jax.numpy as jnp
import matplotlib.image
import numpy as np
import optax
import pytest
from flax import nnx

import jaxsched

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# --- helpers -----------------------------------------------------------------


def _ema(losses, beta):
  """Bias-corrected EMA in closed form: sum_j beta^(i-j) (1-beta) L_j / (1-beta^(i+1))."""
  losses = np.asarray(losses, np.float64)
  i = np.arange(len(losses))
  power = i[:, None] - i[None, :]
  weights = np.where(power >= 0, (1.0 - beta) * beta ** np.maximum(power, 0), 0.0)
  return weights @ losses / (1.0 - beta ** (i + 1))


def _loop_losses(loss_fn, params, batches, lrs, optimizer):
  """Losses of a Python loop of ``inject_hyperparams(optimizer)`` steps, one jitted step each."""
  tx = optax.inject_hyperparams(optimizer)(learning_rate=float(lrs[0]))

  @jax.jit
  def step(params, state, lr, batch):
    loss, grads = jax.value_and_grad(loss_fn)(params, batch)
    state.hyperparams["learning_rate"] = lr
    updates, state = tx.update(grads, state, params)
    return optax.apply_updates(params, updates), state, loss

  state = tx.init(params)
  losses = []
  for lr, batch in zip(lrs, batches):
    params, state, loss = step(params, state, jnp.float32(lr), batch)
    losses.append(float(loss))
  return np.array(losses)


def _quadratic(curvatures):
  curvatures = jnp.asarray(curvatures, jnp.float32)

  def loss_fn(w, batch):
    del batch
    return 0.5 * jnp.sum(curvatures * w**2)

  return loss_fn


def _regression(seed=0, n=64, d=5):
  """A small tanh model on a least-squares target; params and one batch."""
  rng = np.random.default_rng(seed)
  x = rng.normal(size=(n, d)).astype(np.float32)
  y = np.tanh(x @ rng.normal(size=d)).astype(np.float32)
  params = {"w": jnp.asarray(rng.normal(size=(d, 4)) * 0.5, jnp.float32),
            "v": jnp.asarray(rng.normal(size=4) * 0.5, jnp.float32)}

  def loss_fn(p, batch):
    xb, yb = batch
    return jnp.mean((jnp.tanh(xb @ p["w"]) @ p["v"] - yb) ** 2)

  return loss_fn, params, (jnp.asarray(x), jnp.asarray(y))


# --- (a) quadratic: divergence above 2 / L -----------------------------------


@pytest.mark.parametrize("curvatures", [(0.5, 2.0, 10.0), (1.0, 30.0, 1000.0)])
def test_quadratic_suggestions_below_divergence_and_stop_after_it(curvatures):
  largest = max(curvatures)
  critical = 2.0 / largest  # GD multiplies w_i by (1 - lr L_i): diverges for lr > 2 / L
  # start_lr=1e-6 keeps 1 / L off the LR grid: an LR of exactly 1 / L zeroes w_L in one
  # step, after which its growth above 2 / L takes many steps to show in the loss (with
  # start_lr=1e-5, lrs[66] = 0.1 = 1 / 10 exactly and the 'minimum' rule lands above 2 / L).
  start_lr, end_lr, num_steps, beta = 1e-6, 10.0, 100, 0.98
  result = jaxsched.lr_find(_quadratic(curvatures), jnp.ones(len(curvatures)), None,
                            start_lr=start_lr, end_lr=end_lr, num_steps=num_steps,
                            smoothing=beta)

  for rule, lr in result.suggestions.items():
    assert start_lr <= lr < critical, (rule, lr, critical)
  assert set(result.suggestions) == {"valley", "steepest", "minimum"}
  assert result.rule == "valley"
  assert result.suggestion == result.suggestions["valley"]

  # The sweep stopped (well before the last step) and after the divergence point.
  assert result.stop_step < num_steps - 1
  assert result.lrs[result.stop_step] > critical
  assert result.lrs[-1] == result.lrs[result.stop_step]

  n = result.stop_step + 1
  chex.assert_shape([result.lrs, result.losses, result.smoothed_losses], (n,))
  np.testing.assert_allclose(result.lrs, np.geomspace(start_lr, end_lr, num_steps)[:n],
                             rtol=1e-12)
  np.testing.assert_allclose(result.smoothed_losses, _ema(result.losses, beta), rtol=1e-10)

  # stop_step is the first step whose smoothed loss exceeds 4x the best before it.
  smoothed = _ema(result.losses, beta)
  best_before = np.minimum.accumulate(smoothed)[:-1]
  assert smoothed[-1] > 4.0 * best_before[-1]
  assert np.all(smoothed[1:-1] <= 4.0 * best_before[:-1])
  # Losses before the update: the first is the loss at the initial params.
  np.testing.assert_allclose(result.losses[0], 0.5 * sum(curvatures), rtol=1e-6)


def test_quadratic_without_divergence_runs_every_step():
  curvatures = (0.5, 2.0, 10.0)
  result = jaxsched.lr_find(_quadratic(curvatures), jnp.ones(3), None, start_lr=1e-3,
                            end_lr=0.15, num_steps=30)
  assert result.stop_step == 29
  chex.assert_shape([result.lrs, result.losses, result.smoothed_losses], (30,))
  # Closed form of GD on the quadratic: w_i(t) = prod_{s<t} (1 - lr_s L_i).
  lrs = np.geomspace(1e-3, 0.15, 30)
  factors = np.cumprod(1.0 - lrs[:, None] * np.asarray(curvatures)[None, :], axis=0)
  w = np.vstack([np.ones(3), factors[:-1]])
  np.testing.assert_allclose(result.losses, 0.5 * (w**2 * np.asarray(curvatures)).sum(1),
                             rtol=1e-5)


# --- (b) the compiled sweep is the Python loop ----------------------------------


@pytest.mark.parametrize("optimizer", [optax.sgd, optax.adam], ids=["sgd", "adam"])
def test_sweep_matches_python_loop_and_leaves_params_unchanged(optimizer):
  loss_fn, params, batch = _regression()
  before = jax.tree.map(np.array, params)
  num_steps, start_lr, end_lr = 40, 1e-4, 0.3
  result = jaxsched.lr_find(loss_fn, params, batch, optimizer=optimizer, start_lr=start_lr,
                            end_lr=end_lr, num_steps=num_steps, diverge_threshold=1e6)
  assert result.stop_step == num_steps - 1
  lrs = np.geomspace(start_lr, end_lr, num_steps)
  expected = _loop_losses(loss_fn, params, [batch] * num_steps, lrs, optimizer)
  np.testing.assert_allclose(result.losses, expected, rtol=2e-5, atol=1e-7)
  # The loss did move, so the comparison is not between two constant curves.
  assert expected[-1] < 0.9 * expected[0]
  chex.assert_trees_all_equal(jax.tree.map(np.asarray, params), before)


def test_sgd_sweep_matches_hand_written_gradient_descent():
  loss_fn, params, batch = _regression(seed=1)
  lrs = np.geomspace(1e-3, 0.5, 25)
  result = jaxsched.lr_find(loss_fn, params, batch, start_lr=1e-3, end_lr=0.5, num_steps=25,
                            diverge_threshold=1e6)

  @jax.jit
  def step(p, lr):
    loss, g = jax.value_and_grad(loss_fn)(p, batch)
    return jax.tree.map(lambda a, b: a - lr * b, p, g), loss

  p, expected = params, []
  for lr in lrs:
    p, loss = step(p, jnp.float32(lr))
    expected.append(float(loss))
  np.testing.assert_allclose(result.losses, expected, rtol=2e-5, atol=1e-7)


def test_numpy_params_are_not_modified():
  loss_fn, params, batch = _regression(seed=2)
  params = jax.tree.map(np.array, params)
  before = jax.tree.map(np.copy, params)
  jaxsched.lr_find(loss_fn, params, batch, start_lr=1e-3, end_lr=1.0, num_steps=10)
  chex.assert_trees_all_equal(params, before)


# --- (c) data: one batch per step, or one batch reused --------------------------


def test_data_per_step_consumes_one_batch_per_step():
  loss_fn, params, _ = _regression()
  num_steps, batch_size = 30, 16
  rng = np.random.default_rng(3)
  x = jnp.asarray(rng.normal(size=(num_steps, batch_size, 5)), jnp.float32)
  y = jnp.asarray(rng.normal(size=(num_steps, batch_size)), jnp.float32)
  lrs = np.geomspace(1e-3, 0.3, num_steps)
  expected = _loop_losses(loss_fn, params, [(x[i], y[i]) for i in range(num_steps)], lrs,
                          optax.sgd)
  for per_step in (None, True):  # inferred from the leading axis, and explicit
    result = jaxsched.lr_find(loss_fn, params, (x, y), start_lr=1e-3, end_lr=0.3,
                              num_steps=num_steps, diverge_threshold=1e6,
                              data_per_step=per_step)
    np.testing.assert_allclose(result.losses, expected, rtol=2e-5, atol=1e-7)
  # Reusing the first batch every step would give different losses.
  reused = _loop_losses(loss_fn, params, [(x[0], y[0])] * num_steps, lrs, optax.sgd)
  assert not np.allclose(reused, expected, rtol=1e-3)


def test_single_batch_is_reused_every_step():
  loss_fn, params, batch = _regression(n=64)
  num_steps = 20
  lrs = np.geomspace(1e-3, 0.3, num_steps)
  expected = _loop_losses(loss_fn, params, [batch] * num_steps, lrs, optax.sgd)
  result = jaxsched.lr_find(loss_fn, params, batch, start_lr=1e-3, end_lr=0.3,
                            num_steps=num_steps, diverge_threshold=1e6)
  np.testing.assert_allclose(result.losses, expected, rtol=2e-5, atol=1e-7)


def test_batch_with_num_steps_rows_is_reused_when_data_per_step_false():
  # 20 samples and 20 steps: inferred as per-step, but data_per_step=False overrides.
  loss_fn, params, batch = _regression(n=20)
  num_steps = 20
  lrs = np.geomspace(1e-3, 0.3, num_steps)
  whole = _loop_losses(loss_fn, params, [batch] * num_steps, lrs, optax.sgd)
  per_row = _loop_losses(loss_fn, params, [(batch[0][i], batch[1][i]) for i in range(20)],
                         lrs, optax.sgd)
  kw = dict(start_lr=1e-3, end_lr=0.3, num_steps=num_steps, diverge_threshold=1e6)
  reused = jaxsched.lr_find(loss_fn, params, batch, data_per_step=False, **kw)
  np.testing.assert_allclose(reused.losses, whole, rtol=2e-5, atol=1e-7)
  inferred = jaxsched.lr_find(loss_fn, params, batch, **kw)
  np.testing.assert_allclose(inferred.losses, per_row, rtol=2e-5, atol=1e-7)


@pytest.mark.parametrize("leading", [7, 31])
def test_data_per_step_with_wrong_leading_axis_raises(leading):
  loss_fn, params, _ = _regression()
  x = jnp.zeros((leading, 4, 5))
  y = jnp.zeros((leading, 4))
  with pytest.raises(ValueError, match="data_per_step"):
    jaxsched.lr_find(loss_fn, params, (x, y), num_steps=30, data_per_step=True)


# --- (d) a Flax NNX classifier --------------------------------------------------


class _Classifier(nnx.Module):

  def __init__(self, rngs: nnx.Rngs):
    self.hidden = nnx.Linear(2, 16, rngs=rngs)
    self.out = nnx.Linear(16, 2, rngs=rngs)

  def __call__(self, x_BxD):
    return self.out(nnx.relu(self.hidden(x_BxD)))


def test_nnx_classifier_suggestion_trains_and_far_above_stop_does_not():
  rng = np.random.default_rng(0)
  x_BxD = rng.normal(size=(256, 2)).astype(np.float32)
  labels_B = (x_BxD @ np.array([1.0, -2.0]) > 0).astype(np.int32)  # linearly separable
  batch = (jnp.asarray(x_BxD), jnp.asarray(labels_B))
  graphdef, params = nnx.split(_Classifier(nnx.Rngs(0)), nnx.Param)

  def loss_fn(p, b):
    x, labels = b
    logits_BxC = nnx.merge(graphdef, p)(x)
    return optax.softmax_cross_entropy_with_integer_labels(logits_BxC, labels).mean()

  start_lr, end_lr = 1e-5, 100.0
  result = jaxsched.lr_find(loss_fn, params, batch, start_lr=start_lr, end_lr=end_lr,
                            num_steps=100)
  for lr in result.suggestions.values():
    assert np.isfinite(lr) and start_lr <= lr <= end_lr
  assert result.stop_step < 99  # this problem diverges inside the sweep

  @jax.jit
  def train(lr):
    """Loss after 100 steps of optax.sgd(lr) on the full batch."""
    tx = optax.sgd(lr)

    def step(carry, _):
      p, state = carry
      grads = jax.grad(loss_fn)(p, batch)
      updates, state = tx.update(grads, state, p)
      return (optax.apply_updates(p, updates), state), None

    (p, _), _ = jax.lax.scan(step, (params, tx.init(params)), length=100)
    return loss_fn(p, batch)

  initial = float(jax.jit(loss_fn)(params, batch))
  assert float(train(result.suggestion)) < 0.9 * initial
  # 100x the LR at which the sweep stopped: the loss does not go down (it blows up
  # to inf/nan here); `not <` also holds for nan.
  assert not float(train(100.0 * result.lrs[result.stop_step])) < initial


# --- (e) suggestion rules ------------------------------------------------------


def _noisy_sweep(rule):
  """A sweep with one random batch per step, so the raw loss is noisy."""
  loss_fn, params, _ = _regression()
  rng = np.random.default_rng(4)
  x = jnp.asarray(rng.normal(size=(80, 16, 5)), jnp.float32)
  y = jnp.tanh(x @ jnp.asarray(rng.normal(size=5), jnp.float32))
  return jaxsched.lr_find(loss_fn, params, (x, y), start_lr=1e-4, end_lr=100.0,
                          num_steps=80, smoothing=0.9, rule=rule)


def test_minimum_and_steepest_rules_from_the_smoothed_curve():
  result = _noisy_sweep("valley")
  smoothed = _ema(result.losses, 0.9)
  assert np.all(np.isfinite(smoothed))
  lrs = np.geomspace(1e-4, 100.0, 80)[:result.stop_step + 1]
  np.testing.assert_allclose(result.suggestions["minimum"], lrs[np.argmin(smoothed)] / 10,
                             rtol=1e-12)
  slope = np.gradient(smoothed, np.log(lrs))
  np.testing.assert_allclose(result.suggestions["steepest"], lrs[np.argmin(slope)], rtol=1e-12)
  # Different rules, different answers (on the smoothed, not the raw, curve).
  raw_steepest = lrs[np.argmin(np.gradient(result.losses, np.log(lrs)))]
  assert result.suggestions["steepest"] != raw_steepest


@pytest.mark.parametrize("rule", ["valley", "steepest", "minimum"])
def test_rule_selects_the_suggestion(rule):
  result = _noisy_sweep(rule)
  assert result.rule == rule
  assert result.suggestion == result.suggestions[rule]


# --- (f) bad inputs -------------------------------------------------------------


@pytest.mark.parametrize("kwargs, name", [
    (dict(start_lr=1.0, end_lr=1.0), "start_lr"),
    (dict(start_lr=2.0, end_lr=1.0), "start_lr"),
    (dict(start_lr=0.0), "start_lr"),
    (dict(end_lr=-1.0), "end_lr"),
    (dict(num_steps=1), "num_steps"),
    (dict(num_steps=2.5), "num_steps"),
    (dict(smoothing=1.0), "smoothing"),
    (dict(smoothing=-0.1), "smoothing"),
    (dict(diverge_threshold=1.0), "diverge_threshold"),
    (dict(rule="median"), "rule"),
])
def test_bad_arguments_raise_naming_the_argument(kwargs, name):
  with pytest.raises(ValueError, match=f"lr_find: {name}="):
    jaxsched.lr_find(_quadratic((1.0,)), jnp.ones(1), None, **kwargs)


# --- (g) the plot ----------------------------------------------------------------


def test_result_plot_writes_a_png(tmp_path):
  result = jaxsched.lr_find(_quadratic((0.5, 2.0, 10.0)), jnp.ones(3), None, start_lr=1e-5,
                            end_lr=10.0, num_steps=60)
  path = tmp_path / "sub" / "finder.png"
  written = result.plot(path)
  assert path.read_bytes()[:8] == PNG_SIGNATURE
  assert str(written) == str(path)
  image = matplotlib.image.imread(path)
  height, width = image.shape[:2]
  assert 400 <= width <= 2000 and 300 <= height <= 2000
  assert image[..., :3].std() > 0.01  # something was drawn
