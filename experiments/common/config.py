"""What every study's configuration holds, and the one way to read one.

A study's ``Config`` is a dataclass that inherits these fields and adds its
own (the model, the data). A run is a mapping::

  {"name": "warmup500+cosine",                       # required, unique
   "schedule": {"type": "warmup_cosine", ...},       # required: a jaxsched config
   "optimizer": [{"type": "adamw", ...}, ...],        # optional: replaces Config.optimizer
   "learning_rate": 3e-3}                             # optional: replaces Config.learning_rate

``learning_rate`` fills the schedule's base rate when the schedule leaves it
out (``jaxsched.resolve_config``'s rule). Every run is trained once per seed. A
study may allow keys of its own in a run (``Config.study_run_keys``), e.g. the
spurious-correlation study's ``method`` and ``eta_q``.

Files are read with ``jaxsched.load_config`` (the loader of the library and its
command line), so ``1e-3`` in YAML is a number. Unknown fields and values of
the wrong type raise ``ValueError`` with one line naming the field.
"""

import dataclasses
import json
import pathlib
import typing
from typing import Any, Optional

import jaxsched

EXECUTIONS = ("auto", "vmap", "map", "sequential")
RUN_KEYS = ("name", "schedule", "optimizer", "learning_rate")


@dataclasses.dataclass(frozen=True)
class Config:
  """The fields the engine reads; a study's Config adds its own."""

  seeds: tuple = (0,)
  runs: tuple = ({"name": "constant", "schedule": {"type": "constant"}},)
  learning_rate: float = 1e-3  # fills each schedule's base rate (peak_value, value, ...)
  optimizer: tuple = ({"type": "adamw"},)  # see experiments.common.optim
  batch_size: int = 0  # examples per step; the study decides what 0 means (e.g. full batch)
  total_steps: int = 1000
  eval_every: int = 100  # steps per compiled chunk; metrics are written after each
  checkpoint_every: int = 1000  # 0: never (Ctrl-C still saves)
  execution: str = "auto"  # auto, vmap, map or sequential (see experiments.common.engine)
  model_axis: int = 1  # devices on the mesh's "model" axis; the rest form the "data" axis
  # At each evaluation, the largest eigenvalue of the optimizer-preconditioned Hessian of the
  # training loss on the chunk's last batch, by this many Lanczos iterations, logged as
  # `sharpness` (experiments.common.sharpness); 0: not measured.
  sharpness_iters: int = 0
  # Keys a study adds to a run; not a config field itself. A key that names a config field
  # (e.g. the model's width) sets that field for the run; the others reach the study
  # through ``run.config`` (e.g. in its batches).
  study_run_keys: typing.ClassVar[tuple] = ()


MACHINE_KEY = "machine"  # config.json's record of where it ran; not a field


def to_json(config: Config, machine: Optional[dict] = None) -> str:
  """``config``'s fields as JSON, with the machine it runs on under ``"machine"``."""
  fields = dataclasses.asdict(config)
  if machine is not None:
    fields[MACHINE_KEY] = machine
  return json.dumps(fields, indent=2, sort_keys=True)


def _type_name(kind: Any) -> str:
  return getattr(kind, "__name__", str(kind))


def _coerce(name: str, kind: Any, value: Any) -> Any:
  """``value`` as the field's type, or a ValueError naming the field."""
  if kind is float and isinstance(value, (int, float)) and not isinstance(value, bool):
    return float(value)
  if kind is int and isinstance(value, int) and not isinstance(value, bool):
    return value
  if kind is str and isinstance(value, str):
    return value
  if kind is bool and isinstance(value, bool):
    return value
  if kind is tuple and isinstance(value, (list, tuple)):
    return tuple(value)
  raise ValueError(
    f"config field {name}={value!r} must be {'a' if kind is not int else 'an'} {_type_name(kind)}"
  )


