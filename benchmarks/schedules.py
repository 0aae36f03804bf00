"""Sections 1 and 2: schedule evaluation against Optax and against PyTorch's schedulers.

1. jaxsched vs the Optax schedule computing the same curve: the whole curve of
   ``n`` steps in one jitted call, and one LR per call of a jitted function on a
   scalar step (dispatch-dominated). The curves are checked equal first.
2. jaxsched's curve (one jitted call, copied to a NumPy array) vs a
   ``torch.optim.lr_scheduler`` on a dummy SGD stepped ``n - 1`` times in its
   Python loop, reading the LR from the param group after each step.
"""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxsched
from benchmarks import timing

PEAK = 1e-3


def optax_pairs(n: int) -> dict:
  """name -> (jaxsched schedule, Optax schedule, Optax name), equal on steps 0..n-1."""
  b1 = int(0.3 * n)
  cycle = n // 10
  return {
    "warmup_cosine": (
      jaxsched.warmup_cosine(PEAK, n // 100, n, end_value=1e-5),
      optax.warmup_cosine_decay_schedule(0.0, PEAK, n // 100, n, end_value=1e-5),
      "optax.warmup_cosine_decay_schedule",
    ),
    # Optax's one-cycle over T steps is PyTorch's (jaxsched's) over T + 1 steps
    # with the peak at step int(0.3 T) (tests/test_parity_reference.py).
    "one_cycle": (
      jaxsched.one_cycle(PEAK, n + 1, pct_start=(b1 + 1) / (n + 1)),
      optax.cosine_onecycle_schedule(n, PEAK, pct_start=0.3),
      "optax.cosine_onecycle_schedule",
    ),
    # Ten restarts; sgdr_schedule is join_schedules over ten cosine pieces.
    "cosine_warm_restarts": (
      jaxsched.cosine_warm_restarts(PEAK, cycle, eta_min=1e-6),
      optax.sgdr_schedule(
        [dict(init_value=PEAK, peak_value=PEAK, warmup_steps=0, decay_steps=cycle, end_value=1e-6)]
        * 10
      ),
      "optax.sgdr_schedule (10 cycles)",
    ),
    "exponential_decay": (
      jaxsched.exponential_decay(PEAK, 0.96, transition_steps=n // 100),
      optax.exponential_decay(PEAK, n // 100, 0.96),
      "optax.exponential_decay",
    ),
  }


def _max_rel_diff(a, b) -> float:
  a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
  return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def _vectorized(schedule, steps) -> tuple:
  """``schedule`` applied to an array of steps: directly, or vmapped where it only takes a scalar.

  Optax's piecewise_interpolate_schedule (its one-cycle) accepts only a scalar
  count; ``jax.vmap`` is how a user gets its curve.
  """
  try:
    jax.eval_shape(schedule, steps)
    return schedule, "direct"
  except TypeError:
    return jax.vmap(schedule), "vmap"


def run_optax(quick: bool) -> list:
  n = 10**4 if quick else 10**6
  curve_repeats, curve_number = (2, 2) if quick else (21, 5)
  call_repeats, call_number = (2, 50) if quick else (21, 500)
  steps = jnp.arange(n, dtype=jnp.int32)
  step = jnp.asarray(n // 2, jnp.int32)
  entries = []
  for name, (ours, theirs, theirs_name) in optax_pairs(n).items():
    theirs_vec, theirs_mode = _vectorized(theirs, steps)
    ours_curve, theirs_curve = jax.jit(ours), jax.jit(theirs_vec)
    t = timing.alternate(
      {"ours": lambda: ours_curve(steps), "theirs": lambda: theirs_curve(steps)},
      repeats=curve_repeats,
      number=curve_number,
      warmup=2,
    )
    diff = _max_rel_diff(ours_curve(steps), theirs_curve(steps))
    entries.append(
      timing.entry(
        "schedules",
        f"curve/{name}",
        ours=f"jaxsched.{name}",
        baseline=theirs_name,
        ours_t=t["ours"],
        baseline_t=t["theirs"],
        work=f"{n} steps in one jitted call",
        target=("ratio", "<=", 1.05),
        max_rel_diff=diff,
        baseline_call=theirs_mode,
      )
    )
    # A fresh jitted function per side: jit(lambda t: sched(t)) on a device scalar.
    ours_one, theirs_one = jax.jit(lambda s: ours(s)), jax.jit(lambda s: theirs(s))
    t = timing.alternate(
      {"ours": lambda: ours_one(step), "theirs": lambda: theirs_one(step)},
      repeats=call_repeats,
      number=call_number,
      warmup=3,
    )
    entries.append(
      timing.entry(
        "schedules",
        f"scalar_call/{name}",
        ours=f"jaxsched.{name}",
        baseline=theirs_name,
        ours_t=t["ours"],
        baseline_t=t["theirs"],
        work="one LR per jitted call (scalar step)",
        target=("ratio", "<=", 1.05),
      )
    )
  return entries


def torch_pairs(n: int) -> dict:
  """name -> (jaxsched schedule, torch scheduler factory taking the optimizer, torch name)."""
  from torch.optim import lr_scheduler as ls  # pylint: disable=import-outside-toplevel

  return {
    "cosine_annealing": (
      jaxsched.cosine_annealing(PEAK, n, eta_min=1e-6),
      lambda opt: ls.CosineAnnealingLR(opt, T_max=n, eta_min=1e-6),
      "CosineAnnealingLR",
    ),
    "one_cycle": (
      jaxsched.one_cycle(PEAK, n),
      lambda opt: ls.OneCycleLR(opt, max_lr=PEAK, total_steps=n),
      "OneCycleLR",
    ),
    "cosine_warm_restarts": (
      jaxsched.cosine_warm_restarts(PEAK, n // 10, eta_min=1e-6),
      lambda opt: ls.CosineAnnealingWarmRestarts(opt, T_0=n // 10, eta_min=1e-6),
      "CosineAnnealingWarmRestarts",
    ),
    "exponential_decay": (
      jaxsched.exponential_decay(PEAK, 0.9999),
      lambda opt: ls.ExponentialLR(opt, gamma=0.9999),
      "ExponentialLR",
    ),
  }


def _torch_curve(make_scheduler, n: int) -> np.ndarray:
  """The classic loop: build the optimizer and scheduler, step n - 1 times, read the LR."""
  import torch  # pylint: disable=import-outside-toplevel

  param = torch.nn.Parameter(torch.zeros(1))
  opt = torch.optim.SGD([param], lr=PEAK)
  scheduler = make_scheduler(opt)
  group = opt.param_groups[0]
  lrs = [group["lr"]]
  for _ in range(n - 1):
    scheduler.step()
    lrs.append(group["lr"])
  return np.asarray(lrs)


def run_torch(quick: bool) -> list:
  n = 10**3 if quick else 10**5
  repeats = 1 if quick else 5
  steps = jnp.arange(n, dtype=jnp.int32)
  entries = []
  with warnings.catch_warnings():
    # No optimizer.step() in the loop: only the scheduler is measured.
    warnings.filterwarnings("ignore", message=".*lr_scheduler.step.*")
    for name, (ours, make, torch_name) in torch_pairs(n).items():
      curve = jax.jit(ours)
      t = timing.alternate(
        {"ours": lambda: np.asarray(curve(steps)), "torch": lambda: _torch_curve(make, n)},
        repeats=repeats,
        number=1,
        warmup=1,
      )
      diff = _max_rel_diff(np.asarray(curve(steps)), _torch_curve(make, n))
      entries.append(
        timing.entry(
          "torch_schedulers",
          f"curve_vs_torch/{name}",
          ours=f"jaxsched.{name} (jit, to NumPy)",
          baseline=f"torch.optim.lr_scheduler.{torch_name} (Python loop)",
          ours_t=t["ours"],
          baseline_t=t["torch"],
          work=f"{n} steps",
          max_rel_diff=diff,
        )
      )
  return entries
