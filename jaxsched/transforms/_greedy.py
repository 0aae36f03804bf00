"""GreedyLR: a metric-driven learning rate that both falls and rises.

:func:`greedy_lr` is transformers' ``GreedyLR`` as an Optax transformation in
the style of :func:`jaxsched.reduce_on_plateau`: it multiplies the incoming
updates by ``lr / base_lr`` and takes the observed metric as ``value=`` in
``update``, with the same timing, the same ``observe=`` flag and the same
handling of non-finite metrics (see ``jaxsched/transforms/_plateau.py``).
"""

from typing import NamedTuple

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.typing import ArrayLike

from jaxsched import _common as c
from jaxsched.transforms import _observe


class GreedyLRState(NamedTuple):
  """State of :func:`greedy_lr`. Field names are a checkpoint format.

  The learning rate is ``greedy_anchor_lr * factor ** -greedy_exponent``:
  recomputed from an exact count of the rises and falls since it was last
  set to ``base_lr``, ``min_lr`` or ``max_lr``, so float32 rounding does not
  pile up over a long run.
  """

  greedy_scale: jax.Array  # shape=(), dtype=float32; lr / base_lr
  greedy_anchor_lr: jax.Array  # shape=(), dtype=float32; base_lr, min_lr or max_lr
  greedy_exponent: jax.Array  # shape=(), dtype=int32; rises minus falls since the anchor
  greedy_best: jax.Array  # shape=(), dtype=float32
  greedy_good_count: jax.Array  # shape=(), dtype=int32
  greedy_bad_count: jax.Array  # shape=(), dtype=int32
  greedy_cooldown_count: jax.Array  # shape=(), dtype=int32
  greedy_warmup_count: jax.Array  # shape=(), dtype=int32
  greedy_reset_count: jax.Array  # shape=(), dtype=int32; falls at min_lr left before a reset
  greedy_window: jax.Array  # shape=(window_size if smooth else 1,), dtype=float32
  greedy_window_position: jax.Array  # shape=(), dtype=int32; next slot to write
  greedy_window_filled: jax.Array  # shape=(), dtype=int32; values held, <= window_size


