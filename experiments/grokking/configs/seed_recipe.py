"""seed-recipe: seed 000's ``setup_grokking_training`` at its length, as written and with weight
decay 1.0.

The seed: AdamW lr 1e-3, betas 0.9/0.98, weight decay 1e-2, its 3-phase
``GrokkingScheduler`` (10% linear warmup, cosine to 1e-6 over 80%, 10% at the
floor) over ``total_epochs=10000``, evaluated every 100. With seed 001's batch
of 512 on this study's training split (30% of the 9409 pairs of p = 97
addition: 2823 pairs) an epoch is 2823 / 512 = 5.51 steps, so the schedule
runs over 10,000 x 2823 / 512 = 55,137 steps (a PyTorch ``DataLoader`` without
``drop_last`` would make 6 smaller-last batches per epoch, 60,000 steps); the
run trains 55,200 (the next multiple of the evaluation interval). Weight decay
1e-2 (the seed's) and 1.0 (Power et al.'s), both coupled to the schedule as
``torch.optim.AdamW`` does, one compiled program (the weight decay is a traced
number). The demo MLP (width 256); 3 seeds; evaluated every 100 steps as the
seed does.

Measured: 4.89-6.05 s per run of the earlier 10k-step version (0.50 ms per
step, median; load not recorded), 7.8 ms per step at load 13; 6 runs x 55.2k
steps, ~3-4.5 min, ~43 min at load 13.
"""

import math

from experiments.grokking import data
from experiments.grokking.config import adamw
from experiments.grokking.config import Config

EPOCHS = 10_000
BATCH = 512
MODULUS, FRACTION, EVAL_EVERY = 97, 0.3, 100
TRAIN_PAIRS = len(data.split(len(data.table("add", MODULUS).targets), FRACTION, 0).train)
SCHEDULE_STEPS = round(EPOCHS * TRAIN_PAIRS / BATCH)  # 55,137


def _recipe(weight_decay: float) -> dict:
  return {
    "name": f"grokking-3phase wd={weight_decay:g}",
    "schedule": {"type": "grokking", "total_steps": SCHEDULE_STEPS},
    "optimizer": [adamw(weight_decay)],
  }


def get_config() -> Config:
  return Config(
    model="mlp",
    width=256,
    modulus=MODULUS,
    train_fraction=FRACTION,
    batch_size=BATCH,
    total_steps=math.ceil(SCHEDULE_STEPS / EVAL_EVERY) * EVAL_EVERY,
    eval_every=EVAL_EVERY,
    learning_rate=1e-3,
    seeds=tuple(range(3)),
    runs=(_recipe(1e-2), _recipe(1.0)),
    comparisons=(("grokking-3phase wd=1", "grokking-3phase wd=0.01"),),
    checkpoint_every=5000,
  )
