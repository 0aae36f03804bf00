"""LR sensitivity, failure and the maximal stable LR per configuration (Wortsman et al. 2023;
Kalra & Barkeshli 2024), preconditioned sharpness during warmup, and the study's plots.

A run **fails** when its loss became non-finite (``diverged``) or its final
validation loss ends above ``failure_loss``, the cross-entropy of the unigram
model of the training split (``data.corpus_baselines``): it learned less than
the symbol frequencies. A second, reported criterion keeps the former rule:
failed unless it ended ``failure_margin`` (1 nat) below ``l0 = ln V``.

For one configuration (model shape, warmup length and shape, weight decay) and
seed, with ``l(eta)`` the final validation loss at peak LR ``eta`` (a diverged
run counts as ``l0``), ``W`` Wortsman's 7-point grid 3e-4 .. 0.3 and
``l*_W = min over W of min(l, l0)``:

* **LR sensitivity** = mean over ``W`` of ``min(l(eta), l0) - l*_W`` (Wortsman
  et al., Eq. 1; on ``W`` alone, whatever the preset adds above it, so it
  stays comparable);
* **high-LR sensitivity** = the same mean over the LRs of ``W`` at and above the
  best LR of ``W`` only (what warmup does to the unstable side);
* **best LR**, **best loss** ``l*``: over the whole grid;
* **maximal stable LR**: the largest LR reached from the best LR upwards
  without a failure (the edge of stability); the grid reaches failure for the
  seed when a failing LR lies above it.

Per configuration: the mean over seeds with the sample sd (ddof=1) and a 95%
t-interval (``mean ± t_{0.975, n-1} sd / sqrt(n)``) and the per-seed values, the
median of the maximal stable LR with its per-seed values, and ``n``. Every hyperparameter is read
from the run's resolved ``hparams`` (the engine's record), never from its spec.
"""

import json
import math
import pathlib
from typing import Optional

import numpy as np

from experiments.common import optim
from experiments.common import report
from experiments.common import sharpness as sharpness_lib
from experiments.lm_warmup import data as data_lib

WORTSMAN_LRS = (3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1)  # Eq. 1's grid
CONFIG_KEYS = (
  "width",
  "depth",
  "warmup_steps",
  "warmup_shape",
  "qk_layernorm",
  "z_loss",
  "weight_decay_mode",
  "weight_decay",
  "schedule",
  "total_steps",
)
WARMUP_SHAPES = {  # the name of each shape, and the schedule that makes it
  "linear": "linear from 0",
  "cosine": "cosine from 0",
  "exponential-from-half": "exponential from peak/2 (seed 001: peak * 2^(s/W - 1))",
  "exponential-from-1e-6": "exponential (geometric) from 1e-6",
}


def warmup_shape(schedule: dict, peak: float) -> str:
  """The name of a resolved schedule's warmup shape (a key of :data:`WARMUP_SHAPES`)."""
  kind = schedule.get("warmup_kind", "linear")
  if kind != "exponential":
    return kind
  init = schedule["init_value"]
  if math.isclose(init, peak / 2, rel_tol=1e-6):
    return "exponential-from-half"
  return "exponential-from-" + f"{init:g}".replace("e-0", "e-")  # 1e-06 -> 1e-6


