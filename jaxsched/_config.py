"""Schedules and transformations from a configuration: a dict, YAML text or a YAML / JSON file.

:func:`load_config` reads one, :func:`resolve_config` checks a ``{"type": ...}``
config against its factory, :func:`from_config` builds it.
"""

import collections.abc
import inspect
import json
import os
import pathlib
import re
import typing
from typing import Any, Callable, Dict, List, Mapping, NamedTuple, Optional, Union

import optax

from jaxsched import _catalog
from jaxsched.transforms import _layerwise

# Seed 004's scheduler names.
ALIASES = {"cosine_warmup": "warmup_cosine", "onecycle": "one_cycle"}


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
  """Every type ``from_config`` builds, by name: the registry's factories."""
  return {name: entry.factory for name, entry in _catalog.REGISTRY.items()}


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


def _load(cfg: Config, caller: str) -> Any:
  """:func:`load_config`, with errors named after ``caller`` (the function the user called)."""
  if isinstance(cfg, os.PathLike) or (
    isinstance(cfg, str)
    and "\n" not in cfg
    and cfg.strip().lower().endswith((".yaml", ".yml", ".json"))
  ):
    path = pathlib.Path(cfg)
    if not path.is_file():
      raise ValueError(f"{caller}: config file {str(path)!r} does not exist")
    text = path.read_text()
    if path.suffix.lower() == ".json":
      try:
        loaded = json.loads(text)
      except json.JSONDecodeError as e:
        raise ValueError(f"{caller}: cannot parse the JSON config {str(path)!r}: {e}") from None
      return _numbers(loaded)
  elif isinstance(cfg, str):
    text = cfg
  else:
    return _numbers(cfg)
  try:
    import yaml  # pylint: disable=import-outside-toplevel
  except ImportError:
    raise ImportError(
      f"{caller}: reading YAML needs PyYAML (pip install pyyaml, or pip install 'jaxsched[cli]')"
    ) from None
  try:
    loaded = yaml.safe_load(text)
  except yaml.YAMLError as e:
    message = " ".join(str(e).split())  # PyYAML's messages span several lines
    raise ValueError(f"{caller}: cannot parse the YAML config: {message}") from None
  return _numbers(loaded)


def load_config(cfg: Config) -> Any:
  """Reads a configuration, with numbers written as strings turned into numbers.

  ``cfg`` is a mapping (returned as a converted copy), YAML text, or the path
  (``str`` ending in ``.yaml``, ``.yml`` or ``.json``, or any
  ``os.PathLike``) of a YAML file or, for a ``.json`` suffix, a JSON file.
  :func:`from_config`, :func:`resolve_config` and the ``jaxsched`` command
  line read their configurations with it.

  PyYAML reads YAML 1.1, where ``1e-3`` (no dot) is the string ``"1e-3"``.
  Every value that is entirely a number (``"3e-4"``, ``"100"``) is converted
  (digit strings to ``int``, others to ``float``), in nested lists and
  mappings too; other strings, and mapping keys, stay as they are.

  Args:
    cfg: a mapping, YAML text, or a YAML / JSON file path.

  Returns:
    The parsed data (usually a ``dict``) with numeric strings as numbers.

  Raises:
    ValueError: for a missing file or text that does not parse, in one line.
    ImportError: for YAML without PyYAML installed (``pip install 'jaxsched[cli]'``).

  Examples:
    >>> from jaxsched import load_config
    >>> load_config("peak_value: 1e-3\\nboundaries: [100, 2e3]\\nkind: cosine")
    {'peak_value': 0.001, 'boundaries': [100, 2000.0], 'kind': 'cosine'}
    >>> load_config({"total_steps": "100", "end_value": "3e-3"})
    {'total_steps': 100, 'end_value': 0.003}
  """
  return _load(cfg, "load_config")


def _mapping(node: Any, where: str) -> Mapping[str, Any]:
  if not isinstance(node, Mapping):
    raise ValueError(
      f"{where} must be a mapping such as "
      f"{{'type': 'warmup_cosine', ...}}, got {type(node).__name__} {node!r}"
    )
  return node


