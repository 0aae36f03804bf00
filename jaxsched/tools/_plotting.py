"""Looking at schedules before training: plots and a numeric summary.

matplotlib is imported inside the plotting functions only.
"""

import pathlib
from typing import Any, Mapping, NamedTuple, Optional, Sequence, Union

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxsched import _common as c
from jaxsched.laws import _areas
from jaxsched.laws import _fit
from jaxsched.laws import _law

Schedules = Union[optax.Schedule, Mapping[str, optax.Schedule], Sequence[tuple]]


class Stretch(NamedTuple):
  """A maximal run of steps over which a schedule only rises, falls or stays."""

  start: int
  end: int  # inclusive
  direction: str  # "rising", "falling" or "flat"


class ScheduleSummary(NamedTuple):
  """What :func:`inspect` found on steps ``[0, total_steps)``.

  ``s1`` and ``s2`` are the forward and annealing areas after the last step
  (:func:`jaxsched.lr_areas`, ``decay=0.999``): what the loss laws read from a
  schedule; NaN when a value is negative or not finite.
  """

  min: float
  max: float
  final: float
  argmax: int
  warmup_steps: int
  stretches: tuple
  warnings: tuple
  s1: float
  s2: float

  def __str__(self) -> str:
    lines = [
      f"min {self.min:.6g}   max {self.max:.6g} (step {self.argmax})   "
      f"final {self.final:.6g}   warmup {self.warmup_steps} steps",
      f"area S1 {self.s1:.6g}   annealing area S2 {self.s2:.6g} (decay 0.999)",
    ]
    for s in self.stretches:
      lines.append(f"  steps {s.start:>8d} .. {s.end:<8d} {s.direction}")
    lines.extend(f"warning: {w}" for w in self.warnings)
    return "\n".join(lines)


def _evaluate(schedule: optax.Schedule, total_steps: int) -> np.ndarray:
  return np.asarray(jax.jit(schedule)(jnp.arange(total_steps, dtype=jnp.int32)), np.float64)


def _stretches(values: np.ndarray, rtol: float = 1e-6) -> tuple:
  """Split a curve into maximal rising / falling / flat stretches."""
  if len(values) < 2:
    return (Stretch(0, len(values) - 1, "flat"),)
  diff = np.diff(values)
  tol = rtol * max(np.nanmax(np.abs(values)), 1e-30)
  direction = np.where(diff > tol, 1, np.where(diff < -tol, -1, 0))
  names = {1: "rising", -1: "falling", 0: "flat"}
  out, start = [], 0
  for i in range(1, len(direction) + 1):
    if i == len(direction) or direction[i] != direction[start]:
      out.append(Stretch(start, i, names[int(direction[start])]))
      start = i
  return tuple(out)


def _warmup_length(values: np.ndarray, stretches: tuple) -> int:
  """Steps of the initial rise to the maximum (0 if the schedule starts there)."""
  first = stretches[0]
  if first.direction == "rising" and values[first.end] >= np.nanmax(values) * (1 - 1e-6):
    return first.end
  return 0