def parameter_count(
  vocab: int,
  width: int,
  depth: int,
  heads: int,
  context: int,
  qk_layernorm: bool,
  positions: str,
) -> int:
  """The transformer's parameters (``model.Transformer``): embedding and unembedding, per
  block two LayerNorm scales, ``W_qkv``, ``W_out``, the MLP's two kernels, qk-LayerNorm
  scales, learned positions, the final LayerNorm."""
  block = 2 * width + 3 * width**2 + width**2 + 8 * width**2
  block += 2 * (width // heads) if qk_layernorm else 0
  positional = context * width if positions == "learned" else 0
  return 2 * vocab * width + depth * block + width + positional


def run_settings(config, spec: dict, hparams: dict) -> dict:
  """What a run varies: its model fields (its spec over the config's) and its resolved
  hyperparameters (peak LR, warmup, weight decay: from ``hparams``)."""
  schedule = hparams["schedule"]
  core = optim.core_entry(hparams)
  width = spec.get("width", config.width)
  depth = spec.get("depth", config.depth)
  qk = bool(spec.get("qk_layernorm", config.qk_layernorm))
  vocab = data_lib.corpus(config).vocab_size
  params = parameter_count(vocab, width, depth, config.heads, config.context, qk, config.positions)
  return {
    "width": width,
    "depth": depth,
    "params": params,
    "tokens_per_param": config.total_steps * config.batch_size * config.context / params,
    "total_steps": config.total_steps,
    "warmup_steps": schedule.get("warmup_steps", 0),
    "warmup_kind": schedule.get("warmup_kind", "linear"),
    "warmup_shape": warmup_shape(schedule, hparams["peak_lr"]),
    "schedule": schedule["type"],
    "peak_lr": hparams["peak_lr"],
    "qk_layernorm": qk,
    "z_loss": spec.get("z_loss", config.z_loss),
    "weight_decay_mode": core["weight_decay_mode"],
    "weight_decay": core["weight_decay"],
    "b1": core.get("b1"),
  }


def failure_loss(config) -> float:
  """The failure threshold: the unigram cross-entropy of the corpus's training split."""
  return data_lib.corpus_baselines(config.corpus)["unigram"]


def failed(loss: Optional[float], diverged: bool, threshold: float) -> bool:
  """A run fails when it diverged, its loss is missing or not finite, or above ``threshold``."""
  return diverged or loss is None or not math.isfinite(loss) or loss > threshold


def summarize_run(config, history: list, hparams: dict) -> dict:
  spec = report.run_spec(config, history[-1]["spec"])
  last = history[-1]
  loss = None if last["diverged"] else last["val_loss"]
  logits = [r["max_attn_logit"] for r in history if r.get("max_attn_logit") is not None]
  sharp = [r["sharpness"] for r in history if r.get("sharpness") is not None]
  baselines = data_lib.corpus_baselines(config.corpus)
  l0 = baselines["uniform"]
  out = {
    **run_settings(config, spec, hparams),
    "final_val_loss": loss,
    "failed": failed(loss, last["diverged"], failure_loss(config)),
    "failed_margin": failed(loss, last["diverged"], l0 - config.failure_margin),
    "failed_bigram": failed(loss, last["diverged"], baselines["bigram"]),
    "max_attn_logit": max(logits) if logits else None,
  }
  if sharp:
    out["sharpness_max"] = max(sharp)
  return out


def t_interval(values: list, confidence: float = 0.95) -> Optional[list]:
  """``[lo, hi]``: the t-interval ``mean ± t_{(1+c)/2, n-1} sd / sqrt(n)`` (sd with ddof=1);
  None for fewer than 2 values."""
  from scipy import stats  # pylint: disable=import-outside-toplevel

  x = np.asarray(values, np.float64)
  if len(x) < 2:
    return None
  half = stats.t.ppf((1 + confidence) / 2, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x))
  return [float(x.mean() - half), float(x.mean() + half)]


def max_stable_lr(fails: dict, best_lr: float) -> float:
  """The largest LR reached from ``best_lr`` upwards through the grid ``fails`` (``{lr:
  failed}``) before the first failure."""
  stable = best_lr
  for lr in sorted(lr for lr in fails if lr > best_lr):
    if fails[lr]:
      break
    stable = lr
  return stable


