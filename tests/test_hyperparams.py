"""Hyperparameters: random valid ones (hypothesis), traced ones (vmap), bad ones.

* Property tests: for random valid hyperparameters of the main factories the
  schedule is finite, non-negative and within its stated bound at every step
  (up to 2**31 - 1, negative steps included), and jit / eager / scalar /
  vector evaluations agree.
* vmap over each numeric hyperparameter equals separate calls with the
  concrete values.
* Bad input raises ValueError at construction naming the function and the
  argument.
"""

import cases
import chex
import hypothesis
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import strategies as st

import jaxsched

INT32_MAX = 2**31 - 1
WARMUP_KINDS = ("linear", "cosine", "exponential", "polynomial", "1-sqrt")
HF_KINDS = ("linear", "cosine", "1-sqrt")  # transformers' get_wsd_schedule warmup/decay types

# Every transition of the drawn hyperparameters lies below 1100.
STEPS = np.concatenate(
  [np.arange(1100), [2**24 + 1, 2**30, INT32_MAX - 1, INT32_MAX], [-1, -(2**31)]]
).astype(np.int32)
_SCALAR_PICKS = (0, 1, 7, 99, 500, 1099, len(STEPS) - 3, len(STEPS) - 1)

# Each example compiles its schedule (the jit half of the check), so examples
# are few; cosine_warm_restarts compiles a 32-step unrolled cycle walk (~0.5 s).
MAX_EXAMPLES = {"cosine_warm_restarts": 10}


def _settings(name):
  return hypothesis.settings(
    max_examples=MAX_EXAMPLES.get(name, 20),
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[
      hypothesis.HealthCheck.function_scoped_fixture,
      hypothesis.HealthCheck.too_slow,
    ],
  )


def _values(lo, hi):
  return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


def _check(name, kwargs):
  """The properties every schedule has, for one set of hyperparameters."""
  sched = getattr(jaxsched, name)(**kwargs)
  bound = cases.upper_bound(name, kwargs)
  tol = dict(rtol=1e-6, atol=1e-6 * bound)
  jitted = jax.jit(sched)(jnp.asarray(STEPS))
  assert jitted.dtype == jnp.float32
  chex.assert_shape(jitted, STEPS.shape)
  values = np.asarray(jitted)
  cases.assert_valid_values(values, bound, STEPS)
  np.testing.assert_allclose(values[STEPS < 0], values[0], **tol)
  np.testing.assert_allclose(
    np.asarray(sched(jnp.asarray(STEPS))), values, **tol, err_msg="eager vs jit"
  )
  for i in _SCALAR_PICKS:
    np.testing.assert_allclose(
      float(sched(int(STEPS[i]))), values[i], **tol, err_msg=f"scalar step {STEPS[i]} vs vector"
    )


# --------------------------------------------------------------------------
# Strategies: valid hyperparameters.


@st.composite
def warmup_cosine_kwargs(draw):
  peak = draw(_values(1e-6, 10.0))
  total = draw(st.integers(1, 1000))
  kind = draw(st.sampled_from(WARMUP_KINDS))
  return dict(
    peak_value=peak,
    total_steps=total,
    warmup_steps=draw(st.integers(0, total)),
    end_value=peak * draw(_values(0.0, 1.0)),
    init_value=peak * draw(_values(1e-3 if kind == "exponential" else 0.0, 1.0)),
    num_cycles=draw(_values(0.1, 3.0)),
    warmup_kind=kind,
  )


@st.composite
def one_cycle_kwargs(draw):
  three_phase = draw(st.booleans())
  return dict(
    max_lr=draw(_values(1e-5, 10.0)),
    total_steps=draw(st.integers(50, 1000)),
    pct_start=draw(_values(0.05, 0.95)),
    anneal_strategy=draw(st.sampled_from(("cos", "linear"))),
    div_factor=draw(_values(1.0, 100.0)),
    final_div_factor=draw(_values(1.0, 1e4)),
    three_phase=three_phase,
  )


@st.composite
def cyclic_kwargs(draw):
  base = draw(_values(0.0, 1.0))
  mode = draw(st.sampled_from(("triangular", "triangular2", "exp_range")))
  return dict(
    base_lr=base,
    max_lr=base + draw(_values(0.0, 1.0)),
    step_size_up=draw(st.integers(1, 500)),
    step_size_down=draw(st.none() | st.integers(1, 500)),
    mode=mode,
    gamma=draw(_values(0.5, 1.0)) if mode == "exp_range" else 1.0,
  )


