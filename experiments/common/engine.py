"""The study engine: runs grouped into compiled programs, trained in scanned chunks.

A study hands the engine plain functions (a :class:`Study`); the engine owns the rest:

* **Groups.** Runs whose configurations differ only in numbers (schedule
  hyperparameters, optimizer numbers, seed) form one group, trained by one
  ``jax.jit(jax.vmap(...))`` program with those numbers as traced arrays, so
  changing them never recompiles.
* **Chunks.** Each call trains ``eval_every`` steps in ``lax.scan``, the batches
  given as scan inputs (made on the host by the study's batch source, stacked
  ``(runs, steps, ...)``), then evaluates.
* **Execution.** ``vmap`` trains a group's runs together; ``map`` runs them one
  after another inside one compiled call (``lax.map``); ``sequential`` calls the
  same compiled single-run program once per run; ``auto`` (the default) is
  ``sequential`` on CPU and ``vmap`` on GPU and TPU. On the 2-core CPU
  (``benchmarks/RESULTS.md``), a vmapped 16-run group of the grokking MLP took
  1.75x the time of its runs one after another and ``map`` 1.18x: many runs'
  activations leave the cache. ``map`` pays off only where a call is short
  (the transformer at one step per call: 0.73x), which a study's chunks of
  ``eval_every`` steps are not. The metrics agree either way (tested).
* **Divergence.** A run whose training loss, gradient or parameters become
  non-finite stops updating (its state is frozen) and is marked; every metric
  it writes from then on is ``null``. Runs are independent under ``vmap``, so
  its neighbours train exactly as without it.
* **Adaptive schedules** observe the metric their optimizer entry names (see
  :mod:`experiments.common.optim`): the step's training loss every step, or an
  evaluation metric at the first update after each evaluation.
* **Records.** The LR the optimizer used (from its state), parameter and
  gradient norms, ``metrics.jsonl``, TensorBoard, ``summary.json``, the
  generic table and curves, orbax checkpoints every ``checkpoint_every`` steps,
  ``resume``, and a checkpoint on Ctrl-C.
"""

import dataclasses
import json
import pathlib
import time
from typing import Any, Callable, NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

import jaxsched
from experiments.common import checkpoint as checkpoint_lib
from experiments.common import config as config_lib
from experiments.common import optim
from experiments.common import outputs
from experiments.common import report
from experiments.common import sharding


class Study(NamedTuple):
  """What a study supplies: plain functions of its config.

  ``batches(config, run, start, num_steps)`` and ``eval_data(config, run)``
  return host (NumPy) pytrees; batches carry a leading axis of ``num_steps``
  then the example axis, eval data the example axis first. Module state that is
  not an ``nnx.Param`` (e.g. group DRO's weights) is per-run train state:
  ``loss_fn`` may update it in place, and it is vmapped and checkpointed.
  ``loss_fn``'s ``aux`` is a dict of scalars, averaged over each chunk and logged.
  """

  name: str
  init_model: Callable[[Any, nnx.Rngs], nnx.Module]
  loss_fn: Callable[[nnx.Module, Any], tuple]
  evaluate: Callable[[nnx.Module, Any], dict]
  batches: Callable[[Any, "Run", int, int], Any]
  eval_data: Callable[[Any, "Run"], Any]
  progress_keys: tuple = ()
  summarize_run: Optional[Callable[[Any, list], dict]] = None  # extra summary fields
  write_results: Optional[Callable[[Any, pathlib.Path, list, list], None]] = None
  panels: tuple = report.DEFAULT_PANELS
  table_keys: tuple = ()  # metrics in the generic results table (default: every one)


class Run(NamedTuple):
  name: str  # "<spec name>/seed<k>"
  spec: str
  seed: int
  config: dict  # the run's entry of Config.runs


