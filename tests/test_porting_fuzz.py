"""from_torch on a few hundred random scheduler objects, each checked with compare.

Random classes of PyTorch, transformers, timm and pytorch_optimizer with random
hyperparameters in their valid ranges, stepped a random number of times, some
restored from a ``state_dict`` (by ``load_state_dict`` into a fresh object, or
converted from the ``state_dict`` itself). Each conversion must equal the object
(``compare``, rtol 1e-5, plus 1e-6 of the curve's largest rate where it
nears 0, as in every parity test) at every step the object can be stepped to, up to
``HORIZON`` steps from now (more than twice every horizon drawn here). The
one documented exception: where the reference sets a negative rate
(OneCycleLR's linear extrapolation at ``total_steps``, pytorch_optimizer's
LinearScheduler past ``t_max``) the conversion gives 0, which is asserted.

Schedules are evaluated eagerly (``jax.disable_jit``): compiling several hundred
distinct closures would dominate the run; the parity tests run every conversion
through ``jax.jit``, and a sample here is also checked jitted.
"""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import torch
from pytorch_optimizer import lr_scheduler as po
from test_porting import _steppable as torch_steppable
from test_timm import TIMM  # timm's scheduler classes, loaded from its files
from torch.optim import lr_scheduler as L
from transformers import optimization as hf

import jaxsched
from jaxsched.porting import _tabulate

NUM_OBJECTS = 200
HORIZON = 130  # steps compared from the object's step now
SEED = 2024


# ------------------------------------------------------------------ drawing


def _optimizer(rng, groups):
  lrs = [float(rng.choice([1e-3, 0.05, 0.1, 1.0])) for _ in range(groups)]
  params = [{"params": [torch.nn.Parameter(torch.zeros(()))], "lr": lr} for lr in lrs]
  if rng.integers(2):
    return torch.optim.Adam(params, lr=lrs[0])
  return torch.optim.SGD(params, lr=lrs[0], momentum=0.9)


