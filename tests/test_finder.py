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
  params = {
    "w": jnp.asarray(rng.normal(size=(d, 4)) * 0.5, jnp.float32),
    "v": jnp.asarray(rng.normal(size=4) * 0.5, jnp.float32),
  }

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
  result = jaxsched.lr_find(
    _quadratic(curvatures),
    jnp.ones(len(curvatures)),
    None,
    start_lr=start_lr,
    end_lr=end_lr,
    num_steps=num_steps,
    smoothing=beta,
  )

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
  np.testing.assert_allclose(result.lrs, np.geomspace(start_lr, end_lr, num_steps)[:n], rtol=1e-12)
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
  result = jaxsched.lr_find(
    _quadratic(curvatures), jnp.ones(3), None, start_lr=1e-3, end_lr=0.15, num_steps=30
  )
  assert result.stop_step == 29
  chex.assert_shape([result.lrs, result.losses, result.smoothed_losses], (30,))
  # Closed form of GD on the quadratic: w_i(t) = prod_{s<t} (1 - lr_s L_i).
  lrs = np.geomspace(1e-3, 0.15, 30)
  factors = np.cumprod(1.0 - lrs[:, None] * np.asarray(curvatures)[None, :], axis=0)
  w = np.vstack([np.ones(3), factors[:-1]])
  np.testing.assert_allclose(result.losses, 0.5 * (w**2 * np.asarray(curvatures)).sum(1), rtol=1e-5)


# --- (b) the compiled sweep is the Python loop ----------------------------------


@pytest.mark.parametrize("optimizer", [optax.sgd, optax.adam], ids=["sgd", "adam"])
def test_sweep_matches_python_loop_and_leaves_params_unchanged(optimizer):
  loss_fn, params, batch = _regression()
  before = jax.tree.map(np.array, params)
  num_steps, start_lr, end_lr = 40, 1e-4, 0.3
  result = jaxsched.lr_find(
    loss_fn,
    params,
    batch,
    optimizer=optimizer,
    start_lr=start_lr,
    end_lr=end_lr,
    num_steps=num_steps,
    diverge_threshold=1e6,
  )
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
  result = jaxsched.lr_find(
    loss_fn, params, batch, start_lr=1e-3, end_lr=0.5, num_steps=25, diverge_threshold=1e6
  )

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
  expected = _loop_losses(loss_fn, params, [(x[i], y[i]) for i in range(num_steps)], lrs, optax.sgd)
  for per_step in (None, True):  # inferred from the leading axis, and explicit
    result = jaxsched.lr_find(
      loss_fn,
      params,
      (x, y),
      start_lr=1e-3,
      end_lr=0.3,
      num_steps=num_steps,
      diverge_threshold=1e6,
      data_per_step=per_step,
    )
    np.testing.assert_allclose(result.losses, expected, rtol=2e-5, atol=1e-7)
  # Reusing the first batch every step would give different losses.
  reused = _loop_losses(loss_fn, params, [(x[0], y[0])] * num_steps, lrs, optax.sgd)
  assert not np.allclose(reused, expected, rtol=1e-3)


def test_single_batch_is_reused_every_step():
  loss_fn, params, batch = _regression(n=64)
  num_steps = 20
  lrs = np.geomspace(1e-3, 0.3, num_steps)
  expected = _loop_losses(loss_fn, params, [batch] * num_steps, lrs, optax.sgd)
  result = jaxsched.lr_find(
    loss_fn, params, batch, start_lr=1e-3, end_lr=0.3, num_steps=num_steps, diverge_threshold=1e6
  )
  np.testing.assert_allclose(result.losses, expected, rtol=2e-5, atol=1e-7)


