"""cpu-sharpness-wide: ``cpu-sharpness`` at width 256 (2 layers), its own preset to fit an hour.

The same sharpness measurement, warmups (0, 150), LRs (0.1, 1, 3) and 2 seeds as
``cpu-sharpness``: 12 runs. Sizing, an estimate from the measured ``cpu``
training time at width 256 (94.5 s per 300-step run) and the sharpness's
measured cost at width 64 (about twice the training): 12 x 3 x 94.5 s, about
57 CPU-minutes. Measured: 27 min of wall time on one core with the other busy
(``--execution sequential``), results in ``results/cpu_sharpness_wide/``.
"""

from experiments.lm_warmup.config import Config
from experiments.lm_warmup.configs import cpu_sharpness


def get_config() -> Config:
  return cpu_sharpness.get_config((256,))
