"""gpu: the maximal stable LR against warmup at widths 128-512 (4 layers), stdlib bytes.

Byte-level standard-library sources, context 256, batch 32 (8,192 tokens per
step), 500 steps, the LR grid 3e-4 .. 10 (10 LRs), warmups 0 and 25 steps (5% of
the run), 2 seeds: 40 runs per width, each width one vmapped program
(``execution: vmap``). Not run yet (no accelerator was lent to this study), so
nothing below is a GPU measurement.

Expected cost, in training FLOPs (6 per parameter per token for the matrix
products plus 12 * context * width per layer for attention, forward and
backward; 4.1M tokens per run):

| width | parameters (without the embedding table) | FLOPs per token | per run | 40 runs |
|---:|---:|---:|---:|---:|
| 128 | 0.82M | 6.5M | 2.7e13 | 1.1e15 |
| 256 | 3.2M | 22.4M | 9.2e13 | 3.7e15 |
| 512 | 12.7M | 82.6M | 3.4e14 | 1.35e16 |

1.8e16 FLOPs in all. Expected time, an estimate: 7.6 minutes if the H200
sustains 40 TFLOP/s (an assumed 8% of its dense TF32 peak, for small float32
matrices), plus the compilation of 3 programs and the evaluations; it is meant
to fit in 10 minutes. The only measured rate is the CPU's: the ``cpu`` preset's
width-128 run (2.6M FLOPs per token, 2,048 tokens per step) took 31.5 s of CPU
time for 300 steps, about 50 GFLOP/s on the shared 2-core machine, at which this
preset would take about 100 hours. On several GPUs or a TPU slice the mesh shards
it unchanged (``--set model_axis=N`` splits the attention heads and MLP units).
"""

from experiments.common import config as config_lib
from experiments.lm_warmup.config import Config
from experiments.lm_warmup.configs import grid
from experiments.lm_warmup.configs import LRS

STEPS = 500


def get_config() -> Config:
  runs = []
  for width in (128, 256, 512):
    runs += grid(LRS, (0, 25), STEPS, width=width)
  return config_lib.replace(
    Config(),
    {
      "corpus": "stdlib",
      "context": 256,
      "depth": 4,
      "heads": 8,
      "batch_size": 32,
      "total_steps": STEPS,
      "eval_every": 50,
      "checkpoint_every": 250,
      "eval_windows": 128,
      "execution": "vmap",
      "seeds": (0, 1),
      "runs": tuple(runs),
    },
  )