class TrainState(NamedTuple):
  """One run's state; a group's has a leading run axis."""

  params: Any
  model_state: Any  # the model's non-Param variables
  opt_state: Any
  step: jax.Array  # shape=(), int32: updates applied
  metric: jax.Array  # shape=(), float32: the last evaluated adaptive metric
  metric_pending: jax.Array  # shape=(), bool: not yet observed by the optimizer
  diverged_at: jax.Array  # shape=(), int32: updates after which it diverged, -1 if healthy


class Group(NamedTuple):
  """Runs trained by one compiled program."""

  key: str
  runs: tuple
  schedule: Any  # jaxsched.ResolvedConfig of the first run (numbers replaced per run)
  optimizer: tuple  # the entries of the first run (numbers replaced per run)
  numbers: dict  # "schedule.<kw>" / "optimizer.<i>.<kw>" -> np.ndarray, one value per run
  peak_key: Optional[str]  # the number that is the peak rate, or None: use peak
  peak: float
  metric: Optional[str]
  config: Any  # the study's config with the group's per-run fields applied


def _is_number(x: Any) -> bool:
  return isinstance(x, (int, float, np.number)) and not isinstance(x, bool)


def _resolve(config, run: dict, where: str):
  """The run's schedule, resolved and built with its concrete values (which checks them), and
  its learning rate."""
  learning_rate = run.get("learning_rate", config.learning_rate)
  try:
    resolved = jaxsched.resolve_config(run["schedule"], learning_rate=learning_rate)
    return resolved, resolved.build(), learning_rate
  except (ValueError, TypeError) as e:
    raise ValueError(f"{where}.schedule: {e}") from None


def _run_fields(config, spec: dict) -> dict:
  """The config fields a run sets for itself (study run keys that are config fields, e.g. the
  model's width): they shape the program, so runs that differ in them are different groups."""
  fields = {f.name for f in dataclasses.fields(config)}
  return {k: spec[k] for k in config.study_run_keys if k in spec and k in fields}


def group_runs(config) -> list:
  """Splits ``config.runs x config.seeds`` into groups of one compiled structure."""
  buckets: dict = {}
  for i, spec in enumerate(config.runs):
    where = f"runs[{i}]"
    resolved, schedule, learning_rate = _resolve(config, spec, where)
    entries = tuple(spec.get("optimizer", config.optimizer))
    peak_key = resolved.rate_keyword
    traced = optim.traceable_numbers(entries)
    numbers = {f"schedule.{k}": v for k, v in resolved.kwargs.items() if _is_number(v)}
    numbers.update({f"optimizer.{j}.{k}": v for (j, k), v in traced.items()})
    peak = resolved.kwargs.get(peak_key, learning_rate) if peak_key else learning_rate
    opt = optim.build(entries, schedule, peak, where=f"{where}.optimizer")
    static_schedule = {
      k: ("#" if _is_number(v) else spec["schedule"].get(k, repr(v)))
      for k, v in resolved.kwargs.items()
    }
    static_optimizer = [
      {k: ("#" if (j, k) in traced else v) for k, v in e.items()} for j, e in enumerate(entries)
    ]
    fields = _run_fields(config, spec)
    key = json.dumps(
      [resolved.type, static_schedule, static_optimizer, peak_key is None and peak, fields],
      sort_keys=True,
      default=repr,
    )
    bucket = buckets.setdefault(
      key,
      {
        "first": (resolved, entries, peak_key, peak, opt.metric),
        "config": config_lib.replace(config, fields),
        "runs": [],
        "numbers": [],
      },
    )
    for seed in config.seeds:
      bucket["runs"].append(Run(f"{spec['name']}/seed{seed}", spec["name"], int(seed), spec))
      bucket["numbers"].append(numbers)
  groups = []
  for index, b in enumerate(buckets.values()):
    resolved, entries, peak_key, peak, metric = b["first"]
    numbers = {}
    for name in b["numbers"][0]:
      values = [n[name] for n in b["numbers"]]
      integral = all(isinstance(v, (int, np.integer)) for v in values)
      numbers[name] = np.asarray(values, np.int32 if integral else np.float32)
    groups.append(
      Group(
        f"group{index}",
        tuple(b["runs"]),
        resolved,
        entries,
        numbers,
        peak_key and f"schedule.{peak_key}",
        float(peak),
        metric,
        b["config"],
      )
    )
  return groups


