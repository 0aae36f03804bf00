"""smoke: seconds-long runs for the tests and the CLI check (width 32, 1 layer, 40 steps)."""

from experiments.lm_warmup.config import Config
from experiments.lm_warmup.configs import grid


def get_config() -> Config:
  return Config(
    corpus="pydoc",
    context=32,
    width=32,
    depth=1,
    heads=2,
    batch_size=8,
    total_steps=40,
    eval_every=20,
    checkpoint_every=0,
    eval_windows=16,
    seeds=(0,),
    runs=tuple(grid([1e-3, 1e-1], [0, 10], 40)),
  )
