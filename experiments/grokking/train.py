"""Training for the grokking study: vmapped runs, scanned chunks, sharded data.

Runs whose schedules differ only in numbers (and runs that differ only in
seed) form a group: one compiled program trains the whole group under
``jax.vmap``, with the schedule hyperparameters passed in as traced arrays, so
changing them never recompiles. Each call trains ``eval_every`` steps inside
``lax.scan`` and then evaluates. Examples are sharded over a one-axis device
mesh (data parallelism); parameters are replicated.
"""

import inspect as pyinspect
import json
import pathlib
import time
from typing import Any, NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

import jaxsched
from experiments.common import checkpoint as checkpoint_lib
from experiments.common import outputs
from experiments.common import sharding
from experiments.grokking import analysis
from experiments.grokking import data as data_lib
from experiments.grokking import model as model_lib
from experiments.grokking.config import Config

PEAK_KEYS = ("peak_value", "init_value", "max_lr", "value")


class TrainState(NamedTuple):
  """One run's state; a group's is the same with a leading run axis."""
  params: Any
  opt_state: Any
  rng: jax.Array
  step: jax.Array  # shape=(), dtype=int32


class Run(NamedTuple):
  name: str  # "<spec name>/seed<k>"
  spec: str
  seed: int


class Group(NamedTuple):
  """Runs trained together by one compiled program."""
  key: str
  runs: tuple
  schedule_type: str
  static_kwargs: dict
  numeric: dict  # name -> np.ndarray with one value per run
  adaptive: Optional[dict]
  grokfast: Optional[dict]


def _is_number(x: Any) -> bool:
  return isinstance(x, (int, float, np.number)) and not isinstance(x, bool)


def _schedule_kwargs(config: Config, schedule: dict) -> tuple[str, dict]:
  kwargs = {k: v for k, v in schedule.items() if k != "type"}
  kind = schedule["type"]
  factory = getattr(jaxsched, kind, None)
  if factory is None or kind not in {e.name for e in jaxsched.catalog()}:
    raise ValueError(f"unknown schedule type {kind!r}")
  params = pyinspect.signature(factory).parameters
  for key in PEAK_KEYS:
    if key in params and params[key].default is params[key].empty and key not in kwargs:
      kwargs[key] = config.learning_rate
      break
  factory(**kwargs)  # validate now, with concrete values
  return kind, kwargs


def group_runs(config: Config) -> list:
  """Splits ``config.runs x config.seeds`` into groups of one compiled structure."""
  buckets: dict = {}
  for spec in config.runs:
    kind, kwargs = _schedule_kwargs(config, spec["schedule"])
    static = {k: v for k, v in kwargs.items() if not _is_number(v)}
    numeric = {k: v for k, v in kwargs.items() if _is_number(v)}
    key = json.dumps([kind, sorted(kwargs), static, spec.get("adaptive"), spec.get("grokfast")],
                     sort_keys=True, default=str)
    bucket = buckets.setdefault(key, {"kind": kind, "static": static, "adaptive": spec.get("adaptive"),
                                      "grokfast": spec.get("grokfast"), "runs": [], "numeric": []})
    for seed in config.seeds:
      bucket["runs"].append(Run(f"{spec['name']}/seed{seed}", spec["name"], int(seed)))
      bucket["numeric"].append(numeric)
  groups = []
  for index, (key, b) in enumerate(buckets.items()):
    names = b["numeric"][0].keys()
    numeric = {}
    for name in names:
      values = [n[name] for n in b["numeric"]]
      all_int = all(isinstance(v, (int, np.integer)) for v in values)
      numeric[name] = np.asarray(values, np.int32 if all_int else np.float32)
    groups.append(Group(f"group{index}", tuple(b["runs"]), b["kind"], b["static"], numeric,
                        b["adaptive"], b["grokfast"]))
  return groups


def _optimizer(config: Config, group: Group, hparams: dict):
  """The run's optimizer and schedule, built from (possibly traced) hyperparameters."""
  schedule = getattr(jaxsched, group.schedule_type)(**group.static_kwargs, **hparams)
  parts = []
  if group.grokfast:
    parts.append(jaxsched.grokfast_ema(**group.grokfast))
  parts.append(optax.adamw(schedule, b1=config.b1, b2=config.b2,
                           weight_decay=config.weight_decay))
  if group.adaptive:
    adaptive = dict(group.adaptive)
    parts.append(getattr(jaxsched, adaptive.pop("type"))(**adaptive))
  return optax.chain(*parts), schedule


