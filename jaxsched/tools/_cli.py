"""The ``jaxsched`` command line: list, plot, inspect, compare, lr-find, explore and law.

``jaxsched plot NAME --kw value ...`` builds ``jaxsched.NAME(kw=value, ...)``;
the options of each schedule are generated from its factory's signature, so
``jaxsched plot NAME --help`` lists them with their defaults. Values are read
as Python literals (``3e-4``, ``[10, 20]``, ``True``) or else as strings.
"""

import argparse
import ast
import inspect as pyinspect
import pathlib
import sys
from typing import Any, Optional, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxsched import _catalog
from jaxsched import _config
from jaxsched import laws
from jaxsched import porting
from jaxsched.tools import _finder
from jaxsched.tools import _plotting

PROG = "jaxsched"


class _UsageError(Exception):
  """A mistake on the command line, reported in one line with exit status 2."""


class _Parser(argparse.ArgumentParser):
  """argparse that reports errors in one line instead of usage + message."""

  def error(self, message):
    raise _UsageError(message)


def _literal(text: str) -> Any:
  try:
    return ast.literal_eval(text)
  except (ValueError, SyntaxError):
    return text


def _schedule_entries() -> dict:
  return {e.name: e for e in _catalog.catalog()}


def _factory_parser(command: str, name: str) -> tuple[argparse.ArgumentParser, list]:
  """A parser for ``jaxsched COMMAND NAME`` with one option per keyword."""
  entries = _schedule_entries()
  if name not in entries:
    raise _UsageError(
      f"unknown schedule {name!r}; `jaxsched list` shows the {len(entries)} schedules"
    )
  if entries[name].nested:  # schedules made of schedules come from a config file
    raise _UsageError(
      f"{name} combines other schedules: describe it in a YAML file and "
      f"use `jaxsched {command} --config FILE`"
    )
  entry = entries[name]
  parser = _Parser(
    prog=f"{PROG} {command} {name}", description=f"{name}: matches {entry.equivalent}."
  )
  keywords = []
  group = parser.add_argument_group(f"{name} arguments")
  for kw, param in pyinspect.signature(entry.factory).parameters.items():
    if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
      continue
    keywords.append(kw)
    flag = "--" + kw.replace("_", "-")
    if param.default is param.empty:
      group.add_argument(flag, dest=kw, type=_literal, required=True, help="required")
    else:
      group.add_argument(
        flag, dest=kw, type=_literal, default=param.default, help=f"default: {param.default!r}"
      )
  _add_output_options(parser, command)
  return parser, keywords


def _add_output_options(parser: argparse.ArgumentParser, command: str) -> None:
  parser.add_argument(
    "--steps",
    type=int,
    default=None,
    help="steps to evaluate (default: the schedule's total_steps)",
  )
  if command == "plot":
    parser.add_argument(
      "-o", "--output", type=pathlib.Path, default=pathlib.Path("lr.png"), help="image to write"
    )
    parser.add_argument("--log-y", action="store_true", help="logarithmic learning-rate axis")


def _steps(args: argparse.Namespace, configs: Sequence[dict]) -> int:
  if args.steps is not None:
    if args.steps < 1:
      raise _UsageError(f"--steps={args.steps} must be >= 1")
    return args.steps
  totals = [
    int(cfg["total_steps"])
    for cfg in configs
    if isinstance(cfg, dict) and isinstance(cfg.get("total_steps"), (int, float))
  ]
  if not totals:
    raise _UsageError("this schedule has no total_steps: give --steps N")
  return max(totals)


def _from_config_file(path: pathlib.Path) -> tuple[list, list]:
  """Named schedules from a YAML file: a mapping name -> config, or a list."""
  if not path.is_file():
    raise _UsageError(f"--config {path}: no such file")
  loaded = _config.load_config(path)
  if isinstance(loaded, dict) and "type" in loaded:
    loaded = {loaded["type"]: loaded}
  if isinstance(loaded, dict):
    items = list(loaded.items())
  elif isinstance(loaded, list):
    items = [
      (
        cfg.get("name", cfg.get("type", f"schedule {i}"))
        if isinstance(cfg, dict)
        else f"schedule {i}",
        cfg,
      )
      for i, cfg in enumerate(loaded)
    ]
  else:
    raise _UsageError(f"--config {path}: expected a mapping of name -> schedule config or a list")
  named, configs = [], []
  for name, cfg in items:
    cfg = {k: v for k, v in cfg.items() if k != "name"} if isinstance(cfg, dict) else cfg
    named.append((str(name), _config.from_config(cfg)))
    configs.append(cfg)
  return named, configs


