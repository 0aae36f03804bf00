"""python -m experiments.lm_warmup.law --results DIR [--results DIR] --out DIR [--optimized DIR ...]

Loss-curve laws on the ``law`` preset's records: fits the momentum law (Tissue
et al. 2024) and the multi-power law (Luo et al. 2025) to the seed-averaged
validation curves of ``constant`` and ``cosine``, predicts every other
schedule's curve, and writes to ``--out``. ``--results`` and ``--optimized``
may be given once per folder (``law`` at width 64, ``law-wide`` at 128); each
width is fitted on its own, from the one folder that holds its runs:

* ``summary.json``: one object per (width, schedule, law kind): ``schedule``,
  ``kind``, ``fit_on``, ``held_out``, ``final_loss_actual`` (mean over seeds)
  with its seed spread, ``final_loss_predicted``, ``final_rel_error``
  (signed), ``curve_mape``, the fit's time;
* ``laws.json``: per width and kind, the fitted parameters, the residual and the
  fit time, and the schedule ``jaxsched.optimize_schedule`` finds with the
  better law (the smaller largest held-out final error);
* ``optimized_config.json``: that schedule as a run of the study, trained with
  ``python -m experiments.lm_warmup --preset law --config FILE``;
* with ``--optimized DIR`` (that run's records): its rows (``schedule:
  "optimized"``) and ``comparison.json``: its final loss against cosine's,
  seed by seed;
* ``law_<kind>_width<w>.png`` (``jaxsched.plot_law``: predicted against
  measured curves) and ``final_errors.png``; ``results.md``, the tables.

Every curve is compared from the end of the warmup (the first update at the
peak rate), where both papers start their fits.
"""

import argparse
import json
import pathlib
import sys
import time
from typing import Optional

import jax
import jax.numpy as jnp
import numpy as np

import jaxsched
from experiments.common import report

KINDS = ("momentum", "multi_power")
FIT_ON = ("constant", "cosine")
OPTIMIZED = "optimized"


def split_name(name: str) -> tuple:
  """``"width=64/cosine"`` -> ``(64, "cosine")``; a name without a width -> ``(None, name)``."""
  head, _, tail = name.partition("/")
  if head.startswith("width=") and tail:
    return int(head[len("width=") :]), tail
  return None, name


def _folders(paths) -> list:
  """A folder or several as a list of paths (none for None)."""
  if paths is None:
    return []
  if isinstance(paths, (str, pathlib.Path)):
    return [pathlib.Path(paths)]
  return [pathlib.Path(p) for p in paths]


def _spec_names(results: pathlib.Path) -> list:
  config = json.loads((results / "config.json").read_text())
  return [run["name"] for run in config["runs"]]


def _rates(schedule, steps: np.ndarray) -> np.ndarray:
  """The rates of updates ``0 .. max(steps)``."""
  return np.asarray(jax.jit(schedule)(jnp.arange(int(steps.max()) + 1)), np.float64)


def _short(value: float) -> float:
  """A float32 rate as its shortest decimal (0.01, not 0.009999999776): the same float32."""
  return float(str(np.float32(value)))


def warmup_end(rates: np.ndarray) -> int:
  """The first update at the curve's peak rate (0 without warmup)."""
  return int(np.argmax(rates >= rates.max()))


def _after(curve: tuple, start: int) -> tuple:
  """The curve's points from update ``start`` on (the rates stay whole)."""
  schedule, steps, losses = curve
  keep = steps >= start
  return schedule, steps[keep], np.asarray(losses)[keep]


def _finals(results: pathlib.Path, names: list) -> dict:
  """Name -> the final validation loss of each seed, in seed order."""
  per_seed = jaxsched.load_curves(results, names, average_seeds=False)
  out: dict = {}
  for name in names:
    members = sorted(k for k in per_seed if k == name or k.startswith(f"{name}/seed"))
    out[name] = [float(np.asarray(per_seed[m][2])[-1]) for m in members]
  return out


def _fit(curves: list, kind: str) -> tuple:
  """The law and the seconds its fit took (first call: compilation included)."""
  began = time.perf_counter()
  law = jaxsched.fit_loss_law(curves, kind)
  return law, time.perf_counter() - began


