"""demo: the laptop-CPU run. A quadratic-activation MLP groks p=97 addition.

One-hidden-layer MLP (width 256) on one-hot a, b; 30% of the 9409 pairs for
training, full batch, AdamW (lr 1e-3, betas 0.9/0.98, weight decay 1.0), 6000
steps. Three warmup lengths (10, 500, 2000 steps, then constant) trained
as one compiled program. About 30 s on 2 CPU cores.
"""

from experiments.grokking.config import Config


def _warmup(steps: int) -> dict:
  return {
    "name": f"warmup{steps}+constant",
    "schedule": {"type": "warmup_constant", "warmup_steps": steps},
  }


def get_config() -> Config:
  return Config(
    model="mlp",
    width=256,
    modulus=97,
    train_fraction=0.3,
    batch_size=0,
    total_steps=6000,
    eval_every=100,
    learning_rate=1e-3,
    seeds=(0,),
    runs=(_warmup(10), _warmup(500), _warmup(2000)),
    checkpoint_every=1000,
  )
