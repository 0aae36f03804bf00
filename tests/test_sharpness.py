"""Preconditioned sharpness: the Lanczos estimate against the eigenvalues of the explicit
preconditioned Hessian (the largest, also where the most negative one dominates), Adam's
preconditioner against its update formula, the engine's `sharpness` metric on a toy study."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import toy_study  # tests/ is on the path (pytest rootdir conftest)
from flax import nnx
from jax.flatten_util import ravel_pytree

from experiments.common import config as config_lib
from experiments.common import engine
from experiments.common import optim
from experiments.common import sharding
from experiments.common import sharpness
from experiments.common.programs import compile_group


def _mlp_loss():
  """A 2-4-1 tanh network's squared error on 6 fixed points, and its parameters."""
  rng = np.random.default_rng(0)
  x = jnp.asarray(rng.normal(size=(6, 2)), jnp.float32)
  y = jnp.asarray(rng.normal(size=(6,)), jnp.float32)
  params = {
    "w1": jnp.asarray(rng.normal(size=(2, 4)), jnp.float32),
    "w2": jnp.asarray(rng.normal(size=(4,)), jnp.float32),
  }
  loss = lambda p: jnp.mean((jnp.tanh(x @ p["w1"]) @ p["w2"] - y) ** 2)
  return loss, params


def _explicit(loss, params, diag):
  """Eigenvalues of P^-1 H (not symmetric) and of P^-1/2 H P^-1/2, from the full Hessian in
  float64."""
  flat, unravel = ravel_pytree(params)
  hessian = np.asarray(jax.jit(jax.hessian(lambda f: loss(unravel(f))))(flat), np.float64)
  p = np.asarray(ravel_pytree(diag)[0], np.float64)
  return np.linalg.eigvals(hessian / p[:, None]), np.linalg.eigvalsh(
    hessian / np.sqrt(np.outer(p, p))
  )


def _largest(eigenvalues):
  return float(np.max(np.real(eigenvalues)))


def test_lanczos_matches_the_explicit_preconditioned_hessian():
  loss, params = _mlp_loss()
  diag = jax.tree.map(
    lambda p: jnp.asarray(np.random.default_rng(1).uniform(0.05, 2.0, p.shape), jnp.float32),
    params,
  )
  general, symmetric = _explicit(loss, params, diag)
  np.testing.assert_allclose(np.sort(np.real(general)), symmetric, rtol=1e-6, atol=1e-9)
  estimate = jax.jit(
    lambda p, d: sharpness.preconditioned_sharpness(loss, p, d, 300, jax.random.PRNGKey(0))
  )
  np.testing.assert_allclose(float(estimate(params, diag)), _largest(symmetric), rtol=1e-4)
  plain = estimate(params, None)
  _, unconditioned = _explicit(loss, params, jax.tree.map(jnp.ones_like, params))
  np.testing.assert_allclose(float(plain), _largest(unconditioned), rtol=1e-4)


def _quadratic(eigenvalues, seed=0):
  """``x -> x.A x / 2`` with a symmetric ``A`` of the given eigenvalues in a random basis."""
  rng = np.random.default_rng(seed)
  basis, _ = np.linalg.qr(rng.normal(size=(len(eigenvalues), len(eigenvalues))))
  a = jnp.asarray(basis @ np.diag(eigenvalues) @ basis.T, jnp.float32)
  return lambda p: 0.5 * p["x"] @ a @ p["x"], {"x": jnp.zeros(len(eigenvalues), jnp.float32)}


@pytest.mark.parametrize(
  "eigenvalues",
  [
    [-480.0, -30.0, 5.0, 3.0, 1.0, 0.5],  # the most negative dominates: power iteration's -480
    [-2.0, -1.5, -1.0, -0.5],  # every one negative: the largest is -0.5
    [10.0, 9.9, 9.8, 1.0, -9.0],  # close at the top
  ],
)
def test_the_estimate_is_the_largest_eigenvalue_not_the_largest_magnitude(eigenvalues):
  loss, params = _quadratic(eigenvalues)
  got = sharpness.preconditioned_sharpness(loss, params, None, 50, jax.random.PRNGKey(1))
  np.testing.assert_allclose(float(got), max(eigenvalues), rtol=1e-4, atol=1e-5)


