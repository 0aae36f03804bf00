"""``greedy_lr`` (``jaxsched/transforms/_greedy.py``) against transformers' ``GreedyLR``, run live.

The reference is ``transformers.optimization.GreedyLR`` stepping a torch SGD
optimizer; its ``param_groups[0]["lr"]`` after ``step(v_0) .. step(v_t)`` is
compared with ``base_lr * scale`` of update ``t``, to rel 1e-5.

Ties. jaxsched compares in float32, transformers in float64. Every value fed
is float32-representable, and before a value is fed the value transformers is
about to compare (the raw value, or the window mean) is checked against its
improvement limit; a value too close to it is moved clear first
(``HFGreedy.feed``), so a mismatch is a difference of logic, not of rounding.

Compile time. The parity checks run one jitted, vmapped ``lax.scan`` per
static configuration (mode, threshold_mode, smooth, window_size), with the
numeric hyperparameters as traced arrays, one set per row: vmap over
hyperparameters and metric sequences at once.
"""

import functools
import math

import chex
import hypothesis
import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import torch
import transformers
from transformers import optimization as hf

import jaxsched
from jaxsched import greedy_lr
from jaxsched import GreedyLRState

RTOL = 1e-5
BASE = 0.1
T = 600  # length of every parity run (one compiled shape)
BATCH = 8  # sequences (and hyperparameter sets) per compiled call

# ---------------------------------------------------------------------------
# The reference.
# ---------------------------------------------------------------------------


class HFGreedy:
  """transformers' ``GreedyLR`` on a torch SGD optimizer with lr ``base_lr``."""

  def __init__(self, base_lr=BASE, **kwargs):
    self.optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=base_lr)
    self.scheduler = hf.GreedyLR(self.optimizer, **kwargs)
    self.resets = 0
    reset = self.scheduler._reset

    def counting_reset():
      self.resets += 1
      reset()

    self.scheduler._reset = counting_reset

  @property
  def lr(self):
    return self.optimizer.param_groups[0]["lr"]

  def _compared(self, v):
    """The value ``step(v)`` compares (None when it compares nothing), and the window size."""
    s = self.scheduler
    n = 1
    if s.smooth:
      held, total = s._streaming_avg.values + [v], s._streaming_avg.sum + v
      if len(held) > s.window_size:
        total -= held.pop(0)
      n = len(held)
      v = total / n
    if s.cooldown_counter > 0 or s.warmup_counter > 0:
      return None, n
    return v, n

  def _limit(self):
    s = self.scheduler
    best, t = s.best, s.threshold
    if s.threshold_mode == "rel":
      return best * (1.0 - t) if s.mode == "min" else best * (1.0 + t)
    return best - t if s.mode == "min" else best + t

  def feed(self, v):
    """Steps with ``v``, moved clear of a float32/float64 tie; returns (value fed, lr)."""
    v = float(np.float32(v))
    for _ in range(200):
      current, n = self._compared(v)
      limit = self._limit()
      if (
        current is None
        or not (math.isfinite(current) and math.isfinite(limit))
        or abs(current - limit) > 1e-5 * abs(limit) + 1e-6
      ):
        break
      worse = 1.0 if self.scheduler.mode == "min" else -1.0
      target = limit + worse * (1e-3 * abs(limit) + 1e-4)
      v = float(np.float32(v + n * (target - current)))
    else:
      raise AssertionError(f"could not move {v} away from a float32/float64 tie")
    self.scheduler.step(v)
    return v, self.lr


def _reference(rows, hypers, **static):
  """Feeds each row to a fresh reference; returns (values fed, lrs, references)."""
  fed, lrs, refs = [], [], []
  for row, hyper in zip(rows, hypers):
    ref = HFGreedy(**static, **hyper)
    out = [ref.feed(v) for v in row]
    fed.append([o[0] for o in out])
    lrs.append([o[1] for o in out])
    refs.append(ref)
  return np.asarray(fed, np.float32), np.asarray(lrs, np.float64), refs


# ---------------------------------------------------------------------------
# Metric sequences and hyperparameters.
# ---------------------------------------------------------------------------