class Problem(NamedTuple):
  """The data of one study, on the devices."""
  inputs: jax.Array  # (N, 2) int32, replicated
  targets: jax.Array  # (N,) int32, replicated
  n_train: int  # true number of training examples (before padding)


def _split_arrays(config: Config, group: Group, mesh) -> dict:
  """Per-run train/val indices and masks, padded to the mesh size, sharded by example."""
  n = len(data_lib.table(config.operation, config.modulus).targets)
  arrays = {"train_idx": [], "train_w": [], "val_idx": [], "val_w": []}
  for run in group.runs:
    split = data_lib.split(n, config.train_fraction, run.seed)
    for name, idx in (("train", split.train), ("val", split.val)):
      size = sharding.pad_to_devices(len(idx), mesh)
      arrays[f"{name}_idx"].append(np.pad(idx, (0, size - len(idx))))
      arrays[f"{name}_w"].append(np.pad(np.ones(len(idx), np.float32), (0, size - len(idx))))
  out = {}
  for name, rows in arrays.items():
    stacked = np.stack(rows)
    out[name] = jax.device_put(stacked, sharding.examples_sharding(mesh, 2, 1))
  return out


def _programs(config: Config, group: Group, problem: Problem, graphdef, mesh):
  """The group's jitted, vmapped init and chunk functions."""

  def evaluate(params, idx, weights):
    logits = nnx.merge(graphdef, params)(problem.inputs[idx])
    labels = problem.targets[idx]
    losses = optax.softmax_cross_entropy_with_integer_labels(logits, labels)
    total = jnp.sum(weights)
    loss = jnp.sum(weights * losses) / total
    accuracy = jnp.sum(weights * (jnp.argmax(logits, -1) == labels)) / total
    return loss, accuracy

  def init_one(seed, hparams):
    key = jax.random.PRNGKey(seed)
    init_key, data_key = jax.random.split(key)
    params = nnx.split(model_lib.build(config.model, config.modulus, width=config.width,
                                       rngs=nnx.Rngs(init_key)), nnx.Param)[1]
    tx, _ = _optimizer(config, group, hparams)
    return TrainState(params, tx.init(params), data_key, jnp.zeros((), jnp.int32))

  def chunk_one(state, hparams, train_idx, train_w, val_idx, val_w):
    tx, schedule = _optimizer(config, group, hparams)

    def step(state, _):
      rng, sample_key = jax.random.split(state.rng)
      if config.batch_size:
        positions = jax.random.randint(sample_key, (config.batch_size,), 0, problem.n_train)
        idx = jax.lax.with_sharding_constraint(
            train_idx[positions], sharding.examples_sharding(mesh, 1, 0))
        weights = jnp.ones((config.batch_size,), jnp.float32)
      else:
        idx, weights = train_idx, train_w
      (loss, _), grads = jax.value_and_grad(evaluate, has_aux=True)(state.params, idx, weights)
      updates, opt_state = tx.update(grads, state.opt_state, state.params, value=loss)
      params = optax.apply_updates(state.params, updates)
      return TrainState(params, opt_state, rng, state.step + 1), optax.tree.norm(grads)

    state, grad_norms = jax.lax.scan(step, state, None, length=config.eval_every)
    train_loss, train_acc = evaluate(state.params, train_idx, train_w)
    val_loss, val_acc = evaluate(state.params, val_idx, val_w)
    # The rate of the last update: the schedule at count - 1, times the adaptive scale.
    lr = jaxsched.current_learning_rate(state.opt_state, lambda count: schedule(count - 1))
    metrics = {"train_loss": train_loss, "train_acc": train_acc, "val_loss": val_loss,
               "val_acc": val_acc, "lr": lr, "param_norm": optax.tree.norm(state.params),
               "grad_norm": grad_norms[-1]}
    return state, metrics

  init = jax.jit(jax.vmap(init_one))
  chunk = jax.jit(jax.vmap(chunk_one))
  return init, chunk


