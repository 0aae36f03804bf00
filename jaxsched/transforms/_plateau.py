"""Adaptive schedules: loss-driven state machines as Optax transformations.

Each transformation multiplies the incoming updates by a scale held in its
state and takes the observed metric as ``value=`` in ``update``, like
``optax.contrib.reduce_on_plateau``, so it chains after any optimizer:
``optax.chain(optax.adamw(1e-3), jaxsched.reduce_on_plateau())``.

Timing: after the transformation has been given values ``v_0 .. v_t`` (one per
``update`` call), the scale applied to that same update equals PyTorch's (or
the seed's) ``lr / base_lr`` after ``scheduler.step(v_0) .. step(v_t)``.

Feeding the metric only on some updates: every ``update`` also takes a boolean
``observe`` (default True). When it is False the state does not move, the
current scale is applied, and ``value`` is ignored (pass anything finite, e.g.
``0.0``). Pass ``observe=(count % 100 == 0)`` from a jitted loop: a traced
boolean, no Python branch, no recompilation.

Non-finite metrics: NaN or inf never reaches the scale. Plateau-style
transformations count a non-finite value as an observation without
improvement (it never becomes the best value), so a diverging run still
decays; :func:`phase_transition` skips it as if ``observe`` were False.
"""

from typing import NamedTuple

import chex
import jax
import jax.numpy as jnp
import optax

from jaxsched import _common as c
from jaxsched.transforms import _observe

STATISTICS = ("seed", "cv")


class ReduceOnPlateauState(NamedTuple):
  """State of :func:`reduce_on_plateau`. Field names are a checkpoint format."""

  plateau_scale: jax.Array  # shape=(), dtype=float32
  plateau_best: jax.Array  # shape=(), dtype=float32
  plateau_bad_count: jax.Array  # shape=(), dtype=int32
  plateau_cooldown_count: jax.Array  # shape=(), dtype=int32
  plateau_accumulated_value: jax.Array  # shape=(), dtype=float32
  plateau_accumulated_count: jax.Array  # shape=(), dtype=int32


