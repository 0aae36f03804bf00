"""The grokking-specific results: when a run memorizes and generalizes, how stably, and how the
runs of a preset compare over seeds.

Per run (``summarize_run``), from the evaluations in ``metrics.jsonl``:

* the **first crossing**: the first evaluated step with accuracy >= the target
  (``steps_to_train_acc_99``, ``steps_to_val_acc_99``);
* the **stable crossing**: the first evaluated step from which the accuracy stays
  >= the target at every later evaluation of the run (``steps_to_stable_train``,
  ``steps_to_stable_val``); None when the last evaluation is below the target. A
  run that crosses, collapses and recovers has a stable step later than its first;
* ``val_collapses``: after the first crossing, the number of separate episodes
  (maximal stretches of consecutive evaluations) with validation accuracy below
  ``COLLAPSE_BELOW``; ``val_at_target_fraction``: the fraction of evaluations from
  the first crossing on with validation accuracy >= the target;
* ``val_acc_at_schedule_end``: the validation accuracy at the last evaluation not
  after the schedule's ``total_steps`` (its horizon), when the schedule has one
  shorter than the run.

Over seeds (``results_table``): medians with a distribution-free 95% interval from
order statistics (``median_interval``: the interval ``[x_(k), x_(n+1-k)]`` covers the
population median with probability ``1 - 2 P(Bin(n, 1/2) <= k - 1)``, whatever the
distribution); a run that never reaches the target counts as later than any
step (+inf), so a median or bound that falls on such a run reads "never". Paired
comparisons (``config.comparisons``, pairs ``(run, baseline)`` trained on the same
seeds, hence the same split, initialization and batches) take the per-seed
difference and the same interval on its median.
"""

import math
import pathlib
from typing import Optional, Sequence

import numpy as np

from experiments.common import report

COLLAPSE_BELOW = 0.5  # validation accuracy below this, after generalizing, is a collapse
CONFIDENCE = 0.95


def first_step_at_least(
  steps: Sequence[int], values: Sequence[Optional[float]], threshold: float
) -> Optional[int]:
  """The first evaluated step whose value is >= threshold (None values never are)."""
  for step, value in zip(steps, values):
    if value is not None and value >= threshold:
      return int(step)
  return None


def stable_step_at_least(
  steps: Sequence[int], values: Sequence[Optional[float]], threshold: float
) -> Optional[int]:
  """The first evaluated step from which every later value is >= threshold; None if the last
  value is not (None values never are)."""
  stable = None
  for step, value in zip(reversed(steps), reversed(values)):
    if value is None or value < threshold:
      break
    stable = int(step)
  return stable


def episodes_below(values: Sequence[Optional[float]], threshold: float) -> int:
  """The number of maximal stretches of consecutive values < threshold (None counts as below)."""
  count, below = 0, False
  for value in values:
    now = value is None or value < threshold
    count += now and not below
    below = now
  return count


def order_statistic_rank(n: int, confidence: float = CONFIDENCE) -> tuple:
  """``(k, coverage)``: the largest ``k`` whose ``[x_(k), x_(n+1-k)]`` covers the median with
  probability ``coverage = 1 - 2 P(Bin(n, 1/2) <= k - 1) >= confidence``; ``k = 1`` with its
  (lower) coverage when even the full range falls short (n <= 5 at 95%)."""
  if n < 1:
    raise ValueError(f"order_statistic_rank: n={n} must be >= 1")
  k = 1
  while k + 1 <= (n + 1) // 2:
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2.0**n  # P(B <= k)
    if 1.0 - 2.0 * tail < confidence:
      break
    k += 1
  tail = sum(math.comb(n, i) for i in range(k)) / 2.0**n  # P(B <= k - 1)
  return k, 1.0 - 2.0 * tail


def median_interval(values: Sequence[Optional[float]], confidence: float = CONFIDENCE) -> tuple:
  """``(median, low, high, coverage)`` of ``values`` (None = never reached: +inf); the bounds
  are the order statistics of :func:`order_statistic_rank`. Empty: all None."""
  if not values:
    return None, None, None, None
  x = np.sort(np.array([np.inf if v is None else v for v in values], float))
  k, coverage = order_statistic_rank(len(x), confidence)
  return float(np.median(x)), float(x[k - 1]), float(x[len(x) - k]), coverage


def paired_differences(run: dict, baseline: dict, key: str) -> list:
  """Per seed both hold, ``run[seed][key] - baseline[seed][key]``; None (never) is +inf, so a
  run that never gets there where its baseline does is +inf later and the reverse -inf; seeds
  where both never do are left out."""
  out = []
  for seed in sorted(set(run) & set(baseline)):
    a, b = run[seed][key], baseline[seed][key]
    if a is None and b is None:
      continue
    out.append(np.inf if a is None else -np.inf if b is None else float(a) - float(b))
  return out


