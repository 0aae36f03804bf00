"""seed-warmup: seed 001's warmup question on the demo MLP, warmup then a constant rate.

Seed 001 compares linear warmups of 0 / 500 / 1000 / 2000 steps on modular
arithmetic (lr 1e-3, batch 512, 10k steps) and expects "medium warmup often
optimal for grokking" and that warmup "can delay the initial memorization
phase but often leads to more robust generalization". Here: warmups 0, 250,
500, 1000 and 2000 steps, then the constant peak (so the warmup is the only
difference), on the quadratic MLP (width 256) with p = 97 addition, 30% of the
pairs, batches of 512 drawn with replacement, AdamW betas 0.9/0.98 with weight
decay 1.0 (Power et al.'s; with the seed's 1e-2 nothing generalizes, see
``seed-recipe``), 6 seeds, evaluated every 50 steps: the resolution of every
step count. Each seed has its own split, initialization and batches, shared by
the five warmups, so the comparisons with warmup 0 are paired by seed.

The five warmups are one compiled program (the warmup length is a traced
number). Measured before the run: 1.9 ms process CPU per step with the
evaluation every 50 steps (7.8 ms wall with the machine at load 13); 0.50-0.77
ms per step in the committed 10k-step runs of this MLP (median run wall 4.97 s
in seed-recipe, 7.71 s in seed-schedules; load not recorded). 30 runs x 10k
steps: ~2.5-4 min at those rates, ~40 min at load 13.
"""

from experiments.grokking.config import Config
from experiments.grokking.config import seed_mlp

WARMUPS = (0, 250, 500, 1000, 2000)


def _name(warmup: int) -> str:
  return f"warmup{warmup}+constant"


def get_config() -> Config:
  return seed_mlp(
    eval_every=50,
    seeds=tuple(range(6)),
    runs=tuple(
      {"name": _name(w), "schedule": {"type": "warmup_constant", "warmup_steps": w}}
      for w in WARMUPS
    ),
    comparisons=tuple((_name(w), _name(0)) for w in WARMUPS[1:]),
    checkpoint_every=2000,
  )
