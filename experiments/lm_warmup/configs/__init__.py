"""Presets of the LM warmup study, one per module, and the run grid they share."""

from typing import Optional

from experiments.common import presets
from experiments.lm_warmup.analysis import WORTSMAN_LRS

# One module per preset; add a name here and a module beside the others.
PRESETS = (
  "cpu",
  "cpu_wide",
  "cpu_variants",
  "cpu_horizon",
  "cpu_sharpness",
  "cpu_sharpness_wide",
  "smoke",
  "gpu",
  "law",
  "law_wide",
)

get = presets.loader(__name__, PRESETS)

# Wortsman's 7 points (Eq. 1 stays comparable) and the half-decades above them up to 10: one
# log-spaced grid, 3e-4 .. 10. In a trial at width 64 with the ``cpu`` settings, runs ended
# at 4.3-4.7 nats at LR 3 and 48-75 at LR 10, above the unigram cross-entropy (3.2), so
# the grid is expected to reach failure; whether it does for every configuration and seed is
# measured (``reaches_failure_per_seed`` in sensitivity.json), not assumed.
HIGH_LRS = (1.0, 3.0, 10.0)
LRS = WORTSMAN_LRS + HIGH_LRS

# Warmup shapes by name: (jaxsched warmup_kind, init_value as a function of the peak or None).
SHAPES = {
  "linear": ("linear", None),
  "cosine": ("cosine", None),
  "exponential-from-half": ("exponential", lambda peak: peak / 2),  # seed 001
  "exponential-from-1e-6": ("exponential", lambda peak: 1e-6),
}


def grid(
  lrs,
  warmups,
  total_steps: int,
  kind: str = "linear",
  end_value: float = 1e-5,
  optimizer: Optional[list] = None,
  tag: str = "",
  **model,
) -> list:
  """Runs of ``warmup_cosine`` (warmup of shape ``kind``, a key of :data:`SHAPES`, then cosine
  to ``end_value``) over LRs x warmups.

  ``model`` sets per-run model fields (width, depth, qk_layernorm, z_loss).
  """
  if kind not in SHAPES:
    raise ValueError(f"grid: kind={kind!r} must be one of {', '.join(SHAPES)}")
  warmup_kind, init = SHAPES[kind]
  runs = []
  shape = "".join(f"/{k}={v}" for k, v in sorted(model.items()))
  for warmup in warmups:
    for lr in lrs:
      run = {
        "name": f"{tag}{shape}/warmup{warmup}-{kind}/lr{lr:g}".lstrip("/"),
        "schedule": {
          "type": "warmup_cosine",
          "warmup_steps": warmup,
          "total_steps": total_steps,
          "end_value": end_value,
          "warmup_kind": warmup_kind,
        },
        "learning_rate": lr,
        **model,
      }
      if init is not None:  # exponential warmup starts at init_value > 0
        run["schedule"]["init_value"] = init(lr)
      if optimizer is not None:
        run["optimizer"] = optimizer
      runs.append(run)
  return runs
