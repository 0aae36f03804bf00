"""pytorch_optimizer's LR schedulers against the package run live, and from_torch on its objects.

References are the package's own objects and functions: a scheduler's rate is
``optimizer.param_groups[i]["lr"]`` read before each ``step()``, its formula the
value its ``step()`` returns (``BaseLinearWarmupScheduler``) or its lambda at
``t`` (``get_chebyshev_schedule``, ``get_wsd_schedule``).
"""

import copy
import sys
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from curves import assert_curve_close
from curves import jax_curve
from pytorch_optimizer.lr_scheduler import chebyshev as po_chebyshev
from pytorch_optimizer.lr_scheduler import CosineAnnealingWarmupRestarts
from pytorch_optimizer.lr_scheduler import CosineScheduler
from pytorch_optimizer.lr_scheduler import get_chebyshev_schedule
from pytorch_optimizer.lr_scheduler import get_wsd_schedule
from pytorch_optimizer.lr_scheduler import LinearScheduler
from pytorch_optimizer.lr_scheduler import PolyScheduler
from pytorch_optimizer.lr_scheduler import ProportionScheduler
from pytorch_optimizer.lr_scheduler import REXScheduler

import jaxsched

warnings.filterwarnings("ignore", category=UserWarning, module="torch")


def _optimizer(lrs=(0.1, 0.3)):
  groups = [{"params": [torch.nn.Parameter(torch.zeros(()))], "lr": lr} for lr in lrs]
  return torch.optim.SGD(groups, lr=lrs[0])


def _held(scheduler, n):
  """The rates every group's optimizer holds before each of n step() calls: (n, groups)."""
  rows = []
  for _ in range(n):
    rows.append([float(g["lr"]) for g in scheduler.optimizer.param_groups])
    scheduler.step()
  return np.asarray(rows)


def _returned(scheduler, n):
  """What a BaseLinearWarmupScheduler's step() returns on its first n calls: its formula."""
  return np.asarray([scheduler.step() for _ in range(n)], np.float64)


# ------------------------------------------------------------------ REX


@pytest.mark.parametrize(
  "total_steps,max_lr,min_lr", [(10, 1.0, 0.1), (100, 0.3, 0.0), (1, 0.5, 0.01), (0, 0.2, 0.05)]
)
def test_rex_matches_rex_scheduler(total_steps, max_lr, min_lr):
  live = REXScheduler(_optimizer(), total_steps=total_steps, max_lr=max_lr, min_lr=min_lr)
  n = total_steps + 10
  # The formula at t is what get_linear_lr gives once step_t == t.
  formula = []
  for t in range(n):
    live.step_t = t
    formula.append(live.get_linear_lr())
  sched = jaxsched.rex(max_lr, total_steps, min_lr)
  assert_curve_close(jax_curve(sched, n), np.asarray(formula), what="rex formula")
  # The object holds min_lr after its construction, then the formula.
  fresh = REXScheduler(_optimizer(), total_steps=total_steps, max_lr=max_lr, min_lr=min_lr)
  held = _held(fresh, n)
  assert held[0, 0] == min_lr and np.all(held[1:, 0] == np.asarray(formula)[1:])


# ------------------------------------------------------------- Chebyshev


@pytest.mark.parametrize("num_epochs", [1, 2, 3, 4, 5, 9, 10, 17, 33, 100])
def test_chebyshev_matches_the_lambda(num_epochs):
  base = 0.1
  n = 2 ** (int(np.log2(max(num_epochs - 1, 1))) + 1) + 6  # past the table
  want = base * np.asarray(
    [po_chebyshev.get_chebyshev_lr_lambda(t, num_epochs) for t in range(n)], np.float64
  )
  assert_curve_close(jax_curve(jaxsched.chebyshev(base, num_epochs), n), want, what="chebyshev")


def test_chebyshev_spectral_interval_matches_get_chebyshev_steps():
  # The nodes for another [m, M], in the fractal order of get_chebyshev_perm_steps.
  size = 16
  nodes = po_chebyshev.get_chebyshev_steps(size, small_m=0.2, big_m=2.0)
  perm = po_chebyshev.get_chebyshev_permutation(size - 2)
  want = nodes[perm[perm < size]]
  sched = jaxsched.chebyshev(1.0, num_epochs=size, small_m=0.2, big_m=2.0)
  got = jax_curve(sched, size + 2)[2:]
  assert_curve_close(got, want, what="chebyshev nodes")
  assert want.max() <= 1 / 0.2 and want.min() >= 1 / 2.0


# ------------------------------------------------- CosineAnnealingWarmupRestarts

