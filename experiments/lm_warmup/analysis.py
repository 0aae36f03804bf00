"""LR sensitivity, best and maximal stable LR per configuration (Wortsman et al. 2023; Kalra &
Barkeshli 2024), and the study's plots.

For one configuration (model shape, warmup, weight decay mode) and seed, with
``l(eta)`` the final validation loss at peak LR ``eta`` over the LR grid (a
diverged run counts as ``l0``), ``l0 = ln V`` (the loss of the uniform
prediction, where training starts) and ``l* = min_eta l(eta)``:

* LR sensitivity = mean over the grid of ``min(l(eta), l0) - l*`` (Wortsman et al., Eq. 1);
* best LR = argmin ``l(eta)``, best loss = ``l*``;
* maximal stable LR = the largest grid LR whose run did not diverge and ended
  below ``l0 - failure_margin`` (Kalra & Barkeshli: a run fails when it ends
  with little improvement over initialization); None if none did.

Each is computed per seed, then given as mean and standard deviation over seeds.
"""

import json
import math
import pathlib
from typing import Optional

import numpy as np

from experiments.common import optim
from experiments.common import report
from experiments.lm_warmup import data as data_lib

CONFIG_KEYS = (
  "width",
  "depth",
  "warmup_steps",
  "warmup_kind",
  "qk_layernorm",
  "z_loss",
  "weight_decay_mode",
  "schedule",
)


def run_settings(config, spec: dict, hparams: dict) -> dict:
  """The quantities a run varies: its model fields (from its spec over the config's) and its
  resolved hyperparameters."""
  schedule = hparams["schedule"]
  core = optim.core_entry(hparams)
  return {
    "width": spec.get("width", config.width),
    "depth": spec.get("depth", config.depth),
    "warmup_steps": schedule.get("warmup_steps", 0),
    "warmup_kind": schedule.get("warmup_kind", "linear"),
    "schedule": schedule["type"],
    "peak_lr": hparams["peak_lr"],
    "qk_layernorm": bool(spec.get("qk_layernorm", config.qk_layernorm)),
    "z_loss": spec.get("z_loss", config.z_loss),
    "weight_decay_mode": core["weight_decay_mode"],
    "weight_decay": core["weight_decay"],
  }


def summarize_run(config, history: list, hparams: dict) -> dict:
  spec = report.run_spec(config, history[-1]["spec"])
  logits = [r["max_attn_logit"] for r in history if r.get("max_attn_logit") is not None]
  return {
    **run_settings(config, spec, hparams),
    "final_val_loss": None if history[-1]["diverged"] else history[-1]["val_loss"],
    "max_attn_logit": max(logits) if logits else None,
  }


def sensitivity(losses: dict, l0: float, margin: float) -> dict:
  """The measures of one configuration and seed from ``{peak_lr: final loss or None}``."""
  lrs = sorted(losses)
  capped = [
    l0 if losses[lr] is None or not math.isfinite(losses[lr]) else min(losses[lr], l0) for lr in lrs
  ]
  best = min(capped)
  stable = [lr for lr in lrs if losses[lr] is not None and losses[lr] < l0 - margin]
  return {
    "lr_sensitivity": float(np.mean(capped) - best),
    "best_loss": float(best),
    "best_lr": lrs[int(np.argmin(capped))],
    "max_stable_lr": max(stable) if stable else None,
  }


def _spread(values: list) -> dict:
  values = [v for v in values if v is not None]
  if not values:
    return {"mean": None, "sd": None}
  return {"mean": float(np.mean(values)), "sd": float(np.std(values))}


def sensitivities(config, summary: list, vocab_size: int) -> list:
  """One object per configuration: the measures' mean and sd over seeds."""
  l0 = math.log(vocab_size)
  configs: dict = {}
  for s in summary:
    key = tuple(s[k] for k in CONFIG_KEYS)
    configs.setdefault(key, {}).setdefault(s["seed"], {})[s["peak_lr"]] = s["final_val_loss"]
  out = []
  for key, seeds in configs.items():
    per_seed = [sensitivity(losses, l0, config.failure_margin) for losses in seeds.values()]
    item = dict(zip(CONFIG_KEYS, key))
    item.update({"seeds": len(per_seed), "lrs": sorted(next(iter(seeds.values()))), "l0": l0})
    for measure in ("lr_sensitivity", "best_loss"):
      spread = _spread([p[measure] for p in per_seed])
      item[measure], item[f"{measure}_sd"] = spread["mean"], spread["sd"]
    for measure in ("best_lr", "max_stable_lr"):
      values = [p[measure] for p in per_seed]
      item[measure] = (
        float(np.median([v for v in values if v is not None]))
        if any(v is not None for v in values)
        else None
      )
      item[f"{measure}_per_seed"] = values
    out.append(item)
  return out


