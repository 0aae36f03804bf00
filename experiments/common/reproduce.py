"""``--reproduce N``: rerun runs of a committed preset and set their numbers beside the committed.

N runs are drawn (seeded) from the preset's committed ``summary.json``; each is
trained again from the committed ``config.json`` alone (its spec, its seed, the
execution mode it ran in), and every reported number of its summary row is
printed beside the committed one with the relative difference, the two machines
named. A difference between machines comes from their kernels (summation order,
vector width), which training can amplify: a verdict that rests on a difference
smaller than this spread is not established.
"""

import json
import math
import pathlib
from typing import Any

import numpy as np

from experiments.common import config as config_lib
from experiments.common import machine
from experiments.common import outputs

SKIP = ("wall_seconds", "seed", "final_step", "diverged_at_step")


def committed(results: pathlib.Path) -> tuple[list, dict]:
  """The committed summary rows and config.json of a preset's results folder."""
  summary_path, config_path = results / "summary.json", results / "config.json"
  for path in (summary_path, config_path):
    if not path.exists():
      raise ValueError(f"--reproduce needs committed results: {path} does not exist")
  return json.loads(summary_path.read_text()), json.loads(config_path.read_text())


def sample(summary: list, n: int, seed: int) -> list:
  """``n`` rows of ``summary`` drawn without replacement (all of them if it has fewer)."""
  if n <= 0:
    raise ValueError(f"--reproduce N={n} must be >= 1")
  order = np.random.default_rng(seed).permutation(len(summary))[:n]
  return [summary[i] for i in sorted(order)]


def config_for(base, recorded: dict, row: dict):
  """The committed config narrowed to ``row``'s run and seed, in the mode it ran in."""
  fields = {k: v for k, v in recorded.items() if k != config_lib.MACHINE_KEY}
  config = config_lib.replace(base, fields)
  spec = next(r for r in config.runs if r["name"] == row["spec"])
  # A run of a vmapped or mapped group is reproduced alone: sequential (its own program).
  return config_lib.replace(
    config, {"runs": (spec,), "seeds": (row["seed"],), "execution": "sequential"}
  )


def _numbers(row: dict) -> dict:
  return {
    k: v
    for k, v in row.items()
    if k not in SKIP and (v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)))
  }


def relative(old: Any, new: Any) -> float:
  """``|new - old| / |old|`` (0 when equal, inf when one is missing or ``old`` is 0)."""
  if old == new:
    return 0.0
  if old is None or new is None or old == 0:
    return math.inf
  return abs(new - old) / abs(old)


def table(pairs: list, recorded_machine: dict) -> str:
  """Markdown: per run and number, the committed value, the new one and their relative
  difference; the two machines and the largest differences first."""
  lines = [
    f"Committed on: {machine.line(recorded_machine)}.",
    f"Rerun on: {machine.line(machine.describe())}.",
    "",
    "| run | number | committed | rerun | relative difference | committed mode |",
    "|---|---|---:|---:|---:|---|",
  ]
  worst = 0.0
  for old, new in pairs:
    a, b = _numbers(old), _numbers(new)
    for key in sorted(set(a) & set(b)):
      diff = relative(a[key], b[key])
      worst = max(worst, diff) if math.isfinite(diff) else worst
      lines.append(
        f"| {old['run']} | {key} | {_fmt(a[key])} | {_fmt(b[key])} | {diff:.2e} | "
        f"{old.get('execution') or 'not recorded'} |"
      )
  lines.insert(2, f"Largest finite relative difference: {worst:.2e}.")
  return "\n".join(lines) + "\n"


def _fmt(x: Any) -> str:
  return "-" if x is None else f"{x:.6g}" if isinstance(x, float) else str(x)


def write(out: pathlib.Path, text: str, pairs: list) -> None:
  out.mkdir(parents=True, exist_ok=True)
  (out / "reproduce.md").write_text(text)
  outputs.write_json(out / "reproduce.json", [{"committed": a, "rerun": b} for a, b in pairs])
