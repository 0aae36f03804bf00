"""The LM warmup study: the failure rule, baselines, measures and intervals against NumPy, the
model against its formula, presets, the CLI, sharded = one device, divergence isolation."""

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
from experiments.common import engine
from experiments.common import optim
from experiments.common import sharding
from experiments.lm_warmup import analysis
from experiments.lm_warmup import configs
from experiments.lm_warmup import data as data_lib
from experiments.lm_warmup import train

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _rows(path):
  return [
    json.loads(line) for line in (pathlib.Path(path) / "metrics.jsonl").read_text().splitlines()
  ]


def _env(**extra):
  return dict(os.environ, PYTHONPATH=str(ROOT), JAX_PLATFORMS="cpu", **extra)


# ------------------------------------------------------------------------------- measures


def test_failure_rule_on_crafted_curves():
  assert not analysis.failed(3.0, False, threshold=3.25)
  assert analysis.failed(3.3, False, threshold=3.25)  # above the unigram cross-entropy
  assert analysis.failed(None, True, threshold=3.25)  # diverged
  assert analysis.failed(float("inf"), False, threshold=3.25)
  # Crafted final losses over the grid (one seed): U-shaped, failing at 3 and 10 but not 5.
  lrs = analysis.WORTSMAN_LRS + (1.0, 3.0, 5.0, 10.0)
  curve = [2.8, 2.3, 2.0, 1.9, 1.95, 2.2, 2.7, 3.1, 3.4, 3.2, None]
  losses = dict(zip(lrs, curve))
  l0 = math.log(100)
  fails = {lr: analysis.failed(v, v is None, 3.25) for lr, v in losses.items()}
  margin = {lr: analysis.failed(v, v is None, l0 - 1.0) for lr, v in losses.items()}
  bigram = {lr: analysis.failed(v, v is None, 2.48) for lr, v in losses.items()}
  result = analysis.sensitivity(losses, fails, l0, margin, bigram)
  assert result["best_lr"] == 1e-2 and result["best_loss"] == pytest.approx(1.9)
  assert result["max_stable_lr"] == 1.0  # 3 fails first; 5 above it does not count
  assert result["reaches_failure"]
  assert result["max_stable_lr_margin"] == 5.0  # every loss but the diverged one < ln 100 - 1
  assert result["max_stable_lr_bigram"] == 0.1  # 0.3 ends at 2.7, above the bigram's 2.48
  wortsman = np.minimum(np.asarray(curve[:7], float), l0)
  assert result["lr_sensitivity"] == pytest.approx(np.mean(wortsman - wortsman.min()))
  high = wortsman[3:]  # at and above the best LR of the grid, 1e-2
  assert result["lr_sensitivity_high"] == pytest.approx(np.mean(high - wortsman.min()))
  # A grid whose top LR is stable never reaches failure.
  calm = analysis.sensitivity({0.1: 2.0, 0.3: 2.1}, {0.1: False, 0.3: False}, l0)
  assert calm["max_stable_lr"] == 0.3 and not calm["reaches_failure"]


def _counted_baselines(tokens, vocab):
  """Counts by a Python loop over the sequence, then the cross-entropies."""
  unigram, bigram, previous = np.zeros(vocab), np.zeros((vocab, vocab)), np.zeros(vocab)
  for t in tokens:
    unigram[t] += 1
  for a, b in zip(tokens[:-1], tokens[1:]):
    bigram[a, b] += 1
    previous[a] += 1
  p = unigram / len(tokens)
  h1 = -sum(np.log(p[t]) for t in tokens) / len(tokens)
  h2 = -sum(np.log(bigram[a, b] / previous[a]) for a, b in zip(tokens[:-1], tokens[1:]))
  return h1, h2 / (len(tokens) - 1)


def test_unigram_and_bigram_baselines_against_a_count():
  tokens = np.random.default_rng(0).choice(5, size=400, p=[0.4, 0.3, 0.15, 0.1, 0.05])
  tokens[::7] = 2  # some structure for the bigram model
  got = data_lib.baselines(tokens, vocab_size=6)  # symbol 5 never occurs
  h1, h2 = _counted_baselines(list(tokens), 6)
  assert got["unigram"] == pytest.approx(h1, rel=1e-12)
  assert got["bigram"] == pytest.approx(h2, rel=1e-12)
  assert got["bigram"] < got["unigram"] < math.log(6)


