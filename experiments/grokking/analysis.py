"""The grokking-specific results: memorization and generalization steps, their table and plot."""

import pathlib
from typing import Optional, Sequence

import numpy as np

from experiments.common import report


def first_step_at_least(
  steps: Sequence[int], values: Sequence[Optional[float]], threshold: float
) -> Optional[int]:
  """The first evaluated step whose value is >= threshold (None values never are)."""
  for step, value in zip(steps, values):
    if value is not None and value >= threshold:
      return int(step)
  return None


def summarize_run(config, history: list, hparams: dict) -> dict:
  """Steps to memorize (train accuracy) and to generalize (validation accuracy), and the gap."""
  del hparams
  steps = [r["step"] for r in history]
  memorized = first_step_at_least(steps, [r["train_acc"] for r in history], config.target_accuracy)
  generalized = first_step_at_least(steps, [r["val_acc"] for r in history], config.target_accuracy)
  return {
    "steps_to_train_acc_99": memorized,
    "steps_to_val_acc_99": generalized,
    "grokking_gap": None if memorized is None or generalized is None else generalized - memorized,
  }


def _fmt(x) -> str:
  return "never" if x is None else f"{x}"


def _acc(x) -> str:
  return "-" if x is None else f"{x:.3f}"


def results_table(summary: list, config) -> str:
  """A markdown table of the runs, and one of the per-spec medians."""
  lines = [
    f"Target accuracy {config.target_accuracy:.0%}; steps are optimizer updates, "
    f"measured every {config.eval_every} steps.",
    "",
    "| run | steps to train acc | steps to val acc | gap | final train | final val |",
    "|---|---:|---:|---:|---:|---:|",
  ]
  for s in summary:
    note = f" (diverged at {s['diverged_at_step']})" if s["diverged"] else ""
    lines.append(
      f"| {s['run']}{note} | {_fmt(s['steps_to_train_acc_99'])} | "
      f"{_fmt(s['steps_to_val_acc_99'])} | {_fmt(s['grokking_gap'])} | "
      f"{_acc(s['final_train_acc'])} | {_acc(s['final_val_acc'])} |"
    )
  lines += [
    "",
    "| spec | seeds generalized | median steps to val acc | min - max |",
    "|---|---:|---:|---|",
  ]
  for name, items in report.by_spec(summary).items():
    reached = sorted(
      s["steps_to_val_acc_99"] for s in items if s["steps_to_val_acc_99"] is not None
    )
    median = f"{int(np.median(reached))}" if reached else "never"
    spread = f"{reached[0]} - {reached[-1]}" if reached else "-"
    lines.append(f"| {name} | {len(reached)}/{len(items)} | {median} | {spread} |")
  return "\n".join(lines) + "\n"


def plot_comparison(summary: list, total_steps: int, path: pathlib.Path) -> None:
  """Steps to generalize per spec: median bar, one dot per seed, x for never."""
  plt = report.pyplot()
  by_spec = {k: [s["steps_to_val_acc_99"] for s in v] for k, v in report.by_spec(summary).items()}
  names = list(by_spec)
  fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(names) + 2), 4.8))
  labelled = False
  for i, name in enumerate(names):
    values = by_spec[name]
    reached = [v for v in values if v is not None]
    if reached:
      ax.bar(i, np.median(reached), color="C0", alpha=0.35)
      ax.scatter([i] * len(reached), reached, color="C0", zorder=3, s=18)
    never = len(values) - len(reached)
    if never:
      ax.scatter(
        [i] * never,
        [total_steps] * never,
        marker="x",
        color="C3",
        zorder=3,
        label=None if labelled else "not generalized",
      )
      labelled = True
  ax.axhline(total_steps, color="C3", linewidth=0.8, linestyle=":")
  ax.set_xticks(range(len(names)))
  ax.set_xticklabels(names, rotation=30, ha="right", fontsize=8)
  ax.set_ylabel("steps to 99% validation accuracy")
  ax.set_title("Steps to generalize (bar: median over seeds; dots: seeds; x: never)")
  ax.grid(True, axis="y", alpha=0.3)
  if labelled:
    ax.legend(fontsize=8)
  report.save_figure(fig, path)


def write_results(config, workdir: pathlib.Path, rows: list, summary: list) -> str:
  """Writes comparison.png; returns the grokking tables for results.md."""
  if rows:
    plot_comparison(summary, config.total_steps, workdir / "comparison.png")
  return results_table(summary, config)
