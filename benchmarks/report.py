"""Renders a ``benchmarks.run`` JSON file as the generated part of ``benchmarks/RESULTS.md``.

``python -m benchmarks.report benchmarks/results.json`` rewrites the text between
the ``<!-- generated:start -->`` and ``<!-- generated:end -->`` markers of
RESULTS.md (``--print`` writes it to stdout instead): the command and machine,
the load average before and after, one table row per benchmark with its target
and whether it was met, and the FLOP rates where a row records them. The
analysis around the markers is written by hand from the same run.
"""

import argparse
import json
import pathlib
import sys

START, END = "<!-- generated:start -->", "<!-- generated:end -->"
RESULTS_MD = pathlib.Path(__file__).with_name("RESULTS.md")
# A run that starts above this 1-minute load average is marked for a rerun. The value at the end
# includes the run's own work (it keeps both cores busy), so it is shown, not judged.
QUIET_LOAD = 1.5


def _num(x, digits: int = 3) -> str:
  if x is None:
    return "-"
  return f"{x:.{digits}g}"


def _met(entry: dict) -> str:
  if "target" not in entry:
    return "-"
  return {True: "yes", False: "**NO**", None: "n/a"}[entry.get("target_met")]


def _compile(entry: dict) -> str:
  c = entry.get("compile", {})
  ours, base = c.get("ours_s"), c.get("baseline_s")
  return f"{ours or 0:.2f} / {base or 0:.2f}"


def header_lines(header: dict) -> list:
  v, d = header["versions"], header["device"]
  start, end = header["load_average_start"], header["load_average_end"]
  quiet = start[0] <= QUIET_LOAD
  loads = lambda xs: " / ".join(f"{x:.2f}" for x in xs)
  return [
    "```bash",
    f"{header['command']}      # {header['seconds_total']:.0f} s",
    "```",
    "",
    f"- Date {header['date_utc'][:16].replace('T', ' ')} UTC. CPU: `{d['cpu_model']}`, "
    f"{d['cpu_count']} cores ({d['cpus_available']} available), backend `{d['jax_backend']}`, "
    f"devices {d['jax_devices']}, PyTorch threads = {d['torch_threads']}.",
    "- " + ", ".join(f"{k} {val}" for k, val in v.items()) + ". XLA_FLAGS: "
    f"`{header['env'].get('XLA_FLAGS')}`.",
    f"- **Load average (1/5/15 min): {loads(start)} at the start, {loads(end)} at the end** "
    + (
      f"(quiet at the start: at most {QUIET_LOAD}; the end includes the run's own two busy cores)."
      if quiet
      else f"(**not quiet**: above {QUIET_LOAD} at the start; rerun)."
    ),
  ]


def table_lines(entries: list) -> list:
  lines = [
    "| benchmark | ours | baseline | ours s | baseline s | ratio | speedup | "
    "compile ours / baseline s | target | met |",
    "|---|---|---|---|---|---|---|---|---|---|",
  ]
  for e in entries:
    t = e["timings"]
    lines.append(
      f"| {e['name']} | {e['ours']} | {e['baseline']} | {_num(t['ours_s'])} | "
      f"{_num(t['baseline_s'])} | {_num(e['ratio'])} | {_num(e['speedup'])} | "
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


def render(result: dict) -> str:
  entries = result["entries"]
  met = [e for e in entries if e.get("target_met") is True]
  missed = [e for e in entries if e.get("target_met") is False]
  lines = (
    ["## Command and machine", ""]
    + header_lines(result["header"])
    + [
      "",
      "## Results",
      "",
      f"{len(entries)} rows; {len(met) + len(missed)} with a target: {len(met)} met, "
      f"{len(missed)} missed ({', '.join(e['name'] for e in missed) or 'none'}).",
      "",
    ]
  )
  lines += table_lines(entries) + rate_lines(entries)
  return "\n".join(lines)


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(
    prog="python -m benchmarks.report", description=__doc__.split("\n")[0]
  )
  parser.add_argument(
    "json",
    nargs="+",
    type=pathlib.Path,
    help="benchmarks.run JSON files (their entries are concatenated; the "
    "first one's header is shown)",
  )
  parser.add_argument("--print", action="store_true", help="write to stdout, not RESULTS.md")
  args = parser.parse_args(argv)
  results = [json.loads(p.read_text()) for p in args.json]
  merged = dict(results[0], entries=[e for r in results for e in r["entries"]])
  text = render(merged)
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
  print(f"wrote {RESULTS_MD}")
  return 0


if __name__ == "__main__":
  sys.exit(main())