def _cosine_warmup(kwargs: Dict[str, Any], where: str) -> Dict[str, Any]:
  """Seed 004's cosine_warmup keys as warmup_cosine keywords."""
  kwargs = dict(kwargs)
  peaks = [k for k in ("learning_rate", "peak_value", "max_lr") if k in kwargs]
  if len(peaks) > 1:
    raise ValueError(f"{where}: give the peak rate once, not as {' and '.join(peaks)}")
  if peaks:
    kwargs["peak_value"] = kwargs.pop(peaks[0])
  if "min_lr" in kwargs:
    if "end_value" in kwargs:
      raise ValueError(f"{where}: give the final rate once, not as min_lr and end_value")
    kwargs["end_value"] = kwargs.pop("min_lr")
  return kwargs


_VARIADIC = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


class ResolvedConfig(NamedTuple):
  """A config resolved to a factory and its arguments (see :func:`resolve_config`)."""

  type: str  # the canonical factory name (alias resolved), e.g. "warmup_cosine"
  factory: Callable[..., Any]
  args: tuple  # positional arguments (only for *args factories such as chained)
  kwargs: Dict[str, Any]  # keyword arguments, numbers as Python numbers
  rate_keyword: Optional[str]  # the base-rate keyword learning_rate fills, or None

  def build(self, **replacements: Any) -> Any:
    """``factory(*args, **{**kwargs, **replacements})``: replacements may be traced values."""
    params = inspect.signature(self.factory).parameters
    keywords = [p.name for p in params.values() if p.kind not in _VARIADIC]
    unknown = [k for k in replacements if k not in keywords]
    if unknown:
      raise ValueError(
        f"ResolvedConfig.build: {self.type} takes no keyword {unknown[0]!r}; "
        f"it takes {', '.join(keywords)}"
      )
    kwargs = {**self.kwargs, **replacements}
    if any(p.kind == p.VAR_POSITIONAL for p in params.values()):
      # Parameters before *args must be passed positionally too.
      leading = [
        kwargs.pop(p.name) if p.name in kwargs else p.default
        for p in params.values()
        if p.kind == p.POSITIONAL_OR_KEYWORD
      ]
      return self.factory(*leading, *self.args, **kwargs)
    return self.factory(*self.args, **kwargs)


def _resolve(node: Any, where: str, learning_rate: Any = None) -> ResolvedConfig:
  """Resolves one loaded ``{"type": NAME, **kwargs}`` config (nested ones built).

  ``where`` names the caller and the node for messages, e.g.
  ``"from_config: config.schedules[0]"``.
  """
  node = _mapping(node, where)
  if "type" not in node:
    raise ValueError(f"{where} has no 'type' key; valid types: {', '.join(_valid_types())}")
  name = node["type"]
  factories = _factories()
  if not isinstance(name, str) or (name not in factories and name not in ALIASES):
    raise ValueError(f"{where}: unknown type {name!r}; valid types: {', '.join(_valid_types())}")
  kwargs = {k: v for k, v in node.items() if k != "type"}
  if name == "cosine_warmup":
    kwargs = _cosine_warmup(kwargs, where)
  target = ALIASES.get(name, name)
  factory = factories[target]
  params = inspect.signature(factory).parameters
  rate_keyword = _catalog.REGISTRY[target].rate
  if learning_rate is not None and rate_keyword is not None and rate_keyword not in kwargs:
    kwargs[rate_keyword] = learning_rate

  keywords = [p.name for p in params.values() if p.kind not in _VARIADIC]
  var_positional = next((p.name for p in params.values() if p.kind == p.VAR_POSITIONAL), None)
  unknown = [k for k in kwargs if k not in keywords and k != var_positional]
  note = ""
  if name == "cosine_warmup":
    note = " (cosine_warmup also takes learning_rate, max_lr, min_lr)"
  if unknown:
    allowed = keywords + ([var_positional] if var_positional else [])
    raise ValueError(
      f"{where}: unknown keyword {unknown[0]!r} for type {name!r}; "
      f"{target} takes {', '.join(allowed)}{note}"
    )
  missing = [
    p.name
    for p in params.values()
    if p.default is p.empty and p.kind not in _VARIADIC and p.name not in kwargs
  ]
  if missing:
    raise ValueError(
      f"{where}: type {name!r} needs keyword"
      f"{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))}{note}"
    )
  if var_positional is not None and var_positional not in kwargs:
    raise ValueError(f"{where}: type {name!r} needs keyword {var_positional!r} (a list)")

  def parts(key: str) -> List[Any]:
    items = kwargs[key]
    if not isinstance(items, (list, tuple)):
      raise ValueError(f"{where}.{key} must be a list of configs or schedules, got {items!r}")
    return [
      item if callable(item) else _resolve(item, f"{where}.{key}[{i}]").build()
      for i, item in enumerate(items)
    ]

  for key in _catalog.REGISTRY[target].nested:
    if key not in kwargs or key == var_positional:
      continue
    if typing.get_origin(params[key].annotation) in (list, tuple, collections.abc.Sequence):
      kwargs[key] = parts(key)
    elif not callable(kwargs[key]) and not isinstance(kwargs[key], (int, float)):
      # A number stays a number: the parameters that take a schedule or a constant
      # (schedule_free_adamw's learning_rate, ema_params' decay); the factory checks it.
      kwargs[key] = _resolve(kwargs[key], f"{where}.{key}").build()
  args = ()
  if var_positional is not None:
    args = tuple(parts(var_positional))
    del kwargs[var_positional]
  return ResolvedConfig(target, factory, args, kwargs, rate_keyword)