@st.composite
def warmup_stable_decay_kwargs(draw):
  warmup, decay, stable = (
    draw(st.integers(0, 300)),
    draw(st.integers(1, 300)),
    draw(st.integers(0, 300)),
  )
  kwargs = dict(
    peak_value=draw(_values(1e-6, 10.0)),
    warmup_steps=warmup,
    decay_steps=decay,
    warmup_kind=draw(st.sampled_from(HF_KINDS)),
    decay_kind=draw(st.sampled_from(HF_KINDS)),
    min_lr_ratio=draw(_values(0.0, 1.0)),
    num_cycles=draw(_values(0.1, 2.0)),
  )
  if draw(st.booleans()):
    kwargs["stable_steps"] = stable
  else:
    kwargs["total_steps"] = warmup + stable + decay
  return kwargs


@st.composite
def cosine_warm_restarts_kwargs(draw):
  init = draw(_values(1e-6, 10.0))
  return dict(
    init_value=init,
    t_0=draw(st.integers(1, 300)),
    t_mult=draw(st.sampled_from((1, 2, 3))),
    eta_min=init * draw(_values(0.0, 1.0)),
  )


@st.composite
def step_decay_kwargs(draw):
  return dict(
    init_value=draw(_values(1e-6, 10.0)),
    step_size=draw(st.integers(1, 300)),
    gamma=draw(_values(0.01, 1.0)),
  )


@st.composite
def exponential_decay_kwargs(draw):
  init = draw(_values(1e-6, 10.0))
  kwargs = dict(
    init_value=init, transition_steps=draw(st.integers(1, 100)), staircase=draw(st.booleans())
  )
  if draw(st.booleans()):  # growth, capped by end_value
    kwargs.update(gamma=draw(_values(1.001, 1.5)), end_value=init * draw(_values(1.0, 100.0)))
  else:
    kwargs.update(
      gamma=draw(_values(0.5, 0.999)),
      end_value=draw(st.none() | _values(0.0, 1.0).map(lambda f: init * f)),
    )
  return kwargs


@st.composite
def polynomial_decay_kwargs(draw):
  init = draw(_values(1e-6, 10.0))
  return dict(
    init_value=init,
    total_steps=draw(st.integers(1, 1000)),
    power=draw(_values(0.1, 4.0)),
    end_value=init * draw(_values(0.0, 1.0)),
  )


@st.composite
def grokking_kwargs(draw):
  peak = draw(_values(1e-6, 10.0))
  warmup_fraction = draw(_values(0.01, 0.5))
  decay_fraction = min(1.0 - warmup_fraction, (1.0 - warmup_fraction) * draw(_values(0.01, 1.0)))
  return dict(
    peak_value=peak,
    total_steps=draw(st.integers(10, 1000)),
    end_value=peak * draw(_values(0.0, 1.0)),
    warmup_fraction=warmup_fraction,
    decay_fraction=decay_fraction,
  )


@st.composite
def warmup_kwargs(draw):
  peak = draw(_values(1e-6, 10.0))
  kind = draw(st.sampled_from(WARMUP_KINDS))
  return dict(
    peak_value=peak,
    warmup_steps=draw(st.integers(0, 500)),
    warmup_kind=kind,
    init_value=peak * draw(_values(1e-3 if kind == "exponential" else 0.0, 1.0)),
    exponent=draw(_values(0.5, 4.0)),
  )


STRATEGIES = {
  "warmup_cosine": warmup_cosine_kwargs(),
  "one_cycle": one_cycle_kwargs(),
  "cyclic": cyclic_kwargs(),
  "warmup_stable_decay": warmup_stable_decay_kwargs(),
  "cosine_warm_restarts": cosine_warm_restarts_kwargs(),
  "step_decay": step_decay_kwargs(),
  "exponential_decay": exponential_decay_kwargs(),
  "polynomial_decay": polynomial_decay_kwargs(),
  "grokking": grokking_kwargs(),
  "warmup": warmup_kwargs(),
}


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_random_valid_hyperparameters(name):

  @_settings(name)
  @hypothesis.given(kwargs=STRATEGIES[name])
  def check(kwargs):
    _check(name, kwargs)

  check()


# --------------------------------------------------------------------------
# vmap over each numeric hyperparameter == separate concrete calls.

VMAP_STEPS = np.concatenate([np.arange(2200), [2**24 + 1, 2**30, INT32_MAX]]).astype(np.int32)