def _label(item: dict) -> str:
  parts = [f"w{item['width']}", f"d{item['depth']}", f"warmup {item['warmup_steps']}"]
  if item["warmup_kind"] != "linear":
    parts.append(item["warmup_kind"])
  if item["schedule"] != "warmup_cosine":
    parts.append(item["schedule"])
  if item["qk_layernorm"]:
    parts.append("qk-LN")
  if item["z_loss"]:
    parts.append(f"z-loss {item['z_loss']:g}")
  if item["weight_decay_mode"] != "independent":
    parts.append(f"wd {item['weight_decay_mode']}")
  return ", ".join(parts)


def _fmt(x: Optional[float], sd: Optional[float] = None) -> str:
  if x is None:
    return "-"
  return f"{x:.3f}" + (f" ± {sd:.3f}" if sd is not None else "")


def sensitivity_table(items: list) -> str:
  lines = [
    "| configuration | seeds | LR sensitivity | best loss | best LR (median) "
    "| max stable LR (median) |",
    "|---|---:|---:|---:|---:|---:|",
  ]
  for item in items:
    lines.append(
      f"| {_label(item)} | {item['seeds']} | "
      f"{_fmt(item['lr_sensitivity'], item['lr_sensitivity_sd'])} | "
      f"{_fmt(item['best_loss'], item['best_loss_sd'])} | {item['best_lr']:g} | "
      f"{'-' if item['max_stable_lr'] is None else format(item['max_stable_lr'], 'g')}"
      " |"
    )
  return (
    "LR sensitivity = mean over the LR grid of min(l, l0) - l* (l0 = ln V, the loss at the "
    "start); max stable LR = the largest LR that did not diverge and ended at least "
    "failure_margin below l0.\n\n" + "\n".join(lines) + "\n"
  )


def plot_loss_vs_lr(summary: list, l0: float, path: pathlib.Path) -> None:
  """Final validation loss against peak LR: one panel per width, one line per warmup (Wortsman
  Fig. 1); qk-layernorm dashed; diverged runs drawn at l0."""
  plt = report.pyplot()
  widths = sorted({s["width"] for s in summary})
  fig, axes = plt.subplots(
    1, len(widths), figsize=(5 * len(widths), 4.2), squeeze=False, sharey=True
  )
  for ax, width in zip(axes[0], widths):
    lines: dict = {}
    for s in summary:
      if s["width"] == width and s["warmup_kind"] == "linear" and s["schedule"] == "warmup_cosine":
        key = (
          s["warmup_steps"],
          s["qk_layernorm"],
          s["z_loss"],
          s["weight_decay_mode"],
          s["depth"],
        )
        lines.setdefault(key, {}).setdefault(s["peak_lr"], []).append(
          l0 if s["final_val_loss"] is None else min(s["final_val_loss"], l0)
        )
    for (warmup, qk, z, mode, _depth), points in sorted(lines.items(), key=str):
      lrs = sorted(points)
      label = (
        f"warmup {warmup}"
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
        label=label,
      )
    ax.axhline(l0, color="gray", linewidth=0.8, linestyle=":")
    ax.set_xscale("log")
    ax.set_title(f"width {width}")
    ax.set_xlabel("peak learning rate")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=6)
  axes[0, 0].set_ylabel("final validation loss (nats/token; dotted: ln V)")
  report.save_figure(fig, path)


