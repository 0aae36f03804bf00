"""The spurious-correlation study's configuration: the engine's fields plus data, model and method.

A run is the engine's ``{"name", "schedule", "optimizer"?, "learning_rate"?}``
plus ``method`` (``erm`` or ``group_dro``, default ``erm``) and ``eta_q`` (group
DRO's step size, default 0.1). Method and ``eta_q`` reach the loss through the
run's batches, so runs that differ in them share one compiled program.
"""

import dataclasses
import typing

from experiments.common import config as common

METHODS = ("erm", "group_dro")


def sgd(weight_decay: float = 1e-4) -> dict:
  """The seeds' optimizer: SGD with momentum 0.9 (PyTorch's L2 weight decay)."""
  return {"type": "sgd", "momentum": 0.9, "weight_decay": weight_decay}


@dataclasses.dataclass(frozen=True)
class Config(common.Config):
  """Everything one invocation of the study needs."""

  dataset: str = "digits"  # digits or lms5 (see data.py)
  lms5_points: int = 2000  # training points of lms5
  width: int = 256  # hidden units of each of the MLP's two hidden layers
  group_adjustment: float = 0.0  # C of Sagawa et al.'s C / sqrt(n_g) added to group losses
  batch_size: int = 64
  learning_rate: float = 1e-2
  optimizer: tuple = (sgd(),)
  study_run_keys: typing.ClassVar[tuple] = ("method", "eta_q")
