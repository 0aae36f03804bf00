"""Metrics files: one JSON object per line, appended as training goes."""

import json
import pathlib
from typing import Iterable


def append_jsonl(path: pathlib.Path, rows: Iterable[dict]) -> None:
  with open(path, "a", encoding="utf-8") as f:
    for row in rows:
      f.write(json.dumps(row) + "\n")


def read_jsonl(path: pathlib.Path) -> list:
  if not path.exists():
    return []
  return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def truncate_jsonl(path: pathlib.Path, max_step: int) -> None:
  """Keeps only the rows with ``step <= max_step`` (used when resuming)."""
  rows = [r for r in read_jsonl(path) if r["step"] <= max_step]
  path.write_text("".join(json.dumps(r) + "\n" for r in rows))
