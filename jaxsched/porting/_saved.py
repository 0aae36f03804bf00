"""A scheduler rebuilt from its saved ``state_dict``, for from_torch to convert.

A ``state_dict`` holds a scheduler's attributes (torch's, timm's and
pytorch_optimizer's all save ``__dict__`` without the optimizer), so an
object of a stand-in class with the scheduler's name and module and those
attributes is converted like the live one. The optimizer's param groups come
from the optimizer's own ``state_dict`` when given (OneCycleLR keeps
``max_lr`` and ``min_lr`` there, timm its ``lr_scale``), else from the
scheduler's base and last rates. Nothing here imports torch.
"""

from typing import Any, Mapping, NamedTuple, Optional, Sequence

from jaxsched.porting import _objects

_MODULES = (
  (_objects.TORCH_CLASSES, "torch.optim.lr_scheduler"),
  (_objects.TIMM_CLASSES, "timm.scheduler"),
  (_objects.PYTORCH_OPTIMIZER_CLASSES, "pytorch_optimizer.lr_scheduler"),
)
COMPOSITES = ("SequentialLR", "ChainedScheduler")
SAVED = "_jaxsched_saved_state"  # the attribute that marks a stand-in


class _Optimizer(NamedTuple):
  """The part of an optimizer that from_torch reads: its param groups and defaults."""

  param_groups: list
  defaults: dict


def _class(spec: Any, fn: str) -> tuple[str, str]:
  """``(name, module)`` of a scheduler class given as a class or its name."""
  if isinstance(spec, type):
    name, module = spec.__name__, spec.__module__
  elif isinstance(spec, str):
    name, module = spec.rsplit(".", 1)[-1], ""
  else:
    raise ValueError(
      f"{fn}: scheduler_class={spec!r} must be a scheduler class or its name (for "
      "SequentialLR and ChainedScheduler: (name, [the class of each scheduler]))"
    )
  for names, home in _MODULES:
    if name in names:
      return name, module or home
  known = [n for names, _ in _MODULES for n in names if n != "LambdaLR"]
  raise ValueError(
    f"{fn}: scheduler_class={name!r} is not a class from_torch converts from a state_dict: "
    f"{', '.join(known)}"
  )


def _groups(state: Mapping[str, Any], optimizer_state: Any, fn: str) -> list:
  """The param groups: the optimizer's saved ones, or made from the scheduler's rates."""
  if optimizer_state is not None:
    groups = optimizer_state.get("param_groups") if isinstance(optimizer_state, Mapping) else None
    groups = groups if groups is not None else optimizer_state
    if not isinstance(groups, Sequence) or not all(isinstance(g, Mapping) for g in groups):
      raise ValueError(
        f"{fn}: optimizer_state must be an optimizer's state_dict() (or its param_groups list)"
      )
    return [dict(g) for g in groups]
  bases = state.get("base_lrs", state.get("base_values"))
  lasts = state.get("_last_lr")
  if bases is None and lasts is None and "_schedulers" in state:
    first = state["_schedulers"][0] if state["_schedulers"] else {}
    return _groups(first, None, fn)
  if bases is None and lasts is None:
    raise ValueError(
      f"{fn}: the state_dict holds no rates (base_lrs, base_values or _last_lr); "
      "give optimizer_state=optimizer.state_dict()"
    )
  rates = list(lasts if lasts is not None else bases)
  groups = []
  for i, rate in enumerate(rates):
    group = {"lr": float(rate)}
    if bases is not None:
      group["initial_lr"] = float(bases[i])
    groups.append(group)
  return groups


def _stand_in(spec: Any, state: Any, optimizer: _Optimizer, fn: str) -> Any:
  """An object of a class named as the scheduler's, holding ``state`` and ``optimizer``."""
  children: Optional[Sequence[Any]] = None
  if isinstance(spec, tuple):
    if len(spec) != 2 or not isinstance(spec[1], (list, tuple)):
      raise ValueError(
        f"{fn}: scheduler_class={spec!r}: a composite is (name, [the class of each scheduler])"
      )
    spec, children = spec
  name, module = _class(spec, fn)
  if not isinstance(state, Mapping):
    raise ValueError(f"{fn}: the state_dict of {name} must be a dict, got {type(state).__name__}")
  if name == "LambdaLR":
    raise ValueError(
      f"{fn}: a LambdaLR's state_dict does not hold its lr_lambda (torch saves no "
      "function), so the schedule cannot be read from it: build it again (for "
      "transformers, jaxsched.get_scheduler(name, peak_value, ...)) and resume at "
      "state_dict['last_epoch']"
    )
  attributes = dict(state)
  if name in COMPOSITES:
    saved = list(attributes.get("_schedulers", []))
    if children is None or len(children) != len(saved):
      raise ValueError(
        f"{fn}: a {name}'s state_dict holds its {len(saved)} schedulers' states without "
        f"their classes: give scheduler_class=({name!r}, [the class of each of them])"
      )
    attributes["_schedulers"] = [
      _stand_in(child, child_state, optimizer, fn) for child, child_state in zip(children, saved)
    ]
  elif children is not None:
    raise ValueError(f"{fn}: scheduler_class=({name!r}, [...]): {name} holds no schedulers")
  attributes["optimizer"] = optimizer
  cls = type(name, (), {"__module__": module, "step": _cannot_step})
  obj = cls()
  obj.__dict__.update(attributes)
  obj.__dict__[SAVED] = True
  return obj


def _cannot_step(self, *args, **kwargs):
  del args, kwargs
  raise ValueError(
    f"{type(self).__name__} rebuilt from a state_dict cannot be stepped; convert a live "
    "object to tabulate it"
  )


def from_state(state: Any, scheduler_class: Any, optimizer_state: Any, fn: str) -> Any:
  """A stand-in for the scheduler saved as ``state`` (see the module's docstring)."""
  if not isinstance(state, Mapping):
    raise ValueError(f"{fn}: state_dict must be a dict, got {type(state).__name__}")
  optimizer = _Optimizer(_groups(state, optimizer_state, fn), {})
  return _stand_in(scheduler_class, state, optimizer, fn)