def resolve_config(cfg: Config, *, learning_rate: Any = None) -> ResolvedConfig:
  """Resolves a ``{"type": NAME, **kwargs}`` config to its factory and arguments.

  Does everything :func:`from_config` does for such a config except the final
  call: reads ``cfg`` with :func:`load_config` (numbers written as strings
  become numbers), maps the aliases (``cosine_warmup``, ``onecycle``) and
  seed 004's ``cosine_warmup`` keys, checks the keywords against the
  factory's signature and builds nested configs (``sequential``'s
  ``schedules``, ``chained``'s ``factor_schedules``). ``build()`` then calls
  the factory; ``build(**replacements)`` calls it with some keywords replaced,
  e.g. by traced values under ``jax.vmap``, so a sweep over a hyperparameter
  goes through the same checked path as a single run.

  ``learning_rate`` fills the factory's base rate, the keyword its registry
  entry names (``Entry.rate``: ``peak_value``, ``init_value``, ``max_lr``,
  ``value`` or ``base_lr``; ``rate_keyword``), when the config leaves it out.

  Args:
    cfg: a ``{"type": ...}`` config: mapping, YAML text or YAML / JSON file
      path. Seed 004's training block (``learning_rate``, ``scheduler``,
      ``layer_scheduling``) is :func:`from_config`'s alone.
    learning_rate: the base rate for a config that leaves it out, or None.

  Returns:
    A :class:`ResolvedConfig` ``(type, factory, args, kwargs, rate_keyword)``
    with ``type`` the factory's name (aliases resolved).

  Raises:
    ValueError: for a training block and for every config error
      :func:`from_config` reports (unknown type or keyword, missing keyword,
      missing file). ``build`` raises it for a replaced keyword the factory
      does not take; a factory's own validation errors propagate unchanged.

  Examples:
    >>> import jax, jax.numpy as jnp
    >>> from jaxsched import resolve_config
    >>> resolved = resolve_config("type: cosine_warmup\\nwarmup_steps: 10\\n"
    ...                           "total_steps: 110", learning_rate=3e-4)
    >>> resolved.type, resolved.kwargs
    ('warmup_cosine', {'warmup_steps': 10, 'total_steps': 110, 'peak_value': 0.0003})
    >>> at_10 = lambda w: resolved.build(warmup_steps=w)(10)
    >>> [round(float(v), 8) for v in jax.vmap(at_10)(jnp.asarray([10, 20]))]
    [0.0003, 0.00015]
  """
  node = _load(cfg, "resolve_config")
  if (
    isinstance(node, Mapping)
    and "type" not in node
    and (set(node) == {"training"} or any(k in node for k in _BLOCK_KEYS))
  ):
    raise ValueError(
      "resolve_config: config is a training block (learning_rate, scheduler, "
      "layer_scheduling), which from_config builds; resolve its scheduler "
      "{'type': ...} config with learning_rate=... instead"
    )
  return _resolve(node, "resolve_config: config", learning_rate)


