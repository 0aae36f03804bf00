"""Averages of the parameters kept in the optimizer state: EMA and weighted means.

Both transformations pass the updates through unchanged and keep an average
of the parameters *after* each update (``params + updates``), so chain them
last: ``optax.chain(optax.adamw(1e-3), jaxsched.ema_params(0.999))``. Read the
average with ``optax.tree.get(opt_state, "ema_params")`` (or
``"average_params"``); it starts as a copy of the initial parameters. Inside
``optax.MultiSteps`` they move once per real update. ``optax.ema`` averages
the updates, not the parameters, and takes only a constant decay; these take
a schedule.
"""

from typing import Any, NamedTuple, Optional, Union

import jax
import jax.numpy as jnp
import optax
from jax.typing import ArrayLike

from jaxsched import _common as c


class EmaParamsState(NamedTuple):
  """State of :func:`ema_params`. Field names are a checkpoint format."""

  ema_params_count: jax.Array  # shape=(), dtype=int32: updates averaged
  ema_params: optax.Params  # the average, in the parameters' (or the accumulator) dtype


class AverageParamsState(NamedTuple):
  """State of :func:`average_params`. Field names are a checkpoint format."""

  average_params_count: jax.Array  # shape=(), dtype=int32: updates averaged
  average_params_weight_sum: jax.Array  # shape=(), dtype=float32: sum of the weights so far
  average_params: optax.Params  # the weighted mean


def _rate(fn: str, value: Union[ArrayLike, optax.Schedule], name: str, high: Optional[float]):
  if not callable(value):
    c.check_real(fn, name, value, low=0.0, high=high)


def _new_params(fn: str, updates: optax.Updates, params: Optional[optax.Params]) -> optax.Params:
  if params is None:
    raise ValueError(f"{fn}: update needs params (the average is of params + updates)")
  return optax.apply_updates(params, updates)


def _start(params: optax.Params, accumulator_dtype: Any) -> optax.Params:
  def copy(p):
    p = jnp.asarray(p)
    return jnp.array(
      p, dtype=p.dtype if accumulator_dtype is None else accumulator_dtype, copy=True
    )

  return jax.tree.map(copy, params)


def _toward(average: optax.Params, new: optax.Params, weight: jax.Array) -> optax.Params:
  """``average + weight (new - average)`` leaf by leaf, in the average's dtype."""
  return jax.tree.map(
    lambda a, p: c.lerp(a, p.astype(a.dtype), weight.astype(a.dtype)).astype(a.dtype), average, new
  )


def ema_params(
  decay: Union[ArrayLike, optax.Schedule], accumulator_dtype: Optional[Any] = None
) -> optax.GradientTransformation:
  """An exponential moving average of the parameters, with a decay schedule.

  .. math::
    \\bar\\theta_{t+1} = d_t \\bar\\theta_t + (1 - d_t)\\, \\theta_{t+1}, \\qquad
    \\bar\\theta_0 = \\theta_0

  where ``theta_{t+1}`` are the parameters after update ``t`` and ``d_t`` is
  ``decay`` (or ``decay(t)``, e.g. :func:`jaxsched.timm_ema_decay`). timm:
  ``ModelEmaV3`` updated after every optimizer step; PyTorch:
  ``AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay))`` differs in
  its first update, which copies the model (``d_0 = 0`` here does the same).
  The update is ``torch.lerp(average, params, 1 - d)``, as timm computes it.

  Args:
    decay: the decay, in [0, 1], or a schedule of the update count.
    accumulator_dtype: dtype of the average (e.g. ``jnp.float32`` for bf16
      parameters); None keeps each parameter's dtype.

  Returns:
    An ``optax.GradientTransformation`` that leaves the updates unchanged;
    ``update`` needs the parameters.

  Examples:
    >>> import jax.numpy as jnp, optax, jaxsched
    >>> tx = optax.chain(optax.sgd(1.0), jaxsched.ema_params(0.5))
    >>> params = jnp.zeros(1)
    >>> state = tx.init(params)
    >>> for _ in range(2):
    ...   updates, state = tx.update(jnp.full(1, -1.0), state, params)
    ...   params = optax.apply_updates(params, updates)
    >>> optax.tree.get(state, "ema_params").tolist()  # 0.5 * 0.5 + 0.5 * 2
    [1.25]
  """
  fn = "ema_params"
  _rate(fn, decay, "decay", 1.0)

  def init_fn(params):
    return EmaParamsState(
      ema_params_count=jnp.zeros((), jnp.int32), ema_params=_start(params, accumulator_dtype)
    )

  def update_fn(updates, state, params=None):
    new = _new_params(fn, updates, params)
    if callable(decay):
      rate = 1.0 - jnp.asarray(decay(state.ema_params_count), jnp.float32)
    else:
      rate = c.one_minus(decay, jnp.float32)
    return updates, EmaParamsState(
      ema_params_count=optax.safe_increment(state.ema_params_count),
      ema_params=_toward(state.ema_params, new, rate),
    )

  return optax.GradientTransformation(init_fn, update_fn)