def _metric_row(rng, n, mode):
  """Loss-like: stretches of steady improvement, flat plateaus, noise and jumps."""
  out, level = [], rng.uniform(0.5, 5.0)
  while len(out) < n:
    length = int(rng.integers(3, 40))
    kind = int(rng.integers(4))
    if kind == 0:  # improving
      seg = level * np.cumprod(rng.uniform(0.9, 0.999, length))
    elif kind == 1:  # flat
      seg = np.full(length, level)
    elif kind == 2:  # noisy
      seg = level * (1 + rng.normal(0, 0.05, length))
    else:  # a jump up, then flat
      seg = np.full(length, level * rng.uniform(1.0, 1.5))
    out.extend(seg)
    level = float(seg[-1])
  v = np.asarray(out[:n])
  return (-v if mode == "max" else v).astype(np.float32)


def _hypers(rng, count, threshold_mode):
  """``count`` hyperparameter sets: small patience and reset_start so that everything happens."""
  threshold = {"abs": (0.0, 1e-6, 1e-3, 0.05), "rel": (0.0, 1e-4, 1e-2, 0.05)}[threshold_mode]
  out = []
  for _ in range(count):
    min_lr = float(rng.choice([1e-3, 0.02, 0.05]))
    factor = float(rng.choice([0.25, 0.5, 0.5, 0.3, 0.8, 0.95]))
    out.append(
      dict(
        factor=factor,
        patience=int(rng.integers(0, 5)),
        threshold=float(rng.choice(threshold)),
        cooldown=int(rng.integers(0, 4)),
        warmup=int(rng.integers(0, 4)),
        min_lr=min_lr,
        max_lr=float(rng.choice([0.2, 0.5, 1.0])),
        eps=float(rng.choice([0.0, 1e-8, 1e-3])),
        # transformers' float64 rate can stop a rounding error above min_lr (see
        # test_a_rate_back_at_min_lr_is_exact_unlike_transformers), which delays its
        # reset; only a power-of-two factor keeps it exact, so only then can it reset.
        reset_start=int(rng.integers(0, 12)) if factor in (0.25, 0.5) else 10**6,
        base_lr=float(rng.choice([BASE, 0.01, 2.0])),
      )
    )
  return out


_DTYPES = dict(
  base_lr=np.float32,
  factor=np.float32,
  patience=np.int32,
  threshold=np.float32,
  cooldown=np.int32,
  warmup=np.int32,
  min_lr=np.float32,
  max_lr=np.float32,
  eps=np.float32,
  reset_start=np.int32,
)


def _scan(tx, values, observe):
  """``values[t]`` to update ``t`` in a lax.scan; returns (scales, states) stacked over t."""

  def body(state, x):
    value, obs = x
    updates, state = tx.update(jnp.ones(()), state, value=value, observe=obs)
    return state, (updates, state)

  _, out = jax.lax.scan(body, tx.init(jnp.zeros(())), (values, observe))
  return out


@functools.lru_cache(maxsize=None)
def _compiled(static_items):
  static = dict(static_items)

  def run(hyper, values, observe):
    return jax.vmap(lambda h, v, o: _scan(greedy_lr(**static, **h), v, o))(hyper, values, observe)

  return jax.jit(run)


def _run(values, hypers, observe=None, **static):
  """greedy_lr over each row with its own traced hyperparameters; (lrs, states) as NumPy."""
  values = np.asarray(values, np.float32)
  observe = np.ones(values.shape, bool) if observe is None else np.asarray(observe, bool)
  hyper = {k: np.asarray([h[k] for h in hypers], d) for k, d in _DTYPES.items()}
  scales, states = _compiled(tuple(sorted(static.items())))(hyper, values, observe)
  base = np.asarray([h["base_lr"] for h in hypers], np.float64)[:, None]
  return np.asarray(scales, np.float64) * base, jax.tree.map(np.asarray, states)


def _assert_lrs(got, want, *, what):
  got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
  chex.assert_equal_shape([got, want])
  close = np.isclose(got, want, rtol=RTOL, atol=0.0)
  if not close.all():
    where = tuple(np.argwhere(~close)[0])
    row, step = where[:-1], where[-1]
    raise AssertionError(
      f"{what}: {np.sum(~close)} of {got.size} differ; first at {where}: got {got[where]!r}, "
      f"want {want[where]!r}; want[..{step}]={want[row][max(step - 8, 0) : step + 1].tolist()}"
    )


