"""plateau: reduce-on-plateau fed the validation loss, patience 5 / 10 / 25, over 30k steps.

PyTorch's ``ReduceLROnPlateau`` rule as the seeds step it
(``scheduler.step(val_loss)`` after each evaluation): the rate halves after
``patience`` evaluations without a new best validation loss (relative threshold
1e-4), then waits ``cooldown`` = 2 evaluations; floor 1% of the peak. In the
earlier 10k-step preset (patience 5) the validation loss stayed above its
step-200 value while the network memorized, so the rate halved at steps 1600,
3200 and 4800 (seed 0) to 12.5% of the peak, then held there as the validation
loss improved again; the runs were still slowly generalizing (validation
accuracy 0.14-0.16) at 10k. Here three patiences over 30k steps,
beside the constant rate, on the MLP, data and optimizer of ``seed-warmup``;
evaluated every 200 steps as before (patience counts evaluations: 1000, 2000
and 5000 steps); 3 seeds.

Measured: as ``seed-warmup`` (0.50-0.77 ms per step, 7.8 ms at load 13); 12
runs x 30k steps, ~3-4.5 min, ~47 min at load 13.
"""

from experiments.grokking.config import adamw
from experiments.grokking.config import Config
from experiments.grokking.config import seed_mlp

PATIENCES = (5, 10, 25)


def _plateau(patience: int) -> dict:
  return {
    "name": f"plateau p{patience}",
    "schedule": {"type": "warmup_constant", "warmup_steps": 10},
    "optimizer": [
      adamw(),
      {
        "type": "reduce_on_plateau",
        "metric": "val_loss",
        "factor": 0.5,
        "patience": patience,
        "cooldown": 2,
        "min_scale": 0.01,
      },
    ],
  }


def get_config() -> Config:
  return seed_mlp(
    total_steps=30_000,
    eval_every=200,
    seeds=tuple(range(3)),
    runs=(
      {"name": "constant", "schedule": {"type": "warmup_constant", "warmup_steps": 10}},
      *(_plateau(p) for p in PATIENCES),
    ),
    comparisons=tuple((f"plateau p{p}", "constant") for p in PATIENCES),
    checkpoint_every=3000,
  )