def _row(
  width, schedule, kind, law, seconds, error, finals, start, fit_on, optimized_by=None
) -> dict:
  finals_np = np.asarray(finals, np.float64)
  sd = float(np.std(finals_np, ddof=1)) if finals_np.size > 1 else None
  row = {
    "width": width,
    "schedule": schedule,
    "kind": kind,
    "fit_on": list(fit_on),
    "held_out": schedule not in fit_on,
    "seeds": int(finals_np.size),
    "final_step": error.final_step + 1,  # updates done, as metrics.jsonl's step
    "final_loss_actual": error.final_loss,
    "final_loss_per_seed": finals,
    "final_loss_seed_sd": sd,
    "final_seed_sd_rel": None if sd is None else sd / error.final_loss,
    "final_loss_predicted": error.final_loss_predicted,
    "final_rel_error": error.final_rel_error,
    "curve_mape": error.curve_mape,
    "curve_from_step": start,
    "fit_residual": law.residual,
    "fit_seconds": seconds,
  }
  if optimized_by is not None:
    row["optimized_by"] = optimized_by
  return row


def better_kind(rows: list, width) -> str:
  """The kind whose largest |final_rel_error| over the held-out schedules is the smaller."""

  def worst(kind):
    errors = [
      abs(r["final_rel_error"])
      for r in rows
      if r["width"] == width and r["kind"] == kind and r["held_out"] and r["schedule"] != OPTIMIZED
    ]
    return max(errors) if errors else float("inf")

  return min(KINDS, key=worst)


def summarize(
  results, optimized=None, *, fit_on=FIT_ON, iterations: int = 500, num_knots: int = 16
) -> tuple:
  """Fits, predicts and optimizes from a study's records.

  Args:
    results: the folder with the ``law`` preset's ``config.json`` and ``metrics.jsonl``,
      or a list of such folders (one per width: ``law``, ``law-wide``).
    optimized: the folder (or list of folders) with the optimized schedules' records, or None.
    fit_on: the schedules the laws are fitted to.
    iterations, num_knots: ``jaxsched.optimize_schedule``'s.

  Returns:
    ``(rows, laws, optimized_runs, comparisons)``: the summary rows, per width the
    laws and the optimized schedule, the optimized schedule of each width as a run
    spec, and per width the optimized run's final loss against cosine's.
  """
  named = [(folder, n) for folder in _folders(results) for n in _spec_names(folder)]
  widths = list(dict.fromkeys(split_name(n)[0] for _, n in named))
  opt_named = [(folder, n) for folder in _folders(optimized) for n in _spec_names(folder)]
  rows, laws, runs, comparisons = [], {}, [], {}
  for width in widths:
    holders = list(dict.fromkeys(folder for folder, n in named if split_name(n)[0] == width))
    if len(holders) > 1:
      raise ValueError(f"runs of width {width} are in more than one folder: {holders}")
    results = holders[0]
    mine = [n for folder, n in named if folder == results and split_name(n)[0] == width]
    by_schedule = {split_name(n)[1]: n for n in mine}
    missing = [s for s in fit_on if s not in by_schedule]
    if missing:
      raise ValueError(f"{results}: no run {missing} at width {width}; runs: {', '.join(mine)}")
    curves = jaxsched.load_curves(results, mine)
    finals = _finals(results, mine)
    fit_curve = curves[by_schedule[fit_on[0]]]
    rates = _rates(fit_curve[0], fit_curve[1])
    start = warmup_end(rates)
    fit_curves = [_after(curves[by_schedule[s]], start) for s in fit_on]
    laws[width] = {}
    fitted = {}
    for kind in KINDS:
      law, seconds = _fit(fit_curves, kind)
      fitted[kind] = (law, seconds)
      laws[width][kind] = {
        "params": dict(law.params),
        "residual": law.residual,
        "fit_seconds": seconds,
        "fit_points": sum(len(c[1]) for c in fit_curves),
      }
      names_here = list(by_schedule)
      errors = jaxsched.evaluate_law(
        law, [_after(curves[by_schedule[s]], start) for s in names_here]
      )
      for schedule, error in zip(names_here, errors):
        rows.append(
          _row(
            width, schedule, kind, law, seconds, error, finals[by_schedule[schedule]], start, fit_on
          )
        )
    best = better_kind(rows, width)
    total, peak = int(fit_curve[1].max()) + 1, _short(rates.max())
    began = time.perf_counter()
    found = jaxsched.optimize_schedule(
      fitted[best][0],
      total,
      peak,
      start,
      iterations=iterations,
      num_knots=num_knots,
    )
    cosine_pred = float(fitted[best][0].predict(curves[by_schedule["cosine"]][0], total - 1))
    config = {**found.config, "values": [_short(v) for v in found.values]}
    laws[width]["optimized"] = {
      "by": best,
      "config": config,
      "predicted_final_loss": found.final_loss,
      "cosine_predicted_final_loss": cosine_pred,
      "seconds": time.perf_counter() - began,
    }
    spec = {"name": f"width={width}/{OPTIMIZED}" if width is not None else OPTIMIZED}
    spec |= {"schedule": config, "learning_rate": peak}
    if width is not None:
      spec["width"] = width
    runs.append(spec)
    opt = next(((f, n) for f, n in opt_named if split_name(n) == (width, OPTIMIZED)), None)
    if opt is None:
      continue
    opt_folder, opt_name = opt
    (opt_curve,) = jaxsched.load_curves(opt_folder, [opt_name]).values()
    opt_finals = _finals(opt_folder, [opt_name])[opt_name]
    for kind in KINDS:
      law, seconds = fitted[kind]
      (error,) = jaxsched.evaluate_law(law, [_after(opt_curve, start)])
      rows.append(
        _row(width, OPTIMIZED, kind, law, seconds, error, opt_finals, start, fit_on, best)
      )
    comparisons[width] = compare(opt_finals, finals[by_schedule["cosine"]])
  return rows, laws, runs, comparisons


