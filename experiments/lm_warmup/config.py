"""The LM warmup study's configuration: the engine's fields plus the model and the corpus.

A run may set the model fields ``width``, ``depth``, ``qk_layernorm`` and
``z_loss`` for itself (each combination is its own compiled program); its
schedule's peak (``learning_rate``) and warmup length are traced numbers, so an
LR grid x warmup lengths at one model shape is one program.
"""

import dataclasses
import typing

from experiments.common import config as common


def adamw(weight_decay: float = 1e-4, mode: str = "independent") -> dict:
  """Wortsman et al.'s AdamW: betas 0.9/0.95, eps 1e-8, independent weight decay 1e-4."""
  return {
    "type": "adamw",
    "b1": 0.9,
    "b2": 0.95,
    "eps": 1e-8,
    "weight_decay": weight_decay,
    "weight_decay_mode": mode,
  }


CLIP = {"type": "clip_by_global_norm", "max_norm": 1.0}


@dataclasses.dataclass(frozen=True)
class Config(common.Config):
  """Everything one invocation of the study needs."""

  corpus: str = "pydoc"  # pydoc (characters) or stdlib (bytes)
  context: int = 64
  width: int = 64
  depth: int = 2
  heads: int = 4
  positions: str = "rope"  # rope or learned
  qk_layernorm: bool = False
  z_loss: float = 0.0  # coefficient of mean(log Z)^2
  eval_windows: int = 64  # validation windows of context + 1 tokens
  failure_margin: float = 1.0  # a run fails unless its loss ends this far below ln(vocab)
  batch_size: int = 32
  optimizer: tuple = (CLIP, adamw())
  study_run_keys: typing.ClassVar[tuple] = ("width", "depth", "qk_layernorm", "z_loss")
