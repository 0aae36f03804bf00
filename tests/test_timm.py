"""timm's schedules, with_noise and from_torch on timm objects, against timm's own code run live.

The ``timm`` package does not import here (its torchvision import fails), so
its scheduler modules are loaded from the installed files under stand-in
``timm`` / ``timm.scheduler`` packages, registered in ``sys.modules`` only
while they load. The classes keep their real module names
(``timm.scheduler.cosine_lr``), which is how from_torch recognizes them.
Reference rates are timm's ``_get_lr(t)`` or what its ``step_update(t)`` /
``step(epoch)`` write into the optimizer's param groups.
"""

import importlib.metadata
import importlib.util
import math
import sys
import types

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats
import torch
from curves import assert_curve_close
from curves import jax_curve

import jaxsched
from jaxsched import timm_cosine
from jaxsched import timm_multistep
from jaxsched import timm_poly
from jaxsched import timm_step
from jaxsched import timm_tanh
from jaxsched import timm_wsd
from jaxsched import with_noise
from jaxsched.schedules import _timm

_MODULES = (
  "scheduler",
  "cosine_lr",
  "tanh_lr",
  "step_lr",
  "multistep_lr",
  "poly_lr",
  "plateau_lr",
  "wsd_lr",
)


def _load_timm_schedulers() -> types.SimpleNamespace:
  """timm's scheduler modules, loaded from the installed files without importing timm."""
  folder = importlib.metadata.distribution("timm").locate_file("timm/scheduler")
  names = ["timm", "timm.scheduler"] + [f"timm.scheduler.{m}" for m in _MODULES]
  saved = {name: sys.modules[name] for name in names if name in sys.modules}
  root, package = types.ModuleType("timm"), types.ModuleType("timm.scheduler")
  root.__path__, package.__path__ = [], [str(folder)]
  root.scheduler = package
  loaded = {}
  try:
    sys.modules["timm"], sys.modules["timm.scheduler"] = root, package
    for module in _MODULES:  # scheduler first: the others import it
      name = f"timm.scheduler.{module}"
      spec = importlib.util.spec_from_file_location(name, folder / f"{module}.py")
      loaded[module] = importlib.util.module_from_spec(spec)
      sys.modules[name] = loaded[module]
      setattr(package, module, loaded[module])
      spec.loader.exec_module(loaded[module])
  finally:
    for name in names:
      sys.modules.pop(name, None)
    sys.modules.update(saved)
  return types.SimpleNamespace(
    CosineLRScheduler=loaded["cosine_lr"].CosineLRScheduler,
    TanhLRScheduler=loaded["tanh_lr"].TanhLRScheduler,
    StepLRScheduler=loaded["step_lr"].StepLRScheduler,
    MultiStepLRScheduler=loaded["multistep_lr"].MultiStepLRScheduler,
    PolyLRScheduler=loaded["poly_lr"].PolyLRScheduler,
    PlateauLRScheduler=loaded["plateau_lr"].PlateauLRScheduler,
    WSDLRScheduler=loaded["wsd_lr"].WSDLRScheduler,
  )


TIMM = _load_timm_schedulers()


def _optimizer(lrs=(0.1,), lr_scales=None):
  groups = [{"params": [torch.nn.Parameter(torch.zeros(()))], "lr": lr} for lr in lrs]
  for group, scale in zip(groups, lr_scales or ()):
    if scale is not None:
      group["lr_scale"] = scale
  return torch.optim.SGD(groups, lr=lrs[0])


def _timm_object(name, kwargs, lrs=(0.1,), lr_scales=None, t_in_epochs=False, **extra):
  return getattr(TIMM, name)(_optimizer(lrs, lr_scales), t_in_epochs=t_in_epochs, **kwargs, **extra)


