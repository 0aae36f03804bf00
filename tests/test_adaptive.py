"""The adaptive (loss-driven) transformations of ``jaxsched/transforms/_plateau.py``.

Reference values come from PyTorch's ``ReduceLROnPlateau`` run live, and from
plain-Python copies of seed 000's ``AdaptiveStepDecay`` and
``PhaseTransitionScheduler`` written below; never from jaxsched itself.

Timing (the module contract): after ``update`` has been given ``v_0 .. v_t``,
the scale applied to that same update equals the reference's ``lr / base_lr``
after ``step(v_0) .. step(v_t)``. The references run at base lr 1.0, so their
lr *is* the expected scale.

Ties. jaxsched compares in float32, the references in float64. Every metric
value fed here is float32-representable, and before a value is fed to a
reference it is checked against the comparison that reference is about to
make (the improvement limit, or the phase statistic against its threshold);
a value too close to that boundary is nudged away first (``_reference``). So
a mismatch below is a real difference of logic, not of rounding.

Compile time. Most checks run through one jitted, vmapped ``lax.scan`` per
structural configuration (``_run``): the numeric hyperparameters go in as
traced arrays (jaxsched's factories validate concrete values only and skip
tracers, see ``jaxsched/_common.py``), so every parametrized case and every
hypothesis example of one (mode, threshold_mode) or window shape reuses one
compiled program. The user's path, concrete Python hyperparameters, is run by
``_run(..., traced=False)`` and by the loop/jit/scan/vmap tests.
"""

import functools
import itertools
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
from torch.optim import lr_scheduler

import jaxsched

RTOL = 1e-5
# The float32 scale of a long run of decays by 0.1 reaches the subnormals
# (which XLA's CPU backend flushes to zero) where the float64 reference is
# ~1e-40; below 1e-30 only "tiny" is compared.
ATOL = 1e-30

# ---------------------------------------------------------------------------
# References.
# ---------------------------------------------------------------------------


def _boundary_clear(v, limit):
  """Whether a float32 and a float64 evaluation of ``v < limit`` must agree."""
  if not (math.isfinite(v) and math.isfinite(limit)):
    return True
  return abs(v - limit) > 1e-5 * abs(limit) + 1e-6


class TorchPlateau:
  """``torch.optim.lr_scheduler.ReduceLROnPlateau`` on SGD with base lr 1.0."""

  def __init__(
    self,
    *,
    mode="min",
    factor=0.1,
    patience=10,
    threshold=1e-4,
    threshold_mode="rel",
    cooldown=0,
    min_scale=0.0,
    eps=1e-8,
  ):
    self._param = torch.nn.Parameter(torch.zeros(1))
    self.optimizer = torch.optim.SGD([self._param], lr=1.0)
    self.scheduler = lr_scheduler.ReduceLROnPlateau(
      self.optimizer,
      mode=mode,
      factor=factor,
      patience=patience,
      threshold=threshold,
      threshold_mode=threshold_mode,
      cooldown=cooldown,
      min_lr=min_scale,
      eps=eps,
    )
    self.mode, self.threshold_mode, self.threshold = mode, threshold_mode, threshold
    self.bests = []

  @property
  def lr(self):
    return self.optimizer.param_groups[0]["lr"]

  def _limit(self):
    best, theta = self.scheduler.best, self.threshold
    if self.threshold_mode == "rel":
      return best * (1.0 - theta) if self.mode == "min" else best * (1.0 + theta)
    return best - theta if self.mode == "min" else best + theta

  def clear_of_ties(self, v):
    return _boundary_clear(v, self._limit())

  def nudge(self, v):
    """Moves ``v`` just clear of the improvement limit, on its worse side."""
    limit = self._limit()
    worse = 1.0 if self.mode == "min" else -1.0
    return limit + worse * (1e-3 * abs(limit) + 1e-4)

  def step(self, v):
    self.scheduler.step(v)
    self.bests.append(self.scheduler.best)
    return self.lr


class SeedAdaptiveStepDecay:
  """Seed 000's ``AdaptiveStepDecay`` on one scalar lr (base 1.0).

  The logic is the seed's, line for line, without the print; ``branches``
  records which branches each ``step`` ran.
  """

  def __init__(self, decay_factor=0.1, patience=1000, min_improvement=1e-4, cooldown=500):
    self.lr = 1.0
    self.decay_factor = decay_factor
    self.patience = patience
    self.min_improvement = min_improvement
    self.cooldown = cooldown
    self.best_loss = float("inf")
    self.wait = 0
    self.cooldown_counter = 0
    self.branches = []
    self.bests = []

  def step(self, val_loss):
    if self.cooldown_counter > 0:
      self.cooldown_counter -= 1
      self.branches.append("cooldown")
      self.bests.append(self.best_loss)
      return self.lr

    if val_loss < self.best_loss - self.min_improvement:
      self.best_loss = val_loss
      self.wait = 0
      branch = "improved"
    else:
      self.wait += 1
      branch = "stale"

    if self.wait >= self.patience:
      self.lr = self.lr * self.decay_factor
      self.wait = 0
      self.cooldown_counter = self.cooldown
      branch += "+decay"
    self.branches.append(branch)
    self.bests.append(self.best_loss)
    return self.lr

  def clear_of_ties(self, v):
    if self.cooldown_counter > 0 or self.min_improvement == 0:
      return True  # not compared, or compared exactly (v < best) in both precisions
    return _boundary_clear(v, self.best_loss - self.min_improvement)

  def nudge(self, v):
    limit = self.best_loss - self.min_improvement
    return limit + 1e-3 * abs(limit) + 1e-4


class SeedPhaseTransition:
  """Seed 000's ``PhaseTransitionScheduler`` on one scalar lr (base 1.0).

  The seed's hard-coded 20-value window, 0.1 threshold, 50-step hold and 0.95
  decay are parameters; ``statistic="seed"`` is the seed's variance / (mean +
  1e-8), ``"cv"`` is std / (|mean| + 1e-8), both with NumPy's population
  variance. ``branches`` records the branch of each ``step``.
  """

  def __init__(
    self,
    detection_window=100,
    cv_window=20,
    cv_threshold=0.1,
    boost_factor=2.0,
    boost_steps=50,
    decay_rate=0.95,
    statistic="seed",
  ):
    self.detection_window = detection_window
    self.cv_window = cv_window
    self.cv_threshold = cv_threshold
    self.transition_lr_boost = boost_factor
    self.boost_steps = boost_steps
    self.decay_rate = decay_rate
    self.statistic = statistic
    self.loss_history = []
    self.base_lr = 1.0
    self.lr = 1.0
    self.in_transition = False
    self.transition_timer = 0
    self.branches = []

  def _dispersion(self, recent):
    variance = np.var(recent)
    mean_loss = np.mean(recent)
    if self.statistic == "seed":
      return variance / (mean_loss + 1e-8)
    return np.sqrt(variance) / (abs(mean_loss) + 1e-8)

  def detect_phase_transition(self, loss):
    self.loss_history.append(loss)
    if len(self.loss_history) < self.detection_window:
      return False
    self.loss_history = self.loss_history[-self.detection_window :]
    recent_losses = self.loss_history[-self.cv_window :]
    if len(recent_losses) >= self.cv_window:
      return self._dispersion(recent_losses) > self.cv_threshold
    return False

  def step(self, current_loss):
    transition_detected = self.detect_phase_transition(current_loss)
    if transition_detected and not self.in_transition:
      self.in_transition = True
      self.transition_timer = 0
      self.lr = self.base_lr * self.transition_lr_boost
      branch = "start"
    elif self.in_transition:
      self.transition_timer += 1
      branch = "hold"
      if self.transition_timer > self.boost_steps:
        self.lr *= self.decay_rate
        branch = "decay"
        if self.lr <= self.base_lr:
          self.lr = self.base_lr
          self.in_transition = False
          branch = "end"
    else:
      branch = "filling" if len(self.loss_history) < self.detection_window else "quiet"
    self.branches.append(branch)
    return self.lr

  def clear_of_ties(self, v):
    history = self.loss_history + [v]
    if len(history) < self.detection_window:
      return True
    d = self._dispersion(history[-self.cv_window :])
    return abs(d - self.cv_threshold) > 1e-4 * self.cv_threshold + 1e-7

  def nudge(self, v):
    return v * 1.03 + 1e-3


