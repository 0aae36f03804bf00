"""What is the spurious study's own in the results: each run's summary (final and early-stopped,
per-group test counts), bootstrap intervals over seeds and test images, the contrasts the
verdicts rest on, tables and plots.

**Interval** (``test_worst_group_acc_ci95``): the mean over seeds of the worst-group test
accuracy, bootstrapped over seeds and test images: each draw resamples the seeds with
replacement and, within each drawn seed, that seed's test images of each group with
replacement. Resampling ``n`` images of a group whose model got ``c`` right draws the count
right from ``Binomial(n, c / n)``, so the draw needs only each run's per-group counts
(``test_group_correct``, ``test_group_size``), not its per-image predictions. The interval is
the 2.5 and 97.5 percentiles of 4000 draws (fixed generator seed). A **contrast** of two specs
(``b - a``) draws the same seeds for both (their runs share the seed's split and
initialization) and each run's images independently.

A diverged run scores 0 at the last epoch (its model predicts nothing); early stopping keeps
its best evaluation before it diverged.
"""

import json
import pathlib
from typing import Optional

import numpy as np

from experiments.common import optim
from experiments.common import report
from experiments.spurious import data as data_lib
from experiments.spurious.config import run_settings

DRAWS = 4000
CURVE_EPOCHS = (1, 2, 5, 10, 20, 50)  # epochs whose worst-group test accuracy a row keeps