def _abstract(tree: Any, mesh) -> Any:
  replicated = sharding.replicated(mesh)
  return jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=replicated), tree)


def train_and_evaluate(config: Config, workdir: pathlib.Path, *, resume: bool = False,
                       progress: bool = True) -> list:
  """Trains every run of ``config``, writing metrics, checkpoints and results to ``workdir``.

  Returns:
    The summary: one dict per run (see ``analysis.summarize``).
  """
  if config.total_steps % config.eval_every:
    raise ValueError(f"total_steps={config.total_steps} must be a multiple of "
                     f"eval_every={config.eval_every}")
  if config.checkpoint_every % config.eval_every:
    raise ValueError(f"checkpoint_every={config.checkpoint_every} must be a multiple of "
                     f"eval_every={config.eval_every}")
  workdir = pathlib.Path(workdir)
  workdir.mkdir(parents=True, exist_ok=True)
  (workdir / "config.json").write_text(config.to_json())
  metrics_path = workdir / "metrics.jsonl"

  mesh = sharding.data_mesh()
  table = data_lib.table(config.operation, config.modulus)
  n_train = len(data_lib.split(len(table.targets), config.train_fraction, 0).train)
  problem = Problem(jax.device_put(table.inputs, sharding.replicated(mesh)),
                    jax.device_put(table.targets, sharding.replicated(mesh)), n_train)
  graphdef = nnx.split(model_lib.build(config.model, config.modulus, width=config.width,
                                       rngs=nnx.Rngs(0)), nnx.Param)[0]
  groups = group_runs(config)
  programs, hparams, splits, states = {}, {}, {}, {}
  for group in groups:
    programs[group.key] = _programs(config, group, problem, graphdef, mesh)
    hparams[group.key] = {k: jnp.asarray(v) for k, v in group.numeric.items()}
    splits[group.key] = _split_arrays(config, group, mesh)
    seeds = jnp.asarray([run.seed for run in group.runs], jnp.uint32)
    states[group.key] = programs[group.key][0](seeds, hparams[group.key])

  checkpointer = checkpoint_lib.Checkpointer(workdir / "checkpoints", config.checkpoint_every)
  wall = {g.key: 0.0 for g in groups}
  start = 0
  if resume and checkpointer.latest_step() is not None:
    start, states, meta = checkpointer.restore(_abstract(states, mesh))
    wall = meta["wall_seconds"]
    outputs.truncate_jsonl(metrics_path, start)
  else:
    metrics_path.write_text("")

  bar = None
  if progress:
    from tqdm import tqdm  # pylint: disable=import-outside-toplevel
    bar = tqdm(total=config.total_steps, initial=start, unit="step", dynamic_ncols=True)
  step = start
  try:
    while step < config.total_steps:
      rows = []
      for group in groups:
        began = time.perf_counter()
        states[group.key], metrics = programs[group.key][1](
            states[group.key], hparams[group.key], **splits[group.key])
        metrics = jax.device_get(metrics)
        wall[group.key] += time.perf_counter() - began
        for i, run in enumerate(group.runs):
          rows.append({"run": run.name, "schedule": run.spec, "seed": run.seed,
                       "step": step + config.eval_every,
                       **{k: float(v[i]) for k, v in metrics.items()}})
      step += config.eval_every
      outputs.append_jsonl(metrics_path, rows)
      if bar is not None:
        bar.update(config.eval_every)
        bar.set_postfix(train_acc=f"{np.mean([r['train_acc'] for r in rows]):.3f}",
                        val_acc=f"{np.mean([r['val_acc'] for r in rows]):.3f}")
      if checkpointer.due(step):
        checkpointer.save(step, states, {"wall_seconds": wall})
  except KeyboardInterrupt:
    print(f"\ninterrupted at step {step}: saving a checkpoint and the results so far")
    checkpointer.save(step, states, {"wall_seconds": wall}, force=True)
  finally:
    if bar is not None:
      bar.close()
    checkpointer.close()
  run_wall = {run.name: wall[g.key] for g in groups for run in g.runs}
  return analysis.write_results(config, workdir, outputs.read_jsonl(metrics_path), run_wall)