def reduce_on_plateau(
  factor: float = 0.1,
  patience: int = 10,
  threshold: float = 1e-4,
  threshold_mode: str = "rel",
  cooldown: int = 0,
  min_scale: float = 0.0,
  mode: str = "min",
  eps: float = 1e-8,
  accumulation_size: int = 1,
) -> optax.GradientTransformationExtraArgs:
  """Scales updates down by ``factor`` when the metric stops improving.

  An observation ``v`` improves on the best ``b`` when

  .. math::
    \\begin{cases}
      v < b (1 - \\theta) & \\text{min, rel} \\qquad v < b - \\theta \\quad \\text{min, abs} \\\\
      v > b (1 + \\theta) & \\text{max, rel} \\qquad v > b + \\theta \\quad \\text{max, abs}
    \\end{cases}

  After more than ``patience`` observations without improvement (outside a
  cooldown) the scale becomes ``max(scale * factor, min_scale)``, if that
  lowers it by more than ``eps``, and a cooldown of ``cooldown`` observations
  starts.

  PyTorch: ``ReduceLROnPlateau(optimizer, mode, factor, patience, threshold,
  threshold_mode, cooldown, min_lr=base_lr * min_scale, eps=eps * base_lr)``,
  step for step, ``patience=0`` included. ``optax.contrib.reduce_on_plateau``
  differs: it reduces one observation earlier (at ``patience`` bad
  observations, not ``patience + 1``), has no max mode nor eps, and with
  ``patience=0`` also fires on improving steps.

  With ``accumulation_size = k > 1`` the mean of ``k`` consecutive observed
  values counts as one observation. See the module docstring for ``observe``
  and for non-finite values (here: an observation without improvement).

  Args:
    factor: multiplier applied at each reduction, in (0, 1).
    patience: observations without improvement tolerated, >= 0.
    threshold: the improvement margin ``theta``, >= 0.
    threshold_mode: "rel" or "abs".
    cooldown: observations to wait after a reduction, >= 0.
    min_scale: floor of the scale, in [0, 1].
    mode: "min" (lower is better) or "max".
    eps: smallest change of the scale that is applied, >= 0 (PyTorch's eps
      divided by the base learning rate).
    accumulation_size: values averaged into one observation, >= 1.

  Returns:
    An ``optax.GradientTransformationExtraArgs``; ``update`` takes
    ``value=`` (a scalar metric) and optionally ``observe=``.

  Examples:
    >>> import jax.numpy as jnp, jaxsched
    >>> tx = jaxsched.reduce_on_plateau(factor=0.5, patience=1)
    >>> state = tx.init(jnp.zeros(2))
    >>> for loss in [1.0, 1.0, 1.0]:
    ...   updates, state = tx.update(jnp.ones(2), state, value=loss)
    >>> updates.tolist()
    [0.5, 0.5]
  """
  fn = "reduce_on_plateau"
  c.check_real(fn, "factor", factor, low=0.0, high=1.0, low_open=True, high_open=True)
  c.check_steps(fn, "patience", patience, noun="observations")
  c.check_real(fn, "threshold", threshold, low=0.0)
  c.check_choice(fn, "threshold_mode", threshold_mode, _observe.THRESHOLD_MODES)
  c.check_steps(fn, "cooldown", cooldown, noun="observations")
  c.check_real(fn, "min_scale", min_scale, low=0.0, high=1.0)
  c.check_choice(fn, "mode", mode, _observe.MODES)
  c.check_real(fn, "eps", eps, low=0.0)
  c.check_steps(fn, "accumulation_size", accumulation_size, minimum=1, noun="values")
  sign = 1.0 if mode == "min" else -1.0

  def init_fn(params):
    del params
    return ReduceOnPlateauState(
      plateau_scale=jnp.ones((), jnp.float32),
      plateau_best=jnp.asarray(sign * jnp.inf, jnp.float32),
      plateau_bad_count=jnp.zeros((), jnp.int32),
      plateau_cooldown_count=jnp.zeros((), jnp.int32),
      plateau_accumulated_value=jnp.zeros((), jnp.float32),
      plateau_accumulated_count=jnp.zeros((), jnp.int32),
    )

  def observe_fn(state, v):
    better = jnp.isfinite(v) & _observe.improves(
      v, state.plateau_best, mode, threshold, threshold_mode
    )
    best = jnp.where(better, v, state.plateau_best)
    bad = jnp.where(better, 0, optax.safe_increment(state.plateau_bad_count))
    in_cooldown = state.plateau_cooldown_count > 0
    cool = jnp.where(in_cooldown, state.plateau_cooldown_count - 1, state.plateau_cooldown_count)
    bad = jnp.where(in_cooldown, 0, bad)
    reduce = bad > patience
    lowered = jnp.maximum(state.plateau_scale * factor, min_scale)
    scale = jnp.where(reduce & (state.plateau_scale - lowered > eps), lowered, state.plateau_scale)
    return state._replace(
      plateau_scale=scale.astype(jnp.float32),
      plateau_best=best,
      plateau_bad_count=jnp.where(reduce, 0, bad).astype(jnp.int32),
      plateau_cooldown_count=jnp.where(reduce, cooldown, cool).astype(jnp.int32),
    )

  def update_fn(updates, state, params=None, *, value, observe=True, **extra_args):
    del params, extra_args
    chex.assert_shape(state.plateau_scale, ())
    v, observe = _observe.metric(value, observe)
    total = state.plateau_accumulated_value + v
    n = state.plateau_accumulated_count + 1
    complete = n >= accumulation_size
    accumulated = state._replace(
      plateau_accumulated_value=jnp.where(complete, 0.0, total).astype(jnp.float32),
      plateau_accumulated_count=jnp.where(complete, 0, n).astype(jnp.int32),
    )
    observed = observe_fn(accumulated, total / accumulation_size)
    new_state = _observe.select(observe, _observe.select(complete, observed, accumulated), state)
    return _observe.apply_scale(updates, new_state.plateau_scale), new_state

  return optax.GradientTransformationExtraArgs(init_fn, update_fn)


class AdaptiveStepDecayState(NamedTuple):
  """State of :func:`adaptive_step_decay`. Field names are a checkpoint format."""

  step_decay_scale: jax.Array  # shape=(), dtype=float32
  step_decay_best: jax.Array  # shape=(), dtype=float32
  step_decay_wait: jax.Array  # shape=(), dtype=int32
  step_decay_cooldown: jax.Array  # shape=(), dtype=int32