def sensitivity(
  losses: dict,
  fails: dict,
  l0: float,
  fails_margin: Optional[dict] = None,
  fails_bigram: Optional[dict] = None,
) -> dict:
  """The measures of one configuration and seed.

  Args:
    losses: ``{peak_lr: final validation loss, or None if diverged}``.
    fails: ``{peak_lr: failed}`` by the failure rule.
    l0: ``ln V``, where a diverged run counts and where every loss is capped (Eq. 1).
    fails_margin: ``{peak_lr: failed}`` by the margin rule, if reported.
    fails_bigram: ``{peak_lr: failed}`` by the bigram rule (above the bigram
      cross-entropy: the model learned less than the pairs of symbols), if reported.
  """
  lrs = sorted(losses)
  capped = {
    lr: l0 if losses[lr] is None or not math.isfinite(losses[lr]) else min(losses[lr], l0)
    for lr in lrs
  }
  best_lr = min(lrs, key=lambda lr: capped[lr])
  grid = [lr for lr in lrs if any(math.isclose(lr, w, rel_tol=1e-9) for w in WORTSMAN_LRS)]
  out = {"best_loss": float(capped[best_lr]), "best_lr": best_lr}
  if grid:
    best_w = min(grid, key=lambda lr: capped[lr])
    floor = capped[best_w]
    out["lr_sensitivity"] = float(np.mean([capped[lr] - floor for lr in grid]))
    out["lr_sensitivity_high"] = float(np.mean([capped[lr] - floor for lr in grid if lr >= best_w]))
  else:
    out["lr_sensitivity"] = out["lr_sensitivity_high"] = None
  stable = max_stable_lr(fails, best_lr)
  out["max_stable_lr"] = stable
  out["reaches_failure"] = any(fails[lr] for lr in lrs if lr > stable)
  for name, rule in (("margin", fails_margin), ("bigram", fails_bigram)):
    if rule is not None:
      out[f"max_stable_lr_{name}"] = max_stable_lr(rule, best_lr)
  return out


def _spread(values: list) -> dict:
  values = [v for v in values if v is not None]
  if not values:
    return {"mean": None, "sd": None, "ci95": None}
  return {
    "mean": float(np.mean(values)),
    "sd": float(np.std(values, ddof=1)) if len(values) > 1 else None,
    "ci95": t_interval(values),
  }


def _median(values: list) -> Optional[float]:
  values = [v for v in values if v is not None]
  return float(np.median(values)) if values else None


def config_key(s: dict) -> tuple:
  return tuple(s[k] for k in CONFIG_KEYS)


def sensitivities(config, summary: list) -> list:
  """One object per configuration: the measures over seeds (mean, sd, 95% t-interval, n)."""
  l0 = data_lib.corpus_baselines(config.corpus)["uniform"]
  threshold = failure_loss(config)
  configs: dict = {}
  for s in summary:
    seeds = configs.setdefault(config_key(s), {"rows": [], "seeds": {}})
    seeds["rows"].append(s)
    seeds["seeds"].setdefault(s["seed"], []).append(s)
  out = []
  for key, group in configs.items():
    per_seed = []
    for rows in group["seeds"].values():
      losses = {r["peak_lr"]: r["final_val_loss"] for r in rows}
      fails = {r["peak_lr"]: r["failed"] for r in rows}
      margin = {r["peak_lr"]: r["failed_margin"] for r in rows}
      # Records made before the bigram rule have no failed_bigram: --report recomputes it.
      bigram = {r["peak_lr"]: r.get("failed_bigram") for r in rows}
      bigram = None if None in bigram.values() else bigram
      per_seed.append(sensitivity(losses, fails, l0, margin, bigram))
    first = group["rows"][0]
    item = dict(zip(CONFIG_KEYS, key))
    item.update(
      {
        "warmup_kind": first["warmup_kind"],
        "params": first["params"],
        "tokens_per_param": first["tokens_per_param"],
        "seeds": len(per_seed),
        "n": len(per_seed),
        "lrs": sorted({r["peak_lr"] for r in group["rows"]}),
        "l0": l0,
        "failure_loss": threshold,
        "failure_margin_loss": l0 - config.failure_margin,
        "failure_bigram_loss": data_lib.corpus_baselines(config.corpus)["bigram"],
      }
    )
    for measure in ("lr_sensitivity", "lr_sensitivity_high", "best_loss"):
      spread = _spread([p[measure] for p in per_seed])
      item[measure], item[f"{measure}_sd"] = spread["mean"], spread["sd"]
      item[f"{measure}_ci95"] = spread["ci95"]
      item[f"{measure}_per_seed"] = [p[measure] for p in per_seed]
    for measure in ("best_lr", "max_stable_lr", "max_stable_lr_margin", "max_stable_lr_bigram"):
      values = [p.get(measure) for p in per_seed]
      item[measure], item[f"{measure}_per_seed"] = _median(values), values
    item["reaches_failure_per_seed"] = [p["reaches_failure"] for p in per_seed]
    out.append(item)
  return out