def _torch(rng, o):
  """A random torch scheduler; (scheduler, scheduler_class for its state_dict or None)."""
  lr = o.param_groups[0]["lr"]
  kind = int(rng.integers(12))
  if kind == 0:
    return L.StepLR(o, int(rng.integers(1, 20)), float(rng.uniform(0.1, 1.0))), "StepLR"
  if kind == 1:
    marks = sorted(int(m) for m in rng.integers(1, 60, size=int(rng.integers(1, 5))))
    return L.MultiStepLR(o, marks, float(rng.uniform(0.1, 1.0))), "MultiStepLR"
  if kind == 2:
    factor, total = float(rng.uniform(0.05, 1.0)), int(rng.integers(0, 20))
    return L.ConstantLR(o, factor, total_iters=total), "ConstantLR"
  if kind == 3:
    start, end = float(rng.uniform(0.05, 1.0)), float(rng.uniform(0.0, 1.0))
    return L.LinearLR(o, start, end, total_iters=int(rng.integers(1, 30))), "LinearLR"
  if kind == 4:
    return L.ExponentialLR(o, float(rng.uniform(0.8, 1.0))), "ExponentialLR"
  if kind == 5:
    power = float(rng.uniform(0.5, 3.0))
    return L.PolynomialLR(o, int(rng.integers(1, 40)), power), "PolynomialLR"
  if kind == 6:
    eta = float(rng.choice([0.0, lr / 10]))
    return L.CosineAnnealingLR(o, int(rng.integers(1, 40)), eta), "CosineAnnealingLR"
  if kind == 7:
    t_0, t_mult = int(rng.integers(1, 15)), int(rng.integers(1, 4))
    eta = float(rng.choice([0.0, lr / 10]))
    return L.CosineAnnealingWarmRestarts(o, t_0, t_mult, eta), "CosineAnnealingWarmRestarts"
  if kind == 8:
    mode = str(rng.choice(["triangular", "triangular2", "exp_range"]))
    down = None if rng.integers(2) else int(rng.integers(1, 20))
    made = L.CyclicLR(
      o,
      base_lr=lr / 10,
      max_lr=lr,
      step_size_up=int(rng.integers(1, 20)),
      step_size_down=down,
      mode=mode,
      gamma=float(rng.uniform(0.9, 1.0)),
      cycle_momentum=bool(rng.integers(2)),
    )
    return made, "CyclicLR"
  if kind == 9:
    total = int(rng.integers(2, 60))
    made = L.OneCycleLR(
      o,
      max_lr=[g["lr"] for g in o.param_groups],
      total_steps=total,
      pct_start=float(rng.choice([rng.uniform(0.05, 0.95), rng.uniform(0.5, 1.0)])),
      anneal_strategy=str(rng.choice(["cos", "linear"])),
      three_phase=bool(rng.integers(2)),
      div_factor=float(rng.uniform(2.0, 50.0)),
      final_div_factor=float(rng.uniform(2.0, 1e4)),
    )
    return made, "OneCycleLR"
  if kind == 10:  # only the schedulers used are built: building one changes the optimizer
    warm = int(rng.integers(1, 10))
    first = L.LinearLR(o, float(rng.uniform(0.05, 1.0)), total_iters=warm)
    tail_class = str(rng.choice(["StepLR", "ExponentialLR", "CosineAnnealingLR", "PolynomialLR"]))
    tail = {
      "StepLR": lambda: L.StepLR(o, int(rng.integers(1, 10)), 0.5),
      "ExponentialLR": lambda: L.ExponentialLR(o, 0.9),
      "CosineAnnealingLR": lambda: L.CosineAnnealingLR(o, int(rng.integers(1, 30))),
      "PolynomialLR": lambda: L.PolynomialLR(o, int(rng.integers(1, 30)), 2.0),
    }[tail_class]()
    made = L.SequentialLR(o, [first, tail], [warm])
    return made, ("SequentialLR", ["LinearLR", tail_class])
  parts = {
    "ConstantLR": lambda: L.ConstantLR(o, 0.5, total_iters=int(rng.integers(1, 10))),
    "ExponentialLR": lambda: L.ExponentialLR(o, float(rng.uniform(0.85, 1.0))),
    "StepLR": lambda: L.StepLR(o, int(rng.integers(1, 10)), 0.5),
  }
  names = [list(parts)[k] for k in sorted(rng.choice(3, size=2, replace=False))]
  made = L.ChainedScheduler([parts[name]() for name in names], o)
  return made, ("ChainedScheduler", names)


def _transformers(rng, o):
  w, total = int(rng.integers(0, 15)), int(rng.integers(15, 60))
  kind = int(rng.integers(10))
  cycles = float(rng.choice([0.5, rng.uniform(0.2, 2.0)]))
  if kind == 0:
    return hf.get_linear_schedule_with_warmup(o, w, total)
  if kind == 1:
    return hf.get_cosine_schedule_with_warmup(o, w, total, num_cycles=cycles)
  if kind == 2:
    n = int(rng.integers(1, 4))
    return hf.get_cosine_with_hard_restarts_schedule_with_warmup(o, w, total, num_cycles=n)
  if kind == 3:
    lr_end = o.param_groups[0]["lr"] * float(rng.uniform(0.0, 0.5))
    power = float(rng.uniform(0.5, 3.0))
    return hf.get_polynomial_decay_schedule_with_warmup(o, w, total, lr_end=lr_end, power=power)
  if kind == 4:
    return hf.get_constant_schedule(o)
  if kind == 5:
    return hf.get_constant_schedule_with_warmup(o, w)
  if kind == 6:
    timescale = None if rng.integers(2) else int(rng.integers(1, 30))
    return hf.get_inverse_sqrt_schedule(o, w, timescale=timescale)
  if kind == 7:
    rate = dict(min_lr_rate=float(rng.uniform(0, 0.5)))
    return hf.get_cosine_with_min_lr_schedule_with_warmup(o, w, total, num_cycles=cycles, **rate)
  if kind == 8:
    warmup_rate = None if rng.integers(2) else float(rng.uniform(0, 1))
    return hf.get_cosine_with_min_lr_schedule_with_warmup_lr_rate(
      o,
      w,
      total,
      num_cycles=cycles,
      min_lr_rate=float(rng.uniform(0, 0.5)),
      warmup_lr_rate=warmup_rate,
    )
  kinds = ["linear", "cosine", "1-sqrt"]
  return hf.get_wsd_schedule(
    o,
    w,
    int(rng.integers(1, 20)),
    num_stable_steps=int(rng.integers(0, 30)),
    warmup_type=str(rng.choice(kinds)),
    decay_type=str(rng.choice(kinds)),
    min_lr_ratio=float(rng.choice([0.0, rng.uniform(0, 0.5)])),
    num_cycles=cycles,
  )