# (timm class, jaxsched factory, kwargs without the base rate, steps compared)
CASES = [
  ("CosineLRScheduler", timm_cosine, dict(t_initial=50), 120),
  (
    "CosineLRScheduler",
    timm_cosine,
    dict(t_initial=30, lr_min=1e-4, warmup_t=5, warmup_lr_init=1e-5),
    80,
  ),
  (
    "CosineLRScheduler",
    timm_cosine,
    dict(
      t_initial=20,
      cycle_mul=2.0,
      cycle_decay=0.5,
      cycle_limit=4,
      lr_min=1e-3,
      warmup_t=3,
      warmup_prefix=True,
    ),
    320,
  ),
  (
    "CosineLRScheduler",
    timm_cosine,
    dict(t_initial=10, cycle_mul=1.5, cycle_limit=5, k_decay=2.0),
    150,
  ),
  ("CosineLRScheduler", timm_cosine, dict(t_initial=10, cycle_mul=0.5, cycle_limit=3), 20),
  (
    "CosineLRScheduler",
    timm_cosine,
    dict(t_initial=7, cycle_mul=1.1, cycle_limit=10, k_decay=0.5, lr_min=1e-5),
    140,
  ),
  (
    "CosineLRScheduler",
    timm_cosine,
    dict(
      t_initial=25,
      cycle_limit=3,
      cycle_decay=0.7,
      warmup_t=10,
      warmup_lr_init=0.01,
      warmup_prefix=False,
    ),
    90,
  ),
  ("TanhLRScheduler", timm_tanh, dict(t_initial=40), 60),
  (
    "TanhLRScheduler",
    timm_tanh,
    dict(
      t_initial=20,
      lb=-4.0,
      ub=5.0,
      lr_min=1e-4,
      cycle_mul=2.0,
      cycle_decay=0.8,
      cycle_limit=3,
      warmup_t=6,
      warmup_lr_init=1e-3,
    ),
    160,
  ),
  (
    "TanhLRScheduler",
    timm_tanh,
    dict(t_initial=15, cycle_limit=4, warmup_t=5, warmup_prefix=True),
    80,
  ),
  ("PolyLRScheduler", timm_poly, dict(t_initial=60), 80),
  (
    "PolyLRScheduler",
    timm_poly,
    dict(
      t_initial=12,
      power=2.0,
      lr_min=1e-3,
      cycle_mul=1.5,
      cycle_decay=0.5,
      cycle_limit=4,
      k_decay=1.5,
      warmup_t=4,
      warmup_prefix=True,
    ),
    120,
  ),
  ("PolyLRScheduler", timm_poly, dict(t_initial=30, power=1.0, cycle_limit=2, warmup_t=5), 70),
  ("StepLRScheduler", timm_step, dict(decay_t=7, decay_rate=0.5), 60),
  (
    "StepLRScheduler",
    timm_step,
    dict(decay_t=10, decay_rate=0.3, warmup_t=5, warmup_lr_init=1e-4),
    60,
  ),
  (
    "StepLRScheduler",
    timm_step,
    dict(decay_t=10, decay_rate=0.3, warmup_t=5, warmup_prefix=False),
    60,
  ),
  ("StepLRScheduler", timm_step, dict(decay_t=2.4, decay_rate=0.97), 100),
  ("StepLRScheduler", timm_step, dict(decay_t=1.1, decay_rate=0.9), 60),
  ("StepLRScheduler", timm_step, dict(decay_t=3002.4 / 1000, decay_rate=0.9), 60),
  ("MultiStepLRScheduler", timm_multistep, dict(decay_t=[5, 12, 30], decay_rate=0.3), 50),
  (
    "MultiStepLRScheduler",
    timm_multistep,
    dict(decay_t=[0, 1, 10, 10, 20], decay_rate=0.5, warmup_t=4, warmup_lr_init=1e-3),
    40,
  ),
  (
    "MultiStepLRScheduler",
    timm_multistep,
    dict(decay_t=[6, 15], decay_rate=0.1, warmup_t=8, warmup_prefix=False),
    30,
  ),
  ("MultiStepLRScheduler", timm_multistep, dict(decay_t=[2.5, 7.0], decay_rate=0.5), 20),
  # 22..: WSDLRScheduler, every stable and decay function.
  ("WSDLRScheduler", timm_wsd, dict(t_initial=40, decay_t=10), 50),
  (
    "WSDLRScheduler",
    timm_wsd,
    dict(t_initial=60, decay_t=25, decay_fn="linear", warmup_t=8, warmup_lr_init=1e-3),
    80,
  ),
  (
    "WSDLRScheduler",
    timm_wsd,
    dict(t_initial=50, decay_t=50, stable_fn="rsqrt", decay_fn="cosine", warmup_t=5, lr_min=1e-3),
    60,
  ),
  (
    "WSDLRScheduler",
    timm_wsd,
    dict(
      t_initial=30,
      decay_t=12,
      stable_fn="power",
      stable_power=1.5,
      stable_timescale=4.0,
      decay_fn="power",
      decay_power=2.0,
    ),
    40,
  ),
  (
    "WSDLRScheduler",
    timm_wsd,
    dict(t_initial=30, decay_t=1, decay_fn="exp", decay_ratio=0.02, lr_min=0.05, warmup_t=3),
    40,
  ),
  (
    "WSDLRScheduler",
    timm_wsd,
    dict(t_initial=20, decay_t=20, stable_fn="rsqrt", warmup_t=10, lr_min=0.08, decay_fn="exp"),
    35,
  ),
]


def _case_id(case):
  name, _, kwargs, _ = case
  return name + "-" + ",".join(f"{k}={v}" for k, v in kwargs.items())


def _timm_lrs(s, n, group=0):
  lrs = [s._get_lr(t)[group] for t in range(n)]  # pylint: disable=protected-access
  return np.asarray(lrs, np.float64)


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_factory_matches_timm_get_lr(case):
  name, factory, kwargs, n = case
  peak = 0.1
  want = _timm_lrs(_timm_object(name, kwargs, (peak,)), n)
  assert_curve_close(jax_curve(factory(peak, **kwargs), n), want, what=_case_id(case))


