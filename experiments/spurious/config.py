"""The spurious-correlation study's configuration: the engine's fields plus data, model and method.

A run is the engine's ``{"name", "schedule", "optimizer"?, "learning_rate"?}``
plus ``method`` (``erm``, ``erm_reweighted`` or ``group_dro``, default
``erm``), ``eta_q`` (group DRO's step size, default 0.01, Sagawa et al.'s),
``sampler`` and ``dataset`` (the config fields, set for that run alone).

The sampler draws each minibatch with replacement: ``uniform`` over the training
examples, or ``group_balanced`` (Sagawa et al.'s ``--reweight_groups``: example
``i`` of group ``g`` with probability ``1 / (G n_g)``, each group equally often).
``erm`` draws with ``config.sampler`` (default ``uniform``); ``erm_reweighted``
(ERM on group-balanced batches) and ``group_dro`` draw group-balanced batches,
as in the paper, unless the run names its own ``sampler`` (``group_dro`` with
``sampler: uniform`` is the ablation without it). Method, ``eta_q`` and the
sampler reach the loss through the run's batches.
"""

import dataclasses
import typing

from experiments.common import config as common

METHODS = ("erm", "erm_reweighted", "group_dro")
SAMPLERS = ("uniform", "group_balanced")


def sgd(weight_decay: float = 1e-4) -> dict:
  """The seeds' optimizer: SGD with momentum 0.9 (PyTorch's L2 weight decay)."""
  return {"type": "sgd", "momentum": 0.9, "weight_decay": weight_decay}


def adamw(weight_decay: float = 1e-4) -> dict:
  """AdamW (PyTorch's defaults, decoupled weight decay scaled by the LR)."""
  return {"type": "adamw", "weight_decay": weight_decay}


@dataclasses.dataclass(frozen=True)
class Config(common.Config):
  """Everything one invocation of the study needs."""

  dataset: str = "digits"  # digits, shapes, shapes_background, shapes_shape or lms5 (data.py)
  agreement: float = 0.95  # share of training examples whose attribute agrees with the label
  val_per_group: int = 85  # validation examples per group (digits, shapes)
  test_per_group: int = 85  # test examples per group (digits, shapes)
  train_size: int = 2000  # training images of shapes
  image_size: int = 32  # side of shapes' images
  lms5_points: int = 2000  # training points of lms5
  width: int = 256  # hidden units of each of the MLP's two hidden layers (digits, lms5)
  channels: int = 16  # the CNN's first-stage channels, doubled at each of its 3 stages (shapes)
  group_adjustment: float = 0.0  # C of Sagawa et al.'s C / sqrt(n_g) added to group losses
  sampler: str = "uniform"  # ERM's sampler: uniform or group_balanced (see the docstring)
  batch_size: int = 64
  learning_rate: float = 1e-2
  optimizer: tuple = (sgd(),)
  study_run_keys: typing.ClassVar[tuple] = ("method", "eta_q", "sampler", "dataset")


def run_settings(config: Config, spec: dict) -> tuple:
  """A run's ``(method, eta_q, sampler)``, checked (see the module docstring for the sampler).

  Raises:
    ValueError: naming the run and the field, for an unknown method or sampler, an ``eta_q``
      outside [0, 100], or ``erm_reweighted`` with the uniform sampler (that is plain ERM).
  """
  where = f"config field runs[{spec.get('name')!r}]"
  method = spec.get("method", "erm")
  eta_q = spec.get("eta_q", 0.01)
  if method not in METHODS:
    raise ValueError(f"{where}.method={method!r} must be one of {', '.join(METHODS)}")
  if isinstance(eta_q, bool) or not isinstance(eta_q, (int, float)) or not 0 <= eta_q <= 100:
    raise ValueError(f"{where}.eta_q={eta_q!r} must be a number in [0, 100]")
  if "sampler" in spec:
    sampler = spec["sampler"]
  else:
    sampler = config.sampler if method == "erm" else "group_balanced"
  if sampler not in SAMPLERS:
    raise ValueError(f"{where}.sampler={sampler!r} must be one of {', '.join(SAMPLERS)}")
  if method == "erm_reweighted" and sampler != "group_balanced":
    raise ValueError(
      f"{where}.sampler={sampler!r}: erm_reweighted is ERM on group_balanced batches"
    )
  return method, float(eta_q), sampler