def test_few_iterations_give_a_lower_bound_that_grows_to_the_largest_eigenvalue():
  eigenvalues = np.linspace(-600.0, 40.0, 400)  # indefinite, the negative end dominating
  loss, params = _quadratic(list(eigenvalues), seed=2)
  estimates = [
    float(sharpness.preconditioned_sharpness(loss, params, None, k, jax.random.PRNGKey(3)))
    for k in (5, 20, 60)
  ]
  assert all(e <= 40.0 * (1 + 1e-5) for e in estimates), estimates
  assert estimates[0] <= estimates[1] + 1e-3 <= estimates[2] + 2e-3, estimates
  assert estimates[-1] == pytest.approx(40.0, rel=1e-3)


def test_adam_preconditioner_follows_the_update_formula():
  loss, params = _mlp_loss()
  b2, eps = 0.95, 1e-8
  tx = optax.chain(optax.clip_by_global_norm(1.0), optax.adamw(1e-2, b1=0.9, b2=b2, eps=eps))
  state, grads_seen = tx.init(params), []
  for _ in range(3):
    grads = jax.grad(loss)(params)
    grads_seen.append(optax.clip_by_global_norm(1.0).update(grads, None)[0])
    updates, state = tx.update(grads, state, params)
    params = optax.apply_updates(params, updates)
  got = sharpness.adam_preconditioner(state, b2, eps)
  for name in ("w1", "w2"):
    squares = [np.asarray(g[name], np.float64) ** 2 for g in grads_seen]
    nu = sum((1 - b2) * b2 ** (2 - i) * s for i, s in enumerate(squares))
    np.testing.assert_allclose(
      np.asarray(got[name]), np.sqrt(nu / (1 - b2**3)) + eps, rtol=1e-5, err_msg=name
    )
  with pytest.raises(ValueError, match="no ScaleByAdamState"):
    sharpness.adam_preconditioner(optax.sgd(0.1).init(params), b2, eps)


def test_adam_threshold_is_38_over_eta_at_beta1_0_9():
  assert sharpness.adam_threshold(0.9, 0.01) == pytest.approx(3800.0)
  assert sharpness.adam_threshold(0.0, 0.5) == pytest.approx(4.0)  # 2/eta: gradient descent


def _toy(iters: int) -> config_lib.Config:
  return config_lib.replace(
    toy_study.config(),
    {
      "sharpness_iters": iters,
      "optimizer": ({"type": "adamw", "b2": 0.95, "weight_decay": 0.0},),
      "total_steps": 10,
      "eval_every": 10,
    },
  )


def test_the_engine_logs_the_preconditioned_sharpness_of_its_state():
  config = _toy(200)
  mesh = sharding.make_mesh()
  with jax.set_mesh(mesh):
    (group,) = engine.group_runs(config)
    programs = compile_group(toy_study.STUDY, group, mesh)
    numbers = jax.tree.map(jnp.asarray, group.numbers)
    state = programs.init(jnp.zeros((1,), jnp.uint32), numbers)
    host = toy_study.batches(config, group.runs[0], 0, config.eval_every)
    batches = jax.tree.map(lambda x: jnp.asarray(x)[None], host)
    data = jax.tree.map(lambda x: jnp.asarray(x)[None], toy_study.STUDY.eval_data(config, None))
    state, metrics = programs.chunk(state, numbers, batches, data)
    graphdef = nnx.split(nnx.eval_shape(lambda: toy_study.Net(nnx.Rngs(0))))[0]
  one = jax.tree.map(lambda x: x[0], state)
  last = {k: v[-1] for k, v in host.items()}
  loss = lambda p: toy_study.loss_fn(nnx.merge(graphdef, p), last)[0]
  diag = optim.preconditioner(group.setup, optim.numbers(group.setup), one.opt_state)
  _, symmetric = _explicit(loss, one.params, diag)
  np.testing.assert_allclose(float(metrics["sharpness"][0]), _largest(symmetric), rtol=1e-3)


def test_sharpness_is_absent_unless_asked_and_leaves_training_unchanged(tmp_path):
  without = engine.train_and_evaluate(toy_study.STUDY, _toy(0), tmp_path / "a", progress=False)
  with_it = engine.train_and_evaluate(toy_study.STUDY, _toy(5), tmp_path / "b", progress=False)
  assert "final_sharpness" not in without[0] and with_it[0]["final_sharpness"] is not None
  for key, value in without[0].items():
    if key.startswith("final_"):
      assert with_it[0][key] == value, key


def test_negative_sharpness_iters_is_rejected():
  with pytest.raises(ValueError, match="sharpness_iters=-1 must be >= 0"):
    config_lib.validate(config_lib.replace(toy_study.config(), {"sharpness_iters": -1}))