def _events(lrs, refs, hypers):
  """Counts of rises, falls, hits of min_lr / max_lr and resets over the references."""
  lrs = np.concatenate([np.asarray([[h["base_lr"]] for h in hypers]), lrs], axis=1)
  diff = np.diff(lrs, axis=1)
  mins = np.asarray([[h["min_lr"]] for h in hypers])
  maxs = np.asarray([[h["max_lr"]] for h in hypers])
  return dict(
    rises=int(np.sum(diff > 0)),
    falls=int(np.sum(diff < 0)),
    at_min=int(np.sum(lrs == mins)),
    at_max=int(np.sum(lrs == maxs)),
    resets=sum(r.resets for r in refs),
  )


# ---------------------------------------------------------------------------
# 1. Parity with transformers' GreedyLR.
# ---------------------------------------------------------------------------

_STATIC = [
  dict(mode=m, threshold_mode=tm, smooth=s, window_size=w)
  for m in ("min", "max")
  for tm in ("abs", "rel")
  for s, w in ((False, 50), (True, 5))
]


@pytest.mark.parametrize("static", _STATIC, ids=lambda s: "-".join(map(str, s.values())))
def test_matches_transformers(static):
  rng = np.random.default_rng(_STATIC.index(static))
  rows = np.stack([_metric_row(rng, T, static["mode"]) for _ in range(BATCH)])
  hypers = _hypers(rng, BATCH, static["threshold_mode"])
  values, want, refs = _reference(rows, hypers, **static)
  got, _ = _run(values, hypers, **static)
  _assert_lrs(got, want, what=f"greedy_lr({static}) vs GreedyLR")
  events = _events(want, refs, hypers)
  assert all(events.values()), f"some behaviour never happened: {events}"


def test_matches_transformers_with_concrete_hyperparameters():
  """The user's path: Python constants baked into the program, eager and under jit."""
  rng = np.random.default_rng(100)
  for mode, smooth in (("min", False), ("max", True)):
    kwargs = dict(
      mode=mode,
      factor=0.5,
      patience=2,
      threshold=1e-3,
      cooldown=1,
      warmup=2,
      min_lr=0.01,
      max_lr=0.5,
      reset_start=3,
      smooth=smooth,
      window_size=4,
    )
    values, want, refs = _reference([_metric_row(rng, 300, mode)], [{}], base_lr=BASE, **kwargs)
    tx = greedy_lr(BASE, **kwargs)
    scales, _ = jax.jit(lambda v, o: _scan(tx, v, o))(values[0], np.ones(300, bool))  # noqa: B023
    _assert_lrs(BASE * np.asarray(scales), want[0], what=f"greedy_lr({kwargs})")
    assert refs[0].resets > 0


def test_transformers_defaults_on_a_long_plateau_reset_after_reset_start_falls():
  """Defaults: 90 falls to min_lr, then reset_start=500 more at min_lr, then a reset."""
  n = 11 * 600
  values = np.ones((1, n), np.float32)
  _, want, refs = _reference(values, [{}])
  assert refs[0].resets == 1
  tx = greedy_lr(BASE)
  scales, states = jax.jit(lambda v, o: _scan(tx, v, o))(values[0], np.ones(n, bool))
  _assert_lrs(BASE * np.asarray(scales), want[0], what="greedy_lr(defaults) on a plateau")
  assert np.min(want) == 1e-3 and want[0, -1] < BASE


@hypothesis.settings(
  max_examples=20,
  deadline=None,
  database=None,
  suppress_health_check=[hypothesis.HealthCheck.too_slow],
)
@hypothesis.given(static_index=st.integers(0, len(_STATIC) - 1), seed=st.integers(0, 2**31 - 1))
def test_matches_transformers_random_configs(static_index, seed):
  static = _STATIC[static_index]
  rng = np.random.default_rng(seed)
  rows = np.stack([_metric_row(rng, T, static["mode"]) for _ in range(BATCH)])
  hypers = _hypers(rng, BATCH, static["threshold_mode"])
  values, want, _ = _reference(rows, hypers, **static)
  got, _ = _run(values, hypers, **static)
  _assert_lrs(got, want, what=f"greedy_lr({static}, seed={seed}) vs GreedyLR")


def _one(values, **kwargs):
  """lrs of transformers and of greedy_lr (eager, concrete) for one sequence."""
  base = kwargs.pop("base_lr", BASE)
  ref = HFGreedy(base, **kwargs)
  want = []
  for v in values:
    ref.scheduler.step(v)
    want.append(ref.lr)
  tx = greedy_lr(base, **kwargs)
  state = tx.init(jnp.zeros(()))
  got = []
  for v in values:
    updates, state = tx.update(jnp.ones(()), state, value=v)
    got.append(base * float(updates))
  return np.asarray(got), np.asarray(want), ref


