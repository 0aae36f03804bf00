"""cpu-sharpness: Adam's preconditioned sharpness during warmup (Kalra & Barkeshli's mechanism).

lambda_max(P^-1 H), P = diag(sqrt(v_hat) + eps), by 20 power iterations on the
chunk's last training batch (``sharpness_iters``), every 25 steps (6 evaluations
inside a 150-step warmup), at widths 32, 64, 128 and 256 (2 layers), without
warmup and with a 150-step warmup, at peak LRs 0.1, 1 and 3 (the best LRs'
neighbourhood, and the two LRs around the failure edge seen at width 64), 2 seeds:
48 runs; otherwise as ``cpu``. Sharpness is logged against Adam's threshold
38/eta_t (analysis.sharpness_runs).

Sizing, an estimate (the sharpness evaluation was not timed on its own): the
training part is the measured ``cpu`` timings (300 steps: 6.6, 11.7, 31.5 and
94.5 s of CPU time at widths 32-256); one Hessian-vector product is taken as 2-3
gradient evaluations, so 12 evaluations x 21 products add about 2x the training
time: about 12 runs x 3 x 144 s = 1.45 CPU-hours, two thirds of it at width
256. Not run yet.
"""

from experiments.common import config as config_lib
from experiments.lm_warmup.config import Config
from experiments.lm_warmup.configs import cpu
from experiments.lm_warmup.configs import grid

LRS = (0.1, 1.0, 3.0)


def get_config() -> Config:
  runs = []
  for width in (32, 64, 128, 256):
    runs += grid(LRS, (0, 150), cpu.STEPS, width=width)
  return config_lib.replace(
    cpu.base(runs),
    {"eval_every": 25, "checkpoint_every": 150, "sharpness_iters": 20, "seeds": (0, 1)},
  )