def inspect(schedule: optax.Schedule, total_steps: int) -> ScheduleSummary:
  """Summarizes a schedule over ``[0, total_steps)`` and warns about bad values.

  Reports the minimum, maximum, final value, warmup length (steps of an initial
  rise up to the maximum), the monotone stretches, the final forward and
  annealing areas S1 and S2 of :func:`jaxsched.lr_areas` (what the loss laws
  read), and warnings for zero, negative or non-finite values (seed 004's
  ``debug_scheduler``, without stepping an optimizer).

  Args:
    schedule: any schedule (callable of the step).
    total_steps: number of steps to look at, >= 1.

  Returns:
    A :class:`ScheduleSummary`; ``print`` it for a readable report.

  Examples:
    >>> import jaxsched
    >>> summary = jaxsched.inspect(jaxsched.warmup_cosine(1.0, 10, 100), 100)
    >>> summary.warmup_steps, [s.direction for s in summary.stretches]
    (10, ['rising', 'falling'])
    >>> round(summary.s1, 1)  # the area under the curve: sum of the rates
    50.0
  """
  c.check_steps("inspect", "total_steps", total_steps, minimum=1)
  values = _evaluate(schedule, int(total_steps))
  warnings = []
  bad = ~np.isfinite(values)
  if bad.any():
    warnings.append(f"non-finite value at {bad.sum()} steps (first: step {int(np.argmax(bad))})")
  negative = ~bad & (values < 0)
  if negative.any():
    warnings.append(
      f"negative value at {negative.sum()} steps (first: step {int(np.argmax(negative))})"
    )
  zero = ~bad & (values == 0)
  if zero.any():
    where = (
      "step 0 only"
      if zero.sum() == 1 and zero[0]
      else (f"{zero.sum()} steps (first: step {int(np.argmax(zero))})")
    )
    warnings.append(f"zero learning rate at {where}: those updates do nothing")
  if bad.all():
    return ScheduleSummary(
      min=float("nan"),
      max=float("nan"),
      final=float(values[-1]),
      argmax=0,
      warmup_steps=0,
      stretches=(),
      warnings=tuple(warnings),
      s1=float("nan"),
      s2=float("nan"),
    )
  # Non-finite steps carry the last finite value, so they add no stretch of their own.
  filled = values.copy()
  first_finite = int(np.argmax(~bad))
  filled[:first_finite] = values[first_finite]
  for i in range(first_finite + 1, len(filled)):
    if bad[i]:
      filled[i] = filled[i - 1]
  stretches = _stretches(filled)
  finite = values[~bad]
  s1 = s2 = float("nan")
  if not (bad.any() or negative.any()):
    areas = _areas.lr_areas(values)
    s1, s2 = float(areas.s1[-1]), float(areas.s2[-1])
  return ScheduleSummary(
    min=float(finite.min()),
    max=float(finite.max()),
    final=float(values[-1]),
    argmax=int(np.nanargmax(np.where(bad, -np.inf, values))),
    warmup_steps=_warmup_length(filled, stretches),
    stretches=stretches,
    warnings=tuple(warnings),
    s1=s1,
    s2=s2,
  )


def _pyplot():
  """matplotlib's pyplot with the file-only Agg backend, imported on first use."""
  try:
    import matplotlib  # pylint: disable=import-outside-toplevel
  except ImportError:
    raise ImportError("jaxsched: plots need matplotlib: pip install 'jaxsched[cli]'") from None
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel

  return plt


def _save(fig, path: Any) -> pathlib.Path:
  fig.tight_layout()
  path = pathlib.Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  fig.savefig(path, dpi=110)
  _pyplot().close(fig)
  return path


def _named(schedules: Schedules) -> list:
  if callable(schedules):
    return [("schedule", schedules)]
  if isinstance(schedules, Mapping):
    return list(schedules.items())
  return [(str(name), s) for name, s in schedules]


def plot(
  schedules: Schedules,
  total_steps: int,
  path: Any,
  *,
  log_y: bool = False,
  title: str = "Learning-rate schedule",
) -> pathlib.Path:
  """Plots one or several schedules on one figure and saves it.

  The end of each warmup is marked with a dashed line and every other change
  of direction (phase boundary) with a dotted one (seed 001's
  ``plot_warmup_schedule``, seed 002's ``plot_schedule``).

  Args:
    schedules: a schedule, a mapping name -> schedule, or (name, schedule) pairs.
    total_steps: number of steps to draw, >= 1.
    path: where to save the figure (format from the extension, e.g. .png).
    log_y: logarithmic learning-rate axis.
    title: the figure title.

  Returns:
    The path written, as a ``pathlib.Path``.
  """
  c.check_steps("plot", "total_steps", total_steps, minimum=1)
  named = _named(schedules)
  if not named:
    raise ValueError("plot: schedules is empty; give at least one schedule")
  plt = _pyplot()

  fig, ax = plt.subplots(figsize=(9, 4.8))
  steps = np.arange(int(total_steps))
  for index, (name, schedule) in enumerate(named):
    values = _evaluate(schedule, int(total_steps))
    color = f"C{index % 10}"
    ax.plot(steps, values, color=color, label=name, linewidth=1.6)
    stretches = _stretches(values)
    warmup = _warmup_length(values, stretches)
    if warmup:
      ax.axvline(warmup, color=color, linestyle="--", linewidth=0.9, alpha=0.8)
    for s in stretches[1:] if not warmup else stretches[2:]:
      ax.axvline(s.start, color=color, linestyle=":", linewidth=0.8, alpha=0.6)
  if log_y:
    ax.set_yscale("log")
  ax.set_xlabel("step (optimizer update)")
  ax.set_ylabel("learning rate")
  ax.set_title(title + "   (dashed: warmup end, dotted: phase boundaries)", fontsize=10)
  ax.grid(True, alpha=0.3)
  ax.legend(fontsize=8)
  return _save(fig, path)