def label(item: dict) -> str:
  parts = [f"w{item['width']}", f"d{item['depth']}", f"warmup {item['warmup_steps']}"]
  if item["warmup_steps"] and item["warmup_shape"] != "linear":
    parts.append(item["warmup_shape"])
  if item["schedule"] != "warmup_cosine":
    parts.append(item["schedule"])
  if item["qk_layernorm"]:
    parts.append("qk-LN")
  if item["z_loss"]:
    parts.append(f"z-loss {item['z_loss']:g}")
  if item["weight_decay_mode"] != "independent":
    parts.append(f"wd {item['weight_decay']:g} {item['weight_decay_mode']}")
  return ", ".join(parts)


def _fmt(x: Optional[float], ci: Optional[list] = None) -> str:
  if x is None:
    return "-"
  return f"{x:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")


def _lrs(values: list) -> str:
  return ", ".join("-" if v is None else f"{v:g}" for v in values)


def sensitivity_table(items: list, baselines: dict) -> str:
  lines = [
    "| configuration | n | params | tokens/param | LR sensitivity [95% CI] "
    "| high-LR sensitivity [95% CI] | best loss [95% CI] | best LR (median) "
    "| max stable LR: median (per seed) | failing LR above it, per seed "
    "| max stable LR, 1-nat rule (per seed) | max stable LR, bigram rule (per seed) |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ]
  for item in items:
    lines.append(
      f"| {label(item)} | {item['n']} | {item['params']:,} | {item['tokens_per_param']:.2f} "
      f"| {_fmt(item['lr_sensitivity'], item['lr_sensitivity_ci95'])} "
      f"| {_fmt(item['lr_sensitivity_high'], item['lr_sensitivity_high_ci95'])} "
      f"| {_fmt(item['best_loss'], item['best_loss_ci95'])} | {item['best_lr']:g} "
      f"| {_fmt_lr(item['max_stable_lr'])} ({_lrs(item['max_stable_lr_per_seed'])}) "
      f"| {'/'.join('yes' if r else 'no' for r in item['reaches_failure_per_seed'])} "
      f"| {_lrs(item['max_stable_lr_margin_per_seed'])} "
      f"| {_lrs(item['max_stable_lr_bigram_per_seed'])} |"
    )
  return (
    f"Baselines (training split, nats/token): uniform ln V = {baselines['uniform']:.3f}, "
    f"unigram = {baselines['unigram']:.3f} (the failure threshold), "
    f"bigram = {baselines['bigram']:.3f}.\n\n"
    "A run fails when it diverged or its final validation loss is above the unigram "
    "cross-entropy. LR sensitivity = mean over Wortsman's grid 3e-4..0.3 of min(l, ln V) - l* "
    "(Eq. 1); high-LR: the same over the LRs of that grid at and above its best LR. Max "
    "stable LR: the largest LR reached from the best LR upwards before a failure; 1-nat "
    "rule: a run fails unless it ends 1 nat below ln V; bigram rule (stricter): a run fails "
    "above the bigram cross-entropy. Intervals: 95% t-intervals over the "
    "n seeds.\n\n" + "\n".join(lines) + "\n"
  )


def _fmt_lr(x: Optional[float]) -> str:
  return "-" if x is None else f"{x:g}"


# ------------------------------------------------------------------------------- sharpness


def sharpness_runs(rows: list, summary: list) -> list:
  """Per run with ``sharpness`` logged: its trajectory against Adam's threshold
  ``(2 + 2 b1) / ((1 - b1) eta_t)`` and the numbers the warmup verdict reads.

  ``at_peak`` is the sharpness at the first evaluation at or after the end of warmup;
  ``first`` at the first evaluation; ``above_threshold`` the evaluations where it exceeded
  the threshold of the rate then in use.
  """
  settings = {s["run"]: s for s in summary}
  out = []
  for name, history in report.by_run(rows).items():
    points = [r for r in history if r.get("sharpness") is not None and r.get("lr")]
    if not points or name not in settings:
      continue
    s = settings[name]
    b1 = s["b1"] if s["b1"] is not None else 0.0
    steps = [r["step"] for r in points]
    values = [r["sharpness"] for r in points]
    thresholds = [sharpness_lib.adam_threshold(b1, r["lr"]) for r in points]
    warmup = s["warmup_steps"]
    peak_index = next((i for i, t in enumerate(steps) if t >= warmup), len(steps) - 1)
    out.append(
      {
        "run": name,
        "seed": s["seed"],
        **{k: s[k] for k in ("width", "depth", "warmup_steps", "warmup_shape", "peak_lr")},
        "steps": steps,
        "sharpness": values,
        "threshold": thresholds,
        "first": values[0],
        "at_peak": values[peak_index],
        "max": max(values),
        "max_ratio": max(v / t for v, t in zip(values, thresholds)),
        "above_threshold": int(sum(v > t for v, t in zip(values, thresholds))),
        "final_val_loss": s["final_val_loss"],
        "failed": s["failed"],
      }
    )
  return out


def plot_sharpness(runs: list, path: pathlib.Path) -> None:
  """Preconditioned sharpness over steps (solid) against Adam's threshold 38/eta_t (dotted),
  one panel per width and LR, one color per warmup; seed 0 of each."""
  plt = report.pyplot()
  panels = sorted({(r["width"], r["depth"], r["peak_lr"]) for r in runs})
  if not panels:
    return
  cols = min(3, len(panels))
  rows_n = math.ceil(len(panels) / cols)
  fig, axes = plt.subplots(rows_n, cols, figsize=(5 * cols, 3.6 * rows_n), squeeze=False)
  warmups = sorted({r["warmup_steps"] for r in runs})
  colors = {w: plt.cm.viridis(i / max(len(warmups) - 1, 1)) for i, w in enumerate(warmups)}
  for ax, (width, depth, lr) in zip(axes.flat, panels):
    chosen = [r for r in runs if (r["width"], r["depth"], r["peak_lr"]) == (width, depth, lr)]
    seed = min(r["seed"] for r in chosen)
    for r in chosen:
      if r["seed"] != seed:
        continue
      color = colors[r["warmup_steps"]]
      label_ = f"warmup {r['warmup_steps']}" + (" (failed)" if r["failed"] else "")
      ax.plot(r["steps"], r["sharpness"], color=color, label=label_)
      ax.plot(r["steps"], r["threshold"], color=color, linestyle=":", linewidth=1)
    ax.set_yscale("log")
    ax.set_title(f"width {width}, depth {depth}, peak LR {lr:g}", fontsize=9)
    ax.set_xlabel("step")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=6)
  for ax in axes[:, 0]:
    ax.set_ylabel("lambda_max(P^-1 H) (dotted: 38/eta_t)")
  for ax in list(axes.flat)[len(panels) :]:
    ax.axis("off")
  report.save_figure(fig, path)