def average_params(
  weight: Union[ArrayLike, optax.Schedule] = 1.0, accumulator_dtype: Optional[Any] = None
) -> optax.GradientTransformation:
  """The weighted mean of the parameters, each update's weight from a schedule.

  .. math::
    \\bar\\theta_{t+1} = \\bar\\theta_t + \\frac{w_t}{\\sum_{j \\le t} w_j}
      (\\theta_{t+1} - \\bar\\theta_t), \\qquad \\bar\\theta_0 = \\theta_0

  that is ``sum_j w_j theta_{j+1} / sum_j w_j`` once a weight is positive
  (the average stays at ``theta_0`` before). ``weight=1.0`` is the plain mean
  of PyTorch's ``AveragedModel`` (SWA), updated after every update; a weight
  of 0 before update ``s`` and 1 from it is SWA started at ``s``
  (``AveragedModel.update_parameters`` called from then on). With
  :func:`jaxsched.ema_sqrt_weight` it is Levanter's
  ``EmaDecaySqrtModelAveraging``.

  Args:
    weight: the weight ``w_t`` >= 0, or a schedule of the update count.
    accumulator_dtype: dtype of the average; None keeps each parameter's.

  Returns:
    An ``optax.GradientTransformation`` that leaves the updates unchanged;
    ``update`` needs the parameters.

  Examples:
    >>> import jax.numpy as jnp, optax, jaxsched
    >>> tx = optax.chain(optax.sgd(1.0), jaxsched.average_params())
    >>> params = jnp.zeros(1)
    >>> state = tx.init(params)
    >>> for _ in range(3):  # params 1, 2, 3
    ...   updates, state = tx.update(jnp.full(1, -1.0), state, params)
    ...   params = optax.apply_updates(params, updates)
    >>> optax.tree.get(state, "average_params").tolist()
    [2.0]

  References:
    Izmailov et al., 2018, Averaging Weights Leads to Wider Optima and Better
    Generalization: https://arxiv.org/abs/1803.05407
  """
  fn = "average_params"
  _rate(fn, weight, "weight", None)

  def init_fn(params):
    return AverageParamsState(
      average_params_count=jnp.zeros((), jnp.int32),
      average_params_weight_sum=jnp.zeros((), jnp.float32),
      average_params=_start(params, accumulator_dtype),
    )

  def update_fn(updates, state, params=None):
    new = _new_params(fn, updates, params)
    count = state.average_params_count
    w = jnp.asarray(weight(count) if callable(weight) else weight, jnp.float32)
    total = state.average_params_weight_sum + w
    share = jnp.where(total > 0, w / jnp.where(total > 0, total, 1.0), 0.0)
    return updates, AverageParamsState(
      average_params_count=optax.safe_increment(count),
      average_params_weight_sum=total,
      average_params=_toward(state.average_params, new, share),
    )

  return optax.GradientTransformation(init_fn, update_fn)
