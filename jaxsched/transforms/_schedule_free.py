"""Schedule-Free AdamW and SGD, step for step equal to the ``schedulefree`` package.

Schedule-Free (Defazio et al., 2024) replaces momentum and the decaying
schedule by an interpolation and an average. With ``k`` the number of updates
made so far, ``g`` the gradient at the train point ``y_k`` and ``d`` the
step direction (``g`` for SGD, ``g / (sqrt(v_hat) + eps)`` for AdamW, plus
``weight_decay * y_k`` in both), one update is

.. math::
  \\begin{aligned}
    \\gamma_k &= \\eta_k \\min\\left(1, \\tfrac{k + 1}{W}\\right), \\qquad
    \\gamma^{\\max}_k = \\max_{j \\le k} \\gamma_j, \\qquad
    w_k = (k + 1)^r \\, (\\gamma^{\\max}_k)^{p}, \\qquad
    c_{k+1} = \\frac{w_k}{\\sum_{j \\le k} w_j} \\\\
    z_{k+1} &= z_k - \\gamma_k d_k, \\qquad
    x_{k+1} = (1 - c_{k+1}) x_k + c_{k+1} z_{k+1}, \\qquad
    y_{k+1} = \\beta_1 x_{k+1} + (1 - \\beta_1) z_{k+1}
  \\end{aligned}

where ``eta_k`` is ``learning_rate`` (or ``learning_rate(k)``), ``W`` is
``warmup_steps``, ``p`` is ``weight_lr_power`` and ``x_0 = y_0 = z_0`` are the
initial parameters. The parameters the optimizer updates are the train
point ``y``; the state holds ``z``; :func:`schedule_free_eval_params` gives the
average ``x``, where the model is evaluated (``schedulefree``'s ``eval()``).
"""

from typing import Any, NamedTuple, Optional, Union

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.typing import ArrayLike

from jaxsched import _common as c


class ScheduleFreeState(NamedTuple):
  """State of :func:`schedule_free_adamw` and :func:`schedule_free_sgd`.

  Field names are a checkpoint format. The scalars are float32, or float64
  when a parameter is float64; the trees have the parameters' dtypes.
  """

  schedule_free_count: jax.Array  # shape=(), dtype=int32: updates made, k
  schedule_free_lr_max: jax.Array  # shape=(), dtype=float32: largest rate so far
  schedule_free_weight_sum: jax.Array  # shape=(), dtype=float32: sum of the weights w_j
  schedule_free_b1: jax.Array  # shape=(), dtype=float32: the interpolation b1 (momentum)
  schedule_free_z: optax.Params  # the base sequence z
  schedule_free_nu: Any  # AdamW: the second moment of the gradients; SGD: EmptyState()
  schedule_free_x: Any  # b1 == 0: the average x; otherwise EmptyState()


def _scalar_dtype(params: optax.Params) -> jnp.dtype:
  """float32, or float64 when a parameter leaf is float64 (under x64)."""
  dtypes = [jnp.asarray(p).dtype for p in jax.tree.leaves(params)]
  floats = [d for d in dtypes if jnp.issubdtype(d, jnp.floating)]
  return jnp.result_type(jnp.float32, *floats)