def greedy_lr(
  base_lr: ArrayLike,
  mode: str = "min",
  factor: ArrayLike = 0.95,
  patience: int | ArrayLike = 10,
  threshold: ArrayLike = 1e-6,
  threshold_mode: str = "abs",
  cooldown: int | ArrayLike = 0,
  warmup: int | ArrayLike = 0,
  min_lr: ArrayLike = 1e-3,
  max_lr: ArrayLike = 1.0,
  eps: ArrayLike = 1e-8,
  smooth: bool = False,
  window_size: int = 50,
  reset_start: int | ArrayLike = 500,
) -> optax.GradientTransformationExtraArgs:
  """transformers' GreedyLR: raises the LR while the metric improves, lowers it on a plateau.

  Each observed value ``v`` (the mean of the last ``window_size`` values when
  ``smooth``) outside a cooldown or warmup is compared with the best ``b``
  (the improvement test of :func:`jaxsched.reduce_on_plateau`); improving
  observations count as good, the others as bad, and

  .. math::
    \\eta \\leftarrow
    \\begin{cases}
      \\min(\\eta / \\gamma, \\eta_{max}) & \\text{more than } P \\text{ good in a row,
        then a warmup of } W \\\\
      \\max(\\eta \\gamma, \\eta_{min}) & \\text{more than } P \\text{ bad in a row,
        then a cooldown of } C \\\\
      \\eta & \\text{otherwise,}
    \\end{cases}

  with ``gamma = factor``, ``P = patience``, a change kept only when it is
  larger than ``eps``. The observations of a cooldown or warmup are not
  compared (they still enter the smoothing window) and clear both counts.
  Every fall tried while the rate is at (or below) ``min_lr`` counts down
  from ``reset_start``, and a rise restarts the count; when it reaches 0 the
  rate goes back to ``base_lr``, the best value, the counts and the window
  are cleared, and the cooldown that follows a fall still starts.

  The transformation scales updates by ``eta / base_lr``: chain it after an
  optimizer whose learning rate is ``base_lr``
  (``optax.chain(optax.adamw(base_lr), greedy_lr(base_lr))``);
  :func:`jaxsched.current_learning_rate` with ``base_lr`` gives ``eta``.
  After ``update`` has been given ``v_0 .. v_t`` the scale applied to that
  update is ``lr / base_lr`` of a ``GreedyLR`` after ``step(v_0) ..
  step(v_t)``. ``update`` also takes ``observe=`` (see
  ``jaxsched/transforms/_plateau.py``).

  transformers: ``GreedyLR(optimizer, mode, factor, patience, threshold,
  threshold_mode, cooldown, warmup, min_lr, max_lr, eps, smooth=smooth,
  window_size=window_size, reset_start=reset_start)`` on an optimizer with
  ``lr=base_lr``, one param group; also ``get_scheduler("greedy", ...)``.
  Where this differs:

  * A non-finite observation is one without improvement and never becomes
    the best value. transformers makes ``-inf`` (``+inf`` in "max" mode) a
    best value that nothing beats until the next reset.
  * With ``smooth``, a non-finite value makes the window mean non-finite
    (bad observations) only while it is in the window. transformers keeps a
    running sum, which stays NaN from then on, until the next reset.
  * Arguments transformers accepts but cannot run sensibly are errors here
    (``factor <= 0``, negative counts, ``min_lr > max_lr``); ``min_lr`` and
    ``max_lr`` are numbers (one param group), ``verbose`` and ``step``'s
    ``epoch`` (used only in messages) do not exist.
  * The rate is exact at the bounds: after rising from ``min_lr`` and
    falling back as many times it is ``min_lr`` again. transformers
    multiplies in float64 and can land a rounding error above it (e.g.
    0.020000000000000004 for ``min_lr=0.02, factor=0.8`` after 12 rises and
    falls); that fall then does not count towards ``reset_start``, and with
    ``eps > 0`` its rate stays there, so it never resets until the rate
    rises again. Here the reset comes ``reset_start`` falls after the rate
    reaches ``min_lr``, as documented. With a power-of-two ``factor`` both
    are exact and agree.
  * Arithmetic is float32: ``eta`` agrees with transformers' float64 to
    about 1e-6 relative; a metric within float32 rounding of the
    improvement limit may be judged differently.

  ``mode``, ``threshold_mode``, ``smooth`` and ``window_size`` (the window's
  shape) are static; every other argument may be a traced value, e.g. under
  ``jax.vmap`` over hyperparameters (a traced ``factor`` is used as its
  float32 value).

  Args:
    base_lr: the optimizer's learning rate, where the rate starts and goes
      back to on a reset, > 0.
    mode: "min" (lower is better) or "max".
    factor: the fall multiplier ``gamma``; a rise divides by it, in (0, 1).
    patience: good or bad observations in a row tolerated, >= 0.
    threshold: the improvement margin, >= 0.
    threshold_mode: "rel" or "abs".
    cooldown: observations not compared after a fall, >= 0.
    warmup: observations not compared after a rise, >= 0.
    min_lr: the lowest rate a fall gives, absolute, >= 0.
    max_lr: the highest rate a rise gives, absolute, >= min_lr (finite).
    eps: smallest change of the rate that is applied, absolute, >= 0.
    smooth: compare the mean of the last ``window_size`` values.
    window_size: values averaged when ``smooth``, >= 1.
    reset_start: falls tried at ``min_lr`` before a reset, >= 0.

  Returns:
    An ``optax.GradientTransformationExtraArgs``; ``update`` takes ``value=``
    (a scalar metric) and optionally ``observe=``.

  Examples:
    >>> import jax.numpy as jnp
    >>> from jaxsched import greedy_lr
    >>> tx = greedy_lr(0.1, factor=0.5, patience=1)
    >>> state = tx.init(jnp.zeros(2))
    >>> for loss in [3.0, 2.0, 1.0]:
    ...   updates, state = tx.update(jnp.ones(2), state, value=loss)
    >>> updates.tolist()
    [2.0, 2.0]

  References:
    Subramanian et al., `GreedyLR: A Novel Adaptive Learning Rate Scheduler
    <https://arxiv.org/abs/2512.14527>`_.
  """
  fn = "greedy_lr"
  c.check_real(fn, "base_lr", base_lr, low=0.0, low_open=True)
  c.check_choice(fn, "mode", mode, _observe.MODES)
  c.check_real(fn, "factor", factor, low=0.0, high=1.0, low_open=True, high_open=True)
  c.check_steps(fn, "patience", patience, noun="observations")
  c.check_real(fn, "threshold", threshold, low=0.0)
  c.check_choice(fn, "threshold_mode", threshold_mode, _observe.THRESHOLD_MODES)
  c.check_steps(fn, "cooldown", cooldown, noun="observations")
  c.check_steps(fn, "warmup", warmup, noun="observations")
  c.check_real(fn, "min_lr", min_lr, low=0.0)
  c.check_real(fn, "max_lr", max_lr, low=0.0)
  c.check_order(fn, "min_lr", min_lr, "max_lr", max_lr)
  c.check_real(fn, "eps", eps, low=0.0)
  c.check_bool(fn, "smooth", smooth)
  if smooth:
    if c.is_traced(window_size):
      raise ValueError(f"{fn}: window_size sets the shape of the state; it must be a Python int")
    c.check_steps(fn, "window_size", window_size, minimum=1, noun="values")
  c.check_steps(fn, "reset_start", reset_start, noun="falls")
  # Unused without smoothing; one slot, not zero, because Orbax cannot save empty arrays.
  window = int(window_size) if smooth else 1
  sign = 1.0 if mode == "min" else -1.0
  log_factor = c.log_of(factor, jnp.float32)
  # A power-of-two factor scales exactly, in transformers' float64 as here.
  known = c.concrete(factor)
  mantissa, power = np.frexp(float(known)) if known is not None and known.ndim == 0 else (0, 0)
  shift = int(power) - 1 if mantissa == 0.5 else None  # factor == 2 ** shift
  f32 = lambda x: jnp.asarray(x, jnp.float32)
  base, low, high = f32(base_lr), f32(min_lr), f32(max_lr)

  def rate(anchor, exponent):
    if shift is not None:
      return jnp.ldexp(anchor, -exponent * shift)
    return anchor * jnp.exp(-exponent.astype(jnp.float32) * log_factor)

  def init_fn(params):
    del params
    return GreedyLRState(
      greedy_scale=jnp.ones((), jnp.float32),
      greedy_anchor_lr=base,
      greedy_exponent=jnp.zeros((), jnp.int32),
      greedy_best=jnp.asarray(sign * jnp.inf, jnp.float32),
      greedy_good_count=jnp.zeros((), jnp.int32),
      greedy_bad_count=jnp.zeros((), jnp.int32),
      greedy_cooldown_count=jnp.zeros((), jnp.int32),
      greedy_warmup_count=jnp.zeros((), jnp.int32),
      greedy_reset_count=c.as_steps(reset_start),
      greedy_window=jnp.zeros((window,), jnp.float32),
      greedy_window_position=jnp.zeros((), jnp.int32),
      greedy_window_filled=jnp.zeros((), jnp.int32),
    )

  def smoothed(state, v):
    """The mean of the window after ``v`` enters it, and the window's fields."""
    held = state.greedy_window.at[state.greedy_window_position].set(v)
    filled = jnp.minimum(state.greedy_window_filled + 1, window)
    # Until the window is full, slots 0 .. filled - 1 are the ones written.
    mask = jnp.arange(window) < filled
    mean = jnp.sum(jnp.where(mask, held, 0.0)) / filled.astype(jnp.float32)
    fields = dict(
      greedy_window=held,
      greedy_window_position=((state.greedy_window_position + 1) % window).astype(jnp.int32),
      greedy_window_filled=filled.astype(jnp.int32),
    )
    return mean, fields

  def observe_fn(state, v):
    window_fields = {}
    if smooth:
      v, window_fields = smoothed(state, v)
    in_cooldown = state.greedy_cooldown_count > 0
    in_warmup = ~in_cooldown & (state.greedy_warmup_count > 0)
    compared = ~in_cooldown & ~in_warmup
    better = compared & jnp.isfinite(v)
    better &= _observe.improves(v, state.greedy_best, mode, threshold, threshold_mode)
    good = jnp.where(better, optax.safe_increment(state.greedy_good_count), 0)
    bad = jnp.where(compared & ~better, optax.safe_increment(state.greedy_bad_count), 0)
    rise = good > patience
    fall = ~rise & (bad > patience)

    anchor, exponent = state.greedy_anchor_lr, state.greedy_exponent
    old = rate(anchor, exponent)
    up = rate(anchor, exponent + 1)
    up_capped = up >= high
    up_lr = jnp.where(up_capped, high, up)
    down = rate(anchor, exponent - 1)
    down_floored = down <= low
    down_lr = jnp.where(down_floored, low, down)
    rises = rise & (up_lr - old > eps)
    falls = fall & (old - down_lr > eps)
    anchor = jnp.where(rises & up_capped, high, jnp.where(falls & down_floored, low, anchor))
    exponent = jnp.where(
      rises,
      jnp.where(up_capped, 0, exponent + 1),
      jnp.where(falls, jnp.where(down_floored, 0, exponent - 1), exponent),
    )
    lr = jnp.where(rises, up_lr, jnp.where(falls, down_lr, old))
    at_min = fall & ~(lr > low)
    reset_count = jnp.where(at_min, state.greedy_reset_count - 1, state.greedy_reset_count)
    reset = at_min & (reset_count <= 0)
    reset_count = jnp.where(rise | reset, c.as_steps(reset_start), reset_count)

    new_state = GreedyLRState(
      greedy_scale=jnp.zeros((), jnp.float32),  # set below
      greedy_anchor_lr=jnp.where(reset, base, anchor).astype(jnp.float32),
      greedy_exponent=jnp.where(reset, 0, exponent).astype(jnp.int32),
      greedy_best=jnp.where(reset, sign * jnp.inf, jnp.where(better, v, state.greedy_best)).astype(
        jnp.float32
      ),
      greedy_good_count=jnp.where(rise, 0, good).astype(jnp.int32),
      greedy_bad_count=jnp.where(fall, 0, bad).astype(jnp.int32),
      # A reset clears the cooldown, then the fall that caused it starts one.
      greedy_cooldown_count=jnp.where(
        fall,
        c.as_steps(cooldown),
        jnp.where(in_cooldown, state.greedy_cooldown_count - 1, state.greedy_cooldown_count),
      ).astype(jnp.int32),
      greedy_warmup_count=jnp.where(
        rise,
        c.as_steps(warmup),
        jnp.where(in_warmup, state.greedy_warmup_count - 1, state.greedy_warmup_count),
      ).astype(jnp.int32),
      greedy_reset_count=reset_count.astype(jnp.int32),
      greedy_window=state.greedy_window,
      greedy_window_position=state.greedy_window_position,
      greedy_window_filled=state.greedy_window_filled,
    )
    new_state = new_state._replace(**window_fields)
    if smooth:
      new_state = new_state._replace(
        greedy_window=jnp.where(reset, 0.0, new_state.greedy_window),
        greedy_window_position=jnp.where(reset, 0, new_state.greedy_window_position),
        greedy_window_filled=jnp.where(reset, 0, new_state.greedy_window_filled),
      )
    lr = jnp.where(reset, base, lr)
    return new_state._replace(greedy_scale=(lr / base).astype(jnp.float32))

  def update_fn(updates, state, params=None, *, value, observe=True, **extra_args):
    del params, extra_args
    chex.assert_shape(state.greedy_scale, ())
    chex.assert_shape(state.greedy_window, (window,))
    v, observe = _observe.metric(value, observe)
    new_state = _observe.select(observe, observe_fn(state, v), state)
    return _observe.apply_scale(updates, new_state.greedy_scale), new_state

  return optax.GradientTransformationExtraArgs(init_fn, update_fn)
