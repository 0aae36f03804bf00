"""Presets of the grokking study, one per module: ``get_config()`` returns a Config."""

from experiments.common import presets

PRESETS = ("demo", "paper", "nanda", "seed_warmup", "seed_recipe", "tiny")


get = presets.loader(__name__, PRESETS)
