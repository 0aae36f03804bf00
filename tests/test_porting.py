"""from_torch, to_torch, get_scheduler and compare, against PyTorch and transformers run live.

Reference rates always come from a real scheduler: an optimizer with one dummy
parameter per param group, ``optimizer.param_groups[i]["lr"]`` read before
each ``scheduler.step()``. A conversion is checked on a scheduler already
stepped ``k`` times: its schedule must still give the rates of a fresh
identical scheduler from step 0 (steps count from construction) and, at
``scheduler.last_epoch``, the rate the optimizer holds now.
"""

import copy
import io
import os
import pathlib
import subprocess
import sys
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
import transformers
from curves import assert_curve_close
from curves import jax_curve
from torch.optim import lr_scheduler as L
from transformers import optimization as hf

import jaxsched
from jaxsched.porting import _objects
from jaxsched.porting import _tabulate
from jaxsched.porting import _transformers

KS = (0, 1, 7)  # steps taken before converting


def _optimizer(lrs=(0.1,), kind="sgd", momentum=0.9):
  groups = [{"params": [torch.nn.Parameter(torch.zeros(()))], "lr": lr} for lr in lrs]
  if kind == "adam":
    return torch.optim.Adam(groups, lr=lrs[0], betas=(0.9, 0.999))
  return torch.optim.SGD(groups, lr=lrs[0], momentum=momentum)


def _momentum_of(group):
  return group["betas"][0] if "betas" in group else group["momentum"]


def _run(scheduler, n, *, metrics=None):
  """Rates (and momenta) of every group for n steps: arrays of shape (n, groups)."""
  opt = scheduler.optimizer
  lrs, momenta = [], []
  for t in range(n):
    lrs.append([g["lr"] for g in opt.param_groups])
    momenta.append([_momentum_of(g) for g in opt.param_groups])
    if t + 1 < n:  # OneCycleLR raises when stepped past total_steps
      scheduler.step()
  return np.asarray(lrs, np.float64), np.asarray(momenta, np.float64)


def _as_list(x):
  return x if isinstance(x, list) else [x]


def _check_parity(make, n, lrs=(0.1,), kind="sgd"):
  """from_torch of make(optimizer) stepped k times follows a fresh one from step 0."""
  want, _ = _run(make(_optimizer(lrs, kind)), n)
  for k in KS:
    opt = _optimizer(lrs, kind)
    scheduler = make(opt)
    for _ in range(k):
      scheduler.step()
    converted = _as_list(jaxsched.from_torch(scheduler))
    assert len(converted) == len(lrs)
    for i, sched in enumerate(converted):
      assert_curve_close(jax_curve(sched, n), want[:, i], what=f"group {i} after {k} steps")
      now = float(jax.jit(sched)(k))  # the rate the optimizer holds now
      assert now == pytest.approx(opt.param_groups[i]["lr"], rel=1e-5, abs=1e-9)


# ------------------------------------------------------------ torch classes

