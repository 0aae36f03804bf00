"""The scale the metric-driven transformations hold, read from any optimizer state."""

from typing import Optional

import jax
import jax.numpy as jnp
import optax
from jax.typing import ArrayLike

from jaxsched.transforms import _greedy
from jaxsched.transforms import _plateau

# The state of each metric-driven transformation and its field holding the scale.
_SCALE_FIELDS = {
  _plateau.ReduceOnPlateauState: "plateau_scale",
  _plateau.AdaptiveStepDecayState: "step_decay_scale",
  _plateau.PhaseTransitionState: "transition_scale",
  _greedy.GreedyLRState: "greedy_scale",
}


def current_scale(opt_state: optax.OptState) -> jax.Array:
  """The product of the scales of every adaptive state inside ``opt_state``.

  Works on any optimizer state (chains, ``inject_hyperparams``, nested
  tuples, batched states under ``vmap``); 1.0 when it holds none.

  Args:
    opt_state: an Optax optimizer state.

  Returns:
    The scale the adaptive transformations apply now, float32.

  Examples:
    >>> import jax.numpy as jnp, optax, jaxsched
    >>> tx = optax.chain(optax.sgd(0.1), jaxsched.reduce_on_plateau())
    >>> float(jaxsched.current_scale(tx.init(jnp.zeros(3))))
    1.0
  """
  is_adaptive = lambda x: isinstance(x, tuple(_SCALE_FIELDS))
  scale = jnp.ones((), jnp.float32)
  for node in jax.tree.leaves(opt_state, is_leaf=is_adaptive):
    if is_adaptive(node):
      scale = scale * getattr(node, _SCALE_FIELDS[type(node)])
  return scale


def current_learning_rate(
  opt_state: optax.OptState, learning_rate: Optional[ArrayLike] = None
) -> jax.Array:
  """The learning rate in effect: base rate times every adaptive scale.

  The base is, in order: ``learning_rate`` if it is a number; the
  ``learning_rate`` hyperparameter of an ``optax.inject_hyperparams`` state
  inside ``opt_state``; ``learning_rate(count)`` for a schedule, with the
  first ``count`` found in ``opt_state`` (the number of updates applied, so
  this is the rate of the next update).

  Args:
    opt_state: an Optax optimizer state.
    learning_rate: a number, a schedule, or None.

  Returns:
    The learning rate, float32.

  Examples:
    >>> import jax.numpy as jnp, optax, jaxsched
    >>> tx = optax.chain(optax.adam(1e-3), jaxsched.reduce_on_plateau())
    >>> round(float(jaxsched.current_learning_rate(tx.init(jnp.zeros(3)), 1e-3)), 6)
    0.001
  """
  scale = current_scale(opt_state)
  if learning_rate is not None and not callable(learning_rate):
    return jnp.asarray(learning_rate, jnp.float32) * scale
  injected = optax.tree.get_all_with_path(opt_state, "learning_rate")
  if learning_rate is None:
    if not injected:
      raise ValueError(
        "current_learning_rate: opt_state holds no learning_rate "
        "hyperparameter; pass learning_rate (a number or the schedule)"
      )
    return jnp.asarray(injected[0][1], jnp.float32) * scale
  counts = optax.tree.get_all_with_path(opt_state, "count")
  if not counts:
    raise ValueError(
      "current_learning_rate: opt_state holds no step count to evaluate the schedule at"
    )
  return jnp.asarray(learning_rate(counts[0][1]), jnp.float32) * scale