def summarize_run(config, history: list, hparams: dict) -> dict:
  """The run's steps to memorize and to generalize (first and stable), collapses, the gap."""
  steps = [r["step"] for r in history]
  train = [r["train_acc"] for r in history]
  val = [r["val_acc"] for r in history]
  target = config.target_accuracy
  memorized = first_step_at_least(steps, train, target)
  generalized = first_step_at_least(steps, val, target)
  after = [v for s, v in zip(steps, val) if generalized is not None and s >= generalized]
  horizon = hparams.get("schedule", {}).get("total_steps") if hparams else None
  at_horizon = None
  if horizon is not None and horizon < steps[-1]:
    before = [v for s, v in zip(steps, val) if s <= horizon]
    at_horizon = before[-1] if before else None
  return {
    "steps_to_train_acc_99": memorized,
    "steps_to_stable_train": stable_step_at_least(steps, train, target),
    "steps_to_val_acc_99": generalized,
    "steps_to_stable_val": stable_step_at_least(steps, val, target),
    "grokking_gap": None if memorized is None or generalized is None else generalized - memorized,
    "val_collapses": episodes_below(after, COLLAPSE_BELOW) if after else None,
    "val_at_target_fraction": (
      sum(v is not None and v >= target for v in after) / len(after) if after else None
    ),
    "val_acc_at_schedule_end": at_horizon,
  }


def _steps(x) -> str:
  if x is None:
    return "never"
  return "never" if math.isinf(x) and x > 0 else f"{x:.0f}"


def _acc(x) -> str:
  return "-" if x is None else f"{x:.3f}"


def _signed(x) -> str:
  if math.isinf(x):
    return "+never" if x > 0 else "-never"
  return f"{x:+.0f}"


def _with_interval(values: list, fmt) -> str:
  median, low, high, _ = median_interval(values)
  if median is None:
    return "-"
  return f"{fmt(median)} [{fmt(low)}, {fmt(high)}]"


def _coverage_note(n_values: set) -> str:
  notes = []
  for n in sorted(n_values):
    k, coverage = order_statistic_rank(n)
    notes.append(f"n={n}: [x({k}), x({n + 1 - k})], coverage {coverage:.1%}")
  return "; ".join(notes)


def runs_table(summary: list) -> list:
  lines = [
    "| run | train first | train stable | val first | val stable | gap | collapses "
    "| final train | final val |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
  ]
  for s in summary:
    note = f" (diverged at {s['diverged_at_step']})" if s["diverged"] else ""
    lines.append(
      f"| {s['run']}{note} | {_steps(s['steps_to_train_acc_99'])} | "
      f"{_steps(s['steps_to_stable_train'])} | {_steps(s['steps_to_val_acc_99'])} | "
      f"{_steps(s['steps_to_stable_val'])} | {_steps(s['grokking_gap'])} | "
      f"{'-' if s['val_collapses'] is None else s['val_collapses']} | "
      f"{_acc(s['final_train_acc'])} | {_acc(s['final_val_acc'])} |"
    )
  return lines


def specs_table(summary: list) -> list:
  lines = [
    "| spec | n | memorized (first 99% train) | val first 99% | generalized (stable) "
    "| val stable 99% | final val acc | at schedule end | collapses |",
    "|---|---:|---|---|---:|---|---|---|---:|",
  ]
  for name, items in report.by_spec(summary).items():
    stable = [s["steps_to_stable_val"] for s in items]
    horizon = [s["val_acc_at_schedule_end"] for s in items]
    collapses = [s["val_collapses"] or 0 for s in items]
    lines.append(
      f"| {name} | {len(items)} | "
      f"{_with_interval([s['steps_to_train_acc_99'] for s in items], _steps)} | "
      f"{_with_interval([s['steps_to_val_acc_99'] for s in items], _steps)} | "
      f"{sum(v is not None for v in stable)}/{len(items)} | "
      f"{_with_interval(stable, _steps)} | "
      f"{_with_interval([s['final_val_acc'] or 0.0 for s in items], _acc)} | "
      f"{'-' if None in horizon else _with_interval(horizon, _acc)} | {sum(collapses)} |"
    )
  return lines