def _schedules(command: str, argv: Sequence[str]) -> tuple[list, argparse.Namespace, int]:
  """Parses ``COMMAND NAME --kw ...`` or ``COMMAND --config FILE``."""
  if argv and not argv[0].startswith("-"):
    parser, keywords = _factory_parser(command, argv[0])
    args = parser.parse_args(argv[1:])
    kwargs = {kw: getattr(args, kw) for kw in keywords}
    schedule = _schedule_entries()[argv[0]].factory(**kwargs)
    return [(argv[0], schedule)], args, _steps(args, [kwargs])
  parser = _Parser(
    prog=f"{PROG} {command}",
    description=f"{command} schedules: `{PROG} {command} NAME --help` lists a "
    f"schedule's options; --config reads one or several from YAML.",
  )
  parser.add_argument(
    "--config",
    type=pathlib.Path,
    required=True,
    help="YAML file: name -> {type: NAME, ...keywords}",
  )
  _add_output_options(parser, command)
  args = parser.parse_args(argv)
  named, configs = _from_config_file(args.config)
  return named, args, _steps(args, configs)


def _cmd_list(argv: Sequence[str]) -> int:
  _Parser(prog=f"{PROG} list", description="every schedule and what it matches").parse_args(argv)
  entries = _catalog.catalog()
  width = max(len(e.name) for e in entries)
  for e in entries:
    params = ", ".join(p for p in pyinspect.signature(e.factory).parameters)
    print(f"{e.name:<{width}}  {e.equivalent}")
    print(f"{'':<{width}}    ({params})")
  return 0


def _cmd_plot(argv: Sequence[str]) -> int:
  named, args, steps = _schedules("plot", argv)
  path = _plotting.plot(named, steps, args.output, log_y=args.log_y)
  print(f"wrote {path}")
  return 0


def _cmd_inspect(argv: Sequence[str]) -> int:
  named, _, steps = _schedules("inspect", argv)
  for name, schedule in named:
    print(f"{name} over {steps} steps")
    print(_plotting.inspect(schedule, steps))
  return 0


def _compare_operand(text: str, named: dict) -> tuple:
  """``(schedule, config)`` for a name in --config, a config file or an inline YAML mapping."""
  if text in named:
    return named[text]
  looks_like_file = text.strip().lower().endswith((".yaml", ".yml", ".json"))
  if looks_like_file and not pathlib.Path(text).is_file():
    raise _UsageError(f"{text}: no such file")
  cfg = _config.load_config(pathlib.Path(text) if looks_like_file else text)
  if not isinstance(cfg, dict):
    where = f"names in --config: {', '.join(named)}" if named else "no --config given"
    raise _UsageError(
      f"{text!r} is not a schedule: give a config file, an inline YAML mapping "
      f"like '{{type: constant, value: 0.1}}' or a name from --config FILE "
      f"({where})"
    )
  if "type" not in cfg:
    raise _UsageError(
      f"{text} holds several schedules ({', '.join(map(str, cfg))}): use "
      f"--config {text} and name one"
    )
  schedule = _config.from_config(cfg)
  schedule = getattr(schedule, "schedule", schedule)  # a training block's schedule
  if not callable(schedule):
    raise _UsageError(f"{text}: {cfg['type']} is a transformation, not a schedule")
  return schedule, cfg