def test_batch_with_num_steps_rows_is_reused_when_data_per_step_false():
  # 20 samples and 20 steps: inferred as per-step, but data_per_step=False overrides.
  loss_fn, params, batch = _regression(n=20)
  num_steps = 20
  lrs = np.geomspace(1e-3, 0.3, num_steps)
  whole = _loop_losses(loss_fn, params, [batch] * num_steps, lrs, optax.sgd)
  per_row = _loop_losses(
    loss_fn, params, [(batch[0][i], batch[1][i]) for i in range(20)], lrs, optax.sgd
  )
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
  result = jaxsched.lr_find(loss_fn, params, batch, start_lr=start_lr, end_lr=end_lr, num_steps=100)
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
  return jaxsched.lr_find(
    loss_fn, params, (x, y), start_lr=1e-4, end_lr=100.0, num_steps=80, smoothing=0.9, rule=rule
  )


def test_minimum_and_steepest_rules_from_the_smoothed_curve():
  result = _noisy_sweep("valley")
  smoothed = _ema(result.losses, 0.9)
  assert np.all(np.isfinite(smoothed))
  lrs = np.geomspace(1e-4, 100.0, 80)[: result.stop_step + 1]
  np.testing.assert_allclose(
    result.suggestions["minimum"], lrs[np.argmin(smoothed)] / 10, rtol=1e-12
  )
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


@pytest.mark.parametrize(
  "kwargs, name",
  [
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
  ],
)
def test_bad_arguments_raise_naming_the_argument(kwargs, name):
  with pytest.raises(ValueError, match=f"lr_find: {name}="):
    jaxsched.lr_find(_quadratic((1.0,)), jnp.ones(1), None, **kwargs)


# --- (g) the plot ----------------------------------------------------------------


def test_result_plot_writes_a_png(tmp_path):
  result = jaxsched.lr_find(
    _quadratic((0.5, 2.0, 10.0)), jnp.ones(3), None, start_lr=1e-5, end_lr=10.0, num_steps=60
  )
  path = tmp_path / "sub" / "finder.png"
  written = result.plot(path)
  assert path.read_bytes()[:8] == PNG_SIGNATURE
  assert str(written) == str(path)
  image = matplotlib.image.imread(path)
  height, width = image.shape[:2]
  assert 400 <= width <= 2000 and 300 <= height <= 2000
  assert image[..., :3].std() > 0.01  # something was drawn


# --- (h) compiled once: later calls with new values do not trace again -------------------


def _counting_regression():
  loss_fn, params, batch = _regression()
  traces = []

  def counted(p, b):
    traces.append(1)  # runs only while JAX traces the function
    return loss_fn(p, b)

  return counted, traces, params, batch


def test_second_call_with_new_values_and_lr_bounds_does_not_trace_again():
  loss_fn, traces, params, (x, y) = _counting_regression()
  kw = dict(num_steps=20, diverge_threshold=1e6)
  first = jaxsched.lr_find(loss_fn, params, (x, y), start_lr=1e-4, end_lr=0.3, **kw)
  count = len(traces)
  assert count >= 1
  new_params = jax.tree.map(lambda a: a * 0.5, params)
  second = jaxsched.lr_find(
    loss_fn, new_params, (x + 1.0, y * 2.0), start_lr=1e-3, end_lr=0.1, **kw
  )
  linear = jaxsched.lr_find(
    loss_fn, new_params, (x, y), start_lr=1e-3, end_lr=0.1, mode="linear", **kw
  )
  assert len(traces) == count
  # The new values were used: the curves are the Python loop's for them.
  np.testing.assert_allclose(
    second.losses,
    _loop_losses(
      loss_fn, new_params, [(x + 1.0, y * 2.0)] * 20, np.geomspace(1e-3, 0.1, 20), optax.sgd
    ),
    rtol=2e-5,
    atol=1e-7,
  )
  np.testing.assert_allclose(linear.lrs, np.linspace(1e-3, 0.1, 20), rtol=1e-12)
  assert not np.allclose(first.losses, second.losses)


