"""Prints every schedule with its counterpart, then plots a few and a vmapped sweep.

Usage: python -m experiments.schedule_tour --out DIR [--total-steps N]
"""

import argparse
import json
import pathlib

import jax
import jax.numpy as jnp

import jaxsched


def _curves(total_steps: int) -> dict[str, jax.Array]:
  """A handful of common schedules over ``total_steps`` steps, one jitted call each."""
  peak = 1e-3
  schedules = {
    "warmup_cosine": jaxsched.warmup_cosine(peak, total_steps // 20, total_steps, end_value=1e-5),
    "one_cycle": jaxsched.one_cycle(peak, total_steps),
    "cosine_warm_restarts": jaxsched.cosine_warm_restarts(peak, total_steps // 7, t_mult=2),
    "cyclic (triangular2)": jaxsched.cyclic(1e-4, peak, total_steps // 10, mode="triangular2"),
    "warmup_stable_decay": jaxsched.warmup_stable_decay(
      peak, total_steps // 20, total_steps // 5, total_steps=total_steps, decay_kind="1-sqrt"
    ),
    "grokking": jaxsched.grokking(peak, total_steps),
  }
  steps = jnp.arange(total_steps)
  return {name: jax.jit(s)(steps) for name, s in schedules.items()}


def _warmup_sweep(total_steps: int) -> tuple[jax.Array, jax.Array]:
  """Four warmup lengths of one schedule in a single vmapped, jitted call."""
  warmups = jnp.array([0, 1, 2, 4]) * (total_steps // 20)
  steps = jnp.arange(total_steps)

  @jax.jit
  def curves(w):
    return jax.vmap(lambda w: jaxsched.warmup_cosine(1e-3, w, total_steps, end_value=1e-6)(steps))(
      w
    )

  return warmups, curves(warmups)


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("out/schedule_tour"))
  parser.add_argument("--total-steps", type=int, default=10_000)
  args = parser.parse_args()
  args.out.mkdir(parents=True, exist_ok=True)

  width = max(len(e.name) for e in jaxsched.catalog())
  print(f"{'schedule':{width}}  matches")
  for entry in jaxsched.catalog():
    print(f"{entry.name:{width}}  {entry.equivalent}")

  curves = _curves(args.total_steps)
  warmups, sweep = _warmup_sweep(args.total_steps)
  summary = {name: {"max": float(v.max()), "final": float(v[-1])} for name, v in curves.items()}
  (args.out / "summary.json").write_text(json.dumps(summary, indent=2))

  import matplotlib  # pylint: disable=import-outside-toplevel

  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel

  fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 7), sharex=True)
  for name, values in curves.items():
    top.plot(values, label=name)
  top.set_ylabel("learning rate")
  top.set_title("jaxsched schedules (each one jitted call over every step)")
  top.legend(fontsize=8)
  for w, values in zip(warmups.tolist(), sweep):
    bottom.plot(values, label=f"warmup_steps={w}")
  bottom.set_xlabel("step")
  bottom.set_ylabel("learning rate")
  bottom.set_title("warmup_cosine, four warmup lengths in one jax.vmap")
  bottom.legend(fontsize=8)
  fig.tight_layout()
  path = args.out / "schedules.png"
  fig.savefig(path, dpi=110)
  print(f"\nwrote {path} and {args.out / 'summary.json'}")


if __name__ == "__main__":
  main()