def plot_sensitivity(items: list, path: pathlib.Path) -> None:
  """LR sensitivity against warmup length, one line per width (and qk-layernorm)."""
  plt = report.pyplot()
  fig, ax = plt.subplots(figsize=(6.5, 4.2))
  lines: dict = {}
  for item in items:
    if (
      item["warmup_kind"] == "linear"
      and item["schedule"] == "warmup_cosine"
      and not item["z_loss"]
      and item["weight_decay_mode"] == "independent"
    ):
      lines.setdefault((item["width"], item["depth"], item["qk_layernorm"]), []).append(item)
  for (width, depth, qk), points in sorted(lines.items()):
    points.sort(key=lambda p: p["warmup_steps"])
    ax.errorbar(
      [max(p["warmup_steps"], 1) for p in points],
      [p["lr_sensitivity"] for p in points],
      yerr=[p["lr_sensitivity_sd"] for p in points],
      marker="o",
      capsize=3,
      linestyle="--" if qk else "-",
      label=f"width {width}, depth {depth}" + (", qk-LN" if qk else ""),
    )
  ax.set_xscale("log")
  ax.set_xlabel("warmup steps (0 drawn at 1)")
  ax.set_ylabel("LR sensitivity (nats)")
  ax.grid(True, alpha=0.3)
  ax.legend(fontsize=7)
  report.save_figure(fig, path)


def plot_attention_logits(rows: list, summary: list, path: pathlib.Path) -> None:
  """Max |attention logit| over time for the two highest LRs, with and without qk-layernorm."""
  plt = report.pyplot()
  top = sorted({s["peak_lr"] for s in summary})[-2:]
  chosen = {s["run"]: s for s in summary if s["peak_lr"] in top and s["seed"] == summary[0]["seed"]}
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
        label=f"w{s['width']} lr {s['peak_lr']:g} warmup {s['warmup_steps']}"
        + (" qk-LN" if s["qk_layernorm"] else ""),
      )
  ax.set_yscale("log")
  ax.set_xlabel("step")
  ax.set_ylabel("max |attention logit| (validation)")
  ax.grid(True, alpha=0.3)
  ax.legend(fontsize=5, ncol=2)
  report.save_figure(fig, path)


def plot_phase_diagram(summary: list, l0: float, margin: float, path: pathlib.Path) -> None:
  """Kalra & Barkeshli's diagram at the widest width without qk-layernorm: peak LR x warmup
  length, colored by final loss; x = failed (diverged or not margin below l0)."""
  plt = report.pyplot()
  width = max(s["width"] for s in summary)
  cells: dict = {}
  for s in summary:
    if (
      s["width"] == width
      and not s["qk_layernorm"]
      and s["warmup_kind"] == "linear"
      and s["schedule"] == "warmup_cosine"
      and not s["z_loss"]
      and s["weight_decay_mode"] == "independent"
    ):
      cells.setdefault((s["warmup_steps"], s["peak_lr"]), []).append(
        l0 if s["final_val_loss"] is None else min(s["final_val_loss"], l0)
      )
  if not cells:
    return
  warmups, lrs = sorted({k[0] for k in cells}), sorted({k[1] for k in cells})
  grid = np.full((len(warmups), len(lrs)), np.nan)
  for (w, lr), values in cells.items():
    grid[warmups.index(w), lrs.index(lr)] = np.mean(values)
  fig, ax = plt.subplots(figsize=(6.5, 4.2))
  image = ax.imshow(grid, origin="lower", aspect="auto", cmap="viridis")
  for i in range(len(warmups)):
    for j in range(len(lrs)):
      if not grid[i, j] < l0 - margin:
        ax.text(j, i, "x", ha="center", va="center", color="red", fontsize=12)
  ax.set_xticks(range(len(lrs)))
  ax.set_xticklabels([f"{lr:g}" for lr in lrs], rotation=45)
  ax.set_yticks(range(len(warmups)))
  ax.set_yticklabels(warmups)
  ax.set_xlabel("peak learning rate")
  ax.set_ylabel("warmup steps")
  ax.set_title(f"final validation loss, width {width} (x: failed)")
  fig.colorbar(image, ax=ax)
  report.save_figure(fig, path)


def write_results(config, workdir: pathlib.Path, rows: list, summary: list) -> str:
  """Writes sensitivity.json and the plots; returns the sensitivity table for results.md."""
  vocab = data_lib.corpus(config).vocab_size
  items = sensitivities(config, summary, vocab)
  (workdir / "sensitivity.json").write_text(json.dumps(items, indent=2))
  if rows:
    l0 = math.log(vocab)
    plot_loss_vs_lr(summary, l0, workdir / "loss_vs_lr.png")
    plot_sensitivity(items, workdir / "sensitivity.png")
    plot_attention_logits(rows, summary, workdir / "attention_logits.png")
    plot_phase_diagram(summary, l0, config.failure_margin, workdir / "phase_diagram.png")
  return sensitivity_table(items)
