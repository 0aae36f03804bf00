"""seed-schedules: the seeds' schedules for grokking on the demo MLP, against the constant rate.

Seeds 000/001: lr 1e-3, batch 512, 10k steps, linear warmup of 0/500/1000/2000
steps then cosine to 1e-6 (one compiled program for the four lengths x seeds);
plus the 3-phase grokking schedule (seed 000 calls it "optimized" for grokking),
step decay, cyclic, one-cycle, warmup-stable-decay, the adaptive
phase-transition and plateau schedules, and Grokfast (Lee et al., 2024). Weight
decay 1.0 (the papers'), coupled to the schedule as ``torch.optim.AdamW``. The
adaptive rows are fed the validation loss at each evaluation point (every 200
steps), as the seeds' ``scheduler.step(val_loss)``. 3 seeds.

Follow-ups with their own presets: ``seed-warmup`` (the warmups on a constant
rate, 6 seeds, every 50 steps), ``seed-warmup-cosine`` (warmups + cosine, 6
seeds), ``controls`` (the phase-transition boost against constant rates at the
boosted LR), ``plateau`` (patience 5/10/25 over 30k steps), ``horizons``
(cosine over 10k/20k/40k with the weight decay coupled or constant),
``seed-recipe`` (seed 000's recipe at 10,000 epochs).

Measured: 42 runs x 10k steps, 7.28-10.18 s per run (median 7.71 s, 0.77 ms
per step; the first run of each group includes its compilation), 336 s summed,
the engine's ``auto`` execution (sequential calls); machine load not recorded.
"""

from experiments.grokking.config import adamw
from experiments.grokking.config import Config
from experiments.grokking.config import seed_mlp

_TOTAL = 10_000
_GROKFAST = {"type": "grokfast_ema", "alpha": 0.98, "lamb": 2.0}


def _warmup_cosine(warmup: int) -> dict:
  return {
    "name": f"warmup{warmup}+cosine",
    "schedule": {
      "type": "warmup_cosine",
      "warmup_steps": warmup,
      "total_steps": _TOTAL,
      "end_value": 1e-6,
    },
  }


def get_config() -> Config:
  constant = {"type": "warmup_constant", "warmup_steps": 10}
  return seed_mlp(
    total_steps=_TOTAL,
    eval_every=200,
    seeds=(0, 1, 2),
    runs=(
      _warmup_cosine(0),
      _warmup_cosine(500),
      _warmup_cosine(1000),
      _warmup_cosine(2000),
      {"name": "constant", "schedule": constant},
      {"name": "grokking-3phase", "schedule": {"type": "grokking", "total_steps": _TOTAL}},
      {"name": "step_decay", "schedule": {"type": "step_decay", "step_size": 3000, "gamma": 0.3}},
      {
        "name": "cyclic",
        "schedule": {"type": "cyclic", "base_lr": 1e-4, "max_lr": 1e-3, "step_size_up": 1000},
      },
      {"name": "one_cycle", "schedule": {"type": "one_cycle", "total_steps": _TOTAL}},
      {
        "name": "wsd",
        "schedule": {
          "type": "warmup_stable_decay",
          "warmup_steps": 500,
          "decay_steps": 2000,
          "total_steps": _TOTAL,
        },
      },
      # Observed once per evaluation (every 200 steps, 50 per run): windows, hold and
      # patience count evaluations, sized so that a run's 50 evaluations fill them.
      {
        "name": "phase_transition",
        "schedule": constant,
        "optimizer": [
          adamw(),
          {
            "type": "phase_transition",
            "metric": "val_loss",
            "detection_window": 20,
            "cv_window": 10,
            "cv_threshold": 0.1,
            "boost_factor": 2.0,
            "boost_steps": 5,
          },
        ],
      },
      {
        "name": "plateau",
        "schedule": constant,
        "optimizer": [
          adamw(),
          {
            "type": "reduce_on_plateau",
            "metric": "val_loss",
            "factor": 0.5,
            "patience": 5,
            "cooldown": 2,
            "min_scale": 0.01,
          },
        ],
      },
      {"name": "constant+grokfast", "schedule": constant, "optimizer": [_GROKFAST, adamw()]},
      {
        "name": "warmup500+cosine+grokfast",
        "schedule": _warmup_cosine(500)["schedule"],
        "optimizer": [_GROKFAST, adamw()],
      },
    ),
    comparisons=(
      *((f"warmup{w}+cosine", "warmup0+cosine") for w in (500, 1000, 2000)),
      *(
        (name, "constant")
        for name in (
          "warmup0+cosine",
          "grokking-3phase",
          "step_decay",
          "cyclic",
          "one_cycle",
          "wsd",
          "phase_transition",
          "plateau",
          "constant+grokfast",
        )
      ),
      ("warmup500+cosine+grokfast", "warmup500+cosine"),
    ),
    checkpoint_every=2000,
  )