def sharpness_table(runs: list) -> str:
  """Mean over seeds of the sharpness at the first evaluation and at the end of warmup, per
  width, LR and warmup."""
  groups: dict = {}
  for r in runs:
    groups.setdefault((r["width"], r["depth"], r["peak_lr"], r["warmup_steps"]), []).append(r)
  lines = [
    "| width | depth | peak LR | warmup | n | sharpness, first eval | at end of warmup "
    "| max / 38/eta_t | evals above 38/eta_t | failed |",
    "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ]
  for (width, depth, lr, warmup), group in sorted(groups.items()):
    mean = lambda k: float(np.mean([r[k] for r in group]))  # noqa: B023
    lines.append(
      f"| {width} | {depth} | {lr:g} | {warmup} | {len(group)} | {mean('first'):.4g} "
      f"| {mean('at_peak'):.4g} | {mean('max_ratio'):.3g} "
      f"| {sum(r['above_threshold'] for r in group)} "
      f"| {sum(bool(r['failed']) for r in group)}/{len(group)} |"
    )
  return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------------- plots


def _plain_runs(summary: list) -> list:
  """The runs of the main comparison: linear warmup + cosine, no qk-LN, z-loss or coupled
  decay."""
  return [
    s
    for s in summary
    if s["warmup_shape"] in ("linear",)
    and s["schedule"] == "warmup_cosine"
    and not s["qk_layernorm"]
    and not s["z_loss"]
    and s["weight_decay_mode"] == "independent"
  ]


def plot_loss_vs_lr(summary: list, l0: float, threshold: float, path: pathlib.Path) -> None:
  """Final validation loss against peak LR: one panel per width and depth, one line per
  warmup (Wortsman Fig. 1); qk-layernorm dashed; diverged runs drawn at l0; the failure
  threshold dotted."""
  plt = report.pyplot()
  shapes = sorted({(s["width"], s["depth"]) for s in summary})
  fig, axes = plt.subplots(
    1, len(shapes), figsize=(5 * len(shapes), 4.2), squeeze=False, sharey=True
  )
  for ax, (width, depth) in zip(axes[0], shapes):
    lines: dict = {}
    for s in summary:
      if (s["width"], s["depth"]) == (width, depth) and s["schedule"] == "warmup_cosine":
        key = (
          s["warmup_steps"],
          s["warmup_shape"],
          s["qk_layernorm"],
          s["z_loss"],
          s["weight_decay_mode"],
        )
        lines.setdefault(key, {}).setdefault(s["peak_lr"], []).append(
          l0 if s["final_val_loss"] is None else min(s["final_val_loss"], l0)
        )
    for (warmup, shape, qk, z, mode), points in sorted(lines.items(), key=str):
      lrs = sorted(points)
      name = (
        f"warmup {warmup}"
        + (f" {shape}" if warmup and shape != "linear" else "")
        + (" qk-LN" if qk else "")
        + (f" z {z:g}" if z else "")
        + (f" wd {mode}" if mode != "independent" else "")
      )
      ax.plot(
        lrs,
        [np.mean(points[lr]) for lr in lrs],
        marker="o",
        markersize=3,
        linestyle="--" if qk else "-",
        label=name,
      )
    ax.axhline(l0, color="gray", linewidth=0.8, linestyle=":")
    ax.axhline(threshold, color="red", linewidth=0.8, linestyle=":")
    ax.set_xscale("log")
    ax.set_title(f"width {width}, depth {depth}")
    ax.set_xlabel("peak learning rate")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=6)
  axes[0, 0].set_ylabel("final validation loss (gray: ln V, red: unigram)")
  report.save_figure(fig, path)


