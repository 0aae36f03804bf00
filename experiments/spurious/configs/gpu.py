"""gpu: the cpu grid with 10 seeds and 300 epochs (the seeds' length); for a lent accelerator.

Run the LMS-5 side at the paper's scale with ``--preset lms5 --set lms5_points=100000``.
"""

from experiments.common import config as config_lib
from experiments.spurious.configs import cpu, schedules

_EPOCHS, _STEPS_PER_EPOCH = 300, 17


def get_config():
  base = cpu.get_config()
  grid = schedules(_EPOCHS, _STEPS_PER_EPOCH)
  by_kind = {"warmup_cosine": grid["warmup+cosine"][0], "bias_mitigation": grid["3phase"][0],
             "sequential": grid["warmup+3phase"][0]}
  runs = tuple({**r, "schedule": by_kind.get(r["schedule"]["type"], r["schedule"])}
               for r in base.runs)
  return config_lib.replace(base, {
      "runs": runs, "seeds": tuple(range(10)), "total_steps": _EPOCHS * _STEPS_PER_EPOCH,
      "checkpoint_every": 50 * _STEPS_PER_EPOCH})