def compare(optimized: list, cosine: list) -> dict:
  """The optimized run's final loss against cosine's, paired by seed (same initialization and
  batches): the differences, their mean and a 95% t-interval over the seeds."""
  from scipy import stats  # pylint: disable=import-outside-toplevel

  n = min(len(optimized), len(cosine))
  diff = np.asarray(optimized[:n]) - np.asarray(cosine[:n])
  out = {
    "seeds": n,
    "optimized": optimized[:n],
    "cosine": cosine[:n],
    "difference_per_seed": diff.tolist(),
    "mean_difference": float(diff.mean()),
    "below_cosine_every_seed": bool(np.all(diff < 0)),
    "interval95": None,
  }
  if n > 1:
    half = float(stats.t.ppf(0.975, n - 1) * diff.std(ddof=1) / np.sqrt(n))
    out["interval95"] = [float(diff.mean()) - half, float(diff.mean()) + half]
  return out


def table(rows: list) -> str:
  """The summary as a markdown table, one line per (width, schedule), the two laws side by side."""
  lines = [
    "| width | schedule | held out | final loss (mean ± sd, n) | momentum: predicted, error, "
    "MAPE | multi-power: predicted, error, MAPE |",
    "|---|---|---|---:|---:|---:|",
  ]
  keyed = {(r["width"], r["schedule"], r["kind"]): r for r in rows}
  for width, schedule in dict.fromkeys((r["width"], r["schedule"]) for r in rows):
    first = keyed[(width, schedule, KINDS[0])]
    sd = first["final_loss_seed_sd"]
    cells = [
      str(width),
      schedule,
      "yes" if first["held_out"] else "fit",
      f"{first['final_loss_actual']:.4f}"
      + (f" ± {sd:.4f}" if sd is not None else "")
      + f", {first['seeds']}",
    ]
    for kind in KINDS:
      r = keyed.get((width, schedule, kind))
      cells.append(
        "-"
        if r is None
        else f"{r['final_loss_predicted']:.4f}, {100 * r['final_rel_error']:+.2f}%, "
        f"{100 * r['curve_mape']:.2f}%"
      )
    lines.append("| " + " | ".join(cells) + " |")
  return "\n".join(lines) + "\n"


def plot_final_errors(rows: list, path: pathlib.Path) -> None:
  """Signed final-loss error of each law per schedule, with the seed sd as a band."""
  plt = report.pyplot()
  widths = list(dict.fromkeys(r["width"] for r in rows))
  fig, axes = plt.subplots(1, len(widths), figsize=(8 * len(widths), 4.2), squeeze=False)
  for ax, width in zip(axes[0], widths):
    mine = [r for r in rows if r["width"] == width]
    schedules = list(dict.fromkeys(r["schedule"] for r in mine))
    x = np.arange(len(schedules))
    for i, kind in enumerate(KINDS):
      errors = [
        next(100 * r["final_rel_error"] for r in mine if r["schedule"] == s and r["kind"] == kind)
        for s in schedules
      ]
      ax.bar(x + (i - 0.5) * 0.38, errors, 0.38, label=kind.replace("_", "-"))
    sds = [
      next(r["final_seed_sd_rel"] or 0.0 for r in mine if r["schedule"] == s) * 100
      for s in schedules
    ]
    ax.errorbar(x, np.zeros(len(x)), yerr=sds, fmt="none", color="k", capsize=4, label="seed sd")
    for level in (-1, 1):
      ax.axhline(level, color="gray", linestyle=":", linewidth=0.8)
    ax.axhline(0, color="k", linewidth=0.6)
    ax.set_xticks(x)
    ax.set_xticklabels(schedules, rotation=35, ha="right")
    ax.set_ylabel("final-loss error, % (predicted - measured)")
    ax.set_title(f"width {width}: fitted on {', '.join(mine[0]['fit_on'])}")
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize=8)
  report.save_figure(fig, path)


