"""paper: Power et al. (2022). 2-layer decoder transformer, width 128, 4 heads.

p=97 addition with half the pairs for training (Power et al. sweep the
fraction; their Figure 1 curves use 50%). Batch 512, AdamW lr 1e-3, betas 0.9/0.98,
weight decay 1, 10-step linear warmup then constant. Long on a CPU: the
transformer takes 10^4 - 10^5 steps to generalize.
"""

from experiments.grokking.config import Config


def get_config() -> Config:
  return Config(
    model="power",
    width=128,
    modulus=97,
    train_fraction=0.5,
    batch_size=512,
    total_steps=20_000,
    eval_every=250,
    learning_rate=1e-3,
    seeds=(0, 1, 2),
    runs=(
      {"name": "warmup10+constant", "schedule": {"type": "warmup_constant", "warmup_steps": 10}},
    ),
    checkpoint_every=2500,
  )
