"""lms5: simplicity bias on LMS-5 (Shah et al. 2020): does a schedule make the MLP use the slabs?

2000 training points (one linear coordinate with margin 0.1 and four 5-slab
coordinates, all fully predictive; drawn from each seed), MLP 5-256-256-2,
batch 64 (32 steps per epoch), 100 epochs, ERM, 5 seeds. The seeds' schedules
(constant 1e-3 and 1e-2, warmup + cosine, 3-phase, warmup + 3-phase) with SGD
momentum 0.9, and with AdamW. Reported: test accuracy, and accuracy with the
linear coordinate randomized (50% = only the simple feature was learned).
About 10 s per run with other jobs loading the machine (50 runs).
"""

from experiments.spurious.config import Config
from experiments.spurious.configs import run
from experiments.spurious.configs import schedules

_EPOCHS, _STEPS_PER_EPOCH = 100, 32


def get_config() -> Config:
  named = schedules(_EPOCHS, _STEPS_PER_EPOCH)
  runs = []
  for optimizer in (None, {"type": "adamw", "weight_decay": 1e-4}):
    for name, schedule in named.items():
      suffix = "/adamw" if optimizer else ""
      runs.append(run(f"erm/{name}{suffix}", schedule, optimizer=optimizer))
  return Config(
    dataset="lms5",
    lms5_points=2000,
    width=256,
    batch_size=64,
    total_steps=_EPOCHS * _STEPS_PER_EPOCH,
    eval_every=5 * _STEPS_PER_EPOCH,
    checkpoint_every=20 * _STEPS_PER_EPOCH,
    seeds=(0, 1, 2, 3, 4),
    runs=tuple(runs),
  )