def test_weakly_typed_inputs_do_not_trace_again():
  """``jnp.full(n, 2.0)`` is weakly typed, ``jnp.ones(n)`` is not: one program for both."""
  traces = []

  def loss_fn(w, batch):
    traces.append(1)  # runs only while JAX traces the function
    return jnp.sum((w * batch["x"]) ** 2) * batch["scale"]

  kw = dict(num_steps=20, diverge_threshold=1e6)
  jaxsched.lr_find(loss_fn, jnp.ones(3), {"x": jnp.ones(3), "scale": jnp.float32(1.0)}, **kw)
  count = len(traces)
  weak = jnp.full(3, 2.0)
  assert weak.weak_type and not jnp.ones(3).weak_type
  batch = {"x": jnp.full(3, 0.5), "scale": 2.0}  # and a Python number
  second = jaxsched.lr_find(loss_fn, weak, batch, **kw)
  assert len(traces) == count
  jaxsched.lr_find(loss_fn, np.ones(3), {"x": np.ones(3), "scale": np.float32(3.0)}, **kw)
  assert len(traces) == count
  # The new values were used: the Python loop's curve for them.
  lrs = np.geomspace(1e-7, 10.0, 20)
  want = _loop_losses(loss_fn, weak, [batch] * 20, lrs, optax.sgd)
  np.testing.assert_allclose(second.losses, want[: len(second.losses)], rtol=2e-5)


@pytest.mark.parametrize("num_trials", [1, 3])
def test_a_failed_range_test_raises_instead_of_suggesting(num_trials):
  loss = lambda w, x: jnp.sum((w * x) ** 2)
  kw = dict(num_steps=30, num_trials=num_trials)
  if num_trials > 1:
    kw["init_fn"] = lambda key: jnp.full(3, jnp.nan)
    params = None
  else:
    params = jnp.full(3, jnp.nan)
  which = "trial 0 of 3" if num_trials > 1 else "the range test"
  with pytest.raises(
    ValueError, match=rf"{which} failed, no learning rate to suggest: the loss at step 0 "
  ):
    jaxsched.lr_find(loss, params, jnp.ones(3), **kw)
  # Finite at step 0, diverged after the first update: start_lr is already too high.
  with pytest.raises(ValueError, match=r"diverged at step 1 .*lower start_lr"):
    jaxsched.lr_find(loss, jnp.ones(3), jnp.full(3, 100.0), start_lr=1.0, num_steps=30)
  # A range test that reaches step 2 still suggests.
  result = jaxsched.lr_find(loss, jnp.ones(3), jnp.ones(3), num_steps=30)
  assert result.stop_step >= 2 and np.isfinite(result.suggestion)


def test_trials_keys_and_chunks_do_not_trace_again():
  loss_fn, traces, _, _ = _counting_regression()
  init_fn = lambda key: {"w": jax.random.normal(key, (5, 4)) * 0.5, "v": jnp.ones(4) * 0.5}
  x = jnp.asarray(np.random.default_rng(0).normal(size=(24, 8, 5)), jnp.float32)
  data = (x, jnp.tanh(x.sum(-1)))
  kw = dict(num_steps=24, num_trials=3, init_fn=init_fn)
  jaxsched.lr_find(loss_fn, None, data, key=jax.random.key(1), **kw)
  count = len(traces)
  jaxsched.lr_find(loss_fn, None, (data[0] * 2, data[1]), key=jax.random.key(2), **kw)
  assert len(traces) == count
  # An iterator of batches, 4 chunks of 6 steps: one compiled chunk program for all chunks.
  batches = lambda: iter([(x[i], data[1][i]) for i in range(24)])
  jaxsched.lr_find(loss_fn, None, batches(), chunk_size=6, **kw)
  count = len(traces)
  jaxsched.lr_find(loss_fn, None, batches(), chunk_size=6, key=jax.random.key(5), **kw)
  assert len(traces) == count


