"""A study's presets: one module per preset in its ``configs`` package, with ``get_config()``."""

import importlib
from typing import Callable


def loader(package: str, presets: tuple) -> Callable:
  """``get(name)``: the preset ``name`` (dashes or underscores) of ``package``'s ``presets``.

  Raises:
    ValueError: for an unknown name, listing the presets.
  """

  def get(name: str):
    module = name.replace("-", "_")
    if module not in presets:
      raise ValueError(
        f"unknown preset {name!r}; presets: {', '.join(p.replace('_', '-') for p in presets)}"
      )
    return importlib.import_module(f"{package}.{module}").get_config()

  return get