def _optimizer(group: Group, hp: dict) -> optim.Optimizer:
  """The run's optimizer from its (possibly traced) numbers."""
  schedule = group.schedule.build(
    **{k.split(".", 1)[1]: v for k, v in hp.items() if k.startswith("schedule.")}
  )
  replacements = {}
  for k, v in hp.items():
    if k.startswith("optimizer."):
      _, index, keyword = k.split(".", 2)
      replacements[(int(index), keyword)] = v
  peak = hp[group.peak_key] if group.peak_key in hp else group.peak
  return optim.build(group.optimizer, schedule, peak, numbers=replacements)


def _select(keep_new: jax.Array, new: Any, old: Any) -> Any:
  return jax.tree.map(lambda a, b: jnp.where(keep_new, a, b), new, old)


class Programs(NamedTuple):
  """A group's compiled functions, each over its runs (vmapped, or ``lax.map``ped)."""

  init: Callable  # (seeds, numbers) -> TrainState
  chunk: Callable  # (state, numbers, batches, eval_data) -> (state, metrics): train, evaluate
  train: Callable  # (state, numbers, batches) -> (state, per-step losses): the scan alone


def _over_runs(fn: Callable, execution: str) -> Callable:
  """``fn`` of one run applied to every run of stacked arguments: vmapped, or one by one."""
  if execution == "map":
    return lambda *args: jax.lax.map(lambda one: fn(*one), args)
  return jax.vmap(fn)


def programs(study: Study, group: Group, mesh, execution: str = "vmap") -> Programs:
  """The group's jitted programs; the numbers in ``group.numbers`` are traced.

  ``execution`` is ``"vmap"`` (the runs batched together) or ``"map"`` (one
  after another, in one call). Call them (and this) inside
  ``jax.set_mesh(mesh)``: a parameter annotated with mesh axes is created
  sharded over them.
  """
  config = group.config
  graphdef = nnx.split(nnx.eval_shape(lambda: study.init_model(config, nnx.Rngs(0))))[0]

  def init_one(seed, hp):
    init_key, _ = jax.random.split(jax.random.PRNGKey(seed))
    model = study.init_model(config, nnx.Rngs(init_key))
    _, params, model_state = nnx.split(model, nnx.Param, ...)
    opt = _optimizer(group, hp)
    return TrainState(
      params,
      model_state,
      opt.tx.init(params),
      jnp.zeros((), jnp.int32),
      jnp.zeros((), jnp.float32),
      jnp.zeros((), bool),
      jnp.full((), -1, jnp.int32),
    )

  def train_one(state, hp, batches):
    opt = _optimizer(group, hp)

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
      if group.metric == optim.TRAIN_LOSS:
        extra = {"value": loss}
      elif group.metric is not None:
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

  def chunk_one(state, hp, batches, eval_data):
    opt = _optimizer(group, hp)
    state, per_step = train_one(state, hp, batches)
    model = nnx.merge(graphdef, state.params, state.model_state)
    evaluated = dict(study.evaluate(model, eval_data))
    if group.metric not in (None, optim.TRAIN_LOSS):
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
    jax.jit(_over_runs(init_one, execution)),
    jax.jit(sharding.replicate_outputs(_over_runs(chunk_one, execution), mesh)),
    jax.jit(_over_runs(train_one, execution)),
  )


def _take(tree: Any, index: slice) -> Any:
  return jax.tree.map(lambda x: x[index], tree)


