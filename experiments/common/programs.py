"""A group's compiled programs: initialize its runs, train a chunk of steps in ``lax.scan``,
evaluate.

:func:`compile_group` is the one entry point: the engine's training loop and the
benchmarks call it. Each program builds the run's optimizer once from the
group's (traced) numbers (:func:`experiments.common.optim.make`).
"""

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from experiments.common import optim
from experiments.common import sharding
from experiments.common.groups import Group

EXECUTIONS = ("vmap", "map")  # how one call treats its runs (the engine adds "sequential")


class TrainState(NamedTuple):
  """One run's state; a group's has a leading run axis."""

  params: Any
  model_state: Any  # the model's non-Param variables
  opt_state: Any
  step: jax.Array  # shape=(), int32: updates applied
  metric: jax.Array  # shape=(), float32: the last evaluated adaptive metric
  metric_pending: jax.Array  # shape=(), bool: not yet observed by the optimizer
  diverged_at: jax.Array  # shape=(), int32: updates after which it diverged, -1 if healthy


class Programs(NamedTuple):
  """A group's jitted functions, each over its runs (vmapped, or ``lax.map``ped)."""

  init: Callable  # (seeds, numbers) -> TrainState
  chunk: Callable  # (state, numbers, batches, eval_data) -> (state, metrics): train, evaluate
  train: Callable  # (state, numbers, batches) -> (state, per-step losses): the scan alone


def _select(keep_new: jax.Array, new: Any, old: Any) -> Any:
  return jax.tree.map(lambda a, b: jnp.where(keep_new, a, b), new, old)


def _over_runs(fn: Callable, execution: str) -> Callable:
  """``fn`` of one run applied to every run of stacked arguments: vmapped, or one by one."""
  if execution == "map":
    return lambda *args: jax.lax.map(lambda one: fn(*one), args)
  return jax.vmap(fn)


def compile_group(study, group: Group, mesh, execution: str = "vmap") -> Programs:
  """The group's jitted programs; the numbers in ``group.numbers`` are traced.

  Args:
    study: the study (``experiments.common.engine.Study``).
    group: the runs.
    mesh: the device mesh. Call the programs (and this) inside
      ``jax.set_mesh(mesh)``: a parameter annotated with mesh axes is created
      sharded over them. On a CPU mesh the programs compile with the study's
      ``cpu_compiler_options``.
    execution: ``"vmap"`` (the runs batched together) or ``"map"`` (one
      after another, in one call).
  """
  if execution not in EXECUTIONS:
    raise ValueError(f"compile_group: execution={execution!r} must be one of {EXECUTIONS}")
  config = group.config
  on_cpu = all(d.platform == "cpu" for d in mesh.devices.flat)
  options = dict(study.cpu_compiler_options or {}) if on_cpu else None
  graphdef = nnx.split(nnx.eval_shape(lambda: study.init_model(config, nnx.Rngs(0))))[0]
  observes_train_loss = group.metric == optim.TRAIN_LOSS
  observes_evaluation = group.metric not in (None, optim.TRAIN_LOSS)

  def init_one(seed, numbers):
    init_key, _ = jax.random.split(jax.random.PRNGKey(seed))
    model = study.init_model(config, nnx.Rngs(init_key))
    _, params, model_state = nnx.split(model, nnx.Param, ...)
    return TrainState(
      params,
      model_state,
      optim.make(group.setup, numbers).tx.init(params),
      jnp.zeros((), jnp.int32),
      jnp.zeros((), jnp.float32),
      jnp.zeros((), bool),
      jnp.full((), -1, jnp.int32),
    )

  def scan_steps(opt: optim.Optimizer, state: TrainState, batches):
    def loss_of(params, model_state, batch):
      # Fresh variables at this trace level, so loss_fn may update the non-Param state.
      model = nnx.merge(graphdef, params, jax.tree.map(jnp.asarray, model_state))
      loss, aux = study.loss_fn(model, batch)
      return loss, (aux or {}, nnx.state(model, nnx.Not(nnx.Param)))

    def step(state, batch):
      (loss, (aux, model_state)), grads = jax.value_and_grad(loss_of, has_aux=True)(
        state.params, state.model_state, batch
      )
      extra = {}
      if observes_train_loss:
        extra = {"value": loss}
      elif observes_evaluation:
        extra = {"value": state.metric, "observe": state.metric_pending}
      updates, opt_state = opt.tx.update(grads, state.opt_state, state.params, **extra)
      params = optax.apply_updates(state.params, updates)
      grad_norm = optax.tree.norm(grads)
      finite = jnp.isfinite(loss) & jnp.isfinite(grad_norm) & jnp.isfinite(optax.tree.norm(params))
      healthy = state.diverged_at < 0
      new = state._replace(
        params=params,
        model_state=model_state,
        opt_state=opt_state,
        metric_pending=jnp.zeros((), bool),
      )
      new = _select(finite & healthy, new, state)
      new = new._replace(
        step=state.step + 1, diverged_at=jnp.where(healthy & ~finite, state.step, state.diverged_at)
      )
      return new, {
        "batch_loss": loss,
        "grad_norm": grad_norm,
        "update_norm": optax.tree.norm(updates),
        **aux,
      }

    return jax.lax.scan(step, state, batches)

  def train_one(state, numbers, batches):
    return scan_steps(optim.make(group.setup, numbers), state, batches)

  def chunk_one(state, numbers, batches, eval_data):
    opt = optim.make(group.setup, numbers)
    state, per_step = scan_steps(opt, state, batches)
    model = nnx.merge(graphdef, state.params, state.model_state)
    evaluated = dict(study.evaluate(model, eval_data))
    if observes_evaluation:
      if group.metric not in evaluated:
        raise ValueError(
          f"the optimizer's adaptive metric {group.metric!r} is not one the "
          f"study evaluates: {', '.join(sorted(evaluated))} or train_loss"
        )
      state = state._replace(
        metric=evaluated[group.metric].astype(jnp.float32), metric_pending=jnp.ones((), bool)
      )
    metrics = {
      **evaluated,
      **{k: jnp.mean(v) for k, v in per_step.items()},
      "grad_norm": per_step["grad_norm"][-1],
      "update_norm": per_step["update_norm"][-1],
      "lr": optim.learning_rate_of(opt, state.opt_state),
      "param_norm": optax.tree.norm(state.params),
      "diverged_at": state.diverged_at,
    }
    return state, metrics

  return Programs(
    jax.jit(_over_runs(init_one, execution), compiler_options=options),
    jax.jit(
      sharding.replicate_outputs(_over_runs(chunk_one, execution), mesh), compiler_options=options
    ),
    jax.jit(_over_runs(train_one, execution), compiler_options=options),
  )
