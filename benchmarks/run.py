"""Runs the benchmarks, prints a table and writes JSON.

    python -m benchmarks.run [--quick] [--json PATH] [--only SECTION ...]

Sections: schedules (jaxsched vs Optax), torch_schedulers (vs PyTorch's
schedulers), train_step (schedule / plateau overhead in an Adam step),
grokking_step (the grokking study's steps vs PyTorch eager and torch.compile,
and its execution modes with the engine's ``auto``), lr_find (vs seed 000's
range test), lm_step (the LM study's step vs PyTorch eager, and its LR grid's
execution modes with ``auto``). Every entry's ``ratio`` is ours_s / baseline_s
(below 1: ours is faster); ``speedup`` is its inverse. ``--quick`` uses tiny
sizes and one or two repeats (a smoke test, not a result). A full run takes
about 7 minutes on 2 quiet cores; the committed numbers are made with

    python -m benchmarks.run --json benchmarks/results.json && python -m benchmarks.report
"""

import argparse
import datetime
import json
import os
import pathlib
import platform
import sys
import time

import jax

from benchmarks import grokking_step
from benchmarks import lm_step
from benchmarks import lr_find
from benchmarks import report
from benchmarks import schedules
from benchmarks import train_step
from experiments.common import machine

SECTIONS = {
  "schedules": schedules.run_optax,
  "torch_schedulers": schedules.run_torch,
  "train_step": train_step.run,
  "grokking_step": grokking_step.run,
  "lr_find": lr_find.run,
  "lm_step": lm_step.run,
}


def header(argv: list) -> dict:
  """Versions, device and machine load, for the JSON."""
  import flax  # pylint: disable=import-outside-toplevel
  import jaxlib  # pylint: disable=import-outside-toplevel
  import optax  # pylint: disable=import-outside-toplevel
  import torch  # pylint: disable=import-outside-toplevel

  return {
    "command": " ".join(["python", "-m", "benchmarks.run", *argv]),
    "date_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    "versions": {
      "python": platform.python_version(),
      "jax": jax.__version__,
      "jaxlib": jaxlib.__version__,
      "optax": optax.__version__,
      "flax": flax.__version__,
      "torch": torch.__version__,
    },
    "device": {
      "jax_devices": [str(d) for d in jax.devices()],
      "jax_backend": jax.default_backend(),
      "platform": platform.platform(),
      "cpu_model": machine.cpu_model(),
      "cpu_count": os.cpu_count(),
      "cpus_available": len(os.sched_getaffinity(0)),
      "torch_threads": torch.get_num_threads(),
    },
    "env": {k: os.environ.get(k) for k in ("XLA_FLAGS", "OMP_NUM_THREADS", "JAX_PLATFORMS")},
    "load_average_start": list(os.getloadavg()),
  }


def main(argv=None) -> int:
  argv = sys.argv[1:] if argv is None else argv
  parser = argparse.ArgumentParser(
    prog="python -m benchmarks.run", description=__doc__.split("\n")[0]
  )
  parser.add_argument("--quick", action="store_true", help="tiny sizes, 1-2 repeats (smoke test)")
  parser.add_argument("--json", default="benchmarks/results.json", help="where to write the JSON")
  parser.add_argument(
    "--only",
    nargs="+",
    choices=sorted(SECTIONS),
    metavar="SECTION",
    help=f"run only these sections: {', '.join(SECTIONS)}",
  )
  args = parser.parse_args(argv)

  import torch  # pylint: disable=import-outside-toplevel

  torch.set_num_threads(os.cpu_count() or 1)
  # Compile times are measured: a persistent compilation cache (JAX_COMPILATION_CACHE_DIR, as the
  # test suite sets) would turn them into loads of an executable compiled earlier.
  jax.config.update("jax_enable_compilation_cache", False)
  result = {"header": header(argv), "quick": args.quick, "entries": [], "sections": {}}
  began = time.perf_counter()
  for name in args.only or SECTIONS:
    print(f"[{name}] ...", flush=True)
    start = time.perf_counter()
    entries = SECTIONS[name](args.quick)
    result["sections"][name] = {"seconds": time.perf_counter() - start, "entries": len(entries)}
    result["entries"].extend(entries)
    print(f"[{name}: {len(entries)} entries, {time.perf_counter() - start:.1f} s]", flush=True)
  result["header"]["seconds_total"] = time.perf_counter() - began
  result["header"]["load_average_end"] = list(os.getloadavg())
  print("\n".join(report.table_lines(result["entries"])))
  print(
    f"\nratio = ours_s / baseline_s (< 1: ours faster); speedup = 1 / ratio. "
    f"{result['header']['seconds_total']:.0f} s; load average "
    f"{result['header']['load_average_start'][0]:.2f} -> "
    f"{result['header']['load_average_end'][0]:.2f}"
  )
  path = pathlib.Path(args.json)
  path.parent.mkdir(parents=True, exist_ok=True)
  path.write_text(json.dumps(result, indent=2, default=float))
  print(f"wrote {path}")
  return 0


if __name__ == "__main__":
  sys.exit(main())
