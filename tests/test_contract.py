"""The contract every schedule keeps, checked over the whole case matrix.

jit and eager agree, scalar and vector steps agree, schedules run inside
``lax.scan`` and do not retrace, values are finite, non-negative and within
the stated bound at any step up to ``2**31 - 1`` (negative steps act as 0),
output is float32 (float64 under x64 with float64 values), and every schedule
plugs into Optax. Where a check needs expected values they are closed forms in
float64 NumPy or come from Optax; never from jaxsched itself (the agreement
checks compare two ways of running the same schedule).
"""

import functools
import math
from typing import Any, Callable, NamedTuple

import cases
import chex
import curves
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxsched

CASES = cases.CASES
IDS = cases.case_ids(CASES)
INT32_MAX = 2**31 - 1

# One step vector for every vector check, so each case compiles it once: the
# first 600 steps (every transition of the matrix's cases), a geometric sweep
# to 2**31 - 1, the float32-hostile steps past 2**24, the last 600 steps before
# 2**31 - 1 and negative steps.
_HUGE = [2**24, 2**24 + 1, 2**24 + 2, 2**24 + 3, 2**30 - 1, 2**30, 2**30 + 1]
_NEGATIVE = [-1, -7, -1000, -(2**31)]
_LAST = np.arange(INT32_MAX - 599, INT32_MAX + 1, dtype=np.int64)
STEPS = np.concatenate(
  [
    np.arange(600),
    np.unique(np.geomspace(600, 2**31 - 1000, 40).astype(np.int64)),
    _HUGE,
    _LAST,
    _NEGATIVE,
  ]
).astype(np.int32)
FIRST = slice(0, 600)
LAST = slice(len(STEPS) - len(_NEGATIVE) - 600, len(STEPS) - len(_NEGATIVE))
NEGATIVE = STEPS < 0
assert (STEPS[LAST] == _LAST).all()


def _tol(bound):
  """Tolerance for two float32 evaluations of one schedule."""
  return dict(rtol=1e-6, atol=1e-6 * bound)


class Evaluated(NamedTuple):
  sched: Callable[[Any], jax.Array]
  vector_fn: Callable[[jax.Array], jax.Array]  # jitted; only ever called on STEPS' shape
  values: np.ndarray  # vector_fn(STEPS)
  dtype: Any
  bound: float


@functools.lru_cache(maxsize=None)
def _evaluated(name: str) -> Evaluated:
  """Builds a case once and evaluates it on STEPS through jax.jit."""
  case = next(c for c in CASES if c[0] == name)
  sched = cases.build(case)

  def evaluate(t):
    return sched(t)

  # chex counts traces per (stack, source, __name__): a name per case keeps
  # the counters of different cases apart.
  evaluate.__name__ = f"schedule_{name}"
  vector_fn = jax.jit(chex.assert_max_traces(evaluate, n=1))
  values = vector_fn(jnp.asarray(STEPS))
  return Evaluated(sched, vector_fn, np.asarray(values), values.dtype, cases.bound(case))


def test_matrix_covers_every_public_schedule():
  covered = {cases.factory_name(c) for c in CASES}
  for name in cases.SCHEDULE_FACTORIES:
    assert callable(getattr(jaxsched, name)), name
    assert name in covered, f"{name} has no case in tests/cases.py"
  for case in CASES:
    name = cases.factory_name(case)
    if name != "chained":  # chained's positional factors go through a wrapper
      assert case[1] is getattr(jaxsched, name), case[0]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_jit_matches_eager(case):
  ev = _evaluated(case[0])
  eager = np.asarray(ev.sched(jnp.asarray(STEPS)))
  np.testing.assert_allclose(ev.values, eager, **_tol(ev.bound))