def _stack(trees: list) -> Any:
  return jax.tree.map(lambda *xs: jnp.concatenate(xs), *trees)


def execution_mode(config, group: Group) -> str:
  """How a group runs: the config's choice, or ``auto``'s rule (module docstring)."""
  if config.execution != "auto":
    return config.execution
  if len(group.runs) == 1 or jax.default_backend() != "cpu":
    return "vmap"
  return "sequential"


class _Slot(NamedTuple):
  """A group at run time: its programs, and per call the runs it trains and their device data."""

  group: Group
  parts: list  # one slice of group.runs per call: all of them (vmap, map) or one each
  init: Callable
  chunk: Callable
  hp: list  # per call: the numbers of its runs
  eval_data: list  # per call: the eval data of its runs


def _batches(study: Study, config, runs: tuple, start: int, mesh) -> Any:
  host = [study.batches(config, run, start, config.eval_every) for run in runs]
  stacked = jax.tree.map(lambda *xs: np.stack(xs), *host)
  return sharding.put_examples(stacked, mesh, axis=2)


def _eval_data(study: Study, config, runs: tuple, mesh) -> Any:
  host = [study.eval_data(config, run) for run in runs]
  return sharding.put_examples(jax.tree.map(lambda *xs: np.stack(xs), *host), mesh, axis=1)


def _slots(study: Study, config, groups: list, mesh) -> list:
  slots = []
  for group in groups:
    n, execution = len(group.runs), execution_mode(config, group)
    parts = [slice(i, i + 1) for i in range(n)] if execution == "sequential" else [slice(0, n)]
    compiled = programs(study, group, mesh, "map" if execution == "map" else "vmap")
    hp = [
      {k: sharding.put(v[part], sharding.replicated(mesh)) for k, v in group.numbers.items()}
      for part in parts
    ]
    data = [_eval_data(study, group.config, group.runs[part], mesh) for part in parts]
    slots.append(_Slot(group, parts, compiled.init, compiled.chunk, hp, data))
  return slots


def _init_states(slot: _Slot, mesh) -> list:
  seeds = np.asarray([run.seed for run in slot.group.runs], np.uint32)
  return [
    slot.init(sharding.put(seeds[part], sharding.replicated(mesh)), hp)
    for part, hp in zip(slot.parts, slot.hp)
  ]


def _whole(states: dict) -> dict:
  """Each group's state with every run, however its calls split it (the checkpoint format)."""
  return {k: _stack(v) if len(v) > 1 else v[0] for k, v in states.items()}


def _abstract(states: dict, mesh) -> dict:
  replicated = sharding.replicated(mesh)
  return jax.tree.map(
    lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=getattr(x, "sharding", replicated)),
    states,
  )


def _rows(group: Group, step: int, metrics: dict) -> list:
  rows = []
  for i, run in enumerate(group.runs):
    diverged = bool(metrics["diverged_at"][i] >= 0)
    row = {"run": run.name, "spec": run.spec, "seed": run.seed, "step": step, "diverged": diverged}
    for key, values in metrics.items():
      if key != "diverged_at":
        row[key] = None if diverged else outputs.number(values[i])
    if diverged:
      row["diverged_at_step"] = int(metrics["diverged_at"][i])
    rows.append(row)
  return rows


def check(study: Study, config) -> list:
  """Validates ``config`` for ``study`` without training: fields, schedules, optimizers, the
  study's data and model. Raises ValueError naming what is wrong; returns the groups."""
  config_lib.validate(config)
  groups = group_runs(config)
  with jax.set_mesh(sharding.make_mesh(config.model_axis)):
    for group in groups:
      study.eval_data(group.config, group.runs[0])
      for run in group.runs:  # a run's own settings reach the study through its batches
        study.batches(group.config, run, 0, 1)
      # Called at once, in this iteration: the late binding of `group` cannot bite.
      nnx.eval_shape(lambda: study.init_model(group.config, nnx.Rngs(0)))  # noqa: B023
  return groups