def _training_block(block: Mapping[str, Any], where: str) -> TrainingSetup:
  unknown = [k for k in block if k not in _BLOCK_KEYS]
  if unknown:
    raise ValueError(
      f"{where}: unknown key {unknown[0]!r} in a training block; "
      f"it takes {', '.join(_BLOCK_KEYS)} (or use a {{'type': ...}} config)"
    )
  learning_rate = block.get("learning_rate")
  if "scheduler" in block:
    scheduler = _mapping(block["scheduler"], f"{where}.scheduler")
    kind = scheduler.get("type")
    entry = _catalog.REGISTRY.get(kind) if kind is not None else None
    if entry is not None and entry.kind != _catalog.SCHEDULE:
      raise ValueError(
        f"{where}.scheduler: type {scheduler['type']!r} is a gradient "
        "transformation, not a learning-rate schedule; build it from its own "
        "{'type': ...} config and optax.chain it after the optimizer"
      )
    schedule = _resolve(scheduler, f"{where}.scheduler", learning_rate).build()
  elif learning_rate is not None:
    schedule = _factories()["constant"](learning_rate)
  else:
    raise ValueError(f"{where}: a training block needs 'learning_rate' or 'scheduler'")
  tx = None
  if "layer_scheduling" in block:
    groups = _mapping(block["layer_scheduling"], f"{where}.layer_scheduling")
    default = groups.get("other", 1.0)
    multipliers = [(_GROUPS.get(k, k), v) for k, v in groups.items() if k != "other"]
    tx = _layerwise.layerwise(multipliers, default)
  return TrainingSetup(schedule, tx)


def from_config(cfg: Config) -> Any:
  """Builds a schedule, a transformation or a training setup from a configuration.

  ``cfg`` is a mapping, YAML text, or the path (``str`` ending in ``.yaml`` /
  ``.yml`` / ``.json``, or any ``os.PathLike``) of a YAML or JSON file, read
  with :func:`load_config`. Two forms:

  * ``{"type": NAME, **kwargs}`` returns ``jaxsched.NAME(**kwargs)``, that is
    ``resolve_config(cfg).build()`` (see :func:`resolve_config`). NAME is
    any name of ``jaxsched.registry()`` (schedules, the metric-driven
    transformations, ``layerwise``, ``layerwise_decay``), or seed 004's
    ``onecycle`` (``one_cycle``) and ``cosine_warmup`` (``warmup_cosine``
    with ``min_lr`` as ``end_value`` and the peak from ``learning_rate``,
    ``peak_value`` or ``max_lr``). The parameters that take schedules (the
    registry entry's ``nested``: ``sequential``'s ``schedules``,
    ``chained``'s ``factor_schedules``, ``adaptive_momentum``'s
    ``lr_schedule``) take nested configs (or built schedules).
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

  Numbers written as strings become numbers (see :func:`load_config`):
  PyYAML reads YAML 1.1, where ``1e-5`` (no dot) is the string ``"1e-5"``.
  Every value that is entirely a number (``"3e-4"``, ``"100"``) is converted,
  in nested lists and mappings too; other strings stay strings.

  Seed 004: ``SchedulerFactory.create_scheduler(optimizer, config)``, without
  its silent defaults: a missing required keyword is an error.

  Args:
    cfg: the configuration (mapping, YAML text or YAML / JSON file path).

  Returns:
    An ``optax.Schedule``, an ``optax.GradientTransformation`` or a
    :class:`TrainingSetup`.

  Raises:
    ValueError: for a config that is not a mapping, an unknown type (the
      message lists the valid ones), an unknown keyword (the message lists the
      factory's), a missing required keyword, or a missing file. A factory's
      own validation errors propagate unchanged.

  Examples:
    >>> from jaxsched import from_config
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
  node = _load(cfg, "from_config")
  where = "from_config: config"
  if (
    isinstance(node, Mapping)
    and set(node) == {"training"}
    and isinstance(node["training"], Mapping)
  ):
    node, where = node["training"], f"{where}.training"
  node = _mapping(node, where)
  if "type" not in node and any(k in node for k in _BLOCK_KEYS):
    return _training_block(node, where)
  return _resolve(node, where).build()