def _t_quantile(q, df):
  """The Student t quantile by integrating its density (NumPy, from the formula)."""
  x = np.linspace(0.0, 40.0, 400_001)
  log_c = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
  pdf = np.exp(log_c - (df + 1) / 2 * np.log1p(x**2 / df))
  cdf = 0.5 + np.concatenate([[0.0], np.cumsum((pdf[1:] + pdf[:-1]) / 2 * np.diff(x))])
  return float(np.interp(q, cdf, x))


def test_t_interval_against_a_numpy_t_quantile():
  for values in ([1.0, 2.0, 4.0], [0.3, 0.31, 0.35, 0.29, 0.4]):
    x = np.asarray(values)
    half = _t_quantile(0.975, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x))
    np.testing.assert_allclose(
      analysis.t_interval(values), [x.mean() - half, x.mean() + half], rtol=1e-5
    )
  assert analysis.t_interval([1.0]) is None


def test_sensitivities_aggregate_over_seeds():
  config = configs.get("smoke")
  base = {k: 0 for k in analysis.CONFIG_KEYS}
  base.update({"warmup_kind": "linear", "params": 1, "tokens_per_param": 1.0})
  tables = {
    0: {1e-3: 3.0, 1e-2: 2.0, 1.0: 4.0},
    1: {1e-3: 2.0, 1e-2: 3.0, 1.0: 2.9},
    2: {1e-3: 2.5, 1e-2: 2.4, 1.0: 3.6},
  }
  summary = [
    {
      **base,
      "seed": seed,
      "peak_lr": lr,
      "final_val_loss": loss,
      "failed": loss > 3.25,
      "failed_margin": loss > math.log(103) - 1,
      "failed_bigram": loss > 2.5,
    }
    for seed, table in tables.items()
    for lr, loss in table.items()
  ]
  (item,) = analysis.sensitivities(config, summary)
  per_seed = [np.mean([1.0, 0.0]), np.mean([0.0, 1.0]), np.mean([0.1, 0.0])]
  assert item["lr_sensitivity"] == pytest.approx(np.mean(per_seed))
  assert item["lr_sensitivity_sd"] == pytest.approx(np.std(per_seed, ddof=1))
  assert item["lr_sensitivity_ci95"] == pytest.approx(analysis.t_interval(per_seed))
  assert item["lr_sensitivity_per_seed"] == pytest.approx(per_seed)
  assert item["best_lr_per_seed"] == [1e-2, 1e-3, 1e-2] and item["n"] == 3
  assert item["max_stable_lr_per_seed"] == [1e-2, 1.0, 1e-2]
  assert item["max_stable_lr"] == 1e-2
  assert item["max_stable_lr_bigram_per_seed"] == [1e-2, 1e-3, 1e-2]
  assert item["reaches_failure_per_seed"] == [True, False, True]
  assert item["lrs"] == [1e-3, 1e-2, 1.0]
  assert item["failure_loss"] == pytest.approx(data_lib.corpus_baselines("pydoc")["unigram"])


def test_seed_001_exponential_warmup_is_its_formula():
  (run,) = configs.grid([0.2], [50], 300, kind="exponential-from-half")
  setup = optim.resolve(configs.get("smoke"), run)
  schedule = optim.make(setup).schedule
  steps = np.arange(50)
  np.testing.assert_allclose(
    [float(schedule(s)) for s in steps], 0.2 * 2.0 ** (steps / 50 - 1), rtol=1e-5
  )
  hparams = optim.hyperparameters(setup, run["schedule"])
  assert analysis.warmup_shape(hparams["schedule"], hparams["peak_lr"]) == "exponential-from-half"
  (other,) = configs.grid([0.2], [50], 300, kind="exponential-from-1e-6")
  hparams = optim.hyperparameters(optim.resolve(configs.get("smoke"), other), other["schedule"])
  assert analysis.warmup_shape(hparams["schedule"], 0.2) == "exponential-from-1e-6"
  assert set(configs.SHAPES) == set(analysis.WARMUP_SHAPES)


