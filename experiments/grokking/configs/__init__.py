"""Presets of the grokking study, one per module: ``get_config()`` returns a Config."""

from experiments.common import presets

PRESETS = (
  "demo",
  "tiny",
  "seed_warmup",
  "seed_warmup_cosine",
  "seed_schedules",
  "controls",
  "plateau",
  "horizons",
  "seed_recipe",
  "paper",
  "nanda",
)


get = presets.loader(__name__, PRESETS)