_PICKS = [0, 1, 20, 21, 50, 101, 300] + [
  int(i) for i in np.flatnonzero(np.isin(STEPS, [2**24 + 1, 2**30, INT32_MAX, -1, -(2**31)]))
]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_scalar_steps_match_vector(case):
  # Scalar steps under jit are checked by test_inside_lax_scan (the same
  # schedule on a traced scalar step); here scalars are passed eagerly, as
  # Python ints, NumPy and JAX int32 scalars.
  ev = _evaluated(case[0])
  for n, i in enumerate(_PICKS):
    step = int(STEPS[i])
    scalar = (step, np.int32(step), jnp.int32(step))[n % 3]
    value = ev.sched(scalar)
    chex.assert_shape(value, ())
    np.testing.assert_allclose(
      float(value),
      ev.values[i],
      **_tol(ev.bound),
      err_msg=f"step {step!r} as {type(scalar).__name__}",
    )


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_inside_lax_scan(case):
  ev = _evaluated(case[0])

  @jax.jit
  def curve(start):
    def body(step, _):
      return step + 1, ev.sched(step)

    return jax.lax.scan(body, start, None, length=600)

  last, values = curve(jnp.int32(0))
  assert int(last) == 600
  chex.assert_shape(values, (600,))
  np.testing.assert_allclose(np.asarray(values), ev.values[FIRST], **_tol(ev.bound))
  # The same compiled loop up to 2**31 - 1 (the carry then wraps; unused) ...
  _, values = curve(jnp.int32(INT32_MAX - 599))
  np.testing.assert_allclose(np.asarray(values), ev.values[LAST], **_tol(ev.bound))
  # ... and from step -5 (negative steps act as step 0).
  _, values = curve(jnp.int32(-5))
  expected = np.concatenate([np.full(5, ev.values[0]), ev.values[:595]])
  np.testing.assert_allclose(np.asarray(values), expected, **_tol(ev.bound))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_second_call_does_not_retrace(case):
  ev = _evaluated(case[0])  # traced once already, on STEPS
  shuffled = np.random.default_rng(0).permutation(len(STEPS))
  again = ev.vector_fn(jnp.asarray(STEPS[shuffled]))  # chex raises on a second trace
  chex.assert_shape(again, STEPS.shape)
  np.testing.assert_allclose(np.asarray(again), ev.values[shuffled], **_tol(ev.bound))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_finite_non_negative_and_bounded(case):
  ev = _evaluated(case[0])
  values, bound = ev.values, ev.bound
  chex.assert_shape(values, STEPS.shape)
  cases.assert_valid_values(values, bound, STEPS)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_negative_steps_behave_as_step_zero(case):
  ev = _evaluated(case[0])
  at_zero = ev.values[0]
  np.testing.assert_allclose(
    ev.values[NEGATIVE], np.full(NEGATIVE.sum(), at_zero), **_tol(ev.bound)
  )
  np.testing.assert_allclose(float(ev.sched(-3)), at_zero, **_tol(ev.bound))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_output_is_float32(case):
  ev = _evaluated(case[0])
  assert ev.dtype == jnp.float32
  scalar = jax.eval_shape(jax.jit(ev.sched), jnp.int32(7))
  assert scalar.shape == () and scalar.dtype == jnp.float32
  assert ev.sched(7).dtype == jnp.float32


# --------------------------------------------------------------------------
# Optax.

_PARAMS = jnp.array([1.0, -2.0, 0.5], jnp.float32)
_GRADS = jnp.array([0.3, -0.7, 1.1], jnp.float32)
_COUNTS = (0, 1, 5, 20, 33, 99, 150, 299, 599, INT32_MAX - 1)  # all in STEPS


def _set_counts(state, count):
  """Sets every ``count`` field of an Optax state, however deeply nested.

  (optax.tree.set leaves inject_hyperparams' inner WrappedScheduleState alone.)
  """

  def replace(path, leaf):
    last = path[-1]
    return count if isinstance(last, jax.tree_util.GetAttrKey) and last.name == "count" else leaf

  return jax.tree_util.tree_map_with_path(replace, state)


def _one_update(tx, count):
  """One update from a fresh state whose step counters are set to ``count``."""
  state = _set_counts(tx.init(_PARAMS), jnp.int32(count))
  updates, _ = tx.update(_GRADS, state, _PARAMS)
  return np.asarray(updates, np.float64)