def _schedule_free(
  fn: str,
  learning_rate: Union[ArrayLike, optax.Schedule],
  warmup_steps: int,
  b1: ArrayLike,
  weight_decay: ArrayLike,
  weight_lr_power: ArrayLike,
  r: ArrayLike,
  second_moment: Optional[tuple[ArrayLike, ArrayLike]],
) -> optax.GradientTransformationExtraArgs:
  """The Schedule-Free update; ``second_moment=(b2, eps)`` for AdamW, None for SGD."""
  if not callable(learning_rate):
    c.check_real(fn, "learning_rate", learning_rate, low=0.0)
  c.check_steps(fn, "warmup_steps", warmup_steps)
  c.check_real(fn, "weight_decay", weight_decay, low=0.0)
  c.check_real(fn, "weight_lr_power", weight_lr_power, low=0.0)
  c.check_real(fn, "r", r, low=0.0)
  b1_value = c.concrete(b1)
  keep_x = b1_value is not None and float(b1_value) == 0.0
  no_decay = c.concrete(weight_decay) is not None and float(np.asarray(weight_decay)) == 0.0

  def init_fn(params):
    dtype = _scalar_dtype(params)
    copy = lambda tree: jax.tree.map(lambda p: jnp.array(p, copy=True), tree)
    return ScheduleFreeState(
      schedule_free_count=jnp.zeros((), jnp.int32),
      schedule_free_lr_max=jnp.zeros((), dtype),
      schedule_free_weight_sum=jnp.zeros((), dtype),
      schedule_free_b1=jnp.asarray(b1, dtype),
      schedule_free_z=copy(params),
      schedule_free_nu=(
        optax.EmptyState() if second_moment is None else jax.tree.map(jnp.zeros_like, params)
      ),
      schedule_free_x=copy(params) if keep_x else optax.EmptyState(),
    )

  def update_fn(updates, state, params=None, **extra_args):
    del extra_args
    if params is None:
      raise ValueError(f"{fn}: update needs params (the train point y); pass them to update")
    dtype = state.schedule_free_weight_sum.dtype
    k = state.schedule_free_count
    k1 = optax.safe_increment(k)  # k + 1, saturating
    base = learning_rate(k) if callable(learning_rate) else learning_rate
    lr = jnp.asarray(base, dtype) * c.fraction(k1, c.as_steps(warmup_steps), dtype)
    lr_max = jnp.maximum(state.schedule_free_lr_max, lr)
    weight = k1.astype(dtype) ** jnp.asarray(r, dtype) * lr_max ** jnp.asarray(
      weight_lr_power, dtype
    )
    weight_sum = state.schedule_free_weight_sum + weight
    ckp1 = jnp.where(weight_sum > 0, weight / jnp.where(weight_sum > 0, weight_sum, 1), 0.0)
    momentum = jnp.asarray(b1, dtype)
    y_coef = lr * (momentum * (1.0 - ckp1) - 1.0)

    if second_moment is None:
      nu = state.schedule_free_nu
      directions = updates
    else:
      b2, eps = second_moment
      one_minus_b2 = c.one_minus(b2, dtype)
      # 1 - b2**(k + 1), as -expm1((k + 1) log b2): exact for b2 near 1.
      bias_correction = -jnp.expm1(k1.astype(dtype) * c.log_of(b2, dtype))
      nu = jax.tree.map(
        lambda v, g: (v * jnp.asarray(b2, dtype) + one_minus_b2 * (g * g)).astype(v.dtype),
        state.schedule_free_nu,
        updates,
      )
      directions = jax.tree.map(
        lambda g, v: g / (jnp.sqrt(v / bias_correction) + jnp.asarray(eps, dtype)), updates, nu
      )
    if not no_decay:
      directions = jax.tree.map(
        lambda d, y: d + jnp.asarray(weight_decay, dtype) * y, directions, params
      )

    new_y = jax.tree.map(
      lambda y, z, d: (c.lerp(y, z, ckp1) + y_coef * d).astype(y.dtype),
      params,
      state.schedule_free_z,
      directions,
    )
    z = jax.tree.map(lambda z, d: (z - lr * d).astype(z.dtype), state.schedule_free_z, directions)
    x = state.schedule_free_x
    if keep_x:
      x = jax.tree.map(lambda x, z: (x * (1.0 - ckp1) + ckp1 * z).astype(x.dtype), x, z)
    new_updates = jax.tree.map(lambda n, y: (n - y).astype(y.dtype), new_y, params)
    return new_updates, ScheduleFreeState(
      schedule_free_count=k1,
      schedule_free_lr_max=lr_max.astype(dtype),
      schedule_free_weight_sum=weight_sum.astype(dtype),
      schedule_free_b1=state.schedule_free_b1,
      schedule_free_z=z,
      schedule_free_nu=nu,
      schedule_free_x=x,
    )

  return optax.GradientTransformationExtraArgs(init_fn, update_fn)


