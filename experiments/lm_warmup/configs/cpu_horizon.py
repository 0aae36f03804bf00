"""cpu-horizon: the verdicts at 10x the steps, where warmup is a small fraction of training.

Width 64, 2 layers, 3000 steps (10x ``cpu``), warmups 0, 30, 150 and 750 (0, 1%,
5% and 25% of the run), the LR grid 3e-4 .. 100 (the ``cpu`` preset's 10 LRs and
30, 100), 2 seeds; evaluated every 250 steps. Otherwise as ``cpu``.

Why 30 and 100: with the ``cpu`` grid (up to 10) no run failed by the unigram rule
at this length (LR 10 ended at 2.97-3.09 nats against 3.253), so the grid did not
reach failure.

Sized from the ``cpu`` preset's width-64 runs (6.3 s per 300 steps on one core
with the other busy): about 84 min for 80 runs. Measured: the 80 runs of the
10-LR grid took 79 min on one core with the other busy (median run 59 s); the 16
runs at LR 30 and 100 add about 16 CPU-minutes. Longer than the hour the other
presets take: 10x the steps, 4 warmups, 12 LRs and 2 seeds at width 64 do not
fit in one here. Results in ``experiments/lm_warmup/results/cpu_horizon/``.
"""

from experiments.common import config as config_lib
from experiments.lm_warmup.config import Config
from experiments.lm_warmup.configs import cpu
from experiments.lm_warmup.configs import grid
from experiments.lm_warmup.configs import LRS

STEPS = 3000
EXTRA_LRS = (30.0, 100.0)  # the grid's top at 3000 steps: see the docstring


def get_config() -> Config:
  return config_lib.replace(
    cpu.base(grid(LRS + EXTRA_LRS, (0, 30, 150, 750), STEPS, width=64)),
    {"total_steps": STEPS, "eval_every": 250, "checkpoint_every": 1000, "seeds": (0, 1)},
  )
