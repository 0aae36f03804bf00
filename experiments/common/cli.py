"""The command line every study shares: ``python -m experiments.<study> --preset NAME --out DIR``.

Options: ``--config FILE`` (YAML or JSON of config fields over the preset),
``--set FIELD=VALUE`` (repeatable; VALUE is YAML), ``--resume``,
``--no-progress``, ``--execution auto|vmap|map|sequential``, and for several
processes ``--coordinator HOST:PORT --num-processes N --process-id I`` (process
0 writes the outputs). ``--report`` writes the results of ``--out`` again
from its ``metrics.jsonl`` and ``config.json`` without training.
``--reproduce N`` trains N runs drawn from the preset's committed results
(``experiments/<study>/results/<preset>/``) again, into ``--out``, and prints
their numbers beside the committed ones (:mod:`experiments.common.reproduce`).
A bad preset, field or value is one line on stderr and exit status 2, before
anything is written.
"""

import argparse
import pathlib
from typing import Callable, Optional

from experiments.common import config as config_lib
from experiments.common import engine
from experiments.common import reproduce
from experiments.common import sharding

ROOT = pathlib.Path(__file__).resolve().parents[1]


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
  parser.add_argument(
    "--report",
    action="store_true",
    help="write the results of --out again from its metrics.jsonl and config.json; no training",
  )
  parser.add_argument(
    "--reproduce",
    type=int,
    metavar="N",
    help="train N runs of the preset's committed results again and compare",
  )
  parser.add_argument("--reproduce-seed", type=int, default=0, help="which runs --reproduce draws")
  parser.add_argument(
    "--reproduce-from",
    type=pathlib.Path,
    metavar="DIR",
    help="the results --reproduce compares with (default: the preset's committed results)",
  )
  parser.add_argument("--coordinator", metavar="HOST:PORT", help="process 0's address")
  parser.add_argument("--num-processes", type=int, default=1)
  parser.add_argument("--process-id", type=int, default=0)
  args = parser.parse_args(argv)
  try:
    sharding.initialize(args.coordinator, args.num_processes, args.process_id)
    config = get_preset(args.preset)
    if args.report:
      config = config_lib.load_file(config, args.out / "config.json")
    if args.config:
      config = config_lib.load_file(config, args.config)
    config = config_lib.apply_overrides(config, args.overrides)
    if args.execution:
      config = config_lib.replace(config, {"execution": args.execution})
    if args.reproduce is not None:
      results = args.reproduce_from or ROOT / study.name / "results" / args.preset.replace("-", "_")
      rows, recorded = reproduce.committed(results)
      chosen = reproduce.sample(rows, args.reproduce, args.reproduce_seed)
      reruns = [reproduce.config_for(config, recorded, row) for row in chosen]
      for rerun in reruns:
        engine.check(study, rerun)
    else:
      engine.check(study, config)
  except (ValueError, OSError) as e:
    parser.exit(2, f"{prog}: error: {str(e).splitlines()[0]}\n")
  if args.report:
    engine.write_report(study, config, args.out)
    print((args.out / "results.md").read_text())
    return 0
  if args.reproduce is not None:
    pairs = []
    for row, rerun in zip(chosen, reruns):
      out = args.out / row["run"].replace("/", "-")
      (new,) = engine.train_and_evaluate(study, rerun, out, progress=not args.no_progress)
      pairs.append((row, new))
    if sharding.is_writer():
      text = reproduce.table(pairs, recorded.get(config_lib.MACHINE_KEY, {}))
      reproduce.write(args.out, text, pairs)
      print(text)
    return 0
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
