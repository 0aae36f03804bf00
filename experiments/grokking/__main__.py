"""python -m experiments.grokking --preset demo --out DIR [--config FILE] [--set field=value ...]

Trains the study's runs and writes metrics.jsonl, summary.json, results.md,
curves.png, comparison.png and TensorBoard files to DIR; --resume continues
from DIR's last checkpoint. Ctrl-C saves a checkpoint and the results so far.
"""

import sys

from experiments.common import cli
from experiments.grokking import configs
from experiments.grokking import train

if __name__ == "__main__":
  sys.exit(cli.main(train.STUDY, configs.PRESETS, configs.get, description=__doc__.splitlines()[2]))