def _cmd_compare(argv: Sequence[str]) -> int:
  parser = _Parser(
    prog=f"{PROG} compare",
    description="Compare SCHEDULE with REFERENCE step by step: prints the largest absolute and "
    "relative deviations and the first step beyond tolerance (|s - r| > atol + rtol |r|); exits "
    "0 when there is none, 1 when there is one. Each of REFERENCE and SCHEDULE is a config file "
    "(.yaml, .yml or .json) holding one schedule, an inline YAML mapping such as "
    "'{type: step_decay, init_value: 0.1, step_size: 30}', or a name from --config FILE.",
  )
  parser.add_argument("reference", metavar="REFERENCE", help="the schedule compared against")
  parser.add_argument("schedule", metavar="SCHEDULE", help="the schedule checked")
  parser.add_argument(
    "--config",
    type=pathlib.Path,
    default=None,
    metavar="FILE",
    help="YAML file: name -> {type: NAME, ...keywords}, whose names REFERENCE and SCHEDULE may be",
  )
  parser.add_argument(
    "--steps",
    type=int,
    default=None,
    help="steps to compare (default: the largest total_steps of the two)",
  )
  parser.add_argument("--rtol", type=float, default=1e-5, help="default: 1e-05")
  parser.add_argument("--atol", type=float, default=0.0, help="default: 0.0")
  args = parser.parse_args(argv)
  named = {}
  if args.config is not None:
    schedules, configs = _from_config_file(args.config)
    named = {name: (sched, cfg) for (name, sched), cfg in zip(schedules, configs)}
  reference, ref_cfg = _compare_operand(args.reference, named)
  schedule, cfg = _compare_operand(args.schedule, named)
  steps = _steps(args, [ref_cfg, cfg])
  result = porting.compare(reference, schedule, steps, rtol=args.rtol, atol=args.atol)
  print(
    f"{args.schedule} against {args.reference} over {steps} steps "
    f"(rtol={args.rtol:g}, atol={args.atol:g})"
  )
  print(f"max abs deviation  {result.max_abs_deviation:.6g}")
  print(f"max rel deviation  {result.max_rel_deviation:.6g}")
  if result.first_mismatch is None:
    print("first mismatch     none")
    return 0
  t = result.first_mismatch
  print(
    f"first mismatch     step {t}: {args.reference} {float(reference(t)):.9g}, "
    f"{args.schedule} {float(schedule(t)):.9g}"
  )
  return 1


def _demo_init(key: jax.Array) -> dict:
  """Initial parameters of the built-in problem's MLP."""
  keys = jax.random.split(key, 2)
  return {
    "w1": jax.random.normal(keys[0], (8, 32)) * 0.3,
    "b1": jnp.zeros(32),
    "w2": jax.random.normal(keys[1], (32,)) * 0.3,
    "b2": jnp.zeros(()),
  }


def _demo_problem(seed: int = 0):
  """A one-hidden-layer tanh MLP regressing a smooth function (squared error)."""
  rng = np.random.default_rng(seed)
  x = rng.normal(size=(512, 8)).astype(np.float32)
  y = np.sin(x @ rng.normal(size=8)).astype(np.float32) + 0.1 * rng.normal(size=512).astype(
    np.float32
  )
  params = _demo_init(jax.random.PRNGKey(seed))

  def loss_fn(p, batch):
    inputs, targets = batch
    prediction = jnp.tanh(inputs @ p["w1"] + p["b1"]) @ p["w2"] + p["b2"]
    return jnp.mean((prediction - targets) ** 2)

  return loss_fn, params, (jnp.asarray(x), jnp.asarray(y))


def _cmd_lr_find(argv: Sequence[str]) -> int:
  parser = _Parser(
    prog=f"{PROG} lr-find",
    description="LR range test on a built-in problem (a small tanh MLP "
    "regressing a smooth function): writes the plot and prints the suggestions.",
    formatter_class=argparse.ArgumentDefaultsHelpFormatter,
  )
  parser.add_argument("-o", "--output", type=pathlib.Path, default=pathlib.Path("lr_find.png"))
  parser.add_argument("--start-lr", type=float, default=1e-5)
  parser.add_argument("--end-lr", type=float, default=100.0)
  parser.add_argument("--num-steps", type=int, default=200)
  parser.add_argument("--optimizer", choices=("sgd", "adam"), default="sgd")
  parser.add_argument(
    "--mode",
    choices=_finder.SWEEP_MODES,
    default="exponential",
    help="how the LR rises from --start-lr to --end-lr",
  )
  parser.add_argument(
    "--trials",
    type=int,
    default=1,
    help="range tests from different initializations, run together; above 1 "
    "the suggestions are medians over the trials, with their quartiles, and "
    "the plot shows the trials' band",
  )
  parser.add_argument("--seed", type=int, default=0, help="seed of the trials' initializations")
  args = parser.parse_args(argv)
  if args.trials < 1:
    raise _UsageError(f"--trials={args.trials} must be >= 1")
  loss_fn, params, data = _demo_problem()
  kwargs = dict(
    optimizer=getattr(optax, args.optimizer),
    start_lr=args.start_lr,
    end_lr=args.end_lr,
    num_steps=args.num_steps,
    mode=args.mode,
  )
  if args.trials == 1:
    result = _finder.lr_find(loss_fn, params, data, **kwargs)
  else:
    result = _finder.lr_find(
      loss_fn,
      None,
      data,
      init_fn=_demo_init,
      num_trials=args.trials,
      key=jax.random.key(args.seed),
      **kwargs,
    )
  for rule, lr in result.suggestions.items():
    if args.trials == 1:
      print(f"{rule:>9}: {lr:.4g}")
    else:
      assert result.trial_suggestions is not None  # lr_find always sets it
      q1, q3 = np.quantile(np.log(result.trial_suggestions[rule]), [0.25, 0.75])
      print(
        f"{rule:>9}: {lr:.4g} (median of {args.trials} trials, quartiles "
        f"{np.exp(q1):.4g}..{np.exp(q3):.4g})"
      )
  if args.trials == 1:
    print(f"stopped at step {result.stop_step} (lr {result.lrs[-1]:.4g})")
  else:
    assert result.trial_stop_steps is not None  # lr_find always sets it
    print(
      f"stopped at steps {', '.join(map(str, result.trial_stop_steps))} "
      f"(last lr {result.lrs[-1]:.4g})"
    )
  print(f"wrote {result.plot(args.output)}")
  return 0


