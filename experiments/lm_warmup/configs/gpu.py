"""gpu: the study at widths 128-1024, depth up to 8, context 256, byte-level stdlib sources.

Wortsman's 7-point LR grid, warmups 0 / 1% / 5% / 25% of 2000 steps, qk-layernorm
on and off, 2 seeds, batch 64. Sized for a few minutes on one H200; it runs
unchanged on several GPUs or a TPU slice through the mesh (``--set model_axis=N``
shards the attention heads and MLP units).
"""

from experiments.lm_warmup.config import Config
from experiments.lm_warmup.configs import grid

STEPS = 2000
LRS = (3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1)
WARMUPS = (0, 20, 100, 500)


def get_config() -> Config:
  runs = []
  for width, depth in ((128, 2), (256, 4), (512, 6), (1024, 8)):
    for qk in (False, True):
      runs += grid(LRS, WARMUPS, STEPS, width=width, depth=depth, qk_layernorm=qk)
  return Config(
    corpus="stdlib",
    context=256,
    heads=8,
    batch_size=64,
    total_steps=STEPS,
    eval_every=250,
    checkpoint_every=1000,
    eval_windows=128,
    seeds=(0, 1),
    runs=tuple(runs),
  )
