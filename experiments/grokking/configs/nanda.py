"""nanda: Nanda et al. (2023). One-layer transformer without LayerNorm, p=113.

``a b =`` input, width 128, 4 heads, MLP 512, 30% of pairs, full batch,
AdamW lr 1e-3, betas 0.9/0.98, weight decay 1, 10-step warmup then constant.
Nanda et al. report generalization around 10^4 steps.
"""

from experiments.grokking.config import Config


def get_config() -> Config:
  return Config(
    model="nanda",
    width=128,
    modulus=113,
    train_fraction=0.3,
    batch_size=0,
    total_steps=20_000,
    eval_every=250,
    learning_rate=1e-3,
    seeds=(0, 1, 2),
    runs=(
      {"name": "warmup10+constant", "schedule": {"type": "warmup_constant", "warmup_steps": 10}},
    ),
    checkpoint_every=2500,
  )