_RESTARTS = [
  dict(first_cycle_steps=10, cycle_mult=1.0, max_lr=1.0, min_lr=0.1, warmup_steps=0, gamma=0.5),
  dict(first_cycle_steps=10, cycle_mult=1.5, max_lr=1.0, min_lr=0.1, warmup_steps=3, gamma=0.5),
  dict(first_cycle_steps=7, cycle_mult=0.5, max_lr=0.3, min_lr=0.0, warmup_steps=2, gamma=0.9),
  dict(first_cycle_steps=5, cycle_mult=2.0, max_lr=0.1, min_lr=1e-3, warmup_steps=4, gamma=1.0),
  dict(first_cycle_steps=12, cycle_mult=1.01, max_lr=0.1, min_lr=1e-3, warmup_steps=1, gamma=0.0),
]


@pytest.mark.parametrize("kwargs", _RESTARTS, ids=lambda k: str(sorted(k.items())))
def test_cosine_annealing_warmup_restarts_matches_the_object(kwargs):
  n = 150
  want = _held(CosineAnnealingWarmupRestarts(_optimizer(), **kwargs), n)
  got = jax_curve(jaxsched.cosine_annealing_warmup_restarts(**kwargs), n)
  # The formula everywhere but at step 0 without warmup, where the object holds min_lr.
  start = 1 if kwargs["warmup_steps"] == 0 else 0
  assert_curve_close(got[start:], want[start:, 0], what="cycles")
  if start:
    assert want[0, 0] == kwargs["min_lr"] and float(got[0]) == pytest.approx(kwargs["max_lr"])


def test_cosine_annealing_warmup_restarts_cycle_starts_at_huge_steps():
  sched = jax.jit(jaxsched.cosine_annealing_warmup_restarts(100, 2.0, 1.0, 0.0, 10, 1.0))
  # Cycle i has 10 + 90 * 2**i steps and starts at 10 i + 90 (2**i - 1).
  for i in (1, 5, 20, 23):
    start = 10 * i + 90 * (2**i - 1)
    assert float(sched(start)) == 0.0 and float(sched(start + 10)) == 1.0
  values = np.asarray(sched(jnp.asarray([2**31 - 1, 2**30, 12345678], jnp.int32)))
  assert np.all(np.isfinite(values)) and np.all((values >= 0) & (values <= 1))


# ------------------------------------------ Linear / Cosine / PolyScheduler

_WARMUP_FAMILY = [
  dict(t_max=10, max_lr=1.0, min_lr=0.1, init_lr=0.2, warmup_steps=3),
  dict(t_max=50, max_lr=0.3, min_lr=0.0, init_lr=0.0, warmup_steps=0),
  dict(t_max=20, max_lr=1e-3, min_lr=1e-5, init_lr=1e-4, warmup_steps=19),
]


@pytest.mark.parametrize("kwargs", _WARMUP_FAMILY, ids=lambda k: str(sorted(k.items())))
@pytest.mark.parametrize("cls", [LinearScheduler, CosineScheduler, PolyScheduler])
def test_warmup_family_formula_and_object(cls, kwargs):
  n = 3 * kwargs["t_max"]
  formula = _returned(cls(_optimizer(), **kwargs), n)
  w, top, floor, init = (kwargs[k] for k in ("warmup_steps", "max_lr", "min_lr", "init_lr"))
  if cls is LinearScheduler:
    sched = jaxsched.warmup_linear(
      top, w, kwargs["t_max"], end_value=floor, init_value=init, hold_after_end=False
    )
  elif cls is CosineScheduler:
    sched = jaxsched.warmup_cosine(
      top, w, kwargs["t_max"], end_value=floor, init_value=init, hold_after_end=False
    )
  else:
    sched = jaxsched.warmup_poly_growth(top, w, min_lr=floor, init_lr=init)
  got = jax_curve(sched, n)
  valid = formula >= 0  # LinearScheduler's line goes negative past t_max; jaxsched stops at 0
  assert_curve_close(got[valid], formula[valid], what=f"{cls.__name__} formula")
  assert np.all(got[~valid] == 0.0)
  # The object holds min_lr, then the formula one step() late: from_torch gives that.
  live = cls(_optimizer(), **kwargs)
  for _ in range(5):
    live.step()
  converted = jaxsched.from_torch(live)
  assert isinstance(converted, list) and len(converted) == 2  # every group, the same rate
  held = _held(cls(_optimizer(), **kwargs), n)
  assert held[0, 0] == floor
  for sched in converted:
    got = jax_curve(sched, n)
    ok = held[:, 0] >= 0
    assert_curve_close(got[ok], held[ok, 0], what=f"from_torch {cls.__name__}")
  assert float(converted[0](5)) == pytest.approx(live.optimizer.param_groups[0]["lr"], rel=1e-5)