# id -> (optimizer -> scheduler, steps, group learning rates)
TORCH_CASES = {
  "StepLR": (lambda o: L.StepLR(o, step_size=4, gamma=0.5), 20, (0.1, 0.02)),
  "MultiStepLR": (lambda o: L.MultiStepLR(o, milestones=[9, 3, 9], gamma=0.3), 15, (0.1,)),
  "ConstantLR": (lambda o: L.ConstantLR(o, factor=0.25, total_iters=9), 15, (0.1,)),
  "ConstantLR-total0": (lambda o: L.ConstantLR(o, factor=0.5, total_iters=0), 10, (0.1,)),
  "LinearLR": (
    lambda o: L.LinearLR(o, start_factor=0.2, end_factor=0.9, total_iters=10),
    15,
    (0.1, 0.3),
  ),
  "LinearLR-total0": (lambda o: L.LinearLR(o, start_factor=0.2, total_iters=0), 10, (0.1,)),
  "ExponentialLR": (lambda o: L.ExponentialLR(o, gamma=0.8), 20, (0.1,)),
  "PolynomialLR": (lambda o: L.PolynomialLR(o, total_iters=12, power=2.0), 18, (0.1,)),
  "PolynomialLR-total0": (lambda o: L.PolynomialLR(o, total_iters=0), 10, (0.1,)),
  "CosineAnnealingLR": (lambda o: L.CosineAnnealingLR(o, T_max=6, eta_min=0.01), 20, (0.1, 0.5)),
  "CosineAnnealingWarmRestarts": (
    lambda o: L.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=0.001),
    30,
    (0.1,),
  ),
  "CyclicLR-triangular2": (
    lambda o: L.CyclicLR(
      o,
      base_lr=[0.01, 0.001],
      max_lr=[0.1, 0.005],
      step_size_up=3,
      step_size_down=5,
      mode="triangular2",
      cycle_momentum=False,
    ),
    40,
    (0.01, 0.001),
  ),
  "CyclicLR-exp_range": (
    lambda o: L.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=4, mode="exp_range", gamma=0.95),
    30,
    (0.01,),
  ),
  "OneCycleLR": (lambda o: L.OneCycleLR(o, max_lr=[0.1, 0.3], total_steps=30), 30, (0.1, 0.3)),
  "SWALR": (
    lambda o: torch.optim.swa_utils.SWALR(o, swa_lr=[0.01, 0.05], anneal_epochs=8),
    20,
    (0.1, 0.02),
  ),
  "SWALR-linear-0": (
    lambda o: torch.optim.swa_utils.SWALR(o, 0.03, anneal_epochs=0, anneal_strategy="linear"),
    10,
    (0.1,),
  ),
  "OneCycleLR-3phase-linear": (
    lambda o: L.OneCycleLR(
      o,
      max_lr=0.1,
      total_steps=31,
      pct_start=0.25,
      anneal_strategy="linear",
      three_phase=True,
      div_factor=10.0,
      final_div_factor=100.0,
    ),
    31,
    (0.1,),
  ),
  "SequentialLR": (
    lambda o: L.SequentialLR(
      o,
      [
        L.LinearLR(o, start_factor=0.1, total_iters=4),
        L.ExponentialLR(o, gamma=0.9),
        L.CosineAnnealingLR(o, T_max=5),
      ],
      milestones=[4, 10],
    ),
    25,
    (0.1, 0.02),
  ),
  "SequentialLR-transformers": (
    lambda o: L.SequentialLR(
      o,
      [L.ConstantLR(o, factor=0.5, total_iters=9), hf.get_linear_schedule_with_warmup(o, 3, 12)],
      [5],
    ),
    20,
    (0.1,),
  ),
  "ChainedScheduler": (
    lambda o: L.ChainedScheduler(
      [
        L.ConstantLR(o, factor=0.5, total_iters=3),
        L.ExponentialLR(o, gamma=0.9),
        L.MultiStepLR(o, milestones=[6, 8], gamma=0.5),
      ],
      o,
    ),
    15,
    (0.1, 0.02),
  ),
  # Nested: a chain of chains is a product.
  "Chained-in-Chained": (
    lambda o: L.ChainedScheduler(
      [
        L.ChainedScheduler([L.LinearLR(o, 0.5, total_iters=4), L.StepLR(o, 3, 0.5)], o),
        L.PolynomialLR(o, total_iters=12),
      ],
      o,
    ),
    15,
    (0.1,),
  ),
  # Nested first in a SequentialLR, torch starts the inner one a step ahead: its
  # milestones come one step early and its first scheduler is started by a plain step().
  "Sequential-in-Sequential": (
    lambda o: L.SequentialLR(
      o,
      [
        L.SequentialLR(o, [L.ExponentialLR(o, 0.8), L.StepLR(o, 2, 0.5)], [4]),
        L.CosineAnnealingLR(o, T_max=4),
      ],
      [8],
    ),
    20,
    (0.1,),
  ),
  "Chained-in-Sequential": (
    lambda o: L.SequentialLR(
      o,
      [
        L.ChainedScheduler(
          [
            L.ConstantLR(o, 0.5, total_iters=2),
            L.ExponentialLR(o, 0.7),
            L.PolynomialLR(o, total_iters=9),
          ],
          o,
        ),
        L.StepLR(o, 3, 0.5),
      ],
      [6],
    ),
    15,
    (0.1, 0.02),
  ),
}


@pytest.mark.parametrize("case", list(TORCH_CASES))
def test_from_torch_matches_torch(case):
  make, n, lrs = TORCH_CASES[case]
  _check_parity(make, n, lrs)


def test_every_listed_class_has_a_case():
  covered = {name.split("-")[0] for name in TORCH_CASES}
  # LambdaLR: the transformers tests below; ReduceLROnPlateau: its own tests.
  assert set(_objects.TORCH_CLASSES) - {"LambdaLR", "ReduceLROnPlateau"} <= covered


def test_steps_per_epoch_counts_updates():
  opt = _optimizer()
  scheduler = L.StepLR(opt, step_size=2, gamma=0.5)
  want, _ = _run(L.StepLR(_optimizer(), step_size=2, gamma=0.5), 5)  # per epoch
  sched = jaxsched.from_torch(scheduler, steps_per_epoch=3)
  assert_curve_close(jax_curve(sched, 15), np.repeat(want[:, 0], 3), what="per update")


# ------------------------------------------------------------- transformers

PEAK = 1e-3

# get_* function -> (optimizer -> scheduler, steps), compared past num_training_steps:
# the cosine schedules follow transformers' cosine back up there.
HF_CASES = {
  "get_constant_schedule": (lambda o: hf.get_constant_schedule(o), 10),
  "get_constant_schedule_with_warmup": (lambda o: hf.get_constant_schedule_with_warmup(o, 6), 12),
  "get_linear_schedule_with_warmup": (lambda o: hf.get_linear_schedule_with_warmup(o, 4, 20), 26),
  "get_cosine_schedule_with_warmup": (
    lambda o: hf.get_cosine_schedule_with_warmup(o, 4, 20, num_cycles=0.75),
    61,
  ),
  "get_cosine_with_hard_restarts_schedule_with_warmup": (
    lambda o: hf.get_cosine_with_hard_restarts_schedule_with_warmup(o, 3, 20, num_cycles=3),
    25,
  ),
  "get_polynomial_decay_schedule_with_warmup": (
    lambda o: hf.get_polynomial_decay_schedule_with_warmup(o, 3, 20, lr_end=1e-5, power=2.0),
    25,
  ),
  "get_inverse_sqrt_schedule": (lambda o: hf.get_inverse_sqrt_schedule(o, 5, timescale=3), 20),
  "get_cosine_with_min_lr_schedule_with_warmup": (
    lambda o: hf.get_cosine_with_min_lr_schedule_with_warmup(o, 4, 20, min_lr=1e-5),
    61,
  ),
  "get_cosine_with_min_lr_schedule_with_warmup_lr_rate": (
    lambda o: hf.get_cosine_with_min_lr_schedule_with_warmup_lr_rate(
      o, 5, 20, min_lr_rate=0.1, warmup_lr_rate=0.2
    ),
    60,
  ),
  "get_wsd_schedule": (
    lambda o: hf.get_wsd_schedule(
      o, 4, 6, num_training_steps=20, warmup_type="cosine", decay_type="1-sqrt", min_lr_ratio=0.1
    ),
    25,
  ),
}
# Not LambdaLR schedules: ReduceLROnPlateau (tested below), GreedyLR, Adafactor's proxy,
# and get_scheduler itself.
HF_OTHER = {
  "get_reduce_on_plateau_schedule",
  "get_greedy_schedule",
  "get_adafactor_schedule",
  "get_scheduler",
}


