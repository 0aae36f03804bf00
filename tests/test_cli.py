"""The ``jaxsched`` command line.

Every command line of this module runs once, in the module-scoped ``runs``
fixture; the tests then check one finished command each. Those of
``AS_PROCESSES`` run as ``python -m jaxsched`` in subprocesses, concurrently
(the entry point, its exit status and its one-line errors as a shell sees
them); the others call the same ``main`` in this process, with stdout and
stderr captured (each process would spend seconds importing JAX).
"""

import concurrent.futures
import contextlib
import inspect
import io
import os
import pathlib
import re
import struct
import subprocess
import sys

import matplotlib.image
import pytest

import jaxsched
from jaxsched.tools import _cli as cli
from tests.study_records import TOTAL
from tests.study_records import write_study

REPO = pathlib.Path(__file__).resolve().parents[1]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# _plotting.plot: a 9 x 4.8 inch figure saved at 110 dpi.
PLOT_SIZE = (990, 528)

# 3e-4 and 1e3 are strings to PyYAML (YAML 1.1): the file is read with
# jaxsched.load_config, which makes them numbers (--steps defaults to 1000).
CONFIG_YAML = """\
# Two schedules, name -> {type: NAME, ...keywords}.
warm:
  type: warmup_cosine
  peak_value: 3e-4
  warmup_steps: 100
  total_steps: 1e3
decay:
  type: step_decay
  init_value: 2.0e-4
  step_size: 300
  gamma: 0.5
"""

# For compare: "linear" and "poly.yaml" are the same curve written two ways; "stairs"
# (halving every 30 steps) and MULTISTEP (halving at 30, 60 and 80) first part at
# step 80 (a third halving there, the second one of stairs).
PAIR_YAML = """\
linear:
  type: warmup_linear
  peak_value: 1.0e-3
  warmup_steps: 0
  total_steps: 100
stairs:
  type: step_decay
  init_value: 1.0e-3
  step_size: 30
  gamma: 0.5
"""
POLY_YAML = "{type: polynomial_decay, init_value: 1.0e-3, total_steps: 100, power: 1.0}\n"
MULTISTEP = "{type: multistep_decay, init_value: 1.0e-3, milestones: [30, 60, 80], gamma: 0.5}"

# A known law: the study's curves are drawn from it (tests/study_records.py); `law predict`
# reads it from known.json.
LAW = jaxsched.LossLaw("momentum", dict(L0=2.0, A=0.5, alpha=0.5, C=3.0, decay=0.999), 0.0)
# name -> argv after `python -m jaxsched`.
COMMANDS = {
  "list": ["list"],
  "plot": [
    "plot",
    "warmup_cosine",
    "--peak-value",
    "3e-4",
    "--warmup-steps",
    "2000",
    "--total-steps",
    "100000",
    "-o",
    "cosine.png",
  ],
  "plot_config": ["plot", "--config", "two.yaml", "-o", "two.png"],
  "inspect_config": ["inspect", "--config", "two.yaml"],
  "inspect": ["inspect", "cyclic", "--base-lr", "0.1", "--max-lr", "1", "--steps", "5000"],
  "lr_find": ["lr-find", "-o", "finder.png", "--num-steps", "60"],
  "lr_find_trials": ["lr-find", "-o", "trials.png", "--num-steps", "60", "--trials", "4"],
  "lr_find_linear": [
    "lr-find",
    "-o",
    "linear.png",
    "--num-steps",
    "60",
    "--mode",
    "linear",
    "--start-lr",
    "1e-3",
    "--end-lr",
    "3",
  ],
  "help": ["plot", "warmup_cosine", "--help"],
  "compare_same": ["compare", "--config", "pair.yaml", "linear", "poly.yaml"],
  "compare_differ": ["compare", "--config", "pair.yaml", "stairs", MULTISTEP, "--steps", "100"],
  "law_fit": [
    "law",
    "fit",
    "study/metrics.jsonl",
    "--runs",
    "constant,cosine",
    "--heldout",
    "wsd",
    "-o",
    "law.json",
    "--plot",
    "fit.png",
  ],
  "law_predict": ["law", "predict", "known.json", "--config", "two.yaml", "-o", "pred.png"],
}