def test_sharpness_summary_and_threshold_on_a_crafted_history():
  config = configs.get("smoke")
  run = config.runs[-1]  # warmup 10, peak LR 0.1
  hparams = optim.hyperparameters(optim.resolve(config, run), run["schedule"])
  lrs, values = [0.05, 0.1, 0.1, 0.09], [900.0, 300.0, 500.0, 200.0]
  history = [
    {"run": "r", "spec": run["name"], "step": 5 * (i + 1), "lr": lr, "sharpness": v,
     "val_loss": 3.0, "diverged": False}
    for i, (lr, v) in enumerate(zip(lrs, values))
  ]  # fmt: skip
  row = analysis.summarize_run(config, history, hparams)
  assert row["sharpness_max"] == 900.0 and row["warmup_steps"] == 10
  (got,) = analysis.sharpness_runs(history, [{**row, "run": "r", "seed": 0}])
  np.testing.assert_allclose(got["threshold"], [38 / lr for lr in lrs], rtol=1e-12)
  assert got["first"] == 900.0 and got["at_peak"] == 300.0  # the first evaluation at step >= 10
  assert got["above_threshold"] == 2 and got["max_ratio"] == pytest.approx(500.0 / 380.0)
  assert "sharpness_max" not in analysis.summarize_run(
    config, [{**h, "sharpness": None} for h in history], hparams
  )


# ---------------------------------------------------------------------------------- model


def _rope_numpy(x):
  length, half = x.shape[1], x.shape[3] // 2
  freqs = 10_000.0 ** (-np.arange(half) / half)
  angles = np.arange(length)[:, None] * freqs[None, :]
  cos, sin = np.cos(angles)[None, :, None, :], np.sin(angles)[None, :, None, :]
  x1, x2 = x[..., :half], x[..., half:]
  return np.concatenate([x1 * cos - x2 * sin, x1 * sin + x2 * cos], axis=-1)


def _layer_norm(x, scale):
  mean = x.mean(-1, keepdims=True)
  return (x - mean) / np.sqrt(x.var(-1, keepdims=True) + 1e-6) * scale


