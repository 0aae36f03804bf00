"""The study engine across devices and processes, on the grokking study's tiny preset: 8 forced
host devices, 2 processes, the model axis, and Ctrl-C then resume of a separate process. Apart
from test_engine.py so that the two files run on different workers."""

import socket
import subprocess
import sys

import numpy as np

from experiments.common import engine
from experiments.grokking import train
from tests.engine_runs import assert_rows_close
from tests.engine_runs import read_rows
from tests.engine_runs import ROOT
from tests.engine_runs import run_cli
from tests.engine_runs import subprocess_env
from tests.engine_runs import tiny_config


def test_eight_host_devices_match_one(tmp_path):
  code = (
    "import sys, jax; from experiments.grokking import configs, train; "
    "from experiments.common import config; assert len(jax.devices()) == 8; "
    "c = config.replace(configs.get('tiny'), {'total_steps': 100, 'checkpoint_every': 0, "
    "'batch_size': 64, 'execution': 'sequential'}); "
    "train.train_and_evaluate(c, sys.argv[1], progress=False)"
  )
  subprocess.run(
    [sys.executable, "-c", code, str(tmp_path / "eight")],
    cwd=ROOT,
    check=True,
    env=subprocess_env(XLA_FLAGS="--xla_force_host_platform_device_count=8"),
    timeout=600,
  )
  train.train_and_evaluate(
    tiny_config(total_steps=100, checkpoint_every=0, batch_size=64, execution="sequential"),
    tmp_path / "one",
    progress=False,
  )
  # The tiny preset trains at LR 3e-3 for 100 steps, far from its edge of stability, so summing
  # in another order perturbs every metric at float32 rounding and training does not amplify it
  # (largest relative difference measured: 1.3e-7, AMD EPYC); rtol 1e-4 leaves a factor 1000.
  assert_rows_close(read_rows(tmp_path / "eight"), read_rows(tmp_path / "one"), rtol=1e-4)


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def test_two_processes_match_one(tmp_path):
  common = [
    "--preset",
    "tiny",
    "--set",
    "total_steps=100",
    "--set",
    "checkpoint_every=0",
    "--set",
    "batch_size=64",
    "--set",
    "execution=sequential",
    "--no-progress",
  ]
  address = f"127.0.0.1:{_free_port()}"
  procs = [
    subprocess.Popen(
      [
        sys.executable,
        "-m",
        "experiments.grokking",
        *common,
        "--out",
        str(tmp_path / "two"),
        "--coordinator",
        address,
        "--num-processes",
        "2",
        "--process-id",
        str(i),
      ],
      cwd=ROOT,
      env=subprocess_env(),
      stdout=subprocess.PIPE,
      stderr=subprocess.PIPE,
      text=True,
    )
    for i in range(2)
  ]
  for p in procs:
    out, err = p.communicate(timeout=600)
    assert p.returncode == 0, err[-3000:]
  single = run_cli(*common, "--out", tmp_path / "one")
  assert single.returncode == 0, single.stderr[-3000:]
  # As for eight devices: a stable LR over 100 steps keeps the difference at float32 rounding
  # (largest relative difference measured: 1.2e-7, AMD EPYC).
  assert_rows_close(read_rows(tmp_path / "two"), read_rows(tmp_path / "one"), rtol=1e-4)


def test_model_axis_shards_annotated_parameters_and_keeps_the_metrics(tmp_path):
  sys.path.insert(0, str(ROOT / "tests"))
  import toy_study  # pylint: disable=import-outside-toplevel

  result = subprocess.run(
    [sys.executable, str(ROOT / "tests" / "toy_study.py"), str(tmp_path / "sharded"), "2"],
    cwd=ROOT,
    capture_output=True,
    text=True,
    env=subprocess_env(XLA_FLAGS="--xla_force_host_platform_device_count=8"),
    timeout=600,
  )
  assert result.returncode == 0, result.stderr[-3000:]
  assert result.stdout.strip().splitlines()[-1] == "(None, None, 'model')"
  assert toy_study.kernel_spec(toy_study.config()) == ()  # one device: replicated
  engine.train_and_evaluate(toy_study.STUDY, toy_study.config(), tmp_path / "one", progress=False)
  sharded, one = read_rows(tmp_path / "sharded"), read_rows(tmp_path / "one")
  # 20 steps at LR 1e-2 on a 4-8-1 toy network: the sharded kernel's sums reorder at float32
  # rounding, which so few stable steps do not amplify (measured: 1.5e-7 at most, AMD EPYC;
  # rtol 1e-5 leaves a factor 60).
  for a, b in zip(sharded, one):
    np.testing.assert_allclose(a["val_loss"], b["val_loss"], rtol=1e-5)
  assert len(sharded) == len(one) == 2


_WITH_CTRL_C = (
  "import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
  "sys.argv[0] = 'experiments.grokking'; "
  "runpy.run_module('experiments.grokking', run_name='__main__', alter_sys=True)"
)


def test_ctrl_c_saves_and_resume_finishes_the_run(tmp_path):
  import signal  # pylint: disable=import-outside-toplevel
  import time  # pylint: disable=import-outside-toplevel

  args = [
    "--preset",
    "tiny",
    "--set",
    "total_steps=3000",
    "--set",
    "eval_every=50",
    "--set",
    "checkpoint_every=1000",
    "--set",
    "seeds=[0]",
    "--no-progress",
  ]
  out = tmp_path / "interrupted"
  proc = subprocess.Popen(
    # A shell running the suite in the background ignores SIGINT, and its children inherit that
    # (Python then installs no KeyboardInterrupt handler): the child installs it itself.
    [sys.executable, "-c", _WITH_CTRL_C, *args, "--out", str(out)],
    cwd=ROOT,
    env=subprocess_env(),
    stdout=subprocess.PIPE,
    stderr=subprocess.PIPE,
    text=True,
  )
  deadline = time.time() + 300
  while time.time() < deadline and not (
    (out / "metrics.jsonl").exists() and len(read_rows(out)) >= 4
  ):
    time.sleep(0.02)
  # Paused before the signal, so that a fast machine cannot finish the 3000 steps between the
  # poll and the signal: the run takes the Ctrl-C when it continues, at its next chunk.
  proc.send_signal(signal.SIGSTOP)
  proc.send_signal(signal.SIGINT)
  proc.send_signal(signal.SIGCONT)
  stdout, stderr = proc.communicate(timeout=300)
  assert proc.returncode == 0, stderr[-3000:]
  assert "interrupted at step" in stdout
  stopped = max(r["step"] for r in read_rows(out))
  assert stopped < 3000 and (out / "summary.json").exists()  # the results so far
  resumed = run_cli(*args, "--out", out, "--resume")
  assert resumed.returncode == 0, resumed.stderr[-3000:]
  straight = run_cli(*args, "--out", tmp_path / "straight")
  assert straight.returncode == 0, straight.stderr[-3000:]
  assert read_rows(out) == read_rows(tmp_path / "straight")
