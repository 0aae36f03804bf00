"""seed-warmup-cosine: seed 001's warmups followed by its cosine decay.

Seed 001's grokking configuration: linear warmup (0 / 250 / 500 / 1000 / 2000
steps), then cosine annealing to 1e-6 at step 10k (its ``total_steps``); lr
1e-3, batch 512. Data, model and optimizer (weight decay 1.0, coupled, as
``torch.optim.AdamW``) as ``seed-warmup``; 6 seeds;
evaluated every 100 steps (the question here is whether and how far they
generalize, not when: none of the cosine runs reached 99% in the earlier
3-seed preset). One compiled program. Measured: as ``seed-warmup`` (0.50-0.77
ms per step, 7.8 ms at load 13); 30 runs x 10k steps, ~2.5-4 min, ~40 min at
load 13.
"""

from experiments.grokking.config import Config
from experiments.grokking.config import seed_mlp

WARMUPS = (0, 250, 500, 1000, 2000)
TOTAL = 10_000


def _name(warmup: int) -> str:
  return f"warmup{warmup}+cosine"


def get_config() -> Config:
  return seed_mlp(
    total_steps=TOTAL,
    eval_every=100,
    seeds=tuple(range(6)),
    runs=tuple(
      {
        "name": _name(w),
        "schedule": {
          "type": "warmup_cosine",
          "warmup_steps": w,
          "total_steps": TOTAL,
          "end_value": 1e-6,
        },
      }
      for w in WARMUPS
    ),
    comparisons=tuple((_name(w), _name(0)) for w in WARMUPS[1:]),
    checkpoint_every=2000,
  )
