"""Renders ``benchmarks.run`` JSON files as the generated part of ``benchmarks/RESULTS.md``.

    python -m benchmarks.report [RESULTS.json ...] [--print]

Each file is one machine's run; without arguments, ``benchmarks/results.json``
(this project's measured run) and every other ``benchmarks/results_*.json``.
The text between the ``<!-- generated:start -->`` and ``<!-- generated:end -->``
markers of RESULTS.md is rewritten (``--print`` writes it to stdout instead):
per CPU family, each run's command and machine (its CPU model first), the load
average before and after, one table row per benchmark with its target and
whether it was met, the FLOP rates where a row records them, and the engine's
``auto`` choice per group where the run measured it. With runs from more than
one machine, a table first sets the rows they share side by side, the CPU
model a column. A file may hold figures reported from another machine
(``"reported"``: where they come from and what was measured there); its
missing numbers show as ``-``. The analysis around the markers is written by
hand from the same runs.
"""

import argparse
import json
import pathlib
import sys

START, END = "<!-- generated:start -->", "<!-- generated:end -->"
HERE = pathlib.Path(__file__).parent
RESULTS_MD = HERE / "RESULTS.md"
RESULTS_JSON = HERE / "results.json"
# A run that starts above this 1-minute load average is marked for a rerun. The value at the end
# includes the run's own work (it keeps both cores busy), so it is shown, not judged.
QUIET_LOAD = 1.5


def default_files() -> list:
  """``results.json``, then every other ``results_*.json`` beside it, by name."""
  return [RESULTS_JSON] + sorted(HERE.glob("results_*.json"))


def _num(x, digits: int = 3) -> str:
  if x is None:
    return "-"
  return f"{x:.{digits}g}"


def _met(entry: dict) -> str:
  if "target" not in entry:
    return "-"
  return {True: "yes", False: "**NO**", None: "n/a"}[entry.get("target_met")]


def _compile(entry: dict) -> str:
  c = entry.get("compile") or {}
  ours, base = c.get("ours_s"), c.get("baseline_s")
  if ours is None and base is None:
    return "-"
  return f"{ours or 0:.2f} / {base or 0:.2f}"


def cpu_family(cpu_model: str) -> str:
  """``AMD``, ``Intel``, ``Arm`` or the model string itself."""
  lowered = cpu_model.lower()
  for family, marks in (
    ("AMD", ("amd", "epyc", "ryzen")),
    ("Intel", ("intel", "xeon")),
    ("Arm", ("arm", "neoverse", "graviton", "apple")),
  ):
    if any(mark in lowered for mark in marks):
      return family
  return cpu_model


def _loads(xs) -> str:
  return " / ".join(f"{x:.2f}" for x in xs)


def header_lines(result: dict) -> list:
  """The command, the machine (CPU model first), the versions and the load of one run."""
  header = result["header"]
  v, d = header.get("versions") or {}, header["device"]
  seconds = header.get("seconds_total")
  lines = [
    "```bash",
    header["command"] + (f"      # {seconds:.0f} s" if seconds is not None else ""),
    "```",
    "",
  ]
  if "reported" in result:
    lines += [f"- **Reported, not measured here**: {result['reported']}"]
  date = header.get("date_utc")
  lines += [
    f"- CPU: `{d['cpu_model']}`, {d.get('cpu_count', '?')} cores "
    f"({d.get('cpus_available', '?')} available), backend `{d.get('jax_backend', '?')}`, "
    f"PyTorch threads = {d.get('torch_threads', '?')}."
    + (f" Date {date[:16].replace('T', ' ')} UTC." if date else ""),
  ]
  if v:
    lines.append(
      "- "
      + ", ".join(f"{k} {val}" for k, val in v.items())
      + f". XLA_FLAGS: `{(header.get('env') or {}).get('XLA_FLAGS')}`."
    )
  start, end = header.get("load_average_start"), header.get("load_average_end")
  if start and end:
    quiet = start[0] <= QUIET_LOAD
    lines.append(
      f"- **Load average (1/5/15 min): {_loads(start)} at the start, {_loads(end)} at the end** "
      + (
        f"(quiet at the start: at most {QUIET_LOAD}; the end includes the run's own two busy "
        "cores)."
        if quiet
        else f"(**not quiet**: above {QUIET_LOAD} at the start; rerun)."
      )
    )
  elif header.get("load_reported"):
    lines.append(f"- Load average: {header['load_reported']}.")
  return lines


def table_lines(entries: list) -> list:
  lines = [
    "| benchmark | ours | baseline | ours s | baseline s | ratio | speedup | "
    "compile ours / baseline s | target | met |",
    "|---|---|---|---|---|---|---|---|---|---|",
  ]
  for e in entries:
    t = e.get("timings") or {}
    baseline = e["baseline"] + (f" (error: {e['error']})" if "error" in e else "")
    lines.append(
      f"| {e['name']} | {e['ours']} | {baseline} | {_num(t.get('ours_s'))} | "
      f"{_num(t.get('baseline_s'))} | {_num(e['ratio'])} | {_num(e['speedup'])} | "
      f"{_compile(e)} | {e.get('target', '-')} | {_met(e)} |"
    )
  return lines


