"""What is the spurious study's own in the results: early stopping on worst-group validation
accuracy, the method x schedule table, and its plots."""

import pathlib

import numpy as np

from experiments.common import optim
from experiments.common import report
from experiments.spurious import data as data_lib


def steps_per_epoch(config) -> int:
  return -(-len(data_lib.splits(config)["train"].y) // config.batch_size)


def summarize_run(config, history: list, hparams: dict) -> dict:
  """The run's settings, its final accuracies, and those at its best worst-group validation
  accuracy (early stopping; the first such evaluation)."""
  spec = report.run_spec(config, history[-1]["spec"])
  optimizer = optim.core_entry(hparams)
  method = spec.get("method", "erm")
  healthy = [r for r in history if r.get("val_worst_acc") is not None]
  best = max(healthy, key=lambda r: r["val_worst_acc"]) if healthy else None
  last = report.last_finite
  out = {
    "method": method,
    "schedule": hparams["schedule"]["type"],
    "optimizer": optimizer["type"],
    "peak_lr": hparams["peak_lr"],
    "weight_decay": optimizer["weight_decay"],
    "eta_q": spec.get("eta_q", 0.1) if method == "group_dro" else None,
    "test_avg_acc": last(history, "test_acc"),
    "test_worst_group_acc": last(history, "test_worst_acc"),
    "val_worst_group_acc": last(history, "val_worst_acc"),
    "train_acc": last(history, "train_acc"),
    "best_epoch": None if best is None else round(best["step"] / steps_per_epoch(config), 1),
    "early_stopped_test_avg_acc": None if best is None else best["test_acc"],
    "early_stopped_test_worst_group_acc": None if best is None else best["test_worst_acc"],
  }
  if history[-1].get("randomized_test_acc") is not None:
    out["randomized_test_acc"] = history[-1]["randomized_test_acc"]
  return out


def _mean_sd(values: list) -> str:
  values = [v for v in values if v is not None]
  if not values:
    return "-"
  return f"{np.mean(values):.3f} ± {np.std(values):.3f}"


def results_table(summary: list) -> str:
  """Per spec (mean ± sd over seeds): final and early-stopped test accuracies."""
  randomized = any("randomized_test_acc" in s for s in summary)
  head = (
    "| spec | method | optimizer | seeds | diverged | train acc | test avg "
    "| test worst group | early-stopped test avg | early-stopped test worst |"
  )
  lines = [
    head + (" randomized-simple-coordinate acc |" if randomized else ""),
    "|---|---|---|---:|---:|---:|---:|---:|---:|---:|" + ("---:|" if randomized else ""),
  ]
  for name, items in report.by_spec(summary).items():
    first = items[0]
    method = first["method"] + (f" (eta_q {first['eta_q']:g})" if first["eta_q"] else "")
    row = (
      f"| {name} | {method} | {first['optimizer']} | {len(items)} | "
      f"{sum(s['diverged'] for s in items)} | "
      + " | ".join(
        _mean_sd([s[k] for s in items])
        for k in (
          "train_acc",
          "test_avg_acc",
          "test_worst_group_acc",
          "early_stopped_test_avg_acc",
          "early_stopped_test_worst_group_acc",
        )
      )
      + " |"
    )
    if randomized:
      row += f" {_mean_sd([s.get('randomized_test_acc') for s in items])} |"
    lines.append(row)
  return (
    "Mean ± standard deviation over seeds; early-stopped = at the evaluation with the best "
    "worst-group validation accuracy.\n\n" + "\n".join(lines) + "\n"
  )


def plot_comparison(summary: list, path: pathlib.Path) -> None:
  """Test worst-group accuracy per spec, final and early-stopped: bars at the mean, seed dots."""
  plt = report.pyplot()
  specs = report.by_spec(summary)
  fig, ax = plt.subplots(figsize=(max(7, 0.45 * len(specs) + 2), 5))
  for offset, key, color, label in (
    (-0.2, "test_worst_group_acc", "C0", "final"),
    (0.2, "early_stopped_test_worst_group_acc", "C1", "early-stopped"),
  ):
    for i, items in enumerate(specs.values()):
      values = [s[key] for s in items if s[key] is not None]
      if values:
        ax.bar(
          i + offset,
          np.mean(values),
          width=0.4,
          color=color,
          alpha=0.35,
          label=label if i == 0 else None,
        )
        ax.scatter([i + offset] * len(values), values, color=color, s=10, zorder=3)
  ax.set_xticks(range(len(specs)))
  ax.set_xticklabels(list(specs), rotation=60, ha="right", fontsize=7)
  ax.set_ylabel("test worst-group accuracy")
  ax.set_ylim(0, 1.02)
  ax.grid(True, axis="y", alpha=0.3)
  ax.legend(fontsize=8)
  ax.set_title("Worst-group test accuracy by method x schedule (bar: mean; dots: seeds)")
  report.save_figure(fig, path)


def plot_over_time(rows: list, path: pathlib.Path) -> None:
  """Average and worst-group test accuracy (mean over seeds) per spec, and group DRO's q."""
  plt = report.pyplot()
  by_spec: dict = {}
  for row in rows:
    by_spec.setdefault(row["spec"], {}).setdefault(row["step"], []).append(row)
  q_keys = sorted(k for k in rows[0] if k.startswith("q_g"))
  fig, axes = plt.subplots(3, 1, figsize=(11, 11), sharex=True)
  palette = plt.cm.tab20
  for i, (name, steps) in enumerate(by_spec.items()):
    xs = sorted(steps)
    mean = lambda key, steps=steps, xs=xs: [
      np.mean([r[key] for r in steps[s] if r[key] is not None] or [np.nan]) for s in xs
    ]
    color = palette(i % 20)
    axes[0].plot(xs, mean("test_acc"), color=color, linewidth=1.2, label=name)
    axes[1].plot(xs, mean("test_worst_acc"), color=color, linewidth=1.2)
    if any(
      r["spec"] == name and r.get(q_keys[0]) not in (None, 1 / len(q_keys)) for r in steps[xs[-1]]
    ):
      for k, key in enumerate(q_keys):
        axes[2].plot(
          xs, mean(key), color=color, linewidth=1.0, linestyle=("-", "--", ":", "-.")[k % 4]
        )
  axes[0].set_ylabel("test accuracy (average)")
  axes[1].set_ylabel("test accuracy (worst group)")
  axes[2].set_ylabel("group DRO's q\n(one line style per group)")
  axes[2].set_xlabel("step")
  for ax in axes:
    ax.grid(True, alpha=0.3)
  axes[0].legend(fontsize=6, ncol=3, loc="lower right")
  report.save_figure(fig, path)


def write_results(config, workdir: pathlib.Path, rows: list, summary: list) -> str:
  """Writes comparison.png and accuracy.png; returns the table for results.md."""
  if rows:
    plot_comparison(summary, workdir / "comparison.png")
    plot_over_time(rows, workdir / "accuracy.png")
  return results_table(summary)
