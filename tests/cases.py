"""The shared matrix of schedule cases that the contract tests run over.

`CASES` is a list of ``(name, factory, kwargs)``: every schedule of
``jaxsched.catalog()`` with one to a few representative, valid sets of keyword
arguments; the factory is the registry's entry for the name's first part.
`case_id` gives readable pytest ids and `upper_bound` the largest value the
schedule may take according to its documented formula (its peak / max / init
value), computed from the kwargs alone, never from jaxsched.
"""

import math
from typing import Any, Callable, Dict, List, Tuple

import numpy as np

import jaxsched

Case = Tuple[str, Callable[..., Any], Dict[str, Any]]

# Upper bounds of the schedules built inside composite cases (sequential's
# parts, chained's factors), keyed by id() of the schedule object; the objects
# live as long as CASES, so the ids stay valid.
_PART_BOUNDS: Dict[int, float] = {}


def _part(factory: Callable[..., Any], **kwargs: Any) -> Any:
  """Builds a schedule used inside a composite case and records its bound."""
  sched = factory(**kwargs)
  _PART_BOUNDS[id(sched)] = upper_bound(factory.__name__, kwargs)
  return sched


def _name_of(case_name: str) -> str:
  return case_name.split("/")[0]


def upper_bound(name: str, kwargs: Dict[str, Any]) -> float:
  """The stated maximum of factory ``name`` built with ``kwargs``.

  Args:
    name: the factory's name (``"warmup_cosine"``) or a case name
      (``"warmup_cosine/min_lr"``).
    kwargs: the keyword arguments the factory is called with.

  Returns:
    A float: no step may give a larger value (up to float32 rounding).
  """
  name = _name_of(name)
  kw = {k: (np.asarray(v).tolist() if hasattr(v, "shape") else v) for k, v in kwargs.items()}
  get = kw.get
  if name == "constant":
    return float(kw["value"])
  if name == "constant_factor":
    return kw["init_value"] * max(1.0, get("factor", 1 / 3))
  if name == "linear_factor":
    return kw["init_value"] * max(get("start_factor", 1 / 3), get("end_factor", 1.0))
  if name in ("step_decay", "multistep_decay"):
    if get("gamma", 0.1) > 1:
      raise ValueError(f"{name}: no upper bound for gamma > 1")
    return float(kw["init_value"])
  if name == "exponential_decay":
    if kw["gamma"] > 1:
      return float(kw["end_value"])
    return float(kw["init_value"])
  if name == "polynomial_decay":
    return max(kw["init_value"], get("end_value", 0.0))
  if name == "cosine_annealing":
    return max(kw["init_value"], get("eta_min", 0.0))
  if name == "cosine_warm_restarts":
    return max(kw["init_value"], get("eta_min", 0.0))
  if name == "cyclic":
    return max(kw["base_lr"], kw["max_lr"])
  if name == "cyclic_momentum":
    return max(get("base_momentum", 0.8), get("max_momentum", 0.9))
  if name == "one_cycle":
    return float(kw["max_lr"])
  if name == "one_cycle_momentum":
    return max(get("base_momentum", 0.85), get("max_momentum", 0.95))
  if name == "warmup":
    return max(kw["peak_value"], get("init_value", 0.0))
  if name in (
    "warmup_constant",
    "warmup_cosine_restarts",
    "warmup_polynomial",
    "inverse_sqrt",
    "warmup_stable_decay",
  ):
    return float(kw["peak_value"])
  if name == "warmup_linear":
    return max(kw["peak_value"], get("end_value", 0.0), get("init_value", 0.0))
  if name == "warmup_cosine":
    return max(kw["peak_value"], get("end_value", 0.0), get("init_value", 0.0))
  if name == "noam":
    # scale * d**-0.5 * min(n**-0.5, n * w**-1.5) peaks at n = w.
    return get("scale", 1.0) * kw["d_model"] ** -0.5 * kw["warmup_steps"] ** -0.5
  if name == "grokking":
    return max(kw["peak_value"], get("end_value", 1e-6))
  if name == "bias_mitigation":
    return max(get("high_value", 1e-2), get("plateau_value", 1e-3), get("end_value", 1e-5))
  if name == "piecewise_linear":
    return max(kw["values"])
  if name == "sequential":
    return max(_PART_BOUNDS[id(s)] for s in kwargs["schedules"])
  if name == "chained":
    return kw["init_value"] * math.prod(_PART_BOUNDS[id(s)] for s in kwargs["factor_schedules"])
  if name == "adaptive_momentum":
    return get("max_momentum", 0.95)
  if name in ("untuned_warmup", "warmup_stable_decay_cycles"):
    return float(kw["peak_value"])
  if name == "timm_ema_decay":
    decay = get("decay", 0.9999)
    return max(decay, get("min_decay", 0.0)) if get("use_warmup", False) else decay
  if name.startswith("timm_"):
    return max(kw["peak_value"], get("warmup_lr_init", 0.0), get("lr_min", 0.0))
  if name in ("rex", "cosine_annealing_warmup_restarts"):
    return max(kw["max_lr"], get("min_lr", 1e-6 if name != "rex" else 0.0))
  if name == "chebyshev":  # the reciprocal nodes 1 / (c - r cos theta) stay below 1 / small_m
    return kw["init_value"] / get("small_m", 0.05)
  if name == "warmup_poly_growth":  # min + (max - min) (t - W)^k grows to the last step
    top, floor = kw["max_lr"], get("min_lr", 0.0)
    grown = floor + (top - floor) * (2**31 - 1 - get("warmup_steps", 0)) ** get("poly_order", 0.5)
    return max(top, get("init_lr", 0.0), grown)
  if name == "proportion":  # linear in the rate, which stays in [0, the schedule's bound]
    high, low = get("max_value", 2.0), get("min_value", 2.0)
    top, floor = kw["max_lr"], get("min_lr", 0.0)
    if top <= floor:
      return high
    ends = [low + (high - low) * (lr - floor) / (top - floor) for lr in (0.0, bound_of(kwargs))]
    return max(ends)
  if name == "cooldown":
    return max(_PART_BOUNDS[id(kwargs["schedule"])], get("end_value", 0.0))
  if name == "with_noise":
    return _PART_BOUNDS[id(kwargs["schedule"])] * (1 + get("noise_pct", 0.67))
  if name == "swa_lr":
    return max(kw["init_value"], kw["end_value"])
  if name == "ema_sqrt_weight":
    return 1.0  # the cooldown's weights start at 1, the first phase's is 1 - beta
  if name in ("in_units", "per_update"):
    return _PART_BOUNDS[id(kwargs["schedule"])]
  raise KeyError(f"no upper bound known for {name!r}")


