"""What the porting modules share: the classes converted, recognizing scheduler objects, the
error for what has no closed form, and wrappers of a converted schedule.

torch, transformers and timm are never imported here: their objects are
recognized by class name and module.
"""

from typing import Any, List, Sequence, Union

import optax

Schedules = Union[optax.Schedule, List[optax.Schedule]]

# The classes of torch.optim.lr_scheduler (and swa_utils) that from_torch converts in closed
# form.
TORCH_CLASSES = (
  "StepLR",
  "MultiStepLR",
  "ConstantLR",
  "LinearLR",
  "ExponentialLR",
  "PolynomialLR",
  "CosineAnnealingLR",
  "CosineAnnealingWarmRestarts",
  "CyclicLR",
  "OneCycleLR",
  "SWALR",
  "SequentialLR",
  "ChainedScheduler",
  "LambdaLR",
  "ReduceLROnPlateau",
)

# The classes of timm.scheduler that from_torch converts.
TIMM_CLASSES = (
  "CosineLRScheduler",
  "TanhLRScheduler",
  "StepLRScheduler",
  "MultiStepLRScheduler",
  "PolyLRScheduler",
  "PlateauLRScheduler",
)


class Unsupported(ValueError):
  """A scheduler (or part) that from_torch does not convert in closed form."""


def class_name(obj: Any) -> str:
  """The name of ``obj``'s class."""
  return type(obj).__name__


def is_torch_scheduler(obj: Any) -> bool:
  """An object with an optimizer and ``step()``: a torch (or timm) scheduler."""
  return hasattr(obj, "optimizer") and callable(getattr(obj, "step", None))


def is_torch_class(obj: Any, names: Sequence[str]) -> bool:
  """``obj`` is one of torch's classes called ``names``."""
  return class_name(obj) in names and type(obj).__module__.startswith("torch.")


def is_timm(obj: Any) -> bool:
  """``obj`` is an object of timm."""
  return type(obj).__module__.split(".")[0] == "timm"


def supported_text() -> str:
  """What from_torch converts, for its messages."""
  return (
    ", ".join(TORCH_CLASSES[:-2]) + ", LambdaLR built by transformers' "
    "get_*_schedule* functions, ReduceLROnPlateau, and timm's " + ", ".join(TIMM_CLASSES)
  )


def one_or_list(items: list) -> Any:
  """One schedule per param group: the schedule itself for one group."""
  return items[0] if len(items) == 1 else items


def scaled(schedule: optax.Schedule, factor: float) -> optax.Schedule:
  """``schedule(t) * factor``."""

  def scaled_schedule(count):
    return schedule(count) * factor

  return scaled_schedule
