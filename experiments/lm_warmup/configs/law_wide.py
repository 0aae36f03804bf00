"""law-wide: the ``law`` preset at width 128, the laws checked on a second model size.

The same nine schedules, 3000 steps, 100-step warmup, peak 1e-2 and 2 seeds as
``law`` (width 64), at width 128 (2 layers). ``experiments.lm_warmup.law`` takes
both folders (``--results`` twice) and fits each width on its own.

Sized from the ``law`` preset's measured timings (width 128 costs about 1.8x
width 64's step): about 80 min on one core. Measured: 75 min for the 18 runs on
one core of the 2-core machine (the other busy), and 7 min for the optimized
schedule's 2 runs; results in ``results/law/runs_wide`` and ``optimized_wide``.
"""

from experiments.lm_warmup.config import Config
from experiments.lm_warmup.configs import law

WIDTH = 128


def get_config() -> Config:
  return law.get_config((WIDTH,))
