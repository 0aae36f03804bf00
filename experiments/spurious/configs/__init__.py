"""Presets of the spurious-correlation study, one per module, and the schedules and runs they
share."""

from typing import Optional

from experiments.common import presets

PRESETS = ("cpu", "shapes", "smoke", "lms5", "gpu")
METHODS = ("erm", "erm_reweighted", "group_dro")

get = presets.loader(__name__, PRESETS)


def constant(rate: float) -> tuple:
  """A constant rate, as a warmup of 0 steps (the warmup grid's baseline)."""
  return {"type": "warmup_constant", "warmup_steps": 0}, rate


def warmup(steps: int, total_steps: int, rate: float, cosine: bool) -> tuple:
  """A linear warmup of ``steps`` to ``rate``, then constant or cosine to 0 at
  ``total_steps`` (``steps = 0`` and ``cosine``: cosine alone)."""
  if cosine:
    return {"type": "warmup_cosine", "warmup_steps": steps, "total_steps": total_steps}, rate
  return {"type": "warmup_constant", "warmup_steps": steps}, rate


def three_phase(total_steps: int, high: float = 1e-2, warmup_steps: int = 0) -> tuple:
  """Seed 000's ``BiasScheduler`` (``jaxsched.bias_mitigation``): 20% of the steps at ``high``,
  30% at ``high / 10``, cosine to ``high / 1000``; after a linear warmup to ``high`` when
  ``warmup_steps`` > 0. The seed's own values are ``high = 1e-2``."""
  phases = {
    "type": "bias_mitigation",
    "high_value": high,
    "plateau_value": high / 10,
    "end_value": high / 1000,
  }
  if not warmup_steps:
    return {**phases, "total_steps": total_steps}, high
  return {
    "type": "sequential",
    "boundaries": [warmup_steps],
    "schedules": [
      {"type": "warmup", "peak_value": high, "warmup_steps": warmup_steps},
      {**phases, "total_steps": total_steps - warmup_steps},
    ],
  }, high


def schedules(epochs: int, steps_per_epoch: int, warmup_epochs: int = 10) -> dict:
  """The seeds' schedules over ``epochs``, in steps, with the peak rate each seed gives it.

  ``constant-1e-3`` and ``constant-1e-2``; seed 001's ``warmup+cosine`` (10-epoch
  linear warmup, cosine to 0, target 1e-3); seed 000's ``3phase`` (``bias_mitigation``:
  20% at 1e-2, 30% at 1e-3, cosine to 1e-5); and ``warmup+3phase``, the same after a
  10-epoch warmup to 1e-2. Returns ``{name: (schedule config, learning_rate)}``.
  """
  total, steps = epochs * steps_per_epoch, warmup_epochs * steps_per_epoch
  return {
    "constant-1e-3": constant(1e-3),
    "constant-1e-2": constant(1e-2),
    "warmup+cosine": warmup(steps, total, 1e-3, cosine=True),
    "3phase": three_phase(total),
    "warmup+3phase": three_phase(total, warmup_steps=steps),
  }


def run(
  name: str,
  schedule: tuple,
  method: str = "erm",
  eta_q: float = 0.01,
  optimizer: Optional[dict] = None,
  **fields,
) -> dict:
  """One run spec; ``schedule`` is a ``(config, learning rate)`` pair; ``fields``: the run's own
  config fields (``sampler``, ``dataset``)."""
  config, rate = schedule
  spec = {"name": name, "schedule": config, "method": method, "learning_rate": rate, **fields}
  if method == "group_dro":
    spec["eta_q"] = eta_q
  if optimizer is not None:
    spec["optimizer"] = [optimizer]
  return spec
