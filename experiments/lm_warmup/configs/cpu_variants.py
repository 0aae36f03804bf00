"""cpu-variants: qk-layernorm and the warmup shapes at width 64, on the ``cpu`` preset's grid.

The same data, optimizer, 300 steps, LR grid 3e-4 .. 10 and 3 seeds as ``cpu``.
Rows (width 64, 2 layers):

* qk-layernorm at warmups 0 and 150 (against ``cpu``'s rows without it);
* 150-step warmups of other shapes than ``cpu``'s linear one: cosine from 0,
  seed 001's exponential from peak/2 (``peak * 2^(s/W - 1)``) and the
  geometric ramp from 1e-6 that the study tested before.

Sized from a measured one-run timing (300 steps at width 64: 11.7 s of CPU time
on the shared 2-core machine): 150 runs (60 + 3 x 30), about 30 CPU-minutes (an
estimate from that timing). Measured: 17.5 min of wall time on one core with the
other busy (``--execution sequential``), results in ``results/cpu_variants/``.
"""

from experiments.lm_warmup.config import Config
from experiments.lm_warmup.configs import cpu
from experiments.lm_warmup.configs import grid
from experiments.lm_warmup.configs import LRS


def get_config() -> Config:
  steps = cpu.STEPS
  return cpu.base(
    grid(LRS, (0, 150), steps, width=64, qk_layernorm=True)
    + grid(LRS, (150,), steps, kind="cosine", width=64)
    + grid(LRS, (150,), steps, kind="exponential-from-half", width=64)
    + grid(LRS, (150,), steps, kind="exponential-from-1e-6", width=64)
  )