def _reference(ref, values):
  """Feeds ``values`` to ``ref`` (nudged away from ties); returns (values fed, lrs)."""
  fed, lrs = [], []
  for v in values:
    v = float(np.float32(v))
    for _ in range(200):
      if not math.isfinite(v) or ref.clear_of_ties(v):
        break
      v = float(np.float32(ref.nudge(v)))
    else:
      raise AssertionError(f"could not move {v} away from a float32/float64 tie")
    fed.append(v)
    lrs.append(ref.step(v))
  return np.asarray(fed, np.float32), np.asarray(lrs, np.float64)


def _reference_batch(make_ref, rows):
  """``_reference`` over each row with a fresh reference; stacked arrays and the refs."""
  refs = [make_ref() for _ in rows]
  out = [_reference(ref, row) for ref, row in zip(refs, rows)]
  return np.stack([o[0] for o in out]), np.stack([o[1] for o in out]), refs


def _lrs_after(lrs, counts):
  """The reference lr after ``counts[t]`` steps (1.0 after none), for each t."""
  padded = np.concatenate([[1.0], np.asarray(lrs, np.float64)])
  return padded[np.asarray(counts)]


# ---------------------------------------------------------------------------
# Metric sequences.
# ---------------------------------------------------------------------------

T_PLATEAU = 90  # length of every plateau / step-decay run (one compiled shape)
T_PHASE = 160  # length of every phase-transition run
BATCH = 8  # sequences per compiled call
KINDS = ("plateau", "noise", "steady", "mixture", "shifted")


def _loss_like(rng, n, kind):
  """A loss-like sequence: plateaus, noisy decay, steady improvement or a mixture."""
  t = np.arange(n)
  if kind == "plateau":
    out, level = [], rng.uniform(0.5, 5.0)
    while len(out) < n:
      out.extend([level] * int(rng.integers(1, 15)))
      level *= [rng.uniform(0.5, 0.97), 1.0 - rng.uniform(0.0, 2e-4), rng.uniform(1.0, 1.2)][
        int(rng.integers(3))
      ]
    return np.asarray(out[:n])
  if kind == "noise":
    return (
      rng.uniform(1, 4) * np.exp(-t / rng.uniform(10, 60))
      + rng.uniform(0.05, 0.5)
      + rng.normal(0, rng.uniform(0.005, 0.1), n)
    )
  if kind == "steady":
    big = rng.uniform(0.9, 0.99, n)
    tiny = 1.0 - rng.uniform(0.0, 1e-3, n)
    return rng.uniform(1, 3) * np.cumprod(np.where(rng.random(n) < 0.6, big, tiny))
  if kind in ("mixture", "shifted"):
    pieces, last = [], 1.0
    while sum(map(len, pieces)) < n:
      seg = _loss_like(rng, int(rng.integers(8, 30)), KINDS[int(rng.integers(3))])
      seg = seg * (last / seg[0])
      pieces.append(seg)
      last = seg[-1]
    v = np.concatenate(pieces)[:n] * 10.0 ** rng.uniform(-1.5, 1.5)
    return v - np.median(v) if kind == "shifted" else v
  raise ValueError(kind)


def _rows(rng, n, count, mode="min"):
  """``count`` float32 sequences of length ``n`` cycling through KINDS.

  In "max" mode they are accuracy-like: the loss negated, or its inverse.
  """
  rows = []
  for i in range(count):
    kind = KINDS[i % len(KINDS)]
    v = _loss_like(rng, n, kind)
    if mode == "max":
      v = 1.0 / v if (i % 2 and kind != "shifted") else -v
    rows.append(v.astype(np.float32))
  return np.stack(rows)


def _phase_like(rng, n, negative=False):
  """Quiet stretches broken by noisy ones, drifts and spikes (for phase detection)."""
  out, level = [], rng.uniform(0.5, 3.0)
  while len(out) < n:
    length = int(rng.integers(5, 30))
    kind = int(rng.integers(4))
    if kind == 0:  # quiet
      seg = level * (1 + rng.normal(0, 0.01, length))
    elif kind == 1:  # noisy
      seg = level * np.abs(1 + rng.normal(0, 0.6, length)) + 0.01
    elif kind == 2:  # drift
      ramp = np.linspace(1, rng.uniform(0.3, 1.0), length)
      seg = level * ramp * (1 + rng.normal(0, 0.05, length))
      level = seg[-1]
    else:  # one spike
      seg = np.full(length, level)
      seg[int(rng.integers(length))] *= rng.uniform(2, 6)
    out.extend(seg)
  v = np.asarray(out[:n]) * 10.0 ** rng.uniform(-1, 1)
  return (-v if negative else v).astype(np.float32)


def _phase_rows(rng, n, count):
  return np.stack([_phase_like(rng, n, negative=(i == count - 1)) for i in range(count)])


# ---------------------------------------------------------------------------
# Running jaxsched.
# ---------------------------------------------------------------------------

# Numeric hyperparameters that may go in as traced arrays, with their dtypes.
_TRACEABLE = {
  jaxsched.reduce_on_plateau: {
    "factor": np.float32,
    "patience": np.int32,
    "threshold": np.float32,
    "cooldown": np.int32,
    "min_scale": np.float32,
    "eps": np.float32,
    "accumulation_size": np.int32,
  },
  jaxsched.adaptive_step_decay: {
    "decay_factor": np.float32,
    "patience": np.int32,
    "min_improvement": np.float32,
    "cooldown": np.int32,
  },
  jaxsched.phase_transition: {
    "cv_threshold": np.float32,
    "boost_factor": np.float32,
    "boost_steps": np.int32,
    "decay_rate": np.float32,
  },
}
# Defaults filled in for traced runs so that every call has the same pytree.
_TRACED_DEFAULTS = {
  jaxsched.reduce_on_plateau: dict(
    factor=0.1,
    patience=10,
    threshold=1e-4,
    cooldown=0,
    min_scale=0.0,
    eps=1e-8,
    accumulation_size=1,
  ),
  jaxsched.adaptive_step_decay: dict(
    decay_factor=0.1, patience=1000, min_improvement=1e-4, cooldown=500
  ),
  jaxsched.phase_transition: dict(
    cv_threshold=0.1, boost_factor=2.0, boost_steps=50, decay_rate=0.95
  ),
}


def _scan_run(tx, params, values, observe):
  """Feeds ``values[t]`` (with ``observe[t]``) to update ``t`` in one lax.scan.

  The incoming updates are all ones, so the updates returned are the scale
  applied to each update. Returns (updates, states), stacked over t.
  """
  ones = jax.tree.map(jnp.ones_like, params)

  def body(state, x):
    value, obs = x
    updates, state = tx.update(ones, state, params, value=value, observe=obs)
    return state, (updates, state)

  _, (updates, states) = jax.lax.scan(body, tx.init(params), (values, observe))
  return updates, states


@functools.lru_cache(maxsize=None)
def _compiled(factory, static_items):
  static = dict(static_items)

  def run(hyper, values, observe):
    tx = factory(**static, **hyper)
    one = lambda v, o: _scan_run(tx, jnp.zeros((), jnp.float32), v, o)
    return jax.vmap(one)(values, observe)

  return jax.jit(run)


_STANDARD_LENGTH = {
  jaxsched.reduce_on_plateau: T_PLATEAU,
  jaxsched.adaptive_step_decay: T_PLATEAU,
  jaxsched.phase_transition: T_PHASE,
}


def _run(factory, values, observe=None, *, traced=True, **kwargs):
  """Runs ``factory(**kwargs)`` over each row of ``values``: one jitted, vmapped scan.

  With ``traced`` the numeric hyperparameters are traced arguments (one
  compile per static configuration) and smaller inputs are padded to the one
  compiled shape, (BATCH, standard length): a run depends only on its past,
  so cutting the result back to the input's shape is exact. Without
  ``traced`` all hyperparameters are concrete Python values, as a user
  writes them. Returns (scales[B, T], states[B, T]) as NumPy.
  """
  values = np.asarray(values, np.float32)
  observe = np.ones(values.shape, bool) if observe is None else np.asarray(observe, bool)
  rows, steps = values.shape
  hyper = {}
  if traced:
    dtypes = _TRACEABLE[factory]
    kwargs = {**_TRACED_DEFAULTS[factory], **kwargs}
    hyper = {k: np.asarray(kwargs.pop(k), dtype) for k, dtype in dtypes.items()}
    pad = ((0, max(BATCH - rows, 0)), (0, max(_STANDARD_LENGTH[factory] - steps, 0)))
    values = np.pad(values, pad, mode="edge")
    observe = np.pad(observe, pad, mode="edge")
  scales, states = _compiled(factory, tuple(sorted(kwargs.items())))(hyper, values, observe)
  cut = lambda x: np.asarray(x)[:rows, :steps]
  return cut(scales), jax.tree.map(cut, states)


