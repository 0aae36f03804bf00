"""cpu-horizon: the verdicts at 10x the steps, where warmup is a small fraction of training.

Width 64, 2 layers, 3000 steps (10x ``cpu``), warmups 0, 30, 150 and 750 (0, 1%,
5% and 25% of the run), the LR grid 3e-4 .. 10 (10 LRs), 2 seeds; evaluated every
250 steps. Otherwise as ``cpu``.

Sized from a measured timing (width 64: 39 ms of CPU time per step on the shared
2-core machine at load 10-15, so about 117 s per 3000-step run): 80 runs, about
2.6 CPU-hours. The ``cpu`` preset's width-64 runs then took 6.3 s per 300 steps
on one core with the other busy (21 ms per step), which puts this preset at
about 84 min on one core: longer than the hour the other presets take, since
10x the steps, 4 warmups, 10 LRs and 2 seeds at width 64 do not fit in one
here. Not run yet.
"""

from experiments.common import config as config_lib
from experiments.lm_warmup.config import Config
from experiments.lm_warmup.configs import cpu
from experiments.lm_warmup.configs import grid
from experiments.lm_warmup.configs import LRS

STEPS = 3000


def get_config() -> Config:
  return config_lib.replace(
    cpu.base(grid(LRS, (0, 30, 150, 750), STEPS, width=64)),
    {"total_steps": STEPS, "eval_every": 250, "checkpoint_every": 1000, "seeds": (0, 1)},
  )
