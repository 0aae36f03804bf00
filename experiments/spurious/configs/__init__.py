"""Presets of the spurious-correlation study, one per module, and the schedules they share."""

from experiments.common import presets

PRESETS = ("cpu", "smoke", "lms5", "gpu")


get = presets.loader(__name__, PRESETS)


def schedules(epochs: int, steps_per_epoch: int, warmup_epochs: int = 10) -> dict:
  """The seeds' schedules over ``epochs``, in steps, with the peak rate each seed gives it.

  ``constant-1e-3`` and ``constant-1e-2``; seed 001's ``warmup+cosine`` (10-epoch
  linear warmup, cosine to 0, target 1e-3); seed 000's ``3phase`` (``bias_mitigation``:
  20% at 1e-2, 30% at 1e-3, cosine to 1e-5); and ``warmup+3phase``, the same after a
  10-epoch warmup to 1e-2. Returns ``{name: (schedule config, learning_rate)}``.
  """
  total, warmup = epochs * steps_per_epoch, warmup_epochs * steps_per_epoch
  return {
    "constant-1e-3": ({"type": "constant"}, 1e-3),
    "constant-1e-2": ({"type": "constant"}, 1e-2),
    "warmup+cosine": (
      {"type": "warmup_cosine", "warmup_steps": warmup, "total_steps": total},
      1e-3,
    ),
    "3phase": ({"type": "bias_mitigation", "total_steps": total}, 1e-2),
    "warmup+3phase": (
      {
        "type": "sequential",
        "boundaries": [warmup],
        "schedules": [
          {"type": "warmup", "peak_value": 1e-2, "warmup_steps": warmup},
          {"type": "bias_mitigation", "total_steps": total - warmup},
        ],
      },
      1e-2,
    ),
  }


def run(
  name: str, schedule: tuple, method: str = "erm", eta_q: float = 0.1, optimizer=None
) -> dict:
  """One run spec; ``schedule`` is a ``(config, learning rate)`` pair of :func:`schedules`."""
  config, rate = schedule
  spec = {"name": name, "schedule": config, "method": method, "learning_rate": rate}
  if method == "group_dro":
    spec["eta_q"] = eta_q
  if optimizer is not None:
    spec["optimizer"] = [optimizer]
  return spec