def plot_max_stable_lr(items: list, path: pathlib.Path) -> None:
  """Maximal stable LR against warmup length, one line (median over seeds) per width and
  depth, every seed's value as a point."""
  plt = report.pyplot()
  lines: dict = {}
  for item in _plain_runs(items):
    lines.setdefault((item["width"], item["depth"]), []).append(item)
  fig, ax = plt.subplots(figsize=(6.5, 4.2))
  for i, ((width, depth), points) in enumerate(sorted(lines.items())):
    points.sort(key=lambda p: p["warmup_steps"])
    x = np.asarray([max(p["warmup_steps"], 1) for p in points], float)
    color = plt.cm.tab10(i % 10)
    ax.plot(
      x,
      [p["max_stable_lr"] for p in points],
      marker="o",
      color=color,
      linestyle="--" if depth != 2 else "-",
      label=f"width {width}, depth {depth} (median)",
    )
    for xi, p in zip(x, points):
      seeds = [v for v in p["max_stable_lr_per_seed"] if v is not None]
      jitter = xi * np.exp(0.06 * (np.arange(len(seeds)) - (len(seeds) - 1) / 2) + 0.02 * i)
      ax.scatter(jitter, seeds, color=color, s=10, alpha=0.6)
  ax.set_xscale("log")
  ax.set_yscale("log")
  ax.set_xlabel("warmup steps (0 drawn at 1)")
  ax.set_ylabel("max stable LR (points: seeds)")
  ax.grid(True, alpha=0.3)
  ax.legend(fontsize=7)
  report.save_figure(fig, path)