def _adam_direction(count, b1=0.9, b2=0.999, eps=1e-8):
  """Optax's scale_by_adam output for _GRADS from a fresh state at ``count``."""
  g = np.asarray(_GRADS, np.float64)
  mu_hat = (1 - b1) * g / (1 - b1 ** (count + 1))
  nu_hat = (1 - b2) * g**2 / (1 - b2 ** (count + 1))
  return mu_hat / (np.sqrt(nu_hat) + eps)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_plugs_into_optax(case):
  # Eager updates (one compile per case would double this file's runtime);
  # jitted Optax training with schedules is test_adam_training_matches_... .
  ev = _evaluated(case[0])
  sched = ev.sched
  txs = {
    "scale_by_schedule": optax.scale_by_schedule(sched),
    "scale_by_learning_rate": optax.scale_by_learning_rate(sched),
    "inject_hyperparams(sgd)": optax.inject_hyperparams(optax.sgd)(learning_rate=sched),
    "adam": optax.adam(sched),
  }
  g = np.asarray(_GRADS, np.float64)
  tol = dict(rtol=1e-5, atol=1e-6 * ev.bound)
  for count in _COUNTS:
    lr = float(ev.values[np.flatnonzero(STEPS == count)[0]])
    expected = {
      "scale_by_schedule": lr * g,
      "scale_by_learning_rate": -lr * g,
      "inject_hyperparams(sgd)": -lr * g,
      "adam": -lr * _adam_direction(count),
    }
    for key, tx in txs.items():
      np.testing.assert_allclose(
        _one_update(tx, count), expected[key], **tol, err_msg=f"{key} at count {count}"
      )


def _regression_data():
  rng = np.random.default_rng(0)
  x = rng.normal(size=(32, 4)).astype(np.float32)
  w = np.array([1.5, -2.0, 0.5, 3.0], np.float32)
  y = x @ w + 0.1 * rng.normal(size=32).astype(np.float32)
  return jnp.asarray(x), jnp.asarray(y)


def _train(tx, steps=50):
  """Linear regression, ``steps`` updates of ``tx``; returns (params, losses)."""
  x, y = _regression_data()

  def loss_fn(params):
    pred = x @ params["w"] + params["b"]
    return jnp.mean((pred - y) ** 2)

  def step(carry, _):
    params, state = carry
    loss, grads = jax.value_and_grad(loss_fn)(params)
    updates, state = tx.update(grads, state, params)
    return (optax.apply_updates(params, updates), state), loss

  @jax.jit
  def run():
    params = {"w": jnp.zeros(4, jnp.float32), "b": jnp.zeros((), jnp.float32)}
    (params, _), losses = jax.lax.scan(step, (params, tx.init(params)), None, length=steps)
    return params, losses

  return run()


def _hf_cosine(t, peak, warmup, total):
  """transformers' get_cosine_schedule_with_warmup (num_cycles=0.5) * peak."""
  t = np.asarray(t, np.float64)
  ramp = t / max(1, warmup)
  progress = np.clip((t - warmup) / max(1, total - warmup), 0.0, 1.0)
  return peak * np.where(t < warmup, ramp, 0.5 * (1.0 + np.cos(np.pi * progress)))


def _torch_triangular(t, base, top, up, down=None):
  """torch CyclicLR triangular, with exact integer position in the cycle."""
  down = up if down is None else down
  t = np.asarray(t, np.int64)
  r = np.mod(t, up + down)
  scale = np.where(r <= up, r / up, (up + down - r) / down)
  return base + (top - base) * scale


def _torch_one_cycle_cos(t, max_lr, total, pct_start=0.3, div=25.0, final_div=1e4):
  """torch OneCycleLR (two phases, cos), holding its last value past total-1."""
  initial = max_lr / div
  minimum = initial / final_div
  end1 = float(pct_start * total) - 1
  end2 = total - 1
  out = []
  for step in np.minimum(np.asarray(t, np.int64), end2):
    if step <= end1:
      pct, start, end = (step - 0) / (end1 - 0), initial, max_lr
    else:
      pct, start, end = (step - end1) / (end2 - end1), max_lr, minimum
    out.append(end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1))
  return np.array(out)


# (name, schedule maker, float64 closed form of the same schedule)
TRAINING = [
  (
    "warmup_cosine",
    lambda: jaxsched.warmup_cosine(0.1, warmup_steps=10, total_steps=50),
    lambda t: _hf_cosine(t, 0.1, 10, 50),
  ),
  (
    "cyclic",
    lambda: jaxsched.cyclic(0.01, 0.1, step_size_up=10),
    lambda t: _torch_triangular(t, 0.01, 0.1, 10),
  ),
]