def comparisons_table(summary: list, comparisons: tuple) -> list:
  """Paired (same seed) differences, run minus baseline, for each pair of ``comparisons``."""
  specs = {name: {s["seed"]: s for s in items} for name, items in report.by_spec(summary).items()}
  lines = [
    "| run - baseline | seeds | memorized (first train) | val first | val stable "
    "| final val acc | collapses |",
    "|---|---:|---|---|---|---|---|",
  ]
  missing = []
  for run, baseline in comparisons:
    if run not in specs or baseline not in specs:
      missing.append(f"{run} - {baseline}")
      continue
    cells = []
    for key, fmt in (
      ("steps_to_train_acc_99", _signed),
      ("steps_to_val_acc_99", _signed),
      ("steps_to_stable_val", _signed),
      ("final_val_acc", lambda x: f"{x:+.3f}"),
      ("val_collapses", lambda x: f"{x:+.0f}"),
    ):
      if key == "val_collapses":  # a run that never generalized had none
        pair = [{s: {key: r[key] or 0} for s, r in specs[name].items()} for name in (run, baseline)]
        d = paired_differences(*pair, key)
      else:
        d = paired_differences(specs[run], specs[baseline], key)
      cells.append(f"{_with_interval(d, fmt)} (n={len(d)})" if d else "-")
    seeds = len(set(specs[run]) & set(specs[baseline]))
    lines.append(f"| {run} - {baseline} | {seeds} | " + " | ".join(cells) + " |")
  if missing:
    lines += ["", "Not in this invocation: " + ", ".join(missing) + "."]
  return lines


def results_table(summary: list, config) -> str:
  """The markdown tables: per run, per spec over seeds, and the paired comparisons."""
  n_values = {len(v) for v in report.by_spec(summary).values()}
  lines = [
    f"Target accuracy {config.target_accuracy:.0%}; steps are optimizer updates, evaluated every "
    f"{config.eval_every} steps (the resolution of every step count). First: the first "
    "evaluation at the target; stable: the first from which every later evaluation is at it. "
    f"Collapses: episodes of validation accuracy below {COLLAPSE_BELOW:.0%} after the first "
    "crossing.",
    "",
    *runs_table(summary),
    "",
    "Over seeds: median [95% interval] (distribution-free, order statistics: "
    f"{_coverage_note(n_values)}); never = not reached in {config.total_steps} steps, counted "
    "as later than any step.",
    "",
    *specs_table(summary),
  ]
  comparisons = getattr(config, "comparisons", ())
  if comparisons:
    lines += [
      "",
      "Paired by seed (same split, initialization and batches): median of the per-seed "
      "difference [95% interval]; +never: the run never got there where its baseline did; seeds "
      "where neither did are left out of n.",
      "",
      *comparisons_table(summary, comparisons),
    ]
  return "\n".join(lines) + "\n"


def plot_comparison(summary: list, total_steps: int, path: pathlib.Path) -> None:
  """Stable steps to generalize per spec: median bar, one dot per seed (hollow: first
  crossing), x for never."""
  plt = report.pyplot()
  specs = report.by_spec(summary)
  names = list(specs)
  fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(names) + 2), 4.8))
  labelled = False
  for i, name in enumerate(names):
    stable = [s["steps_to_stable_val"] for s in specs[name]]
    first = [s["steps_to_val_acc_99"] for s in specs[name] if s["steps_to_val_acc_99"] is not None]
    reached = [v for v in stable if v is not None]
    if reached:
      ax.bar(i, np.median(reached), color="C0", alpha=0.35)
      ax.scatter([i] * len(reached), reached, color="C0", zorder=3, s=18)
    if first:
      ax.scatter([i + 0.15] * len(first), first, facecolors="none", edgecolors="C1", zorder=3, s=18)
    never = len(stable) - len(reached)
    if never:
      ax.scatter(
        [i] * never,
        [total_steps] * never,
        marker="x",
        color="C3",
        zorder=3,
        label=None if labelled else "not stably generalized",
      )
      labelled = True
  ax.axhline(total_steps, color="C3", linewidth=0.8, linestyle=":")
  ax.set_xticks(range(len(names)))
  ax.set_xticklabels(names, rotation=30, ha="right", fontsize=8)
  ax.set_ylabel("steps to 99% validation accuracy")
  ax.set_title("Stable steps to generalize (bar: median; dots: seeds; hollow: first crossing)")
  ax.grid(True, axis="y", alpha=0.3)
  if labelled:
    ax.legend(fontsize=8)
  report.save_figure(fig, path)


def write_results(config, workdir: pathlib.Path, rows: list, summary: list) -> str:
  """Writes comparison.png; returns the grokking tables for results.md."""
  if rows:
    plot_comparison(summary, config.total_steps, workdir / "comparison.png")
  return results_table(summary, config)