def test_the_cache_does_not_keep_the_loss_function_alive():
  import gc  # pylint: disable=import-outside-toplevel
  import weakref  # pylint: disable=import-outside-toplevel

  loss_fn, _, params, batch = _counting_regression()
  jaxsched.lr_find(loss_fn, params, batch, num_steps=5)
  ref = weakref.ref(loss_fn)
  del loss_fn
  gc.collect()
  assert ref() is None


def test_bound_method_loss_is_compiled_once():

  class Problem:
    def __init__(self):
      self.traces = 0

    def loss(self, w, batch):
      self.traces += 1
      return 0.5 * jnp.sum(batch * w**2)

  problem = Problem()
  for end_lr in (1.0, 2.0):
    jaxsched.lr_find(problem.loss, jnp.ones(3), jnp.ones(3), num_steps=10, end_lr=end_lr)
  assert problem.traces == 1


# --- (i) sweep modes and the validation loss ---------------------------------------------


def test_linear_mode_matches_python_loop_over_linspace():
  loss_fn, params, batch = _regression(seed=5)
  result = jaxsched.lr_find(
    loss_fn,
    params,
    batch,
    start_lr=1e-3,
    end_lr=0.5,
    num_steps=30,
    mode="linear",
    diverge_threshold=1e6,
    optimizer=optax.adam,
  )
  lrs = np.linspace(1e-3, 0.5, 30)
  np.testing.assert_allclose(result.lrs, lrs, rtol=1e-12)
  assert result.mode == "linear"
  np.testing.assert_allclose(
    result.losses,
    _loop_losses(loss_fn, params, [batch] * 30, lrs, optax.adam),
    rtol=2e-5,
    atol=1e-7,
  )


@pytest.mark.parametrize("separate_eval_fn", [False, True])
def test_validation_loss_is_recorded_after_each_update(separate_eval_fn):
  loss_fn, params, batch = _regression(seed=6)
  _, _, val = _regression(seed=7)  # other examples
  eval_fn = (lambda p, b: 2.0 * loss_fn(p, b)) if separate_eval_fn else None
  reference_eval = eval_fn or loss_fn
  lrs = np.geomspace(1e-3, 0.3, 25)
  result = jaxsched.lr_find(
    loss_fn,
    params,
    batch,
    start_lr=1e-3,
    end_lr=0.3,
    num_steps=25,
    eval_fn=eval_fn,
    eval_data=val,
    diverge_threshold=1e6,
  )
  p, expected = params, []
  for lr in lrs:  # plain gradient descent, then the validation loss of the new params
    g = jax.grad(loss_fn)(p, batch)
    p = jax.tree.map(lambda a, b, lr=lr: a - jnp.float32(lr) * b, p, g)
    expected.append(float(reference_eval(p, val)))
  np.testing.assert_allclose(result.losses, expected, rtol=5e-5, atol=1e-7)


# --- (j) data from an iterator, a chunk at a time -----------------------------------------


def test_iterator_in_chunks_matches_stacked_data():
  loss_fn, params, _ = _regression()
  rng = np.random.default_rng(8)
  x = rng.normal(size=(30, 16, 5)).astype(np.float32)
  y = rng.normal(size=(30, 16)).astype(np.float32)
  kw = dict(start_lr=1e-3, end_lr=0.3, num_steps=30, diverge_threshold=1e6)
  stacked = jaxsched.lr_find(loss_fn, params, (x, y), **kw)
  for chunk_size in (7, 30):  # 7 does not divide 30: the last chunk is padded
    chunked = jaxsched.lr_find(
      loss_fn, params, iter([(x[i], y[i]) for i in range(30)]), chunk_size=chunk_size, **kw
    )
    np.testing.assert_allclose(chunked.losses, stacked.losses, rtol=1e-6, atol=1e-8)
    assert chunked.stop_step == 29


