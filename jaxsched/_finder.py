"""The learning-rate range test (LR finder) as one compiled ``lax.scan``."""

from typing import Any, Callable, NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxsched import _common as c

SUGGESTION_RULES = ("valley", "steepest", "minimum")


def _steepest(lrs: np.ndarray, smoothed: np.ndarray) -> float:
  """LR of the steepest descent of the smoothed loss against log LR."""
  if len(lrs) < 2:
    return float(lrs[0])
  slope = np.gradient(smoothed, np.log(lrs))
  return float(lrs[int(np.argmin(slope))])


def _valley(lrs: np.ndarray, smoothed: np.ndarray) -> float:
  """fastai's valley rule: a point two thirds down the longest descent.

  The longest decreasing subsequence of the smoothed losses marks the valley;
  the suggestion lies past its first half, where the loss still falls fast
  but is well away from the divergence.
  """
  n = len(smoothed)
  if n < 2:
    return float(lrs[0])
  lengths = np.ones(n, dtype=int)
  start = end = 0
  for i in range(1, n):
    for j in range(i):
      if smoothed[i] < smoothed[j] and lengths[i] < lengths[j] + 1:
        lengths[i] = lengths[j] + 1
      if lengths[end] < lengths[i]:
        end = i
        start = end - lengths[end]
  sections = (end - start) / 3
  index = start + int(sections) + int(sections / 2)
  return float(lrs[min(max(index, 0), n - 1)])


class LRFinderResult(NamedTuple):
  """What :func:`lr_find` measured.

  Attributes:
    lrs: learning rate of each step, up to and including ``stop_step``.
    losses: loss before each step's update (as in the classic range test).
    smoothed_losses: bias-corrected exponential average of ``losses``.
    stop_step: first step whose smoothed loss exceeded ``diverge_threshold``
      times the best so far or was not finite; the last step if none did.
    suggestions: ``{"valley", "steepest", "minimum"}`` rule -> learning rate.
    suggestion: the learning rate of the chosen rule.
    rule: the name of the chosen rule.
  """
  lrs: np.ndarray
  losses: np.ndarray
  smoothed_losses: np.ndarray
  stop_step: int
  suggestions: dict
  suggestion: float
  rule: str

  def plot(self, path: Any, *, title: str = "LR range test") -> Any:
    """Draws loss against LR (log x) with the suggestion, and its slope below.

    Args:
      path: where to save the figure (PNG by extension).
      title: the figure title.

    Returns:
      The path written.
    """
    from jaxsched import _plotting  # pylint: disable=import-outside-toplevel
    return _plotting.plot_lr_find(self, path, title=title)