def adaptive_step_decay(
  decay_factor: float = 0.1,
  patience: int = 1000,
  min_improvement: float = 1e-4,
  cooldown: int = 500,
) -> optax.GradientTransformationExtraArgs:
  """Seed 000's adaptive step decay: decay after ``patience`` stale observations.

  For each observation ``v`` outside a cooldown: ``v < best - min_improvement``
  makes ``v`` the best and resets the wait, otherwise the wait grows; when the
  wait reaches ``patience`` the scale is multiplied by ``decay_factor``, the
  wait resets and ``cooldown`` observations are skipped (only counted down).

  .. math:: s \\leftarrow s \\cdot \\gamma \\quad \\text{when } w \\ge P

  Seed 000: ``AdaptiveStepDecay(optimizer, decay_factor, patience,
  min_improvement, cooldown)``. Compared with :func:`reduce_on_plateau`, the
  threshold is absolute, the reduction comes at ``patience`` (not
  ``patience + 1``) stale observations, observations during the cooldown are
  not compared at all, and there is no floor. Non-finite values count as
  observations without improvement (in the seed NaN does so by accident, and
  ``-inf`` would become a best value that nothing beats).

  Args:
    decay_factor: multiplier at each decay, in (0, 1].
    patience: stale observations before a decay, >= 0.
    min_improvement: absolute improvement needed, >= 0.
    cooldown: observations skipped after a decay, >= 0.

  Returns:
    An ``optax.GradientTransformationExtraArgs``; ``update`` takes ``value=``
    and optionally ``observe=`` (see the module docstring).

  Examples:
    >>> import jax.numpy as jnp, jaxsched
    >>> tx = jaxsched.adaptive_step_decay(decay_factor=0.5, patience=2, cooldown=0)
    >>> state = tx.init(jnp.zeros(()))
    >>> for loss in [1.0, 1.0, 1.0]:
    ...   updates, state = tx.update(jnp.ones(()), state, value=loss)
    >>> float(updates)
    0.5
  """
  fn = "adaptive_step_decay"
  c.check_real(fn, "decay_factor", decay_factor, low=0.0, high=1.0, low_open=True)
  c.check_steps(fn, "patience", patience, noun="observations")
  c.check_real(fn, "min_improvement", min_improvement, low=0.0)
  c.check_steps(fn, "cooldown", cooldown, noun="observations")

  def init_fn(params):
    del params
    return AdaptiveStepDecayState(
      step_decay_scale=jnp.ones((), jnp.float32),
      step_decay_best=jnp.asarray(jnp.inf, jnp.float32),
      step_decay_wait=jnp.zeros((), jnp.int32),
      step_decay_cooldown=jnp.zeros((), jnp.int32),
    )

  def observe_fn(state, v):
    improved = jnp.isfinite(v) & (v < state.step_decay_best - min_improvement)
    wait = jnp.where(improved, 0, optax.safe_increment(state.step_decay_wait))
    decay = wait >= patience
    compared = AdaptiveStepDecayState(
      step_decay_scale=jnp.where(
        decay, state.step_decay_scale * decay_factor, state.step_decay_scale
      ).astype(jnp.float32),
      step_decay_best=jnp.where(improved, v, state.step_decay_best),
      step_decay_wait=jnp.where(decay, 0, wait).astype(jnp.int32),
      step_decay_cooldown=jnp.where(decay, cooldown, 0).astype(jnp.int32),
    )
    cooling = state._replace(step_decay_cooldown=state.step_decay_cooldown - 1)
    return _observe.select(state.step_decay_cooldown > 0, cooling, compared)

  def update_fn(updates, state, params=None, *, value, observe=True, **extra_args):
    del params, extra_args
    chex.assert_shape(state.step_decay_scale, ())
    v, observe = _observe.metric(value, observe)
    new_state = _observe.select(observe, observe_fn(state, v), state)
    return _observe.apply_scale(updates, new_state.step_decay_scale), new_state

  return optax.GradientTransformationExtraArgs(init_fn, update_fn)


class PhaseTransitionState(NamedTuple):
  """State of :func:`phase_transition`. Field names are a checkpoint format."""

  transition_scale: jax.Array  # shape=(), dtype=float32
  transition_history: jax.Array  # shape=(detection_window,), dtype=float32
  transition_position: jax.Array  # shape=(), dtype=int32; next slot to write
  transition_filled: jax.Array  # shape=(), dtype=int32; values held, <= window
  transition_active: jax.Array  # shape=(), dtype=bool
  transition_timer: jax.Array  # shape=(), dtype=int32