def test_poly_scheduler_grows_without_bound_as_written():
  formula = _returned(PolyScheduler(_optimizer(), t_max=10, max_lr=1.0, warmup_steps=2), 30)
  assert formula[-1] > 5.0  # sqrt(27): the reference never decays
  got = jax_curve(jaxsched.warmup_poly_growth(1.0, 2), 30)
  assert_curve_close(got, formula, what="growth")
  huge = jaxsched.warmup_poly_growth(1.0, 0, poly_order=10.0)(jnp.int32(2**31 - 1))
  assert np.isfinite(float(huge))  # saturates at the largest float32


# -------------------------------------------------------------- proportion


def test_proportion_matches_proportion_scheduler():
  # ProportionScheduler reads the optimizer's lr of a torch scheduler (no last_lr there).
  opt = _optimizer((0.1,))
  lr_scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=20, eta_min=0.01)
  rho = ProportionScheduler(lr_scheduler, max_lr=0.1, min_lr=0.01, max_value=0.05, min_value=0.01)
  want = [rho.get_lr()]
  for _ in range(29):
    lr_scheduler.step()
    want.append(rho.step())
  got = jaxsched.proportion(
    jaxsched.cosine_annealing(0.1, 20, 0.01), 0.1, min_lr=0.01, max_value=0.05, min_value=0.01
  )
  assert_curve_close(jax_curve(got, 30), np.asarray(want), what="rho")
  flat = jaxsched.proportion(jaxsched.constant(0.3), 0.1, min_lr=0.2, max_value=0.7)
  reference = ProportionScheduler(lr_scheduler, max_lr=0.1, min_lr=0.2, max_value=0.7)
  assert float(flat(3)) == pytest.approx(reference.step())  # max_lr <= min_lr: max_value


# ------------------------------------------------- get_wsd_schedule (LambdaLR)


@pytest.mark.parametrize(
  "args,kwargs",
  [
    ((3, 4, 5), dict(min_lr_ratio=0.2)),
    ((0, 4, 5), dict(min_lr_ratio=0.2, cooldown_type="cosine", num_cycles=0.7)),
    ((2, 0, 5), dict(min_lr_ratio=0.1, cooldown_type="1-square")),
    ((2, 3, 0), dict(min_lr_ratio=0.1, cooldown_type="linear")),
    ((5, 10, 20), dict(cooldown_type="linear")),
    ((0, 0, 8), dict(min_lr_ratio=0.5, cooldown_type="1-sqrt")),
  ],
)
def test_from_torch_wsd_lambda(args, kwargs):
  n = sum(args) + 10
  want = _held(get_wsd_schedule(_optimizer(), *args, **kwargs), n)
  live = get_wsd_schedule(_optimizer(), *args, **kwargs)
  for _ in range(3):
    live.step()
  for i, sched in enumerate(jaxsched.from_torch(live)):
    assert_curve_close(jax_curve(sched, n), want[:, i], what=f"group {i}")


def test_from_torch_chebyshev_lambda_and_its_warmup():
  n = 40
  for is_warmup in (False, True):
    want = _held(get_chebyshev_schedule(_optimizer(), 12, is_warmup=is_warmup), n)
    live = get_chebyshev_schedule(_optimizer(), 12, is_warmup=is_warmup)
    for i, sched in enumerate(jaxsched.from_torch(live)):
      assert_curve_close(jax_curve(sched, n), want[:, i], what=f"warmup={is_warmup} group {i}")


# --------------------------------------------------- from_torch, random configs


def _random_object(rng, opt):
  kind = int(rng.integers(6))
  lr = float(rng.choice([1e-3, 0.1, 1.0]))
  low = float(rng.choice([0.0, lr / 100, lr / 10]))
  t_max = int(rng.integers(2, 60))
  if kind == 0:
    return REXScheduler(opt, total_steps=int(rng.integers(0, 60)), max_lr=lr, min_lr=low)
  if kind == 1:
    first = int(rng.integers(2, 30))
    return CosineAnnealingWarmupRestarts(
      opt,
      first_cycle_steps=first,
      cycle_mult=float(rng.choice([1.0, rng.uniform(0.3, 3.0)])),
      max_lr=lr,
      min_lr=low,
      warmup_steps=int(rng.integers(0, first)),
      gamma=float(rng.uniform(0, 1)),
    )
  if kind in (2, 3, 4):
    cls = (LinearScheduler, CosineScheduler, PolyScheduler)[kind - 2]
    extra = dict(poly_order=float(rng.uniform(0.1, 2.0))) if kind == 4 else {}
    return cls(
      opt,
      t_max=t_max,
      max_lr=lr,
      min_lr=low,
      init_lr=float(rng.choice([0.0, low, lr / 2])),
      warmup_steps=int(rng.integers(0, t_max)),
      **extra,
    )
  return get_chebyshev_schedule(opt, num_epochs=int(rng.integers(1, 40)))


