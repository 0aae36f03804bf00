"""law: loss curves of nine schedules for fitting and checking loss-curve laws (jaxsched.laws).

Character-level pydoc text, context 64, batch 32, 2 layers, 3000 steps, the
validation loss on 256 fixed windows every 50 steps (a curve of 60 points), 2
seeds. Every schedule has the same 100-step linear warmup and the same peak,
1e-2: the best LR of width 64 with warmup in the earlier ``cpu`` run
(``results/cpu_earlier/sensitivity.json``). The laws are fitted on ``constant``
and ``cosine`` (to 0), as Tissue et al. and Luo et al. fit; the others are held
out: warmup-stable-decay with 10% and 20% cooldowns (linear and 1-sqrt), linear
decay to 0, step decay (x0.1 at 50% and 75% of the run) and cosine to 10% of
the peak. ``experiments.lm_warmup.law`` fits the laws, predicts the held-out
curves and writes the schedule ``jaxsched.optimize_schedule`` finds as a config
file that trains over this preset (``--config``).

Sizing: one width (``law-wide`` is width 128). The 18 runs took 43 min on one
core of the 2-core machine (the other core busy; 119-131 s per 3000-step run once compiled), the
optimized schedule's 2 runs 6 min (``law-wide``, width 128: 75 min).
"""

from experiments.common import config as config_lib
from experiments.lm_warmup.config import Config
from experiments.lm_warmup.configs import cpu

STEPS = 3000
WARMUP = 100
PEAK = 1e-2
WIDTHS = (64,)


def schedules(total: int = STEPS, warmup: int = WARMUP, peak: float = PEAK) -> dict:
  """Name -> schedule config of every schedule of the preset, all absolute (peak included)."""
  wsd = {"type": "warmup_stable_decay", "peak_value": peak, "warmup_steps": warmup}
  out = {
    "constant": {"type": "warmup_constant", "peak_value": peak, "warmup_steps": warmup},
    "cosine": {
      "type": "warmup_cosine",
      "peak_value": peak,
      "warmup_steps": warmup,
      "total_steps": total,
      "end_value": 0.0,
    },
  }
  for share in (10, 20):
    for kind in ("linear", "1-sqrt"):
      out[f"wsd{share}-{kind}"] = {
        **wsd,
        "decay_steps": total * share // 100,
        "total_steps": total,
        "decay_kind": kind,
      }
  out["linear"] = {
    "type": "warmup_linear",
    "peak_value": peak,
    "warmup_steps": warmup,
    "total_steps": total,
  }
  out["step"] = {
    "type": "sequential",
    "schedules": [
      {"type": "warmup_constant", "peak_value": peak, "warmup_steps": warmup},
      {
        "type": "multistep_decay",
        "init_value": peak,
        "milestones": [total // 2 - warmup, 3 * total // 4 - warmup],
        "gamma": 0.1,
      },
    ],
    "boundaries": [warmup],
  }
  out["cosine10"] = {
    "type": "warmup_cosine",
    "peak_value": peak,
    "warmup_steps": warmup,
    "total_steps": total,
    "end_value": 0.1 * peak,
  }
  return out


FIT_ON = ("constant", "cosine")


def run_name(width: int, schedule: str) -> str:
  """The run spec's name: ``width=<w>/<schedule>``."""
  return f"width={width}/{schedule}"


def get_config(widths: tuple = WIDTHS) -> Config:
  """The preset at ``widths`` (``law-wide`` is the same at width 128)."""
  runs = [
    # learning_rate: the peak for the optimizer's independent weight decay, for the schedules
    # without a base rate of their own (sequential, piecewise_linear).
    {"name": run_name(width, name), "schedule": spec, "learning_rate": PEAK, "width": width}
    for width in widths
    for name, spec in schedules().items()
  ]
  return config_lib.replace(
    cpu.base(runs),
    {"total_steps": STEPS, "checkpoint_every": 1500, "eval_windows": 256, "seeds": (0, 1)},
  )