def test_every_transformers_schedule_function_has_a_case():
  names = {n for n in dir(hf) if n.startswith("get_") and "schedule" in n}
  assert names - HF_OTHER == set(HF_CASES)


def test_one_table_holds_every_scheduler_type_and_every_lambda():
  """get_scheduler's names and from_torch's LambdaLR functions are the rows of one table."""
  assert list(_transformers.TABLE) == [t.value for t in transformers.SchedulerType]
  lambdas = {n for n in dir(hf) if n.startswith("_get_") and "lambda" in n}
  assert {row.lr_lambda for row in _transformers.TABLE.values()} - {None} == lambdas
  for name, row in _transformers.TABLE.items():
    if row.lr_lambda is None:  # ReduceLROnPlateau and GreedyLR: transformations
      assert jaxsched.registry()[row.factory.__name__].factory is row.factory, name
      continue
    specific = {"min_lr_rate": 0.1} if "min_lr" in name else None
    specific = {"num_decay_steps": 6} if name == "warmup_stable_decay" else specific
    made = hf.get_scheduler(name, _optimizer((PEAK,)), 4, 20, specific)
    assert getattr(made.lr_lambdas[0], "func", made.lr_lambdas[0]).__name__ == row.lr_lambda, name
    want, _ = _run(made, 20)
    got = jaxsched.get_scheduler(name, PEAK, 4, 20, specific)
    assert_curve_close(jax_curve(got, 20), want[:, 0], what=f"get_scheduler {name}")
    converted = jaxsched.from_torch(hf.get_scheduler(name, _optimizer((PEAK,)), 4, 20, specific))
    assert_curve_close(jax_curve(converted, 20), want[:, 0], what=f"from_torch {name}")


@pytest.mark.parametrize("case", list(HF_CASES))
def test_from_torch_matches_transformers(case):
  make, n = HF_CASES[case]
  # Two groups: the second one's rate scales transformers' lambda (lr_end and lr_init
  # of the polynomial schedule stay absolute, the optimizer's default rate).
  _check_parity(make, n, lrs=(PEAK, 3 * PEAK))


@pytest.mark.parametrize(
  "make",
  [
    lambda o: hf.get_cosine_schedule_with_warmup(o, 2, 10),
    lambda o: hf.get_cosine_schedule_with_warmup(o, 0, 7, num_cycles=1.5),
    lambda o: hf.get_cosine_schedule_with_warmup(o, 5, 5),  # T == W: transformers divides by 1
    lambda o: hf.get_cosine_with_min_lr_schedule_with_warmup(o, 3, 13, min_lr_rate=0.2),
    lambda o: hf.get_cosine_with_min_lr_schedule_with_warmup_lr_rate(o, 0, 9, min_lr_rate=0.1),
    lambda o: hf.get_cosine_with_min_lr_schedule_with_warmup_lr_rate(
      o, 4, 11, num_cycles=0.8, min_lr=1e-5
    ),
  ],
)
def test_transformers_cosine_is_followed_past_the_end(make):
  # transformers keeps following the cosine after num_training_steps (back up to the
  # peak for a half cosine); the conversion does too, at every step the object is stepped.
  scheduler = make(_optimizer((PEAK, 2 * PEAK)))
  for _ in range(5):
    scheduler.step()
  converted = jaxsched.from_torch(scheduler)
  total = scheduler.lr_lambdas[0].keywords["num_training_steps"]
  report = jaxsched.compare(scheduler, converted, 12 * total, atol=1e-6 * PEAK)
  assert report.first_mismatch is None, report
  want, _ = _run(make(_optimizer((PEAK,))), 3 * total)
  assert want[total + 1 :, 0].max() > 0.5 * PEAK  # the reference climbs back up
  # get_scheduler, from the same table, follows it too.
  kw = scheduler.lr_lambdas[0].keywords
  name = {
    "_get_cosine_schedule_with_warmup_lr_lambda": "cosine_with_min_lr",
    "_get_cosine_with_min_lr_schedule_with_warmup_lr_rate_lambda": "cosine_warmup_with_min_lr",
  }[scheduler.lr_lambdas[0].func.__name__]
  specific = {"num_cycles": kw["num_cycles"], "min_lr_rate": kw.get("min_lr_rate", 0.0)}
  if name == "cosine_warmup_with_min_lr":
    specific["warmup_lr_rate"] = kw["warmup_lr_rate"]
  by_name = jaxsched.get_scheduler(name, PEAK, kw["num_warmup_steps"], total, specific)
  assert_curve_close(jax_curve(by_name, 3 * total), want[:, 0], what=f"get_scheduler {name}")