def bound_of(kwargs: Dict[str, Any]) -> float:
  """The bound recorded for the schedule a composite case nests as ``schedule``."""
  return _PART_BOUNDS[id(kwargs["schedule"])]


def _chained(init_value, factor_schedules):
  """chained's factor schedules are positional; keep them as one kwarg here."""
  return jaxsched.chained(init_value, *factor_schedules)


# The cases after each schedule's first (its registry example), by name.
_MORE: List[Tuple[str, Dict[str, Any]]] = [
  ("multistep_decay/three_array", dict(init_value=1.0, milestones=np.array([30, 80, 200]))),
  ("linear_factor/fall", dict(init_value=1.0, start_factor=1.0, end_factor=0.01, total_steps=50)),
  (
    "exponential_decay/floor",
    dict(init_value=1e-3, gamma=0.9, transition_steps=10, end_value=1e-4),
  ),
  ("exponential_decay/growth", dict(init_value=1e-4, gamma=1.05, end_value=1e-2)),
  ("polynomial_decay/sqrt", dict(init_value=0.1, total_steps=80, power=0.5)),
  ("cosine_warm_restarts/t_mult2", dict(init_value=0.1, t_0=10, t_mult=2, eta_min=1e-3)),
  ("piecewise_linear/one_point", dict(boundaries=[40], values=[0.3])),
  (
    "cyclic/triangular2",
    dict(base_lr=0.01, max_lr=0.1, step_size_up=20, step_size_down=40, mode="triangular2"),
  ),
  (
    "cyclic/exp_range",
    dict(base_lr=0.01, max_lr=0.1, step_size_up=25, mode="exp_range", gamma=0.99),
  ),
  (
    "one_cycle/three_phase_linear",
    dict(max_lr=1.0, total_steps=150, pct_start=0.25, anneal_strategy="linear", three_phase=True),
  ),
  ("warmup/cosine", dict(peak_value=0.5, warmup_steps=60, warmup_kind="cosine", init_value=0.05)),
  (
    "warmup/exponential",
    dict(peak_value=1.0, warmup_steps=50, warmup_kind="exponential", init_value=0.01),
  ),
  (
    "warmup/polynomial",
    dict(peak_value=1.0, warmup_steps=40, warmup_kind="polynomial", exponent=3.0),
  ),
  ("warmup/1-sqrt", dict(peak_value=1.0, warmup_steps=30, warmup_kind="1-sqrt")),
  ("warmup_constant/no_warmup", dict(peak_value=0.1, warmup_steps=0)),
  ("warmup_linear/end_value", dict(peak_value=1.0, warmup_steps=0, total_steps=100, end_value=0.1)),
  (
    "warmup_cosine/min_lr_cosine_warmup",
    dict(
      peak_value=1e-3,
      warmup_steps=50,
      total_steps=300,
      end_value=1e-5,
      init_value=1e-4,
      warmup_kind="cosine",
    ),
  ),
  (
    "warmup_cosine/two_cycles_exp_warmup",
    dict(
      peak_value=1.0,
      warmup_steps=10,
      total_steps=100,
      num_cycles=2.0,
      init_value=0.01,
      warmup_kind="exponential",
    ),
  ),
  ("warmup_cosine_restarts/no_warmup", dict(peak_value=0.1, warmup_steps=0, total_steps=100)),
  ("inverse_sqrt/timescale", dict(peak_value=0.1, warmup_steps=10, timescale=100)),
  (
    "warmup_stable_decay/total_steps",
    dict(
      peak_value=0.1,
      warmup_steps=10,
      decay_steps=40,
      total_steps=200,
      warmup_kind="cosine",
      decay_kind="linear",
      min_lr_ratio=0.1,
    ),
  ),
  (
    "warmup_stable_decay/1-sqrt",
    dict(peak_value=1.0, warmup_steps=0, decay_steps=30, stable_steps=10, decay_kind="1-sqrt"),
  ),
  (
    "warmup_stable_decay_cycles/boundaries_1-sqrt",
    dict(
      peak_value=1.0,
      warmup_steps=5,
      decay_steps=30,
      total_steps=400,
      cycles=[100, 250],
      rewarmup_steps=20,
      decay_kind="1-sqrt",
      min_lr_ratio=0.1,
    ),
  ),
  ("untuned_warmup/exponential", dict(peak_value=1.0, b2=0.95, warmup_kind="exponential")),
  (
    "timm_cosine/k_decay_prefix",
    dict(peak_value=1.0, t_initial=200, k_decay=2.0, warmup_t=20, warmup_prefix=True),
  ),
  (
    "timm_wsd/rsqrt_linear",
    dict(
      peak_value=0.5,
      t_initial=300,
      decay_t=100,
      stable_fn="rsqrt",
      decay_fn="linear",
      warmup_t=20,
      lr_min=1e-3,
    ),
  ),
  (
    "timm_wsd/power_exp",
    dict(
      peak_value=1.0,
      t_initial=200,
      decay_t=200,
      stable_fn="power",
      stable_timescale=5.0,
      stable_power=0.8,
      decay_fn="exp",
      decay_ratio=0.05,
    ),
  ),
  (
    "timm_wsd/cosine_power",
    dict(peak_value=0.1, t_initial=100, decay_t=30, decay_fn="power", decay_power=2.0),
  ),
  ("rex/no_floor", dict(max_lr=1.0, total_steps=100)),
  ("chebyshev/narrow", dict(init_value=0.1, num_epochs=9, small_m=0.2, big_m=2.0)),
  (
    "cosine_annealing_warmup_restarts/shrinking",
    dict(first_cycle_steps=40, cycle_mult=0.5, max_lr=1.0, min_lr=0.01, gamma=0.9),
  ),
  (
    "warmup_poly_growth/order2",
    dict(max_lr=1e-3, warmup_steps=0, poly_order=2.0, min_lr=1e-4),
  ),
  (
    "proportion/equal_bounds",
    dict(
      schedule=_part(jaxsched.cosine_annealing, init_value=0.1, t_max=100),
      max_lr=0.1,
      min_lr=0.1,
      max_value=0.2,
    ),
  ),
  (
    "warmup_linear/follow",
    dict(
      peak_value=1.0,
      warmup_steps=10,
      total_steps=100,
      end_value=0.1,
      init_value=0.2,
      hold_after_end=False,
    ),
  ),
  (
    "warmup_cosine/follow",
    dict(peak_value=1.0, warmup_steps=10, total_steps=100, num_cycles=0.75, hold_after_end=False),
  ),
  (
    "one_cycle/three_phase_late",
    dict(max_lr=1.0, total_steps=120, pct_start=0.8, three_phase=True, anneal_strategy="linear"),
  ),
  (
    "cooldown/1-square",
    dict(
      schedule=_part(jaxsched.constant, value=0.1),
      start_step=100,
      decay_steps=50,
      decay_kind="1-square",
    ),
  ),
  (
    "grokking/fractions",
    dict(peak_value=1.0, total_steps=200, end_value=0.01, warmup_fraction=0.2, decay_fraction=0.5),
  ),
  (
    "bias_mitigation/fractions",
    dict(
      total_steps=100,
      high_value=0.5,
      plateau_value=0.1,
      end_value=0.0,
      high_fraction=0.1,
      plateau_fraction=0.4,
    ),
  ),
  (
    "sequential/three",
    dict(
      schedules=[
        _part(jaxsched.constant, value=0.01),
        _part(
          jaxsched.linear_factor, init_value=0.1, start_factor=1.0, end_factor=0.1, total_steps=50
        ),
        _part(jaxsched.exponential_decay, init_value=0.01, gamma=0.95),
      ],
      boundaries=[10, 60],
    ),
  ),
  (
    "adaptive_momentum/warmup_cosine",
    dict(
      lr_schedule=_part(jaxsched.warmup_cosine, peak_value=1.0, warmup_steps=10, total_steps=100),
      reference_lr=2.0,
      max_momentum=0.99,
    ),
  ),
  (
    "cooldown/cosine_linear_floor",
    dict(
      schedule=_part(jaxsched.warmup_cosine, peak_value=1.0, warmup_steps=10, total_steps=300),
      start_step=120,
      decay_steps=60,
      decay_kind="linear",
      end_value=0.05,
    ),
  ),
  (
    "with_noise/window_tuple",
    dict(
      schedule=_part(jaxsched.warmup_constant, peak_value=0.1, warmup_steps=10),
      noise_range=(20, 150),
    ),
  ),
  (
    "with_noise/uniform",
    dict(
      schedule=_part(jaxsched.cosine_annealing, init_value=1.0, t_max=200),
      noise_range=50,
      noise_pct=0.3,
      noise_type="uniform",
      seed=7,
    ),
  ),
  (
    "swa_lr/linear_up",
    dict(init_value=0.01, end_value=0.1, anneal_steps=30, anneal_strategy="linear"),
  ),
  ("swa_lr/no_annealing", dict(init_value=0.05, end_value=0.02, anneal_steps=0)),
  ("timm_ema_decay/after_step", dict(decay=0.99, update_after_step=10)),
  (
    "timm_ema_decay/min_above_decay",
    dict(decay=0.9, min_decay=0.95, use_warmup=True, warmup_gamma=10.0),
  ),
  ("ema_sqrt_weight/switch_at_0", dict(beta=0.5, switch_step=0, decay_steps=1)),
  (
    "in_units/tokens_ramp",
    dict(
      schedule=_part(jaxsched.warmup_linear, peak_value=0.1, warmup_steps=50, total_steps=5_000),
      batch_size=jaxsched.rampup_batch_size(8, 8, 400, 32),
      unit="tokens",
      seq_len=128,
      unit_size=100,
    ),
  ),
  (
    "per_update/every_step",
    dict(schedule=_part(jaxsched.cosine_annealing, init_value=1.0, t_max=40), every_k=1),
  ),
  (
    "chained/three",
    dict(
      init_value=1.0,
      factor_schedules=[
        _part(jaxsched.linear_factor, init_value=1.0, start_factor=0.1, total_steps=20),
        _part(jaxsched.step_decay, init_value=1.0, step_size=30, gamma=0.5),
        _part(jaxsched.multistep_decay, init_value=1.0, milestones=[50, 100]),
      ],
    ),
  ),
]