def write(out, results, optimized=None, **kwargs) -> list:
  """Runs :func:`summarize` and writes its files to ``out``; returns the rows."""
  out = pathlib.Path(out)
  out.mkdir(parents=True, exist_ok=True)
  rows, laws, runs, comparisons = summarize(results, optimized, **kwargs)
  (out / "summary.json").write_text(json.dumps(rows, indent=2) + "\n")
  (out / "laws.json").write_text(json.dumps({str(w): v for w, v in laws.items()}, indent=2) + "\n")
  (out / "optimized_config.json").write_text(json.dumps({"runs": runs}, indent=2) + "\n")
  if comparisons:
    text = json.dumps({str(w): v for w, v in comparisons.items()}, indent=2)
    (out / "comparison.json").write_text(text + "\n")
  curves_by_width: dict = {}
  for folder in _folders(results):
    for name, curve in jaxsched.load_curves(folder).items():
      curves_by_width.setdefault(split_name(name)[0], {})[split_name(name)[1]] = curve
  for folder in _folders(optimized):
    for name, curve in jaxsched.load_curves(folder).items():
      if split_name(name)[1] == OPTIMIZED:
        curves_by_width.setdefault(split_name(name)[0], {})[OPTIMIZED] = curve
  for width, curves in curves_by_width.items():
    start = next(r["curve_from_step"] for r in rows if r["width"] == width)
    for kind in KINDS:
      law = jaxsched.LossLaw(kind, laws[width][kind]["params"], laws[width][kind]["residual"])
      jaxsched.plot_law(
        law,
        {s: _after(c, start) for s, c in curves.items()},
        out / f"law_{kind}_width{width}.png",
        title=f"{kind.replace('_', '-')} law fitted on {' + '.join(FIT_ON)}, width {width}",
      )
  plot_final_errors(rows, out / "final_errors.png")
  lines = ["# Loss-curve laws on the `law` preset\n", table(rows)]
  for width, item in laws.items():
    opt = item["optimized"]
    lines.append(
      f"\nWidth {width}: fit seconds (compilation included) "
      + ", ".join(f"{k} {item[k]['fit_seconds']:.1f}" for k in KINDS)
      + f"; optimized with {opt['by']}: predicted final loss {opt['predicted_final_loss']:.4f} "
      f"against cosine's {opt['cosine_predicted_final_loss']:.4f}.\n"
    )
    if width in comparisons:
      cmp = comparisons[width]
      interval = cmp["interval95"]
      per_seed = ", ".join(f"{d:+.4f}" for d in cmp["difference_per_seed"])
      lines.append(
        f"Trained: optimized - cosine per seed {per_seed}, "
        f"mean {cmp['mean_difference']:+.4f}"
        + (f", 95% t-interval [{interval[0]:+.4f}, {interval[1]:+.4f}]" if interval else "")
        + f" (n = {cmp['seeds']}).\n"
      )
  (out / "results.md").write_text("\n".join(lines))
  return rows


def main(argv: Optional[list] = None) -> int:
  parser = argparse.ArgumentParser(
    prog="python -m experiments.lm_warmup.law", description=__doc__.splitlines()[2]
  )
  parser.add_argument(
    "--results",
    type=pathlib.Path,
    required=True,
    action="append",
    help="the law preset's --out (again for law-wide's)",
  )
  parser.add_argument("--out", type=pathlib.Path, required=True, help="where to write")
  parser.add_argument(
    "--optimized",
    type=pathlib.Path,
    action="append",
    help="the --out of the optimized schedule's run (once per folder)",
  )
  args = parser.parse_args(argv)
  try:
    rows = write(args.out, args.results, args.optimized)
  except (ValueError, OSError) as e:
    parser.exit(2, f"{parser.prog}: error: {str(e).splitlines()[0]}\n")
  print((args.out / "results.md").read_text())
  print(f"wrote {args.out}/: summary.json ({len(rows)} rows), laws.json, optimized_config.json")
  return 0


if __name__ == "__main__":
  sys.exit(main())