def _warmup_steps(item: dict) -> int:
  return item["warmup_steps"]


def plot_sensitivity(items: list, path: pathlib.Path) -> None:
  """LR sensitivity against warmup length, one line per width (and qk-layernorm), with the
  95% t-interval."""
  plt = report.pyplot()
  fig, ax = plt.subplots(figsize=(6.5, 4.2))
  lines: dict = {}
  for item in items:
    if (
      item["warmup_shape"] == "linear"
      and item["schedule"] == "warmup_cosine"
      and not item["z_loss"]
      and item["weight_decay_mode"] == "independent"
    ):
      lines.setdefault((item["width"], item["depth"], item["qk_layernorm"]), []).append(item)
  for (width, depth, qk), points in sorted(lines.items()):
    # None where a configuration has no LR of Wortsman's grid (a --reproduce of one run).
    points = sorted((p for p in points if p["lr_sensitivity"] is not None), key=_warmup_steps)
    if not points:
      continue
    mean = np.asarray([p["lr_sensitivity"] for p in points])
    ci = [p["lr_sensitivity_ci95"] or [m, m] for p, m in zip(points, mean)]
    ax.errorbar(
      [max(p["warmup_steps"], 1) for p in points],
      mean,
      yerr=[mean - np.asarray([c[0] for c in ci]), np.asarray([c[1] for c in ci]) - mean],
      marker="o",
      capsize=3,
      linestyle="--" if qk else "-",
      label=f"width {width}, depth {depth}" + (", qk-LN" if qk else ""),
    )
  ax.set_xscale("log")
  ax.set_xlabel("warmup steps (0 drawn at 1)")
  ax.set_ylabel("LR sensitivity (nats; bars: 95% CI)")
  ax.grid(True, alpha=0.3)
  ax.legend(fontsize=7)
  report.save_figure(fig, path)


def plot_attention_logits(rows: list, summary: list, path: pathlib.Path) -> None:
  """Max |attention logit| over time at LRs 0.1 and 0.3, with and without qk-layernorm."""
  plt = report.pyplot()
  chosen = {
    s["run"]: s
    for s in summary
    if any(math.isclose(s["peak_lr"], lr) for lr in (0.1, 0.3))
    and s["seed"] == summary[0]["seed"]
    and s["warmup_shape"] == "linear"
    and s["schedule"] == "warmup_cosine"
    and not s["z_loss"]
    and s["weight_decay_mode"] == "independent"
  }
  fig, ax = plt.subplots(figsize=(7, 4.2))
  for name, history in report.by_run(rows).items():
    if name in chosen:
      s = chosen[name]
      values = [np.nan if r.get("max_attn_logit") is None else r["max_attn_logit"] for r in history]
      ax.plot(
        [r["step"] for r in history],
        values,
        linestyle="--" if s["qk_layernorm"] else "-",
        linewidth=1,
        label=f"w{s['width']} d{s['depth']} lr {s['peak_lr']:g} warmup {s['warmup_steps']}"
        + (" qk-LN" if s["qk_layernorm"] else ""),
      )
  ax.set_yscale("log")
  ax.set_xlabel("step")
  ax.set_ylabel("max |attention logit| (validation)")
  ax.grid(True, alpha=0.3)
  if chosen:
    ax.legend(fontsize=5, ncol=2)
  report.save_figure(fig, path)