def steps_per_epoch(config) -> int:
  return -(-data_lib.num_train(config) // config.batch_size)


def _counts(row: dict, groups: int) -> tuple:
  """Per-group test ``(correct, size)`` of one evaluation row."""
  size = [int(round(row[f"test_n_g{g}"])) for g in range(groups)]
  correct = [int(round(row[f"test_acc_g{g}"] * n)) for g, n in zip(range(groups), size)]
  return correct, size


def summarize_run(config, history: list, hparams: dict) -> dict:
  """The run's settings, its final accuracies and those at its best worst-group validation
  accuracy (early stopping over every evaluation; the first such one), with per-group test
  counts for the intervals."""
  spec = report.run_spec(config, history[-1]["spec"])
  method, eta_q, sampler = run_settings(config, spec)
  dataset = spec.get("dataset", config.dataset)
  groups = data_lib.num_groups(dataset)
  optimizer = optim.core_entry(hparams)
  epoch = steps_per_epoch(config)
  healthy = [r for r in history if r.get("val_worst_acc") is not None]
  best = max(healthy, key=lambda r: r["val_worst_acc"]) if healthy else None
  last, diverged = history[-1], bool(history[-1]["diverged"])
  warmup = hparams["schedule"].get("warmup_steps")
  out = {
    "part": history[-1]["spec"].split("/")[0],
    "method": method,
    "sampler": sampler,
    "dataset": dataset,
    "eta_q": eta_q if method == "group_dro" else None,
    "schedule": hparams["schedule"]["type"],
    "warmup_epochs": None if warmup is None else round(warmup / epoch, 2),
    "optimizer": optimizer["type"],
    "peak_lr": hparams["peak_lr"],
    "weight_decay": optimizer["weight_decay"],
    "shrink_per_step": hparams["peak_lr"] * optimizer["weight_decay"],
    "test_avg_acc": last.get("test_acc"),
    "test_train_weighted_acc": last.get("test_train_weighted_acc"),
    "test_worst_group_acc": 0.0 if diverged else last["test_worst_acc"],
    "val_worst_group_acc": last.get("val_worst_acc"),
    "train_acc": last.get("train_acc"),
    "train_worst_group_acc": last.get("train_worst_acc"),
  }
  # Test group sizes are the same at every evaluation; a diverged run's last rows are null.
  size = _counts(healthy[-1], groups)[1] if healthy else None
  out["test_group_correct"] = [0] * groups if diverged else _counts(last, groups)[0]
  out["test_group_size"] = size
  out.update(
    {
      "best_epoch": None if best is None else round(best["step"] / epoch, 2),
      "early_stopped_test_avg_acc": None if best is None else best["test_acc"],
      "early_stopped_test_worst_group_acc": None if best is None else best["test_worst_acc"],
      "early_stopped_test_group_correct": None if best is None else _counts(best, groups)[0],
    }
  )
  by_epoch = {round(r["step"] / epoch, 6): r for r in history}
  for e in CURVE_EPOCHS:
    row = by_epoch.get(float(e)) or {}
    out[f"test_avg_acc_epoch{e}"] = row.get("test_acc")
    out[f"test_worst_group_acc_epoch{e}"] = row.get("test_worst_acc")
    healthy_row = row.get("test_acc") is not None
    out[f"test_group_correct_epoch{e}"] = _counts(row, groups)[0] if healthy_row else None
  if last.get("randomized_test_acc") is not None:
    out["randomized_test_acc"] = last["randomized_test_acc"]
  return out


# --------------------------------------------------------------------------------- intervals


def _worst_draws(correct: np.ndarray, size: np.ndarray, idx: np.ndarray, rng) -> np.ndarray:
  """Worst-group accuracy of the seeds ``idx`` (draws x seeds), each group's count redrawn
  binomially: the images of each group resampled with replacement."""
  p = np.divide(correct, size, out=np.zeros(correct.shape), where=size > 0)
  n = size[idx]
  acc = np.where(n > 0, rng.binomial(n, p[idx]) / np.maximum(n, 1), np.inf)
  return acc.min(axis=-1)


def _worst(correct: np.ndarray, size: np.ndarray) -> np.ndarray:
  acc = np.where(size > 0, correct / np.maximum(size, 1), np.inf)
  return acc.min(axis=-1)


def worst_group_ci95(correct, size, draws: int = DRAWS, seed: int = 0) -> tuple:
  """``(mean, low, high)``: the mean over seeds of the worst-group accuracy and its 95%
  interval, bootstrapped over seeds and test images (see the module docstring).

  Args:
    correct: ``(seeds, groups)`` correctly classified test images.
    size: ``(seeds, groups)`` test images (a group of 0 images is left out of the minimum).
    draws: bootstrap draws.
    seed: the generator's seed.
  """
  correct, size = np.asarray(correct, np.int64), np.asarray(size, np.int64)
  rng = np.random.default_rng(seed)
  idx = rng.integers(0, len(correct), (draws, len(correct)))
  means = _worst_draws(correct, size, idx, rng).mean(axis=1)
  low, high = np.percentile(means, [2.5, 97.5])
  return float(_worst(correct, size).mean()), float(low), float(high)


def difference_ci95(a: tuple, b: tuple, draws: int = DRAWS, seed: int = 0) -> tuple:
  """``(mean, low, high)`` of ``b - a``'s mean worst-group accuracy over paired seeds: ``a`` and
  ``b`` are ``(correct, size)`` pairs whose rows are the same seeds."""
  (ca, sa), (cb, sb) = [(np.asarray(c, np.int64), np.asarray(s, np.int64)) for c, s in (a, b)]
  rng = np.random.default_rng(seed)
  idx = rng.integers(0, len(ca), (draws, len(ca)))
  diffs = _worst_draws(cb, sb, idx, rng).mean(axis=1) - _worst_draws(ca, sa, idx, rng).mean(axis=1)
  low, high = np.percentile(diffs, [2.5, 97.5])
  return float(_worst(cb, sb).mean() - _worst(ca, sa).mean()), float(low), float(high)


def _table(items: list, key: str) -> Optional[tuple]:
  """``(correct, size)`` arrays of ``items`` (one row per seed) at the last epoch (``key`` =
  ``test_group_correct``) or early-stopped, or None when a run has none."""
  rows = [(s[key], s["test_group_size"]) for s in items]
  if any(c is None or n is None for c, n in rows):
    return None
  return np.asarray([c for c, _ in rows]), np.asarray([n for _, n in rows])


STANDARD_DECAY = 1e-4  # Sagawa et al.'s and the seeds' weight decay, the baseline of the sweep
KEYS = {"final": "test_group_correct", "early_stopped": "early_stopped_test_group_correct"}
EARLY = {f"epoch{e}": f"test_group_correct_epoch{e}" for e in (10, 20)}  # for contrasts


def spec_stats(summary: list) -> list:
  """Per spec: its settings, n, and per selection (final, early-stopped) the mean worst-group
  test accuracy with its 95% interval, average accuracies, training worst-group accuracy."""
  out = []
  for name, items in report.by_spec(summary).items():
    first = items[0]
    item = {
      "spec": name,
      **{
        k: first[k]
        for k in (
          "part",
          "method",
          "sampler",
          "dataset",
          "eta_q",
          "schedule",
          "warmup_epochs",
          "optimizer",
          "peak_lr",
          "weight_decay",
          "shrink_per_step",
        )
      },
      "seeds": len(items),
      "diverged": sum(bool(s["diverged"]) for s in items),
    }
    for selection, key in KEYS.items():
      table = _table(items, key)
      mean, low, high = worst_group_ci95(*table) if table is not None else (None, None, None)
      prefix = "" if selection == "final" else "early_stopped_"
      item[f"{prefix}test_worst_group_acc"] = mean
      item[f"{prefix}test_worst_group_acc_ci95"] = None if mean is None else [low, high]
    for key in (
      "test_avg_acc",
      "test_train_weighted_acc",
      "early_stopped_test_avg_acc",
      "val_worst_group_acc",
      "train_acc",
      "train_worst_group_acc",
      "randomized_test_acc",
      *(f"test_worst_group_acc_epoch{e}" for e in CURVE_EPOCHS),
      *(f"test_avg_acc_epoch{e}" for e in CURVE_EPOCHS),
    ):
      values = [s.get(key) for s in items if s.get(key) is not None]
      item[key] = float(np.mean(values)) if values else None
    epochs = [s["best_epoch"] for s in items if s["best_epoch"] is not None]
    item["best_epoch_median"] = float(np.median(epochs)) if epochs else None
    out.append(item)
  return out


# --------------------------------------------------------------------------------- contrasts


def _setting(item: dict, *, drop: tuple = ()) -> str:
  """What two specs must share to be contrasted: every setting but ``drop``."""
  keys = (
    "dataset",
    "method",
    "sampler",
    "eta_q",
    "schedule",
    "warmup_epochs",
    "optimizer",
    "peak_lr",
    "weight_decay",
  )
  return json.dumps({k: item[k] for k in keys if k not in drop}, sort_keys=True)


def contrast(summary: list, a: str, b: str) -> dict:
  """``b - a`` in worst-group test accuracy over the seeds both ran, final and early-stopped."""
  specs = report.by_spec(summary)
  seeds_a = {s["seed"]: s for s in specs[a]}
  seeds_b = {s["seed"]: s for s in specs[b]}
  common = sorted(set(seeds_a) & set(seeds_b))
  out: dict = {"a": a, "b": b, "seeds": len(common)}
  for selection, key in {**KEYS, **EARLY}.items():
    ta = _table([seeds_a[k] for k in common], key)
    tb = _table([seeds_b[k] for k in common], key)
    out[selection] = None if ta is None or tb is None else list(difference_ci95(ta, tb))
  return out


def _twins(stats: list, varying: str, baseline) -> list:
  """Pairs ``(a, b)`` of specs that differ only in ``varying``, ``a`` the one whose
  ``varying`` is ``baseline``."""
  by_setting: dict = {}
  for item in stats:
    by_setting.setdefault(_setting(item, drop=(varying,)), []).append(item)
  pairs = []
  for family in by_setting.values():
    base = [i for i in family if i[varying] == baseline]
    pairs += [(base[0]["spec"], i["spec"]) for i in family if base and i[varying] != baseline]
  return pairs


def _method_pairs(stats: list) -> list:
  """Under the same optimizer, schedule and data: ERM (uniform batches) against reweighted ERM
  and against group DRO, and reweighted ERM against group DRO (group-balanced batches both)."""
  by_setting: dict = {}
  for item in stats:
    by_setting.setdefault(_setting(item, drop=("method", "sampler", "eta_q")), []).append(item)
  pairs = []
  for family in by_setting.values():
    find = lambda method, sampler, family=family: [
      i["spec"] for i in family if (i["method"], i["sampler"]) == (method, sampler)
    ]
    erm, reweighted = find("erm", "uniform"), find("erm_reweighted", "group_balanced")
    dro = find("group_dro", "group_balanced")
    pairs += [
      (a[0], b[0]) for a, b in ((erm, reweighted), (erm, dro), (reweighted, dro)) if a and b
    ]
  return pairs


def _schedule_pairs(stats: list) -> list:
  """Each schedule against the constant rate at its peak (same method, optimizer, data), and
  warmup + 3-phase against 3-phase."""
  by_setting: dict = {}
  for item in stats:
    by_setting.setdefault(_setting(item, drop=("schedule", "warmup_epochs")), []).append(item)
  pairs = []
  for family in by_setting.values():
    constant = [
      i["spec"] for i in family if i["schedule"] == "warmup_constant" and not i["warmup_epochs"]
    ]
    phases = [i["spec"] for i in family if i["schedule"] == "bias_mitigation"]
    for i in family:
      if constant and i["schedule"] in ("bias_mitigation", "sequential", "warmup_cosine"):
        pairs.append((constant[0], i["spec"]))
      if phases and i["schedule"] == "sequential":
        pairs.append((phases[0], i["spec"]))
  return pairs


def best_lr(stats: list) -> list:
  """Per (part, method, optimizer, weight decay) among constant-rate specs: the peak LR of the
  best mean worst-group validation accuracy at the last epoch (the test is not looked at)."""
  families: dict = {}
  for item in stats:
    if item["warmup_epochs"] == 0 and item["schedule"] == "warmup_constant":
      key = (
        item["dataset"],
        item["method"],
        item["sampler"],
        item["optimizer"],
        item["weight_decay"],
      )
      families.setdefault(key, []).append(item)
  out = []
  for (dataset, method, _, optimizer, wd), family in families.items():
    if len(family) < 2:
      continue
    chosen = max(family, key=lambda i: i["val_worst_group_acc"] or 0.0)
    out.append(
      {
        "dataset": dataset,
        "method": method,
        "sampler": family[0]["sampler"],
        "optimizer": optimizer,
        "weight_decay": wd,
        "lrs": sorted(i["peak_lr"] for i in family),
        "best_lr": chosen["peak_lr"],
        "spec": chosen["spec"],
      }
    )
  return out


def optimizer_pairs(chosen: list) -> list:
  """``(other, sgd)`` specs of ``best_lr``'s choices: SGD against each other optimizer at its
  own best LR, for the same data, method, sampler and weight decay."""
  same = lambda c: (c["dataset"], c["method"], c["sampler"], c["weight_decay"])
  return [
    (other["spec"], sgd["spec"])
    for sgd in chosen
    if sgd["optimizer"] == "sgd"
    for other in chosen
    if other["optimizer"] != "sgd" and same(other) == same(sgd)
  ]


def contrasts(summary: list, stats: list) -> dict:
  """The contrasts the verdicts use: the methods against each other in the same setting, each
  warmup against none (same schedule type, rate, method), uniform batches against
  group-balanced ones for group DRO, each schedule against the constant rate at its peak, each
  weight decay against the standard 1e-4 (same method, optimizer, rate), and the optimizers at
  their best LRs."""
  method = [contrast(summary, a, b) for a, b in _method_pairs(stats)]
  warmup = [contrast(summary, a, b) for a, b in _twins(stats, "warmup_epochs", 0)]
  sampler = [contrast(summary, a, b) for a, b in _twins(stats, "sampler", "group_balanced")]
  schedule = [contrast(summary, a, b) for a, b in _schedule_pairs(stats)]
  decay = [contrast(summary, a, b) for a, b in _twins(stats, "weight_decay", STANDARD_DECAY)]
  chosen = best_lr(stats)
  optimizers = [
    {**contrast(summary, a, b), "method": report.by_spec(summary)[b][0]["method"]}
    for a, b in optimizer_pairs(chosen)
  ]
  return {
    "method": method,
    "warmup": warmup,
    "sampler": sampler,
    "schedule": schedule,
    "weight_decay": decay,
    "best_lr": chosen,
    "optimizer": optimizers,
  }


# ------------------------------------------------------------------------------------ tables


def _ci(mean: Optional[float], ci: Optional[list]) -> str:
  if mean is None:
    return "-"
  return f"{mean:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else f"{mean:.3f}"


def _num(x: Optional[float]) -> str:
  return "-" if x is None else f"{x:.3f}"


def _label(item: dict) -> str:
  method = item["method"] + (f" (eta_q {item['eta_q']:g})" if item["eta_q"] is not None else "")
  if item["method"] == "group_dro" and item["sampler"] == "uniform":
    method += ", uniform batches"
  return method


def results_table(stats: list) -> str:
  """Per spec: worst-group test accuracy with its interval, final and early-stopped."""
  lines = [
    "| spec | method | optimizer | LR | wd | seeds | diverged | train worst | test avg "
    "(train-weighted) | test worst group [95% CI] | early-stopped test worst [95% CI] "
    "| best epoch (median) |",
    "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ]
  for i in stats:
    stopped = _ci(
      i["early_stopped_test_worst_group_acc"], i["early_stopped_test_worst_group_acc_ci95"]
    )
    lines.append(
      f"| {i['spec']} | {_label(i)} | {i['optimizer']} | {i['peak_lr']:g} | "
      f"{i['weight_decay']:g} | {i['seeds']} | {i['diverged']} | "
      f"{_num(i['train_worst_group_acc'])} | {_num(i['test_avg_acc'])} "
      f"({_num(i['test_train_weighted_acc'])}) | "
      f"{_ci(i['test_worst_group_acc'], i['test_worst_group_acc_ci95'])} | "
      f"{stopped} | {_num(i['best_epoch_median'])} |"
    )
  return "\n".join(lines) + "\n"


def _contrast_table(title: str, rows: list) -> str:
  if not rows:
    return ""
  lines = [
    f"### {title}",
    "",
    "| b | a | seeds | last epoch b - a [95% CI] | early-stopped b - a | epoch 10 b - a |",
    "|---|---|---:|---:|---:|---:|",
  ]
  for c in rows:
    cells = [
      "-" if c.get(k) is None else f"{c[k][0]:+.3f} [{c[k][1]:+.3f}, {c[k][2]:+.3f}]"
      for k in ("final", "early_stopped", "epoch10")
    ]
    lines.append(f"| {c['b']} | {c['a']} | {c['seeds']} | " + " | ".join(cells) + " |")
  return "\n".join(lines) + "\n\n"


def contrast_tables(found: dict) -> str:
  text = _contrast_table("The methods against each other in the same setting", found["method"])
  text += _contrast_table("Each warmup against none (same schedule, rate, method)", found["warmup"])
  text += _contrast_table("Group DRO on uniform against group-balanced batches", found["sampler"])
  text += _contrast_table("Each schedule against the constant rate at its peak", found["schedule"])
  text += _contrast_table(
    "Each weight decay against 1e-4 (same method, optimizer, rate)", found["weight_decay"]
  )
  if found["best_lr"]:
    text += "### Best constant LR per optimizer (by mean worst-group validation accuracy)\n\n"
    text += "| method | optimizer | weight decay | LRs | best LR |\n|---|---|---:|---|---:|\n"
    for c in found["best_lr"]:
      lrs = ", ".join(f"{x:g}" for x in c["lrs"])
      text += (
        f"| {c['method']} | {c['optimizer']} | {c['weight_decay']:g} | {lrs} | {c['best_lr']:g} |\n"
      )
    text += "\n"
  text += _contrast_table(
    "SGD against the other optimizer, each at its best LR", found["optimizer"]
  )
  return text


METHOD_ORDER = ("erm", "erm_reweighted", "group_dro")


def _pivot(title: str, rows: list, note: str = "") -> str:
  """``rows`` of ``(label, {method: spec stats})`` as a table of worst-group test accuracy per
  method: last epoch [95% CI], early-stopped [95% CI], training worst group."""
  if not rows:
    return ""
  methods = [m for m in METHOD_ORDER if any(m in cells for _, cells in rows)]
  head = "| setting | " + " | ".join(methods) + " |"
  lines = [f"### {title}", "", note, "", head, "|---|" + "---:|" * len(methods)]
  for label, cells in rows:
    out = []
    for m in methods:
      i = cells.get(m)
      if i is None:
        out.append("-")
        continue
      final = _ci(i["test_worst_group_acc"], i["test_worst_group_acc_ci95"])
      stopped = _ci(
        i["early_stopped_test_worst_group_acc"], i["early_stopped_test_worst_group_acc_ci95"]
      )
      out.append(f"{final}; ES {stopped}; train {_num(i['train_worst_group_acc'])}")
    lines.append(f"| {label} | " + " | ".join(out) + " |")
  return "\n".join(line for line in lines) + "\n\n"


def _by_method(items: list) -> dict:
  return {i["method"]: i for i in items if i["sampler"] == "group_balanced" or i["method"] == "erm"}


def pivot_tables(stats: list) -> str:
  """The weight-decay sweep (constant-rate SGD, by LR and weight decay), the warmup grid (SGD,
  by schedule and warmup length) and the probes, as tables for the README."""
  note = (
    "Each cell: worst-group test accuracy at the last epoch [95% CI]; ES = early-stopped "
    "[95% CI]; train = training worst-group accuracy at the last epoch."
  )
  constant = {}
  warm: dict = {}
  for i in stats:
    if i["optimizer"] != "sgd" or i["dataset"] not in ("digits", "shapes"):
      continue
    if i["schedule"] == "warmup_constant" and i["warmup_epochs"] == 0:
      key = (-i["peak_lr"], i["shrink_per_step"], i["weight_decay"])
      constant.setdefault(key, []).append(i)
    if i["schedule"] in ("warmup_constant", "warmup_cosine") and i["weight_decay"] == 1e-4:
      after = "constant" if i["schedule"] == "warmup_constant" else "cosine"
      warm.setdefault((i["peak_lr"], after, i["warmup_epochs"]), []).append(i)
  wd_rows = [
    (f"LR {-lr:g}, wd {wd:g} (shrink {shrink:.0e})", _by_method(items))
    for (lr, shrink, wd), items in sorted(constant.items())
  ]
  lrs = {lr for lr, after, w in warm if w}  # the rates with a warmup grid
  warm_rows = [
    (f"LR {lr:g}, warmup {w:g} epochs, then {after}", _by_method(items))
    for (lr, after, w), items in sorted(warm.items())
    if lr in lrs
  ]
  text = _pivot("Constant-rate SGD by LR and weight decay", wd_rows, note)
  text += _pivot("Warmup (linear) then constant or cosine, SGD", warm_rows, note)
  probes = [i for i in stats if i["dataset"] not in ("digits", "shapes", "lms5")]
  if probes:
    lines = [
      "### Probes: each cue alone (test accuracy by epoch)",
      "",
      "| probe | " + " | ".join(f"epoch {e}" for e in CURVE_EPOCHS) + " | last |",
      "|---|" + "---:|" * (len(CURVE_EPOCHS) + 1),
    ]
    for i in probes:
      cells = [_num(i[f"test_avg_acc_epoch{e}"]) for e in CURVE_EPOCHS]
      lines.append(f"| {i['dataset']} | " + " | ".join(cells) + f" | {_num(i['test_avg_acc'])} |")
    text += "\n".join(lines) + "\n\n"
  return text


# ------------------------------------------------------------------------------------- plots


def plot_comparison(stats: list, path: pathlib.Path) -> None:
  """Worst-group test accuracy per spec with its 95% interval, final and early-stopped."""
  plt = report.pyplot()
  fig, ax = plt.subplots(figsize=(max(7, 0.32 * len(stats) + 2), 5))
  for offset, prefix, color, label in (
    (-0.18, "", "C0", "last epoch"),
    (0.18, "early_stopped_", "C1", "early-stopped"),
  ):
    xs, means, errs = [], [], [[], []]
    for i, item in enumerate(stats):
      mean, ci = item[f"{prefix}test_worst_group_acc"], item[f"{prefix}test_worst_group_acc_ci95"]
      if mean is not None:
        xs.append(i + offset)
        means.append(mean)
        errs[0].append(mean - ci[0])
        errs[1].append(ci[1] - mean)
    ax.errorbar(xs, means, yerr=errs, fmt="o", color=color, markersize=3, capsize=2, label=label)
  ax.set_xticks(range(len(stats)))
  ax.set_xticklabels([i["spec"] for i in stats], rotation=70, ha="right", fontsize=6)
  ax.set_ylabel("test worst-group accuracy")
  ax.set_ylim(0, 1.02)
  ax.grid(True, axis="y", alpha=0.3)
  ax.legend(fontsize=8)
  ax.set_title("Worst-group test accuracy: mean over seeds, 95% bootstrap interval")
  report.save_figure(fig, path)


def plot_weight_decay(stats: list, path: pathlib.Path) -> bool:
  """Worst-group test and training accuracy against the shrink per step (LR x weight decay),
  per method and LR, for the specs of the weight-decay sweep (part ``wd``). Returns whether
  there were any."""
  sweep = [i for i in stats if i["part"] == "wd"]
  if not sweep:
    return False
  plt = report.pyplot()
  fig, axes = plt.subplots(1, 3, figsize=(15, 4.5), sharey=True)
  families: dict = {}
  for item in sweep:
    families.setdefault((item["method"], item["peak_lr"]), []).append(item)
  for k, ((method, lr), items) in enumerate(sorted(families.items())):
    items = sorted(items, key=lambda i: i["shrink_per_step"])
    xs = [i["shrink_per_step"] for i in items]
    style = {"color": f"C{['erm', 'erm_reweighted', 'group_dro'].index(method)}"}
    style["linestyle"] = "-" if lr == max(f[1] for f in families) else "--"
    label = f"{method}, LR {lr:g}"
    for ax, prefix in ((axes[0], ""), (axes[1], "early_stopped_")):
      means = [i[f"{prefix}test_worst_group_acc"] for i in items]
      low = [i[f"{prefix}test_worst_group_acc_ci95"][0] for i in items]
      high = [i[f"{prefix}test_worst_group_acc_ci95"][1] for i in items]
      ax.plot(xs, means, marker="o", label=label, **style)
      ax.fill_between(xs, low, high, alpha=0.12, color=style["color"])
    axes[2].plot(xs, [i["train_worst_group_acc"] for i in items], marker="o", label=label, **style)
    del k
  for ax, title in zip(
    axes, ("test worst group, last epoch", "test worst group, early-stopped", "train worst group")
  ):
    ax.set_xscale("log")
    ax.set_xlabel("shrink per step (peak LR x weight decay)")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
  axes[0].set_ylabel("accuracy (mean over seeds; band: 95% CI)")
  axes[2].legend(fontsize=7)
  report.save_figure(fig, path)
  return True


def plot_samples(image_size: int, path: pathlib.Path) -> None:
  """A row of generated images per group of ``shapes`` (``data.samples``)."""
  plt = report.pyplot()
  images, names = data_lib.samples(image_size=image_size)
  fig, axes = plt.subplots(4, images.shape[1], figsize=(1.2 * images.shape[1], 5.2))
  for g, row in enumerate(axes):
    for k, ax in enumerate(row):
      ax.imshow(images[g, k], interpolation="nearest")
      ax.set_xticks([])
      ax.set_yticks([])
    row[0].set_ylabel(names[g], fontsize=8)
  fig.suptitle("shapes: label = object (bird, boat), spurious attribute = background (land, water)")
  report.save_figure(fig, path)


def plot_over_time(rows: list, specs: list, path: pathlib.Path) -> None:
  """Average and worst-group test accuracy over epochs (mean over seeds) of ``specs``, and
  group DRO's q."""
  plt = report.pyplot()
  chosen = set(specs)
  by_spec: dict = {}
  for row in rows:
    if row["spec"] in chosen:
      by_spec.setdefault(row["spec"], {}).setdefault(row["step"], []).append(row)
  q_keys = sorted(k for k in rows[0] if k.startswith("q_g"))
  fig, axes = plt.subplots(3, 1, figsize=(11, 11), sharex=True)
  palette = plt.cm.tab20
  for i, (name, steps) in enumerate(by_spec.items()):
    xs = sorted(steps)
    mean = lambda key, steps=steps, xs=xs: [
      np.mean([r[key] for r in steps[s] if r.get(key) is not None] or [np.nan]) for s in xs
    ]
    color = palette(i % 20)
    axes[0].plot(xs, mean("test_acc"), color=color, linewidth=1.0, label=name)
    axes[1].plot(xs, mean("test_worst_acc"), color=color, linewidth=1.0)
    if any(abs((r.get(q_keys[0]) or 0) - 1 / len(q_keys)) > 1e-6 for r in steps[xs[-1]]):
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
    ax.set_xscale("log")
  axes[0].legend(fontsize=6, ncol=3, loc="lower right")
  report.save_figure(fig, path)


def write_results(config, workdir: pathlib.Path, rows: list, summary: list) -> str:
  """Writes spurious.json (per spec: intervals; the contrasts), comparison.png,
  weight_decay.png, accuracy.png and for ``shapes`` samples.png; returns the tables for
  results.md."""
  stats = spec_stats(summary)
  found = contrasts(summary, stats)
  (workdir / "spurious.json").write_text(json.dumps({"specs": stats, **found}, indent=1))
  text = ""
  if rows:
    plot_comparison(stats, workdir / "comparison.png")
    if plot_weight_decay(stats, workdir / "weight_decay.png"):
      text += "![weight decay sweep](weight_decay.png)\n\n"
    main = [i["spec"] for i in stats if i["part"] == stats[0]["part"]][:20]
    plot_over_time(rows, main, workdir / "accuracy.png")
    if config.dataset in data_lib.SHAPES:
      plot_samples(config.image_size, workdir / "samples.png")
      text += "![generated images](samples.png)\n\n"
  text += (
    f"Worst-group test accuracy: mean over seeds [95% bootstrap interval over seeds and test "
    f"images, {DRAWS} draws]; at the last epoch and early-stopped (the evaluation of best "
    "worst-group validation accuracy; every epoch is evaluated).\n\n"
  )
  return text + results_table(stats) + "\n" + pivot_tables(stats) + contrast_tables(found)