@pytest.mark.parametrize("name,make,reference", TRAINING, ids=[t[0] for t in TRAINING])
def test_adam_training_matches_chain_and_closed_form(name, make, reference):
  del name
  sched = make()
  chained_params, chained_losses = _train(
    optax.chain(optax.scale_by_adam(), optax.scale_by_schedule(sched), optax.scale(-1.0))
  )
  adam_params, adam_losses = _train(optax.adam(sched))
  chex.assert_trees_all_close(adam_params, chained_params, rtol=1e-6, atol=1e-7)
  chex.assert_trees_all_close(adam_losses, chained_losses, rtol=1e-6, atol=1e-7)
  # The same run with the learning rates of the float64 closed form: sched(t)
  # is the rate of update t (Optax's count from 0).
  table = jnp.asarray(reference(np.arange(50)), jnp.float32)
  ref_params, ref_losses = _train(
    optax.chain(
      optax.scale_by_adam(), optax.scale_by_schedule(lambda c: table[c]), optax.scale(-1.0)
    )
  )
  chex.assert_trees_all_close(adam_params, ref_params, rtol=1e-5, atol=1e-6)
  chex.assert_trees_all_close(adam_losses, ref_losses, rtol=1e-5, atol=1e-6)
  assert float(adam_losses[-1]) < 0.5 * float(adam_losses[0])


# --------------------------------------------------------------------------
# Accuracy ("1e-6 * peak at every step up to 2**31 - 1"), mostly at huge
# steps: float32 values against float64 closed forms.

T30 = 2**30


def _window(center, half=25):
  return np.arange(center - half, center + half + 1, dtype=np.int64)


def _end_windows(total):
  return np.unique(np.concatenate([_window(total - 26), [total, total + 1, total + 2]]))


def _poly(t, init, total, power, end):
  t = np.minimum(np.asarray(t, np.int64), total)
  return (init - end) * ((total - t) / total) ** power + end


def _cos_annealing(t, init, t_max, eta_min):
  t = np.asarray(t, np.int64)
  phase = np.mod(t, 2 * t_max) / t_max  # cos(pi t / T) has period 2T
  return eta_min + (init - eta_min) * (1 + np.cos(np.pi * phase)) / 2


def _warm_restarts(t, init, t_0, t_mult, eta_min):
  out = []
  for step in np.asarray(t, np.int64).tolist():
    period, start = t_0, 0
    if t_mult == 1:
      start = step - step % t_0
    while step >= start + period:
      start, period = start + period, period * t_mult
    out.append(eta_min + (init - eta_min) * (1 + math.cos(math.pi * (step - start) / period)) / 2)
  return np.array(out)


def _hf_hard_restarts(t, peak, warmup, total, cycles):
  out = []
  for step in np.asarray(t, np.int64).tolist():
    if step < warmup:
      out.append(peak * step / max(1, warmup))
      continue
    if step >= total:
      out.append(0.0)
      continue
    frac = (cycles * (step - warmup)) % (total - warmup) / (total - warmup)  # exact
    out.append(peak * 0.5 * (1 + math.cos(math.pi * frac)))
  return np.array(out)


def _grokking(t, peak, total, end, wf, df):
  p = np.asarray(t, np.int64) / total
  cos = end + (peak - end) * (1 + np.cos(np.pi * (p - wf) / df)) / 2
  return np.where(p < wf, peak * p / wf, np.where(p < wf + df, cos, end))


