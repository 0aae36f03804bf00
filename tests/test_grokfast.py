"""grokfast_ema against a plain-Python transcription of the reference gradfilter_ema."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxsched


def _reference(grads_per_step, alpha, lamb):
  """Lee et al.'s gradfilter_ema on a list of {name: array}: the EMA starts from g_0."""
  ema, out = None, []
  for grads in grads_per_step:
    if ema is None:
      ema = {k: v.copy() for k, v in grads.items()}
    for k in grads:
      ema[k] = ema[k] * alpha + grads[k] * (1 - alpha)
    out.append({k: grads[k] + ema[k] * lamb for k in grads})
  return out


@pytest.mark.parametrize("alpha,lamb", [(0.98, 2.0), (0.5, 0.1), (0.0, 1.0)])
def test_matches_reference_filter(alpha, lamb):
  rng = np.random.default_rng(0)
  grads = [
    {"w": rng.normal(size=(3, 2)).astype(np.float32), "b": rng.normal(size=(2,)).astype(np.float32)}
    for _ in range(20)
  ]
  expected = _reference(grads, alpha, lamb)
  tx = jaxsched.grokfast_ema(alpha=alpha, lamb=lamb)
  state = tx.init(jax.tree.map(jnp.zeros_like, grads[0]))
  update = jax.jit(tx.update)
  for g, want in zip(grads, expected):
    got, state = update(jax.tree.map(jnp.asarray, g), state)
    chex.assert_trees_all_close(got, want, rtol=1e-5, atol=1e-6)
  assert int(state.grokfast_count) == 20


def test_chains_before_adamw_and_changes_the_trajectory():
  params = jnp.ones(4)
  loss = lambda w: jnp.sum((w - jnp.arange(4.0)) ** 2)

  def run(tx):
    state, w = tx.init(params), params
    for _ in range(10):
      u, state = tx.update(jax.grad(loss)(w), state, w)
      w = optax.apply_updates(w, u)
    return w

  plain = run(optax.adamw(1e-2, weight_decay=1.0))
  filtered = run(optax.chain(jaxsched.grokfast_ema(), optax.adamw(1e-2, weight_decay=1.0)))
  same = run(optax.chain(jaxsched.grokfast_ema(lamb=0.0), optax.adamw(1e-2, weight_decay=1.0)))
  chex.assert_trees_all_close(same, plain)
  assert not np.allclose(filtered, plain)


@pytest.mark.parametrize(
  "kwargs,name", [({"alpha": 1.0}, "alpha"), ({"alpha": -0.1}, "alpha"), ({"lamb": -1.0}, "lamb")]
)
def test_bad_input(kwargs, name):
  with pytest.raises(ValueError, match=name):
    jaxsched.grokfast_ema(**kwargs)