# ----------------------------------------------------------------- OneCycleLR


def _steppable(scheduler, cap):
  """How many steps from now a copy of ``scheduler`` can be stepped through (at most cap)."""
  twin, n = copy.deepcopy(scheduler), 1
  with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    while n < cap:
      try:
        twin.step()
      except (ValueError, ZeroDivisionError):
        break
      n += 1
  return n


def test_one_cycle_equals_torch_on_every_step_it_can_be_stepped():
  """Random cycles, any pct_start in [0, 1] (three phases above 0.5), to step total_steps."""
  rng = np.random.default_rng(7)
  checked = negatives = 0
  for trial in range(30):
    total = int(rng.integers(1, 50))
    kwargs = dict(
      total_steps=total,
      pct_start=float(rng.choice([0.0, 1.0, rng.uniform(0.5, 1.0), rng.uniform(0.0, 1.0)])),
      three_phase=bool(rng.integers(2)),
      anneal_strategy=str(rng.choice(["cos", "linear"])),
      div_factor=float(rng.uniform(2.0, 50.0)),
      final_div_factor=float(rng.uniform(2.0, 1e4)),
    )
    try:
      scheduler = L.OneCycleLR(_optimizer((0.1,), kind="adam"), max_lr=0.1, **kwargs)
    except ZeroDivisionError:  # a first phase of zero length: torch divides 0 by 0
      continue
    for _ in range(int(rng.integers(0, _steppable(scheduler, total + 2)))):
      scheduler.step()
    n = _steppable(scheduler, 2 * total + 2)
    lr, momentum = jaxsched.from_torch(scheduler, with_momentum=True)
    start, rates, moments = _tabulate.torch_values(scheduler, n, "test", momentum=True)
    if rates.min() < 0:  # torch's linear extrapolation at step total_steps: 0 here
      negatives += 1
      assert kwargs["anneal_strategy"] == "linear" and np.all(rates[:-1] >= 0)
      assert float(lr(start + n - 1)) == 0.0 and start + n - 1 == total
      n -= 1
    if n:
      report = jaxsched.compare(scheduler, lr, n)
      assert report.first_mismatch is None, (trial, kwargs, report)
    # A momentum torch extrapolates past 1 at step total_steps is held at 1.
    curve = jax_curve(momentum, start + len(moments))[start:]
    assert_curve_close(curve, np.clip(moments[:, 0], 0, 1), what=f"momentum {trial} {kwargs}")
    checked += 1
  assert checked > 20 and negatives > 2


def test_one_cycle_three_phases_late_as_torch():
  """pct_start > 0.5 with three phases: the cycle ends while the rate falls back."""
  for pct in (0.6, 0.75, 0.9, 1.0):
    _check_parity(
      lambda o, pct=pct: L.OneCycleLR(
        o, max_lr=0.1, total_steps=30, pct_start=pct, three_phase=True
      ),
      31,
      lrs=(0.1,),
    )
    sched = jaxsched.one_cycle(0.1, 30, pct_start=pct, three_phase=True)
    assert float(sched(29)) > 0.1 / 25 * 1.001  # still above the initial rate at the end


@pytest.mark.parametrize(
  "name,kwargs,n",
  [
    ("linear", {}, 26),
    ("cosine", {"num_cycles": 0.75}, 21),
    ("cosine_with_restarts", {"num_cycles": 2}, 25),
    ("polynomial", {"lr_end": 1e-5, "power": 3.0}, 25),
    ("constant", None, 10),
    ("constant_with_warmup", None, 12),
    ("inverse_sqrt", {}, 25),
    ("cosine_with_min_lr", {"min_lr": 1e-5}, 21),
    ("cosine_warmup_with_min_lr", {"min_lr_rate": 0.05}, 20),
    ("warmup_stable_decay", {"num_decay_steps": 6, "decay_type": "linear"}, 25),
  ],
)
def test_get_scheduler_matches_transformers(name, kwargs, n):
  opt = _optimizer((PEAK,))
  want, _ = _run(
    transformers.get_scheduler(
      name, opt, num_warmup_steps=4, num_training_steps=20, scheduler_specific_kwargs=kwargs
    ),
    n,
  )
  sched = jaxsched.get_scheduler(
    name, PEAK, num_warmup_steps=4, num_training_steps=20, scheduler_specific_kwargs=kwargs
  )
  assert_curve_close(jax_curve(sched, n), want[:, 0], what=f"get_scheduler({name!r})")


def test_get_scheduler_accepts_scheduler_type():
  sched = jaxsched.get_scheduler(transformers.SchedulerType.COSINE, PEAK, 2, 10)
  assert float(sched(2)) == pytest.approx(PEAK)