def _cmd_explore(argv: Sequence[str]) -> int:
  parser = _Parser(
    prog=f"{PROG} explore",
    description="A local page (http://127.0.0.1:PORT/) to design and compare schedules: "
    "arguments, overlays, a family swept over one argument, the code that builds them, exports.",
  )
  parser.add_argument("--port", type=int, default=8765, help="default: 8765; 0 picks a free one")
  parser.add_argument("--no-browser", action="store_true", help="do not open a web browser")
  args = parser.parse_args(argv)
  if not 0 <= args.port <= 65535:
    raise _UsageError(f"--port={args.port} must be in [0, 65535]")
  from jaxsched.tools import _explore  # pylint: disable=import-outside-toplevel

  try:
    server = _explore.make_server(args.port)
  except OSError as e:
    raise _UsageError(
      f"cannot listen on 127.0.0.1:{args.port} ({e.strerror}); try --port 0"
    ) from None
  _explore.serve(server, open_browser=not args.no_browser)
  return 0


def _names(text: str, option: str) -> list:
  names = [n.strip() for n in text.split(",") if n.strip()]
  if not names:
    raise _UsageError(f"{option} {text!r}: give one or more run names separated by commas")
  return names


def _cmd_law_fit(argv: Sequence[str]) -> int:
  parser = _Parser(
    prog=f"{PROG} law fit",
    description="Fit a loss law to runs of a study: reads METRICS (a study's metrics.jsonl) and "
    "the config.json beside it, which rebuilds each run's schedule; a run spec's seeds are "
    "averaged. Prints the law and, with --heldout, its errors on other runs.",
  )
  parser.add_argument("metrics", type=pathlib.Path, metavar="METRICS", help="metrics.jsonl")
  parser.add_argument(
    "--runs", required=True, help="the runs to fit, e.g. 'constant,cosine' (spec or spec/seedK)"
  )
  parser.add_argument("--metric", default="val_loss", help="the loss to fit (default: val_loss)")
  parser.add_argument(
    "--kind", choices=laws.KINDS, default="momentum", help="the law (default: momentum)"
  )
  parser.add_argument(
    "--decay", type=float, default=0.999, help="the momentum law's decay (default: 0.999)"
  )
  parser.add_argument("--heldout", default=None, help="runs to predict and score, comma-separated")
  parser.add_argument("-o", "--output", type=pathlib.Path, default=None, help="law JSON to write")
  parser.add_argument(
    "--plot", type=pathlib.Path, default=None, help="image of predicted against measured curves"
  )
  args = parser.parse_args(argv)
  fitted = _names(args.runs, "--runs")
  heldout = _names(args.heldout, "--heldout") if args.heldout is not None else []
  curves = laws.load_curves(args.metrics, fitted + heldout, metric=args.metric)
  law = laws.fit_loss_law([curves[n] for n in fitted], args.kind, decay=args.decay)
  points = sum(len(curves[n][1]) for n in fitted)
  print(f"{law.kind} law fitted to {', '.join(fitted)} ({args.metric}, {points} points)")
  print("  " + "   ".join(f"{k} {v:.6g}" for k, v in law.params.items()))
  print(f"  residual (RMS of the log error) {law.residual:.4g}")
  if heldout:
    errors = laws.evaluate_law(law, [curves[n] for n in heldout])
    width = max(len(n) for n in heldout)
    print(f"{'held out':<{width}}  final step  measured  predicted  rel error   MAPE")
    for name, e in zip(heldout, errors):
      print(
        f"{name:<{width}}  {e.final_step:>10d}  {e.final_loss:>8.4f}  "
        f"{e.final_loss_predicted:>9.4f}  {e.final_rel_error:>+9.2%}  {e.curve_mape:>6.2%}"
      )
  if args.output is not None:
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(law.to_json() + "\n")
    print(f"wrote {args.output}")
  if args.plot is not None:
    print(f"wrote {_plotting.plot_law(law, {n: curves[n] for n in fitted + heldout}, args.plot)}")
  return 0