def _timm(rng, o):
  """A random timm scheduler (no noise: its draws are timm's own, see test_timm)."""
  name = str(
    rng.choice(
      ["CosineLRScheduler", "TanhLRScheduler", "PolyLRScheduler"] * 2
      + [
        "StepLRScheduler",
        "MultiStepLRScheduler",
        "WSDLRScheduler",
        "WSDLRScheduler",
      ]
    )
  )
  lr = o.param_groups[0]["lr"]
  warm = dict(warmup_t=int(rng.integers(0, 8)), warmup_lr_init=float(rng.choice([0.0, lr / 100])))
  if name == "WSDLRScheduler":
    t_initial = int(rng.integers(1, 50))
    kwargs = dict(
      t_initial=t_initial,
      decay_t=int(rng.integers(1, t_initial + 1)),
      lr_min=float(rng.choice([0.0, lr / 20])),
      stable_fn=str(rng.choice(["constant", "rsqrt", "power"])),
      stable_timescale=float(rng.uniform(1.0, 20.0)),
      stable_power=float(rng.uniform(0.2, 1.5)),
      decay_fn=str(rng.choice(["linear", "1-sqrt", "cosine", "power", "exp"])),
      decay_power=float(rng.uniform(0.3, 3.0)),
      decay_ratio=float(rng.uniform(0.02, 0.9)),
      **warm,
    )
  elif name in ("StepLRScheduler", "MultiStepLRScheduler"):
    warm["warmup_prefix"] = bool(rng.integers(2))
    decay_t = (
      float(rng.choice([int(rng.integers(1, 20)), 2.4, 7.5]))
      if name == "StepLRScheduler"
      else sorted(int(m) for m in rng.integers(0, 50, size=int(rng.integers(1, 4))))
    )
    kwargs = dict(decay_t=decay_t, decay_rate=float(rng.uniform(0.1, 1.0)), **warm)
  else:
    warm["warmup_prefix"] = bool(rng.integers(2))
    kwargs = dict(
      t_initial=int(rng.integers(1, 40)),
      lr_min=float(rng.choice([0.0, lr / 20])),
      cycle_mul=float(rng.choice([1.0, 1.5, 2.0, rng.uniform(0.5, 2.5)])),
      cycle_decay=float(rng.uniform(0.3, 1.0)),
      cycle_limit=int(rng.integers(1, 5)),
      **warm,
    )
    if name == "TanhLRScheduler":
      kwargs.update(lb=float(rng.uniform(-8, -1)), ub=float(rng.uniform(1, 6)))
    else:
      kwargs["k_decay"] = float(rng.choice([1.0, rng.uniform(0.5, 2.0)]))
    if name == "PolyLRScheduler":
      kwargs["power"] = float(rng.uniform(0.3, 3.0))
  cls = getattr(TIMM, name)
  return cls(o, t_in_epochs=bool(rng.integers(2)), **kwargs), cls