def _assert_scales(got, want, *, what, values=None):
  """Asserts got ~= want; the message names row, step, got, want and the metric."""
  got = np.asarray(got, np.float64)
  want = np.asarray(want, np.float64)
  chex.assert_equal_shape([got, want])
  close = np.isclose(got, want, rtol=RTOL, atol=ATOL)
  if not close.all():
    bad = np.argwhere(~close)
    where = tuple(bad[0])
    detail = f"first at {where}: got {got[where]!r}, want {want[where]!r}"
    if values is not None:
      row = np.asarray(values)[where[:-1]] if np.ndim(values) > 1 else np.asarray(values)
      step = where[-1]
      detail += (
        f"; values[{max(step - 11, 0)}..{step}]={row[max(step - 11, 0) : step + 1].tolist()}"
      )
      detail += f"; want[..{step}]={want[where[:-1]][max(step - 11, 0) : step + 1].tolist()}"
    raise AssertionError(f"{what}: {len(bad)} of {got.size} scales differ; {detail}")
  chex.assert_trees_all_close(got, want, rtol=RTOL, atol=ATOL)


# ---------------------------------------------------------------------------
# 1. reduce_on_plateau against torch.optim.lr_scheduler.ReduceLROnPlateau.
# ---------------------------------------------------------------------------

_THRESHOLDS = {"rel": (1e-4, 1e-2, 0.1), "abs": (1e-3, 0.05, 0.5)}

_PLATEAU_GRID = [
  dict(
    mode=mode,
    threshold_mode=tm,
    threshold=_THRESHOLDS[tm][1],
    patience=p,
    cooldown=cd,
    factor=f,
    min_scale=ms,
  )
  for mode, tm, p, cd, f, ms in itertools.product(
    ("min", "max"), ("rel", "abs"), (0, 1, 3, 7), (0, 2), (0.1, 0.5), (0.0, 0.05)
  )
]


def _plateau_id(cfg):
  return (
    f"{cfg['mode']}-{cfg['threshold_mode']}-p{cfg['patience']}-c{cfg['cooldown']}"
    f"-f{cfg['factor']}-m{cfg['min_scale']}"
  )


def _check_plateau_parity(cfg, seed, *, traced=True):
  """jaxsched vs torch on BATCH random sequences; returns the torch scales."""
  rng = np.random.default_rng(seed)
  rows = _rows(rng, T_PLATEAU, BATCH, cfg["mode"])
  values, want, _ = _reference_batch(lambda: TorchPlateau(eps=1e-8, **cfg), rows)
  got, _ = _run(jaxsched.reduce_on_plateau, values, traced=traced, eps=1e-8, **cfg)
  _assert_scales(got, want, what=f"reduce_on_plateau({cfg}) vs torch", values=values)
  return want


@pytest.mark.parametrize("cfg", _PLATEAU_GRID, ids=[_plateau_id(c) for c in _PLATEAU_GRID])
def test_reduce_on_plateau_matches_torch(cfg):
  want = _check_plateau_parity(cfg, seed=_PLATEAU_GRID.index(cfg))
  assert (want < 1.0).any(), "the sequences never made torch reduce: the case checks nothing"


@pytest.mark.parametrize(
  "cfg",
  [
    dict(
      mode="min",
      threshold_mode="rel",
      threshold=1e-4,
      patience=0,
      cooldown=0,
      factor=0.5,
      min_scale=0.0,
    ),
    dict(
      mode="max",
      threshold_mode="abs",
      threshold=0.05,
      patience=3,
      cooldown=2,
      factor=0.1,
      min_scale=0.05,
    ),
    dict(
      mode="min",
      threshold_mode="abs",
      threshold=1e-3,
      patience=7,
      cooldown=2,
      factor=0.5,
      min_scale=0.05,
    ),
  ],
  ids=_plateau_id,
)
def test_reduce_on_plateau_matches_torch_with_concrete_hyperparameters(cfg):
  """The user's path: every hyperparameter a Python constant baked into the program."""
  want = _check_plateau_parity(cfg, seed=1000 + cfg["patience"], traced=False)
  assert (want < 1.0).any()


def test_reduce_on_plateau_scale_stops_at_eps_and_min_scale():
  """Long plateaus: the scale floors at min_scale, or stops where a step is <= eps."""
  values = np.ones((BATCH, T_PLATEAU), np.float32)
  for factor, min_scale, floor in [(0.5, 0.0, 2.0**-26), (0.1, 0.0, 1e-8), (0.5, 0.05, 0.05)]:
    cfg = dict(factor=factor, min_scale=min_scale, patience=0, cooldown=0)
    _, want, _ = _reference_batch(functools.partial(TorchPlateau, eps=1e-8, **cfg), values)
    got, _ = _run(jaxsched.reduce_on_plateau, values, eps=1e-8, **cfg)
    _assert_scales(got, want, what=f"reduce_on_plateau({cfg}) vs torch")
    np.testing.assert_allclose(want[:, -1], floor, rtol=1e-9)


_PLATEAU_CHOICES = dict(
  mode=st.sampled_from(("min", "max")),
  threshold_mode=st.sampled_from(("rel", "abs")),
  threshold_index=st.integers(0, 2),
  patience=st.integers(0, 8),
  cooldown=st.integers(0, 3),
  factor=st.sampled_from((0.1, 0.3, 0.5, 0.8)),
  min_scale=st.sampled_from((0.0, 0.05, 0.3)),
  seed=st.integers(0, 2**31 - 1),
)


@hypothesis.settings(
  max_examples=30,
  deadline=None,
  database=None,
  suppress_health_check=[hypothesis.HealthCheck.too_slow],
)
@hypothesis.given(**_PLATEAU_CHOICES)
def test_reduce_on_plateau_matches_torch_random_configs(
  mode, threshold_mode, threshold_index, patience, cooldown, factor, min_scale, seed
):
  cfg = dict(
    mode=mode,
    threshold_mode=threshold_mode,
    threshold=_THRESHOLDS[threshold_mode][threshold_index],
    patience=patience,
    cooldown=cooldown,
    factor=factor,
    min_scale=min_scale,
  )
  _check_plateau_parity(cfg, seed)


@functools.lru_cache(maxsize=None)
def _contrib_runner(factor, rtol):
  """optax.contrib.reduce_on_plateau over 64 values in one jitted scan.

  ``patience`` and ``cooldown`` (documented as array-likes) are traced, so
  every call below shares one compile.
  """

  def run(values, patience, cooldown):
    tx = optax.contrib.reduce_on_plateau(
      factor=factor, rtol=rtol, patience=patience, cooldown=cooldown
    )

    def body(state, value):
      updates, state = tx.update(jnp.ones((), jnp.float32), state, value=value)
      return state, updates

    return jax.lax.scan(body, tx.init(jnp.zeros((), jnp.float32)), values)[1]

  return jax.jit(run)


def _contrib_scales(values, *, factor, patience, cooldown=0, rtol=1e-4):
  """optax.contrib.reduce_on_plateau's applied scale per update."""
  padded = np.pad(np.asarray(values, np.float32), (0, 64 - len(values)), mode="edge")
  out = _contrib_runner(factor, rtol)(padded, np.int32(patience), np.int32(cooldown))
  return np.asarray(out)[: len(values)]


def _torch_scales(values, **kwargs):
  ref = TorchPlateau(**kwargs)
  return np.asarray([ref.step(float(v)) for v in values])