@pytest.mark.parametrize(
  "name,warmup,total,kwargs",
  [
    ("cosine", None, 10, None),
    ("inverse_sqrt", None, None, None),
    ("linear", 2, None, None),
    ("no_such_schedule", 2, 10, None),
    ("cosine_with_min_lr", 2, 10, {"min_lr": 1e-5, "min_lr_rate": 0.1}),
    ("cosine_with_min_lr", 2, 10, {}),
    ("warmup_stable_decay", 2, None, {"num_decay_steps": 3}),
    ("polynomial", 2, 10, {"lr_end": 1.0}),
  ],
)
def test_get_scheduler_errors_are_transformers_errors(name, warmup, total, kwargs):
  with pytest.raises(ValueError) as theirs:
    transformers.get_scheduler(name, _optimizer((PEAK,)), warmup, total, kwargs)
  with pytest.raises(ValueError, match="^get_scheduler: ") as ours:
    jaxsched.get_scheduler(name, PEAK, warmup, total, kwargs)
  # transformers names the type "SchedulerType.COSINE"; the rest of the message is the same.
  assert str(theirs.value).split(" ", 1)[-1] in str(ours.value)


def test_get_scheduler_rejects_other_keywords():
  with pytest.raises(ValueError, match="bogus.*num_cycles"):
    jaxsched.get_scheduler("cosine", PEAK, 2, 10, {"bogus": 1})


METRICS = [
  5.0,
  4.0,
  4.0,
  3.9999,
  4.1,
  4.2,
  3.0,
  3.0,
  3.5,
  3.1,
  2.0,
  2.5,
  2.6,
  2.7,
  2.8,
  2.9,
  3.0,
  float("nan"),
  1.0,
  1.1,
  1.2,
  1.3,
  1.4,
  1.5,
]


def test_get_scheduler_reduce_lr_on_plateau_matches_transformers():
  kwargs = {"factor": 0.5, "patience": 1, "cooldown": 1, "min_lr": 2e-4, "threshold": 0.01}
  scheduler = transformers.get_scheduler(
    "reduce_lr_on_plateau", _optimizer((PEAK,)), scheduler_specific_kwargs=kwargs
  )
  tx = jaxsched.get_scheduler("reduce_lr_on_plateau", PEAK, scheduler_specific_kwargs=kwargs)
  state = tx.init(jnp.zeros(()))
  update = jax.jit(tx.update)
  got, want = [], []
  for value in METRICS:
    scheduler.step(value)
    _, state = update(jnp.ones(()), state, value=value)
    want.append(scheduler.optimizer.param_groups[0]["lr"])
    got.append(PEAK * float(jaxsched.current_scale(state)))
  assert min(want) < PEAK / 2  # the test reduces
  assert_curve_close(got, want, what="reduce_lr_on_plateau")


# ---------------------------------------------------------------- momentum


@pytest.mark.parametrize(
  "make,n,lrs,kind",
  [
    pytest.param(
      lambda o: L.CyclicLR(
        o,
        base_lr=[0.01, 0.02],
        max_lr=0.1,
        step_size_up=3,
        step_size_down=4,
        mode="triangular2",
        base_momentum=[0.8, 0.7],
        max_momentum=0.95,
      ),
      30,
      (0.01, 0.02),
      "sgd",
      id="CyclicLR-sgd",
    ),
    pytest.param(
      lambda o: L.OneCycleLR(
        o, max_lr=0.1, total_steps=25, three_phase=True, base_momentum=0.8, max_momentum=0.9
      ),
      25,
      (0.1,),
      "adam",
      id="OneCycleLR-adam",
    ),
  ],
)
def test_momentum_schedules_match_torch(make, n, lrs, kind):
  want_lr, want_m = _run(make(_optimizer(lrs, kind)), n)
  for k in KS:
    scheduler = make(_optimizer(lrs, kind))
    for _ in range(k):
      scheduler.step()
    got = jaxsched.from_torch(scheduler, with_momentum=True)
    assert isinstance(got, jaxsched.LearningRateAndMomentum)
    for i, (lr, m) in enumerate(zip(_as_list(got.learning_rate), _as_list(got.momentum))):
      assert_curve_close(jax_curve(lr, n), want_lr[:, i], what=f"lr {i} after {k}")
      assert_curve_close(jax_curve(m, n), want_m[:, i], what=f"momentum {i} after {k}")


def test_momentum_needs_a_cycling_scheduler():
  with pytest.raises(ValueError, match="with_momentum.*StepLR"):
    jaxsched.from_torch(L.StepLR(_optimizer(), 3), with_momentum=True)
  cyclic = L.CyclicLR(_optimizer(), 0.01, 0.1, cycle_momentum=False)
  with pytest.raises(ValueError, match="with_momentum.*CyclicLR"):
    jaxsched.from_torch(cyclic, with_momentum=True)


# ------------------------------------------------------- ReduceLROnPlateau


