"""A study's records written as the engine writes them, from a loss law with known parameters.

Shared by the law tests and the command-line tests: ``config.json`` (``learning_rate`` and
``runs``, each ``{name, schedule}``) and ``metrics.jsonl`` rows whose ``step`` counts the
updates done and whose ``lr`` is the rate of the last one.
"""

import json
import pathlib

import numpy as np

import jaxsched

PEAK, TOTAL, WARMUP = 3e-4, 1000, 50
# Run spec name -> schedule config (the study's learning_rate fills the peak).
RUNS = {
  "constant": {"type": "warmup_constant", "warmup_steps": WARMUP},
  "cosine": {
    "type": "warmup_cosine",
    "warmup_steps": WARMUP,
    "total_steps": TOTAL,
    "end_value": 3e-6,
  },
  "wsd": {
    "type": "warmup_stable_decay",
    "warmup_steps": WARMUP,
    "decay_steps": 200,
    "total_steps": TOTAL,
  },
}


def write_study(
  directory: pathlib.Path,
  law,
  runs=None,
  seeds=(0, 1),
  every: int = 50,
  total: int = TOTAL,
  offset=(0.0, 0.02),
) -> pathlib.Path:
  """Writes the records of ``runs`` (default: :data:`RUNS`) whose ``val_loss`` is ``law``'s
  prediction plus ``offset[seed]``; returns the path of ``metrics.jsonl``."""
  runs = RUNS if runs is None else runs
  directory.mkdir(parents=True, exist_ok=True)
  config = {"learning_rate": PEAK, "runs": [{"name": n, "schedule": s} for n, s in runs.items()]}
  (directory / "config.json").write_text(json.dumps(config))
  rows = []
  for name, spec in runs.items():
    sched = jaxsched.resolve_config(spec, learning_rate=PEAK).build()
    done = np.arange(every, total + 1, every)
    loss = np.asarray(law.predict(sched, done - 1))
    for seed in seeds:
      for step, value in zip(done, loss + offset[seed]):
        rows.append(
          {
            "run": f"{name}/seed{seed}",
            "spec": name,
            "seed": seed,
            "step": int(step),
            "diverged": False,
            "lr": float(sched(step - 1)),
            "val_loss": float(value),
          }
        )
  (directory / "metrics.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
  return directory / "metrics.jsonl"