def plot_lr_find(result: Any, path: Any, *, title: str = "LR range test") -> pathlib.Path:
  """Loss against LR with the suggestion marked; the slope below.

  The LR axis is logarithmic for an exponential sweep, linear for a linear
  one. With several trials the median curves are drawn with the band between
  the trials' smallest and largest smoothed losses, and the quartiles of the
  chosen rule's suggestion are shaded.
  """
  plt = _pyplot()

  num_trials = getattr(result, "num_trials", 1)
  xscale = "linear" if getattr(result, "mode", "exponential") == "linear" else "log"
  fig, (top, bottom) = plt.subplots(
    2, 1, figsize=(8, 6.5), sharex=True, gridspec_kw={"height_ratios": [2, 1]}
  )
  median = " (median)" if num_trials > 1 else ""
  top.plot(result.lrs, result.losses, color="0.7", linewidth=1, label="loss" + median)
  top.plot(
    result.lrs, result.smoothed_losses, color="C0", linewidth=1.8, label="smoothed loss" + median
  )
  band = None
  if num_trials > 1:
    # fmin/fmax skip the NaNs of trials that had stopped (NaN where all had).
    band = (
      np.fmin.reduce(result.trial_smoothed_losses, axis=0),
      np.fmax.reduce(result.trial_smoothed_losses, axis=0),
    )
    top.fill_between(
      result.lrs,
      band[0],
      band[1],
      color="C0",
      alpha=0.2,
      linewidth=0,
      label=f"min-max of {num_trials} trials",
    )
    low, high = result.suggestion_spread
    top.axvspan(
      low, high, color="C1", alpha=0.15, label=f"{result.rule} quartiles: {low:.3g}-{high:.3g}"
    )
  for index, (name, lr) in enumerate(sorted(result.suggestions.items())):
    style = "-" if name == result.rule else ":"
    top.axvline(lr, color=f"C{index + 1}", linestyle=style, label=f"{name}: {lr:.3g}")
  top.set_xscale(xscale)
  top.set_ylabel("loss")
  trials = f" ({num_trials} trials, median)" if num_trials > 1 else ""
  top.set_title(f"{title}   suggestion ({result.rule}){trials}: {result.suggestion:.3g}")
  # Scale the axes to the curve before the divergence, which would flatten it.
  if band is None:
    curves = [result.smoothed_losses]
  else:  # each trial up to the step before its own stop
    curves = [
      row[:stop] for row, stop in zip(result.trial_smoothed_losses, result.trial_stop_steps)
    ]
  body = np.concatenate([v[:-1] if len(v) > 2 else v for v in curves] if band is None else curves)
  body = body[np.isfinite(body)]
  if body.size:
    lower, upper = body.min(), body.max()
    top.set_ylim(lower - 0.05 * (upper - lower) - 1e-12, upper + 0.25 * (upper - lower) + 1e-12)
  top.grid(True, alpha=0.3)
  top.legend(fontsize=8)
  if len(result.lrs) > 1:
    slope = np.gradient(result.smoothed_losses, np.log(result.lrs))
    bottom.plot(result.lrs, slope, color="C0")
    shown = slope[:-1][np.isfinite(slope[:-1])] if len(slope) > 2 else slope[np.isfinite(slope)]
    if shown.size:
      span = shown.max() - shown.min()
      bottom.set_ylim(shown.min() - 0.1 * span - 1e-12, shown.max() + 0.1 * span + 1e-12)
  bottom.axhline(0.0, color="0.5", linewidth=0.8)
  bottom.set_xscale(xscale)
  bottom.set_xlabel("learning rate")
  bottom.set_ylabel("d loss / d log lr")
  bottom.grid(True, alpha=0.3)
  return _save(fig, path)


