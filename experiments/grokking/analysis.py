"""From metrics to results: the memorization / generalization detector, tables, plots."""

import json
import pathlib
from typing import Optional, Sequence

import numpy as np


def first_step_at_least(steps: Sequence[int], values: Sequence[float],
                        threshold: float) -> Optional[int]:
  """The first evaluated step whose value is >= threshold, or None if none is."""
  for step, value in zip(steps, values):
    if value >= threshold:
      return int(step)
  return None


def summarize(rows: list, run_wall: dict, target: float) -> list:
  """One summary per run, in order of first appearance in ``rows``."""
  runs: dict = {}
  for row in rows:
    runs.setdefault(row["run"], []).append(row)
  summary = []
  for name, history in runs.items():
    history.sort(key=lambda r: r["step"])
    steps = [r["step"] for r in history]
    memorized = first_step_at_least(steps, [r["train_acc"] for r in history], target)
    generalized = first_step_at_least(steps, [r["val_acc"] for r in history], target)
    last = history[-1]
    summary.append({
        "run": name, "schedule": last["schedule"], "seed": last["seed"],
        "steps_to_train_acc_99": memorized, "steps_to_val_acc_99": generalized,
        "grokking_gap": None if memorized is None or generalized is None
        else generalized - memorized,
        "final_step": last["step"], "final_train_acc": last["train_acc"],
        "final_val_acc": last["val_acc"], "final_lr": last["lr"],
        "wall_seconds": round(run_wall.get(name, float("nan")), 2),
    })
  return summary


def _fmt(x) -> str:
  return "never" if x is None else f"{x}"


def results_table(summary: list, config) -> str:
  """A markdown table of the runs, and one of the per-schedule medians."""
  lines = [f"Target accuracy {config.target_accuracy:.0%}; steps are optimizer updates, "
           f"measured every {config.eval_every} steps. Runs in one vmapped group share their "
           "wall time.", "",
           "| run | steps to train acc | steps to val acc | gap | final train | final val | wall s |",
           "|---|---:|---:|---:|---:|---:|---:|"]
  for s in summary:
    lines.append(f"| {s['run']} | {_fmt(s['steps_to_train_acc_99'])} | "
                 f"{_fmt(s['steps_to_val_acc_99'])} | {_fmt(s['grokking_gap'])} | "
                 f"{s['final_train_acc']:.3f} | {s['final_val_acc']:.3f} | {s['wall_seconds']} |")
  by_schedule: dict = {}
  for s in summary:
    by_schedule.setdefault(s["schedule"], []).append(s)
  lines += ["", "| schedule | seeds generalized | median steps to val acc | min - max |",
            "|---|---:|---:|---|"]
  for name, items in by_schedule.items():
    reached = sorted(s["steps_to_val_acc_99"] for s in items if s["steps_to_val_acc_99"] is not None)
    median = f"{int(np.median(reached))}" if reached else "never"
    spread = f"{reached[0]} - {reached[-1]}" if reached else "-"
    lines.append(f"| {name} | {len(reached)}/{len(items)} | {median} | {spread} |")
  return "\n".join(lines) + "\n"


def plot_curves(rows: list, path: pathlib.Path) -> None:
  """Train (dashed) and validation (solid) accuracy on a log step axis, LR below."""
  import matplotlib  # pylint: disable=import-outside-toplevel
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel

  runs: dict = {}
  for row in rows:
    runs.setdefault(row["run"], []).append(row)
  fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 7), sharex=True,
                                    gridspec_kw={"height_ratios": [3, 1.3]})
  for index, (name, history) in enumerate(runs.items()):
    history.sort(key=lambda r: r["step"])
    steps = [r["step"] for r in history]
    color = (plt.cm.tab10 if len(runs) <= 10 else plt.cm.tab20)(index % 20)
    top.plot(steps, [r["train_acc"] for r in history], color=color, linestyle="--", linewidth=1)
    top.plot(steps, [r["val_acc"] for r in history], color=color, linewidth=1.6, label=name)
    bottom.plot(steps, [r["lr"] for r in history], color=color, linewidth=1.2)
  top.set_xscale("log")
  top.set_ylabel("accuracy (dashed: train, solid: validation)")
  top.set_ylim(-0.02, 1.02)
  top.grid(True, alpha=0.3)
  top.legend(fontsize=7, ncol=2, loc="upper left")
  bottom.set_xlabel("step")
  bottom.set_ylabel("learning rate")
  bottom.grid(True, alpha=0.3)
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)


def plot_comparison(summary: list, total_steps: int, path: pathlib.Path) -> None:
  """Steps to generalize per schedule: median bar, one dot per seed, x for never."""
  import matplotlib  # pylint: disable=import-outside-toplevel
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel

  by_schedule: dict = {}
  for s in summary:
    by_schedule.setdefault(s["schedule"], []).append(s["steps_to_val_acc_99"])
  names = list(by_schedule)
  fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(names) + 2), 4.8))
  for i, name in enumerate(names):
    values = by_schedule[name]
    reached = [v for v in values if v is not None]
    if reached:
      ax.bar(i, np.median(reached), color="C0", alpha=0.35)
      ax.scatter([i] * len(reached), reached, color="C0", zorder=3, s=18)
    never = len(values) - len(reached)
    if never:
      ax.scatter([i] * never, [total_steps] * never, marker="x", color="C3", zorder=3,
                 label="not generalized" if i == 0 or not ax.get_legend_handles_labels()[0] else None)
  ax.axhline(total_steps, color="C3", linewidth=0.8, linestyle=":")
  ax.set_xticks(range(len(names)))
  ax.set_xticklabels(names, rotation=30, ha="right", fontsize=8)
  ax.set_ylabel("steps to 99% validation accuracy")
  ax.set_title("Steps to generalize (bar: median over seeds; dots: seeds; x: never)")
  ax.grid(True, axis="y", alpha=0.3)
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)


def write_results(config, workdir: pathlib.Path, rows: list, run_wall: dict) -> list:
  """Writes summary.json, results.md, curves.png and comparison.png; returns the summary."""
  summary = summarize(rows, run_wall, config.target_accuracy)
  (workdir / "summary.json").write_text(json.dumps(summary, indent=2))
  (workdir / "results.md").write_text(results_table(summary, config))
  if rows:
    plot_curves(rows, workdir / "curves.png")
    plot_comparison(summary, config.total_steps, workdir / "comparison.png")
  return summary
