"""cpu-sharpness: Adam's preconditioned sharpness during warmup (Kalra & Barkeshli's mechanism).

lambda_max(P^-1 H), P = diag(sqrt(v_hat) + eps), by 20 Lanczos iterations on the
chunk's last training batch (``sharpness_iters``), every 25 steps (6 evaluations
inside a 150-step warmup), at widths 32, 64 and 128 (2 layers), without warmup
and with a 150-step warmup, at peak LRs 0.1, 1 and 3 (the best LRs'
neighbourhood, and the two LRs around the failure edge seen at width 64), 2
seeds: 36 runs; otherwise as ``cpu``. Width 256 is ``cpu-sharpness-wide``.
Sharpness is logged against Adam's threshold 38/eta_t (analysis.sharpness_runs).

Sizing: one run measured at width 64 (LR 0.1, warmup 150, seed 0, 300 steps,
one core with the other busy): 52.7 s of CPU time for the process with the
sharpness against 31.4 s without it (compilation included), so the 12
evaluations x 20 Hessian-vector products add about twice the training's own
time. With the ``cpu`` timings for the training (300 steps: 6.6, 11.7 and 31.5
s at widths 32-128): 12 runs x 3 x 50 s, about 30 CPU-minutes (an estimate).
Measured: 16.5 min of wall time on one core with the other busy
(``--execution sequential``), results in ``results/cpu_sharpness/``.
"""

from experiments.common import config as config_lib
from experiments.lm_warmup.config import Config
from experiments.lm_warmup.configs import cpu
from experiments.lm_warmup.configs import grid

LRS = (0.1, 1.0, 3.0)
WIDTHS = (32, 64, 128)


def get_config(widths: tuple = WIDTHS) -> Config:
  """The preset at ``widths`` (``cpu-sharpness-wide`` is the same at width 256)."""
  runs = []
  for width in widths:
    runs += grid(LRS, (0, 150), cpu.STEPS, width=width)
  return config_lib.replace(
    cpu.base(runs),
    {"eval_every": 25, "checkpoint_every": 150, "sharpness_iters": 20, "seeds": (0, 1)},
  )
