"""Execution-mode rows: one group of runs under ``sequential``, ``map``, ``vmap`` and ``auto``.

The three modes' calls (:class:`benchmarks.programs.StudyGroup`) are timed
side by side, alternated in one measurement. With ``auto``, the engine itself
first trains the group's first chunk in each mode and keeps the fastest
(:func:`benchmarks.programs.engine_auto`); the mode it chose is then timed once
more as a fourth side, ``auto``, so that its ratio to the same mode measures
the noise (an A/A comparison) and its ratio to the others whether the choice
was right. What the choice costs is reported apart, in the first ``auto``
row's ``autotune`` record: the first chunk of the two modes it did not keep
(``probe_extra_s``, from the steady-state times, and in chunks of the chosen
mode) and their compilation.
"""

import jax

from benchmarks import programs
from benchmarks import timing

MODES = ("sequential", "map", "vmap")
# auto against each mode: no slower by more than this (the spread of these rows on a quiet
# machine: an A/A pair of the same program differs by up to a few percent).
AUTO_TOLERANCE = 1.05
LABELS = {
  "sequential": "one call per run of the single-run program (execution: sequential)",
  "map": "lax.map over {runs} runs in one call (execution: map)",
  "vmap": "jax.vmap over {runs} runs in one call (execution: vmap)",
}


def entries(
  section: str,
  prefix: str,
  study,
  config,
  *,
  auto: bool,
  evaluate: bool,
  repeats: int,
  work: str,
) -> list:
  """Rows ``{prefix}/vmap{S}_vs_sequential`` and ``map{S}_vs_sequential``, and with ``auto``
  ``{prefix}/auto{S}_vs_{mode}`` for each mode, S the group's runs.

  Args:
    section: the benchmark section the rows belong to.
    prefix: the rows' name prefix (the model).
    study: the study.
    config: its config, making one group; ``eval_every`` steps per call.
    auto: add the engine's ``auto`` (which times chunks: needs ``evaluate``).
    evaluate: each call is the engine's chunk (train, then evaluate), not the
      training scan alone.
    repeats: timed repeats per side.
    work: what one call does, for the rows.
  """
  if auto and not evaluate:
    raise ValueError("execution.entries: auto=True times the engine's chunks: needs evaluate=True")
  group = programs.StudyGroup(study, config, evaluate=evaluate)
  runs = len(group.group.runs)
  sides = {"sequential": group.singles, "map": group.mapped, "vmap": group.vmapped}
  choice = None
  if auto:
    choice = programs.engine_auto(study, config)
    sides["auto"] = sides[choice.execution]  # the same program, timed as a side of its own
  print(f"  {prefix}: {runs} runs under {', '.join(sides)}", flush=True)
  t = timing.alternate(sides, repeats=repeats, number=1, warmup=1)
  rows = []
  for mode in ("vmap", "map"):
    target = None
    if mode == "vmap" and runs >= 16 and jax.default_backend() != "cpu":
      target = ("speedup", ">=", 8.0)  # an accelerator: vmap fills otherwise idle hardware
    rows.append(
      timing.entry(
        section,
        f"{prefix}/{mode}{runs}_vs_sequential",
        ours=LABELS[mode].format(runs=runs),
        baseline=LABELS["sequential"],
        ours_t=t[mode],
        baseline_t=t["sequential"],
        work=work,
        target=target,
      )
    )
  if choice is None:
    return rows
  medians = {mode: t[mode].median_s for mode in MODES}
  compiles = {mode: t[mode].jax_compile_s for mode in MODES}
  best = min(medians, key=medians.__getitem__)
  others = [mode for mode in MODES if mode != choice.execution]
  extra_s = sum(medians[mode] for mode in others)
  autotune = {
    "group": f"{prefix}, {runs} runs",
    "chose": choice.execution,
    "engine_probe_s": choice.probe_s,
    "engine_log": choice.log,
    "median_s": medians,
    "best": best,
    "auto_over_best": t["auto"].median_s / medians[best],
    "probe_extra_s": extra_s,
    "probe_extra_chunks": extra_s / medians[choice.execution],
    "compile_extra_s": sum(compiles[mode] for mode in others),
  }
  # auto compiles the program of every mode it tries.
  auto_t = t["auto"]._replace(jax_compile_s=sum(compiles.values()))
  for mode in MODES:
    rows.append(
      timing.entry(
        section,
        f"{prefix}/auto{runs}_vs_{mode}",
        ours=f"execution: auto (chose {choice.execution})",
        baseline=f"execution: {mode}",
        ours_t=auto_t,
        baseline_t=t[mode],
        work=work,
        target=("ratio", "<=", AUTO_TOLERANCE),
        note="auto's steady state; its first-chunk probe is reported apart (autotune)",
      )
    )
  rows[2]["autotune"] = autotune
  return rows