# name -> (argv, words the one error line must contain).
BAD = {
  "unknown_command": (["frobnicate"], ["frobnicate"]),
  "unknown_schedule": (["plot", "no_such_schedule", "--steps", "10"], ["no_such_schedule"]),
  "unknown_option": (
    ["plot", "constant", "--value", "0.1", "--steps", "10", "--bogus", "3"],
    ["--bogus"],
  ),
  "missing_required": (
    ["plot", "warmup_cosine", "--peak-value", "1", "--warmup-steps", "10"],
    ["--total-steps"],
  ),
  "invalid_value": (
    [
      "plot",
      "warmup_cosine",
      "--peak-value",
      "1",
      "--warmup-steps",
      "2000",
      "--total-steps",
      "1000",
    ],
    ["warmup_steps", "total_steps"],
  ),
  "missing_steps": (["inspect", "cyclic", "--base-lr", "0.1", "--max-lr", "1"], ["--steps"]),
  "nested_without_config": (["plot", "sequential", "--steps", "10"], ["sequential", "--config"]),
  "missing_config_file": (["plot", "--config", "missing.yaml"], ["missing.yaml"]),
  "compare_unknown_name": (
    ["compare", "--config", "pair.yaml", "linear", "nope"],
    ["nope", "--config", "linear, stairs"],
  ),
  "lr_find_zero_trials": (["lr-find", "--trials", "0"], ["--trials=0", ">= 1"]),
  "lr_find_bad_mode": (["lr-find", "--mode", "cosine"], ["--mode", "cosine"]),
  "compare_without_steps": (
    ["compare", "{type: constant, value: 0.1}", "{type: constant, value: 0.2}"],
    ["--steps"],
  ),
  "law_unknown_run": (
    ["law", "fit", "study/metrics.jsonl", "--runs", "constant,nope"],
    ["nope", "constant, cosine, wsd"],
  ),
  "law_missing_metrics": (["law", "fit", "missing.jsonl", "--runs", "a"], ["missing.jsonl"]),
  "law_unknown_metric": (
    ["law", "fit", "study/metrics.jsonl", "--runs", "constant", "--metric", "train_ce"],
    ["train_ce", "val_loss"],
  ),
  "law_unknown_kind": (
    ["law", "fit", "study/metrics.jsonl", "--runs", "constant", "--kind", "chinchilla"],
    ["--kind", "chinchilla"],
  ),
  "law_unknown_command": (["law", "guess"], ["guess", "fit, predict"]),
  "law_missing_law": (["law", "predict", "nope.json", "--config", "two.yaml"], ["nope.json"]),
}


# Run as `python -m jaxsched` (one of each kind of outcome: output, help, each error path's exit).
AS_PROCESSES = {"list", "help", "unknown_command", "invalid_value", "missing_config_file"}


def _env():
  env = dict(os.environ)
  env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
  env.setdefault("JAX_PLATFORMS", "cpu")  # the same backend, and start-up, on every machine
  return env


def _run_here(argv, cwd):
  """``main(argv)`` in this process, run in ``cwd``, as a CompletedProcess."""
  stdout, stderr = io.StringIO(), io.StringIO()
  previous = os.getcwd()
  os.chdir(cwd)
  try:
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
      try:
        code = cli.main(argv)
      except SystemExit as e:  # argparse's --help
        code = e.code if isinstance(e.code, int) else int(e.code is not None)
  finally:
    os.chdir(previous)
  return subprocess.CompletedProcess(argv, code, stdout.getvalue(), stderr.getvalue())


def _run(argv, cwd):
  return subprocess.run(
    [sys.executable, "-m", "jaxsched", *argv],
    cwd=cwd,
    env=_env(),
    capture_output=True,
    text=True,
    timeout=300,
    check=False,
  )


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
  """name -> (CompletedProcess, its working directory), all started at once."""
  jobs = {**COMMANDS, **{name: argv for name, (argv, _) in BAD.items()}}
  study = write_study(tmp_path_factory.mktemp("study"), LAW)
  dirs = {}
  for name in jobs:
    dirs[name] = tmp_path_factory.mktemp(name)
    (dirs[name] / "two.yaml").write_text(CONFIG_YAML)
    (dirs[name] / "pair.yaml").write_text(PAIR_YAML)
    (dirs[name] / "poly.yaml").write_text(POLY_YAML)
    (dirs[name] / "known.json").write_text(LAW.to_json())
    (dirs[name] / "study").mkdir()
    for record in ("metrics.jsonl", "config.json"):
      (dirs[name] / "study" / record).write_text((study.parent / record).read_text())
  with concurrent.futures.ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
    futures = {
      name: pool.submit(_run, argv, dirs[name])
      for name, argv in jobs.items()
      if name in AS_PROCESSES
    }
    done = {name: _run_here(argv, dirs[name]) for name, argv in jobs.items() if name not in futures}
    return {
      name: (futures[name].result() if name in futures else done[name], dirs[name]) for name in jobs
    }