def train_and_evaluate(
  study: Study, config, workdir: pathlib.Path, *, resume: bool = False, progress: bool = True
) -> list:
  """Trains every run of ``config`` and writes its records to ``workdir``.

  Returns:
    The summary: one dict per run (see :func:`experiments.common.report.summarize`).
  """
  groups = check(study, config)  # before anything is written
  mesh = sharding.make_mesh(config.model_axis)
  with jax.set_mesh(mesh):
    return _train(study, config, groups, mesh, pathlib.Path(workdir), resume, progress)


def _train(
  study: Study, config, groups: list, mesh, workdir: pathlib.Path, resume: bool, progress: bool
) -> list:
  slots = _slots(study, config, groups, mesh)  # the study's data and model checked too
  writer = sharding.is_writer()
  metrics_path = workdir / "metrics.jsonl"
  if writer:
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "config.json").write_text(config.to_json())
  states = {slot.group.key: _init_states(slot, mesh) for slot in slots}
  checkpointer = checkpoint_lib.Checkpointer(workdir / "checkpoints", config.checkpoint_every)
  wall = {run.name: 0.0 for g in groups for run in g.runs}  # seconds of the calls that trained it
  start = 0
  if resume and checkpointer.latest_step() is not None:
    start, whole, meta = checkpointer.restore(_abstract(_whole(states), mesh))
    states = {
      slot.group.key: [_take(whole[slot.group.key], part) for part in slot.parts] for slot in slots
    }
    wall = meta["wall_seconds"]
    if writer:
      outputs.truncate_jsonl(metrics_path, start)
  elif writer:
    metrics_path.write_text("")

  run_names = [run.name for g in groups for run in g.runs]
  board = outputs.TensorBoard(workdir / "tensorboard", run_names, start) if writer else None
  bar = None
  if progress and writer:
    from tqdm import tqdm  # pylint: disable=import-outside-toplevel

    bar = tqdm(
      total=config.total_steps, initial=start, unit="step", dynamic_ncols=True, desc=study.name
    )

  def save(step: int, force: bool = False) -> None:
    checkpointer.save(step, _whole(states), {"wall_seconds": wall}, force=force)

  step = start
  try:
    while step < config.total_steps:
      rows, advanced = [], {}
      for slot in slots:
        key = slot.group.key
        results, advanced[key] = [], list(states[key])
        for i, part in enumerate(slot.parts):
          runs = slot.group.runs[part]
          began = time.perf_counter()
          batches = _batches(study, slot.group.config, runs, step, mesh)
          advanced[key][i], metrics = slot.chunk(
            states[key][i], slot.hp[i], batches, slot.eval_data[i]
          )
          results.append(jax.tree.map(sharding.local, metrics))
          for run in runs:
            wall[run.name] += time.perf_counter() - began
        metrics = jax.tree.map(lambda *xs: np.concatenate(xs), *results)
        rows += _rows(slot.group, step + config.eval_every, metrics)
      if writer:  # rows past the saved step are dropped on resume, so they may come first
        outputs.append_jsonl(metrics_path, rows)
        board.write(rows, [k for k in rows[0] if k not in report.ROW_KEYS])
      # Every group and the step at once: an interrupt never saves a mix of steps.
      states, step = {**states, **advanced}, step + config.eval_every
      if bar is not None:
        bar.update(config.eval_every)
        bar.set_postfix(outputs.progress_postfix(rows, study.progress_keys))
      if checkpointer.due(step):
        save(step)
  except KeyboardInterrupt:
    print(f"\ninterrupted at step {step}: saving a checkpoint and the results so far")
    save(step, force=True)
  finally:
    if bar is not None:
      bar.close()
    if board is not None:
      board.close()
    checkpointer.close()
  if not writer:
    return []
  return report.write_results(study, config, workdir, outputs.read_jsonl(metrics_path), wall)
