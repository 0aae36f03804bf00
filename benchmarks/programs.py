"""A study's group of runs as the engine compiles and trains it, ready to time.

:class:`StudyGroup` groups a config's runs with the engine's ``group_runs``
(the config must make exactly one group), compiles them with
``compile_group`` (the entry point the engine's training loop calls) and holds
their initial state, traced numbers, batches and evaluation data, placed as
the engine places them. Each of its three calls trains every run of the group
once, as one of the engine's execution modes does:

* :meth:`StudyGroup.vmapped`: one call, the runs batched (``execution: vmap``);
* :meth:`StudyGroup.mapped`: one call, the runs one after another inside it
  (``execution: map``, ``lax.map``);
* :meth:`StudyGroup.singles`: one call of the single-run program per run
  (``execution: sequential``).

With ``evaluate=True`` a call is the engine's chunk (train, then evaluate
every run), the unit ``auto`` times; otherwise the scan of training steps
alone. Every call starts from the same initial state (nothing is donated), so
repeated calls do the same work.

:func:`engine_auto` runs the engine itself with ``execution: auto`` on a
group for one chunk and returns what it chose.
"""

import contextlib
import io
import re
import tempfile
from typing import Any, NamedTuple

import jax
import numpy as np
from flax import nnx

from experiments.common import config as config_lib
from experiments.common import engine
from experiments.common import sharding
from experiments.common.groups import group_runs
from experiments.common.programs import compile_group


def _take(tree: Any, index: Any) -> Any:
  return jax.tree.map(lambda x: x[index], tree)


class StudyGroup:
  """The one group of ``config``'s runs, compiled by the engine, with its data.

  Args:
    study: the study (``experiments.<study>.train.STUDY``).
    config: its config; ``eval_every`` is the number of steps a call trains.
    evaluate: a call trains and evaluates (the engine's chunk) instead of
      training alone.
  """

  def __init__(self, study: engine.Study, config: Any, *, evaluate: bool = False):
    groups = group_runs(config)
    if len(groups) != 1:
      raise ValueError(f"StudyGroup: the config makes {len(groups)} groups; it must make one")
    (self.group,) = groups
    self.study, self.config, self.evaluate = study, self.group.config, evaluate
    self.steps = config.eval_every
    self.mesh = sharding.make_mesh(config.model_axis)
    runs = self.group.runs
    replicated = sharding.replicated(self.mesh)
    with jax.set_mesh(self.mesh):
      self.compiled = {
        mode: compile_group(study, self.group, self.mesh, mode) for mode in ("vmap", "map")
      }
      self.numbers = jax.tree.map(lambda v: sharding.put(v, replicated), self.group.numbers)
      seeds = np.asarray([run.seed for run in runs], np.uint32)
      self.state = self.compiled["vmap"].init(sharding.put(seeds, replicated), self.numbers)
      model = nnx.eval_shape(lambda: study.init_model(self.config, nnx.Rngs(0)))
    self.graphdef = nnx.split(model)[0]
    self.host_batches = [study.batches(self.config, run, 0, self.steps) for run in runs]
    stacked = jax.tree.map(lambda *xs: np.stack(xs), *self.host_batches)
    self.batches = sharding.put_examples(stacked, self.mesh, axis=2)
    host_eval = [study.eval_data(self.config, run) for run in runs]
    stacked_eval = jax.tree.map(lambda *xs: np.stack(xs), *host_eval)
    self.eval_data = sharding.put_examples(stacked_eval, self.mesh, axis=1)
    # Per run, its slice of every argument: what execution "sequential" calls with.
    self.parts = [
      _take((self.state, self.numbers, self.batches, self.eval_data), slice(i, i + 1))
      for i in range(len(runs))
    ]

  def _call(self, mode: str, state, numbers, batches, eval_data) -> Any:
    programs = self.compiled[mode]
    with jax.set_mesh(self.mesh):
      if self.evaluate:
        return programs.chunk(state, numbers, batches, eval_data)
      return programs.train(state, numbers, batches)

  def vmapped(self) -> Any:
    """Every run in one call, batched (``execution: vmap``): ``(state, outputs)``."""
    return self._call("vmap", self.state, self.numbers, self.batches, self.eval_data)

  def mapped(self) -> Any:
    """Every run in one call, one after another (``execution: map``): ``(state, outputs)``."""
    return self._call("map", self.state, self.numbers, self.batches, self.eval_data)

  def singles(self) -> list:
    """One call per run of the single-run program (``execution: sequential``)."""
    return [self._call("vmap", *part) for part in self.parts]

  def params(self, run: int = 0) -> Any:
    """Run ``run``'s initial ``nnx.Param`` state, as host arrays."""
    return jax.tree.map(np.asarray, _take(self.state.params, run))

  def model(self, run: int = 0) -> nnx.Module:
    """Run ``run``'s initial model."""
    state = _take(self.state, run)
    return nnx.merge(self.graphdef, state.params, state.model_state)

  def first_loss(self, run: int = 0) -> float:
    """The study's loss of run ``run``'s initial model on its first batch."""
    batch = _take(self.host_batches[run], 0)
    with jax.set_mesh(self.mesh):
      return float(self.study.loss_fn(self.model(run), batch)[0])


class AutoChoice(NamedTuple):
  """What the engine's ``auto`` chose for a group, and its first-chunk timings."""

  execution: str  # the mode it kept
  probe_s: dict  # mode -> seconds of the first chunk in that mode, as the engine logged them
  log: str  # the engine's line


_PROBE_LINE = re.compile(r"first chunk (?P<timings>.*) -> (?P<chosen>\w+)")


def engine_auto(study: engine.Study, config: Any) -> AutoChoice:
  """The engine's own ``execution: auto`` on ``config``'s group: ``engine.train_and_evaluate``
  for one chunk (``total_steps = eval_every``) in a temporary directory, which trains that
  chunk in each mode and keeps the fastest. Its choice is read from ``summary.json``'s
  ``execution``, its timings from the line it logs."""
  config = config_lib.replace(
    config, {"execution": "auto", "total_steps": config.eval_every, "checkpoint_every": 0}
  )
  log = io.StringIO()
  with tempfile.TemporaryDirectory() as workdir, contextlib.redirect_stderr(log):
    summary = engine.train_and_evaluate(study, config, workdir, progress=False)
  (execution,) = {row["execution"] for row in summary}
  found = _PROBE_LINE.search(log.getvalue())
  if found is None or found["chosen"] != execution:
    raise RuntimeError(
      f"engine_auto: no line 'first chunk ... -> {execution}' in {log.getvalue()!r}"
    )
  probe = {mode: float(s) for mode, s in re.findall(r"(\w+) ([0-9.]+) s", found["timings"])}
  return AutoChoice(execution, probe, found.group(0))
