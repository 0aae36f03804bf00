"""What the metric-driven transformations share: reading an observation and applying a scale.

:func:`jaxsched.reduce_on_plateau`, :func:`jaxsched.adaptive_step_decay`,
:func:`jaxsched.phase_transition` and :func:`jaxsched.greedy_lr` take the
metric as ``value=`` and an ``observe=`` flag in ``update`` (see
``jaxsched/transforms/_plateau.py``); these are the pieces they build that
from.
"""

from typing import Any, NamedTuple, TypeVar

import chex
import jax
import jax.numpy as jnp
import optax

THRESHOLD_MODES = ("rel", "abs")
MODES = ("min", "max")


def metric(value: Any, observe: Any) -> tuple[jax.Array, jax.Array]:
  """The metric as float32 and the observe flag as bool, both checked scalars."""
  value = jnp.asarray(value)
  observe = jnp.asarray(observe)
  chex.assert_shape(value, ())
  chex.assert_shape(observe, ())
  return value.astype(jnp.float32), observe.astype(bool)


def apply_scale(updates: optax.Updates, scale: jax.Array) -> optax.Updates:
  """Every update times ``scale``, in the update's dtype."""
  return jax.tree.map(lambda u: u * scale.astype(u.dtype), updates)


_State = TypeVar("_State", bound=NamedTuple)


def select(take_new: jax.Array, new: _State, old: _State) -> _State:
  """Field by field ``new if take_new else old``."""
  return jax.tree.map(lambda a, b: jnp.where(take_new, a, b), new, old)


def improves(v: jax.Array, best: jax.Array, mode: str, threshold: Any, threshold_mode: str):
  """PyTorch's ``ReduceLROnPlateau.is_better`` (and transformers' ``GreedyLR``'s): ``v`` beats
  ``best`` by more than ``threshold`` (relative or absolute) in the direction of ``mode``."""
  if threshold_mode == "rel":
    limit = best * (1.0 - threshold) if mode == "min" else best * (1.0 + threshold)
  else:
    limit = best - threshold if mode == "min" else best + threshold
  return v < limit if mode == "min" else v > limit