def _factory(case_name: str) -> Callable[..., Any]:
  """The registry's factory of a case (``chained`` takes its parts as one kwarg here)."""
  name = _name_of(case_name)
  return _chained if name == "chained" else jaxsched.registry()[name].factory


def _built(config: Dict[str, Any]) -> Any:
  """A nested ``{"type": ...}`` config of an example, built into a schedule (bound recorded)."""
  kwargs = dict(config)
  return _part(jaxsched.registry()[kwargs.pop("type")].factory, **kwargs)


def example_kwargs(entry: Any) -> Dict[str, Any]:
  """The registry entry's example as the factory's kwargs: nested configs built into schedules."""
  kwargs = dict(entry.example)
  for key in entry.nested:
    if isinstance(kwargs.get(key), list):
      kwargs[key] = [_built(config) for config in kwargs[key]]
    elif key in kwargs:
      kwargs[key] = _built(kwargs[key])
  return kwargs


EXAMPLE = "example"  # the name of each schedule's first case: its registry example

CASES: List[Case] = [
  (f"{entry.name}/{EXAMPLE}", _factory(entry.name), example_kwargs(entry))
  for entry in jaxsched.catalog()
] + [(name, _factory(name), kwargs) for name, kwargs in _MORE]


def case_id(case: Case) -> str:
  """A readable pytest id: the case's name, e.g. ``warmup_cosine/basic``."""
  return case[0]


def case_ids(cases: List[Case]) -> List[str]:
  return [case_id(c) for c in cases]


def factory_name(case: Case) -> str:
  """The public factory a case exercises (``"warmup_cosine"``)."""
  return _name_of(case[0])


def build(case: Case):
  """Calls the case's factory with its kwargs."""
  _, factory, kwargs = case
  return factory(**kwargs)


def bound(case: Case) -> float:
  """`upper_bound` of a case."""
  return upper_bound(case[0], case[2])


# Every public schedule of the conventions; each must appear in the matrix.
SCHEDULE_FACTORIES = tuple(entry.name for entry in jaxsched.catalog())


def assert_valid_values(values, bound, steps):
  """Finite, non-negative and at most ``bound`` (with 1e-6 slack) at every step."""
  bad = ~np.isfinite(values)
  assert not bad.any(), f"non-finite at steps {steps[bad]}"
  bad = values < 0
  assert not bad.any(), f"negative at steps {steps[bad]}: {values[bad]}"
  bad = values > bound * (1 + 1e-6)
  assert not bad.any(), f"above the bound {bound} at steps {steps[bad]}: {values[bad]}"