def _field_types(cls: type) -> dict:
  hints = typing.get_type_hints(cls)
  return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def replace(config: Config, changes: dict) -> Config:
  """``config`` with ``changes`` applied, each checked against its field's type.

  The fields' relations (e.g. ``total_steps`` a multiple of ``eval_every``) are
  checked by :func:`validate`, once every change is made.
  """
  types = _field_types(type(config))
  unknown = [k for k in changes if k not in types]
  if unknown:
    raise ValueError(f"unknown config field {unknown[0]!r}; fields: {', '.join(types)}")
  values = {k: _coerce(k, types[k], v) for k, v in changes.items()}
  return dataclasses.replace(config, **values)


def apply_overrides(config: Config, overrides: Optional[list]) -> Config:
  """``["total_steps=2000", "seeds=[0,1]"]``: values are YAML (``1e-3`` is a number)."""
  changes = {}
  for item in overrides or []:
    key, sep, value = item.partition("=")
    if not sep or not key:
      raise ValueError(f"override {item!r} must look like field=value")
    changes[key] = jaxsched.load_config(f"{key}: {value}\n")[key] if value.strip() else ""
  return replace(config, changes)


def load_file(config: Config, path: pathlib.Path) -> Config:
  """``config`` with the fields of a YAML or JSON file applied."""
  path = pathlib.Path(path)
  if not path.is_file():
    raise ValueError(f"config file {str(path)!r} does not exist")
  text = path.read_text()
  mapping = json.loads(text) if path.suffix == ".json" else jaxsched.load_config(text)
  if not isinstance(mapping, dict):
    raise ValueError(f"config file {str(path)!r} must hold a mapping of config fields")
  mapping = {k: v for k, v in mapping.items() if k != MACHINE_KEY}  # a study's config.json
  return replace(config, jaxsched.load_config(mapping))


def _check_positive(config: Config, name: str, allow_zero: bool = False) -> None:
  value = getattr(config, name)
  if value < 0 or (value == 0 and not allow_zero):
    raise ValueError(f"config field {name}={value} must be {'>= 0' if allow_zero else '> 0'}")


def validate(config: Config) -> None:
  """Checks the engine's fields; the schedules and optimizers are checked when grouped."""
  for name in ("total_steps", "eval_every", "model_axis"):
    _check_positive(config, name)
  for name in ("checkpoint_every", "batch_size", "sharpness_iters"):
    _check_positive(config, name, allow_zero=True)
  if config.total_steps % config.eval_every:
    raise ValueError(
      f"config field total_steps={config.total_steps} must be a multiple of "
      f"eval_every={config.eval_every}"
    )
  if config.checkpoint_every % config.eval_every:
    raise ValueError(
      f"config field checkpoint_every={config.checkpoint_every} must be a "
      f"multiple of eval_every={config.eval_every}"
    )
  if config.execution not in EXECUTIONS:
    raise ValueError(
      f"config field execution={config.execution!r} must be one of {', '.join(EXECUTIONS)}"
    )
  if not config.seeds or not all(
    isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in config.seeds
  ):
    raise ValueError(
      f"config field seeds={list(config.seeds)} must be a non-empty list of integers >= 0"
    )
  if not config.runs:
    raise ValueError("config field runs must hold at least one run")
  names = set()
  for i, run in enumerate(config.runs):
    where = f"runs[{i}]"
    if not isinstance(run, dict):
      raise ValueError(f"config field {where}={run!r} must be a mapping with 'name' and 'schedule'")
    allowed = RUN_KEYS + tuple(config.study_run_keys)
    unknown = [k for k in run if k not in allowed]
    if unknown:
      raise ValueError(
        f"config field {where}.{unknown[0]} is unknown; a run takes {', '.join(allowed)}"
      )
    for key in ("name", "schedule"):
      if key not in run:
        raise ValueError(f"config field {where} needs {key!r}")
    if run["name"] in names:
      raise ValueError(f"config field {where}.name={run['name']!r} is used twice")
    names.add(run["name"])