@pytest.mark.parametrize(
  "kwargs,seen",
  [
    # Converted with one bad epoch counted, then with a cooldown running.
    pytest.param(
      dict(factor=0.5, patience=1, cooldown=2, min_lr=[0.02, 0.0], threshold=0.01),
      8,
      id="min-rel-floor",
    ),
    pytest.param(
      dict(mode="max", factor=0.5, patience=0, cooldown=2, threshold=0.05, threshold_mode="abs"),
      3,
      id="max-abs",
    ),
  ],
)
def test_reduce_lr_on_plateau_state_resumes(kwargs, seen):
  lrs = (0.1, 0.01)
  metrics = METRICS if kwargs.get("mode") != "max" else [-m for m in METRICS]
  scheduler = L.ReduceLROnPlateau(_optimizer(lrs), **kwargs)
  for value in metrics[:seen]:
    scheduler.step(value)
  assert scheduler.optimizer.param_groups[0]["lr"] < lrs[0]  # already reduced once
  assert scheduler.num_bad_epochs > 0 or scheduler.cooldown_counter > 0  # state to carry over
  ported = jaxsched.from_torch(scheduler)
  assert len(ported) == 2
  assert ported[0].state.plateau_best == pytest.approx(scheduler.best)
  assert int(ported[0].state.plateau_bad_count) == scheduler.num_bad_epochs
  assert int(ported[0].state.plateau_cooldown_count) == scheduler.cooldown_counter
  states = [p.transform.init(jnp.zeros(())) for p in ported]  # init resumes
  updates = [jax.jit(p.transform.update) for p in ported]
  got, want = [], []
  for value in metrics[seen:]:
    scheduler.step(value)
    want.append([g["lr"] for g in scheduler.optimizer.param_groups])
    row = []
    for i, p in enumerate(ported):
      _, states[i] = updates[i](jnp.ones(()), states[i], value=value)
      row.append(p.base_lr * float(jaxsched.current_scale(states[i])))
    got.append(row)
  got, want = np.asarray(got), np.asarray(want)
  assert len(set(want[:, 0])) > 1  # it keeps reducing after the conversion
  for i in range(2):
    assert_curve_close(got[:, i], want[:, i], what=f"group {i}")


# ------------------------------------------------ tabulated fallback, errors

# What is not converted, with the start of from_torch's message naming it.
UNSUPPORTED = {
  "MultiplicativeLR": lambda o: L.MultiplicativeLR(o, lambda t: 0.9),
  "LambdaLR with lr_lambda '<lambda>'": lambda o: L.LambdaLR(o, lambda t: 1.0 / (1.0 + t)),
  "CosineAnnealingLR at ChainedScheduler._schedulers[1] inside a ChainedScheduler": lambda o: (
    L.ChainedScheduler([L.StepLR(o, 2, 0.5), L.CosineAnnealingLR(o, 5)], o)
  ),
  "StepLR: jaxsched rejects": lambda o: L.StepLR(o, step_size=3, gamma=1.5),  # gamma > 1
}


@pytest.mark.parametrize("case", list(UNSUPPORTED))
def test_unsupported_raises_naming_class_and_supported(case):
  with pytest.raises(ValueError) as error:
    jaxsched.from_torch(UNSUPPORTED[case](_optimizer()))
  message = str(error.value)
  assert message.startswith(f"from_torch: cannot convert {case}"), message
  assert "Converted: StepLR, MultiStepLR, " in message and "num_steps=N" in message


@pytest.mark.parametrize("case", list(UNSUPPORTED))
def test_unsupported_is_tabulated_with_num_steps(case):
  make, k, n = UNSUPPORTED[case], 3, 12
  want, _ = _run(make(_optimizer((0.1, 0.05))), k + n)
  scheduler = make(_optimizer((0.1, 0.05)))
  for _ in range(k):
    scheduler.step()
  before = [g["lr"] for g in scheduler.optimizer.param_groups]
  scheds = jaxsched.from_torch(scheduler, num_steps=n)
  assert [g["lr"] for g in scheduler.optimizer.param_groups] == before  # a copy was stepped
  steps = np.arange(k + n + 5)
  for i, sched in enumerate(scheds):
    got = np.asarray(jax.jit(sched)(jnp.asarray(steps)))
    # Exact on steps k .. k + n - 1, the last value after them, the first before.
    expected = want[np.clip(steps, k, k + n - 1), i]
    assert_curve_close(got, expected, what=f"table {i}")


def test_tabulated_momentum_and_reduce_on_plateau_errors():
  make = lambda o: L.MultiplicativeLR(o, lambda t: 0.9)
  got = jaxsched.from_torch(make(_optimizer()), num_steps=5, with_momentum=True)
  np.testing.assert_allclose(jax_curve(got.momentum, 5), 0.9, rtol=1e-6)
  plateau = L.ReduceLROnPlateau(_optimizer())
  with pytest.raises(ValueError, match="steps_per_epoch.*ReduceLROnPlateau"):
    jaxsched.from_torch(plateau, steps_per_epoch=10)
  with pytest.raises(ValueError, match="ReduceLROnPlateau.*tabulated"):
    jaxsched.compare(plateau, jaxsched.constant(0.1), 3)
  with pytest.raises(ValueError, match="not a torch scheduler"):
    jaxsched.from_torch(jaxsched.constant(0.1))


def test_nested_composites_torch_cannot_run_are_rejected():
  opt = _optimizer()
  chain_after_milestone = L.SequentialLR(
    opt, [L.StepLR(opt, 2), L.ChainedScheduler([L.ExponentialLR(opt, 0.9)], opt)], [3]
  )
  with pytest.raises(
    ValueError, match="ChainedScheduler at SequentialLR._schedulers.1.*NotImplementedError"
  ):
    jaxsched.from_torch(chain_after_milestone)
  opt = _optimizer()
  sequential_in_chain = L.ChainedScheduler(
    [L.SequentialLR(opt, [L.StepLR(opt, 2), L.ExponentialLR(opt, 0.9)], [3]), L.StepLR(opt, 3)], opt
  )
  with pytest.raises(ValueError, match="SequentialLR at ChainedScheduler._schedulers.0. inside"):
    jaxsched.from_torch(sequential_in_chain)


# ------------------------------------------------------------------ to_torch


