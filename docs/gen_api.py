"""The API reference pages, generated from one grouping table.

``GROUPS`` places every name of ``jaxsched.__all__`` on one page, in the
README's groups; ``write_api`` turns it into ``api/*.rst`` for Sphinx's
autodoc. A name exported but not grouped (or grouped but not exported) fails
``tests/test_docs.py`` and the docs build.
"""

import inspect
import pathlib
from typing import NamedTuple


class Group(NamedTuple):
  slug: str  # the page's file name
  title: str
  intro: str
  names: tuple


GROUPS = (
  Group(
    "schedules",
    "Closed-form schedules",
    "Decays matching ``torch.optim.lr_scheduler`` and Optax, and the phase schedules "
    "of the studies. Each returns an ``optax.Schedule``.",
    (
      "constant",
      "constant_factor",
      "linear_factor",
      "step_decay",
      "multistep_decay",
      "exponential_decay",
      "polynomial_decay",
      "cosine_annealing",
      "cosine_warm_restarts",
      "grokking",
      "bias_mitigation",
      "piecewise_linear",
    ),
  ),
  Group(
    "warmup",
    "Warmup schedules",
    "A warmup followed by a decay: the transformers ``get_*_schedule_with_warmup`` "
    "family, inverse square root, Noam and warmup-stable-decay.",
    (
      "warmup",
      "warmup_constant",
      "warmup_linear",
      "warmup_cosine",
      "warmup_cosine_restarts",
      "warmup_polynomial",
      "inverse_sqrt",
      "noam",
      "warmup_stable_decay",
      "warmup_stable_decay_cycles",
      "untuned_warmup",
    ),
  ),
  Group(
    "cyclic",
    "Cyclic schedules",
    "``CyclicLR`` and ``OneCycleLR``, with their momentum schedules.",
    ("cyclic", "cyclic_momentum", "one_cycle", "one_cycle_momentum"),
  ),
  Group(
    "timm",
    "timm schedules",
    "timm's schedulers (``timm.scheduler``) with timm's keyword names and defaults, and "
    "timm's learning-rate noise for any schedule.",
    (
      "timm_cosine",
      "timm_tanh",
      "timm_poly",
      "timm_step",
      "timm_multistep",
      "timm_wsd",
      "with_noise",
    ),
  ),
  Group(
    "pytorch_optimizer",
    "pytorch_optimizer schedules",
    "The LR schedulers of pytorch_optimizer (``pytorch_optimizer.lr_scheduler``) with its "
    "keyword names; its ``LinearScheduler`` and ``CosineScheduler`` are ``warmup_linear`` "
    "and ``warmup_cosine`` with ``hold_after_end=False``.",
    (
      "rex",
      "chebyshev",
      "cosine_annealing_warmup_restarts",
      "warmup_poly_growth",
      "proportion",
    ),
  ),
  Group(
    "composition",
    "Composition",
    "Schedules made of other schedules.",
    ("sequential", "chained", "cooldown", "adaptive_momentum"),
  ),
  Group(
    "adaptive",
    "Adaptive transformations",
    "Loss-driven ``optax.GradientTransformation`` state machines that take the metric "
    "as ``value=`` in ``update``, their states, and the helpers that read the scale "
    "they hold.",
    (
      "reduce_on_plateau",
      "ReduceOnPlateauState",
      "adaptive_step_decay",
      "AdaptiveStepDecayState",
      "phase_transition",
      "PhaseTransitionState",
      "greedy_lr",
      "GreedyLRState",
      "current_scale",
      "current_learning_rate",
      "grokfast_ema",
      "GrokfastEmaState",
    ),
  ),
  Group(
    "averaging",
    "Schedule-Free and weight averaging",
    "Schedule-Free AdamW and SGD (whole optimizers), averages of the parameters kept in "
    "the optimizer state, and the schedules of their decays, weights and SWA rate.",
    (
      "schedule_free_adamw",
      "schedule_free_sgd",
      "schedule_free_eval_params",
      "ScheduleFreeState",
      "ema_params",
      "EmaParamsState",
      "average_params",
      "AverageParamsState",
      "timm_ema_decay",
      "ema_sqrt_weight",
      "swa_lr",
    ),
  ),
  Group(
    "units",
    "Batch sizes and step units",
    "Batch-size schedules, counting samples or tokens under them, schedules written in "
    "samples or tokens, and schedules driven by a micro-batch count.",
    (
      "staged_batch_size",
      "rampup_batch_size",
      "BatchSchedule",
      "consumed",
      "steps_for",
      "in_units",
      "per_update",
    ),
  ),
  Group(
    "layerwise",
    "Layer-wise rates and configs",
    "Per-parameter multipliers chosen by path, and schedules built from a dict, "
    "YAML text or a YAML / JSON file.",
    (
      "layerwise",
      "layerwise_decay",
      "TRANSFORMER_MULTIPLIERS",
      "from_config",
      "load_config",
      "resolve_config",
      "ResolvedConfig",
      "TrainingSetup",
    ),
  ),
  Group(
    "porting",
    "Porting from PyTorch, transformers, timm and pytorch_optimizer",
    "Read a scheduler (live, or its saved ``state_dict``) into a jaxsched schedule, "
    "go back, and compare two schedules step by step.",
    (
      "from_torch",
      "to_torch",
      "get_scheduler",
      "compare",
      "Comparison",
      "LearningRateAndMomentum",
      "PlateauConversion",
    ),
  ),
  Group(
    "laws",
    "Loss-curve laws",
    "What a schedule will do to the loss: the learning-rate areas of Tissue et al. 2024, "
    "their momentum law and Luo et al.'s multi-power law fitted to measured curves, "
    "predictions for any schedule, their errors on held-out curves, and the schedule a "
    "law expects to end lowest.",
    (
      "lr_areas",
      "LRAreas",
      "fit_loss_law",
      "LossLaw",
      "evaluate_law",
      "LawError",
      "load_curves",
      "optimize_schedule",
      "OptimizedSchedule",
      "plot_law",
    ),
  ),
  Group(
    "tools",
    "Tools",
    "The catalog of schedules, the LR range test, plots and inspection.",
    (
      "catalog",
      "registry",
      "Entry",
      "lr_find",
      "LRFinderResult",
      "plot",
      "inspect",
      "ScheduleSummary",
    ),
  ),
)


