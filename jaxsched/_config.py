"""Schedules and transformations from a configuration: a dict, YAML text or a YAML file."""

import inspect
import os
import pathlib
import re
from typing import Any, Callable, Dict, List, Mapping, NamedTuple, Optional, Union

import optax

from jaxsched import _layerwise

# The transformations ``from_config`` builds when jaxsched exports them.
TRANSFORMATIONS = ("reduce_on_plateau", "adaptive_step_decay", "phase_transition",
                   "grokfast_ema")

# Seed 004's scheduler names.
ALIASES = {"cosine_warmup": "warmup_cosine", "onecycle": "one_cycle"}

# Keywords of a schedule's base rate, filled from a training block's
# ``learning_rate`` when its scheduler leaves them out (the first one the
# factory takes).
_RATE_KEYWORDS = ("peak_value", "init_value", "max_lr", "value")

# Seed 004's ``layer_scheduling`` groups as layerwise patterns; "other" is the default.
_GROUPS = {"embeddings": "embed", "attention": "attention|attn"}
_BLOCK_KEYS = ("learning_rate", "scheduler", "layer_scheduling")

# A number written as a string, as YAML 1.1 (PyYAML) leaves ``3e-4`` or ``1e5``.
_NUMBER = re.compile(r"[-+]?(?:\d[\d_]*\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_INTEGER = re.compile(r"[-+]?\d[\d_]*")

Config = Union[Mapping[str, Any], str, os.PathLike]


class TrainingSetup(NamedTuple):
  """What a seed-004 training block builds (see :func:`from_config`)."""
  schedule: optax.Schedule  # the learning-rate schedule
  layerwise: Optional[optax.GradientTransformation]  # None without layer_scheduling


def _factories() -> Dict[str, Callable[..., Any]]:
  """Every type ``from_config`` builds, by name, from what jaxsched exports now."""
  import jaxsched  # pylint: disable=import-outside-toplevel
  factories = {entry.name: entry.factory for entry in jaxsched.catalog()}
  for name in TRANSFORMATIONS:
    factory = getattr(jaxsched, name, None)
    if callable(factory):
      factories[name] = factory
  factories["layerwise"] = _layerwise.layerwise
  factories["layerwise_decay"] = _layerwise.layerwise_decay
  return factories


def _valid_types() -> tuple:
  """The names ``from_config`` accepts as ``type``, aliases included, sorted."""
  return tuple(sorted(set(_factories()) | set(ALIASES)))


def _numbers(value: Any) -> Any:
  """``value`` with numeric strings (``"3e-4"``, ``"100"``) turned into numbers, recursively."""
  if isinstance(value, str):
    if _INTEGER.fullmatch(value):
      return int(value)
    if _NUMBER.fullmatch(value):
      return float(value)
    return value
  if isinstance(value, Mapping):
    return {k: _numbers(v) for k, v in value.items()}
  if type(value) in (list, tuple):  # not NamedTuples
    return type(value)(_numbers(v) for v in value)
  return value


def _load(cfg: Config) -> Any:
  """A dict as is; a path or YAML text parsed with PyYAML."""
  if isinstance(cfg, Mapping):
    return cfg
  if isinstance(cfg, os.PathLike) or (
      isinstance(cfg, str) and "\n" not in cfg and cfg.strip().lower().endswith((".yaml", ".yml"))):
    path = pathlib.Path(cfg)
    if not path.is_file():
      raise ValueError(f"from_config: config file {str(path)!r} does not exist")
    text = path.read_text()
  elif isinstance(cfg, str):
    text = cfg
  else:
    return cfg
  try:
    import yaml  # pylint: disable=import-outside-toplevel
  except ImportError:
    raise ImportError("from_config: reading YAML needs PyYAML (pip install pyyaml)") from None
  try:
    return yaml.safe_load(text)
  except yaml.YAMLError as e:
    raise ValueError(f"from_config: cannot parse the YAML config: {e}") from None


def _mapping(node: Any, where: str) -> Mapping[str, Any]:
  if not isinstance(node, Mapping):
    raise ValueError(f"from_config: {where} must be a mapping such as "
                     f"{{'type': 'warmup_cosine', ...}}, got {type(node).__name__} {node!r}")
  return node


def _cosine_warmup(kwargs: Dict[str, Any], where: str) -> Dict[str, Any]:
  """Seed 004's cosine_warmup keys as warmup_cosine keywords."""
  kwargs = dict(kwargs)
  peaks = [k for k in ("learning_rate", "peak_value", "max_lr") if k in kwargs]
  if len(peaks) > 1:
    raise ValueError(f"from_config: {where}: give the peak rate once, not as {' and '.join(peaks)}")
  if peaks:
    kwargs["peak_value"] = kwargs.pop(peaks[0])
  if "min_lr" in kwargs:
    if "end_value" in kwargs:
      raise ValueError(f"from_config: {where}: give the final rate once, not as min_lr and "
                       "end_value")
    kwargs["end_value"] = kwargs.pop("min_lr")
  return kwargs


def _build(node: Any, where: str, learning_rate: Any = None) -> Any:
  """Builds one ``{"type": NAME, **kwargs}`` config (nested ones recursively)."""
  node = _mapping(node, where)
  if "type" not in node:
    raise ValueError(f"from_config: {where} has no 'type' key; valid types: "
                     f"{', '.join(_valid_types())}")
  name = node["type"]
  factories = _factories()
  if not isinstance(name, str) or (name not in factories and name not in ALIASES):
    raise ValueError(f"from_config: {where}: unknown type {name!r}; valid types: "
                     f"{', '.join(_valid_types())}")
  kwargs = {k: _numbers(v) for k, v in node.items() if k != "type"}
  if name == "cosine_warmup":
    kwargs = _cosine_warmup(kwargs, where)
  target = ALIASES.get(name, name)
  factory = factories[target]
  params = inspect.signature(factory).parameters
  if learning_rate is not None:
    rate_keyword = next((k for k in _RATE_KEYWORDS if k in params), None)
    if rate_keyword is not None and rate_keyword not in kwargs:
      kwargs[rate_keyword] = learning_rate

  positional: List[Any] = []
  keywords = [p.name for p in params.values()
              if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
  var_positional = next((p.name for p in params.values() if p.kind == p.VAR_POSITIONAL), None)
  unknown = [k for k in kwargs if k not in keywords and k != var_positional]
  note = ""
  if name == "cosine_warmup":
    note = " (cosine_warmup also takes learning_rate, max_lr, min_lr)"
  if unknown:
    allowed = keywords + ([var_positional] if var_positional else [])
    raise ValueError(f"from_config: {where}: unknown keyword {unknown[0]!r} for type {name!r}; "
                     f"{target} takes {', '.join(allowed)}{note}")
  missing = [p.name for p in params.values()
             if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
             and p.name not in kwargs]
  if missing:
    raise ValueError(f"from_config: {where}: type {name!r} needs keyword"
                     f"{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))}{note}")
  if var_positional is not None and var_positional not in kwargs:
    raise ValueError(f"from_config: {where}: type {name!r} needs keyword {var_positional!r} "
                     "(a list)")

  def parts(key: str) -> List[Any]:
    items = kwargs[key]
    if not isinstance(items, (list, tuple)):
      raise ValueError(f"from_config: {where}.{key} must be a list of configs or schedules, "
                       f"got {items!r}")
    return [item if callable(item) else _build(item, f"{where}.{key}[{i}]")
            for i, item in enumerate(items)]

  if target == "sequential":
    kwargs["schedules"] = parts("schedules")
  if var_positional is not None:
    positional = parts(var_positional)
    del kwargs[var_positional]
    # Parameters before *args must be passed positionally too.
    leading = [p.name for p in params.values() if p.kind == p.POSITIONAL_OR_KEYWORD]
    positional = [kwargs.pop(k) if k in kwargs else params[k].default
                  for k in leading] + positional
  return factory(*positional, **kwargs)


def _training_block(block: Mapping[str, Any], where: str) -> TrainingSetup:
  unknown = [k for k in block if k not in _BLOCK_KEYS]
  if unknown:
    raise ValueError(f"from_config: {where}: unknown key {unknown[0]!r} in a training block; "
                     f"it takes {', '.join(_BLOCK_KEYS)} (or use a {{'type': ...}} config)")
  learning_rate = _numbers(block.get("learning_rate"))
  if "scheduler" in block:
    scheduler = _mapping(block["scheduler"], f"{where}.scheduler")
    if scheduler.get("type") in TRANSFORMATIONS + ("layerwise", "layerwise_decay"):
      raise ValueError(
          f"from_config: {where}.scheduler: type {scheduler['type']!r} is a gradient "
          "transformation, not a learning-rate schedule; build it from its own "
          "{'type': ...} config and optax.chain it after the optimizer")
    schedule = _build(scheduler, f"{where}.scheduler", learning_rate)
  elif learning_rate is not None:
    schedule = _factories()["constant"](learning_rate)
  else:
    raise ValueError(f"from_config: {where}: a training block needs 'learning_rate' or "
                     "'scheduler'")
  tx = None
  if "layer_scheduling" in block:
    groups = _numbers(_mapping(block["layer_scheduling"], f"{where}.layer_scheduling"))
    default = groups.get("other", 1.0)
    multipliers = [(_GROUPS.get(k, k), v) for k, v in groups.items() if k != "other"]
    tx = _layerwise.layerwise(multipliers, default)
  return TrainingSetup(schedule, tx)


def from_config(cfg: Config) -> Any:
  """Builds a schedule, a transformation or a training setup from a configuration.

  ``cfg`` is a mapping, YAML text, or the path (``str`` ending in ``.yaml`` /
  ``.yml``, or any ``os.PathLike``) of a YAML file. Two forms:

  * ``{"type": NAME, **kwargs}`` returns ``jaxsched.NAME(**kwargs)``. NAME is
    any schedule of ``jaxsched.catalog()``, one of the transformations
    ``reduce_on_plateau``, ``adaptive_step_decay``, ``phase_transition``,
    ``grokfast_ema`` (when jaxsched exports them), ``layerwise``,
    ``layerwise_decay``, or seed 004's ``onecycle`` (``one_cycle``) and
    ``cosine_warmup`` (``warmup_cosine`` with ``min_lr`` as ``end_value`` and
    the peak from ``learning_rate``, ``peak_value`` or ``max_lr``).
    ``sequential``'s ``schedules`` and ``chained``'s ``factor_schedules`` are
    lists of nested configs (or built schedules).
  * seed 004's training block ``{"learning_rate": ..., "scheduler": {...},
    "layer_scheduling": {...}}``, optionally under a single ``training`` key,
    returns ``TrainingSetup(schedule, layerwise)``. ``learning_rate`` fills
    the scheduler's base rate (its first keyword among ``peak_value``,
    ``init_value``, ``max_lr``, ``value``) when the scheduler leaves it out;
    without a scheduler the schedule is ``constant(learning_rate)``.
    ``layer_scheduling`` maps groups to multipliers, in order, first match
    wins: ``embeddings`` is the pattern ``embed``, ``attention`` is
    ``attention|attn``, ``other`` is the default (1.0 if absent), any other
    key is itself a regular expression (see :func:`layerwise`); without it
    ``layerwise`` is None.

  For example (seed 004's file)::

    training:
      learning_rate: 1e-5
      scheduler:
        type: cosine_warmup
        warmup_steps: 1000
        total_steps: 100000
        min_lr: 1e-7
      layer_scheduling:
        embeddings: 0.1
        attention: 2.0
        other: 1.0

  Numbers written as strings become numbers: PyYAML reads YAML 1.1, where
  ``1e-5`` (no dot) is the string ``"1e-5"``. Every value that is entirely
  a number (``"3e-4"``, ``"100"``) is converted, in nested lists and mappings
  too; other strings stay strings.

  Seed 004: ``SchedulerFactory.create_scheduler(optimizer, config)``, without
  its silent defaults: a missing required keyword is an error.

  Args:
    cfg: the configuration (mapping, YAML text or YAML file path).

  Returns:
    An ``optax.Schedule``, an ``optax.GradientTransformation`` or a
    :class:`TrainingSetup`.

  Raises:
    ValueError: for a config that is not a mapping, an unknown type (the
      message lists the valid ones), an unknown keyword (the message lists the
      factory's), a missing required keyword, or a missing file. A factory's
      own validation errors propagate unchanged.

  Examples:
    >>> from jaxsched._config import from_config
    >>> sched = from_config("type: warmup_cosine\\npeak_value: 3e-4\\n"
    ...                     "warmup_steps: 10\\ntotal_steps: 110")
    >>> round(float(sched(10)), 8)
    0.0003
    >>> setup = from_config({"learning_rate": 1.0,
    ...                      "scheduler": {"type": "onecycle", "total_steps": 10},
    ...                      "layer_scheduling": {"embeddings": 0.1}})
    >>> round(float(setup.schedule(0)), 6)
    0.04
  """
  node = _load(cfg)
  where = "config"
  if (isinstance(node, Mapping) and set(node) == {"training"}
      and isinstance(node["training"], Mapping)):
    node, where = node["training"], "config.training"
  node = _mapping(node, where)
  if "type" not in node and any(k in node for k in _BLOCK_KEYS):
    return _training_block(node, where)
  return _build(node, where)
