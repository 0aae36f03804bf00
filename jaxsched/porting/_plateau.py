"""``ReduceLROnPlateau`` (torch's, and the one inside timm's ``PlateauLRScheduler``) as
:func:`jaxsched.reduce_on_plateau` with the object's state."""

from typing import Any, NamedTuple

import jax.numpy as jnp
import optax

from jaxsched import _common as c
from jaxsched.porting import _objects
from jaxsched.transforms import _plateau


class PlateauConversion(NamedTuple):
  """A ``ReduceLROnPlateau`` as a jaxsched transformation with its state.

  ``transform.init`` returns ``state``, so a chain holding ``transform``
  resumes where the PyTorch run is. The transformation scales updates; use
  ``base_lr`` as the optimizer's learning rate.
  """

  transform: optax.GradientTransformationExtraArgs
  state: _plateau.ReduceOnPlateauState
  base_lr: float


def plateau_keywords(base: float, min_lr: float, eps: float, **settings: Any) -> dict:
  """:func:`jaxsched.reduce_on_plateau`'s keywords for a ``ReduceLROnPlateau`` on the rate ``base``.

  ``settings`` (``factor``, ``patience``, ``threshold``, ``threshold_mode``,
  ``cooldown``, ``mode``) carry over; the absolute ``min_lr`` and ``eps``
  become ``min_scale = min(min_lr / base, 1)`` and ``eps / base`` (both 0 for
  ``base = 0``).
  """
  return dict(
    settings,
    min_scale=min(min_lr / base, 1.0) if base > 0 else 0.0,
    eps=eps / base if base > 0 else 0.0,
  )


def _resuming_init(state: Any):
  """An ``init_fn`` that returns ``state`` whatever the parameters."""

  def init_fn(params):
    del params
    return state

  return init_fn


def from_plateau(s: Any) -> Any:
  """A ReduceLROnPlateau as :class:`PlateauConversion` per param group."""
  out = []
  defaults = s.optimizer.defaults
  for i, group in enumerate(s.optimizer.param_groups):
    base = float(group.get("initial_lr", defaults.get("lr", group["lr"])))
    if not base > 0:
      raise ValueError(
        f"from_torch: param group {i} of the ReduceLROnPlateau has base lr "
        f"{base}; the scale needs a positive one"
      )
    tx = _plateau.reduce_on_plateau(
      **plateau_keywords(
        base,
        float(s.min_lrs[i]),
        s.eps,
        factor=s.factor,
        patience=s.patience,
        threshold=s.threshold,
        threshold_mode=s.threshold_mode,
        cooldown=s.cooldown,
        mode=s.mode,
      )
    )
    state = _plateau.ReduceOnPlateauState(
      plateau_scale=jnp.asarray(float(group["lr"]) / base, jnp.float32),
      plateau_best=jnp.asarray(float(s.best), jnp.float32),
      plateau_bad_count=jnp.asarray(min(int(s.num_bad_epochs), c.INT32_MAX), jnp.int32),
      plateau_cooldown_count=jnp.asarray(int(s.cooldown_counter), jnp.int32),
      plateau_accumulated_value=jnp.zeros((), jnp.float32),
      plateau_accumulated_count=jnp.zeros((), jnp.int32),
    )

    out.append(
      PlateauConversion(
        optax.GradientTransformationExtraArgs(_resuming_init(state), tx.update), state, base
      )
    )
  return _objects.one_or_list(out)
