"""Measured loss curves from a study's records (``metrics.jsonl`` and ``config.json``)."""

import json
import pathlib
from typing import Any, Optional, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxsched import _config


def _read_jsonl(fn: str, path: pathlib.Path) -> list:
  rows = []
  for i, line in enumerate(path.read_text().splitlines()):
    if line.strip():
      try:
        rows.append(json.loads(line))
      except json.JSONDecodeError as e:
        raise ValueError(f"{fn}: {path} line {i + 1} is not JSON: {e}") from None
  return rows


def _schedules(fn: str, config_path: pathlib.Path) -> dict:
  """Each run spec's schedule, rebuilt as the study built it: name -> schedule."""
  if not config_path.exists():
    raise ValueError(
      f"{fn}: {config_path} not found; the learning rates of every update are rebuilt from "
      "the study's config.json beside metrics.jsonl"
    )
  config = json.loads(config_path.read_text())
  out = {}
  for i, run in enumerate(config.get("runs", [])):
    if not isinstance(run, dict) or "name" not in run or "schedule" not in run:
      raise ValueError(f"{fn}: {config_path} runs[{i}] has no name or schedule")
    rate = run.get("learning_rate", config.get("learning_rate"))
    out[run["name"]] = _config.resolve_config(run["schedule"], learning_rate=rate).build()
  return out


def load_curves(
  metrics_path: Any,
  runs: Optional[Sequence[str]] = None,
  *,
  metric: str = "val_loss",
  average_seeds: bool = True,
) -> dict:
  """A study's measured loss curves, ready for :func:`fit_loss_law` and :func:`evaluate_law`.

  Reads the rows (``run``, ``spec``, ``step``, ``lr`` and the metric) of a
  study's ``metrics.jsonl`` and rebuilds each run's schedule from the
  ``config.json`` beside it (``runs``: ``{name, schedule, learning_rate?}``;
  the run's ``learning_rate``, else the study's, fills the schedule's base
  rate, as the study did), so that the law sees the rate of every update,
  not only of the logged ones. A row's ``step`` counts the updates done, so
  its loss is the loss after update ``step - 1``: that is the step given
  here. The logged ``lr`` (the rate of update ``step - 1``) must match the
  rebuilt schedule; it does not when the optimizer scaled the rate (an
  adaptive transformation), and then no schedule describes the run.

  Args:
    metrics_path: the ``metrics.jsonl`` file, or the directory holding it.
    runs: the names to load: a run spec's name (its seeds averaged, or each
      seed on its own without ``average_seeds``) or a run's name
      ``<spec>/seed<k>``; all specs by default.
    metric: the loss to read, e.g. ``val_loss`` or ``batch_loss``.
    average_seeds: a spec's curve is the mean over its seeds at the steps
      every seed logged; otherwise one curve per seed.

  Returns:
    ``{name: (schedule, steps, losses)}`` in the order asked for.
  """
  fn = "load_curves"
  path = pathlib.Path(metrics_path)
  if path.is_dir():
    path = path / "metrics.jsonl"
  if not path.exists():
    raise ValueError(f"{fn}: {path} not found")
  rows = _read_jsonl(fn, path)
  if not rows:
    raise ValueError(f"{fn}: {path} has no rows")
  schedules = _schedules(fn, path.parent / "config.json")
  if not any(metric in row for row in rows):
    keys = sorted({k for row in rows for k, v in row.items() if isinstance(v, (int, float))})
    raise ValueError(f"{fn}: no row of {path} has {metric!r}; its numbers: {', '.join(keys)}")
  by_run: dict = {}
  for row in rows:
    by_run.setdefault(row.get("run"), []).append(row)
  spec_of = {
    name: rs[0].get("spec", str(name).rsplit("/seed", 1)[0]) for name, rs in by_run.items()
  }
  specs = list(dict.fromkeys(spec_of.values()))
  wanted = list(runs) if runs is not None else specs
  curves = {}
  for name in wanted:
    if name in by_run and not (average_seeds and name in specs):
      members = [name]
    elif name in specs:
      members = [r for r, s in spec_of.items() if s == name]
    else:
      raise ValueError(
        f"{fn}: no run {name!r} in {path}; its runs: {', '.join(map(str, specs))} "
        "(or <spec>/seed<k>)"
      )
    if not average_seeds and len(members) > 1:
      for member in members:
        curves[member] = _curve(fn, member, by_run, [member], spec_of, schedules, metric)
    else:
      curves[name] = _curve(fn, name, by_run, members, spec_of, schedules, metric)
  return curves


def _curve(
  fn: str, name: str, by_run: dict, members: list, spec_of: dict, schedules: dict, metric: str
) -> tuple:
  spec = spec_of[members[0]]
  if spec not in schedules:
    raise ValueError(f"{fn}: run {name!r}: no spec {spec!r} in config.json's runs")
  per_member = []
  for member in members:
    seen = {}
    for row in by_run[member]:
      if row.get("diverged") or row.get(metric) is None:
        raise ValueError(
          f"{fn}: run {member!r} has no {metric} at step {row.get('step')} (it diverged at "
          f"step {row.get('diverged_at_step', '?')}); a loss law needs a whole curve"
        )
      seen[int(row["step"])] = row
    per_member.append(seen)
  steps = sorted(set.intersection(*(set(s) for s in per_member)))
  if not steps:
    raise ValueError(f"{fn}: the seeds of {name!r} share no logged step")
  losses = np.mean([[seen[s][metric] for s in steps] for seen in per_member], axis=0)
  schedule = schedules[spec]
  update = np.asarray(steps, np.int64) - 1  # the loss after update `step - 1`
  logged = np.asarray([per_member[0][s].get("lr", np.nan) for s in steps], np.float64)
  rebuilt = np.asarray(jax.jit(schedule)(jnp.asarray(np.maximum(update, 0), jnp.int32)))
  known = np.isfinite(logged)
  if np.any(~np.isclose(logged[known], rebuilt[known], rtol=1e-4, atol=0.0)):
    i = int(np.flatnonzero(known)[np.argmax(~np.isclose(logged[known], rebuilt[known], 1e-4, 0))])
    raise ValueError(
      f"{fn}: run {name!r} logged lr={logged[i]:.6g} at step {steps[i]}, but its schedule "
      f"gives {rebuilt[i]:.6g} for update {update[i]}: the optimizer changed the rate, so no "
      "schedule describes this run"
    )
  return schedule, update, losses
