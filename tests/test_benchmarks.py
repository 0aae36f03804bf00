"""Smoke test of the benchmark suite: ``python -m benchmarks.run --quick`` runs and writes JSON.

Checks the JSON's shape only; no timing is asserted (the numbers of a quick
run on a shared machine mean nothing).
"""

import json
import math
import os
import pathlib
import subprocess
import sys

import pytest

from benchmarks import report

ROOT = pathlib.Path(__file__).resolve().parents[1]
SECTIONS = {"schedules", "torch_schedulers", "train_step", "grokking_step", "lr_find", "lm_step"}


@pytest.mark.slow
def test_quick_benchmark_run_writes_well_formed_json(tmp_path):
  out = tmp_path / "tmp.json"
  env = {**os.environ, "PYTHONPATH": str(ROOT)}
  proc = subprocess.run(
    [sys.executable, "-m", "benchmarks.run", "--quick", "--json", str(out)],
    cwd=ROOT,
    env=env,
    capture_output=True,
    text=True,
    timeout=600,
    check=False,
  )
  assert proc.returncode == 0, proc.stderr[-4000:]
  result = json.loads(out.read_text())

  header = result["header"]
  for key in ("python", "jax", "jaxlib", "optax", "flax", "torch"):
    assert header["versions"][key], key
  for key in ("jax_devices", "jax_backend", "platform", "cpu_model", "cpu_count"):
    assert header["device"][key], key
  assert len(header["load_average_start"]) == 3 and len(header["load_average_end"]) == 3
  assert result["quick"] is True

  entries = result["entries"]
  assert {e["section"] for e in entries} == SECTIONS
  assert set(result["sections"]) == SECTIONS
  names = [e["name"] for e in entries]
  assert len(names) == len(set(names))
  for e in entries:
    assert e["name"] and e["ours"] and e["baseline"], e
    assert e["ratio_is"].startswith("ours_s / baseline_s")
    assert "ours_s" in e["compile"] and "baseline_s" in e["compile"]
    ours_s = e["timings"]["ours_s"]
    assert math.isfinite(ours_s) and ours_s > 0, e["name"]
    if "error" in e:  # e.g. torch.compile, skipped in --quick or failed: a string, no number
      assert isinstance(e["error"], str) and e["error"]
      assert e["ratio"] is None
      continue
    baseline_s = e["timings"]["baseline_s"]
    assert math.isfinite(baseline_s) and baseline_s > 0, e["name"]
    assert math.isfinite(e["ratio"]) and e["ratio"] > 0, e["name"]
    assert e["ratio"] == pytest.approx(ours_s / baseline_s)
    if "target" in e:
      assert e["target_met"] in (True, False), e["name"]

  # The RESULTS.md renderer: one table row per entry, every missed target named.
  text = report.render(result)
  rows = [line for line in text.splitlines() if line.startswith("| ")]
  for e in entries:
    assert any(line.startswith(f"| {e['name']} |") for line in rows), e["name"]
  summary = next(line for line in text.splitlines() if " with a target: " in line)
  for e in entries:
    if e.get("target_met") is False:
      assert e["name"] in summary.split(" missed (", 1)[1]


def test_committed_results_md_matches_committed_json():
  """RESULTS.md's generated part is the rendering of the committed JSON files (results.json and
  every results_*.json), not a hand-edited copy."""
  files = report.default_files()
  assert files[0].name == "results.json" and all(p.is_file() for p in files)
  committed = [json.loads(p.read_text()) for p in files]
  assert report.render(*committed) in (ROOT / "benchmarks" / "RESULTS.md").read_text()


def test_report_sets_machines_side_by_side_with_the_cpu_model_a_column():
  """Several runs: the shared rows in one table with the CPU model per row, and a section per
  CPU family; one run: no such table."""
  committed = json.loads((ROOT / "benchmarks" / "results.json").read_text())

  def run_on(cpu_model: str, speedup: float) -> dict:
    header = dict(
      committed["header"], device=dict(committed["header"]["device"], cpu_model=cpu_model)
    )
    entry = dict(committed["entries"][0], speedup=speedup, ratio=1 / speedup)
    return dict(committed, header=header, entries=[entry])

  amd, intel = run_on("AMD EPYC 7B13", 1.25), run_on("Intel(R) Xeon(R) CPU @ 2.20GHz", 0.8)
  text = report.render(amd, intel)
  name = committed["entries"][0]["name"]
  assert f"| {name} | AMD EPYC 7B13 |" in text
  assert f"| {name} | Intel(R) Xeon(R) CPU @ 2.20GHz |" in text
  assert "## AMD: AMD EPYC 7B13" in text and "## Intel: Intel(R) Xeon(R) CPU @ 2.20GHz" in text
  assert "Across machines" not in report.render(amd)
