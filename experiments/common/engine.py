"""The study engine's training loop: groups of runs trained in scanned chunks, evaluated, logged,
checkpointed.

A study hands the engine plain functions (a :class:`Study`); the engine owns the rest:

* **Groups** (:mod:`experiments.common.groups`). Runs whose configurations
  differ only in numbers (schedule hyperparameters, optimizer numbers, seed)
  form one group, trained by one compiled program
  (:func:`experiments.common.programs.compile_group`) with those numbers as
  traced arrays, so changing them never recompiles.
* **Chunks.** Each call trains ``eval_every`` steps in ``lax.scan``, the batches
  given as scan inputs (made on the host by the study's batch source, stacked
  ``(runs, steps, ...)``), then evaluates.
* **Execution.** ``vmap`` trains a group's runs together in one call; ``map``
  runs them one after another inside one call (``lax.map``); ``sequential``
  calls the same compiled single-run program once per run. ``auto`` (the
  default) times the group's first chunk under each of the three (compiled
  ahead of time, so compilation is not counted), keeps the fastest and goes on
  from that chunk's result; the choice and the timings are printed, written
  into every summary row (``execution``) and kept by ``--resume``. A group of
  one run is vmapped (one call either way). The modes agree to float32
  rounding, not bit for bit, so a run's numbers depend on the mode it ran in.
* **Divergence.** A run whose training loss, gradient or parameters become
  non-finite stops updating (its state is frozen) and is marked; every metric
  it writes from then on is ``null``. Runs are independent under ``vmap``, so
  its neighbours train exactly as without it.
* **Adaptive schedules** observe the metric their optimizer entry names (see
  :mod:`experiments.common.optim`): the step's training loss every step, or an
  evaluation metric at the first update after each evaluation.
* **Records.** The LR the optimizer used (from its state), parameter and
  gradient norms, ``metrics.jsonl``, TensorBoard, ``summary.json`` (with each
  run's resolved hyperparameters), the generic table and curves, the machine
  (``config.json``), orbax checkpoints every ``checkpoint_every`` steps,
  ``resume``, and a checkpoint on Ctrl-C.
"""

import pathlib
import sys
import time
from typing import Any, Callable, NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from jax.experimental import multihost_utils

from experiments.common import checkpoint as checkpoint_lib
from experiments.common import config as config_lib
from experiments.common import groups as groups_lib
from experiments.common import machine
from experiments.common import outputs
from experiments.common import programs as programs_lib
from experiments.common import report
from experiments.common import sharding

Run = groups_lib.Run
group_runs = groups_lib.group_runs
AUTO_CANDIDATES = ("sequential", "map", "vmap")


class Study(NamedTuple):
  """What a study supplies: plain functions of its config.

  ``batches(config, run, start, num_steps)`` and ``eval_data(config, run)``
  return host (NumPy) pytrees; batches carry a leading axis of ``num_steps``
  then the example axis, eval data the example axis first. Module state that is
  not an ``nnx.Param`` (e.g. group DRO's weights) is per-run train state:
  ``loss_fn`` may update it in place, and it is vmapped and checkpointed.
  ``loss_fn``'s ``aux`` is a dict of scalars, averaged over each chunk and logged.
  ``summarize_run(config, history, hparams)`` adds a study's fields to a run's
  summary row (``hparams``: the run's resolved hyperparameters).
  ``cpu_compiler_options`` are XLA options (``DebugOptions`` fields) for the
  study's programs when they compile for the CPU (ignored on other backends),
  e.g. ``{"xla_cpu_experimental_ynn_fusion_type": "LIBRARY_FUSION_TYPE_DOT"}``;
  they change which kernels compute the program, not what it computes.
  """

  name: str
  init_model: Callable[[Any, nnx.Rngs], nnx.Module]
  loss_fn: Callable[[nnx.Module, Any], tuple]
  evaluate: Callable[[nnx.Module, Any], dict]
  batches: Callable[[Any, Run, int, int], Any]
  eval_data: Callable[[Any, Run], Any]
  progress_keys: tuple = ()
  summarize_run: Optional[Callable[[Any, list, dict], dict]] = None  # extra summary fields
  write_results: Optional[Callable[[Any, pathlib.Path, list, list], str]] = None
  panels: tuple = report.DEFAULT_PANELS
  table_keys: tuple = ()  # metrics in the generic results table (default: every one)
  cpu_compiler_options: Optional[dict] = None  # XLA options for CPU compiles


def _take(tree: Any, index: slice) -> Any:
  return jax.tree.map(lambda x: x[index], tree)


def _stack(trees: list) -> Any:
  return jax.tree.map(lambda *xs: jnp.concatenate(xs), *trees)


def execution_candidates(config, group: groups_lib.Group) -> tuple:
  """The modes a group may run in: the config's choice, or ``auto``'s candidates."""
  if len(group.runs) == 1:
    return ("vmap",)
  if config.execution != "auto":
    return (config.execution,)
  return AUTO_CANDIDATES