def _pytorch_optimizer(rng, o):
  lr = float(rng.choice([1e-3, 0.1, 1.0]))
  low = float(rng.choice([0.0, lr / 100, lr / 10]))
  t_max = int(rng.integers(2, 50))
  kind = int(rng.integers(7))
  if kind == 0:
    return po.REXScheduler(o, total_steps=int(rng.integers(0, 50)), max_lr=lr, min_lr=low)
  if kind == 1:
    first = int(rng.integers(2, 25))
    return po.CosineAnnealingWarmupRestarts(
      o,
      first_cycle_steps=first,
      cycle_mult=float(rng.choice([1.0, 2.0, rng.uniform(0.3, 3.0)])),
      max_lr=lr,
      min_lr=low,
      warmup_steps=int(rng.integers(0, first)),
      gamma=float(rng.uniform(0, 1)),
    )
  if kind in (2, 3, 4):
    cls = (po.LinearScheduler, po.CosineScheduler, po.PolyScheduler)[kind - 2]
    extra = dict(poly_order=float(rng.uniform(0.1, 2.0))) if kind == 4 else {}
    init = float(rng.choice([0.0, low, lr / 2]))
    warmup = int(rng.integers(0, t_max))
    return cls(o, t_max=t_max, max_lr=lr, min_lr=low, init_lr=init, warmup_steps=warmup, **extra)
  if kind == 5:
    return po.get_chebyshev_schedule(o, num_epochs=int(rng.integers(1, 40)))
  return po.get_wsd_schedule(
    o,
    int(rng.integers(0, 10)),
    int(rng.integers(0, 20)),
    int(rng.integers(0, 20)),
    min_lr_ratio=float(rng.choice([0.0, rng.uniform(0, 0.5)])),
    num_cycles=float(rng.choice([0.5, rng.uniform(0.2, 1.5)])),
    cooldown_type=str(rng.choice(["cosine", "1-sqrt", "linear", "1-square"])),
  )


def _draw(rng):
  """``(library, scheduler, its optimizer, scheduler_class for its state_dict or None, make)``."""
  library = str(
    rng.choice(["torch", "transformers", "timm", "pytorch_optimizer"], p=[0.35, 0.25, 0.2, 0.2])
  )
  groups = int(rng.choice([1, 1, 2]))
  state = rng.bit_generator.state  # to build the same object again
  o = _optimizer(rng, groups)
  if library == "torch":
    scheduler, spec = _torch(rng, o)
  elif library == "transformers":
    scheduler, spec = _transformers(rng, o), None  # a LambdaLR: its state holds no function
  elif library == "timm":
    scheduler, spec = _timm(rng, o)
  else:
    scheduler = _pytorch_optimizer(rng, o)
    spec = (
      type(scheduler)
      if isinstance(scheduler, L.LRScheduler) and not isinstance(scheduler, L.LambdaLR)
      else None
    )

  def make():
    again = np.random.default_rng()
    again.bit_generator.state = state
    twin_o = _optimizer(again, groups)
    build = {"torch": _torch, "transformers": _transformers, "timm": _timm}.get(library)
    made = build(again, twin_o) if build else _pytorch_optimizer(again, twin_o)
    return (made[0] if isinstance(made, tuple) else made), twin_o

  return library, scheduler, o, spec, make


# ------------------------------------------------------------------ checking


def _advance(scheduler, k):
  """Steps a torch-like scheduler k times (a timm one is stateless: it is left as it is)."""
  if hasattr(scheduler, "step_update"):
    scheduler.step(k) if scheduler.t_in_epochs else scheduler.step_update(k)
    return
  for _ in range(k):
    scheduler.step()


def _steppable(scheduler, cap):
  """Rows of its rates a copy can give from now on, at most cap (torch raises past some)."""
  if hasattr(scheduler, "step_update"):  # timm's: stateless, any step
    return cap
  return torch_steppable(scheduler, cap)


