"""nanda: Nanda et al. (2023), over 3 seeds. One-layer transformer without LayerNorm, p=113.

``a b =`` input, width 128, 4 heads, MLP 512 (ReLU), no LayerNorm; 30% of the
12,769 pairs of p = 113 addition for training, full batch (every step is an
epoch), AdamW lr 1e-3, betas 0.9/0.98, weight decay 1 (coupled, as
``torch.optim.AdamW``), a 10-step linear warmup then constant: the paper's
recipe. The paper trains 40k epochs and places memorization before ~1.4k, the
cleanup (when the test loss falls) between ~9.4k and ~13k; 15k steps hold both.
Departures (this study's transformer): Flax's default initializations instead
of the paper's N(0, 1/d_model) for every matrix, attention without biases as
the paper's, an unembedding over the p answers (the paper's also scores the
``=`` token), a split of round(0.3 N) = 3831 pairs (the paper: int(0.3 N) =
3830) drawn by this study's seeded permutation, and float32 losses (the paper's
are float64).

Evaluated every 50 steps (the resolution of every step count). Measured before
the run: one full-batch step took 555 ms wall, 120 ms process CPU on the
2-core machine at load 13 (other jobs); 38 ms on the idle machine (the
benchmark's ``nanda`` row). 3 runs x 15k steps: ~30 min idle, hours at that
load.
Run: 64 min on one core of the 2-core machine, the other busy (1,257-1,266 s
per run).
"""

from experiments.grokking.config import Config


def get_config() -> Config:
  return Config(
    model="nanda",
    width=128,
    modulus=113,
    train_fraction=0.3,
    batch_size=0,
    total_steps=15_000,
    eval_every=50,
    learning_rate=1e-3,
    seeds=(0, 1, 2),
    runs=(
      {"name": "warmup10+constant", "schedule": {"type": "warmup_constant", "warmup_steps": 10}},
    ),
    checkpoint_every=1000,
  )