def schedule_free_adamw(
  learning_rate: Union[ArrayLike, optax.Schedule],
  warmup_steps: int = 0,
  b1: ArrayLike = 0.9,
  b2: ArrayLike = 0.999,
  eps: ArrayLike = 1e-8,
  weight_decay: ArrayLike = 0.0,
  weight_lr_power: ArrayLike = 2.0,
  r: ArrayLike = 0.0,
) -> optax.GradientTransformationExtraArgs:
  """Schedule-Free AdamW, step for step ``schedulefree.AdamWScheduleFree``.

  The update of the module docstring with the AdamW direction

  .. math::
    v_{k+1} = \\beta_2 v_k + (1 - \\beta_2) g_k^2, \\qquad
    d_k = \\frac{g_k}{\\sqrt{v_{k+1} / (1 - \\beta_2^{k+1})} + \\epsilon} + \\lambda y_k

  (no first moment: ``b1`` is the interpolation of ``y``; weight decay is
  taken at ``y`` and scaled by the rate, as in the reference). The returned
  updates move the parameters from ``y_k`` to ``y_{k+1}``; evaluate the model at
  ``schedule_free_eval_params(opt_state, params)``.

  PyTorch: ``schedulefree.AdamWScheduleFree(params, lr=learning_rate,
  betas=(b1, b2), eps, weight_decay, warmup_steps, r, weight_lr_power)``, with
  ``optimizer.train()`` for the parameters during training and
  ``optimizer.eval()`` for :func:`schedule_free_eval_params`.

  **Why ``optax.contrib.schedule_free_adamw`` differs.** With ``warmup_steps``
  the two disagree by several percent (with ``learning_rate=0.05,
  warmup_steps=10`` on a least-squares problem: up to 0.042 in evaluation
  parameters of size 1.8 over 50 steps); without warmup they agree to float32
  rounding. The cause is an off-by-one in Optax's warmup: ``schedule_free_adamw``
  builds ``warmup_constant_schedule(0, lr, warmup_steps)`` and uses it twice.
  ``schedule_free`` evaluates it at its ``step_count``, which starts at 1
  (``step_count=jnp.ones([], dtype=jnp.int32)`` in ``init_fn``), for the
  averaging weight: ``lr (k + 1) / W`` at update ``k``, as ``schedulefree``'s
  ``sched = (k+1) / warmup_steps``. But the step of ``z`` is scaled by the same
  schedule inside the base optimizer, ``scale_by_learning_rate(learning_rate)``,
  whose own count starts at 0: ``lr k / W``. The first update of ``z`` is
  therefore zero and every warmup step of ``z`` uses the previous step's rate,
  while ``schedulefree`` scales ``z``'s step by ``lr * sched`` with the same
  ``sched`` as the weight (``z.sub_(grad_normalized, alpha=lr)`` after
  ``lr = group['lr']*sched``). Optax with the schedule shifted by one
  (``lambda t: warmup(t + 1)``) in ``scale_by_learning_rate`` matches
  ``schedulefree``. The rest agrees: bias correction of the second moment
  only, ``eps`` outside the square root, weight decay at ``y`` after the
  normalisation, weights ``lr_max ** weight_lr_power`` with the running
  maximum of the warmed-up rate. Optax has no ``r`` (polynomial weights) and
  divides by ``b1`` in its evaluation parameters, so it needs ``b1 > 0``.

  **A schedule as ``learning_rate``.** ``schedulefree`` reads
  ``group['lr']`` at every step and multiplies it by its warmup; a
  PyTorch LR scheduler stepped once per update sets that ``group['lr']``. A
  callable ``learning_rate`` plays that role here: update ``k`` uses the rate
  ``learning_rate(k) * min(1, (k + 1) / warmup_steps)``, and the averaging
  weights use the running maximum of that product. Schedule-Free is meant to
  run with a constant rate (its own warmup included); a schedule is for
  adding e.g. a final cooldown, and the average keeps the weights of the
  peak rate.

  Args:
    learning_rate: the rate ``eta``, >= 0, or a schedule of the update count
      (the value of ``group['lr']`` before update ``k``).
    warmup_steps: length of the linear warmup ``min(1, (k + 1) / W)``, >= 0.
    b1: interpolation between the average and the base sequence, in [0, 1).
      With ``b1 = 0`` the state also keeps the average ``x`` (one more copy of
      the parameters), as ``schedulefree.AdamWScheduleFreeReference`` does:
      ``y = z`` then, and ``x`` cannot be recovered from them. A traced ``b1``
      is taken to be positive.
    b2: decay of the second moment, in [0, 1).
    eps: added to the square root of the second moment, >= 0.
    weight_decay: decoupled weight decay at ``y``, scaled by the rate, >= 0.
    weight_lr_power: exponent ``p`` of the largest rate in the weights, >= 0.
    r: exponent of ``k + 1`` in the weights (polynomial averaging), >= 0.

  Returns:
    An ``optax.GradientTransformationExtraArgs`` whose ``update`` needs the
    parameters.

  Examples:
    >>> import jax, jax.numpy as jnp, optax, jaxsched
    >>> loss = lambda w: jnp.sum((w - 3.0) ** 2)
    >>> tx = jaxsched.schedule_free_adamw(0.5, warmup_steps=5)
    >>> w = jnp.zeros(2)
    >>> state = tx.init(w)
    >>> for _ in range(100):
    ...   updates, state = tx.update(jax.grad(loss)(w), state, w)
    ...   w = optax.apply_updates(w, updates)
    >>> x = jaxsched.schedule_free_eval_params(state, w)
    >>> bool(loss(x) < 1e-2)
    True

  References:
    Defazio et al., 2024, The Road Less Scheduled:
    https://arxiv.org/abs/2405.15682 ; https://github.com/facebookresearch/schedule_free
  """
  fn = "schedule_free_adamw"
  c.check_real(fn, "b1", b1, low=0.0, high=1.0, high_open=True)
  c.check_real(fn, "b2", b2, low=0.0, high=1.0, high_open=True)
  c.check_real(fn, "eps", eps, low=0.0)
  return _schedule_free(
    fn, learning_rate, warmup_steps, b1, weight_decay, weight_lr_power, r, (b2, eps)
  )