# One case of every class and every feature for the conversion (each runs 4 conversions).
FROM_TORCH_CASES = [CASES[k] for k in (1, 2, 5, 6, 8, 11, 14, 16, 18, 20, 21, 23, 25)]
EPOCH_CASES = [CASES[k] for k in (3, 9, 12, 15, 21, 24)]


@pytest.mark.parametrize(
  "case,t_in_epochs",
  [(case, False) for case in FROM_TORCH_CASES] + [(case, True) for case in EPOCH_CASES],
  ids=[_case_id(case) for case in FROM_TORCH_CASES]
  + [f"epochs-{_case_id(case)}" for case in EPOCH_CASES],
)
def test_from_torch_matches_timm_steps(case, t_in_epochs):
  """Two groups (one with lr_scale), converted after k steps: rates from construction on."""
  name, _, kwargs, n = case
  lrs, scales = (0.1, 0.02), (None, 0.5)
  per_epoch = 3
  for k in (0, 1, 7, n - 1):
    live = _timm_object(name, kwargs, lrs, scales, t_in_epochs=t_in_epochs)
    for j in range(1, k + 1):
      live.step(j) if t_in_epochs else live.step_update(j)
    if t_in_epochs:
      scheds = jaxsched.from_torch(live, steps_per_epoch=per_epoch)
    else:
      scheds = jaxsched.from_torch(live)
    assert isinstance(scheds, list) and len(scheds) == 2
    if k:  # the rate the optimizer holds now
      now = k * per_epoch + per_epoch - 1 if t_in_epochs else k
      for i, group in enumerate(live.optimizer.param_groups):
        assert float(jax.jit(scheds[i])(now)) == pytest.approx(group["lr"], rel=1e-5, abs=1e-9)
    fresh = _timm_object(name, kwargs, lrs, scales, t_in_epochs=t_in_epochs)
    steps = n * per_epoch if t_in_epochs else n
    want = []
    for t in range(steps):
      if t_in_epochs:
        fresh.step(t // per_epoch)
      else:
        fresh.step_update(t)
      want.append([g["lr"] for g in fresh.optimizer.param_groups])
    want = np.asarray(want)
    for i in range(2):
      assert_curve_close(
        jax_curve(scheds[i], steps),
        want[:, i],
        what=f"{_case_id(case)} group {i} k={k} t_in_epochs={t_in_epochs}",
      )


# ------------------------------------------------------------------------ vmap

# (factory, static kwargs, {numeric name: three values})
VMAP_CASES = [
  (
    timm_cosine,
    dict(warmup_prefix=False),
    dict(
      peak_value=[0.1, 0.5, 1.0],
      t_initial=[10, 20, 7],
      lr_min=[0.0, 1e-3, 0.01],
      cycle_mul=[1.0, 2.0, 0.5],
      cycle_decay=[1.0, 0.5, 0.8],
      cycle_limit=[1, 3, 4],
      warmup_t=[0, 5, 3],
      warmup_lr_init=[0.0, 1e-3, 0.02],
      k_decay=[1.0, 2.0, 0.5],
    ),
  ),
  (
    timm_tanh,
    dict(warmup_prefix=True),
    dict(
      peak_value=[0.1, 0.5, 1.0],
      t_initial=[10, 20, 7],
      lb=[-7.0, -3.0, -1.0],
      ub=[3.0, 2.0, 5.0],
      lr_min=[0.0, 1e-3, 0.01],
      cycle_mul=[1.0, 1.5, 2.0],
      cycle_decay=[1.0, 0.5, 0.8],
      cycle_limit=[2, 3, 1],
      warmup_t=[0, 5, 3],
      warmup_lr_init=[0.0, 1e-3, 0.02],
    ),
  ),
  (
    timm_tanh,
    dict(warmup_prefix=False),
    dict(
      peak_value=[0.1, 0.5, 1.0],
      t_initial=[10, 20, 7],
      warmup_t=[0, 5, 3],
      warmup_lr_init=[0.0, 1e-3, 0.02],
    ),
  ),
  (
    timm_poly,
    dict(warmup_prefix=True),
    dict(
      peak_value=[0.1, 0.5, 1.0],
      t_initial=[10, 20, 7],
      power=[0.5, 1.0, 2.0],
      lr_min=[0.0, 1e-3, 0.01],
      cycle_mul=[1.0, 2.0, 1.5],
      cycle_decay=[1.0, 0.5, 0.8],
      cycle_limit=[2, 3, 1],
      warmup_t=[0, 5, 3],
      warmup_lr_init=[0.0, 1e-3, 0.02],
      k_decay=[1.0, 2.0, 0.5],
    ),
  ),
  (
    timm_step,
    dict(warmup_prefix=True),
    dict(
      peak_value=[0.1, 0.5, 1.0],
      decay_t=[7.0, 2.5, 10.0],
      decay_rate=[0.5, 0.9, 0.1],
      warmup_t=[0, 5, 3],
      warmup_lr_init=[0.0, 1e-3, 0.02],
    ),
  ),
  (
    timm_multistep,
    dict(warmup_prefix=False),
    dict(
      peak_value=[0.1, 0.5, 1.0],
      decay_t=[[5, 12], [3, 30], [0, 7]],
      decay_rate=[0.5, 0.9, 0.1],
      warmup_t=[0, 5, 3],
      warmup_lr_init=[0.0, 1e-3, 0.02],
    ),
  ),
]


@pytest.mark.parametrize("case", VMAP_CASES, ids=lambda case: case[0].__name__)
def test_vmap_over_every_numeric_hyperparameter(case):
  factory, static, traced = case
  names = list(traced)
  steps = jnp.arange(120)

  def run(*values):
    return factory(**dict(zip(names, values)), **static)(steps)

  arrays = [
    jnp.asarray(
      traced[k], jnp.float32 if k not in ("t_initial", "warmup_t", "cycle_limit") else jnp.int32
    )
    for k in names
  ]
  rows = jax.jit(jax.vmap(run))(*arrays)
  assert rows.shape == (3, 120)
  for r in range(3):
    kwargs = {k: traced[k][r] for k in names}
    assert_curve_close(
      rows[r], jax_curve(factory(**kwargs, **static), 120), what=f"{factory.__name__} row {r}"
    )


def test_large_steps_finite_and_cycle_starts_exact():
  """cycle_mul != 1 at float32-sized steps: finite, in range, cycles start where they should."""
  steps = jnp.asarray([0, 1, 2**24 + 1, 2**30, 2**31 - 2, 2**31 - 1], jnp.int32)
  muls = (2.0, 1.5, 1.0001, 0.5, 0.999, 3.0, 1e6, 1.0)
  limits = (1, 50, 2**31 - 1)
  grid = np.asarray([(m, limit) for m in muls for limit in limits], np.float64)

  def run(mul, limit):
    return timm_cosine(1.0, 1000, lr_min=0.01, cycle_mul=mul, cycle_limit=limit)(steps)

  traced = np.asarray(
    jax.jit(jax.vmap(run))(jnp.asarray(grid[:, 0], jnp.float32), jnp.asarray(grid[:, 1], jnp.int32))
  )
  concrete = np.stack(
    [
      jax.jit(timm_cosine(1.0, 1000, lr_min=0.01, cycle_mul=mul, cycle_limit=2**31 - 1))(steps)
      for mul in (2.0, 0.5, 1.0001)
    ]
  )
  for got in (traced, concrete):
    assert np.all(np.isfinite(got)) and np.all(got >= 0.01 - 1e-6) and np.all(got <= 1.0)
  # m = 2: cycle i starts at 1000 (2^i - 1); m = 3 (where timm's float64 log falls one short at
  # cycle 5): 1000 (3^i - 1) / 2.
  for mul, count in ((2.0, 21), (3.0, 13)):
    sched = jax.jit(timm_cosine(1.0, 1000, cycle_mul=mul, cycle_limit=2**31 - 1))
    for i in range(1, count + 1):
      start = int(1000 * (mul**i - 1) / (mul - 1))
      if start < 2**24:  # exact in float32: the very step
        assert float(sched(start)) == 1.0
        assert float(sched(start - 1)) < 1e-4
      else:  # within float32 rounding of the step
        assert float(sched(start + 256)) > 0.999
        assert float(sched(start - 256)) < 1e-4


def test_cycle_mul_below_one_past_its_limit_holds_lr_min():
  sched = jax.jit(timm_poly(1.0, 10, lr_min=0.05, cycle_mul=0.5, cycle_limit=1000))
  got = np.asarray(sched(jnp.arange(15, 40)))
  assert np.all(np.isfinite(got))
  np.testing.assert_allclose(got[5:], 0.05)  # from step 20 = T / (1 - m) on


def test_jit_no_retrace_and_vector_steps():
  sched = jax.jit(timm_cosine(0.1, 20, cycle_mul=2.0, cycle_limit=3, warmup_t=3))
  a = sched(jnp.arange(50))
  b = jnp.stack([sched(t) for t in range(50)])
  np.testing.assert_allclose(a, b, rtol=1e-6)
  assert sched(jnp.zeros((2, 3), jnp.int32)).shape == (2, 3)


# ----------------------------------------------------------------------- noise


def _timm_multipliers(n, noise_pct, noise_std, noise_type="normal", seed=42):
  """timm's (1 + noise) at steps 0..n-1, by its own _add_noise with torch's generator."""
  s = _timm_object(
    "StepLRScheduler",
    dict(decay_t=10**9),
    (1.0,),
    noise_range_t=0,
    noise_pct=noise_pct,
    noise_std=noise_std,
    noise_seed=seed,
  )
  s.noise_type = noise_type
  noisy = [s._add_noise([1.0], t)[0] for t in range(n)]  # pylint: disable=protected-access
  return np.asarray(noisy)


@pytest.mark.parametrize(
  "noise_type,noise_pct,noise_std",
  [("normal", 0.67, 1.0), ("normal", 0.3, 0.1), ("normal", 0.2, 2.0), ("uniform", 0.5, 1.0)],
)
def test_noise_has_timms_distribution(noise_type, noise_pct, noise_std):
  ours = np.asarray(
    jax.jit(
      with_noise(jaxsched.constant(1.0), 0, noise_pct, noise_std, seed=7, noise_type=noise_type)
    )(jnp.arange(20_000)),
    np.float64,
  )
  theirs = _timm_multipliers(4000, noise_pct, noise_std, noise_type)
  assert np.all(np.abs(ours - 1) < noise_pct + 1e-6)
  assert np.all(np.abs(theirs - 1) <= noise_pct)
  se = np.std(theirs) * math.sqrt(1 / 4000 + 1 / 20_000)
  assert abs(np.mean(ours) - np.mean(theirs)) < 5 * se
  assert abs(np.std(ours) - np.std(theirs)) < 5 * se * 1.5
  assert scipy.stats.ks_2samp(ours, theirs).pvalue > 1e-3
  # Both fill their range: min / max within 2% of the bound.
  assert np.max(ours) - 1 > 0.98 * noise_pct * (1 if noise_std * 3 > noise_pct else 0)
  if noise_type == "normal":
    a = noise_pct / noise_std  # the truncated normal's variance, in closed form
    var = 1 - 2 * a * scipy.stats.norm.pdf(a) / (2 * scipy.stats.norm.cdf(a) - 1)
    assert np.std(ours) == pytest.approx(noise_std * math.sqrt(var), rel=0.03)


def test_noise_range_as_timm():
  base = jaxsched.constant(1.0)
  steps = jnp.arange(40)
  pair = np.asarray(jax.jit(with_noise(base, (10, 20)))(steps))
  assert np.all(pair[:10] == 1.0) and np.all(pair[20:] == 1.0) and np.all(pair[10:20] != 1.0)
  start = np.asarray(jax.jit(with_noise(base, 25))(steps))
  assert np.all(start[:25] == 1.0) and np.all(start[25:] != 1.0)
  frac = np.asarray(jax.jit(with_noise(base, [2.5, 7.2]))(steps))  # t >= 2.5 and t < 7.2
  assert np.all(frac[:3] == 1.0) and np.all(frac[3:8] != 1.0) and np.all(frac[8:] == 1.0)
  for bounds in ((10, 20), 25, [2.5, 7.2]):  # the same as timm's _is_apply_noise
    s = _timm_object("StepLRScheduler", dict(decay_t=100), noise_range_t=bounds)
    on = np.asarray([s._is_apply_noise(t) for t in range(40)])  # pylint: disable=protected-access
    got = np.asarray(jax.jit(with_noise(base, bounds))(steps)) != 1.0
    np.testing.assert_array_equal(got, on)


def test_noise_is_deterministic_per_seed_and_step():
  sched = jax.jit(with_noise(timm_cosine(0.1, 100), 0, seed=3))
  a, b = np.asarray(sched(jnp.arange(100))), np.asarray(sched(jnp.arange(100)))
  np.testing.assert_array_equal(a, b)
  assert float(sched(37)) == a[37]
  assert float(sched(jnp.asarray([[37]]))[0, 0]) == a[37]
  other = np.asarray(jax.jit(with_noise(timm_cosine(0.1, 100), 0, seed=4))(jnp.arange(100)))
  assert np.all(other != a)


def test_noise_vmap_over_seed_pct_std():
  steps = jnp.arange(64)

  def run(seed, pct, std):
    return with_noise(jaxsched.constant(1.0), (5, 50), pct, std, seed=seed)(steps)

  seeds, pcts, stds = (
    jnp.asarray([0, 1, 42]),
    jnp.asarray([0.67, 0.2, 0.5]),
    jnp.asarray([1.0, 0.5, 0.0]),
  )
  rows = jax.jit(jax.vmap(run))(seeds, pcts, stds)
  for r in range(3):
    want = jax.jit(
      with_noise(
        jaxsched.constant(1.0), (5, 50), float(pcts[r]), float(stds[r]), seed=int(seeds[r])
      )
    )(steps)
    np.testing.assert_allclose(rows[r], want, rtol=1e-6)
  assert np.all(np.asarray(rows[2]) == 1.0)  # noise_std=0: no noise


def test_from_torch_with_noise():
  kwargs = dict(t_initial=50, warmup_t=5)
  live = _timm_object(
    "CosineLRScheduler",
    kwargs,
    (0.1, 0.02),
    noise_range_t=(10, 40),
    noise_pct=0.3,
    noise_std=0.5,
    noise_seed=11,
  )
  scheds = jaxsched.from_torch(live)
  clean = np.asarray([live._get_lr(t) for t in range(60)])  # pylint: disable=protected-access
  got = np.stack([np.asarray(jax.jit(s)(jnp.arange(60))) for s in scheds], axis=1)
  outside = np.r_[0:10, 40:60]
  np.testing.assert_allclose(got[outside], clean[outside], rtol=1e-5, atol=1e-9)
  ratio = got[10:40] / clean[10:40]
  assert np.all(np.abs(ratio - 1) < 0.3 + 1e-5) and np.all(ratio != 1)
  np.testing.assert_allclose(ratio[:, 0], ratio[:, 1], rtol=1e-5)  # one draw for every group
  want = jax.jit(with_noise(timm_cosine(0.1, **kwargs), (10, 40), 0.3, 0.5, seed=11))(
    jnp.arange(60)
  )
  np.testing.assert_allclose(got[:, 0], want, rtol=1e-6)


# --------------------------------------------------------------------- plateau


def test_from_torch_plateau_is_its_reduce_on_plateau():
  with pytest.warns(FutureWarning):
    live = TIMM.PlateauLRScheduler(
      _optimizer((0.1,)), decay_rate=0.5, patience_t=2, mode="min", lr_min=1e-3
    )
  metrics = [1.0, 0.9, 0.95, 0.96, 0.97, 0.99, 0.8, 0.9, 0.91, 0.92, 0.93, 0.94]
  conv = jaxsched.from_torch(live)
  assert isinstance(conv, jaxsched.PlateauConversion) and conv.base_lr == pytest.approx(0.1)
  state = conv.transform.init(None)
  want, got = [], []
  for epoch, m in enumerate(metrics, start=1):
    live.step(epoch, m)
    want.append(live.optimizer.param_groups[0]["lr"])
    _, state = conv.transform.update({"w": jnp.zeros(())}, state, value=jnp.asarray(m))
    got.append(conv.base_lr * float(state.plateau_scale))
  np.testing.assert_allclose(got, want, rtol=1e-6)


def test_from_torch_plateau_with_warmup_or_noise_is_refused():
  with pytest.warns(FutureWarning):
    warm = TIMM.PlateauLRScheduler(_optimizer(), warmup_t=3)
    noisy = TIMM.PlateauLRScheduler(_optimizer(), noise_range_t=5)
  for s in (warm, noisy):
    with pytest.raises(ValueError, match="PlateauLRScheduler with warmup_t=.*models neither"):
      jaxsched.from_torch(s)


# ---------------------------------------------------------------------- errors


def test_from_torch_epoch_arguments():
  epochs = _timm_object("CosineLRScheduler", dict(t_initial=10), t_in_epochs=True)
  with pytest.raises(ValueError, match="t_in_epochs=True.*steps_per_epoch=N"):
    jaxsched.from_torch(epochs)
  updates = _timm_object("CosineLRScheduler", dict(t_initial=10))
  with pytest.raises(ValueError, match="t_in_epochs=False.*steps_per_epoch does not apply"):
    jaxsched.from_torch(updates, steps_per_epoch=4)
  with pytest.raises(ValueError, match="with_momentum=True does not apply to timm"):
    jaxsched.from_torch(updates, with_momentum=True)
  unsorted = _timm_object("MultiStepLRScheduler", dict(decay_t=[10, 5]))
  with pytest.raises(ValueError, match="cannot convert timm's MultiStepLRScheduler.*sorted"):
    jaxsched.from_torch(unsorted)
  other = type(
    "CustomLRScheduler",
    (),
    {"__module__": "timm.scheduler.custom", "optimizer": _optimizer(), "step": lambda self: None},
  )()
  with pytest.raises(ValueError, match="cannot convert timm's CustomLRScheduler.*WSDLRScheduler"):
    jaxsched.from_torch(other)


def _random_wsd(rng):
  """A WSDLRScheduler configuration in timm's valid ranges."""
  t_initial = int(rng.integers(1, 80))
  kwargs = dict(
    t_initial=t_initial,
    decay_t=int(rng.integers(1, t_initial + 1)),
    lr_min=float(rng.choice([0.0, 1e-4, 0.02, 0.2])),  # 0.2 above the stable rate at times
    stable_fn=str(rng.choice(["constant", "rsqrt", "power"])),
    stable_power=float(rng.uniform(0.1, 2.0)),
    decay_fn=str(rng.choice(["linear", "1-sqrt", "cosine", "power", "exp"])),
    decay_power=float(rng.uniform(0.2, 3.0)),
    decay_ratio=float(rng.uniform(0.01, 0.99)),
    warmup_t=int(rng.integers(0, 12)),
    warmup_lr_init=float(rng.choice([0.0, 1e-3])),
  )
  if kwargs["stable_fn"] != "constant" and (kwargs["warmup_t"] == 0 or rng.integers(2)):
    kwargs["stable_timescale"] = float(rng.uniform(0.5, 30.0))
  return kwargs


def test_timm_wsd_random_configurations_match_timm():
  rng = np.random.default_rng(24)
  for trial in range(20):
    kwargs = _random_wsd(rng)
    peak = float(rng.choice([0.1, 1.0, 3e-4]))
    n = kwargs["warmup_t"] + kwargs["t_initial"] + 5
    want = _timm_lrs(_timm_object("WSDLRScheduler", kwargs, (peak,)), n)
    assert_curve_close(jax_curve(timm_wsd(peak, **kwargs), n), want, what=f"{trial}: {kwargs}")


def _power_exp_wsd(t_initial, decay_t, lr_min, power, ratio, warmup_t):
  return dict(
    t_initial=t_initial,
    decay_t=decay_t,
    lr_min=lr_min,
    stable_fn="power",
    stable_power=power,
    stable_timescale=5.0,
    decay_fn="exp",
    decay_ratio=ratio,
    warmup_t=warmup_t,
  )


def test_timm_wsd_vmap_over_numeric_hyperparameters():
  steps = jnp.arange(90)
  table = [(0.1, 60, 20, 0.0, 0.5, 0.1, 5), (1.0, 40, 40, 0.01, 1.5, 0.5, 0)]
  run = lambda peak, *args: timm_wsd(peak, **_power_exp_wsd(*args))(steps)
  rows = jax.jit(jax.vmap(run))(*(jnp.asarray(column) for column in zip(*table)))
  for r, (peak, *args) in enumerate(table):
    want = _timm_lrs(_timm_object("WSDLRScheduler", _power_exp_wsd(*args), (peak,)), 90)
    assert_curve_close(rows[r], want, what=f"vmapped row {r}")


def test_from_torch_wsd_with_a_callable_decay_is_tabulated():
  kwargs = dict(t_initial=30, decay_t=10, warmup_t=4, decay_fn=lambda f: 1.0 - f**3)
  live = _timm_object("WSDLRScheduler", kwargs, (0.1, 0.02), (None, 0.5))
  with pytest.raises(ValueError, match="callable decay_fn.*Give num_steps=N"):
    jaxsched.from_torch(live)
  scheds = jaxsched.from_torch(live, num_steps=40)
  want = np.asarray([live._get_lr(t) for t in range(45)])  # pylint: disable=protected-access
  want[:, 1] *= 0.5  # the second group's lr_scale
  for i in range(2):
    got = jax_curve(scheds[i], 45)
    assert_curve_close(got[:40], want[:40, i], what=f"group {i}")
    assert np.all(got[40:] == got[39])  # the last tabulated value is held
  epochs = _timm_object("WSDLRScheduler", kwargs, (0.1,), t_in_epochs=True)
  per_update = jaxsched.from_torch(epochs, num_steps=40, steps_per_epoch=3)
  want = _timm_lrs(_timm_object("WSDLRScheduler", kwargs, (0.1,)), 40)
  assert_curve_close(jax_curve(per_update, 120), np.repeat(want, 3), what="per epoch")


@pytest.mark.parametrize("t_in_epochs", [False, True])
def test_compare_steps_a_timm_scheduler(t_in_epochs):
  kwargs = dict(t_initial=30, decay_t=10, warmup_t=4, stable_fn="rsqrt")
  live = _timm_object("WSDLRScheduler", kwargs, (0.1,), t_in_epochs=t_in_epochs)
  live.step(5) if t_in_epochs else live.step_update(5)  # stateless: compared from step 0
  per = dict(steps_per_epoch=4) if t_in_epochs else {}
  sched = jaxsched.from_torch(live, **per)
  assert jaxsched.compare(live, sched, 160, **per).first_mismatch is None
  shifted = jaxsched.sequential([jaxsched.constant(0.1), sched], [1])
  assert jaxsched.compare(live, shifted, 160, **per).first_mismatch is not None


@pytest.mark.parametrize(
  "factory,kwargs,message",
  [
    (timm_wsd, dict(peak_value=1.0, t_initial=10, decay_t=11), r"decay_t=11 must be <= t_initial"),
    (timm_wsd, dict(peak_value=1.0, t_initial=10, decay_t=0), r"timm_wsd: decay_t=0 must be an"),
    (timm_wsd, dict(peak_value=1.0, t_initial=10, decay_t=5, stable_fn="x"), r"stable_fn='x'"),
    (timm_wsd, dict(peak_value=1.0, t_initial=10, decay_t=5, decay_fn="x"), r"decay_fn='x'"),
    (
      timm_wsd,
      dict(peak_value=1.0, t_initial=10, decay_t=5, decay_fn=lambda f: 1 - f),
      r"a callable has no closed form",
    ),
    (timm_wsd, dict(peak_value=1.0, t_initial=10, decay_t=5, decay_ratio=1.0), r"decay_ratio=1.0"),
    (timm_wsd, dict(peak_value=1.0, t_initial=10, decay_t=5, decay_power=0.0), r"decay_power"),
    (timm_wsd, dict(peak_value=1.0, t_initial=10, decay_t=5, stable_power=-1.0), r"stable_power"),
    (
      timm_wsd,
      dict(peak_value=1.0, t_initial=10, decay_t=5, stable_fn="rsqrt"),
      r"stable_timescale > 0; it defaults to warmup_t=0",
    ),
    (
      timm_wsd,
      dict(peak_value=1.0, t_initial=10, decay_t=5, stable_fn="power", stable_timescale=0.0),
      r"stable_timescale=0.0",
    ),
    (timm_wsd, dict(peak_value=1.0, t_initial=10, decay_t=5, lr_min=-1.0), r"lr_min=-1.0"),
    (timm_cosine, dict(peak_value=-1.0, t_initial=10), r"timm_cosine: peak_value=-1.0 must"),
    (timm_cosine, dict(peak_value=1.0, t_initial=0), r"t_initial=0 must be an integer"),
    (timm_cosine, dict(peak_value=1.0, t_initial=10, cycle_mul=0.0), r"cycle_mul=0.0 .*\(0, inf\)"),
    (
      timm_cosine,
      dict(peak_value=1.0, t_initial=10, cycle_decay=1.5),
      r"cycle_decay=1.5 .*\[0, 1\]",
    ),
    (timm_cosine, dict(peak_value=1.0, t_initial=10, cycle_limit=-1), r"cycle_limit=-1"),
    (timm_cosine, dict(peak_value=1.0, t_initial=10, k_decay=0.0), r"k_decay=0.0"),
    (timm_cosine, dict(peak_value=1.0, t_initial=10, warmup_t=2.5), r"warmup_t=2.5"),
    (timm_cosine, dict(peak_value=1.0, t_initial=10, warmup_lr_init=-0.1), r"warmup_lr_init"),
    (timm_cosine, dict(peak_value=1.0, t_initial=10, warmup_prefix="yes"), r"warmup_prefix"),
    (timm_cosine, dict(peak_value=1.0, t_initial=10, lr_min=float("nan")), r"lr_min=nan"),
    (timm_tanh, dict(peak_value=1.0, t_initial=10, lb=3.0, ub=3.0), r"lb=3.0 must be < ub=3.0"),
    (timm_poly, dict(peak_value=1.0, t_initial=10, power=-1.0), r"timm_poly: power=-1.0"),
    (timm_step, dict(peak_value=1.0, decay_t=0), r"timm_step: decay_t=0.0 .*\(0, inf\)"),
    (timm_step, dict(peak_value=1.0, decay_t=5, decay_rate=1.5), r"decay_rate=1.5"),
    (timm_multistep, dict(peak_value=1.0, decay_t=[10, 5]), r"must be sorted ascending"),
    (timm_multistep, dict(peak_value=1.0, decay_t=5), r"1-D list"),
    (timm_multistep, dict(peak_value=1.0, decay_t=[-1, 5]), r"decay_t=\[-1.*\[0, inf\)"),
    (timm_multistep, dict(peak_value=1.0, decay_t=[5], decay_rate=-0.5), r"decay_rate=-0.5"),
  ],
)
def test_factory_errors(factory, kwargs, message):
  with pytest.raises(ValueError, match=message):
    factory(**kwargs)


@pytest.mark.parametrize(
  "kwargs,message",
  [
    (dict(noise_range=None), r"noise_range=None applies no noise"),
    (dict(noise_range=(1, 2, 3)), r"step or a \(start, end\) pair"),
    (dict(noise_range=(20, 10)), r"noise_range start=20 must be <= noise_range end=10"),
    (dict(noise_range=5, noise_pct=0.0), r"noise_pct=0.0 .*\(0, 1\]"),
    (dict(noise_range=5, noise_pct=1.5), r"noise_pct=1.5"),
    (dict(noise_range=5, noise_std=-1.0), r"noise_std=-1.0"),
    (dict(noise_range=5, seed=1.5), r"seed=1.5 must be an integer"),
    (dict(noise_range=5, seed=2**40), r"seed=.* must be an integer"),
    (dict(noise_range=5, noise_type="laplace"), r"noise_type='laplace' must be one of"),
  ],
)
def test_with_noise_errors(kwargs, message):
  with pytest.raises(ValueError, match=message):
    with_noise(jaxsched.constant(1.0), **kwargs)
  with pytest.raises(ValueError, match="schedule=3 must be a schedule"):
    with_noise(3, 5)


def test_module_does_not_import_timm():
  assert "timm" not in sys.modules
  assert _timm.NOISE_TYPES == ("normal", "uniform")