@pytest.mark.parametrize(
  "kwargs,values",
  [
    # A reset clears the cooldown, then the fall that caused it starts one.
    (dict(factor=0.5, patience=0, cooldown=2, min_lr=0.05, reset_start=1), [1.0] * 12),
    # base_lr above max_lr: rises are blocked, falls work.
    (dict(base_lr=2.0, factor=0.5, patience=0, max_lr=1.0), [3.0, 2.0, 1.0, 1.0, 1.0, 0.5]),
    # base_lr below min_lr: falls are blocked and count towards a reset.
    (
      dict(base_lr=1e-4, factor=0.5, patience=0, min_lr=1e-3, reset_start=2),
      [1.0, 1.0, 1.0, 0.5, 0.2, 0.1, 0.1, 0.1, 0.1],
    ),
    # eps larger than a step: nothing changes.
    (dict(factor=0.9, patience=0, eps=0.05), [3.0, 2.0, 1.0, 1.0, 1.0]),
    # threshold=1 in rel mode: inf * 0 is NaN, nothing ever improves.
    (dict(factor=0.5, patience=1, threshold=1.0, threshold_mode="rel"), [3.0, 2.0, 1.0, 0.5]),
    # NaN and +inf (min mode) are observations without improvement, in both.
    (
      dict(factor=0.5, patience=1),
      [3.0, 2.0, float("nan"), 1.0, float("inf"), float("nan"), float("nan"), 0.5, 0.4, 0.3],
    ),
    (
      dict(factor=0.5, patience=1, mode="max"),
      [3.0, float("-inf"), 4.0, float("nan"), float("nan"), 5.0, 6.0],
    ),
  ],
  ids=[
    "reset-then-cooldown",
    "base-above-max",
    "base-below-min",
    "eps",
    "rel-threshold-1",
    "nan-inf-min",
    "nan-inf-max",
  ],
)
def test_crafted_cases_match_transformers(kwargs, values):
  got, want, _ = _one(values, **kwargs)
  _assert_lrs(got, want, what=f"greedy_lr({kwargs}) on {values}")


def test_reset_then_cooldown_case_really_resets():
  _, want, ref = _one([1.0] * 12, factor=0.5, patience=0, cooldown=2, min_lr=0.05, reset_start=1)
  # rise, fall, cooldown x2, fall to min_lr = reset (reset_start=1), cooldown x2, then the
  # first value after the reset improves on best=inf: a rise.
  np.testing.assert_allclose(want[:10], [0.2, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.2, 0.1, 0.1])
  assert ref.resets == 2  # at index 4, and again 7 values later


# ---------------------------------------------------------------------------
# 2. Documented differences: non-finite values.
# ---------------------------------------------------------------------------


def test_minus_inf_is_not_a_best_value_unlike_transformers():
  """min mode: transformers makes -inf the best value for good; here it acts as NaN does there."""
  values = [3.0, 2.0, float("-inf"), 1.5, 1.0, 0.8, 0.7, 0.6, 0.5]
  kwargs = dict(factor=0.5, patience=1)
  got, theirs, _ = _one(values, **kwargs)
  _, as_nan, _ = _one([float("nan") if v == -math.inf else v for v in values], **kwargs)
  _assert_lrs(got, as_nan, what="-inf handled as NaN is")
  assert got[-1] > theirs[-1]  # transformers only falls after -inf


def test_a_rate_back_at_min_lr_is_exact_unlike_transformers():
  """After 12 rises from min_lr and 12 falls transformers stops at 0.020000000000000004."""
  improving = [0.5 - 0.01 * i for i in range(12)]
  values = [1.0] * 10 + improving + [improving[-1]] * 30
  kwargs = dict(factor=0.8, patience=0, min_lr=0.02, max_lr=10.0, reset_start=3)
  got, theirs, ref = _one(values, **kwargs)
  stuck = np.flatnonzero(theirs > 0.02)[-1]
  assert 0.02 < theirs[stuck] < 0.02 * (1 + 1e-15) and stuck == len(values) - 1
  assert ref.resets == 0  # its countdown stopped
  back = 10 + 2 * 12 - 1  # the first fall back to min_lr
  _assert_lrs(got[: back + 1], theirs[: back + 1], what="up to the return to min_lr")
  np.testing.assert_allclose(got[back : back + 2], 0.02, rtol=1e-6)
  assert got[back + 2] == pytest.approx(BASE)  # the third fall at min_lr resets


