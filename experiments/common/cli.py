"""The command line every study shares: ``python -m experiments.<study> --preset NAME --out DIR``.

Options: ``--config FILE`` (YAML or JSON of config fields over the preset),
``--set FIELD=VALUE`` (repeatable; VALUE is YAML), ``--resume``,
``--no-progress``, ``--execution auto|vmap|map|sequential``, and for several
processes ``--coordinator HOST:PORT --num-processes N --process-id I`` (process
0 writes the outputs). A bad preset, field or value is one line on stderr and
exit status 2, before anything is written.
"""

import argparse
import pathlib
from typing import Callable, Optional

from experiments.common import config as config_lib
from experiments.common import engine
from experiments.common import sharding


def main(
  study: engine.Study,
  presets: tuple,
  get_preset: Callable,
  argv: Optional[list] = None,
  description: str = "",
) -> int:
  """Parses the command line, trains, prints the results table; returns the exit status."""
  prog = f"python -m experiments.{study.name}"
  parser = argparse.ArgumentParser(prog=prog, description=description)
  parser.add_argument(
    "--preset",
    default=presets[0],
    help=f"one of: {', '.join(p.replace('_', '-') for p in presets)}",
  )
  parser.add_argument(
    "--config", type=pathlib.Path, help="YAML or JSON file of config fields applied over the preset"
  )
  parser.add_argument(
    "--set",
    dest="overrides",
    action="append",
    default=[],
    metavar="FIELD=VALUE",
    help="override one field (YAML value), e.g. --set total_steps=2000 --set seeds=[0,1]",
  )
  parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path(f"out/{study.name}"))
  parser.add_argument("--resume", action="store_true", help="continue from the last checkpoint")
  parser.add_argument("--no-progress", action="store_true", help="no progress bar")
  parser.add_argument(
    "--execution",
    choices=config_lib.EXECUTIONS,
    help="how a group's runs execute (default: the config's, auto)",
  )
  parser.add_argument("--coordinator", metavar="HOST:PORT", help="process 0's address")
  parser.add_argument("--num-processes", type=int, default=1)
  parser.add_argument("--process-id", type=int, default=0)
  args = parser.parse_args(argv)
  try:
    sharding.initialize(args.coordinator, args.num_processes, args.process_id)
    config = get_preset(args.preset)
    if args.config:
      config = config_lib.load_file(config, args.config)
    config = config_lib.apply_overrides(config, args.overrides)
    if args.execution:
      config = config_lib.replace(config, {"execution": args.execution})
    engine.check(study, config)
  except (ValueError, OSError) as e:
    parser.exit(2, f"{prog}: error: {str(e).splitlines()[0]}\n")
  summary = engine.train_and_evaluate(
    study, config, args.out, resume=args.resume, progress=not args.no_progress
  )
  if sharding.is_writer():
    print((args.out / "results.md").read_text())
    print(
      f"wrote {args.out}/: metrics.jsonl, summary.json, results.md, curves.png, "
      "tensorboard/, checkpoints/"
    )
  return 0 if summary or not sharding.is_writer() else 1