def test_iterator_stops_drawing_batches_once_diverged():
  drawn = []

  def batches():
    rng = np.random.default_rng(0)
    while True:
      drawn.append(1)
      yield rng.normal(size=3).astype(np.float32)

  loss = lambda w, b: 0.5 * jnp.sum((w - b) ** 2)  # noisy targets; GD diverges above lr = 2
  result = jaxsched.lr_find(
    loss, jnp.ones(3), batches(), start_lr=1e-2, end_lr=1e3, num_steps=1000, chunk_size=10
  )
  assert result.stop_step < 600  # of 1000 steps; lr = 2 is at step 460
  assert len(drawn) <= result.stop_step + 1 + 10  # at most the rest of the last chunk
  assert result.lrs[result.stop_step] > 1.0


def test_iterator_ending_early_raises_naming_num_steps():
  loss_fn, params, batch = _regression()
  with pytest.raises(ValueError, match="num_steps=20"):
    jaxsched.lr_find(loss_fn, params, iter([batch] * 12), num_steps=20, chunk_size=5)


# --- (k) several trials in one vmapped program ------------------------------------------------


def test_trials_are_independent_range_tests_from_their_inits():
  loss_fn, _, batch = _regression()

  def init_fn(key):
    k1, k2 = jax.random.split(key)
    return {"w": jax.random.normal(k1, (5, 4)) * 0.5, "v": jax.random.normal(k2, (4,)) * 0.5}

  key, num_trials = jax.random.key(3), 4
  kw = dict(start_lr=1e-4, end_lr=30.0, num_steps=60)
  result = jaxsched.lr_find(
    loss_fn, None, batch, init_fn=init_fn, num_trials=num_trials, key=key, **kw
  )
  assert result.num_trials == num_trials
  n = result.stop_step + 1
  chex.assert_shape([result.trial_losses, result.trial_smoothed_losses], (num_trials, n))
  chex.assert_shape([result.lrs, result.losses, result.smoothed_losses], (n,))
  assert result.stop_step == result.trial_stop_steps.max()
  # Trial k is the single range test from init_fn(split(split(key, K)[k])[0]).
  for k, trial_key in enumerate(jax.random.split(key, num_trials)):
    params = init_fn(jax.random.split(trial_key)[0])
    single = jaxsched.lr_find(loss_fn, params, batch, **kw)
    stop = result.trial_stop_steps[k]
    assert stop == single.stop_step
    # Up to the divergence, which amplifies the vmapped program's rounding differences.
    np.testing.assert_allclose(
      result.trial_losses[k, : stop - 5], single.losses[: stop - 5], rtol=1e-4, atol=1e-6
    )
    assert np.all(np.isnan(result.trial_losses[k, stop + 1 :]))
    for rule in ("valley", "steepest", "minimum"):
      np.testing.assert_allclose(
        result.trial_suggestions[rule][k], single.suggestions[rule], rtol=1e-6
      )
  # The median suggestion (on log LR) and the quartiles of the chosen rule.
  for rule, values in result.trial_suggestions.items():
    np.testing.assert_allclose(
      result.suggestions[rule], np.exp(np.median(np.log(values))), rtol=1e-12
    )
  low, high = result.suggestion_spread
  chosen = np.log(result.trial_suggestions["valley"])
  np.testing.assert_allclose([low, high], np.exp(np.quantile(chosen, [0.25, 0.75])), rtol=1e-12)
  assert low <= result.suggestion <= high
  with np.errstate(all="ignore"):
    np.testing.assert_allclose(result.losses[0], np.median(result.trial_losses[:, 0]))