_VMAP_BASES = {
  "warmup_cosine": dict(peak_value=1.0, warmup_steps=100, total_steps=1000),
  "one_cycle": dict(max_lr=1.0, total_steps=1000),
  "cyclic": dict(base_lr=0.1, max_lr=1.0, step_size_up=200),
  "cyclic_exp_range": dict(
    base_lr=0.1, max_lr=1.0, step_size_up=200, mode="exp_range", gamma=0.999
  ),
  "warmup_stable_decay": dict(peak_value=1.0, warmup_steps=100, decay_steps=300, stable_steps=500),
}

# (base, hyperparameter, values): step counts are int, the rest float.
VMAP_SWEEPS = [
  ("warmup_cosine", "peak_value", [0.1, 0.5, 1.0, 2.0]),
  ("warmup_cosine", "warmup_steps", [0, 50, 100, 700]),
  ("warmup_cosine", "total_steps", [700, 1000, 1500, 2000]),
  ("warmup_cosine", "end_value", [0.0, 0.01, 0.1, 0.5]),
  ("warmup_cosine", "init_value", [0.0, 0.05, 0.2, 0.5]),
  ("warmup_cosine", "num_cycles", [0.5, 1.0, 1.5, 2.0]),
  ("one_cycle", "max_lr", [0.1, 0.5, 1.0, 2.0]),
  ("one_cycle", "total_steps", [500, 1000, 1500, 2000]),
  ("one_cycle", "pct_start", [0.25, 0.3, 0.4, 0.5]),
  ("one_cycle", "div_factor", [5.0, 10.0, 25.0, 100.0]),
  ("one_cycle", "final_div_factor", [10.0, 100.0, 1e4, 1e5]),
  ("cyclic", "base_lr", [0.0, 0.05, 0.1, 0.5]),
  ("cyclic", "max_lr", [0.5, 1.0, 2.0, 3.0]),
  ("cyclic", "step_size_up", [50, 100, 200, 333]),
  ("cyclic", "step_size_down", [50, 100, 250, 333]),
  ("cyclic_exp_range", "gamma", [0.99, 0.995, 0.999, 1.0]),
  ("warmup_stable_decay", "peak_value", [0.1, 0.5, 1.0, 2.0]),
  ("warmup_stable_decay", "warmup_steps", [0, 50, 100, 200]),
  ("warmup_stable_decay", "decay_steps", [1, 100, 300, 500]),
  ("warmup_stable_decay", "stable_steps", [0, 100, 500, 1000]),
  ("warmup_stable_decay", "min_lr_ratio", [0.0, 0.1, 0.5, 1.0]),
  ("warmup_stable_decay", "num_cycles", [0.5, 1.0, 1.5, 2.0]),
]


@pytest.mark.parametrize(
  "base,param,values", VMAP_SWEEPS, ids=[f"{b}-{p}" for b, p, _ in VMAP_SWEEPS]
)
def test_vmap_over_hyperparameter_matches_concrete_calls(base, param, values):
  factory = getattr(jaxsched, base.replace("_exp_range", ""))
  kwargs = _VMAP_BASES[base]
  steps = jnp.asarray(VMAP_STEPS)
  dtype = jnp.int32 if isinstance(values[0], int) else jnp.float32

  @jax.jit
  @jax.vmap
  def curves(value):
    return factory(**{**kwargs, param: value})(steps)

  got = np.asarray(curves(jnp.asarray(values, dtype)))
  chex.assert_shape(got, (len(values), len(VMAP_STEPS)))
  expected = np.stack([np.asarray(factory(**{**kwargs, param: v})(steps)) for v in values])
  peak = max(
    cases.upper_bound(base.replace("_exp_range", ""), {**kwargs, param: v}) for v in values
  )
  for v, g, e in zip(values, got, expected):
    np.testing.assert_allclose(
      g, e, rtol=1e-6, atol=1e-6 * peak, err_msg=f"{base}: vmapped {param}={v} vs concrete"
    )


def _hf_cosine_with_warmup(t, warmup, total, peak):
  """transformers get_cosine_schedule_with_warmup(num_cycles=0.5) * peak, float64."""
  t = np.asarray(t, np.float64)
  progress = np.minimum((t - warmup) / max(1, total - warmup), 1.0)
  cosine = np.maximum(0.0, 0.5 * (1.0 + np.cos(np.pi * progress)))
  return peak * np.where(t < warmup, t / max(1, warmup), cosine)