def _cmd_law_predict(argv: Sequence[str]) -> int:
  parser = _Parser(
    prog=f"{PROG} law predict",
    description="The loss curves a fitted law (the JSON of `jaxsched law fit -o`) predicts for "
    "the schedules of a YAML file; prints each one's loss after the last step.",
  )
  parser.add_argument("law", type=pathlib.Path, metavar="LAW", help="law JSON")
  parser.add_argument(
    "--config",
    type=pathlib.Path,
    required=True,
    help="YAML file: name -> {type: NAME, ...keywords}",
  )
  parser.add_argument(
    "--steps",
    type=int,
    default=None,
    help="the run's number of updates (default: the schedules' total_steps)",
  )
  parser.add_argument("-o", "--output", type=pathlib.Path, default=None, help="image to write")
  args = parser.parse_args(argv)
  if not args.law.is_file():
    raise _UsageError(f"{args.law}: no such file")
  law = laws.LossLaw.from_json(args.law.read_text())
  named, configs = _from_config_file(args.config)
  steps = _steps(args, configs)
  width = max(len(name) for name, _ in named)
  print(f"{law.kind} law: the loss after update {steps - 1}")
  finals = [(float(law.predict(schedule, steps - 1)), name) for name, schedule in named]
  for final, name in sorted(finals):
    print(f"{name:<{width}}  {final:.5f}")
  if args.output is not None:
    curves = {name: (schedule, [steps - 1]) for name, schedule in named}
    print(f"wrote {_plotting.plot_law(law, curves, args.output, title=f'{law.kind} law')}")
  return 0


_LAW_COMMANDS = {"fit": _cmd_law_fit, "predict": _cmd_law_predict}


def _cmd_law(argv: Sequence[str]) -> int:
  if not argv or argv[0] in ("-h", "--help"):
    print(
      f"usage: {PROG} law {{fit,predict}} ...\n\n"
      "  fit       fit a loss law to runs of a study's metrics.jsonl\n"
      "  predict   the loss curves a fitted law predicts for schedules of a YAML file\n\n"
      f"`{PROG} law COMMAND --help` for each command's options."
    )
    return 0 if argv else 2
  if argv[0] not in _LAW_COMMANDS:
    raise _UsageError(f"unknown law command {argv[0]!r}; choose from fit, predict")
  return _LAW_COMMANDS[argv[0]](argv[1:])


COMMANDS = {
  "list": _cmd_list,
  "plot": _cmd_plot,
  "inspect": _cmd_inspect,
  "compare": _cmd_compare,
  "lr-find": _cmd_lr_find,
  "explore": _cmd_explore,
  "law": _cmd_law,
}


def main(argv: Optional[Sequence[str]] = None) -> int:
  """Runs the command line; returns the exit status."""
  argv = list(sys.argv[1:] if argv is None else argv)
  if not argv or argv[0] in ("-h", "--help"):
    out = sys.stdout if argv else sys.stderr
    print(
      f"usage: {PROG} {{{','.join(COMMANDS)}}} ...\n\n"
      "  list      every schedule and the PyTorch / transformers schedule it matches\n"
      "  plot      plot one schedule (NAME --kw value ...) or several (--config FILE)\n"
      "  inspect   min, max, warmup, stretches, areas S1 and S2, warnings of a schedule\n"
      "  compare   two schedules step by step: largest deviations, first mismatch\n"
      "  lr-find   LR range test on a built-in problem, with its plot\n"
      "  explore   a local web page to design and compare schedules\n"
      "  law       fit a loss law to a study's curves; predict schedules' loss curves\n\n"
      f"`{PROG} COMMAND --help` for each command's options.",
      file=out,
    )
    return 0 if argv else 2
  command, rest = argv[0], argv[1:]
  try:
    if command not in COMMANDS:
      raise _UsageError(f"unknown command {command!r}; choose from {', '.join(COMMANDS)}")
    return COMMANDS[command](rest)
  except (_UsageError, ValueError) as e:
    print(f"{PROG} {command}: error: {e}", file=sys.stderr)
    return 2
