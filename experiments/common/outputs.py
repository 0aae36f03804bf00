"""A study's records: ``metrics.jsonl`` (the primary one), TensorBoard events, the progress bar.

Metric values that are not finite, and every metric of a run after it
diverged, are written as ``null``.
"""

import json
import math
import pathlib
from typing import Any, Iterable, Optional


def append_jsonl(path: pathlib.Path, rows: Iterable[dict]) -> None:
  with open(path, "a", encoding="utf-8") as f:
    for row in rows:
      f.write(json.dumps(row, allow_nan=False) + "\n")


def read_jsonl(path: pathlib.Path) -> list:
  if not path.exists():
    return []
  return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def read_json(path: pathlib.Path, default: Any) -> Any:
  """The JSON in ``path``, or ``default`` when there is no such file."""
  path = pathlib.Path(path)
  return json.loads(path.read_text()) if path.exists() else default


def write_json(path: pathlib.Path, value: Any) -> None:
  pathlib.Path(path).write_text(json.dumps(value, indent=2))


def truncate_jsonl(path: pathlib.Path, max_step: int) -> None:
  """Keeps only the rows with ``step <= max_step`` (used when resuming)."""
  rows = [r for r in read_jsonl(path) if r["step"] <= max_step]
  path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def number(x: float) -> Optional[float]:
  """``x`` as a JSON number, or None when it is NaN or infinite."""
  x = float(x)
  return x if math.isfinite(x) else None


class TensorBoard:
  """One event-file directory per run under ``directory`` (``tensorboard --logdir``).

  Written with tensorboardX, TensorBoard's file format without TensorFlow. A resumed
  study purges the events past its checkpoint, so curves do not fold back.
  """

  def __init__(self, directory: pathlib.Path, runs: Iterable[str], start_step: int):
    try:
      from tensorboardX import SummaryWriter  # pylint: disable=import-outside-toplevel
    except ImportError:
      raise ImportError(
        "TensorBoard files need tensorboardX: pip install -e '.[experiments]'"
      ) from None
    self._writers = {
      run: SummaryWriter(
        str(pathlib.Path(directory) / run), purge_step=start_step or None, flush_secs=30
      )
      for run in runs
    }

  def write(self, rows: Iterable[dict], keys: Iterable[str]) -> None:
    keys = tuple(keys)
    for row in rows:
      writer = self._writers[row["run"]]
      for key in keys:
        if row.get(key) is not None:
          writer.add_scalar(key, row[key], row["step"])

  def close(self) -> None:
    for writer in self._writers.values():
      writer.close()


def progress_postfix(rows: list, keys: Iterable[str]) -> dict:
  """``{key: "min..max"}`` over the healthy runs of one evaluation, and how many diverged."""
  postfix = {}
  for key in keys:
    values = [r[key] for r in rows if r.get(key) is not None]
    if values:
      lo, hi = min(values), max(values)
      postfix[key] = f"{lo:.3g}" if lo == hi else f"{lo:.3g}..{hi:.3g}"
  diverged = sum(r["diverged"] for r in rows)
  if diverged:
    postfix["diverged"] = f"{diverged}/{len(rows)}"
  return postfix
