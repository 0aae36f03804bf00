"""seed-recipe: seed 000's ``setup_grokking_training``, beside the same with weight decay 1.0.

AdamW lr 1e-3, betas 0.9/0.98, weight decay 1e-2 (the seed's) or 1.0 (Power et
al.'s), the 3-phase grokking schedule (10% linear warmup, cosine to 1e-6 over
80%, then the floor) over 10k steps, evaluated every 100 steps as the seed
does. The data and model are seed-warmup's: the demo MLP on p = 97 addition,
30% of pairs, batch 512, three seeds. Both weight decays are one vmapped
program (the weight decay is a traced number).
"""

from experiments.grokking.config import adamw
from experiments.grokking.config import Config

_TOTAL = 10_000


def _recipe(weight_decay: float) -> dict:
  return {
    "name": f"grokking-3phase wd={weight_decay:g}",
    "schedule": {"type": "grokking", "total_steps": _TOTAL},
    "optimizer": [adamw(weight_decay)],
  }


def get_config() -> Config:
  return Config(
    model="mlp",
    width=256,
    modulus=97,
    train_fraction=0.3,
    batch_size=512,
    total_steps=_TOTAL,
    eval_every=100,
    learning_rate=1e-3,
    seeds=(0, 1, 2),
    runs=(_recipe(1e-2), _recipe(1.0)),
    checkpoint_every=2000,
  )