def test_documented_differences_from_optax_contrib():
  """optax.contrib reduces one observation earlier, and at patience=0 on improvements."""
  # A flat metric, patience 2: torch and jaxsched reduce at the 3rd bad value
  # (index 3), optax.contrib at the 2nd (index 2); every cycle is one shorter.
  flat = np.ones(9, np.float32)
  ours = _run(jaxsched.reduce_on_plateau, flat[None], factor=0.5, patience=2)[0][0]
  theirs = _contrib_scales(flat, factor=0.5, patience=2, rtol=1e-4)
  torch_p2 = _torch_scales(flat, factor=0.5, patience=2)
  _assert_scales(ours, torch_p2, what="jaxsched patience=2 vs torch patience=2")
  _assert_scales(torch_p2, [1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25], what="torch, flat metric")
  _assert_scales(theirs, [1, 1, 0.5, 0.5, 0.25, 0.25, 0.125, 0.125, 0.0625], what="optax.contrib")
  assert np.argmax(ours < 1) == np.argmax(theirs < 1) + 1
  # In general optax.contrib with patience p behaves as torch with p - 1.
  rng = np.random.default_rng(7)
  values, torch_p3 = _reference(
    TorchPlateau(factor=0.5, patience=3, cooldown=2), _rows(rng, 60, 1)[0]
  )
  ours = _run(jaxsched.reduce_on_plateau, values[None], factor=0.5, patience=3, cooldown=2)[0][0]
  _assert_scales(ours, torch_p3, what="jaxsched vs torch, patience=3", values=values)
  theirs = _contrib_scales(values, factor=0.5, patience=3, cooldown=2, rtol=1e-4)
  torch_p2 = _torch_scales(values, factor=0.5, patience=2, cooldown=2)
  _assert_scales(
    theirs, torch_p2, what="optax.contrib patience=3 vs torch patience=2", values=values
  )
  assert not np.allclose(theirs, ours)
  # patience=0 on a strictly improving metric: torch and jaxsched never
  # reduce; optax.contrib reduces on every (improving) observation.
  improving = np.asarray([4.0, 3.0, 2.0, 1.0], np.float32)
  ours = _run(jaxsched.reduce_on_plateau, improving[None], factor=0.5, patience=0)[0][0]
  _assert_scales(_torch_scales(improving, factor=0.5, patience=0), np.ones(4), what="torch")
  _assert_scales(ours, np.ones(4), what="jaxsched patience=0 on improving values")
  _assert_scales(
    _contrib_scales(improving, factor=0.5, patience=0, rtol=1e-4),
    0.5 ** np.arange(1, 5),
    what="optax.contrib patience=0 on improving values",
  )


# ---------------------------------------------------------------------------
# 2. accumulation_size.
# ---------------------------------------------------------------------------


def _blocks_around(means, k, rng):
  """k float32 values per mean whose average is the mean (up to float32 rounding)."""
  spread = rng.normal(0.0, 0.3, (len(means), k))
  spread -= spread.mean(axis=1, keepdims=True)
  return (np.asarray(means, np.float64)[:, None] * (1.0 + spread)).astype(np.float32).ravel()


@pytest.mark.parametrize("k", [2, 3, 5])
@pytest.mark.parametrize("mode", ["min", "max"])
def test_accumulation_size_averages_blocks(k, mode):
  """accumulation_size=k on raw values == accumulation_size=1 on block means == torch."""
  cfg = dict(
    mode=mode,
    threshold_mode="rel",
    threshold=1e-2,
    patience=1,
    cooldown=1,
    factor=0.5,
    min_scale=0.0,
  )
  rng = np.random.default_rng(k)
  n_blocks = T_PLATEAU // k
  means, want, _ = _reference_batch(lambda: TorchPlateau(**cfg), _rows(rng, n_blocks, BATCH, mode))
  raw = np.stack([_blocks_around(m, k, rng) for m in means])
  got_k, _ = _run(jaxsched.reduce_on_plateau, raw, accumulation_size=k, **cfg)
  got_1, _ = _run(jaxsched.reduce_on_plateau, means, accumulation_size=1, **cfg)
  _assert_scales(got_1, want, what=f"accumulation_size=1 on block means vs torch ({cfg})")
  # Update t has completed (t + 1) // k blocks.
  completed = (np.arange(T_PLATEAU) + 1) // k
  want_k = np.stack([_lrs_after(w, completed) for w in want])
  _assert_scales(got_k, want_k, what=f"accumulation_size={k} vs torch on block means", values=raw)
  assert (want < 1).any()


# ---------------------------------------------------------------------------
# 3. The seed's AdaptiveStepDecay and PhaseTransitionScheduler.
# ---------------------------------------------------------------------------

_STEP_DECAY_GRID = [
  dict(
    patience=p,
    cooldown=cd,
    decay_factor=(0.1, 0.5, 0.9, 1.0)[i % 4],
    min_improvement=(0.0, 1e-3, 0.05)[i % 3],
  )
  for i, (p, cd) in enumerate(itertools.product((0, 1, 3, 6), (0, 2, 5)))
]


def _check_step_decay(cfg, seed, values=None):
  rows = _rows(np.random.default_rng(seed), T_PLATEAU, BATCH) if values is None else values
  values, want, refs = _reference_batch(lambda: SeedAdaptiveStepDecay(**cfg), rows)
  got, _ = _run(jaxsched.adaptive_step_decay, values, **cfg)
  _assert_scales(got, want, what=f"adaptive_step_decay({cfg}) vs seed", values=values)
  return want, refs


@pytest.mark.parametrize("cfg", _STEP_DECAY_GRID, ids=lambda c: "-".join(map(str, c.values())))
def test_adaptive_step_decay_matches_seed(cfg):
  want, _ = _check_step_decay(cfg, seed=_STEP_DECAY_GRID.index(cfg))
  if cfg["decay_factor"] < 1:
    assert (want < 1).any()


@hypothesis.settings(
  max_examples=30,
  deadline=None,
  database=None,
  suppress_health_check=[hypothesis.HealthCheck.too_slow],
)
@hypothesis.given(
  decay_factor=st.sampled_from((0.1, 0.5, 0.9, 1.0)),
  patience=st.integers(0, 10),
  min_improvement=st.sampled_from((0.0, 1e-4, 1e-3, 0.05, 0.3)),
  cooldown=st.integers(0, 8),
  seed=st.integers(0, 2**31 - 1),
)
def test_adaptive_step_decay_matches_seed_random_configs(
  decay_factor, patience, min_improvement, cooldown, seed
):
  _check_step_decay(
    dict(
      decay_factor=decay_factor,
      patience=patience,
      min_improvement=min_improvement,
      cooldown=cooldown,
    ),
    seed,
  )


def test_adaptive_step_decay_crafted_branches():
  """Crafted sequences through improvement, stale waits, decay and cooldown."""
  cfg = dict(decay_factor=0.5, patience=2, min_improvement=0.1, cooldown=2)
  values = np.asarray(
    [
      5.0,
      4.0,  # improved, improved
      3.95,
      3.92,  # stale, stale -> wait reaches patience: decay, cooldown 2
      1.0,
      1.0,  # cooldown: not compared (1.0 must not become the best)
      3.95,  # stale again: the best is still 4.0
      3.0,
      3.0,
      3.0,  # improved, stale, stale -> decay
      0.5,
      0.5,  # cooldown
      2.0,
      2.5,
      2.0,  # improved, stale, stale -> decay
      9.0,
      9.0,
      1.95,  # cooldown, cooldown, stale (1.95 > 2.0 - 0.1)
      1.0,
      1.0,
      1.0,
      1.0,  # improved, stale, stale -> decay, cooldown
    ],
    np.float32,
  )[None]
  want, refs = _check_step_decay(cfg, seed=None, values=values)
  branches = refs[0].branches
  assert {"improved", "stale", "stale+decay", "cooldown"} <= set(branches), branches
  assert branches[4:6] == ["cooldown", "cooldown"] and branches[6] == "stale", branches
  _assert_scales(want[0, [3, 9, 14, 21]], [0.5, 0.25, 0.125, 0.0625], what="crafted decays")
  # patience=0: every compared observation decays, an improving one included.
  cfg0 = dict(decay_factor=0.5, patience=0, min_improvement=0.0, cooldown=1)
  _, refs0 = _check_step_decay(cfg0, seed=None, values=np.asarray([[3.0, 2.0, 1.0, 1.0, 1.0]]))
  assert refs0[0].branches == [
    "improved+decay",
    "cooldown",
    "improved+decay",
    "cooldown",
    "stale+decay",
  ], refs0[0].branches


# Boost / decay pairs whose geometric return never lands within float
# rounding of 1 (except exactly, 2 * 0.5 == 1): see _check_boost_pair.
_BOOST_PAIRS = ((2.0, 0.95), (3.0, 0.8), (1.5, 0.9), (2.0, 0.5), (1.0, 0.9))
# (detection_window, cv_window, statistic): one compile each, shared by the
# grid, the hypothesis test and the crafted sequences.
_PHASE_SHAPES = ((10, 5, "seed"), (10, 5, "cv"), (6, 4, "seed"), (6, 4, "cv"), (20, 20, "cv"))


def _check_boost_pair(boost, decay):
  lr = boost
  for _ in range(1000):
    if lr <= 1.0:
      return
    lr *= decay
    assert lr == 1.0 or abs(lr - 1.0) > 1e-4, f"boost {boost} decay {decay} ties 1.0"