def grouped_names() -> list:
  """Every name of the table, in page order."""
  return [name for group in GROUPS for name in group.names]


def check_groups(exported) -> None:
  """Raises ValueError unless the table and ``exported`` hold the same names, each once."""
  names = grouped_names()
  twice = sorted({n for n in names if names.count(n) > 1})
  missing = sorted(set(exported) - set(names))
  unknown = sorted(set(names) - set(exported))
  problems = []
  if missing:
    problems.append(f"exported but not on any API page (add them to GROUPS): {missing}")
  if unknown:
    problems.append(f"on an API page but not in jaxsched.__all__: {unknown}")
  if twice:
    problems.append(f"on several API pages: {twice}")
  if problems:
    raise ValueError("docs/gen_api.py: " + "; ".join(problems))


def _directive(module, name: str) -> str:
  obj = getattr(module, name)
  if inspect.isclass(obj):
    fields = getattr(obj, "_fields", ())
    methods = sorted(
      m for m, v in vars(obj).items() if not m.startswith("_") and m not in fields and callable(v)
    )
    lines = [f".. autoclass:: {name}"]
    if methods:
      lines.append(f"   :members: {', '.join(methods)}")
    return "\n".join(lines)
  if callable(obj):
    return f".. autofunction:: {name}"
  return f".. autodata:: {name}"


def _title(text: str, char: str) -> str:
  return f"{text}\n{char * len(text)}\n"


def write_api(outdir: pathlib.Path) -> list:
  """Writes ``index.rst`` and one page per group into ``outdir``; returns the paths."""
  import jaxsched  # pylint: disable=import-outside-toplevel

  check_groups(jaxsched.__all__)
  outdir.mkdir(parents=True, exist_ok=True)
  written = []
  for group in GROUPS:
    body = [_title(group.title, "="), group.intro, "", ".. currentmodule:: jaxsched", ""]
    for name in group.names:
      body += [_directive(jaxsched, name), ""]
    path = outdir / f"{group.slug}.rst"
    path.write_text("\n".join(body))
    written.append(path)
  toc = "\n".join(f"   {group.slug}" for group in GROUPS)
  index = (
    _title("API reference", "=") + "\nEvery public name of ``jaxsched``, by group.\n\n"
    f".. toctree::\n   :maxdepth: 1\n\n{toc}\n"
  )
  (outdir / "index.rst").write_text(index)
  return [outdir / "index.rst", *written]