def plot_phase_diagram(summary: list, path: pathlib.Path) -> None:
  """Kalra & Barkeshli's diagram at the widest width (its shallowest depth): peak LR x warmup
  length, colored by final loss (mean over seeds); x = failed in every seed, / = in some."""
  plt = report.pyplot()
  plain = _plain_runs(summary)
  if not plain:
    return
  width = max(s["width"] for s in plain)
  depth = min(s["depth"] for s in plain if s["width"] == width)
  cells: dict = {}
  for s in plain:
    if (s["width"], s["depth"]) == (width, depth):
      loss = s["final_val_loss"]
      cells.setdefault((s["warmup_steps"], s["peak_lr"]), []).append(
        (np.nan if loss is None else loss, s["failed"])
      )
  warmups, lrs = sorted({k[0] for k in cells}), sorted({k[1] for k in cells})
  grid = np.full((len(warmups), len(lrs)), np.nan)
  for (w, lr), values in cells.items():
    finite = [v for v, _ in values if np.isfinite(v)]
    grid[warmups.index(w), lrs.index(lr)] = np.mean(finite) if finite else np.nan  # all diverged
  fig, ax = plt.subplots(figsize=(7.5, 4.2))
  image = ax.imshow(np.minimum(grid, 6.0), origin="lower", aspect="auto", cmap="viridis")
  for (w, lr), values in cells.items():
    fails = sum(f for _, f in values)
    mark = "x" if fails == len(values) else ("/" if fails else "")
    ax.text(lrs.index(lr), warmups.index(w), mark, ha="center", va="center", color="red")
  ax.set_xticks(range(len(lrs)))
  ax.set_xticklabels([f"{lr:g}" for lr in lrs], rotation=45)
  ax.set_yticks(range(len(warmups)))
  ax.set_yticklabels(warmups)
  ax.set_xlabel("peak learning rate")
  ax.set_ylabel("warmup steps")
  ax.set_title(
    f"final validation loss, width {width}, depth {depth} (x: failed in every seed, /: in some)",
    fontsize=9,
  )
  fig.colorbar(image, ax=ax)
  report.save_figure(fig, path)


def write_results(config, workdir: pathlib.Path, rows: list, summary: list) -> str:
  """Writes sensitivity.json (and sharpness.json), the plots; returns the tables for
  results.md."""
  baselines = data_lib.corpus_baselines(config.corpus)
  items = sensitivities(config, summary)
  (workdir / "sensitivity.json").write_text(json.dumps(items, indent=2))
  text = sensitivity_table(items, baselines)
  sharp = sharpness_runs(rows, summary)
  if sharp:
    (workdir / "sharpness.json").write_text(json.dumps(sharp, indent=1))
    text += (
      "\nPreconditioned sharpness lambda_max(P^-1 H) (P = diag(sqrt(v_hat) + eps)) on the "
      "chunk's last training batch, against Adam's threshold (2 + 2 b1) / ((1 - b1) eta_t) = "
      "38/eta_t (mean over seeds):\n\n" + sharpness_table(sharp)
    )
  if rows:
    plot_loss_vs_lr(summary, baselines["uniform"], baselines["unigram"], workdir / "loss_vs_lr.png")
    plot_sensitivity(items, workdir / "sensitivity.png")
    plot_max_stable_lr(items, workdir / "max_stable_lr.png")
    plot_attention_logits(rows, summary, workdir / "attention_logits.png")
    plot_phase_diagram(summary, workdir / "phase_diagram.png")
    if sharp:
      plot_sharpness(sharp, workdir / "sharpness.png")
  return text
