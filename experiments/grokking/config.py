"""The study's configuration: one dataclass, presets in ``configs/``.

A run is ``{"name", "schedule", "adaptive", "grokfast"}``: ``schedule`` is a
jaxsched config (``{"type": "warmup_cosine", ...}``; its peak defaults to
``learning_rate``), ``adaptive`` an optional loss-driven transformation
config, ``grokfast`` optional ``{"alpha", "lamb"}``. Every run is trained once
per seed. Runs whose schedules differ only in numbers are compiled once and
trained together under ``jax.vmap``.
"""

import dataclasses
import json
from typing import Any, Optional


@dataclasses.dataclass
class Config:
  """Everything one invocation of the study needs."""
  operation: str = "add"  # add, sub, mul, div (mod p)
  modulus: int = 97
  train_fraction: float = 0.3
  model: str = "mlp"  # mlp, power, nanda
  width: int = 256
  batch_size: int = 0  # 0: full batch
  total_steps: int = 6000
  eval_every: int = 100
  learning_rate: float = 1e-3
  weight_decay: float = 1.0
  b1: float = 0.9
  b2: float = 0.98
  seeds: tuple = (0,)
  runs: tuple = ({"name": "constant", "schedule": {"type": "constant"}},)
  checkpoint_every: int = 1000  # 0: never
  target_accuracy: float = 0.99

  def to_json(self) -> str:
    return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)


def _parse_value(text: str) -> Any:
  try:
    return json.loads(text)
  except json.JSONDecodeError:
    return text


def apply_overrides(config: Config, overrides: Optional[list]) -> Config:
  """``["total_steps=2000", "seeds=[0,1]"]`` -> a new Config; values are JSON or strings."""
  fields = {f.name: f for f in dataclasses.fields(Config)}
  changes = {}
  for item in overrides or []:
    key, sep, value = item.partition("=")
    if not sep:
      raise ValueError(f"override {item!r} must look like field=value")
    if key not in fields:
      raise ValueError(f"unknown config field {key!r}; fields: {', '.join(fields)}")
    value = _parse_value(value)
    if isinstance(value, list):
      value = tuple(value)
    changes[key] = value
  return dataclasses.replace(config, **changes)


def from_mapping(mapping: dict, base: Optional[Config] = None) -> Config:
  """A Config from a dict (e.g. a YAML file); unknown keys are an error."""
  base = base or Config()
  fields = {f.name for f in dataclasses.fields(Config)}
  unknown = set(mapping) - fields
  if unknown:
    raise ValueError(f"unknown config fields {sorted(unknown)}; fields: {sorted(fields)}")
  values = {k: tuple(v) if isinstance(v, list) else v for k, v in mapping.items()}
  return dataclasses.replace(base, **values)
