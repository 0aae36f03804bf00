"""tiny: seconds-long runs for the tests (p=23, narrow MLP, few steps)."""

from experiments.grokking.config import Config


def get_config() -> Config:
  return Config(
    model="mlp",
    width=64,
    modulus=23,
    train_fraction=0.5,
    batch_size=0,
    total_steps=200,
    eval_every=50,
    learning_rate=3e-3,
    seeds=(0, 1),
    runs=(
      {"name": "constant", "schedule": {"type": "constant"}},
      {
        "name": "warmup_cosine",
        "schedule": {"type": "warmup_cosine", "warmup_steps": 20, "total_steps": 200},
      },
    ),
    checkpoint_every=100,
  )