def test_trials_take_the_batches_in_their_own_order():
  loss_fn, params, _ = _regression()
  rng = np.random.default_rng(9)
  num_steps, num_trials = 20, 3
  x = jnp.asarray(rng.normal(size=(num_steps, 16, 5)), jnp.float32)
  y = jnp.asarray(rng.normal(size=(num_steps, 16)), jnp.float32)
  key = jax.random.key(11)
  kw = dict(start_lr=1e-3, end_lr=0.3, num_steps=num_steps, diverge_threshold=1e6)
  result = jaxsched.lr_find(loss_fn, params, (x, y), num_trials=num_trials, key=key, **kw)
  lrs = np.geomspace(1e-3, 0.3, num_steps)
  orders = []
  for k, trial_key in enumerate(jax.random.split(key, num_trials)):
    order = np.asarray(
      jax.random.permutation(jax.random.fold_in(jax.random.split(trial_key)[1], 0), num_steps)
    )
    assert sorted(order) == list(range(num_steps))
    orders.append(tuple(order))
    expected = _loop_losses(loss_fn, params, [(x[i], y[i]) for i in order], lrs, optax.sgd)
    np.testing.assert_allclose(result.trial_losses[k], expected, rtol=1e-4, atol=1e-6)
  assert len(set(orders)) == num_trials


def test_single_trial_result_carries_its_curve_as_one_row():
  result = _noisy_sweep("steepest")
  assert result.num_trials == 1
  np.testing.assert_array_equal(result.trial_losses, result.losses[None])
  np.testing.assert_array_equal(result.trial_stop_steps, [result.stop_step])
  assert result.suggestion_spread == (result.suggestion, result.suggestion)


def test_trials_plot_writes_a_png_with_the_band(tmp_path):
  init_fn = lambda key: jax.random.uniform(key, (3,), minval=0.5, maxval=2.0)
  result = jaxsched.lr_find(
    _quadratic((0.5, 2.0, 10.0)),
    None,
    None,
    init_fn=init_fn,
    num_trials=5,
    start_lr=1e-5,
    end_lr=10.0,
    num_steps=60,
  )
  assert result.trial_losses.shape[0] == 5
  assert not np.allclose(result.trial_losses[0], result.trial_losses[1], equal_nan=True)
  path = result.plot(tmp_path / "trials.png")
  assert path.read_bytes()[:8] == PNG_SIGNATURE
  linear = jaxsched.lr_find(
    _quadratic((0.5, 2.0, 10.0)),
    jnp.ones(3),
    None,
    start_lr=1e-3,
    end_lr=1.0,
    num_steps=40,
    mode="linear",
  )
  assert linear.plot(tmp_path / "linear.png").read_bytes()[:8] == PNG_SIGNATURE


# --- (l) an NNX module as params -----------------------------------------------------------


class _NormClassifier(nnx.Module):
  def __init__(self, rngs: nnx.Rngs):
    self.hidden = nnx.Linear(2, 16, rngs=rngs)
    self.norm = nnx.BatchNorm(16, rngs=rngs)
    self.out = nnx.Linear(16, 2, rngs=rngs)

  def __call__(self, x_BxD):
    return self.out(nnx.relu(self.norm(self.hidden(x_BxD))))


def _classification_batch():
  rng = np.random.default_rng(0)
  x_BxD = rng.normal(size=(64, 2)).astype(np.float32)
  labels_B = (x_BxD @ np.array([1.0, -2.0]) > 0).astype(np.int32)
  return jnp.asarray(x_BxD), jnp.asarray(labels_B)


def _model_loss(model, batch):
  x, labels = batch
  return optax.softmax_cross_entropy_with_integer_labels(model(x), labels).mean()