def _check(scheduler, converted, per_epoch, what):
  """compare over the steppable range; 0 where the reference is negative. Returns its steps.

  Most objects are compared over exactly ``HORIZON`` steps: one array shape, so the
  eager operations compile once for all of them.
  """
  rows = _steppable(scheduler, -(-HORIZON // per_epoch))
  start, rates, _ = _tabulate.torch_values(scheduler, rows, "fuzz")
  rates = np.repeat(rates, per_epoch, axis=0)[:HORIZON]
  negative = np.flatnonzero((rates < 0).any(axis=1))
  n = int(negative[0]) if negative.size else len(rates)
  per = dict(steps_per_epoch=per_epoch) if per_epoch > 1 else {}
  if n:
    atol = 1e-6 * float(np.abs(rates[:n]).max())  # float32's reach near a zero of the curve
    report = jaxsched.compare(scheduler, converted, n, rtol=1e-5, atol=atol, **per)
    assert report.first_mismatch is None, (what, report)
  if negative.size:
    steps = jnp.arange(HORIZON, dtype=jnp.int32) + start * per_epoch
    for sched in converted if isinstance(converted, list) else [converted]:
      assert np.all(np.asarray(sched(steps))[negative] == 0.0), what
  return len(negative)


def test_from_torch_fuzz():
  rng = np.random.default_rng(SEED)
  counts = dict.fromkeys(
    ("objects", "restored", "from_state_dict", "negative_steps", "objects_with_negative_rates"), 0
  )
  counts["jitted"] = 0
  by_library: dict = {}
  with warnings.catch_warnings(), jax.disable_jit():
    warnings.simplefilter("ignore")
    for trial in range(NUM_OBJECTS):
      library, scheduler, o, spec, make = _draw(rng)
      by_library[library] = by_library.get(library, 0) + 1
      what = (trial, library, type(scheduler).__name__)
      k = int(rng.integers(0, 40))
      if type(scheduler).__name__ == "OneCycleLR":
        k = int(rng.integers(0, _steppable(scheduler, scheduler.total_steps + 2)))
      _advance(scheduler, k)
      timm_epochs = hasattr(scheduler, "step_update") and scheduler.t_in_epochs
      per_epoch = int(rng.integers(1, 4)) if timm_epochs else 1
      restorable = isinstance(scheduler, L.LRScheduler) or library == "timm"
      if restorable and rng.uniform() < 0.3:  # restored into a fresh object
        fresh, fresh_o = make()
        fresh.load_state_dict(scheduler.state_dict())
        fresh_o.load_state_dict(o.state_dict())
        scheduler, o = fresh, fresh_o
        counts["restored"] += 1
      per = dict(steps_per_epoch=per_epoch) if timm_epochs else {}
      converted = jaxsched.from_torch(scheduler, **per)
      negatives = _check(scheduler, converted, per_epoch, what)
      counts["negative_steps"] += negatives
      counts["objects_with_negative_rates"] += negatives > 0
      if spec is not None and rng.uniform() < 0.3:  # converted from the state_dict itself
        saved = jaxsched.from_torch(
          scheduler.state_dict(), scheduler_class=spec, optimizer_state=o.state_dict(), **per
        )
        _check(scheduler, saved, per_epoch, what + ("state_dict",))
        counts["from_state_dict"] += 1
      if trial % 25 == 0:  # the same schedule jitted
        with jax.disable_jit(False):
          for sched in converted if isinstance(converted, list) else [converted]:
            steps = jnp.arange(HORIZON)
            np.testing.assert_allclose(
              np.asarray(jax.jit(sched)(steps)), np.asarray(sched(steps)), rtol=1e-6, atol=1e-9
            )
        counts["jitted"] += 1
      counts["objects"] += 1
  assert counts["objects"] == NUM_OBJECTS
  assert min(by_library.values()) > 25, by_library
  assert counts["restored"] > 12 and counts["from_state_dict"] > 12, counts
  print("fuzz:", counts, by_library)