def test_issue_example_vmap_over_warmup_steps():
  t = jnp.arange(0, 12_001, 3, dtype=jnp.int32)
  warmups = [0, 500, 1000, 2000]
  curves = jax.jit(
    jax.vmap(lambda w: jaxsched.warmup_cosine(1e-3, warmup_steps=w, total_steps=10_000)(t))
  )(jnp.array(warmups))
  chex.assert_shape(curves, (4, t.shape[0]))
  expected = np.stack([_hf_cosine_with_warmup(np.asarray(t), w, 10_000, 1e-3) for w in warmups])
  np.testing.assert_allclose(np.asarray(curves), expected, rtol=0, atol=1e-6 * 1e-3)


# --------------------------------------------------------------------------
# Bad input: ValueError at construction naming the function and the argument.

NAN, INF = float("nan"), float("inf")


def _sequential(schedules, boundaries):
  return jaxsched.sequential([jaxsched.constant(0.1)] * schedules, boundaries)


def _chained(init_value, n):
  return jaxsched.chained(init_value, *[jaxsched.exponential_decay(1.0, gamma=0.9)] * n)


# (function name as in the message, callable, kwargs, regex for the argument)
_WSD = dict(peak_value=1.0, warmup_steps=10, decay_steps=20, stable_steps=30)


def _on_constant(fn, keyword):
  """Calls ``jaxsched.<fn>`` with a constant schedule as its ``keyword`` argument."""
  return lambda **kw: getattr(jaxsched, fn)(**{keyword: jaxsched.constant(0.1)}, **kw)


