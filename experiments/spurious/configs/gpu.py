"""gpu: the cpu grid (300 epochs) with 20 seeds and width 1024; for a lent accelerator.

Run the LMS-5 side at the paper's scale with ``--preset lms5 --set lms5_points=100000``.
"""

from experiments.common import config as config_lib
from experiments.spurious.configs import cpu


def get_config():
  return config_lib.replace(cpu.get_config(), {"seeds": tuple(range(20)), "width": 1024})