def test_to_torch_round_trip():
  scheds = [
    jaxsched.warmup_cosine(0.1, 5, 40, end_value=1e-3),
    jaxsched.cyclic(0.001, 0.01, step_size_up=4),
  ]
  opt = _optimizer((1.0, 0.5))
  scheduler = jaxsched.to_torch(scheds, opt)
  assert isinstance(scheduler, L.LambdaLR)
  got, _ = _run(scheduler, 50)
  for i, sched in enumerate(scheds):
    assert_curve_close(got[:, i], jax_curve(sched, 50), what=f"to_torch group {i}")
  torch.save(scheduler.state_dict(), io.BytesIO())  # the lambdas stay out of it
  back = jaxsched.from_torch(scheduler)  # stepped 49 times: steps still count from 0
  for i, sched in enumerate(scheds):
    assert_curve_close(jax_curve(back[i], 60), jax_curve(sched, 60), what=f"back {i}")
  # to_torch's lambdas in another LambdaLR, whose base rates are twice those they divide by.
  reused = L.LambdaLR(_optimizer((2.0, 1.0)), scheduler.lr_lambdas)
  doubled = jaxsched.from_torch(reused)
  assert jaxsched.compare(reused, doubled, 30).first_mismatch is None
  assert float(doubled[0](0)) == pytest.approx(2 * float(scheds[0](0)))
  # One schedule for every group; a compare of the LambdaLR with it finds nothing.
  shared = jaxsched.to_torch(scheds[0], _optimizer((1.0, 0.5)))
  assert jaxsched.compare(shared, [scheds[0]] * 2, 45).first_mismatch is None


def test_to_torch_errors():
  with pytest.raises(ValueError, match="to_torch: param group 0 has lr=0.0"):
    jaxsched.to_torch(jaxsched.constant(0.1), _optimizer((0.0,)))
  with pytest.raises(ValueError, match="to_torch: 1 schedules for 2 param groups"):
    jaxsched.to_torch([jaxsched.constant(0.1)], _optimizer((0.1, 0.2)))


# ------------------------------------------------------------------- compare


def test_compare_finds_an_injected_deviation():
  make = lambda: L.CosineAnnealingLR(_optimizer(), T_max=20, eta_min=0.001)
  good = jaxsched.cosine_annealing(0.1, 20, eta_min=0.001)
  bad = lambda t: jnp.where(t == 37, good(t) * 1.001, good(t))
  same = jaxsched.compare(make(), good, 60)
  assert same.first_mismatch is None and same.max_rel_deviation < 1e-6
  found = jaxsched.compare(make(), bad, 60)
  assert found.first_mismatch == 37
  assert found.max_rel_deviation == pytest.approx(1e-3, rel=1e-3)
  assert found.max_abs_deviation == pytest.approx(1e-3 * float(good(37)), rel=1e-3)
  assert jaxsched.compare(make(), bad, 60, rtol=2e-3).first_mismatch is None
  assert jaxsched.compare(make(), bad, 37).first_mismatch is None  # steps 0..36 only
  # A stepped scheduler is compared from its step now.
  stepped = make()
  for _ in range(30):
    stepped.step()
  assert jaxsched.compare(stepped, bad, 10).first_mismatch == 37
  # Schedules on both sides.
  assert jaxsched.compare(good, bad, 60, atol=1e-9).first_mismatch == 37


def test_compare_steps_per_epoch():
  scheduler = L.StepLR(_optimizer(), step_size=2, gamma=0.5)
  for _ in range(3):
    scheduler.step()
  per_update = jaxsched.from_torch(scheduler, steps_per_epoch=4)
  assert jaxsched.compare(scheduler, per_update, 40, steps_per_epoch=4).first_mismatch is None
  report = jaxsched.compare(scheduler, per_update, 40)  # epochs against updates: found
  assert report.first_mismatch is not None
  with pytest.raises(ValueError, match="steps_per_epoch applies to a torch or timm scheduler"):
    jaxsched.compare(jaxsched.constant(1.0), jaxsched.constant(1.0), 5, steps_per_epoch=2)


# ----------------------------------------------------------- saved state_dicts

# TORCH_CASES' classes, given as from_torch's scheduler_class (composites with their parts).
STATE_CLASSES = {
  "SequentialLR": ("SequentialLR", ["LinearLR", L.ExponentialLR, "CosineAnnealingLR"]),
  "SequentialLR-transformers": None,  # a LambdaLR inside: its function is not saved
  "ChainedScheduler": ("ChainedScheduler", ["ConstantLR", "ExponentialLR", "MultiStepLR"]),
  "Chained-in-Chained": (
    "ChainedScheduler",
    [("ChainedScheduler", ["LinearLR", "StepLR"]), "PolynomialLR"],
  ),
  "Sequential-in-Sequential": (
    "SequentialLR",
    [("SequentialLR", ["ExponentialLR", "StepLR"]), "CosineAnnealingLR"],
  ),
  "Chained-in-Sequential": (
    "SequentialLR",
    [("ChainedScheduler", ["ConstantLR", "ExponentialLR", "PolynomialLR"]), "StepLR"],
  ),
}