def _numpy_forward(p, tokens, heads):
  """The transformer's formula in float64 NumPy from its parameters: logits and the
  per-layer max |attention logit|."""
  p = jax.tree.map(lambda v: np.asarray(v, np.float64), p)
  x = p["embed"]["embedding"][tokens]
  b, length, d = x.shape
  causal = np.tril(np.ones((length, length), bool))
  maxima = []
  for block in p["blocks"].values():
    h = _layer_norm(x, block["norm_attn"]["scale"]) @ block["attn"]["qkv"]["kernel"]
    qkv = h.reshape(b, length, 3, heads, d // heads)
    q, k, v = _rope_numpy(qkv[:, :, 0]), _rope_numpy(qkv[:, :, 1]), qkv[:, :, 2]
    logits = np.einsum("bqhk,bthk->bhqt", q, k) / np.sqrt(d // heads)
    maxima.append(np.abs(logits)[:, :, causal].max())
    logits = np.where(causal, logits, -np.inf)
    weights = np.exp(logits - logits.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    y = np.einsum("bhqt,bthk->bqhk", weights, v).reshape(b, length, d)
    x = x + y @ block["attn"]["out"]["kernel"]
    h = _layer_norm(x, block["norm_mlp"]["scale"]) @ block["mlp_in"]["kernel"]
    gelu = 0.5 * h * (1 + np.tanh(np.sqrt(2 / np.pi) * (h + 0.044715 * h**3)))
    x = x + gelu @ block["mlp_out"]["kernel"]
  return _layer_norm(x, p["norm"]["scale"]) @ p["unembed"]["kernel"], np.asarray(maxima)


def test_model_loss_and_evaluation_equal_the_formula_on_the_same_weights():
  config = config_lib.replace(
    configs.get("smoke"), {"width": 32, "depth": 2, "heads": 4, "context": 16, "z_loss": 1e-2}
  )
  with jax.set_mesh(sharding.make_mesh()):
    model = train.init_model(config, nnx.Rngs(0))
    tokens = train.batches(config, engine.Run("r", "r", 0, {}), 0, 1)["tokens"][0][:4]
    logits = model(jnp.asarray(tokens[:, :-1]))
    loss, aux = train.loss_fn(model, {"tokens": jnp.asarray(tokens)})
    metrics = train.evaluate(model, {"tokens": jnp.asarray(tokens)})
  params = nnx.to_pure_dict(nnx.state(model, nnx.Param))
  want, maxima = _numpy_forward(params, tokens[:, :-1], heads=4)
  np.testing.assert_allclose(np.asarray(logits), want, rtol=1e-4, atol=1e-4)
  log_z = np.log(np.exp(want).sum(-1))
  ce = log_z - np.take_along_axis(want, tokens[:, 1:, None], -1)[..., 0]
  np.testing.assert_allclose(float(aux["train_ce"]), ce.mean(), rtol=1e-5)
  np.testing.assert_allclose(float(loss), ce.mean() + 1e-2 * np.mean(log_z**2), rtol=1e-5)
  np.testing.assert_allclose(float(metrics["val_loss"]), ce.mean(), rtol=1e-5)
  np.testing.assert_allclose(float(metrics["z_max"]), np.abs(log_z).max(), rtol=1e-5)
  np.testing.assert_allclose(float(metrics["max_attn_logit"]), maxima.max(), rtol=1e-4)
  np.testing.assert_allclose(float(metrics["max_attn_logit_l1"]), maxima[1], rtol=1e-4)


@pytest.mark.parametrize("qk, positions", [(False, "rope"), (True, "rope"), (False, "learned")])
def test_parameter_count_matches_the_model(qk, positions):
  config = config_lib.replace(
    configs.get("smoke"),
    {"width": 48, "depth": 3, "heads": 4, "qk_layernorm": qk, "positions": positions},
  )
  with jax.set_mesh(sharding.make_mesh()):
    model = nnx.eval_shape(lambda: train.init_model(config, nnx.Rngs(0)))
  count = sum(np.prod(v.shape) for v in jax.tree.leaves(nnx.state(model, nnx.Param)))
  vocab = data_lib.corpus(config).vocab_size
  assert analysis.parameter_count(vocab, 48, 3, 4, config.context, qk, positions) == count


# -------------------------------------------------------------------------------- presets


@pytest.mark.parametrize("name", configs.PRESETS)
def test_presets_validate(name):
  config = configs.get(name)
  groups = engine.check(train.STUDY, config)
  assert len(groups) >= 1 and len(config.seeds) >= (1 if name == "smoke" else 2)


def test_every_cpu_configuration_has_wortsmans_grid_and_lrs_above_it():
  for name in ("cpu", "cpu_wide"):
    config = configs.get(name)
    assert len(config.seeds) >= 3, name
    grids: dict = {}
    for run in config.runs:
      grids.setdefault(run["name"].rsplit("/lr", 1)[0], set()).add(run["learning_rate"])
    for key, lrs in grids.items():
      assert set(analysis.WORTSMAN_LRS) <= lrs and max(lrs) >= 10.0, (name, key)


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
      # auto would time three compiled modes first; it is tested with the engine (test_engine.py)
      "--execution",
      "sequential",
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
    "max_stable_lr.png",
  ):
    assert (out / name).stat().st_size > 0, name
  results = (out / "results.md").read_text()
  baselines = data_lib.corpus_baselines("pydoc")
  assert f"unigram = {baselines['unigram']:.3f}" in results
  assert f"bigram = {baselines['bigram']:.3f}" in results
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
      "failed",
      "failed_margin",
      "failed_bigram",
      "params",
      "tokens_per_param",
    }
    assert item["failed"] == (item["diverged"] or item["final_val_loss"] > baselines["unigram"])
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
      "lr_sensitivity_ci95",
      "lr_sensitivity_high",
      "max_stable_lr_per_seed",
      "failure_loss",
      "lrs",
      "n",
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


def test_sensitivity_plot_takes_one_seed_and_configurations_without_the_grid(tmp_path):
  base = {
    "warmup_shape": "linear",
    "schedule": "warmup_cosine",
    "z_loss": 0.0,
    "weight_decay_mode": "independent",
    "width": 64,
    "depth": 2,
    "qk_layernorm": False,
  }
  items = [
    {**base, "warmup_steps": 0, "lr_sensitivity": 0.5, "lr_sensitivity_ci95": None},  # n = 1
    {**base, "warmup_steps": 150, "lr_sensitivity": 0.4, "lr_sensitivity_ci95": [0.3, 0.5]},
    # only LRs above Wortsman's grid (a --reproduce of a run at LR 3): no sensitivity at all
    {**base, "width": 32, "warmup_steps": 0, "lr_sensitivity": None, "lr_sensitivity_ci95": None},
  ]
  analysis.plot_sensitivity(items, tmp_path / "sensitivity.png")
  assert (tmp_path / "sensitivity.png").stat().st_size > 0