def plot_law(
  law: _law.LossLaw,
  curves: Any,
  path: Any,
  *,
  log_y: bool = False,
  title: Optional[str] = None,
) -> pathlib.Path:
  """Plots a loss law's predicted curves against measured ones, with their learning rates.

  Top: for each curve the law's prediction (a line, at up to 400 steps from
  the first with a positive learning-rate sum to the last) and the measured
  losses (dots, same colour); bottom: the learning rates.

  Args:
    law: a fitted :class:`jaxsched.LossLaw`.
    curves: a mapping name -> ``(schedule or rates, steps, losses)`` (measured,
      as for :func:`jaxsched.fit_loss_law`) or ``(schedule or rates, steps)``
      (predicted only, up to the last of ``steps``).
    path: where to save the figure (format from the extension).
    log_y: logarithmic loss axis.
    title: the figure title (default: the law and its fit's residual).

  Returns:
    The path written, as a ``pathlib.Path``.
  """
  fn = "plot_law"
  if not isinstance(law, _law.LossLaw):
    raise ValueError(f"{fn}: law={law!r} must be a LossLaw (from fit_loss_law)")
  named = list(curves.items()) if isinstance(curves, Mapping) else list(curves)
  if not named:
    raise ValueError(f"{fn}: curves is empty; give at least one curve")
  plt = _pyplot()
  fig, (top, bottom) = plt.subplots(
    2, 1, figsize=(9, 6.5), sharex=True, gridspec_kw={"height_ratios": [2, 1]}
  )
  shown = []
  for index, (name, curve) in enumerate(named):
    color = f"C{index % 10}"
    if isinstance(curve, (tuple, list)) and len(curve) == 2:
      last = int(np.max(curve[1]))
      rates = np.asarray(_areas.lr_curve(fn, curve[0], last + 1), np.float64)
      measured = None
    else:
      (measured,) = _fit.as_curves(fn, [curve])
      last = int(measured.steps.max())
      rates = measured.lrs[: last + 1]
    first = int(np.argmax(np.cumsum(rates) > 0))
    grid = np.unique(np.linspace(first, last, min(400, last - first + 1)).round().astype(int))
    predicted = np.asarray(law.predict(rates.astype(np.float32), grid), np.float64)
    top.plot(grid, predicted, color=color, label=name)
    # The axis spans the measured losses and the prediction from the first of them (or the
    # last 95% of the run): the law's first steps, where S1 is tiny, would dwarf the rest.
    start = last // 20 if measured is None else int(measured.steps.min())
    shown.append(predicted[grid >= start])
    if measured is not None:
      top.plot(measured.steps, measured.losses, ".", color=color, markersize=5)
      shown.append(measured.losses)
    bottom.plot(np.arange(last + 1), rates, color=color, linewidth=1.2)
  body = np.concatenate(shown)
  body = body[np.isfinite(body)]
  if body.size:
    lower, upper = body.min(), body.max()
    top.set_ylim(lower - 0.05 * (upper - lower) - 1e-12, upper + 0.1 * (upper - lower) + 1e-12)
  if log_y:
    top.set_yscale("log")
  top.set_ylabel("loss")
  default = f"{law.kind} law (fit residual {law.residual:.2g}); lines: predicted, dots: measured"
  top.set_title(title or default, fontsize=10)
  top.grid(True, alpha=0.3)
  top.legend(fontsize=8)
  bottom.set_xlabel("step (the loss after this update)")
  bottom.set_ylabel("learning rate")
  bottom.grid(True, alpha=0.3)
  return _save(fig, path)