BAD_INPUTS = [
  ("constant", None, dict(value=-1.0), "value"),
  ("constant", None, dict(value=NAN), "value"),
  ("constant", None, dict(value=INF), "value"),
  ("constant_factor", None, dict(init_value=0.1, factor=-0.5), "factor"),
  ("constant_factor", None, dict(init_value=0.1, total_steps=-1), "total_steps"),
  ("constant_factor", None, dict(init_value=INF), "init_value"),
  ("linear_factor", None, dict(init_value=0.1, start_factor=-0.1), "start_factor"),
  ("linear_factor", None, dict(init_value=0.1, end_factor=-1.0), "end_factor"),
  ("linear_factor", None, dict(init_value=0.1, total_steps=-5), "total_steps"),
  ("linear_factor", None, dict(init_value=NAN), "init_value"),
  ("step_decay", None, dict(init_value=0.1, step_size=0), "step_size"),
  ("step_decay", None, dict(init_value=0.1, step_size=-3), "step_size"),
  ("step_decay", None, dict(init_value=0.1, step_size=10, gamma=-0.5), "gamma"),
  ("step_decay", None, dict(init_value=-0.1, step_size=10), "init_value"),
  ("multistep_decay", None, dict(init_value=0.1, milestones=[-5, 10]), "milestones"),
  ("multistep_decay", None, dict(init_value=0.1, milestones=[10, 20], gamma=NAN), "gamma"),
  ("multistep_decay", None, dict(init_value=-1.0, milestones=[10]), "init_value"),
  ("exponential_decay", None, dict(init_value=0.1, gamma=-0.5), "gamma"),
  ("exponential_decay", None, dict(init_value=0.1, gamma=INF), "gamma"),
  ("exponential_decay", None, dict(init_value=0.1, gamma=1.5), "end_value"),
  (
    "exponential_decay",
    None,
    dict(init_value=0.1, gamma=0.9, transition_steps=0),
    "transition_steps",
  ),
  ("exponential_decay", None, dict(init_value=NAN, gamma=0.9), "init_value"),
  ("polynomial_decay", None, dict(init_value=0.1, total_steps=-10), "total_steps"),
  ("polynomial_decay", None, dict(init_value=0.1, total_steps=100, power=-1.0), "power"),
  ("polynomial_decay", None, dict(init_value=0.1, total_steps=100, end_value=-0.01), "end_value"),
  ("cosine_annealing", None, dict(init_value=0.1, t_max=0), "t_max"),
  ("cosine_annealing", None, dict(init_value=0.1, t_max=-5), "t_max"),
  ("cosine_annealing", None, dict(init_value=0.1, t_max=100, eta_min=-1e-3), "eta_min"),
  ("cosine_warm_restarts", None, dict(init_value=0.1, t_0=0), "t_0"),
  ("cosine_warm_restarts", None, dict(init_value=0.1, t_0=10, t_mult=0), "t_mult"),
  ("cosine_warm_restarts", None, dict(init_value=0.1, t_0=10, t_mult=1.5), "t_mult"),
  ("cosine_warm_restarts", None, dict(init_value=0.1, t_0=10, eta_min=-0.1), "eta_min"),
  ("cyclic", None, dict(base_lr=0.01, max_lr=0.1, mode="triangle"), "mode"),
  ("cyclic", None, dict(base_lr=0.01, max_lr=0.1, step_size_up=0), "step_size_up"),
  ("cyclic", None, dict(base_lr=0.01, max_lr=0.1, step_size_up=-10), "step_size_up"),
  ("cyclic", None, dict(base_lr=0.01, max_lr=0.1, step_size_down=-1), "step_size_down"),
  ("cyclic", None, dict(base_lr=0.01, max_lr=0.1, mode="exp_range", gamma=0.0), "gamma"),
  ("cyclic", None, dict(base_lr=0.01, max_lr=0.1, mode="exp_range", gamma=1.5), "gamma"),
  ("cyclic", None, dict(base_lr=-0.01, max_lr=0.1), "base_lr"),
  ("cyclic", None, dict(base_lr=0.01, max_lr=NAN), "max_lr"),
  ("cyclic_momentum", None, dict(mode="sawtooth"), "mode"),
  ("cyclic_momentum", None, dict(base_momentum=-0.1), "base_momentum"),
  ("cyclic_momentum", None, dict(max_momentum=INF), "max_momentum"),
  ("cyclic_momentum", None, dict(step_size_up=0), "step_size_up"),
  ("one_cycle", None, dict(max_lr=0.1, total_steps=100, pct_start=1.5), "pct_start"),
  ("one_cycle", None, dict(max_lr=0.1, total_steps=100, pct_start=-0.1), "pct_start"),
  ("one_cycle", None, dict(max_lr=0.1, total_steps=100, pct_start=NAN), "pct_start"),
  ("one_cycle", None, dict(max_lr=0.1, total_steps=100, pct_start=1.0001), "pct_start"),
  ("one_cycle", None, dict(max_lr=0.1, total_steps=100, three_phase=1), "three_phase"),
  (
    "one_cycle",
    None,
    dict(max_lr=0.1, total_steps=100, anneal_strategy="cosine"),
    "anneal_strategy",
  ),
  ("one_cycle", None, dict(max_lr=0.1, total_steps=0), "total_steps"),
  ("one_cycle", None, dict(max_lr=0.1, total_steps=100, div_factor=0.0), "div_factor"),
  ("one_cycle", None, dict(max_lr=0.1, total_steps=100, final_div_factor=-1.0), "final_div_factor"),
  ("one_cycle", None, dict(max_lr=-0.1, total_steps=100), "max_lr"),
  ("one_cycle_momentum", None, dict(total_steps=0), "total_steps"),
  ("one_cycle_momentum", None, dict(total_steps=100, anneal_strategy="exp"), "anneal_strategy"),
  ("one_cycle_momentum", None, dict(total_steps=100, pct_start=2.0), "pct_start"),
  ("one_cycle_momentum", None, dict(total_steps=100, base_momentum=-0.5), "base_momentum"),
  ("warmup", None, dict(peak_value=1.0, warmup_steps=10, warmup_kind="quadratic"), "kind"),
  (
    "warmup",
    None,
    dict(peak_value=1.0, warmup_steps=10, warmup_kind="exponential", init_value=0.0),
    "init_value",
  ),
  ("warmup", None, dict(peak_value=1.0, warmup_steps=-1), "warmup_steps"),
  ("warmup", None, dict(peak_value=NAN, warmup_steps=10), "peak_value"),
  (
    "warmup",
    None,
    dict(peak_value=1.0, warmup_steps=10, warmup_kind="polynomial", exponent=-1.0),
    "exponent",
  ),
  ("warmup_constant", None, dict(peak_value=1.0, warmup_steps=-5), "warmup_steps"),
  ("warmup_constant", None, dict(peak_value=-1.0, warmup_steps=5), "peak_value"),
  ("warmup_linear", None, dict(peak_value=1.0, warmup_steps=200, total_steps=100), "warmup_steps"),
  (
    "warmup_linear",
    None,
    dict(peak_value=1.0, warmup_steps=10, total_steps=100, end_value=-0.1),
    "end_value",
  ),
  ("warmup_linear", None, dict(peak_value=INF, warmup_steps=10, total_steps=100), "peak_value"),
  (
    "warmup_cosine",
    None,
    dict(peak_value=1.0, warmup_steps=2000, total_steps=1000),
    "warmup_steps",
  ),
  (
    "warmup_cosine",
    None,
    dict(peak_value=1.0, warmup_steps=10, total_steps=100, warmup_kind="step"),
    "warmup_kind",
  ),
  (
    "warmup_cosine",
    None,
    dict(peak_value=1.0, warmup_steps=10, total_steps=100, warmup_kind="exponential"),
    "init_value",
  ),
  ("warmup_cosine", None, dict(peak_value=1.0, warmup_steps=0, total_steps=-100), "total_steps"),
  (
    "warmup_cosine",
    None,
    dict(peak_value=1.0, warmup_steps=10, total_steps=100, end_value=INF),
    "end_value",
  ),
  (
    "warmup_cosine",
    None,
    dict(peak_value=1.0, warmup_steps=10, total_steps=100, num_cycles=-0.5),
    "num_cycles",
  ),
  ("warmup_cosine", None, dict(peak_value=-1e-3, warmup_steps=10, total_steps=100), "peak_value"),
  (
    "warmup_cosine_restarts",
    None,
    dict(peak_value=1.0, warmup_steps=200, total_steps=100),
    "warmup_steps",
  ),
  (
    "warmup_cosine_restarts",
    None,
    dict(peak_value=1.0, warmup_steps=10, total_steps=100, num_cycles=-1),
    "num_cycles",
  ),
  (
    "warmup_polynomial",
    None,
    dict(peak_value=1e-3, warmup_steps=10, total_steps=100, end_value=1e-3),
    "end_value",
  ),
  (
    "warmup_polynomial",
    None,
    dict(peak_value=1e-3, warmup_steps=10, total_steps=100, end_value=1e-2),
    "end_value",
  ),
  (
    "warmup_polynomial",
    None,
    dict(peak_value=1.0, warmup_steps=200, total_steps=100),
    "warmup_steps",
  ),
  (
    "warmup_polynomial",
    None,
    dict(peak_value=1.0, warmup_steps=10, total_steps=100, power=-1.0),
    "power",
  ),
  ("inverse_sqrt", None, dict(peak_value=1.0, warmup_steps=-1), "warmup_steps"),
  ("inverse_sqrt", None, dict(peak_value=1.0, warmup_steps=10, timescale=0), "timescale"),
  ("inverse_sqrt", None, dict(peak_value=-1.0, warmup_steps=10), "peak_value"),
  ("noam", None, dict(d_model=0, warmup_steps=100), "d_model"),
  ("noam", None, dict(d_model=512, warmup_steps=0), "warmup_steps"),
  ("noam", None, dict(d_model=512, warmup_steps=100, scale=-1.0), "scale"),
  (
    "warmup_stable_decay",
    None,
    dict(peak_value=1.0, warmup_steps=10, decay_steps=10),
    "stable_steps|total_steps",
  ),
  ("warmup_stable_decay", None, dict(_WSD, decay_steps=-10), "decay_steps"),
  ("warmup_stable_decay", None, dict(_WSD, stable_steps=-1), "stable_steps"),
  ("warmup_stable_decay", None, dict(_WSD, warmup_steps=-1), "warmup_steps"),
  ("warmup_stable_decay", None, dict(_WSD, decay_kind="exponential"), "decay_kind"),
  ("warmup_stable_decay", None, dict(_WSD, warmup_kind="step"), "warmup_kind"),
  ("warmup_stable_decay", None, dict(_WSD, min_lr_ratio=1.5), "min_lr_ratio"),
  ("warmup_stable_decay", None, dict(_WSD, min_lr_ratio=-0.1), "min_lr_ratio"),
  ("warmup_stable_decay", None, dict(_WSD, peak_value=NAN), "peak_value"),
  (
    "warmup_stable_decay",
    None,
    dict(peak_value=1.0, warmup_steps=50, decay_steps=60, total_steps=100),
    "total_steps",
  ),
  (
    "grokking",
    None,
    dict(peak_value=1.0, total_steps=100, warmup_fraction=0.5, decay_fraction=0.6),
    "fraction",
  ),
  ("grokking", None, dict(peak_value=1.0, total_steps=0), "total_steps"),
  (
    "grokking",
    None,
    dict(peak_value=1.0, total_steps=100, warmup_fraction=-0.1),
    "warmup_fraction",
  ),
  ("grokking", None, dict(peak_value=1.0, total_steps=100, decay_fraction=-0.1), "decay_fraction"),
  ("grokking", None, dict(peak_value=INF, total_steps=100), "peak_value"),
  (
    "bias_mitigation",
    None,
    dict(total_steps=100, high_fraction=0.6, plateau_fraction=0.5),
    "fraction",
  ),
  ("bias_mitigation", None, dict(total_steps=0), "total_steps"),
  ("bias_mitigation", None, dict(total_steps=100, high_fraction=-0.2), "high_fraction"),
  ("bias_mitigation", None, dict(total_steps=100, high_value=NAN), "high_value"),
  ("bias_mitigation", None, dict(total_steps=100, end_value=-1e-5), "end_value"),
  ("piecewise_linear", None, dict(boundaries=[0, 10], values=[1.0]), "boundaries"),
  ("piecewise_linear", None, dict(boundaries=[10, 5], values=[1.0, 0.5]), "boundaries"),
  ("piecewise_linear", None, dict(boundaries=[0, 10], values=[1.0, NAN]), "values"),
  ("piecewise_linear", None, dict(boundaries=[], values=[]), "boundaries"),
  ("sequential", _sequential, dict(schedules=2, boundaries=[]), "boundaries"),
  ("sequential", _sequential, dict(schedules=2, boundaries=[10, 20]), "boundaries"),
  ("sequential", _sequential, dict(schedules=3, boundaries=[20, 10]), "boundaries"),
  ("sequential", _sequential, dict(schedules=3, boundaries=[10, 10]), "boundaries"),
  ("sequential", _sequential, dict(schedules=2, boundaries=[-5]), "boundaries"),
  ("chained", _chained, dict(init_value=-0.1, n=1), "init_value"),
  ("chained", _chained, dict(init_value=NAN, n=2), "init_value"),
  ("chained", _chained, dict(init_value=0.1, n=0), "factor.schedules"),
  (
    "adaptive_momentum",
    _on_constant("adaptive_momentum", "lr_schedule"),
    dict(reference_lr=0.0),
    "reference_lr",
  ),
  (
    "adaptive_momentum",
    _on_constant("adaptive_momentum", "lr_schedule"),
    dict(reference_lr=0.1, max_momentum=1.5),
    "max_momentum",
  ),
  (
    "adaptive_momentum",
    _on_constant("adaptive_momentum", "lr_schedule"),
    dict(reference_lr=0.1, max_momentum=0.8, base_momentum=0.9),
    "momentum",
  ),
  (
    "cooldown",
    _on_constant("cooldown", "schedule"),
    dict(start_step=-1, decay_steps=10),
    "start_step",
  ),
  (
    "cooldown",
    _on_constant("cooldown", "schedule"),
    dict(start_step=10, decay_steps=-2),
    "decay_steps",
  ),
  (
    "cooldown",
    _on_constant("cooldown", "schedule"),
    dict(start_step=10, decay_steps=5, decay_kind="exp"),
    "decay_kind",
  ),
  (
    "cooldown",
    _on_constant("cooldown", "schedule"),
    dict(start_step=10, decay_steps=5, end_value=NAN),
    "end_value",
  ),
  ("with_noise", _on_constant("with_noise", "schedule"), dict(noise_range=(10, 5)), "noise_range"),
  (
    "with_noise",
    _on_constant("with_noise", "schedule"),
    dict(noise_range=10, noise_pct=1.5),
    "noise_pct",
  ),
  (
    "with_noise",
    _on_constant("with_noise", "schedule"),
    dict(noise_range=10, noise_type="cauchy"),
    "noise_type",
  ),
  ("untuned_warmup", None, dict(peak_value=0.1, b2=1.0), "b2"),
  ("untuned_warmup", None, dict(peak_value=-0.1, b2=0.999), "peak_value"),
  ("untuned_warmup", None, dict(peak_value=0.1, b2=0.999, warmup_kind="cosine"), "warmup_kind"),
  (
    "warmup_stable_decay_cycles",
    None,
    dict(peak_value=0.1, warmup_steps=5, decay_steps=10, total_steps=100, cycles=0),
    "cycles",
  ),
  (
    "warmup_stable_decay_cycles",
    None,
    dict(peak_value=0.1, warmup_steps=5, decay_steps=10, total_steps=100, cycles=[60, 30]),
    "cycles",
  ),
  (
    "warmup_stable_decay_cycles",
    None,
    dict(peak_value=NAN, warmup_steps=5, decay_steps=10, total_steps=100, cycles=2),
    "peak_value",
  ),
  ("timm_cosine", None, dict(peak_value=0.1, t_initial=0), "t_initial"),
  ("timm_cosine", None, dict(peak_value=0.1, t_initial=100, cycle_mul=-1.0), "cycle_mul"),
  ("timm_cosine", None, dict(peak_value=0.1, t_initial=100, k_decay=0.0), "k_decay"),
  ("timm_cosine", None, dict(peak_value=0.1, t_initial=100, warmup_lr_init=-1.0), "warmup_lr_init"),
  ("timm_tanh", None, dict(peak_value=0.1, t_initial=100, lb=3.0, ub=-7.0), "lb|ub"),
  ("timm_tanh", None, dict(peak_value=INF, t_initial=100), "peak_value"),
  ("timm_poly", None, dict(peak_value=0.1, t_initial=100, power=-1.0), "power"),
  ("timm_poly", None, dict(peak_value=0.1, t_initial=100, cycle_decay=2.0), "cycle_decay"),
  ("timm_step", None, dict(peak_value=0.1, decay_t=0), "decay_t"),
  ("timm_step", None, dict(peak_value=0.1, decay_t=10, decay_rate=-0.5), "decay_rate"),
  ("timm_multistep", None, dict(peak_value=0.1, decay_t=[30, 10]), "decay_t"),
  ("timm_multistep", None, dict(peak_value=0.1, decay_t=[10], warmup_t=-1), "warmup_t"),
  ("swa_lr", None, dict(init_value=0.1, end_value=-0.01), "end_value"),
  ("swa_lr", None, dict(init_value=0.1, end_value=0.01, anneal_steps=-1), "anneal_steps"),
  ("swa_lr", None, dict(init_value=0.1, end_value=0.01, anneal_strategy="step"), "anneal_strategy"),
  ("timm_ema_decay", None, dict(decay=1.5), "decay"),
  ("timm_ema_decay", None, dict(use_warmup=True, warmup_power=0.0), "warmup_power"),
  ("ema_sqrt_weight", None, dict(beta=NAN), "beta"),
  ("ema_sqrt_weight", None, dict(decay_steps=0), "decay_steps"),
  ("in_units", _on_constant("in_units", "schedule"), dict(batch_size=0), "batch_size"),
  ("in_units", _on_constant("in_units", "schedule"), dict(batch_size=8, unit="tokens"), "seq_len"),
  ("per_update", _on_constant("per_update", "schedule"), dict(every_k=0), "every_k"),
  ("timm_wsd", None, dict(peak_value=0.1, t_initial=100, decay_t=101), "decay_t"),
  ("timm_wsd", None, dict(peak_value=0.1, t_initial=100, decay_t=10, decay_fn="x"), "decay_fn"),
  ("rex", None, dict(max_lr=NAN, total_steps=100), "max_lr"),
  ("chebyshev", None, dict(init_value=0.1, num_epochs=0), "num_epochs"),
  (
    "cosine_annealing_warmup_restarts",
    None,
    dict(first_cycle_steps=10, warmup_steps=10),
    "warmup_steps",
  ),
  ("warmup_poly_growth", None, dict(max_lr=0.1, poly_order=-1.0), "poly_order"),
  (
    "proportion",
    None,
    dict(schedule=jaxsched.constant(0.1), max_lr=0.1, min_value=INF),
    "min_value",
  ),
]


def _id(value) -> str:
  """A test id's text for an argument: a function by its name (its repr holds an address, which
  differs between the processes that collect the suite)."""
  return value.__qualname__ if callable(value) and hasattr(value, "__qualname__") else str(value)


@pytest.mark.parametrize(
  "fn,call,kwargs,arg",
  BAD_INPUTS,
  ids=[f"{fn}-{'-'.join(f'{k}={_id(v)}' for k, v in kw.items())}" for fn, _, kw, _ in BAD_INPUTS],
)
def test_bad_input_raises_value_error_naming_function_and_argument(fn, call, kwargs, arg):
  call = call or getattr(jaxsched, fn)
  with pytest.raises(ValueError, match=rf"{fn}\b[\s\S]*(?:{arg})"):
    call(**kwargs)


def test_every_factory_has_bad_input_cases():
  covered = {fn for fn, *_ in BAD_INPUTS}
  assert covered == set(cases.SCHEDULE_FACTORIES), set(cases.SCHEDULE_FACTORIES) - covered
