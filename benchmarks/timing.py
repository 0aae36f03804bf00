"""The timing helper every benchmark uses, and the JSON entry it produces.

``alternate`` warms every side up first (the first call traces and compiles),
then times the sides in turn in this one process, A B, B A, A B, ... (the
first side rotates each repeat), blocking on every call's result. The median
of the repeats is the number reported. JAX compile time is read from JAX's
own monitoring events (trace, lowering and backend compile durations) during
the warm-up, so it is reported apart from the steady-state time; events seen
during the timed calls are kept per sample (they should be zero; ``lr_find``
recompiles on every call and subtracts them).
"""

import gc
import math
import statistics
import time
from typing import Any, NamedTuple, Optional

import jax
from jax import monitoring

_COMPILE_EVENTS = (
  "/jax/core/compile/jaxpr_trace_duration",
  "/jax/core/compile/jaxpr_to_mlir_module_duration",
  "/jax/core/compile/backend_compile_duration",
)
_compile_seconds = [0.0]  # running total of JAX trace + lower + compile time in this process


def _on_event(name: str, seconds: float, **_: Any) -> None:
  if name in _COMPILE_EVENTS:
    _compile_seconds[0] += seconds


monitoring.register_event_duration_secs_listener(_on_event)


def compile_seconds() -> float:
  """JAX trace + lowering + compile seconds spent in this process so far."""
  return _compile_seconds[0]


def block(out: Any) -> Any:
  """Waits for every JAX array in ``out``; other leaves (torch, numpy, floats) are ready."""
  for leaf in jax.tree.leaves(out):
    if hasattr(leaf, "block_until_ready"):
      leaf.block_until_ready()
  return out


class Timing(NamedTuple):
  """One side's measurements, in seconds per call."""

  median_s: float
  times_s: list  # one per repeat: mean over `number` calls
  first_call_s: float  # the first warm-up call: trace + compile + one run
  jax_compile_s: float  # JAX compile events during the warm-up
  compile_in_timed_s: list  # JAX compile events during each timed repeat (per call)


def alternate(sides: dict, *, repeats: int, number: int = 1, warmup: int = 1) -> dict:
  """Times zero-argument callables against each other, interleaved.

  Args:
    sides: name -> callable doing one unit of work and returning its output
      (blocked on before the clock stops).
    repeats: timed repeats per side; the median is reported.
    number: calls per repeat (their mean is one sample), for short calls.
    warmup: untimed calls per side before timing (at least one).

  Returns:
    name -> :class:`Timing`.
  """
  first, compiled = {}, {}
  for name, fn in sides.items():
    before = compile_seconds()
    start = time.perf_counter()
    block(fn())
    first[name] = time.perf_counter() - start
    for _ in range(max(warmup, 1) - 1):
      block(fn())
    compiled[name] = compile_seconds() - before
  times = {name: [] for name in sides}
  in_timed = {name: [] for name in sides}
  names = list(sides)
  for r in range(repeats):
    gc.collect()
    # Rotate who goes first each repeat (A B, B A, A B, ...; A B C, B C A, ...) so that
    # no side always runs right after the collection or after the same neighbour.
    for name in names[r % len(names) :] + names[: r % len(names)]:
      fn = sides[name]
      before = compile_seconds()
      start = time.perf_counter()
      for _ in range(number):
        block(fn())
      times[name].append((time.perf_counter() - start) / number)
      in_timed[name].append((compile_seconds() - before) / number)
  return {
    name: Timing(
      statistics.median(times[name]), times[name], first[name], compiled[name], in_timed[name]
    )
    for name in sides
  }


def _finite_positive(x: Optional[float]) -> bool:
  return x is not None and math.isfinite(x) and x > 0


def entry(
  section: str,
  name: str,
  *,
  ours: str,
  baseline: str,
  ours_t: Timing,
  baseline_t: Optional[Timing],
  work: str,
  target: Optional[tuple] = None,
  ours_s: Optional[float] = None,
  baseline_s: Optional[float] = None,
  baseline_compile_s: Optional[float] = None,
  error: Optional[str] = None,
  **extra: Any,
) -> dict:
  """One benchmark's JSON record.

  ``ratio`` is always ours_s / baseline_s (below 1: ours is faster) and
  ``speedup`` its inverse. ``target`` is ``("ratio", "<=", 1.05)`` or
  ``("speedup", ">=", 2.0)``. ``ours_s``/``baseline_s`` override the medians
  (e.g. execution time with the recompilation subtracted).
  """
  ours_s = ours_t.median_s if ours_s is None else ours_s
  if baseline_t is not None and baseline_s is None:
    baseline_s = baseline_t.median_s
  ratio = ours_s / baseline_s if _finite_positive(ours_s) and _finite_positive(baseline_s) else None
  record = {
    "section": section,
    "name": name,
    "ours": ours,
    "baseline": baseline,
    "work": work,
    "timings": {
      "ours_s": ours_s,
      "baseline_s": baseline_s,
      "ours_repeats_s": ours_t.times_s,
      "baseline_repeats_s": baseline_t.times_s if baseline_t else None,
    },
    "compile": {
      "ours_s": ours_t.jax_compile_s,
      "ours_first_call_s": ours_t.first_call_s,
      "baseline_s": (
        baseline_compile_s
        if baseline_compile_s is not None
        else (baseline_t.jax_compile_s if baseline_t else None)
      ),
      "baseline_first_call_s": baseline_t.first_call_s if baseline_t else None,
    },
    "ratio": ratio,
    "ratio_is": "ours_s / baseline_s (< 1: ours faster)",
    "speedup": 1.0 / ratio if ratio else None,
  }
  if target is not None:
    metric, op, value = target
    got = record[metric]
    record["target"] = f"{metric} {op} {value}"
    record["target_met"] = None if got is None else (got <= value if op == "<=" else got >= value)
  if error is not None:
    record["error"] = error
  record.update(extra)
  return record
