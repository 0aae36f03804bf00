"""The grokking study's configuration: the engine's fields plus the task and model.

A run is ``{"name", "schedule", "optimizer"?, "learning_rate"?}`` (see
:mod:`experiments.common.config`); the schedule's peak defaults to
``learning_rate`` and the optimizer to AdamW with betas 0.9/0.98 and weight
decay 1.0, as in Power et al. (2022). Presets live in ``configs/``.
"""

import dataclasses

from experiments.common import config as common


def adamw(weight_decay: float = 1.0, **kwargs) -> dict:
  """The study's AdamW entry (betas 0.9/0.98), with any other keyword of the entry."""
  return {"type": "adamw", "b1": 0.9, "b2": 0.98, "weight_decay": weight_decay, **kwargs}


@dataclasses.dataclass(frozen=True)
class Config(common.Config):
  """Everything one invocation of the study needs."""

  operation: str = "add"  # add, sub, mul, div (mod p)
  modulus: int = 97
  train_fraction: float = 0.3
  model: str = "mlp"  # mlp, power, nanda
  width: int = 256
  target_accuracy: float = 0.99  # memorized / generalized at this train / val accuracy
  optimizer: tuple = (adamw(),)
  total_steps: int = 6000
  # Pairs [run, baseline] of run names compared seed by seed in results.md (see analysis.py).
  comparisons: tuple = ()


def seed_mlp(**fields) -> Config:
  """The seed presets' setting, with ``fields`` over it.

  The quadratic MLP (width 256) on p = 97 addition from 30% of the pairs,
  batches of 512, AdamW lr 1e-3 (betas 0.9/0.98, weight decay 1.0), 10k steps.
  """
  setting = dict(
    model="mlp",
    width=256,
    modulus=97,
    train_fraction=0.3,
    batch_size=512,
    total_steps=10_000,
    learning_rate=1e-3,
  )
  return Config(**{**setting, **fields})
