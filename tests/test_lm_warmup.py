"""The LM warmup study: sensitivity measures against NumPy, the attention-logit metric, the CLI,
sharded = one device, divergence isolation."""

import json
import math
import os
import pathlib
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from experiments.common import config as config_lib
from experiments.common import sharding
from experiments.lm_warmup import analysis
from experiments.lm_warmup import configs
from experiments.lm_warmup import data as data_lib
from experiments.lm_warmup import model as model_lib
from experiments.lm_warmup import train

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _rows(path):
  return [
    json.loads(line) for line in (pathlib.Path(path) / "metrics.jsonl").read_text().splitlines()
  ]


def _env(**extra):
  return dict(os.environ, PYTHONPATH=str(ROOT), JAX_PLATFORMS="cpu", **extra)


# ------------------------------------------------------------------------------- measures


def test_sensitivity_on_a_crafted_table():
  l0 = math.log(100)  # 4.605
  losses = {3e-4: 3.0, 1e-3: 2.2, 3e-3: 2.0, 1e-2: 2.5, 3e-2: 4.0, 1e-1: None, 3e-1: 9.0}
  result = analysis.sensitivity(losses, l0, margin=1.0)
  capped = np.array([3.0, 2.2, 2.0, 2.5, 4.0, l0, l0])  # diverged and worse-than-l0 count as l0
  assert result["lr_sensitivity"] == pytest.approx(np.mean(capped - capped.min()))
  assert result["best_loss"] == pytest.approx(2.0) and result["best_lr"] == 3e-3
  assert result["max_stable_lr"] == 1e-2  # 4.0 is not 1 nat below ln 100; 1e-1 diverged
  assert analysis.sensitivity({1e-3: None, 1e-2: 5.0}, l0, 1.0)["max_stable_lr"] is None


def test_sensitivities_aggregate_over_seeds():
  config = configs.get("smoke")
  base = {k: 0 for k in analysis.CONFIG_KEYS}
  summary = [
    {**base, "seed": seed, "peak_lr": lr, "final_val_loss": loss}
    for seed, table in ((0, {1e-3: 3.0, 1e-2: 2.0}), (1, {1e-3: 2.0, 1e-2: 4.0}))
    for lr, loss in table.items()
  ]
  (item,) = analysis.sensitivities(config, summary, vocab_size=100)
  per_seed = [np.mean([1.0, 0.0]), np.mean([0.0, 2.0])]
  assert item["lr_sensitivity"] == pytest.approx(np.mean(per_seed))
  assert item["lr_sensitivity_sd"] == pytest.approx(np.std(per_seed))
  assert item["best_lr_per_seed"] == [1e-2, 1e-3] and item["seeds"] == 2


def _rope_numpy(x):
  length, half = x.shape[1], x.shape[3] // 2
  freqs = 10_000.0 ** (-np.arange(half) / half)
  angles = np.arange(length)[:, None] * freqs[None, :]
  cos, sin = np.cos(angles)[None, :, None, :], np.sin(angles)[None, :, None, :]
  x1, x2 = x[..., :half], x[..., half:]
  return np.concatenate([x1 * cos - x2 * sin, x1 * sin + x2 * cos], axis=-1)


def test_max_attention_logit_equals_a_direct_computation():
  with jax.set_mesh(sharding.make_mesh()):
    attention = model_lib.Attention(16, 2, qk_layernorm=False, use_rope=True, rngs=nnx.Rngs(3))
    x = np.random.default_rng(0).normal(size=(3, 5, 16)).astype(np.float32)
    _, max_logit = attention(jnp.asarray(x), stats=True)
  w = np.asarray(attention.qkv.kernel[...], np.float64)
  qkv = (x @ w).reshape(3, 5, 3, 2, 8)
  q, k = _rope_numpy(qkv[:, :, 0]), _rope_numpy(qkv[:, :, 1])
  logits = np.einsum("bqhk,bthk->bhqt", q, k) / np.sqrt(8)
  causal = np.tril(np.ones((5, 5), bool))
  np.testing.assert_allclose(float(max_logit), np.abs(logits)[:, :, causal].max(), rtol=1e-4)


# -------------------------------------------------------------------------------- the study


