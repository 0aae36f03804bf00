"""python -m experiments.lm_warmup --preset cpu --out DIR [--config FILE] [--set field=value ...]

Transformer LMs on small-scale proxies: LR sensitivity against warmup length and
shape, qk-layernorm and z-loss; writes metrics.jsonl, summary.json,
sensitivity.json, results.md, the plots and TensorBoard files to DIR.
"""

import sys

from experiments.common import cli
from experiments.lm_warmup import configs
from experiments.lm_warmup import train

if __name__ == "__main__":
  sys.exit(cli.main(train.STUDY, configs.PRESETS, configs.get, description=__doc__.splitlines()[2]))