def schedule_free_sgd(
  learning_rate: Union[ArrayLike, optax.Schedule],
  warmup_steps: int = 0,
  momentum: ArrayLike = 0.9,
  weight_decay: ArrayLike = 0.0,
  weight_lr_power: ArrayLike = 2.0,
  r: ArrayLike = 0.0,
) -> optax.GradientTransformationExtraArgs:
  """Schedule-Free SGD, step for step ``schedulefree.SGDScheduleFree``.

  The update of the module docstring with the direction
  ``d_k = g_k + weight_decay * y_k`` and ``momentum`` as ``beta_1``.

  PyTorch: ``schedulefree.SGDScheduleFree(params, lr=learning_rate, momentum,
  weight_decay, warmup_steps, r, weight_lr_power)``, ``optimizer.eval()`` for
  :func:`schedule_free_eval_params`. ``optax.contrib.schedule_free_sgd``
  differs during warmup for the reason given in :func:`schedule_free_adamw`
  (its weight decay is added by ``add_decayed_weights`` before ``sgd``, so it
  too is taken at ``y`` and scaled by the rate).

  Args:
    learning_rate: the rate, >= 0, or a schedule of the update count (see
      :func:`schedule_free_adamw`).
    warmup_steps: length of the linear warmup ``min(1, (k + 1) / W)``, >= 0.
    momentum: the interpolation ``beta_1``, in (0, 1) as the reference requires.
    weight_decay: weight decay at ``y``, scaled by the rate, >= 0.
    weight_lr_power: exponent of the largest rate in the weights, >= 0.
    r: exponent of ``k + 1`` in the weights, >= 0.

  Returns:
    An ``optax.GradientTransformationExtraArgs`` whose ``update`` needs the
    parameters.

  Examples:
    >>> import jax.numpy as jnp, jaxsched
    >>> tx = jaxsched.schedule_free_sgd(1.0, warmup_steps=4)
    >>> state = tx.init(jnp.zeros(1))
    >>> updates, _ = tx.update(jnp.ones(1), state, jnp.zeros(1))
    >>> updates.tolist()  # the first update already takes 1/4 of the rate
    [-0.25]

  References:
    Defazio et al., 2024, The Road Less Scheduled: https://arxiv.org/abs/2405.15682
  """
  fn = "schedule_free_sgd"
  c.check_real(fn, "momentum", momentum, low=0.0, high=1.0, low_open=True, high_open=True)
  return _schedule_free(
    fn, learning_rate, warmup_steps, momentum, weight_decay, weight_lr_power, r, None
  )


def schedule_free_eval_params(state: Any, params: optax.Params) -> optax.Params:
  """The average ``x`` where a Schedule-Free model is evaluated.

  .. math::
    x = y + \\left(1 - \\frac{1}{\\beta_1}\\right)(z - y)

  from the train point ``y`` (the parameters) and the state's ``z``, computed
  as ``schedulefree``'s ``optimizer.eval()`` computes it (``b1 = 0`` reads the
  average the state keeps). The parameters themselves are left alone: there
  is no train or eval mode to switch, and a checkpoint holds ``y`` and the
  state. ``state`` may be the optimizer state of a chain, of
  ``optax.MultiSteps`` or of ``optax.inject_hyperparams`` holding exactly one
  :class:`ScheduleFreeState`.

  Args:
    state: a :class:`ScheduleFreeState` or a state that holds one.
    params: the parameters the optimizer updated (``y``).

  Returns:
    The evaluation parameters, a tree like ``params``.

  Examples:
    >>> import jax.numpy as jnp, jaxsched
    >>> tx = jaxsched.schedule_free_sgd(0.1, momentum=0.5)
    >>> state = tx.init(jnp.zeros(1))
    >>> updates, state = tx.update(jnp.ones(1), state, jnp.zeros(1))
    >>> updates.tolist()  # y = z = -0.1 after the first update
    [-0.10000000149011612]
    >>> jaxsched.schedule_free_eval_params(state, updates).tolist()
    [-0.10000000149011612]
  """
  is_node = lambda node: isinstance(node, ScheduleFreeState)
  nodes = [n for n in jax.tree.leaves(state, is_leaf=is_node) if is_node(n)]
  if len(nodes) != 1:
    raise ValueError(
      f"schedule_free_eval_params: state holds {len(nodes)} ScheduleFreeState; "
      "it must hold exactly one (the state of schedule_free_adamw or schedule_free_sgd)"
    )
  (sf,) = nodes
  if not isinstance(sf.schedule_free_x, optax.EmptyState):
    return sf.schedule_free_x
  weight = 1.0 - 1.0 / sf.schedule_free_b1
  return jax.tree.map(
    lambda y, z: c.lerp(y, z, weight).astype(jnp.asarray(y).dtype), params, sf.schedule_free_z
  )
