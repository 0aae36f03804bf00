"""Resuming from an Orbax checkpoint continues training bit for bit.

For an optimizer state holding each adaptive transformation (chained with
Adam and a closed-form schedule) a tiny linear regression is trained ``2N``
steps straight, and again ``N`` steps, saved with ``ocp.CheckpointManager``,
restored into a fresh set-up (new transformation objects, a new manager, an
abstract target from ``jax.eval_shape``) and trained ``N`` more steps. The two
runs must end with bit-identical parameters and optimizer states, restore the
Optax and jaxsched NamedTuple types (not the dicts Orbax gives without a
target) and log the same learning rate at every step.

The reference is the uninterrupted run of the same program, so nothing here
trusts jaxsched's numbers; what is tested is that the state is a complete,
serialisable description of the run. Each test also checks that the adaptive
state really moved before and after the checkpoint, and that continuing with
that state reset gives other parameters, so a lost or mangled adaptive state
cannot pass.

The Orbax calls (orbax-checkpoint 0.12.8) are all in `_save` and `_restore`.
"""

import pathlib
from typing import Any, Callable, NamedTuple

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import orbax.checkpoint as ocp
import pytest

import jaxsched

N = 25  # steps before the checkpoint, and again after it
FEATURES, EXAMPLES, BATCH = 4, 64, 8

_rng = np.random.default_rng(0)
X = _rng.normal(size=(EXAMPLES, FEATURES)).astype(np.float32)
# Label noise puts a floor under the loss: the minibatch loss first falls,
# then plateaus and jitters, which is what moves the adaptive states.
Y = (X @ _rng.normal(size=FEATURES) + 0.5 * _rng.normal(size=EXAMPLES)).astype(np.float32)
# Minibatch indices for every step, fixed in advance: step t always sees the
# same batch, whether the run was interrupted or not.
BATCHES = _rng.integers(0, EXAMPLES, size=(2 * N, BATCH)).astype(np.int32)

# Small patience and windows, so that each state changes within N steps.
ADAPTIVE = {
  "reduce_on_plateau": (
    jaxsched.ReduceOnPlateauState,
    "plateau_scale",
    lambda: jaxsched.reduce_on_plateau(factor=0.7, patience=3, cooldown=2),
  ),
  "adaptive_step_decay": (
    jaxsched.AdaptiveStepDecayState,
    "step_decay_scale",
    lambda: jaxsched.adaptive_step_decay(
      decay_factor=0.7, patience=4, min_improvement=0.0, cooldown=3
    ),
  ),
  "phase_transition": (
    jaxsched.PhaseTransitionState,
    "transition_scale",
    lambda: jaxsched.phase_transition(
      detection_window=6,
      cv_window=4,
      cv_threshold=0.05,
      boost_factor=2.0,
      boost_steps=3,
      decay_rate=0.8,
    ),
  ),
}


class Setup(NamedTuple):
  """What a training process builds before it trains or resumes."""

  tx: optax.GradientTransformationExtraArgs
  schedule: optax.Schedule
  step: Callable[..., Any]  # jitted (params, opt_state, batch) -> (params, opt_state, lr)


def _init_params(seed: int = 0) -> dict:
  key_w, key_b = jax.random.split(jax.random.key(seed))
  return {"w": jax.random.normal(key_w, (FEATURES,)), "b": jax.random.normal(key_b, ())}


def _loss(params, batch):
  x, y = jnp.take(jnp.asarray(X), batch, axis=0), jnp.take(jnp.asarray(Y), batch)
  return jnp.mean((x @ params["w"] + params["b"] - y) ** 2)


def _train_step(tx, schedule):
  def step(params, opt_state, batch):
    loss, grads = jax.value_and_grad(_loss)(params, batch)
    updates, opt_state = tx.update(grads, opt_state, params, value=loss)
    # The rate of the next update, read from the state's count (the style
    # guide's rule for logging the LR), with the adaptive scale folded in.
    lr = jaxsched.current_learning_rate(opt_state, schedule)
    return optax.apply_updates(params, updates), opt_state, lr

  return step