def phase_transition(
  detection_window: int = 100,
  cv_window: int = 20,
  cv_threshold: float = 0.1,
  boost_factor: float = 2.0,
  boost_steps: int = 50,
  decay_rate: float = 0.95,
  statistic: str = "seed",
) -> optax.GradientTransformationExtraArgs:
  """Seed 000's phase-transition boost: raise the LR while the loss is unsettled.

  Once ``detection_window`` values have been observed, the last ``cv_window``
  of them give the statistic

  .. math::
    D = \\frac{\\operatorname{Var}(x)}{\\bar x + 10^{-8}} \\;(\\text{"seed"}), \\qquad
    D = \\frac{\\operatorname{Std}(x)}{|\\bar x| + 10^{-8}} \\;(\\text{"cv"})

  (population variance). When ``D > cv_threshold`` outside a transition, the
  scale jumps to ``boost_factor`` and a transition starts; it holds for
  ``boost_steps`` further observations, then shrinks by ``decay_rate`` per
  observation until it is back at 1, which ends the transition.

  Seed 000: ``PhaseTransitionScheduler(optimizer, detection_window,
  transition_lr_boost)`` with its hard-coded 20-value window, 0.1 threshold,
  50-step hold and 0.95 decay as defaults here. The seed calls its statistic
  a coefficient of variation, but variance over mean is the index of
  dispersion (it scales with the loss); it stays the default for parity, and
  ``statistic="cv"`` gives the true, scale-free coefficient of variation. The
  seed checks the end of the transition on its last parameter group only;
  here the one scale ends it. Non-finite values are skipped (not added to the
  window), as if ``observe`` were False.

  Args:
    detection_window: values needed before detection starts, >= 2.
    cv_window: values the statistic is computed on, in [2, detection_window].
    cv_threshold: detection threshold, >= 0.
    boost_factor: scale during the transition, >= 1.
    boost_steps: observations the boost is held, >= 0.
    decay_rate: per-observation return towards 1, in (0, 1).
    statistic: "seed" (variance / mean) or "cv" (``std / |mean|``).

  Returns:
    An ``optax.GradientTransformationExtraArgs``; ``update`` takes ``value=``
    and optionally ``observe=`` (see the module docstring).

  Examples:
    >>> import jax.numpy as jnp, jaxsched
    >>> tx = jaxsched.phase_transition(detection_window=4, cv_window=4, boost_steps=1)
    >>> state = tx.init(jnp.zeros(()))
    >>> for loss in [1.0, 3.0, 1.0, 3.0]:
    ...   updates, state = tx.update(jnp.ones(()), state, value=loss)
    >>> float(updates)
    2.0
  """
  fn = "phase_transition"
  c.check_steps(fn, "detection_window", detection_window, minimum=2, noun="values")
  c.check_steps(fn, "cv_window", cv_window, minimum=2, noun="values")
  c.check_order(fn, "cv_window", cv_window, "detection_window", detection_window)
  c.check_real(fn, "cv_threshold", cv_threshold, low=0.0)
  c.check_real(fn, "boost_factor", boost_factor, low=1.0)
  c.check_steps(fn, "boost_steps", boost_steps, noun="observations")
  c.check_real(fn, "decay_rate", decay_rate, low=0.0, high=1.0, low_open=True, high_open=True)
  c.check_choice(fn, "statistic", statistic, STATISTICS)
  window, recent = int(detection_window), int(cv_window)

  def init_fn(params):
    del params
    return PhaseTransitionState(
      transition_scale=jnp.ones((), jnp.float32),
      transition_history=jnp.zeros((window,), jnp.float32),
      transition_position=jnp.zeros((), jnp.int32),
      transition_filled=jnp.zeros((), jnp.int32),
      transition_active=jnp.zeros((), bool),
      transition_timer=jnp.zeros((), jnp.int32),
    )

  def dispersion(history, position):
    age = (position - 1 - jnp.arange(window)) % window  # 0 for the newest value
    mask = age < recent
    mean = jnp.sum(jnp.where(mask, history, 0.0)) / recent
    var = jnp.sum(jnp.where(mask, (history - mean) ** 2, 0.0)) / recent
    if statistic == "seed":
      return var / (mean + 1e-8)
    return jnp.sqrt(var) / (jnp.abs(mean) + 1e-8)

  def observe_fn(state, v):
    history = state.transition_history.at[state.transition_position].set(v)
    position = (state.transition_position + 1) % window
    filled = jnp.minimum(state.transition_filled + 1, window)
    detected = (filled >= window) & (dispersion(history, position) > cv_threshold)
    active = state.transition_active
    start = detected & ~active
    timer = jnp.where(
      start,
      0,
      jnp.where(active, optax.safe_increment(state.transition_timer), state.transition_timer),
    )
    decaying = ~start & active & (timer > boost_steps)
    shrunk = state.transition_scale * decay_rate
    ends = decaying & (shrunk <= 1.0)
    scale = jnp.where(
      start, boost_factor, jnp.where(decaying, jnp.where(ends, 1.0, shrunk), state.transition_scale)
    )
    return PhaseTransitionState(
      transition_scale=scale.astype(jnp.float32),
      transition_history=history,
      transition_position=position.astype(jnp.int32),
      transition_filled=filled,
      transition_active=(start | active) & ~ends,
      transition_timer=timer.astype(jnp.int32),
    )

  def update_fn(updates, state, params=None, *, value, observe=True, **extra_args):
    del params, extra_args
    chex.assert_shape(state.transition_history, (window,))
    v, observe = _observe.metric(value, observe)
    new_state = _observe.select(observe & jnp.isfinite(v), observe_fn(state, v), state)
    return _observe.apply_scale(updates, new_state.transition_scale), new_state

  return optax.GradientTransformationExtraArgs(init_fn, update_fn)
