"""What the porting modules share: the classes converted, recognizing scheduler objects, the
error for what has no closed form, and wrappers of a converted schedule.

torch, transformers and timm are never imported here: their objects are
recognized by class name and module.
"""

import functools
import inspect
from typing import Any, List, Sequence, Union

import jax.numpy as jnp
import optax

from jaxsched import _common as c

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
  "WSDLRScheduler",
)


# The scheduler classes of pytorch_optimizer.lr_scheduler that from_torch converts (its
# get_chebyshev_schedule and get_wsd_schedule build LambdaLRs, recognized by their functions).
PYTORCH_OPTIMIZER_CLASSES = (
  "REXScheduler",
  "LinearScheduler",
  "CosineScheduler",
  "PolyScheduler",
  "CosineAnnealingWarmupRestarts",
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


def is_pytorch_optimizer(obj: Any) -> bool:
  """``obj`` is an object of the ``pytorch_optimizer`` package."""
  return type(obj).__module__.split(".")[0] == "pytorch_optimizer"


def current_step(s: Any) -> int:
  """The step a scheduler is at: from_torch's schedule gives its rate now at this step.

  torch's ``last_epoch`` (a ChainedScheduler's is its first scheduler's);
  pytorch_optimizer's ``step_t`` counts ``step()`` calls (REXScheduler's also
  the one its construction makes); 0 for timm's, which are stateless.
  """
  if is_timm(s):
    return 0
  if is_pytorch_optimizer(s) and hasattr(s, "step_t"):
    return int(s.step_t) - (1 if class_name(s) == "REXScheduler" else 0)
  while not hasattr(s, "last_epoch") and hasattr(s, "_schedulers"):
    s = s._schedulers[0]  # pylint: disable=protected-access
  return int(getattr(s, "last_epoch", 0))


def supported_text() -> str:
  """What from_torch converts, for its messages."""
  return (
    ", ".join(TORCH_CLASSES[:-2]) + ", LambdaLR built by transformers' "
    "get_*_schedule* functions or pytorch_optimizer's get_chebyshev_schedule and "
    "get_wsd_schedule, ReduceLROnPlateau, timm's " + ", ".join(TIMM_CLASSES) + ", and "
    "pytorch_optimizer's " + ", ".join(PYTORCH_OPTIMIZER_CLASSES)
  )


def partial_keywords(fn: functools.partial) -> dict:
  """Every keyword a ``functools.partial`` passes after the first argument (defaults too)."""
  bound = inspect.signature(fn.func).bind(0, *fn.args, **fn.keywords)
  bound.apply_defaults()
  return {k: v for k, v in list(bound.arguments.items())[1:]}


def one_or_list(items: list) -> Any:
  """One schedule per param group: the schedule itself for one group."""
  return items[0] if len(items) == 1 else items


def shifted(schedule: optax.Schedule, shift: int) -> optax.Schedule:
  """``schedule(t + shift)``: ahead for ``shift > 0``, behind (from step 0) for ``shift < 0``.

  The step saturates at ``2**31 - 1`` and never goes below 0.
  """

  def shifted_schedule(count):
    t = c.as_count(count)
    if shift >= 0:
      return schedule(jnp.minimum(t, c.INT32_MAX - shift) + shift)
    return schedule(jnp.maximum(t + shift, 0))

  return shifted_schedule


def replaced(schedule: optax.Schedule, step: int, value: float) -> optax.Schedule:
  """``schedule(t)``, but ``value`` at the one step ``step``."""

  def replaced_schedule(count):
    t = c.as_count(count)
    out = schedule(count)
    return jnp.where(t == step, jnp.asarray(value, out.dtype), out)

  return replaced_schedule


def scaled(schedule: optax.Schedule, factor: float) -> optax.Schedule:
  """``schedule(t) * factor``."""

  def scaled_schedule(count):
    return schedule(count) * factor

  return scaled_schedule