class _WindowMean(hf.StreamingAverage):
  """transformers' StreamingAverage with the sum taken over the window each time."""

  def streamavg(self, value):
    super().streamavg(value)
    self.sum = sum(self.values)
    return self.sum / len(self.values)


def test_smoothing_recovers_once_a_nan_leaves_the_window(monkeypatch):
  """transformers' running sum stays NaN after a NaN entered; the window mean does not."""
  values = [3.0, 2.9, 2.8, float("nan"), 2.7, 2.6, 2.5, 2.4, 2.3, 2.2, 2.1, 2.0, 1.9]
  kwargs = dict(factor=0.5, patience=1, smooth=True, window_size=3)
  got, theirs, _ = _one(values, **kwargs)
  monkeypatch.setattr(hf, "StreamingAverage", _WindowMean)
  _, window_mean, _ = _one(values, **kwargs)
  _assert_lrs(got, window_mean, what="greedy_lr vs GreedyLR with an exact window mean")
  _assert_lrs(got[:6], theirs[:6], what="while the NaN is in the window")
  assert got[-1] > theirs[-1]  # transformers kept falling on NaN means


# ---------------------------------------------------------------------------
# 3. jit, scan, vmap, observe.
# ---------------------------------------------------------------------------

_SMALL = dict(
  factor=0.5,
  patience=1,
  cooldown=1,
  warmup=1,
  min_lr=0.01,
  max_lr=0.8,
  reset_start=2,
  smooth=True,
  window_size=3,
)


def test_same_results_eager_jit_scan_vmap():
  rng = np.random.default_rng(7)
  rows = np.stack([_metric_row(rng, 60, "min") for _ in range(3)])
  tx = greedy_lr(BASE, **_SMALL)
  scan_scales, _ = jax.jit(jax.vmap(lambda v: _scan(tx, v, jnp.ones(60, bool))))(rows)
  for row, scan_row in zip(rows, np.asarray(scan_scales)):
    state = tx.init(jnp.zeros(()))
    update = jax.jit(tx.update)
    eager, jitted = [], []
    eager_state = state
    for v in row:
      u, state = update(jnp.ones(()), state, value=v)
      jitted.append(float(u))
      u, eager_state = tx.update(jnp.ones(()), eager_state, value=v)
      eager.append(float(u))
    np.testing.assert_allclose(jitted, scan_row, rtol=1e-6)
    np.testing.assert_allclose(eager, scan_row, rtol=1e-6)
    _, want, _ = _reference(row[None], [{}], base_lr=BASE, **_SMALL)
    _assert_lrs(BASE * scan_row, want[0], what="scan vs GreedyLR")


def test_vmap_over_hyperparameters_matches_separate_runs():
  rng = np.random.default_rng(8)
  row = _metric_row(rng, 80, "min")
  factors = np.asarray([0.25, 0.5, 0.9], np.float32)
  min_lrs = np.asarray([1e-3, 0.02, 0.05], np.float32)
  reset_starts = np.asarray([2, 3, 10**6], np.int32)

  def run(factor, min_lr, reset_start):
    tx = greedy_lr(BASE, factor=factor, min_lr=min_lr, patience=1, reset_start=reset_start)
    return _scan(tx, row, jnp.ones(80, bool))[0]

  batched = np.asarray(jax.jit(jax.vmap(run))(factors, min_lrs, reset_starts))
  for i, (f, m, r) in enumerate(zip(factors, min_lrs, reset_starts)):
    _, want, _ = _reference(
      row[None],
      [{}],
      base_lr=BASE,
      factor=float(f),
      min_lr=float(m),
      patience=1,
      reset_start=int(r),
    )
    _assert_lrs(BASE * batched[i], want[0], what=f"vmapped factor={f}, min_lr={m}")