def lr_find(loss_fn: Callable[[Any, Any], jax.Array], params: Any, data: Any, *,
            optimizer: Callable[..., optax.GradientTransformation] = optax.sgd,
            start_lr: float = 1e-7, end_lr: float = 10.0, num_steps: int = 100,
            smoothing: float = 0.98, diverge_threshold: float = 4.0,
            data_per_step: Optional[bool] = None, rule: str = "valley") -> LRFinderResult:
  """The learning-rate range test: train with a geometrically rising LR.

  Step ``i`` uses

  .. math:: \\eta_i = \\eta_{start} (\\eta_{end} / \\eta_{start})^{i / (n - 1)}

  and records the loss before its update; the smoothed loss is
  ``a_i = beta a_{i-1} + (1 - beta) L_i`` divided by ``1 - beta^(i+1)``. The
  whole sweep is one compiled ``lax.scan``; ``params`` are not modified (the
  sweep trains a copy).

  Seed 000: ``LRRangeFinder.find_lr_range`` (which stops at a raw loss of 4x the
  best and suggests the steepest point of the raw curve); fastai's
  ``lr_find``. Suggestions: "steepest" (most negative slope of the smoothed
  loss against log LR), "minimum" (LR at the lowest smoothed loss / 10) and
  "valley" (fastai's rule, the default).

  Args:
    loss_fn: ``loss_fn(params, batch) -> scalar``.
    params: initial parameters (any pytree).
    data: one batch reused every step, or a pytree whose leaves have a leading
      axis of ``num_steps``, one batch per step.
    optimizer: an Optax optimizer factory taking ``learning_rate`` first.
    start_lr: first learning rate, > 0.
    end_lr: last learning rate, > ``start_lr``.
    num_steps: number of steps, >= 2.
    smoothing: ``beta`` of the exponential average, in [0, 1).
    diverge_threshold: stop once the smoothed loss exceeds this multiple of its
      best, > 1.
    data_per_step: whether ``data`` holds one batch per step; None infers it
      (True when every leaf's leading axis has length ``num_steps``).
    rule: which suggestion becomes ``suggestion``: "valley", "steepest" or "minimum".

  Returns:
    An :class:`LRFinderResult`.

  Examples:
    >>> import jax.numpy as jnp, jaxsched
    >>> loss = lambda w, x: jnp.sum((w * x) ** 2)
    >>> result = jaxsched.lr_find(loss, jnp.ones(3), jnp.ones(3), num_steps=50)
    >>> 1e-7 <= result.suggestion < 1.0  # GD on this loss diverges above lr = 1
    True
  """
  fn = "lr_find"
  c.check_real(fn, "start_lr", start_lr, low=0.0, low_open=True)
  c.check_real(fn, "end_lr", end_lr, low=0.0, low_open=True)
  c.check_order(fn, "start_lr", start_lr, "end_lr", end_lr, strict=True)
  c.check_steps(fn, "num_steps", num_steps, minimum=2)
  c.check_real(fn, "smoothing", smoothing, low=0.0, high=1.0, high_open=True)
  c.check_real(fn, "diverge_threshold", diverge_threshold, low=1.0, low_open=True)
  c.check_choice(fn, "rule", rule, SUGGESTION_RULES)
  if not callable(optimizer):
    raise ValueError(f"{fn}: optimizer={optimizer!r} must be an Optax optimizer factory")
  num_steps = int(num_steps)
  leaves = jax.tree.leaves(data)
  if data_per_step is None:
    data_per_step = bool(leaves) and all(
        jnp.ndim(x) >= 1 and jnp.shape(x)[0] == num_steps for x in leaves)
  elif data_per_step and not all(jnp.ndim(x) >= 1 and jnp.shape(x)[0] == num_steps
                                 for x in leaves):
    raise ValueError(f"{fn}: data_per_step=True needs every leaf of data to have a leading "
                     f"axis of num_steps={num_steps}")

  lrs = start_lr * (end_lr / start_lr) ** (np.arange(num_steps) / (num_steps - 1))
  losses = np.asarray(_sweep(loss_fn, optimizer, params, data, jnp.asarray(lrs, jnp.float32),
                             data_per_step), np.float64)

  smoothed = np.empty_like(losses)
  average, best, stop = 0.0, np.inf, num_steps - 1
  for i, loss in enumerate(losses):
    average = smoothing * average + (1.0 - smoothing) * loss
    smoothed[i] = average / (1.0 - smoothing ** (i + 1))
    if not np.isfinite(smoothed[i]) or (i > 0 and smoothed[i] > diverge_threshold * best):
      stop = i
      break
    best = min(best, smoothed[i])
  lrs, losses, smoothed = lrs[:stop + 1], losses[:stop + 1], smoothed[:stop + 1]
  finite = np.isfinite(smoothed)
  kept_lrs, kept = lrs[finite], smoothed[finite]
  suggestions = {
      "valley": _valley(kept_lrs, kept),
      "steepest": _steepest(kept_lrs, kept),
      "minimum": float(kept_lrs[int(np.argmin(kept))]) / 10.0,
  }
  return LRFinderResult(lrs=lrs, losses=losses, smoothed_losses=smoothed, stop_step=int(stop),
                        suggestions=suggestions, suggestion=suggestions[rule], rule=rule)


def _sweep(loss_fn, optimizer, params, data, lrs, data_per_step):
  """Losses of the whole sweep, from one jitted ``lax.scan``."""
  tx = optax.inject_hyperparams(optimizer)(learning_rate=lrs[0])
  grad_fn = jax.value_and_grad(loss_fn)

  @jax.jit
  def run(params, data, lrs):
    def step(carry, inputs):
      params, opt_state = carry
      lr, batch = inputs
      loss, grads = grad_fn(params, data if batch is None else batch)
      opt_state.hyperparams["learning_rate"] = lr
      updates, opt_state = tx.update(grads, opt_state, params)
      return (optax.apply_updates(params, updates), opt_state), loss

    per_step = data if data_per_step else None
    _, losses = jax.lax.scan(step, (params, tx.init(params)), (lrs, per_step))
    return losses

  return run(params, data, lrs)