class _Slot(NamedTuple):
  """A group at run time in one execution mode: per call, the runs it trains and their data."""

  group: groups_lib.Group
  execution: str
  parts: list  # one slice of group.runs per call: all of them (vmap, map) or one each
  init: Callable
  chunk: Callable  # compiled ahead of time on the first call (see _compiled)
  numbers: list  # per call: the numbers of its runs
  eval_data: list  # per call: the eval data of its runs


def _batches(study: Study, config, runs: tuple, start: int, mesh) -> Any:
  host = [study.batches(config, run, start, config.eval_every) for run in runs]
  stacked = jax.tree.map(lambda *xs: np.stack(xs), *host)
  return sharding.put_examples(stacked, mesh, axis=2)


def _eval_data(study: Study, config, runs: tuple, mesh) -> Any:
  host = [study.eval_data(config, run) for run in runs]
  return sharding.put_examples(jax.tree.map(lambda *xs: np.stack(xs), *host), mesh, axis=1)


def _slot(study: Study, group: groups_lib.Group, mesh, execution: str) -> _Slot:
  n = len(group.runs)
  parts = [slice(i, i + 1) for i in range(n)] if execution == "sequential" else [slice(0, n)]
  compiled = programs_lib.compile_group(study, group, mesh, "map" if execution == "map" else "vmap")
  numbers = [
    jax.tree.map(lambda v: sharding.put(v[part], sharding.replicated(mesh)), group.numbers)  # noqa: B023
    for part in parts
  ]
  data = [_eval_data(study, group.config, group.runs[part], mesh) for part in parts]
  return _Slot(group, execution, parts, compiled.init, _compiled(compiled.chunk), numbers, data)


def _compiled(jitted: Callable) -> Callable:
  """``jitted``, compiled ahead of time for each new layout of its arguments (shapes, dtypes,
  shardings); ``.compiling`` holds the seconds its last call spent compiling."""
  cache: dict = {}

  def call(*args):
    leaves, treedef = jax.tree.flatten(args)
    key = (treedef, tuple((x.shape, x.dtype, getattr(x, "sharding", None)) for x in leaves))
    call.compiling = 0.0  # type: ignore[attr-defined]
    if key not in cache:
      began = time.perf_counter()
      cache[key] = jitted.lower(*args).compile()
      call.compiling = time.perf_counter() - began  # type: ignore[attr-defined]
    return cache[key](*args)

  call.compiling = 0.0  # type: ignore[attr-defined]
  return call


def _init_states(slot: _Slot, mesh) -> list:
  seeds = np.asarray([run.seed for run in slot.group.runs], np.uint32)
  return [
    slot.init(sharding.put(seeds[part], sharding.replicated(mesh)), numbers)
    for part, numbers in zip(slot.parts, slot.numbers)
  ]


def _chunk(study: Study, slot: _Slot, states: list, step: int, mesh, wall: dict) -> tuple:
  """One chunk of every call of ``slot``: the advanced states, the metrics of its runs and the
  seconds the calls computed (compilation and batch making left out). ``wall`` gains each run's
  seconds, everything included."""
  advanced, results, computing = list(states), [], 0.0
  for i, part in enumerate(slot.parts):
    runs = slot.group.runs[part]
    began = time.perf_counter()
    batches = _batches(study, slot.group.config, runs, step, mesh)
    called = time.perf_counter()
    advanced[i], metrics = slot.chunk(states[i], slot.numbers[i], batches, slot.eval_data[i])
    results.append(jax.tree.map(sharding.local, metrics))  # waits for the call
    done = time.perf_counter()
    computing += done - called - slot.chunk.compiling  # type: ignore[attr-defined]
    for run in runs:
      wall[run.name] = wall.get(run.name, 0.0) + done - began
  return advanced, jax.tree.map(lambda *xs: np.concatenate(xs), *results), computing


def _autotune(study: Study, group, candidates: tuple, mesh, log: Callable) -> tuple:
  """Trains the group's first chunk in each candidate mode; keeps the fastest.

  Returns:
    ``(slot, states, metrics, wall)`` of the chosen mode, after its first chunk.
  """
  tried = {}
  for execution in candidates:
    slot = _slot(study, group, mesh, execution)
    wall: dict = {}
    states, metrics, seconds = _chunk(study, slot, _init_states(slot, mesh), 0, mesh, wall)
    tried[execution] = (slot, states, metrics, wall, seconds)
  seconds = np.asarray([tried[e][4] for e in candidates])
  if jax.process_count() > 1:  # every process follows process 0's timings
    seconds = np.asarray(multihost_utils.broadcast_one_to_all(seconds))
  best = candidates[int(np.argmin(seconds))]
  timings = ", ".join(f"{e} {t:.2f} s" for e, t in zip(candidates, seconds))
  log(f"{group.key} ({len(group.runs)} runs): first chunk {timings} -> {best}")
  return tried[best][:4]