def test_from_torch_random_objects_equal_the_objects():
  rng = np.random.default_rng(0)
  for trial in range(30):
    live = _random_object(rng, _optimizer())
    for _ in range(int(rng.integers(0, 20))):
      live.step()
    converted = jaxsched.from_torch(live)
    n = 120
    # Where the reference sets a negative rate (LinearScheduler past t_max) jaxsched gives 0.
    twin = copy.deepcopy(live)
    ahead = np.asarray([twin.optimizer.param_groups[0]["lr"]] + _returned_rates(twin, n - 1))
    horizon = int(np.argmax(ahead < 0)) if np.any(ahead < 0) else n
    if horizon:
      report = jaxsched.compare(live, converted, horizon, atol=1e-7 * np.max(np.abs(ahead)))
      assert report.first_mismatch is None, (trial, type(live).__name__, report)


def _returned_rates(scheduler, n):
  out = []
  for _ in range(n):
    scheduler.step()
    out.append(float(scheduler.optimizer.param_groups[0]["lr"]))
  return out


# ------------------------------------------------------------------ errors


def test_inside_a_torch_composite_is_refused():
  opt = _optimizer((0.1,))
  rex = REXScheduler(opt, total_steps=10)
  seq = torch.optim.lr_scheduler.SequentialLR(
    opt, [torch.optim.lr_scheduler.ConstantLR(opt, 0.5, total_iters=2), rex], [3]
  )
  with pytest.raises(ValueError, match="pytorch_optimizer's REXScheduler at SequentialLR"):
    jaxsched.from_torch(seq)


@pytest.mark.parametrize(
  "factory,kwargs,message",
  [
    (jaxsched.rex, dict(max_lr=-1.0, total_steps=10), r"rex: max_lr=-1.0"),
    (jaxsched.rex, dict(max_lr=1.0, total_steps=-1), r"rex: total_steps=-1"),
    (jaxsched.rex, dict(max_lr=1.0, total_steps=5, min_lr=float("nan")), r"min_lr=nan"),
    (jaxsched.chebyshev, dict(init_value=0.1, num_epochs=0), r"chebyshev: num_epochs=0"),
    (
      jaxsched.chebyshev,
      dict(init_value=0.1, num_epochs=4, small_m=2.0),
      r"small_m=2.0 must be <=",
    ),
    (jaxsched.chebyshev, dict(init_value=-0.1, num_epochs=4), r"init_value=-0.1"),
    (
      jaxsched.cosine_annealing_warmup_restarts,
      dict(first_cycle_steps=5, warmup_steps=5),
      r"warmup_steps=5 must be < first_cycle_steps=5",
    ),
    (
      jaxsched.cosine_annealing_warmup_restarts,
      dict(first_cycle_steps=5, gamma=1.5),
      r"gamma=1.5 .*\[0, 1\]",
    ),
    (
      jaxsched.cosine_annealing_warmup_restarts,
      dict(first_cycle_steps=5, cycle_mult=0.0),
      r"cycle_mult=0.0",
    ),
    (jaxsched.warmup_poly_growth, dict(max_lr=1.0, poly_order=0.0), r"poly_order=0.0"),
    (jaxsched.warmup_poly_growth, dict(max_lr=1.0, warmup_steps=1.5), r"warmup_steps=1.5"),
    (jaxsched.proportion, dict(schedule=3, max_lr=0.1), r"proportion: schedule=3 must be"),
    (
      jaxsched.proportion,
      dict(schedule=jaxsched.constant(0.1), max_lr=0.1, max_value=-1.0),
      r"max_value=-1.0",
    ),
  ],
)
def test_factory_errors(factory, kwargs, message):
  with pytest.raises(ValueError, match=message):
    factory(**kwargs)


def test_module_does_not_import_pytorch_optimizer():
  code = "import jaxsched, sys; print('pytorch_optimizer' in sys.modules)"
  import subprocess  # pylint: disable=import-outside-toplevel

  out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
  assert out.stdout.strip() == "False"
