"""cpu: the maximal stable LR and LR sensitivity against warmup at widths 32-128, depth 2 and 4.

Character-level pydoc text, context 64, batch 32, 300 steps, evaluated every 50;
the half-decade LR grid 3e-4 .. 10 (Wortsman et al.'s 7 points and 1, 3, 10,
where every configuration fails); AdamW betas 0.9/0.95, clip 1, independent
weight decay 1e-4; linear warmup then cosine to 1e-5; 3 seeds. Rows:

* widths 32 and 64 (2 layers) at warmups 0, 40 (= 2 / (1 - beta2), Ma &
  Yarats's untuned warmup) and 150 steps (half the run);
* width 128 at warmups 0 and 150;
* width 64 with 4 layers at warmups 0 and 150.

Width 256 is the ``cpu-wide`` preset; qk-layernorm and warmup shapes are
``cpu-variants``.

Sized from measured one-run timings on the shared 2-core machine (300 steps, CPU
time of the process, 2 threads, load 10-15): width 32 6.6 s, 64 11.7 s, 128
31.5 s, 64 x 4 layers 23 s; 300 runs (90 + 90 + 60 + 60), about 82 CPU-minutes
estimated. Measured: 45 min of wall time on one core with the other busy
(``--execution sequential``; median run 3.6, 6.3, 16.6 and 12.2 s), results in
``results/cpu/``.
"""

from experiments.lm_warmup.config import Config
from experiments.lm_warmup.configs import grid
from experiments.lm_warmup.configs import LRS

STEPS = 300
SEEDS = (0, 1, 2)


def base(runs: list) -> Config:
  """The cpu presets' shared settings around ``runs``."""
  return Config(
    corpus="pydoc",
    context=64,
    depth=2,
    heads=4,
    batch_size=32,
    total_steps=STEPS,
    eval_every=50,
    checkpoint_every=150,
    eval_windows=64,
    seeds=SEEDS,
    runs=tuple(runs),
  )


def get_config() -> Config:
  return base(
    grid(LRS, (0, 40, 150), STEPS, width=32)
    + grid(LRS, (0, 40, 150), STEPS, width=64)
    + grid(LRS, (0, 150), STEPS, width=128)
    + grid(LRS, (0, 150), STEPS, width=64, depth=4)
  )