def _whole(states: dict) -> dict:
  """Each group's state with every run, however its calls split it (the checkpoint format)."""
  return {k: _stack(v) if len(v) > 1 else v[0] for k, v in states.items()}


def _abstract(states: dict, mesh) -> dict:
  replicated = sharding.replicated(mesh)
  return jax.tree.map(
    lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=getattr(x, "sharding", replicated)),
    states,
  )


def _rows(group: groups_lib.Group, step: int, metrics: dict) -> list:
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


def write_report(study: Study, config, workdir: pathlib.Path) -> list:
  """Writes ``summary.json``, ``results.md`` and the plots again from ``workdir``'s
  ``metrics.jsonl``, without training (wall times and execution modes kept from the previous
  ``summary.json``)."""
  workdir = pathlib.Path(workdir)
  groups = check(study, config)
  previous = {s["run"]: s for s in outputs.read_json(workdir / "summary.json", [])}
  wall = {name: s.get("wall_seconds", float("nan")) for name, s in previous.items()}
  execution = {name: s.get("execution") for name, s in previous.items()}
  recorded = outputs.read_json(workdir / "config.json", {}).get("machine", {})
  return report.write_results(
    study,
    config,
    workdir,
    outputs.read_jsonl(workdir / "metrics.jsonl"),
    wall,
    groups_lib.hparams_by_run(groups),
    execution,
    recorded,
  )


def _train(
  study: Study, config, groups: list, mesh, workdir: pathlib.Path, resume: bool, progress: bool
) -> list:
  writer = sharding.is_writer()
  metrics_path = workdir / "metrics.jsonl"
  here = machine.describe()
  if writer:
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "config.json").write_text(config_lib.to_json(config, machine=here))
  checkpointer = checkpoint_lib.Checkpointer(workdir / "checkpoints", config.checkpoint_every)
  wall: dict = {run.name: 0.0 for g in groups for run in g.runs}  # seconds of its calls
  chosen: dict = {}  # group key -> execution mode
  start, resumed = 0, resume and checkpointer.latest_step() is not None
  if resumed:
    start, meta = checkpointer.latest_meta()
    wall = meta["wall_seconds"]
    # Checkpoints written before modes were recorded ran auto's former rule.
    former = "sequential" if jax.default_backend() == "cpu" else "vmap"
    chosen = meta.get("execution") or {
      g.key: execution_candidates(config, g)[0] if config.execution != "auto" else former
      for g in groups
    }
  bar = None
  if progress and writer:
    from tqdm import tqdm  # pylint: disable=import-outside-toplevel

    bar = tqdm(
      total=config.total_steps, initial=start, unit="step", dynamic_ncols=True, desc=study.name
    )
  log = bar.write if bar is not None else (lambda text: print(text, file=sys.stderr))
  slots: dict = {}
  for group in groups:
    candidates = execution_candidates(config, group)
    mode = chosen.get(group.key, candidates[0] if len(candidates) == 1 else None)
    if mode is not None:
      slots[group.key] = _slot(study, group, mesh, mode)
  states = {key: _init_states(slot, mesh) for key, slot in slots.items()}
  if resumed:
    _, whole, _ = checkpointer.restore(_abstract(_whole(states), mesh), start)
    states = {key: [_take(whole[key], part) for part in slots[key].parts] for key in slots}
    if writer:
      outputs.truncate_jsonl(metrics_path, start)
  elif writer:
    metrics_path.write_text("")
  run_names = [run.name for g in groups for run in g.runs]
  board = outputs.TensorBoard(workdir / "tensorboard", run_names, start) if writer else None

  def save(step: int, force: bool = False) -> None:
    meta = {"wall_seconds": wall, "execution": {k: s.execution for k, s in slots.items()}}
    checkpointer.save(step, _whole(states), meta, force=force)

  step = start
  try:
    while step < config.total_steps:
      rows, advanced = [], {}
      for group in groups:
        if group.key in slots:
          slot = slots[group.key]
          advanced[group.key], metrics, _ = _chunk(study, slot, states[group.key], step, mesh, wall)
        else:  # auto, first chunk: tried in each mode
          slot, advanced[group.key], metrics, first = _autotune(
            study, group, execution_candidates(config, group), mesh, log
          )
          slots[group.key] = slot
          wall.update(first)
        rows += _rows(group, step + config.eval_every, metrics)
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
    if len(slots) == len(groups):  # else still at step 0: nothing to save
      save(step, force=True)
  finally:
    if bar is not None:
      bar.close()
    if board is not None:
      board.close()
    checkpointer.close()
  if not writer:
    return []
  execution = {run.name: slots[g.key].execution for g in groups if g.key in slots for run in g.runs}
  return report.write_results(
    study,
    config,
    workdir,
    outputs.read_jsonl(metrics_path),
    wall,
    groups_lib.hparams_by_run(groups),
    execution,
    here,
  )
