"""seed-schedules: the seeds' other schedules for grokking, against the constant rate.

Seed 000 calls cosine annealing "excellent" and its 3-phase grokking schedule
(10% warmup, 80% cosine to 1e-6, 10% at the floor) "optimized" for grokking;
seeds 000/001 list step decay, cyclic, one-cycle and warmup-stable-decay. Each
here over the seeds' 10k steps, lr 1e-3 (peak), batch 512, on the MLP, data
and optimizer of ``seed-warmup`` (weight decay 1.0, coupled), plus Grokfast
(Lee et al., 2024: alpha 0.98, lambda 2, an EMA of the gradient added to it)
on the constant rate and on warmup 500 + cosine. 3 seeds; evaluated every 200
steps as the earlier preset. The 3-phase schedule at the seed's own length
(10,000 epochs) is ``seed-recipe``; the cosine horizon and weight decay apart
from the schedule are ``horizons``.

Measured: 0.44 ms per step on the idle machine in the earlier 14-schedule
preset (420k steps in 3 min 3 s); 27 runs x 10k steps, ~2 min idle.
"""

from experiments.grokking.config import adamw
from experiments.grokking.config import Config

TOTAL = 10_000
_GROKFAST = {"type": "grokfast_ema", "alpha": 0.98, "lamb": 2.0}
_CONSTANT = {"type": "warmup_constant", "warmup_steps": 10}
_COSINE = {"type": "warmup_cosine", "warmup_steps": 500, "total_steps": TOTAL, "end_value": 1e-6}


def get_config() -> Config:
  runs = (
    {"name": "constant", "schedule": _CONSTANT},
    {"name": "warmup500+cosine", "schedule": _COSINE},
    {"name": "grokking-3phase", "schedule": {"type": "grokking", "total_steps": TOTAL}},
    {"name": "step_decay", "schedule": {"type": "step_decay", "step_size": 3000, "gamma": 0.3}},
    {
      "name": "cyclic",
      "schedule": {"type": "cyclic", "base_lr": 1e-4, "max_lr": 1e-3, "step_size_up": 1000},
    },
    {"name": "one_cycle", "schedule": {"type": "one_cycle", "total_steps": TOTAL}},
    {
      "name": "wsd",
      "schedule": {
        "type": "warmup_stable_decay",
        "warmup_steps": 500,
        "decay_steps": 2000,
        "total_steps": TOTAL,
      },
    },
    {"name": "constant+grokfast", "schedule": _CONSTANT, "optimizer": [_GROKFAST, adamw()]},
    {"name": "warmup500+cosine+grokfast", "schedule": _COSINE, "optimizer": [_GROKFAST, adamw()]},
  )
  return Config(
    model="mlp",
    width=256,
    modulus=97,
    train_fraction=0.3,
    batch_size=512,
    total_steps=TOTAL,
    eval_every=200,
    learning_rate=1e-3,
    seeds=tuple(range(3)),
    runs=runs,
    comparisons=(
      *((r["name"], "constant") for r in runs[1:7]),
      ("constant+grokfast", "constant"),
      ("warmup500+cosine+grokfast", "warmup500+cosine"),
    ),
    checkpoint_every=2000,
  )