def rate_lines(entries: list) -> list:
  rated = [e for e in entries if "gflop_per_s" in e]
  if not rated:
    return []
  lines = [
    "",
    "FLOP rates (model matmul FLOPs of forward + backward per second; peak = the "
    "`matmul_peak` row's faster side):",
    "",
    "| benchmark | GFLOP per call | ours GFLOP/s | baseline GFLOP/s | ours % of peak | "
    "baseline % of peak |",
    "|---|---|---|---|---|---|",
  ]
  for e in rated:
    ours, base = e["gflop_per_s"].get("ours"), e["gflop_per_s"].get("baseline")
    pct = e.get("percent_of_peak", {})
    lines.append(
      f"| {e['name']} | {_num(e.get('gflop_per_call'))} | {_num(ours)} | "
      f"{_num(base)} | {_num(pct.get('ours'), 2)} | {_num(pct.get('baseline'), 2)} |"
    )
  return lines


def autotune_lines(entries: list) -> list:
  """One row per group where the run measured the engine's ``auto`` against each mode."""
  tuned = [e["autotune"] for e in entries if "autotune" in e]
  if not tuned:
    return []
  lines = [
    "",
    "Execution modes: the engine's `auto` (its first chunk trained in each mode, the fastest "
    "kept) against each mode, seconds per chunk, alternated; the probe's cost apart (the "
    "first chunk of the two modes it did not keep, in chunks of the kept mode, and their "
    "compilation):",
    "",
    "| group | engine's first chunk s: sequential / map / vmap | auto chose | steady s: "
    "sequential / map / vmap | fastest | auto / fastest | probe extra (chunks) | "
    "probe compile s |",
    "|---|---|---|---|---|---|---|---|",
  ]
  modes = ("sequential", "map", "vmap")
  for a in tuned:
    probe = " / ".join(_num(a["engine_probe_s"].get(m)) for m in modes)
    steady = " / ".join(_num(a["median_s"][m]) for m in modes)
    lines.append(
      f"| {a['group']} | {probe} | {a['chose']} | {steady} | {a['best']} | "
      f"{a['auto_over_best']:.3f} | {a['probe_extra_s']:.3g} s ({a['probe_extra_chunks']:.2f}) "
      f"| {a['compile_extra_s']:.2f} |"
    )
  return lines


def _run_lines(result: dict) -> list:
  entries = result["entries"]
  met = [e for e in entries if e.get("target_met") is True]
  missed = [e for e in entries if e.get("target_met") is False]
  lines = header_lines(result) + [
    "",
    f"{len(entries)} rows; {len(met) + len(missed)} with a target: {len(met)} met, "
    f"{len(missed)} missed ({', '.join(e['name'] for e in missed) or 'none'}).",
    "",
  ]
  return lines + table_lines(entries) + rate_lines(entries) + autotune_lines(entries)


def _label(result: dict) -> str:
  header = result["header"]
  date = (header.get("date_utc") or "")[:10]
  if "reported" in result:
    return f"{date} (reported)" if date else "reported"
  return date


def across_lines(results: list) -> list:
  """The rows that more than one run holds, side by side: benchmark, CPU, speedup, ratio."""
  names: dict = {}
  for result in results:
    for e in result["entries"]:
      names.setdefault(e["name"], []).append((result, e))
  shared = {name: rows for name, rows in names.items() if len(rows) > 1}
  if not shared:
    return []
  lines = [
    "## Across machines",
    "",
    "The rows measured on more than one machine (speedup = baseline_s / ours_s, above 1: "
    "ours is faster). Runs of different dates ran different code: see each run's section.",
    "",
    "| benchmark | CPU | run | speedup | ratio |",
    "|---|---|---|---|---|",
  ]
  for name, rows in shared.items():
    for result, e in rows:
      lines.append(
        f"| {name} | {result['header']['device']['cpu_model']} | {_label(result)} | "
        f"{_num(e['speedup'])} | {_num(e['ratio'])} |"
      )
  return lines + [""]


def render(*results: dict) -> str:
  """The generated part of RESULTS.md for one or more runs (the first: this project's own)."""
  if len(results) == 1:
    return "\n".join(["## Command and machine", ""] + _run_lines(results[0]))
  families: dict = {}
  for result in results:
    family = cpu_family(result["header"]["device"]["cpu_model"])
    families.setdefault(family, []).append(result)
  lines = across_lines(list(results))
  for family, runs in families.items():
    for result in runs:
      lines += [f"## {family}: {result['header']['device']['cpu_model']}, {_label(result)}", ""]
      lines += _run_lines(result) + [""]
  return "\n".join(lines).rstrip("\n")


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(
    prog="python -m benchmarks.report", description=__doc__.split("\n")[0]
  )
  parser.add_argument(
    "json",
    nargs="*",
    type=pathlib.Path,
    help="benchmarks.run JSON files, one per machine (default: benchmarks/results.json and "
    "benchmarks/results_*.json)",
  )
  parser.add_argument("--print", action="store_true", help="write to stdout, not RESULTS.md")
  args = parser.parse_args(argv)
  files = args.json or default_files()
  text = render(*(json.loads(p.read_text()) for p in files))
  if args.print:
    print(text)
    return 0
  current = RESULTS_MD.read_text()
  if START not in current or END not in current:
    print(f"{RESULTS_MD}: no {START} ... {END} markers", file=sys.stderr)
    return 2
  before, rest = current.split(START, 1)
  after = rest.split(END, 1)[1]
  RESULTS_MD.write_text(f"{before}{START}\n{text}\n{END}{after}")
  print(f"wrote {RESULTS_MD} from {', '.join(str(p) for p in files)}")
  return 0


if __name__ == "__main__":
  sys.exit(main())