_PHASE_GRID = [
  dict(
    detection_window=w,
    cv_window=cw,
    statistic=stat,
    boost_steps=bs,
    boost_factor=_BOOST_PAIRS[i % 5][0],
    decay_rate=_BOOST_PAIRS[i % 5][1],
    cv_threshold=(0.05, 0.1, 0.3)[i % 3],
  )
  for i, ((w, cw, stat), bs) in enumerate(itertools.product(_PHASE_SHAPES, (0, 5)))
]


def _check_phase(cfg, seed, values=None):
  _check_boost_pair(cfg["boost_factor"], cfg["decay_rate"])
  rows = _phase_rows(np.random.default_rng(seed), T_PHASE, BATCH) if values is None else values
  values, want, refs = _reference_batch(lambda: SeedPhaseTransition(**cfg), rows)
  got, _ = _run(jaxsched.phase_transition, values, **cfg)
  _assert_scales(got, want, what=f"phase_transition({cfg}) vs seed", values=values)
  return values, want, refs


@pytest.mark.parametrize("cfg", _PHASE_GRID, ids=lambda c: "-".join(map(str, c.values())))
def test_phase_transition_matches_seed(cfg):
  _, want, refs = _check_phase(cfg, seed=_PHASE_GRID.index(cfg))
  branches = set(itertools.chain.from_iterable(r.branches for r in refs))
  assert {"start", "end"} <= branches, branches
  if cfg["boost_factor"] * cfg["decay_rate"] > 1:  # more than one step back to 1
    assert "decay" in branches, branches
  if cfg["boost_steps"] > 0:
    assert "hold" in branches, branches


@hypothesis.settings(
  max_examples=30,
  deadline=None,
  database=None,
  suppress_health_check=[hypothesis.HealthCheck.too_slow],
)
@hypothesis.given(
  shape=st.sampled_from(_PHASE_SHAPES),
  pair=st.sampled_from(_BOOST_PAIRS),
  boost_steps=st.integers(0, 12),
  cv_threshold=st.sampled_from((0.02, 0.1, 0.3, 1.0)),
  seed=st.integers(0, 2**31 - 1),
)
def test_phase_transition_matches_seed_random_configs(shape, pair, boost_steps, cv_threshold, seed):
  _check_phase(
    dict(
      detection_window=shape[0],
      cv_window=shape[1],
      statistic=shape[2],
      boost_factor=pair[0],
      decay_rate=pair[1],
      boost_steps=boost_steps,
      cv_threshold=cv_threshold,
    ),
    seed,
  )


_PHASE_CRAFTED = np.asarray(
  [1.0] * 8  # filling (5), then quiet
  + [3.0, 1.0, 3.0, 1.0]  # detection at the first 3.0, then held
  + [1.0] * 13  # hold, geometric return, end, quiet
  + [4.0]  # re-detection after the end
  + [1.0] * 20  # hold, return, end, quiet
  + [0.01] * 15  # the drop is a transition too (both statistics)
  + [0.03]  # detected by "cv" only: var / mean is 0.005 here
  + [0.01] * 10,
  np.float32,
)


@pytest.mark.parametrize("statistic", ["seed", "cv"])
def test_phase_transition_crafted_branches(statistic):
  cfg = dict(
    detection_window=6,
    cv_window=4,
    cv_threshold=0.1,
    boost_factor=2.0,
    boost_steps=3,
    decay_rate=0.8,
    statistic=statistic,
  )
  rows = np.stack([_PHASE_CRAFTED, -_PHASE_CRAFTED])
  values, want, refs = _check_phase(cfg, seed=None, values=rows)
  np.testing.assert_array_equal(values, rows)  # nothing was nudged
  branches = refs[0].branches
  assert {"filling", "quiet", "start", "hold", "decay", "end"} <= set(branches), branches
  starts = [i for i, b in enumerate(branches) if b == "start"]
  assert starts[:3] == [8, 25, 46], starts
  assert "end" in branches[starts[0] : starts[1]]
  assert len(starts) == (4 if statistic == "cv" else 3), starts
  # The hold and the geometric return after the first detection.
  _assert_scales(want[0, 8:17], [2, 2, 2, 2, 1.6, 1.28, 1.024, 1, 1], what="crafted transition")
  # Negative values: var / (mean + 1e-8) < 0 never detects; std / |mean| does.
  neg_starts = refs[1].branches.count("start")
  assert neg_starts == (4 if statistic == "cv" else 0), refs[1].branches


# ---------------------------------------------------------------------------
# 4. The same results eagerly, under jit per step, in one scan and under vmap.
# ---------------------------------------------------------------------------

_T_EXEC = 24
_EXECUTION_CASES = {
  "reduce_on_plateau": (
    jaxsched.reduce_on_plateau,
    dict(factor=0.5, patience=2, cooldown=1, min_scale=0.1, threshold=1e-3),
    lambda: TorchPlateau(factor=0.5, patience=2, cooldown=1, min_scale=0.1, threshold=1e-3),
    lambda rng: _rows(rng, _T_EXEC, 4),
  ),
  "adaptive_step_decay": (
    jaxsched.adaptive_step_decay,
    dict(decay_factor=0.5, patience=2, min_improvement=0.01, cooldown=2),
    lambda: SeedAdaptiveStepDecay(decay_factor=0.5, patience=2, min_improvement=0.01, cooldown=2),
    lambda rng: _rows(rng, _T_EXEC, 4),
  ),
  "phase_transition": (
    jaxsched.phase_transition,
    dict(
      detection_window=6,
      cv_window=4,
      cv_threshold=0.1,
      boost_factor=2.0,
      boost_steps=2,
      decay_rate=0.8,
      statistic="cv",
    ),
    lambda: SeedPhaseTransition(
      detection_window=6,
      cv_window=4,
      cv_threshold=0.1,
      boost_factor=2.0,
      boost_steps=2,
      decay_rate=0.8,
      statistic="cv",
    ),
    lambda rng: _phase_rows(rng, _T_EXEC, 4),
  ),
}
_PARAMS = {"w": jnp.zeros((3,), jnp.float32), "b": jnp.zeros((), jnp.float32)}