@pytest.mark.parametrize("module", [_Classifier, _NormClassifier])
def test_nnx_module_matches_split_params_and_is_left_untouched(module):
  batch = _classification_batch()
  model = module(nnx.Rngs(0))
  before = jax.tree.map(np.array, nnx.state(model))
  kw = dict(start_lr=1e-4, end_lr=10.0, num_steps=40, optimizer=optax.adam)
  result = jaxsched.lr_find(_model_loss, model, batch, **kw)
  chex.assert_trees_all_equal(jax.tree.map(np.asarray, nnx.state(model)), before)

  # The same sweep written by hand: params trained, the rest (batch statistics) carried.
  graphdef, params, rest = nnx.split(model, nnx.Param, ...)
  tx = optax.inject_hyperparams(optax.adam)(learning_rate=1e-4)

  @jax.jit
  def step(params, rest, state, lr):
    def loss(p, r):
      m = nnx.merge(graphdef, p, r, copy=True)
      return _model_loss(m, batch), nnx.state(m, nnx.Not(nnx.Param))

    (value, rest), grads = jax.value_and_grad(loss, has_aux=True)(params, rest)
    state.hyperparams["learning_rate"] = lr
    updates, state = tx.update(grads, state, params)
    return optax.apply_updates(params, updates), rest, state, value

  state, expected = tx.init(params), []
  for lr in np.geomspace(1e-4, 10.0, 40)[: result.stop_step + 1]:
    params, rest, state, value = step(params, rest, state, jnp.float32(lr))
    expected.append(float(value))
  np.testing.assert_allclose(result.losses, expected, rtol=1e-4, atol=1e-6)


def test_nnx_init_fn_trials():
  batch = _classification_batch()
  init_fn = lambda key: _Classifier(nnx.Rngs(key))
  result = jaxsched.lr_find(
    _model_loss,
    None,
    batch,
    init_fn=init_fn,
    num_trials=3,
    start_lr=1e-4,
    end_lr=100.0,
    num_steps=50,
  )
  initial = [
    float(_model_loss(init_fn(jax.random.split(k)[0]), batch))
    for k in jax.random.split(jax.random.key(0), 3)
  ]
  np.testing.assert_allclose(result.trial_losses[:, 0], initial, rtol=1e-5)
  assert len(set(initial)) == 3


# --- (m) batches sharded over a mesh ---------------------------------------------------------


def test_one_device_mesh_gives_the_same_sweep():
  loss_fn, params, batch = _regression()
  mesh = jax.sharding.Mesh(np.array(jax.devices()[:1]), ("data",))
  kw = dict(start_lr=1e-3, end_lr=0.3, num_steps=20, diverge_threshold=1e6)
  plain = jaxsched.lr_find(loss_fn, params, batch, **kw)
  sharded = jaxsched.lr_find(loss_fn, params, batch, mesh=mesh, **kw)
  np.testing.assert_allclose(sharded.losses, plain.losses, rtol=1e-6)
  with pytest.raises(ValueError, match="data_axis='batch'"):
    jaxsched.lr_find(loss_fn, params, batch, mesh=mesh, data_axis="batch", **kw)


_TWO_DEVICES = """
import jax, jax.numpy as jnp, numpy as np, jaxsched
assert len(jax.devices()) == 2
mesh = jax.sharding.Mesh(np.array(jax.devices()), ("data",))
rng = np.random.default_rng(0)
x = jnp.asarray(rng.normal(size=(12, 8, 5)), jnp.float32)
y = jnp.asarray(rng.normal(size=(12, 8)), jnp.float32)
loss = lambda w, b: jnp.mean((b[0] @ w - b[1]) ** 2)
kw = dict(start_lr=1e-3, end_lr=0.3, num_steps=12, diverge_threshold=1e6)
plain = jaxsched.lr_find(loss, jnp.ones(5), (x, y), **kw)
sharded = jaxsched.lr_find(loss, jnp.ones(5), (x, y), mesh=mesh, **kw)
trials = jaxsched.lr_find(loss, jnp.ones(5), iter(zip(x, y)), mesh=mesh, num_trials=2,
                          chunk_size=4, **kw)
np.testing.assert_allclose(sharded.losses, plain.losses, rtol=1e-5)
assert trials.trial_losses.shape == (2, 12)
try:
  jaxsched.lr_find(loss, jnp.ones(5), (x[:, :7], y[:, :7]), mesh=mesh, **kw)
except ValueError as e:
  assert "divisible by mesh.shape['data']=2" in str(e), e
else:
  raise AssertionError("no error for 7 examples on 2 devices")
print("ok")
"""