@pytest.mark.parametrize("k", [1, 3])
def test_observe_every_kth_update(k):
  rng = np.random.default_rng(9)
  values = _metric_row(rng, 90, "min")
  observe = np.arange(90) % k == 0
  hyper = dict(
    base_lr=BASE,
    factor=0.5,
    patience=1,
    threshold=1e-6,
    cooldown=1,
    warmup=1,
    min_lr=0.01,
    max_lr=0.8,
    eps=1e-8,
    reset_start=2,
  )
  static = dict(mode="min", threshold_mode="abs", smooth=True, window_size=3)
  fed, want, _ = _reference(values[observe][None], [hyper], **static)
  values[observe] = fed[0]  # the values moved clear of ties
  got, _ = _run(values[None], [hyper], observe[None], **static)
  counts = np.cumsum(observe)
  expected = np.concatenate([[BASE], want[0]])[counts]
  _assert_lrs(got[0], expected, what=f"observe every {k}")


def test_second_call_does_not_retrace():
  tx = greedy_lr(BASE, **_SMALL)

  @jax.jit
  @chex.assert_max_traces(n=1)
  def step(state, value, observe):
    return tx.update(jnp.ones(()), state, value=value, observe=observe)

  state = tx.init(jnp.zeros(()))
  for t, v in enumerate([1.0, 0.5, 0.7, 0.2]):
    _, state = step(state, jnp.float32(v), jnp.asarray(t % 2 == 0))


# ---------------------------------------------------------------------------
# 4. State, current_scale, checkpoints.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("smooth,window", [(False, 1), (True, 7)])
def test_state_fields_shapes_and_dtypes(smooth, window):
  tx = greedy_lr(BASE, smooth=smooth, window_size=7)
  state = jax.jit(tx.init)(jnp.zeros(()))
  _, state = jax.jit(tx.update)(jnp.ones(()), state, value=1.0)
  assert isinstance(state, GreedyLRState)
  for name, value in state._asdict().items():
    shape = (window,) if name == "greedy_window" else ()
    dtype = (
      jnp.float32
      if name in ("greedy_scale", "greedy_anchor_lr", "greedy_best", "greedy_window")
      else jnp.int32
    )
    chex.assert_shape(value, shape)
    chex.assert_type(value, dtype)


def test_update_rejects_non_scalar_value():
  tx = greedy_lr(BASE)
  with pytest.raises(AssertionError):
    tx.update(jnp.ones(()), tx.init(jnp.zeros(())), value=jnp.ones(3))


def test_current_scale_and_learning_rate_read_the_state_in_a_chain():
  values = [3.0, 2.0, 1.0, 1.0, 1.0, 1.0]
  kwargs = dict(factor=0.5, patience=1)
  _, want, _ = _one(values, **kwargs)
  tx = optax.chain(optax.adam(BASE), greedy_lr(BASE, **kwargs), jaxsched.reduce_on_plateau())
  params = {"w": jnp.zeros(3)}
  state = tx.init(params)
  assert float(jaxsched.current_scale(state)) == 1.0
  assert len(optax.tree.get_all_with_path(state, "greedy_scale")) == 1
  for t, v in enumerate(values):
    _, state = tx.update({"w": jnp.ones(3)}, state, params, value=v)
    _assert_lrs(
      jaxsched.current_learning_rate(state, BASE),
      want[t],
      what=f"current_learning_rate after {t + 1}",
    )
  batched = jax.vmap(tx.init)({"w": jnp.zeros((4, 3))})
  chex.assert_shape(jaxsched.current_scale(batched), (4,))


def test_orbax_round_trip_resumes_identically(tmp_path):
  import orbax.checkpoint as ocp  # pylint: disable=import-outside-toplevel

  rng = np.random.default_rng(11)
  values = _metric_row(rng, 40, "min")
  for smooth in (False, True):
    tx = greedy_lr(BASE, **{**_SMALL, "smooth": smooth})
    update = jax.jit(lambda s, v: tx.update(jnp.ones(()), s, value=v))  # noqa: B023
    state = tx.init(jnp.zeros(()))
    scales = []
    for v in values[:20]:
      _, state = update(state, v)
    directory = tmp_path / f"smooth-{smooth}"
    with ocp.CheckpointManager(
      directory, options=ocp.CheckpointManagerOptions(create=True)
    ) as manager:
      manager.save(20, args=ocp.args.Composite(state=ocp.args.StandardSave(state)))
      manager.wait_until_finished()
    with ocp.CheckpointManager(directory) as manager:
      restored = manager.restore(
        20,
        args=ocp.args.Composite(
          state=ocp.args.StandardRestore(jax.eval_shape(tx.init, jnp.zeros(())))
        ),
      )["state"]
    assert isinstance(restored, GreedyLRState)
    chex.assert_trees_all_equal(restored, state)
    resumed = restored
    for v in values[20:]:
      u, state = update(state, v)
      w, resumed = update(resumed, v)
      scales.append((float(u), float(w)))
    chex.assert_trees_all_equal(resumed, state)
    assert all(a == b for a, b in scales)