def _ok(runs, name):
  proc, cwd = runs[name]
  assert proc.returncode == 0, proc.stderr
  return proc, cwd


def _png_size(path):
  """(width, height) from the PNG signature and IHDR chunk."""
  data = path.read_bytes()
  assert data[:8] == PNG_SIGNATURE
  assert data[12:16] == b"IHDR"
  return struct.unpack(">II", data[16:24])


# --- commands that work ------------------------------------------------------------


def test_list_shows_every_schedule(runs):
  proc, _ = _ok(runs, "list")
  listed = {
    line.split()[0]
    for line in proc.stdout.splitlines()
    if line.strip() and not line.startswith(" ")
  }
  assert {entry.name for entry in jaxsched.catalog()} <= listed


def test_plot_writes_the_png(runs):
  proc, cwd = _ok(runs, "plot")
  path = cwd / "cosine.png"
  assert "cosine.png" in proc.stdout
  assert _png_size(path) == PLOT_SIZE
  height, width = matplotlib.image.imread(path).shape[:2]
  assert (width, height) == PLOT_SIZE


def test_plot_config_with_two_schedules(runs):
  _, cwd = _ok(runs, "plot_config")
  assert _png_size(cwd / "two.png") == PLOT_SIZE


def test_inspect_config_reports_both_schedules(runs):
  proc, _ = _ok(runs, "inspect_config")
  out = proc.stdout
  # Steps default to the largest total_steps in the file (1000).
  assert "warm over 1000 steps" in out
  assert "decay over 1000 steps" in out
  assert "max 0.0003 (step 100)" in out and "warmup 100 steps" in out
  # step_decay: 2e-4, 1e-4, 5e-5, 2.5e-5 on steps 900..999.
  assert "min 2.5e-05   max 0.0002 (step 0)" in out


def test_inspect_prints_min_max_and_warmup(runs):
  proc, _ = _ok(runs, "inspect")
  out = proc.stdout
  match = re.search(r"min (\S+)\s+max (\S+) \(step (\d+)\)\s+final (\S+)\s+warmup (\d+) steps", out)
  assert match, out
  low, high, argmax, final, warmup = match.groups()
  assert float(low) == pytest.approx(0.1)
  assert float(high) == pytest.approx(1.0)
  assert int(argmax) == 2000
  assert float(final) == pytest.approx(0.1 + 0.9 * 999 / 2000, rel=1e-5)
  assert int(warmup) == 2000
  assert "cyclic over 5000 steps" in out


def test_lr_find_writes_the_png_and_prints_suggestions(runs):
  proc, cwd = _ok(runs, "lr_find")
  assert (cwd / "finder.png").read_bytes()[:8] == PNG_SIGNATURE
  width, height = _png_size(cwd / "finder.png")
  assert width > 300 and height > 300
  for rule in ("valley", "steepest", "minimum"):
    match = re.search(rf"{rule}: (\S+)", proc.stdout)
    assert match, proc.stdout
    assert 1e-5 <= float(match.group(1)) <= 100.0  # within the default sweep


def test_lr_find_trials_prints_medians_with_quartiles(runs):
  proc, cwd = _ok(runs, "lr_find_trials")
  assert (cwd / "trials.png").read_bytes()[:8] == PNG_SIGNATURE
  for rule in ("valley", "steepest", "minimum"):
    match = re.search(
      rf"{rule}: (\S+) \(median of 4 trials, quartiles (\S+)\.\.(\S+)\)", proc.stdout
    )
    assert match, proc.stdout
    median, low, high = map(float, match.groups())
    assert 1e-5 <= low <= median <= high <= 100.0
  stops = re.search(r"stopped at steps (.+) \(", proc.stdout)
  assert stops and len(stops.group(1).split(", ")) == 4, proc.stdout


def test_lr_find_linear_mode(runs):
  proc, cwd = _ok(runs, "lr_find_linear")
  assert (cwd / "linear.png").read_bytes()[:8] == PNG_SIGNATURE
  for rule in ("valley", "steepest", "minimum"):
    match = re.search(rf"{rule}: (\S+)", proc.stdout)
    assert match, proc.stdout
    assert 1e-4 <= float(match.group(1)) <= 3.0


