"""Presets of the grokking study, one per module: ``get_config()`` returns a Config."""

import importlib

PRESETS = ("demo", "paper", "nanda", "seed_warmup", "seed_recipe", "tiny")


def get(name: str):
  """The preset called ``name`` (dashes allowed: ``seed-warmup``)."""
  module = name.replace("-", "_")
  if module not in PRESETS:
    raise ValueError(
      f"unknown preset {name!r}; presets: {', '.join(p.replace('_', '-') for p in PRESETS)}"
    )
  return importlib.import_module(f"experiments.grokking.configs.{module}").get_config()
