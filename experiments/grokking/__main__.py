"""python -m experiments.grokking --preset demo --out DIR [--config FILE] [--set field=value ...]

Trains the study's runs and writes metrics.jsonl, summary.json, results.md,
curves.png and comparison.png to DIR; --resume continues from DIR's last
checkpoint. Ctrl-C saves a checkpoint and the results so far.
"""

import argparse
import json
import pathlib
import sys

from experiments.grokking import config as config_lib
from experiments.grokking import configs
from experiments.grokking import train


def _load(path: pathlib.Path) -> dict:
  text = path.read_text()
  if path.suffix in (".yaml", ".yml"):
    import yaml  # pylint: disable=import-outside-toplevel
    return yaml.safe_load(text)
  return json.loads(text)


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(prog="python -m experiments.grokking",
                                   description=__doc__.splitlines()[2])
  parser.add_argument("--preset", default="demo",
                      help=f"one of: {', '.join(p.replace('_', '-') for p in configs.PRESETS)}")
  parser.add_argument("--config", type=pathlib.Path, help="YAML/JSON of Config fields over the preset")
  parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="FIELD=VALUE",
                      help="override one field (value as JSON), e.g. --set total_steps=2000")
  parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("out/grokking"))
  parser.add_argument("--resume", action="store_true", help="continue from the last checkpoint")
  parser.add_argument("--no-progress", action="store_true", help="no progress bar")
  args = parser.parse_args(argv)
  try:
    config = configs.get(args.preset)
    if args.config:
      config = config_lib.from_mapping(_load(args.config), base=config)
    config = config_lib.apply_overrides(config, args.overrides)
  except (ValueError, OSError) as e:
    parser.exit(2, f"{parser.prog}: error: {e}\n")
  summary = train.train_and_evaluate(config, args.out, resume=args.resume,
                                     progress=not args.no_progress)
  print((args.out / "results.md").read_text())
  print(f"wrote {', '.join(str(args.out / f) for f in ('metrics.jsonl', 'summary.json', 'results.md', 'curves.png', 'comparison.png'))}")
  return 0 if summary else 1


if __name__ == "__main__":
  sys.exit(main())