def test_schedule_help_lists_keywords_with_defaults(runs):
  proc, _ = _ok(runs, "help")
  text = " ".join(proc.stdout.split())  # undo argparse's line wrapping
  for name, param in inspect.signature(jaxsched.warmup_cosine).parameters.items():
    assert "--" + name.replace("_", "-") in text
    if param.default is not param.empty:
      assert f"default: {param.default!r}" in text
  assert "--steps" in text and "--output" in text and "--log-y" in text


def test_compare_equal_schedules_exits_0(runs):
  proc, _ = _ok(runs, "compare_same")
  assert "poly.yaml against linear over 100 steps (rtol=1e-05, atol=0)" in proc.stdout
  assert re.search(r"max abs deviation\s+0\n", proc.stdout), proc.stdout
  assert re.search(r"first mismatch\s+none", proc.stdout), proc.stdout


def test_compare_reports_the_first_mismatch_and_exits_1(runs):
  proc, _ = runs["compare_differ"]
  assert proc.returncode == 1, proc.stderr
  match = re.search(r"first mismatch\s+step (\d+): stairs (\S+), .* (\S+)\n", proc.stdout)
  assert match, proc.stdout
  assert int(match.group(1)) == 80
  assert float(match.group(2)) == pytest.approx(2.5e-4, rel=1e-6)  # 1e-3 / 4
  assert float(match.group(3)) == pytest.approx(1.25e-4, rel=1e-6)  # 1e-3 / 8
  assert re.search(r"max abs deviation\s+0.000125\n", proc.stdout), proc.stdout
  assert re.search(r"max rel deviation\s+0.5\n", proc.stdout), proc.stdout


def test_law_fit_prints_the_law_and_its_held_out_errors(runs):
  proc, cwd = _ok(runs, "law_fit")
  out = proc.stdout
  assert "momentum law fitted to constant, cosine (val_loss, 40 points)" in out
  fitted = jaxsched.LossLaw.from_json((cwd / "law.json").read_text())
  # The seeds' mean is the law plus 0.01 (the seeds are offset by 0 and 0.02).
  assert fitted.params["alpha"] == pytest.approx(LAW.params["alpha"], rel=0.05)
  assert re.search(rf"alpha {fitted.params['alpha']:.6g}", out), out
  row = re.search(r"^wsd\s+(\d+)\s+(\S+)\s+(\S+)\s+(\S+)%\s+(\S+)%$", out, flags=re.M)
  assert row, out
  step, measured, predicted, rel, mape = row.groups()
  assert int(step) == TOTAL - 1
  assert abs(float(rel)) < 0.5 and float(mape) < 0.5  # percent
  assert abs(float(predicted) - float(measured)) < 0.02
  height, width = matplotlib.image.imread(cwd / "fit.png").shape[:2]
  assert width > 300 and height > 300


def test_law_predict_prints_each_schedules_final_loss(runs):
  proc, cwd = _ok(runs, "law_predict")
  lines = proc.stdout.splitlines()
  assert lines[0] == "momentum law: the loss after update 999"
  finals = {}
  for line in lines[1:3]:
    name, value = line.split()
    finals[name] = float(value)
  for name, cfg in jaxsched.load_config(CONFIG_YAML).items():
    expected = float(LAW.predict(jaxsched.from_config(cfg), TOTAL - 1))
    assert finals[name] == pytest.approx(expected, abs=1e-5), name
  assert list(finals) == sorted(finals, key=finals.get)  # lowest first
  assert (cwd / "pred.png").read_bytes()[:8] == PNG_SIGNATURE


# --- bad input: exit status 2 and one line on stderr ------------------------------------


@pytest.mark.parametrize("name", list(BAD))
def test_bad_input_exits_2_with_one_line(runs, name):
  proc, cwd = runs[name]
  _, words = BAD[name]
  assert proc.returncode == 2, (proc.returncode, proc.stderr)
  lines = proc.stderr.splitlines()
  assert len(lines) == 1, proc.stderr
  assert lines[0].startswith("jaxsched"), lines[0]
  for word in words:
    assert word in lines[0], lines[0]
  assert proc.stdout == ""
  assert not list(cwd.glob("*.png"))