def test_two_host_devices_split_the_batch():
  import os  # pylint: disable=import-outside-toplevel
  import pathlib  # pylint: disable=import-outside-toplevel
  import subprocess  # pylint: disable=import-outside-toplevel
  import sys  # pylint: disable=import-outside-toplevel

  root = pathlib.Path(__file__).resolve().parents[1]
  env = {
    **os.environ,
    "XLA_FLAGS": "--xla_force_host_platform_device_count=2",
    "JAX_PLATFORMS": "cpu",
    "PYTHONPATH": str(root),
  }
  proc = subprocess.run(
    [sys.executable, "-c", _TWO_DEVICES],
    env=env,
    capture_output=True,
    text=True,
    timeout=300,
    check=False,
  )
  assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-3000:]


# --- (n) the valley rule is fastai's double loop ------------------------------------------


def _fastai_valley(lrs, losses):
  n = len(losses)
  max_start, max_end = 0, 0
  lds = [1] * n
  for i in range(1, n):
    for j in range(0, i):
      if losses[i] < losses[j] and lds[i] < lds[j] + 1:
        lds[i] = lds[j] + 1
      if lds[max_end] < lds[i]:
        max_end = i
        max_start = max_end - lds[max_end]
  sections = (max_end - max_start) / 3
  idx = max_start + int(sections) + int(sections / 2)
  return lrs[idx]


@pytest.mark.parametrize("seed", range(6))
def test_valley_matches_fastai_loop(seed):
  from jaxsched.tools import _finder  # pylint: disable=import-outside-toplevel

  rng = np.random.default_rng(seed)
  n = 60
  lrs = np.geomspace(1e-5, 1.0, n)
  losses = np.cos(np.linspace(0, 3, n)) + 0.3 * rng.normal(size=n)
  assert _finder._valley(lrs, losses) == _fastai_valley(lrs, losses)


# --- (o) bad arguments of the new options -------------------------------------------------


@pytest.mark.parametrize(
  "kwargs, match",
  [
    (dict(mode="cosine"), "lr_find: mode='cosine' must be one of 'exponential', 'linear'"),
    (dict(num_trials=0), r"lr_find: num_trials=0 must be an integer number of trials in \[1,"),
    (dict(num_trials=2.5), "lr_find: num_trials=2.5"),
    (dict(num_trials=2), "lr_find: num_trials=2 trials would all be the same"),
    (dict(chunk_size=4), "lr_find: chunk_size=4 is for data given as an iterator"),
    (dict(eval_fn=lambda p, b: 0.0), "lr_find: eval_fn needs eval_data"),
    (dict(eval_fn=3, eval_data=1.0), "lr_find: eval_fn=3 must be callable"),
    (dict(init_fn=lambda k: jnp.ones(1)), "lr_find: give params or init_fn"),
    (dict(key=3), "lr_find: key=3 must be a PRNG key"),
    (dict(mesh="data"), "lr_find: mesh='data' must be a jax.sharding.Mesh"),
  ],
)
def test_bad_new_arguments_raise_naming_the_argument(kwargs, match):
  with pytest.raises(ValueError, match=match):
    jaxsched.lr_find(_quadratic((1.0,)), jnp.ones(1), None, **kwargs)


@pytest.mark.parametrize("chunk_size", [0, 11])
def test_bad_chunk_size_raises(chunk_size):
  with pytest.raises(ValueError, match=f"lr_find: chunk_size={chunk_size}"):
    jaxsched.lr_find(
      _quadratic((1.0,)), jnp.ones(1), iter([None] * 10), num_steps=10, chunk_size=chunk_size
    )


def test_params_none_without_init_fn_raises():
  with pytest.raises(ValueError, match="lr_find: params=None needs init_fn"):
    jaxsched.lr_find(_quadratic((1.0,)), None, None)