def _assert_uniform_scale(updates, scale):
  """Every leaf of the (all-ones) updates equals the scale."""
  want = jax.tree.map(lambda p: jnp.full(p.shape, scale, jnp.float32), _PARAMS)
  chex.assert_trees_all_close(updates, want, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("name", sorted(_EXECUTION_CASES))
def test_same_results_eager_jit_scan_vmap(name):
  factory, kwargs, make_ref, make_rows = _EXECUTION_CASES[name]
  values, want, _ = _reference_batch(make_ref, make_rows(np.random.default_rng(3)))
  assert (want != 1).any(), "no row moves the reference: the test checks nothing"
  tx = factory(**kwargs)
  ones = jax.tree.map(jnp.ones_like, _PARAMS)
  jitted_update = jax.jit(tx.update)
  for row in range(values.shape[0]):
    eager_state = tx.init(_PARAMS)
    jit_state = tx.init(_PARAMS)
    for t, v in enumerate(values[row]):
      if row < 2:  # the eager loop is slow: two of the four runs
        eager_updates, eager_state = tx.update(ones, eager_state, _PARAMS, value=float(v))
        _assert_uniform_scale(eager_updates, want[row, t])
      jit_updates, jit_state = jitted_update(ones, jit_state, _PARAMS, value=jnp.float32(v))
      _assert_uniform_scale(jit_updates, want[row, t])
  observe = jnp.ones(values.shape[1:], bool)
  scan = jax.jit(lambda v: _scan_run(tx, _PARAMS, v, observe))
  for row in range(values.shape[0]):
    updates, _ = scan(jnp.asarray(values[row]))
    _assert_scales(updates["b"], want[row], what=f"{name} in lax.scan, row {row}")
    _assert_scales(updates["w"], np.repeat(want[row][:, None], 3, axis=1), what=f"{name} w")
  # vmap over init (batched params) and the scan: four independent runs.
  batched_params = jax.tree.map(lambda p: jnp.zeros((4,) + p.shape, p.dtype), _PARAMS)
  vmapped = jax.jit(jax.vmap(lambda p, v: _scan_run(tx, p, v, observe)))
  updates, states = vmapped(batched_params, jnp.asarray(values))
  _assert_scales(updates["b"], want, what=f"{name} under vmap", values=values)
  last_state = jax.tree.map(lambda x: x[:, -1], states)
  _assert_scales(jaxsched.current_scale(last_state), want[:, -1], what=f"{name} current_scale")


# ---------------------------------------------------------------------------
# 5. observe=.
# ---------------------------------------------------------------------------

# (factory, kwargs, reference, rows, junk fed on unobserved updates: values
# that would move the state a lot if they were not ignored).
_OBSERVE_CASES = {
  "reduce_on_plateau": (
    jaxsched.reduce_on_plateau,
    dict(factor=0.5, patience=1, cooldown=1, threshold=1e-2),
    lambda: TorchPlateau(factor=0.5, patience=1, cooldown=1, threshold=1e-2),
    lambda rng: _rows(rng, T_PLATEAU, BATCH),
    -1e3,
  ),
  "adaptive_step_decay": (
    jaxsched.adaptive_step_decay,
    dict(decay_factor=0.5, patience=2, min_improvement=1e-3, cooldown=1),
    lambda: SeedAdaptiveStepDecay(decay_factor=0.5, patience=2, min_improvement=1e-3, cooldown=1),
    lambda rng: _rows(rng, T_PLATEAU, BATCH),
    -1e3,
  ),
  "phase_transition": (
    jaxsched.phase_transition,
    dict(
      detection_window=10,
      cv_window=5,
      cv_threshold=0.1,
      boost_factor=2.0,
      boost_steps=5,
      decay_rate=0.8,
      statistic="seed",
    ),
    lambda: SeedPhaseTransition(
      detection_window=10,
      cv_window=5,
      cv_threshold=0.1,
      boost_factor=2.0,
      boost_steps=5,
      decay_rate=0.8,
      statistic="seed",
    ),
    lambda rng: _phase_rows(rng, T_PHASE, BATCH),
    1e3,
  ),
}


def _assert_state_frozen_where_unobserved(states, observe, init_state):
  """state[t] == state[t - 1] (init before t = 0) wherever observe[t] is False."""
  b, t = np.nonzero(~observe)
  previous = jax.tree.map(
    lambda s, s0: np.where(
      (t == 0).reshape((-1,) + (1,) * (s.ndim - 2)),
      np.broadcast_to(s0, s[b, t].shape),
      s[b, np.maximum(t - 1, 0)],
    ),
    states,
    init_state,
  )
  now = jax.tree.map(lambda s: s[b, t], states)
  chex.assert_trees_all_equal(now, previous)


@pytest.mark.parametrize("k", [2, 3, 5])
@pytest.mark.parametrize("name", sorted(_OBSERVE_CASES))
def test_observe_every_kth_update(name, k):
  factory, kwargs, make_ref, make_rows, junk = _OBSERVE_CASES[name]
  rows = make_rows(np.random.default_rng(10 + k))
  n = rows.shape[1]
  observe = np.broadcast_to(np.arange(n) % k == 0, rows.shape)
  # The reference is fed only the observed values, in a loop.
  fed, lrs, _ = _reference_batch(make_ref, rows[:, ::k])
  values = np.where(observe, 0.0, np.where(np.arange(n) % 2, junk, -junk)).astype(np.float32)
  values[:, ::k] = fed
  got, states = _run(factory, values, observe, **kwargs)
  counts = np.cumsum(observe[0])
  want = np.stack([_lrs_after(lr, counts) for lr in lrs])
  _assert_scales(got, want, what=f"{name} observe every {k}th", values=values)
  init = factory(**kwargs).init(jnp.zeros(()))
  _assert_state_frozen_where_unobserved(states, observe, jax.tree.map(np.asarray, init))
  assert (want != 1).any()


def test_observe_with_accumulation_averages_observed_values():
  """With accumulation_size=2, the mean of two consecutive *observed* values counts."""
  cfg = dict(factor=0.5, patience=1, cooldown=0, threshold=1e-2)
  rng = np.random.default_rng(5)
  n = T_PLATEAU
  observe = np.broadcast_to(np.arange(n) % 3 != 1, (BATCH, n))
  n_obs = int(observe[0].sum())
  means, lrs, _ = _reference_batch(lambda: TorchPlateau(**cfg), _rows(rng, n_obs // 2, BATCH))
  values = np.full((BATCH, n), 1e4, np.float32)
  for b in range(BATCH):
    values[b, observe[b]] = np.concatenate(
      [_blocks_around(means[b], 2, rng), np.zeros(n_obs % 2, np.float32)]
    )
  got, _ = _run(jaxsched.reduce_on_plateau, values, observe, accumulation_size=2, **cfg)
  counts = np.cumsum(observe[0]) // 2
  want = np.stack([_lrs_after(lr, counts) for lr in lrs])
  _assert_scales(got, want, what="accumulation_size=2 with observe", values=values)


@pytest.mark.parametrize("name", sorted(_EXECUTION_CASES))
def test_observe_flag_does_not_retrace(name):
  """A traced observe (True or False, or count % k == 0) never retraces the step."""
  factory, kwargs, make_ref, make_rows = _EXECUTION_CASES[name]
  tx = factory(**kwargs)
  values, want, _ = _reference_batch(make_ref, make_rows(np.random.default_rng(3))[:1])

  def step_with_flag(state, value, observe):
    return tx.update(jnp.ones(()), state, value=value, observe=observe)

  def step_with_count(state, value, count):
    return tx.update(jnp.ones(()), state, value=value, observe=(count % 2 == 0))

  # chex keys its trace counters by function name: one name per case.
  step_with_flag.__name__ = f"step_with_flag_{name}"
  step_with_count.__name__ = f"step_with_count_{name}"
  by_flag = jax.jit(chex.assert_max_traces(step_with_flag, n=1))
  by_count = jax.jit(chex.assert_max_traces(step_with_count, n=1))
  flag_state = count_state = tx.init(jnp.zeros(()))
  for t, v in enumerate(values[0]):
    # Every value observed, with an unobserved call (a junk value) in between.
    scale, flag_state = by_flag(flag_state, jnp.float32(v), True)
    _assert_scales(scale, want[0, t], what=f"{name} jitted step, observed")
    scale, flag_state = by_flag(flag_state, jnp.float32(-1e3), False)
    _assert_scales(scale, want[0, t], what=f"{name} jitted step, unobserved")
    scale, count_state = by_count(count_state, jnp.float32(v), 2 * t)
    _assert_scales(scale, want[0, t], what=f"{name} jitted step, observe from an even count")
    scale, count_state = by_count(count_state, jnp.float32(1e3), 2 * t + 1)
    _assert_scales(scale, want[0, t], what=f"{name} jitted step, odd count not observed")
  chex.clear_trace_counter()


# ---------------------------------------------------------------------------
# 6. Non-finite metrics.
# ---------------------------------------------------------------------------


def _with_non_finite(rng, rows, *, replacement):
  """Rows with NaN / +inf / -inf at random places (a whole NaN tail in row 0).

  Returns (values for jaxsched, values for the reference where each
  non-finite value is ``replacement``, the mask of non-finite places).
  """
  mask = rng.random(rows.shape) < 0.15
  mask[0, rows.shape[1] // 2 :] = True
  bad = rng.choice(np.asarray([np.nan, np.inf, -np.inf], np.float32), size=rows.shape)
  bad[0] = np.nan
  return np.where(mask, bad, rows), np.where(mask, np.float32(replacement), rows), mask


@pytest.mark.parametrize("mode", ["min", "max"])
def test_reduce_on_plateau_non_finite_is_a_bad_observation(mode):
  cfg = dict(
    mode=mode,
    threshold_mode="rel",
    threshold=1e-2,
    patience=2,
    cooldown=1,
    factor=0.5,
    min_scale=0.0,
  )
  rng = np.random.default_rng(11)
  rows, _, _ = _reference_batch(lambda: TorchPlateau(**cfg), _rows(rng, T_PLATEAU, BATCH, mode))
  # +inf (min) or -inf (max) never improves in torch: the "value that doesn't improve".
  worst = np.inf if mode == "min" else -np.inf
  values, replaced, mask = _with_non_finite(rng, rows, replacement=worst)
  fed, want, refs = _reference_batch(lambda: TorchPlateau(**cfg), replaced)
  values = np.where(mask, values, fed)  # in case a finite value was nudged
  got, states = _run(jaxsched.reduce_on_plateau, values, **cfg)
  assert np.isfinite(got).all()
  _assert_scales(got, want, what=f"reduce_on_plateau({cfg}) with NaN/inf vs torch", values=values)
  # A non-finite value is never the best: the best is torch's on the replaced run.
  np.testing.assert_array_equal(states.plateau_best, np.stack([r.bests for r in refs]))
  assert not np.isnan(states.plateau_best).any()
  # The diverging (NaN-tailed) row keeps decaying.
  half = T_PLATEAU // 2
  assert got[0, -1] < got[0, half - 1], got[0]


def test_adaptive_step_decay_non_finite_is_a_stale_observation():
  cfg = dict(decay_factor=0.5, patience=2, min_improvement=1e-3, cooldown=1)
  rng = np.random.default_rng(12)
  rows, _, _ = _reference_batch(lambda: SeedAdaptiveStepDecay(**cfg), _rows(rng, T_PLATEAU, BATCH))
  values, replaced, mask = _with_non_finite(rng, rows, replacement=np.inf)
  fed, want, refs = _reference_batch(lambda: SeedAdaptiveStepDecay(**cfg), replaced)
  values = np.where(mask, values, fed)  # in case a finite value was nudged
  got, states = _run(jaxsched.adaptive_step_decay, values, **cfg)
  assert np.isfinite(got).all()
  _assert_scales(got, want, what=f"adaptive_step_decay({cfg}) with NaN/inf vs seed", values=values)
  # A non-finite value is never the best (inf only until the first finite value).
  np.testing.assert_array_equal(states.step_decay_best, np.stack([r.bests for r in refs]))
  assert not np.isnan(states.step_decay_best).any()
  assert (states.step_decay_best > -np.inf).all()
  half = T_PLATEAU // 2
  assert got[0, -1] < got[0, half - 1], got[0]


def test_phase_transition_skips_non_finite_like_observe_false():
  cfg = dict(
    detection_window=10,
    cv_window=5,
    cv_threshold=0.1,
    boost_factor=2.0,
    boost_steps=5,
    decay_rate=0.8,
    statistic="seed",
  )
  rng = np.random.default_rng(13)
  rows = _phase_rows(rng, T_PHASE, BATCH)
  mask = rng.random(rows.shape) < 0.15
  mask[0, T_PHASE // 2 :] = True
  # The reference sees only the finite values (nudged away from ties).
  kept = [row[~m] for row, m in zip(rows, mask)]
  refs = [SeedPhaseTransition(**cfg) for _ in kept]
  fed = [_reference(ref, row) for ref, row in zip(refs, kept)]
  values = rows.copy()
  for b in range(BATCH):
    values[b, ~mask[b]] = fed[b][0]
  bad = rng.choice(np.asarray([np.nan, np.inf, -np.inf], np.float32), size=rows.shape)
  with_nan = np.where(mask, bad, values)
  got, states = _run(jaxsched.phase_transition, with_nan, **cfg)
  skipped, skipped_states = _run(
    jaxsched.phase_transition, np.where(mask, 0.0, values), ~mask, **cfg
  )
  assert np.isfinite(got).all() and np.isfinite(states.transition_history).all()
  want = np.stack([_lrs_after(f[1], np.cumsum(~m)) for f, m in zip(fed, mask)])
  _assert_scales(
    got, want, what="phase_transition with NaN/inf vs seed on the finite values", values=with_nan
  )
  chex.assert_trees_all_equal(states, skipped_states)
  chex.assert_trees_all_equal(got, skipped)
  assert (want != 1).any()


# ---------------------------------------------------------------------------
# 7. chex checks: shapes, dtypes, current_scale, current_learning_rate.
# ---------------------------------------------------------------------------

_FIELDS = {
  jaxsched.reduce_on_plateau: {
    "plateau_scale": ((), jnp.float32),
    "plateau_best": ((), jnp.float32),
    "plateau_bad_count": ((), jnp.int32),
    "plateau_cooldown_count": ((), jnp.int32),
    "plateau_accumulated_value": ((), jnp.float32),
    "plateau_accumulated_count": ((), jnp.int32),
  },
  jaxsched.adaptive_step_decay: {
    "step_decay_scale": ((), jnp.float32),
    "step_decay_best": ((), jnp.float32),
    "step_decay_wait": ((), jnp.int32),
    "step_decay_cooldown": ((), jnp.int32),
  },
  jaxsched.phase_transition: {
    "transition_scale": ((), jnp.float32),
    "transition_history": ((7,), jnp.float32),
    "transition_position": ((), jnp.int32),
    "transition_filled": ((), jnp.int32),
    "transition_active": ((), jnp.bool_),
    "transition_timer": ((), jnp.int32),
  },
}
_SMALL = {
  jaxsched.reduce_on_plateau: dict(patience=1, accumulation_size=2),
  jaxsched.adaptive_step_decay: dict(patience=1, cooldown=1),
  jaxsched.phase_transition: dict(detection_window=7, cv_window=3, boost_steps=1),
}
_FACTORIES = list(_FIELDS)
_FACTORY_IDS = [f.__name__ for f in _FACTORIES]


def _assert_fields(state, fields):
  assert set(state._fields) == set(fields), state._fields
  for name, (shape, dtype) in fields.items():
    chex.assert_shape(getattr(state, name), shape)
    chex.assert_type(getattr(state, name), dtype)


@pytest.mark.parametrize("factory", _FACTORIES, ids=_FACTORY_IDS)
def test_state_fields_shapes_and_dtypes(factory):
  tx = factory(**_SMALL[factory])
  params = {"w": jnp.zeros((2, 3), jnp.bfloat16), "b": jnp.zeros((), jnp.float32)}
  state = tx.init(params)
  _assert_fields(state, _FIELDS[factory])
  ones = jax.tree.map(jnp.ones_like, params)
  for value, observe in [
    (3, True),
    (2.5, True),
    (np.float16(1.5), True),
    (jnp.float32(0.0), False),
    (float("nan"), True),
    (jnp.inf, True),
    (1, jnp.asarray(True)),
  ]:
    updates, state = tx.update(ones, state, params, value=value, observe=observe)
    _assert_fields(state, _FIELDS[factory])
    chex.assert_trees_all_equal_dtypes(updates, params)
    chex.assert_trees_all_equal_shapes(updates, params)
    chex.assert_tree_all_finite(updates)
  # Jitted too.
  updates, state = jax.jit(tx.update)(ones, state, params, value=1.0, observe=True)
  _assert_fields(state, _FIELDS[factory])


@pytest.mark.parametrize("factory", _FACTORIES, ids=_FACTORY_IDS)
@pytest.mark.parametrize(
  "bad",
  [
    dict(value=jnp.ones((3,))),
    dict(value=jnp.ones((1,))),
    dict(value=np.ones((2, 2))),
    dict(value=1.0, observe=jnp.ones((2,), bool)),
  ],
)
def test_update_rejects_non_scalar_value_or_observe(factory, bad):
  tx = factory(**_SMALL[factory])
  state = tx.init(jnp.zeros(()))
  with pytest.raises(AssertionError):
    tx.update(jnp.ones(()), state, **bad)
  with pytest.raises(AssertionError):
    jax.jit(functools.partial(tx.update, **bad))(jnp.ones(()), state)


def test_state_field_names_are_unique_in_a_chain():
  tx = optax.chain(*(f(**_SMALL[f]) for f in _FACTORIES))
  state = tx.init(jnp.zeros(()))
  for fields in _FIELDS.values():
    for name in fields:
      assert len(optax.tree.get_all_with_path(state, name)) == 1, name


_CHAIN_VALUES = [1.0, 3.0, 1.0, 3.0, 1.0]
_CHAIN_PLATEAU = dict(factor=0.5, patience=0)
_CHAIN_PHASE = dict(detection_window=4, cv_window=4, boost_steps=10, statistic="cv")


def _chain_reference_scales():
  """Expected plateau and phase scales after each of _CHAIN_VALUES."""
  _, plateau, _ = _reference_batch(lambda: TorchPlateau(**_CHAIN_PLATEAU), [_CHAIN_VALUES])
  _, phase, _ = _reference_batch(lambda: SeedPhaseTransition(**_CHAIN_PHASE), [_CHAIN_VALUES])
  return plateau[0], phase[0]


def test_current_scale_is_the_product_of_the_scales_in_a_chain():
  tx = optax.chain(
    optax.adam(1e-3),
    jaxsched.reduce_on_plateau(**_CHAIN_PLATEAU),
    jaxsched.phase_transition(**_CHAIN_PHASE),
  )
  params = {"w": jnp.zeros((3,))}
  state = tx.init(params)
  chex.assert_trees_all_close(jaxsched.current_scale(state), jnp.float32(1.0))
  plateau, phase = _chain_reference_scales()
  assert phase[-1] == 2.0 and plateau[-1] < 1.0  # both moved
  grads = {"w": jnp.ones((3,))}
  for t, v in enumerate(_CHAIN_VALUES):
    _, state = tx.update(grads, state, params, value=v)
    product = optax.tree.get(state, "plateau_scale") * optax.tree.get(state, "transition_scale")
    scale = jaxsched.current_scale(state)
    chex.assert_shape(scale, ())
    chex.assert_type(scale, jnp.float32)
    chex.assert_trees_all_close(scale, product)
    _assert_scales(scale, plateau[t] * phase[t], what=f"current_scale after {t + 1} updates")
  assert float(jaxsched.current_scale(optax.adam(1e-3).init(params))) == 1.0


def test_current_learning_rate_number_schedule_and_inject_hyperparams():
  params = {"w": jnp.zeros((3,))}
  grads = {"w": jnp.ones((3,))}
  plateau, phase = _chain_reference_scales()
  schedule = optax.exponential_decay(1e-2, transition_steps=1, decay_rate=0.9)
  tx = optax.chain(
    optax.adam(schedule),
    jaxsched.reduce_on_plateau(**_CHAIN_PLATEAU),
    jaxsched.phase_transition(**_CHAIN_PHASE),
  )
  injected = optax.chain(
    optax.inject_hyperparams(optax.adam)(learning_rate=3e-3),
    jaxsched.reduce_on_plateau(**_CHAIN_PLATEAU),
  )
  state, injected_state = tx.init(params), injected.init(params)
  with pytest.raises(ValueError, match="learning_rate"):
    jaxsched.current_learning_rate(state)
  for t, v in enumerate(_CHAIN_VALUES):
    _, state = tx.update(grads, state, params, value=v)
    _, injected_state = injected.update(grads, injected_state, params, value=v)
    scale = plateau[t] * phase[t]
    _assert_scales(jaxsched.current_learning_rate(state, 1e-3), 1e-3 * scale, what="number")
    # A schedule is evaluated at the count of updates applied so far (t + 1).
    _assert_scales(
      jaxsched.current_learning_rate(state, schedule),
      1e-2 * 0.9 ** (t + 1) * scale,
      what="schedule",
    )
    _assert_scales(
      jaxsched.current_learning_rate(injected_state), 3e-3 * plateau[t], what="inject_hyperparams"
    )
    _assert_scales(
      jaxsched.current_learning_rate(injected_state, 0.5),
      0.5 * plateau[t],
      what="number over inject_hyperparams",
    )


# ---------------------------------------------------------------------------
# 8. Bad hyperparameters.
# ---------------------------------------------------------------------------

_BAD = [
  (jaxsched.reduce_on_plateau, "factor", [0.0, 1.0, 1.5, -0.1, float("nan")]),
  (jaxsched.reduce_on_plateau, "patience", [-1, 1.5]),
  (jaxsched.reduce_on_plateau, "threshold", [-1e-4, float("inf")]),
  (jaxsched.reduce_on_plateau, "threshold_mode", ["relative", "ABS"]),
  (jaxsched.reduce_on_plateau, "cooldown", [-1]),
  (jaxsched.reduce_on_plateau, "min_scale", [-0.1, 1.5]),
  (jaxsched.reduce_on_plateau, "mode", ["minimize", "Max"]),
  (jaxsched.reduce_on_plateau, "eps", [-1e-8]),
  (jaxsched.reduce_on_plateau, "accumulation_size", [0, -2, 2.5]),
  (jaxsched.adaptive_step_decay, "decay_factor", [0.0, 1.5, -0.5]),
  (jaxsched.adaptive_step_decay, "patience", [-1, 0.5]),
  (jaxsched.adaptive_step_decay, "min_improvement", [-1e-3]),
  (jaxsched.adaptive_step_decay, "cooldown", [-1]),
  (jaxsched.phase_transition, "detection_window", [1, 0, -5]),
  (jaxsched.phase_transition, "cv_window", [1, 101]),
  (jaxsched.phase_transition, "cv_threshold", [-0.1]),
  (jaxsched.phase_transition, "boost_factor", [0.5, 0.0]),
  (jaxsched.phase_transition, "boost_steps", [-1]),
  (jaxsched.phase_transition, "decay_rate", [0.0, 1.0, 1.5]),
  (jaxsched.phase_transition, "statistic", ["var", "CV"]),
]


@pytest.mark.parametrize(
  "factory,arg,value",
  [(f, a, v) for f, a, vs in _BAD for v in vs],
  ids=lambda x: getattr(x, "__name__", repr(x)),
)
def test_bad_hyperparameters_raise_value_error_naming_the_argument(factory, arg, value):
  with pytest.raises(ValueError, match=rf"{factory.__name__}: {arg}="):
    factory(**{arg: value})


def test_cv_window_larger_than_detection_window_names_both():
  with pytest.raises(ValueError, match=r"phase_transition: cv_window=30 .*detection_window=20"):
    jaxsched.phase_transition(detection_window=20, cv_window=30)


@pytest.mark.parametrize(
  "factory,kwargs",
  [
    (
      jaxsched.reduce_on_plateau,
      dict(
        factor=0.999,
        patience=0,
        threshold=0.0,
        cooldown=0,
        min_scale=1.0,
        eps=0.0,
        accumulation_size=1,
      ),
    ),
    (
      jaxsched.reduce_on_plateau,
      dict(factor=1e-6, min_scale=0.0, mode="max", threshold_mode="abs"),
    ),
    (
      jaxsched.adaptive_step_decay,
      dict(decay_factor=1.0, patience=0, min_improvement=0.0, cooldown=0),
    ),
    (
      jaxsched.phase_transition,
      dict(
        detection_window=2,
        cv_window=2,
        cv_threshold=0.0,
        boost_factor=1.0,
        boost_steps=0,
        decay_rate=0.5,
      ),
    ),
    (jaxsched.phase_transition, dict(detection_window=20, cv_window=20, statistic="cv")),
  ],
  ids=lambda x: getattr(x, "__name__", ""),
)
def test_boundary_hyperparameters_are_accepted(factory, kwargs):
  tx = factory(**kwargs)
  updates, _ = tx.update(jnp.ones(()), tx.init(jnp.zeros(())), value=1.0)
  chex.assert_tree_all_finite(updates)


# ---------------------------------------------------------------------------
# 9. A real training loop.
# ---------------------------------------------------------------------------


def test_training_with_adam_reduces_the_scale_once_the_loss_plateaus():
  rng = np.random.default_rng(0)
  x = rng.normal(size=(64, 3)).astype(np.float32)
  y = (x @ np.asarray([1.5, -2.0, 0.5]) + 0.7 + 0.3 * rng.normal(size=64)).astype(np.float32)
  design = np.concatenate([x, np.ones((64, 1))], axis=1).astype(np.float64)
  residual = y - design @ np.linalg.lstsq(design, y.astype(np.float64), rcond=None)[0]
  best_loss = float(np.mean(residual**2))

  tx = optax.chain(optax.adam(1e-2), jaxsched.reduce_on_plateau(factor=0.5, patience=10))

  def loss_fn(params):
    return jnp.mean((x @ params["w"] + params["b"] - y) ** 2)

  @jax.jit
  def train_step(params, opt_state):
    loss, grads = jax.value_and_grad(loss_fn)(params)
    updates, opt_state = tx.update(grads, opt_state, params, value=loss)
    return optax.apply_updates(params, updates), opt_state, loss

  params = {"w": jnp.zeros((3,), jnp.float32), "b": jnp.zeros((), jnp.float32)}
  opt_state = tx.init(params)
  losses, scales = [], []
  for _ in range(1500):
    params, opt_state, loss = train_step(params, opt_state)
    losses.append(float(loss))
    scales.append(float(jaxsched.current_scale(opt_state)))
  losses, scales = np.asarray(losses), np.asarray(scales)
  chex.assert_tree_all_finite(params)
  first_drop = int(np.argmax(scales < 1.0))
  assert scales[-1] < 1.0, "the scale never dropped"
  # While the loss still improves fast, nothing is reduced.
  assert (np.diff(losses[:200]) < 0).all() and (scales[:200] == 1.0).all()
  # The first reduction comes once the loss has flattened: it had stopped
  # improving by more than 1e-4 relative for more than `patience` steps.
  recent = losses[first_drop - 10 : first_drop + 1]
  assert recent.min() > losses[: first_drop - 10].min() * (1 - 1e-4), (first_drop, recent)
  assert losses[first_drop] < 1.05 * best_loss, (first_drop, losses[first_drop], best_loss)
  assert losses[-1] < 1.001 * best_loss
  # Each reduction halves the scale.
  assert set(np.round(np.log2(np.unique(scales)), 6)) <= set(-np.arange(40.0))
