"""controls: is the phase-transition boost's gain the detector's, or just a higher rate?

Seed 000's ``PhaseTransitionScheduler`` doubles the rate when the dispersion
(variance / mean) of the recent losses passes 0.1, holds it, then decays it
back by 0.95 per observation. Fed the validation loss, it generalized 600 steps
before the constant rate in the earlier 3-seed preset, evaluated every 200
steps. There the doubled rate is logged from the evaluation at step 4200 on: the
detector fired on the evaluation at step 4000 (observed by the next update),
when validation accuracy was already 0.47-0.53 in the three seeds (0.34-0.39
at 3800). Controls here, all without warmup, on the same seeds (so paired):

* ``constant``: 1e-3 throughout (the baseline);
* ``phase_transition``: the boost, fed the validation loss at each evaluation.
  Evaluated every 50 steps here (4x as often), its windows are 4x as many
  observations (80 before detecting, 40 in the statistic, a 20-observation hold,
  decay 0.95^(1/4) per observation), so they span the same steps as before;
* ``constant x2``: 2e-3 from the start (the boosted rate throughout);
* ``x2 from 4000``: 1e-3, then 2e-3 from step 4000 on (the boost's first
  update in the earlier run, without the detector and without the return to
  1e-3).

The MLP, data and optimizer of ``seed-warmup`` (weight decay 1.0, coupled, so
the doubled rate doubles the decay per step as the boost does); 6 seeds;
evaluated every 50 steps. Measured: as ``seed-warmup`` (0.50-0.77 ms per
step, 7.8 ms at load 13); 24 runs x 10k steps, ~2-3 min, ~30 min at load 13.
"""

from experiments.grokking.config import adamw
from experiments.grokking.config import Config
from experiments.grokking.config import seed_mlp

BOOST_STEP = 4000
_EVALS_PER_OBSERVATION = 4  # 200-step observations of the earlier run / 50-step ones here


def get_config() -> Config:
  k = _EVALS_PER_OBSERVATION
  constant = {"type": "constant"}
  return seed_mlp(
    eval_every=50,
    seeds=tuple(range(6)),
    runs=(
      {"name": "constant", "schedule": constant},
      {"name": "constant x2", "schedule": constant, "learning_rate": 2e-3},
      {
        "name": f"x2 from {BOOST_STEP}",
        "schedule": {"type": "multistep_decay", "milestones": [BOOST_STEP], "gamma": 2.0},
      },
      {
        "name": "phase_transition",
        "schedule": constant,
        "optimizer": [
          adamw(),
          {
            "type": "phase_transition",
            "metric": "val_loss",
            "detection_window": 20 * k,
            "cv_window": 10 * k,
            "cv_threshold": 0.1,
            "boost_factor": 2.0,
            "boost_steps": 5 * k,
            "decay_rate": 0.95 ** (1 / k),
          },
        ],
      },
    ),
    comparisons=(
      ("phase_transition", "constant"),
      ("constant x2", "constant"),
      (f"x2 from {BOOST_STEP}", "constant"),
      ("phase_transition", f"x2 from {BOOST_STEP}"),
      ("phase_transition", "constant x2"),
    ),
    checkpoint_every=2000,
  )