# (name, schedule maker, float64 closed form, peak, steps to check)
HUGE_CASES = [
  (
    "polynomial_decay_sqrt",
    lambda: jaxsched.polynomial_decay(1.0, total_steps=T30, power=0.5, end_value=0.0),
    lambda t: _poly(t, 1.0, T30, 0.5, 0.0),
    1.0,
    np.concatenate([_end_windows(T30), _window(T30 // 2)]),
  ),
  (
    "polynomial_decay_square",
    lambda: jaxsched.polynomial_decay(1.0, total_steps=T30, power=2.0, end_value=0.1),
    lambda t: _poly(t, 1.0, T30, 2.0, 0.1),
    1.0,
    np.concatenate([_end_windows(T30), _window(T30 // 3)]),
  ),
  (
    "warmup_cosine",
    lambda: jaxsched.warmup_cosine(1.0, warmup_steps=1000, total_steps=T30),
    lambda t: _hf_cosine(t, 1.0, 1000, T30),
    1.0,
    np.concatenate([_end_windows(T30), _window(T30 // 2 + 500), _window(2**31 - 26)]),
  ),
  (
    "cosine_annealing",
    lambda: jaxsched.cosine_annealing(1.0, t_max=T30, eta_min=0.01),
    lambda t: _cos_annealing(t, 1.0, T30, 0.01),
    1.0,
    np.concatenate([_end_windows(T30), _window(T30 // 2), _window(3 * 2**29), _window(2**31 - 26)]),
  ),
  (
    "cyclic_symmetric",
    lambda: jaxsched.cyclic(0.01, 1.0, step_size_up=2000),
    lambda t: _torch_triangular(t, 0.01, 1.0, 2000, 2000),
    1.0,
    np.concatenate([_window(2**31 - 26), _window(2**24 + 3), _window(T30 + 1000)]),
  ),
  (
    "cyclic_asymmetric",
    lambda: jaxsched.cyclic(0.01, 1.0, step_size_up=2000, step_size_down=1000),
    lambda t: _torch_triangular(t, 0.01, 1.0, 2000, 1000),
    1.0,
    np.concatenate([_window(2**31 - 26), _window(T30 + 1500)]),
  ),
  (
    "cosine_warm_restarts",
    lambda: jaxsched.cosine_warm_restarts(1.0, t_0=1000),
    lambda t: _warm_restarts(t, 1.0, 1000, 1, 0.0),
    1.0,
    np.concatenate([_window(2**31 - 26), _window(2**31 - 1148), _window(2**24 + 500)]),
  ),
  (
    "cosine_warm_restarts_t_mult2",
    lambda: jaxsched.cosine_warm_restarts(1.0, t_0=10, t_mult=2, eta_min=0.001),
    lambda t: _warm_restarts(t, 1.0, 10, 2, 0.001),
    1.0,
    np.concatenate([_window(2**31 - 26), _window(10 * (2**27 - 1) + 2**28)]),
  ),
  (
    "one_cycle",
    lambda: jaxsched.one_cycle(1.0, total_steps=T30),
    lambda t: _torch_one_cycle_cos(t, 1.0, T30),
    1.0,
    np.concatenate([_end_windows(T30), _window(int(0.3 * T30)), _window(int(0.65 * T30))]),
  ),
  (
    "warmup_cosine_restarts",
    lambda: jaxsched.warmup_cosine_restarts(1.0, warmup_steps=1000, total_steps=T30, num_cycles=7),
    lambda t: _hf_hard_restarts(t, 1.0, 1000, T30, 7),
    1.0,
    np.concatenate([_end_windows(T30), _window(1000 + (T30 - 1000) * 13 // 14)]),
  ),
  (
    "exponential_decay_growth",
    lambda: jaxsched.exponential_decay(1e-4, gamma=1.05, end_value=1e-2),
    lambda t: np.minimum(1e-4 * 1.05 ** np.asarray(t, np.float64), 1e-2),
    1e-2,
    np.arange(0, 120),
  ),
  (
    "exponential_decay_torch",
    lambda: jaxsched.exponential_decay(1.0, gamma=0.99),
    lambda t: 0.99 ** np.asarray(t, np.float64),
    1.0,
    np.concatenate([np.arange(0, 600), _window(T30)]),
  ),
  (
    "exponential_decay_transition",
    lambda: jaxsched.exponential_decay(1.0, gamma=0.5, transition_steps=2**28),
    lambda t: 0.5 ** (np.asarray(t, np.float64) / 2**28),
    1.0,
    np.concatenate([_window(T30), _window(2**31 - 26), _window(2**24)]),
  ),
  (
    "grokking",
    lambda: jaxsched.grokking(1.0, total_steps=T30, end_value=1e-6),
    lambda t: _grokking(t, 1.0, T30, 1e-6, 0.1, 0.8),
    1.0,
    np.concatenate([_end_windows(T30), _window(int(0.5 * T30)), _window(int(0.9 * T30))]),
  ),
]


@pytest.mark.parametrize(
  "name,make,reference,peak,steps", HUGE_CASES, ids=[c[0] for c in HUGE_CASES]
)
def test_float32_matches_float64_closed_form(name, make, reference, peak, steps):
  del name
  sched = make()
  steps = steps[steps <= INT32_MAX]
  got = np.asarray(jax.jit(sched)(jnp.asarray(steps, jnp.int32)))
  assert got.dtype == np.float32
  expected = reference(steps)
  err = np.abs(got.astype(np.float64) - expected)
  worst = int(np.argmax(err))
  assert err[worst] <= 1e-6 * peak, (
    f"step {steps[worst]}: got {got[worst]!r}, expected {expected[worst]!r} "
    f"(|err| = {err[worst]:.3g} > {1e-6 * peak:.3g})"
  )


# --------------------------------------------------------------------------
# float64 under x64.

_VALUE_KEYS = (
  "value",
  "init_value",
  "peak_value",
  "end_value",
  "eta_min",
  "base_lr",
  "max_lr",
  "base_momentum",
  "max_momentum",
  "high_value",
  "plateau_value",
)
# One case for each of these factories: the first in the matrix with a value kwarg.
_X64_FACTORIES = (
  "constant",
  "exponential_decay",
  "cosine_warm_restarts",
  "cyclic",
  "one_cycle",
  "warmup",
  "warmup_cosine",
  "warmup_stable_decay",
  "bias_mitigation",
  "swa_lr",
)
X64_CASES = [
  next(c for c in CASES if cases.factory_name(c) == f and set(c[2]) & set(_VALUE_KEYS))
  for f in _X64_FACTORIES
]


def _with_dtype(kwargs, dtype):
  return {k: (jnp.asarray(v, dtype) if k in _VALUE_KEYS else v) for k, v in kwargs.items()}


@pytest.mark.parametrize("case", X64_CASES, ids=cases.case_ids(X64_CASES))
def test_float64_values_give_float64_under_x64(case):
  name, factory, kwargs = case
  ev = _evaluated(name)
  f32_values, bound = ev.values, ev.bound
  before = jax.config.jax_enable_x64
  with curves.x64():
    steps = jnp.asarray(STEPS[FIRST], jnp.int64)
    sched64 = factory(**_with_dtype(kwargs, jnp.float64))
    got = jax.jit(sched64)(steps)
    assert got.dtype == jnp.float64, name
    assert jax.eval_shape(sched64, 3).dtype == jnp.float64, name
    # Same schedule as in float32 (a sanity check of the float64 path; float32
    # accuracy itself is checked against closed forms above).
    np.testing.assert_allclose(np.asarray(got), f32_values[FIRST], rtol=1e-5, atol=1e-6 * bound)
    sched32 = factory(**_with_dtype(kwargs, jnp.float32))
    assert jax.eval_shape(sched32, steps).dtype == jnp.float32, name
  assert jax.config.jax_enable_x64 == before


def test_composites_float64_under_x64():
  with curves.x64():
    f64 = lambda v: jnp.asarray(v, jnp.float64)
    seq = jaxsched.sequential(
      [jaxsched.warmup(f64(1.0), 20), jaxsched.cosine_annealing(f64(1.0), 100)], [20]
    )
    chain = jaxsched.chained(
      f64(0.1),
      jaxsched.constant_factor(f64(1.0), factor=0.5, total_steps=3),
      jaxsched.exponential_decay(f64(1.0), gamma=0.9),
    )
    steps = jnp.arange(50)
    for sched in (seq, chain):
      assert jax.jit(sched)(steps).dtype == jnp.float64
    t = np.arange(50)
    np.testing.assert_allclose(
      np.asarray(jax.jit(chain)(steps)), 0.1 * np.where(t < 3, 0.5, 1.0) * 0.9**t, rtol=0, atol=1e-7
    )
    np.testing.assert_allclose(
      np.asarray(jax.jit(seq)(steps)),
      np.where(t < 20, t / 20, (1 + np.cos(np.pi * (t - 20) / 100)) / 2),
      rtol=0,
      atol=1e-6,
    )
  assert not jax.config.jax_enable_x64
