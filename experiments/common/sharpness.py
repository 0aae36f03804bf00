"""Preconditioned sharpness: the top eigenvalue of the optimizer-preconditioned Hessian.

For an optimizer whose step is ``theta <- theta - eta P^-1 m`` with a diagonal
preconditioner ``P`` (Adam: ``P = diag(sqrt(v_hat) + eps)``, the denominator of
its update; SGD: ``P = I``), the stability of the step is set by
``lambda_max(P^-1 H)``, ``H`` the Hessian of the training loss (Cohen et al.
2022): Adam with momentum ``beta1`` is stable on a quadratic while
``lambda_max(P^-1 H) < (2 + 2 beta1) / ((1 - beta1) eta)`` (``38 / eta`` for
``beta1 = 0.9``). Kalra & Barkeshli (2024) read warmup through it: a small
learning rate lets the preconditioned sharpness fall before the rate reaches
its peak.

``P^-1 H`` has the eigenvalues of the symmetric ``P^-1/2 H P^-1/2``; power
iteration runs on that one, with Hessian-vector products by forward-over-reverse
differentiation (``jax.jvp`` of ``jax.grad``), never forming ``H``.

References:
  Cohen et al. 2022, "Adaptive Gradient Methods at the Edge of Stability",
  arXiv:2207.14484. Kalra & Barkeshli 2024, "Why Warmup the Learning Rate?
  Underlying Mechanisms and Improvements", arXiv:2406.09405.
"""

from typing import Any, Callable, Optional

import jax
import jax.numpy as jnp
import optax


def adam_threshold(b1: float, learning_rate: float) -> float:
  """Adam's stability threshold ``(2 + 2 b1) / ((1 - b1) eta)`` (Cohen et al. 2022): 38/eta at
  ``b1 = 0.9``."""
  return (2.0 + 2.0 * b1) / ((1.0 - b1) * learning_rate)


def hessian_vector_product(loss: Callable[[Any], jax.Array], params: Any) -> Callable:
  """``v -> H v``, ``H`` the Hessian of ``loss`` at ``params`` (forward over reverse)."""
  grad = jax.grad(loss)
  return lambda v: jax.jvp(grad, (params,), (v,))[1]


def _dot(a: Any, b: Any) -> jax.Array:
  return sum(jnp.vdot(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))


def _scale(tree: Any, c: jax.Array) -> Any:
  return jax.tree.map(lambda x: x * c, tree)


def power_iteration(matvec: Callable, like: Any, iters: int, key: jax.Array) -> tuple:
  """The eigenvalue of largest magnitude of the symmetric operator ``matvec`` on pytrees
  shaped as ``like``, by ``iters`` steps of power iteration from a random start.

  Returns:
    ``(eigenvalue, eigenvector)``: the Rayleigh quotient ``v . A v`` of the last unit
    vector ``v``, and ``v``.
  """
  leaves, treedef = jax.tree.flatten(like)
  keys = jax.random.split(key, len(leaves))
  start = treedef.unflatten(
    [jax.random.normal(k, x.shape, jnp.float32) for k, x in zip(keys, leaves)]
  )
  start = _scale(start, 1.0 / jnp.sqrt(_dot(start, start)))

  def step(_, carry):
    v, _ = carry
    w = matvec(v)
    return _scale(w, 1.0 / jnp.sqrt(_dot(w, w))), _dot(v, w)

  v, _ = jax.lax.fori_loop(0, iters, step, (start, jnp.zeros((), jnp.float32)))
  return _dot(v, matvec(v)), v


def preconditioned_sharpness(
  loss: Callable[[Any], jax.Array],
  params: Any,
  preconditioner: Optional[Any],
  iters: int,
  key: jax.Array,
) -> jax.Array:
  """``lambda_max(P^-1 H)`` of ``loss`` at ``params`` (the eigenvalue of largest magnitude).

  Args:
    loss: a scalar function of ``params``.
    params: where the Hessian is taken.
    preconditioner: the diagonal of ``P``, shaped as ``params`` (every entry > 0),
      or None for ``P = I`` (the plain sharpness ``lambda_max(H)``).
    iters: power iterations (Hessian-vector products, one more for the quotient).
    key: the random start.
  """
  hvp = hessian_vector_product(loss, params)
  if preconditioner is None:
    return power_iteration(hvp, params, iters, key)[0]
  inv_sqrt = jax.tree.map(lambda p: 1.0 / jnp.sqrt(p), preconditioner)
  scale = lambda v: jax.tree.map(jnp.multiply, inv_sqrt, v)
  return power_iteration(lambda v: scale(hvp(scale(v))), params, iters, key)[0]


def adam_preconditioner(opt_state: optax.OptState, b2: Any, eps: Any) -> Any:
  """``sqrt(v_hat) + eps`` of the ``optax.scale_by_adam`` state inside ``opt_state``
  (``v_hat = nu / (1 - b2^count)``, ``count`` the updates made, at least 1)."""
  adam = optax.tree.get(opt_state, "ScaleByAdamState")
  if adam is None:
    raise ValueError("adam_preconditioner: opt_state holds no ScaleByAdamState")
  correction = 1.0 - b2 ** jnp.maximum(adam.count, 1).astype(jnp.float32)
  return jax.tree.map(lambda nu: jnp.sqrt(nu / correction) + eps, adam.nu)