def _setup(*adaptive: optax.GradientTransformationExtraArgs, batched: bool = False) -> Setup:
  """A new optimizer, built from scratch as a new process would build it."""
  schedule = jaxsched.warmup_cosine(
    peak_value=0.1, warmup_steps=5, total_steps=2 * N, end_value=0.01
  )
  tx = optax.chain(
    optax.scale_by_adam(), optax.scale_by_schedule(schedule), *adaptive, optax.scale(-1.0)
  )
  step = _train_step(tx, schedule)
  if batched:
    step = jax.vmap(step, in_axes=(0, 0, None))
  return Setup(tx, schedule, jax.jit(step))


def _train(setup: Setup, params, opt_state, steps: range, states: list | None = None):
  """Runs ``steps``; returns params, state and the logged rates (each state goes to ``states``)."""
  lrs = []
  for t in steps:
    params, opt_state, lr = setup.step(params, opt_state, BATCHES[t])
    lrs.append(np.asarray(lr))
    if states is not None:
      states.append(opt_state)
  return params, opt_state, np.stack(lrs)


def _save(directory: pathlib.Path, step: int, params, opt_state) -> None:
  options = ocp.CheckpointManagerOptions(enable_async_checkpointing=True, create=True)
  with ocp.CheckpointManager(directory, options=options) as manager:
    manager.save(
      step,
      args=ocp.args.Composite(
        params=ocp.args.StandardSave(params), opt_state=ocp.args.StandardSave(opt_state)
      ),
    )
    manager.wait_until_finished()


def _restore(directory: pathlib.Path, abstract_params, abstract_opt_state):
  """The latest step and its (params, opt_state), shaped like the abstract targets."""
  with ocp.CheckpointManager(directory) as manager:
    step = manager.latest_step()
    restored = manager.restore(
      step,
      args=ocp.args.Composite(
        params=ocp.args.StandardRestore(abstract_params),
        opt_state=ocp.args.StandardRestore(abstract_opt_state),
      ),
    )
  return step, restored["params"], restored["opt_state"]


def _nodes(tree, state_type) -> list:
  """Every node of type ``state_type`` in ``tree``."""
  is_node = lambda x: isinstance(x, state_type)
  return [x for x in jax.tree.leaves(tree, is_leaf=is_node) if is_node(x)]


def _reset(tree, state_type, fresh):
  """``tree`` with every ``state_type`` node replaced by ``fresh``."""
  is_node = lambda x: isinstance(x, state_type)
  return jax.tree.map(lambda x: fresh if is_node(x) else x, tree, is_leaf=is_node)


def _assert_same_types(restored, expected):
  """Same tree structure (NamedTuple classes included) and the same leaf dtypes and shapes."""
  # The treedef holds the node types: a dict where Optax has a NamedTuple
  # (what Orbax gives back without a target) makes it differ.
  assert jax.tree.structure(restored) == jax.tree.structure(expected)
  chex.assert_trees_all_equal_shapes_and_dtypes(restored, expected)
  for leaf in jax.tree.leaves(restored):
    assert isinstance(leaf, jax.Array), type(leaf)


