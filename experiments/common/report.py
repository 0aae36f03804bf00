"""From ``metrics.jsonl`` to results: the per-run summary, the generic table, the curves.

Diverged runs are summarized with ``diverged: true`` and ``diverged_at_step``,
shown as such in the table and marked with an x where they diverged on the
curves; their ``null`` metrics never reach a computation.
"""

import json
import pathlib
from typing import Optional

import numpy as np

from experiments.common import machine

ROW_KEYS = ("run", "spec", "seed", "step", "diverged", "diverged_at_step")

# (title, metric keys, log y). The first key is drawn dashed, the others solid.
DEFAULT_PANELS = (("loss", ("batch_loss",), True), ("learning rate", ("lr",), False))


def pyplot():
  """matplotlib's pyplot on the file-only Agg backend, imported on first use."""
  import matplotlib  # pylint: disable=import-outside-toplevel

  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel

  return plt


def save_figure(fig, path: pathlib.Path) -> None:
  """Saves ``fig`` to ``path`` (PNG, 110 dpi, tight layout) and closes it."""
  fig.tight_layout()
  path = pathlib.Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  fig.savefig(path, dpi=110)
  pyplot().close(fig)


def run_spec(config, name: str) -> dict:
  """The entry of ``config.runs`` called ``name``."""
  return next(r for r in config.runs if r["name"] == name)


def by_spec(summary: list) -> dict:
  """``{spec: [run summaries]}`` in order of first appearance."""
  out: dict = {}
  for s in summary:
    out.setdefault(s["spec"], []).append(s)
  return out


def by_run(rows: list) -> dict:
  """``{run: [rows by step]}`` in order of first appearance."""
  runs: dict = {}
  for row in rows:
    runs.setdefault(row["run"], []).append(row)
  for history in runs.values():
    history.sort(key=lambda r: r["step"])
  return runs


def last_finite(history: list, key: str) -> Optional[float]:
  """The value of ``key`` at the last row where it is a number."""
  for row in reversed(history):
    if row.get(key) is not None:
      return row[key]
  return None


def summarize(study, config, rows: list, run_wall: dict, hparams: dict, execution: dict) -> list:
  """One summary per run: final metrics, divergence, its resolved hyperparameters, the study's
  fields, the execution mode and wall time."""
  summary = []
  for name, history in by_run(rows).items():
    last = history[-1]
    metrics = [k for k in last if k not in ROW_KEYS]
    item = {
      "run": name,
      "spec": last["spec"],
      "seed": last["seed"],
      "final_step": last["step"],
      "diverged": bool(last["diverged"]),
      "diverged_at_step": last.get("diverged_at_step"),
    }
    item.update({f"final_{k}": last_finite(history, k) for k in metrics})
    item["hparams"] = hparams[name]
    if study.summarize_run is not None:
      item.update(study.summarize_run(config, history, hparams[name]))
    item["execution"] = execution.get(name)
    item["wall_seconds"] = round(run_wall.get(name, float("nan")), 2)
    summary.append(item)
  return summary


def _fmt(x) -> str:
  if x is None:
    return "-"
  if isinstance(x, float):
    return f"{x:.4g}"
  return str(x)


def runs_table(summary: list, keys: tuple) -> str:
  """A markdown table of the runs' final values of ``keys``; diverged runs say so."""
  lines = [
    "| run | " + " | ".join(keys) + " | diverged | wall s |",
    "|---|" + "---:|" * len(keys) + "---|---:|",
  ]
  for s in summary:
    diverged = f"at step {s['diverged_at_step']}" if s["diverged"] else "no"
    lines.append(
      f"| {s['run']} | "
      + " | ".join(_fmt(s.get(k)) for k in keys)
      + f" | {diverged} | {s['wall_seconds']} |"
    )
  return "\n".join(lines) + "\n"


def plot_curves(rows: list, panels: tuple, path: pathlib.Path) -> None:
  """One panel per ``(title, keys, log_y)`` against the step (log x); x marks divergence."""
  plt = pyplot()
  runs = by_run(rows)
  fig, axes = plt.subplots(
    len(panels), 1, figsize=(10, 2.6 + 2.4 * len(panels)), sharex=True, squeeze=False
  )
  palette = plt.cm.tab10 if len(runs) <= 10 else plt.cm.tab20
  for index, (name, history) in enumerate(runs.items()):
    color = palette(index % 20)
    steps = np.asarray([r["step"] for r in history])
    for ax, (_, keys, _) in zip(axes[:, 0], panels):
      for k, key in enumerate(keys):
        values = np.asarray([np.nan if r.get(key) is None else r[key] for r in history], float)
        ax.plot(
          steps,
          values,
          color=color,
          linestyle="--" if k == 0 and len(keys) > 1 else "-",
          linewidth=1.0 if k == 0 and len(keys) > 1 else 1.5,
          label=name if (ax is axes[0, 0] and k == len(keys) - 1) else None,
        )
      if history[-1]["diverged"]:
        at = history[-1].get("diverged_at_step") or steps[-1]
        ax.axvline(max(at, 1), color=color, linestyle=":", linewidth=0.8)
        ax.plot([max(at, 1)], [ax.get_ylim()[1]], marker="x", color=color, clip_on=False)
  for ax, (title, keys, log_y) in zip(axes[:, 0], panels):
    ax.set_ylabel(title + (f"\n(dashed: {keys[0]})" if len(keys) > 1 else ""))
    if log_y:
      ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
  axes[0, 0].set_xscale("log")
  axes[0, 0].legend(fontsize=7, ncol=2, loc="best")
  axes[-1, 0].set_xlabel("step (dotted line, x: diverged)")
  save_figure(fig, path)


def write_results(
  study,
  config,
  workdir: pathlib.Path,
  rows: list,
  run_wall: dict,
  hparams: dict,
  execution: dict,
  machine_info: dict,
) -> list:
  """Writes summary.json, results.md (the machine named), curves.png and the study's own
  results."""
  summary = summarize(study, config, rows, run_wall, hparams, execution)
  (workdir / "summary.json").write_text(json.dumps(summary, indent=2))
  metrics = study.table_keys or tuple(k for k in (rows[-1] if rows else {}) if k not in ROW_KEYS)
  text = runs_table(summary, tuple(f"final_{k}" for k in metrics))
  if study.write_results is not None:
    text = study.write_results(config, workdir, rows, summary) + "\n" + text
  text = f"Machine: {machine.line(machine_info)}.\n\n" + text
  (workdir / "results.md").write_text(text)
  if rows:
    plot_curves(rows, study.panels, workdir / "curves.png")
  return summary