# ---------------------------------------------------------------------------
# 5. Validation and get_scheduler.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
  "arg,value,match",
  [
    ("base_lr", 0.0, r"base_lr=0.0 must be a finite number in \(0, inf\)"),
    ("mode", "up", "mode='up' must be one of 'min', 'max'"),
    ("factor", 1.0, r"factor=1.0 must be a finite number in \(0, 1\)"),
    ("factor", 0.0, r"factor=0.0 must be a finite number in \(0, 1\)"),
    ("patience", -1, r"patience=-1 must be an integer number of observations in \[0, "),
    ("patience", 1.5, "patience=1.5 must be an integer"),
    ("threshold", -1e-3, r"threshold=-0.001 must be a finite number in \[0, inf\)"),
    ("threshold_mode", "pct", "threshold_mode='pct' must be one of 'rel', 'abs'"),
    ("cooldown", -2, "cooldown=-2 must be an integer"),
    ("warmup", -1, "warmup=-1 must be an integer"),
    ("min_lr", -1e-3, r"min_lr=-0.001 must be a finite number in \[0, inf\)"),
    ("max_lr", float("inf"), "max_lr=inf must be a finite number"),
    ("max_lr", 1e-4, "min_lr=0.001 must be <= max_lr=0.0001"),
    ("eps", -1.0, r"eps=-1.0 must be a finite number in \[0, inf\)"),
    ("smooth", 1, "smooth=1 must be True or False"),
    ("reset_start", -1, "reset_start=-1 must be an integer number of falls"),
  ],
)
def test_bad_arguments_raise_naming_the_argument(arg, value, match):
  kwargs = {"base_lr": BASE, arg: value}
  with pytest.raises(ValueError, match=f"^greedy_lr: {match}"):
    greedy_lr(**kwargs)


def test_window_size_is_checked_when_smoothing():
  with pytest.raises(
    ValueError,
    match=r"^greedy_lr: window_size=0 must be an integer number "
    r"of values in \[1, ",
  ):
    greedy_lr(BASE, smooth=True, window_size=0)
  greedy_lr(BASE, smooth=False, window_size=0)  # unused, as in transformers


def test_get_scheduler_greedy_matches_transformers():
  rng = np.random.default_rng(12)
  for kwargs in (
    {},
    dict(
      factor=0.5,
      patience=2,
      cooldown=1,
      warmup=1,
      min_lr=0.005,
      max_lr=0.3,
      smooth=True,
      window_size=4,
      reset_start=3,
      verbose=False,
    ),
  ):
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=BASE)
    scheduler = transformers.get_scheduler("greedy", optimizer, scheduler_specific_kwargs=kwargs)
    assert isinstance(scheduler, hf.GreedyLR)
    tx = jaxsched.get_scheduler("greedy", BASE, scheduler_specific_kwargs=kwargs)
    values = _metric_row(rng, 200, "min")
    scales, _ = jax.jit(lambda v, o: _scan(tx, v, o))(values, np.ones(200, bool))  # noqa: B023
    want = []
    for v in values:
      scheduler.step(float(v))
      want.append(optimizer.param_groups[0]["lr"])
    assert len(set(want)) > 3, "the run never moved the rate"
    _assert_lrs(BASE * np.asarray(scales), want, what=f"get_scheduler('greedy', {kwargs})")


def test_get_scheduler_greedy_errors():
  with pytest.raises(ValueError, match=r"^get_scheduler: .*\['bogus'\].*'greedy'"):
    jaxsched.get_scheduler("greedy", BASE, scheduler_specific_kwargs={"bogus": 1})
  with pytest.raises(ValueError, match="^get_scheduler: min_lr=.*one param group"):
    jaxsched.get_scheduler("greedy", BASE, scheduler_specific_kwargs={"min_lr": [1e-3]})
  with pytest.raises(ValueError, match=r"^get_scheduler: peak_value=0.0 .*\(0, inf\)"):
    jaxsched.get_scheduler("greedy", 0.0)
  with pytest.raises(ValueError, match="^greedy_lr: factor=1.5"):
    jaxsched.get_scheduler("greedy", BASE, scheduler_specific_kwargs={"factor": 1.5})