@pytest.mark.parametrize("name", list(ADAPTIVE))
def test_resume_is_bit_identical(name, tmp_path):
  state_type, scale_field, make = ADAPTIVE[name]

  # First process: the reference run of 2N steps without interruption and,
  # with the same compiled step, N steps and a checkpoint at step N.
  first = _setup(make())
  params0 = _init_params()
  history = []
  params_2n, state_2n, lrs_2n = _train(
    first, params0, first.tx.init(params0), range(2 * N), history
  )
  params_n, state_n, lrs_first = _train(first, params0, first.tx.init(params0), range(N))
  _save(tmp_path / "ckpt", N, params_n, state_n)
  del first

  # Second process: new objects, abstract targets only, restore, N more steps.
  second = _setup(make())
  abstract_params = jax.eval_shape(_init_params)
  abstract_state = jax.eval_shape(second.tx.init, abstract_params)
  step, params, state = _restore(tmp_path / "ckpt", abstract_params, abstract_state)
  assert step == N
  _assert_same_types(params, params_n)
  _assert_same_types(state, state_n)
  (adam,) = _nodes(state, optax.ScaleByAdamState)
  (adaptive,) = _nodes(state, state_type)
  assert type(adaptive) is state_type
  chex.assert_trees_all_equal(adam.count, jnp.asarray(N, jnp.int32))
  chex.assert_trees_all_equal(params, params_n)
  chex.assert_trees_all_equal(state, state_n)
  params, state, lrs_second = _train(second, params, state, range(N, 2 * N))

  chex.assert_trees_all_equal(params, params_2n)
  chex.assert_trees_all_equal(state, state_2n)
  np.testing.assert_array_equal(np.concatenate([lrs_first, lrs_second]), lrs_2n)

  # The test has teeth: the adaptive scale moved before the checkpoint and
  # after it (so the restored state decides the continuation) ...
  scale_log = np.array([getattr(_nodes(s, state_type)[0], scale_field) for s in history])
  assert len(np.unique(scale_log[:N])) >= 2, scale_log
  assert np.any(scale_log[N:] != scale_log[N - 1]), scale_log
  # ... and resuming with the adaptive state reset to its init ends elsewhere.
  lost = _reset(state_n, state_type, make().init(params_n))
  params_lost, _, lrs_lost = _train(second, params_n, lost, range(N, 2 * N))
  assert not np.array_equal(lrs_lost, lrs_2n[N:])
  assert not np.array_equal(np.asarray(params_lost["w"]), np.asarray(params_2n["w"]))


def test_batched_state_round_trip(tmp_path):
  """A vmapped state (one run per init seed, all three transforms) resumes bit for bit."""
  members = 3
  make_all = lambda: [make() for _, _, make in ADAPTIVE.values()]
  init_batch = lambda: jax.vmap(_init_params)(jnp.arange(members))

  first = _setup(*make_all(), batched=True)
  params0 = init_batch()
  init = jax.jit(jax.vmap(first.tx.init))
  params_2n, state_2n, lrs_2n = _train(first, params0, init(params0), range(2 * N))
  params_n, state_n, lrs_first = _train(first, params0, init(params0), range(N))
  chex.assert_tree_shape_prefix(state_n, (members,))
  _save(tmp_path / "ckpt", N, params_n, state_n)

  second = _setup(*make_all(), batched=True)
  abstract_params = jax.eval_shape(init_batch)
  abstract_state = jax.eval_shape(jax.vmap(second.tx.init), abstract_params)
  step, params, state = _restore(tmp_path / "ckpt", abstract_params, abstract_state)
  assert step == N
  _assert_same_types(state, state_n)
  for state_type, _, _ in ADAPTIVE.values():
    (node,) = _nodes(state, state_type)
    assert type(node) is state_type
  chex.assert_tree_shape_prefix(state, (members,))
  chex.assert_trees_all_equal(params, params_n)
  chex.assert_trees_all_equal(state, state_n)
  # The members' adaptive states differ, so the batch axis carries information.
  (history,) = [n.transition_history for n in _nodes(state, jaxsched.PhaseTransitionState)]
  assert len({tuple(row) for row in np.asarray(history).tolist()}) == members

  params, state, lrs_second = _train(second, params, state, range(N, 2 * N))
  chex.assert_trees_all_equal(params, params_2n)
  chex.assert_trees_all_equal(state, state_2n)
  np.testing.assert_array_equal(np.concatenate([lrs_first, lrs_second]), lrs_2n)
