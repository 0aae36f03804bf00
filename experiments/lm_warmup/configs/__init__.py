"""Presets of the LM warmup study, one per module, and the run grid they share."""

from typing import Optional

from experiments.common import presets

PRESETS = ("cpu", "smoke", "gpu", "law")


get = presets.loader(__name__, PRESETS)


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
  """Runs of ``warmup_cosine`` (warmup of ``kind``, cosine to ``end_value``) over LRs x warmups.

  ``model`` sets per-run model fields (width, depth, qk_layernorm, z_loss).
  """
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
          "warmup_kind": kind,
        },
        "learning_rate": lr,
        **model,
      }
      if kind == "exponential":  # geometric from init_value, which must be > 0
        run["schedule"]["init_value"] = 1e-6
      if optimizer is not None:
        run["optimizer"] = optimizer
      runs.append(run)
  return runs
