"""cpu: the method x schedule grid on the patched digits, 5 seeds, about 7 minutes on 2 cores.

MLP 64-256-256-2, batch 64 (17 steps per epoch), 300 epochs (the seeds'), evaluated every 10
epochs. Methods: ERM and group DRO (Sagawa et al. 2020) with eta_q 0.01, 0.1
and 1. Schedules (see ``configs.schedules``): constant at 1e-3 and 1e-2, seed
001's 10-epoch warmup + cosine (target 1e-3), seed 000's 3-phase
bias-mitigation schedule (1e-2 / 1e-3 / cosine to 1e-5), and the same after a
10-epoch warmup. SGD with momentum 0.9 and weight decay 1e-4 (seed 000's);
AdamW (weight decay 1e-4) for ERM and group DRO (eta_q 0.1) under every
schedule, for the seeds' "SGD often better than Adam for robustness"; strong
L2 (weight decay 0.1, Sagawa et al.'s regime) for both methods at constant 1e-2
and warmup + cosine.
"""

from experiments.spurious.config import Config
from experiments.spurious.config import sgd
from experiments.spurious.configs import run
from experiments.spurious.configs import schedules

_EPOCHS, _STEPS_PER_EPOCH = 300, 17
ADAMW = {"type": "adamw", "weight_decay": 1e-4}


def _grid() -> tuple:
  named = schedules(_EPOCHS, _STEPS_PER_EPOCH)
  methods = {
    "erm": ("erm", 0.0),
    "dro-0.01": ("group_dro", 0.01),
    "dro-0.1": ("group_dro", 0.1),
    "dro-1": ("group_dro", 1.0),
  }
  runs = []
  for method_name, (method, eta_q) in methods.items():
    for schedule_name, schedule in named.items():
      runs.append(run(f"{method_name}/{schedule_name}", schedule, method, eta_q))
  for method_name in ("erm", "dro-0.1"):
    method, eta_q = methods[method_name]
    for schedule_name, schedule in named.items():
      runs.append(
        run(f"{method_name}/{schedule_name}/adamw", schedule, method, eta_q, optimizer=ADAMW)
      )
    for schedule_name in ("constant-1e-2", "warmup+cosine"):
      runs.append(
        run(
          f"{method_name}/{schedule_name}/l2-0.1",
          named[schedule_name],
          method,
          eta_q,
          optimizer=sgd(0.1),
        )
      )
  return tuple(runs)


def get_config() -> Config:
  return Config(
    dataset="digits",
    width=256,
    batch_size=64,
    total_steps=_EPOCHS * _STEPS_PER_EPOCH,
    eval_every=10 * _STEPS_PER_EPOCH,
    checkpoint_every=50 * _STEPS_PER_EPOCH,
    seeds=(0, 1, 2, 3, 4),
    runs=_grid(),
  )
