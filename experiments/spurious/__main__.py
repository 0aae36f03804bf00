"""python -m experiments.spurious --preset cpu --out DIR [--config FILE] [--set field=value ...]

ERM against group DRO under the seeds' schedules on data with a spurious cue;
writes metrics.jsonl, summary.json, results.md, curves.png, accuracy.png,
comparison.png and TensorBoard files to DIR. --resume continues from DIR's
last checkpoint; Ctrl-C saves a checkpoint and the results so far.
"""

import sys

from experiments.common import cli
from experiments.spurious import configs
from experiments.spurious import train

if __name__ == "__main__":
  sys.exit(cli.main(train.STUDY, configs.PRESETS, configs.get, description=__doc__.splitlines()[2]))