@pytest.mark.parametrize("case", list(TORCH_CASES))
def test_from_torch_reads_a_saved_state_dict(case, tmp_path):
  make, n, lrs = TORCH_CASES[case]
  spec = STATE_CLASSES.get(case, case.split("-")[0])
  if spec is None:
    return
  opt = _optimizer(lrs)
  scheduler = make(opt)
  for _ in range(7):
    opt.step()
    scheduler.step()
  path = tmp_path / "checkpoint.pt"
  torch.save({"scheduler": scheduler.state_dict(), "optimizer": opt.state_dict()}, path)
  saved = torch.load(path, weights_only=True)
  converted = jaxsched.from_torch(
    saved["scheduler"], scheduler_class=spec, optimizer_state=saved["optimizer"]
  )
  live = _as_list(jaxsched.from_torch(scheduler))
  for i, sched in enumerate(_as_list(converted)):
    assert_curve_close(jax_curve(sched, n), jax_curve(live[i], n), what=f"group {i}")
  assert jaxsched.compare(scheduler, converted, n - 7).first_mismatch is None
  # The rate the optimizer holds at the saved step, read off the converted schedule.
  step = saved["scheduler"]["last_epoch"] if "last_epoch" in saved["scheduler"] else 7
  for i, sched in enumerate(_as_list(converted)):
    assert float(sched(step)) == pytest.approx(opt.param_groups[i]["lr"], rel=1e-5)


def test_saved_state_dict_classes_and_errors():
  opt = _optimizer((0.1,))
  one_cycle = L.OneCycleLR(opt, max_lr=0.1, total_steps=20)
  state = one_cycle.state_dict()
  with pytest.raises(ValueError, match="lack 'max_lr'.*optimizer_state=optimizer.state_dict"):
    jaxsched.from_torch(state, scheduler_class="OneCycleLR")
  ok = jaxsched.from_torch(state, scheduler_class=L.OneCycleLR, optimizer_state=opt.state_dict())
  assert jaxsched.compare(one_cycle, ok, 21).first_mismatch is None
  with pytest.raises(ValueError, match="a state_dict needs scheduler_class"):
    jaxsched.from_torch(state)
  with pytest.raises(ValueError, match="scheduler_class='NoSuchLR' is not a class"):
    jaxsched.from_torch(state, scheduler_class="NoSuchLR")
  with pytest.raises(ValueError, match="a state_dict cannot be stepped"):
    jaxsched.from_torch(state, scheduler_class="OneCycleLR", num_steps=5)
  with pytest.raises(ValueError, match="are for a saved state_dict; got a live OneCycleLR"):
    jaxsched.from_torch(one_cycle, scheduler_class="OneCycleLR")
  lambda_lr = hf.get_cosine_schedule_with_warmup(_optimizer(), 2, 10)
  with pytest.raises(ValueError, match="LambdaLR's state_dict does not hold its lr_lambda"):
    jaxsched.from_torch(lambda_lr.state_dict(), scheduler_class="LambdaLR")
  seq = TORCH_CASES["SequentialLR"][0](_optimizer())
  with pytest.raises(ValueError, match=r"holds its 3 schedulers' states without their classes"):
    jaxsched.from_torch(seq.state_dict(), scheduler_class="SequentialLR")
  with pytest.raises(ValueError, match="StepLR holds no schedulers"):
    jaxsched.from_torch({"base_lrs": [0.1]}, scheduler_class=("StepLR", ["StepLR"]))
  multiplicative = L.MultiplicativeLR(_optimizer(), lambda t: 0.9)
  with pytest.raises(ValueError, match="'MultiplicativeLR' is not a class"):
    jaxsched.from_torch(multiplicative.state_dict(), scheduler_class="MultiplicativeLR")
  with pytest.raises(ValueError, match="gamma=1.5.*A state_dict cannot be tabulated"):
    jaxsched.from_torch(L.StepLR(_optimizer(), 3, 1.5).state_dict(), scheduler_class="StepLR")


def test_saved_reduce_on_plateau_resumes():
  opt = _optimizer((0.1,))
  plateau = L.ReduceLROnPlateau(opt, factor=0.5, patience=1, cooldown=1)
  for value in METRICS[:9]:
    plateau.step(value)
  for optimizer_state in (None, opt.state_dict()):
    conv = jaxsched.from_torch(
      plateau.state_dict(), scheduler_class="ReduceLROnPlateau", optimizer_state=optimizer_state
    )
    live = copy.deepcopy(plateau)
    state = conv.transform.init(jnp.zeros(()))
    for value in METRICS[9:]:
      live.step(value)
      _, state = conv.transform.update(jnp.ones(()), state, value=value)
      got = conv.base_lr * float(jaxsched.current_scale(state))
      assert got == pytest.approx(live.optimizer.param_groups[0]["lr"], rel=1e-6)


def test_compare_errors():
  with pytest.raises(ValueError, match="compare: num_steps=0"):
    jaxsched.compare(jaxsched.constant(1.0), jaxsched.constant(1.0), 0)
  with pytest.raises(ValueError, match="2 param groups, schedule 1"):
    jaxsched.compare(L.StepLR(_optimizer((0.1, 0.2)), 2), jaxsched.constant(0.1), 5)


def test_import_does_not_import_torch_or_transformers():
  code = (
    "import sys, jaxsched; bad = [m for m in ('torch', 'transformers') if m in sys.modules];"
    " print(*bad, file=sys.stderr); sys.exit(1 if bad else 0)"
  )
  proc = subprocess.run(
    [sys.executable, "-c", code],
    capture_output=True,
    text=True,
    timeout=120,
    check=False,
    cwd=pathlib.Path(__file__).resolve().parents[1],
    env={**os.environ, "JAX_PLATFORMS": "cpu"},
  )
  assert proc.returncode == 0, proc.stderr
