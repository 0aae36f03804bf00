"""The README's main command (the schedule tour) runs and writes what it says."""

import json
import pathlib
import subprocess
import sys

import jaxsched

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_tour_prints_catalog_and_writes_plot(tmp_path):
  result = subprocess.run(
    [
      sys.executable,
      "-m",
      "experiments.schedule_tour",
      "--out",
      str(tmp_path),
      "--total-steps",
      "200",
    ],
    cwd=ROOT,
    capture_output=True,
    text=True,
    check=True,
    timeout=300,
  )
  for entry in jaxsched.catalog():
    assert entry.name in result.stdout
  png = (tmp_path / "schedules.png").read_bytes()
  assert png.startswith(b"\x89PNG")
  summary = json.loads((tmp_path / "summary.json").read_text())
  assert abs(summary["warmup_cosine"]["max"] - 1e-3) <= 1e-9
