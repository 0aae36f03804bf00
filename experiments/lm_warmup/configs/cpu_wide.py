"""cpu-wide: the ``cpu`` preset's measures at width 256 (2 layers), warmups 0 and 150.

The same data, optimizer, 300 steps, LR grid 3e-4 .. 10 and 3 seeds as ``cpu``
(whose tables it extends: ``--report`` of both folders gives one row each).
Sized from a measured one-run timing on the shared 2-core machine (300 steps, CPU
time of the process, load 10-15): 94.5 s; 60 runs, about 95 CPU-minutes. Measured
again on one core with the other busy (warmup 150, LR 1e-2, seed 0): 49.4 s per
run, as the ``cpu`` preset's runs took about half their first timings; so about
50 min. The preset then took 53 min on one core with the other busy (median run
51.9 s); results in ``experiments/lm_warmup/results/cpu_wide/``.
"""

from experiments.lm_warmup.config import Config
from experiments.lm_warmup.configs import cpu
from experiments.lm_warmup.configs import grid
from experiments.lm_warmup.configs import LRS


def get_config() -> Config:
  return cpu.base(grid(LRS, (0, 150), cpu.STEPS, width=256))
