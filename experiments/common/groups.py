"""Runs grouped into compiled programs.

Runs whose configurations differ only in numbers (schedule hyperparameters,
the numbers of the optimizer and clipping entries, the learning rate, the seed)
form one :class:`Group`: one compiled program with those numbers as traced
arrays, so changing them never recompiles. A run's study fields (e.g. the
model's width) shape the program: runs that differ in them are different
groups.
"""

import dataclasses
import json
from typing import Any, NamedTuple

import jax
import numpy as np

from experiments.common import config as config_lib
from experiments.common import optim


class Run(NamedTuple):
  name: str  # "<spec name>/seed<k>"
  spec: str
  seed: int
  config: dict  # the run's entry of Config.runs


class Group(NamedTuple):
  """Runs trained by one compiled program."""

  key: str
  runs: tuple
  setup: optim.Setup  # the first run's (its numbers replaced per run)
  numbers: Any  # optim.numbers' pytree, each leaf an array with one value per run
  hparams: tuple  # per run: optim.hyperparameters, for its summary row
  config: Any  # the study's config with the group's per-run fields applied

  @property
  def metric(self):
    """What the group's adaptive entries observe, or None."""
    return self.setup.metric


def run_fields(config, spec: dict) -> dict:
  """The config fields a run sets for itself (study run keys that are config fields, e.g. the
  model's width): they shape the program, so runs that differ in them are different groups."""
  fields = {f.name for f in dataclasses.fields(config)}
  return {k: spec[k] for k in config.study_run_keys if k in spec and k in fields}


def _stack(values: list) -> np.ndarray:
  integral = all(isinstance(v, (int, np.integer)) for v in values)
  return np.asarray(values, np.int32 if integral else np.float32)


def group_runs(config) -> list:
  """Splits ``config.runs x config.seeds`` into groups of one compiled structure."""
  buckets: dict = {}
  for i, spec in enumerate(config.runs):
    setup = optim.resolve(config, spec, where=f"runs[{i}]")
    fields = run_fields(config, spec)
    key = json.dumps([optim.structure(setup), fields], sort_keys=True, default=repr)
    bucket = buckets.setdefault(
      key,
      {"setup": setup, "config": config_lib.replace(config, fields), "runs": [], "numbers": []},
    )
    hparams = optim.hyperparameters(setup, spec["schedule"])
    for seed in config.seeds:
      run = Run(f"{spec['name']}/seed{seed}", spec["name"], int(seed), spec)
      bucket["runs"].append((run, hparams))
      bucket["numbers"].append(optim.numbers(setup))
  return [
    Group(
      f"group{index}",
      tuple(run for run, _ in b["runs"]),
      b["setup"],
      jax.tree.map(lambda *xs: _stack(list(xs)), *b["numbers"]),
      tuple(hparams for _, hparams in b["runs"]),
      b["config"],
    )
    for index, b in enumerate(buckets.values())
  ]


def hparams_by_run(groups: list) -> dict:
  """``{run name: its resolved hyperparameters}`` over every group."""
  return {run.name: h for g in groups for run, h in zip(g.runs, g.hparams)}
