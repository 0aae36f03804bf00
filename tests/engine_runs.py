"""Shared by the engine's tests: the tiny grokking config, its records, and the study run as a
command or a separate process."""

import json
import os
import pathlib
import subprocess
import sys

import numpy as np

from experiments.common import config as config_lib
from experiments.grokking import configs

ROOT = pathlib.Path(__file__).resolve().parents[1]
METRICS = (
  "train_loss",
  "train_acc",
  "val_loss",
  "val_acc",
  "lr",
  "param_norm",
  "grad_norm",
  "batch_loss",
)


def tiny_config(**changes):
  return config_lib.replace(configs.get("tiny"), changes)


def read_rows(path):
  return [
    json.loads(line) for line in (pathlib.Path(path) / "metrics.jsonl").read_text().splitlines()
  ]


def assert_rows_close(a, b, rtol, atol=1e-6):
  key = lambda r: (r["run"], r["step"])
  a, b = sorted(a, key=key), sorted(b, key=key)
  assert [key(r) for r in a] == [key(r) for r in b]
  for x, y in zip(a, b):
    for k in METRICS:
      np.testing.assert_allclose(x[k], y[k], rtol=rtol, atol=atol, err_msg=f"{x['run']} {k}")


def subprocess_env(**extra):
  return dict(os.environ, PYTHONPATH=str(ROOT), JAX_PLATFORMS="cpu", **extra)


def run_cli(*args, env=None, timeout=600):
  return subprocess.run(
    [sys.executable, "-m", "experiments.grokking", *map(str, args)],
    cwd=ROOT,
    env=env or subprocess_env(),
    capture_output=True,
    text=True,
    timeout=timeout,
  )