def test_cli_smoke_writes_every_file(tmp_path):
  out = tmp_path / "smoke"
  result = subprocess.run(
    [
      sys.executable,
      "-m",
      "experiments.lm_warmup",
      "--preset",
      "smoke",
      "--out",
      str(out),
      "--no-progress",
    ],
    cwd=ROOT,
    env=_env(),
    capture_output=True,
    text=True,
    timeout=600,
  )
  assert result.returncode == 0, result.stderr[-3000:]
  for name in (
    "metrics.jsonl",
    "summary.json",
    "sensitivity.json",
    "results.md",
    "curves.png",
    "loss_vs_lr.png",
    "sensitivity.png",
    "attention_logits.png",
    "phase_diagram.png",
  ):
    assert (out / name).stat().st_size > 0, name
  summary = json.loads((out / "summary.json").read_text())
  for item in summary:
    assert set(item) >= {
      "run",
      "width",
      "depth",
      "warmup_steps",
      "warmup_kind",
      "peak_lr",
      "qk_layernorm",
      "z_loss",
      "weight_decay_mode",
      "seed",
      "final_val_loss",
      "max_attn_logit",
      "diverged",
    }
  for item in json.loads((out / "sensitivity.json").read_text()):
    assert set(item) >= {
      "width",
      "depth",
      "warmup_steps",
      "warmup_kind",
      "qk_layernorm",
      "weight_decay_mode",
      "lr_sensitivity",
      "best_lr",
      "best_loss",
      "max_stable_lr",
      "lr_sensitivity_sd",
      "best_loss_sd",
    }
  rows = _rows(out)
  assert all(
    r["val_loss"] < math.log(data_lib.corpus(configs.get("smoke")).vocab_size)
    for r in rows
    if r["step"] == 40
  )


def test_sharded_over_data_and_model_axes_equals_one_device(tmp_path):
  # One run per call on both sides, so the two differ in the sharding alone. Shards sum in
  # another order than one device: at LR 1e-3 over 40 steps that difference stays at float32
  # rounding (every metric within 2e-4); at LR 0.1 training amplifies it by orders of magnitude
  # differently on different CPUs, so that run is held to what reordering cannot change: the
  # LR it used at every step, that it stayed finite, its rows.
  args = [
    "--preset",
    "smoke",
    "--no-progress",
    "--set",
    "seeds=[1]",
    "--set",
    "execution=sequential",
  ]
  sharded = subprocess.run(
    [
      sys.executable,
      "-m",
      "experiments.lm_warmup",
      *args,
      "--set",
      "model_axis=2",
      "--out",
      str(tmp_path / "eight"),
    ],
    cwd=ROOT,
    env=_env(XLA_FLAGS="--xla_force_host_platform_device_count=8"),
    capture_output=True,
    text=True,
    timeout=600,
  )
  assert sharded.returncode == 0, sharded.stderr[-3000:]
  one = subprocess.run(
    [sys.executable, "-m", "experiments.lm_warmup", *args, "--out", str(tmp_path / "one")],
    cwd=ROOT,
    env=_env(),
    capture_output=True,
    text=True,
    timeout=600,
  )
  assert one.returncode == 0, one.stderr[-3000:]
  stable = 0
  for a, b in zip(_rows(tmp_path / "eight"), _rows(tmp_path / "one"), strict=True):
    assert (a["run"], a["step"], a["diverged"]) == (b["run"], b["step"], b["diverged"])
    np.testing.assert_allclose(a["lr"], b["lr"], rtol=1e-6, err_msg=a["run"])
    if "lr0.001" in a["run"]:
      stable += 1
      for key in ("val_loss", "max_attn_logit", "grad_norm", "param_norm"):
        np.testing.assert_allclose(
          a[key], b[key], rtol=2e-4, atol=1e-6, err_msg=f"{a['run']} {key}"
        )
  assert stable == 4  # two warmups x two evaluations at the stable LR were compared


def test_a_diverging_lr_is_flagged_without_disturbing_its_group(tmp_path):
  def config(third_lr):
    runs = configs.grid([1e-3, 1e-2, third_lr], [0], 40)
    runs[2]["name"] = "third"
    return config_lib.replace(configs.get("smoke"), {"runs": tuple(runs), "execution": "vmap"})

  summary = train.train_and_evaluate(config(1e30), tmp_path / "bad", progress=False)
  train.train_and_evaluate(config(3e-3), tmp_path / "good", progress=False)
  flagged = {s["run"]: s["diverged"] for s in summary}
  assert flagged["third/seed0"] and not any(v for k, v in flagged.items() if k != "third/seed0")
  others = lambda rows: [r for r in rows if r["spec"] != "third"]
  assert others(_rows(tmp_path / "bad")) == others(_rows(tmp_path / "good"))
  assert (tmp_path / "bad" / "sensitivity.json").exists()
