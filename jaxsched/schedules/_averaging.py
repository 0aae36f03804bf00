"""Schedules for weight averaging: EMA decays and weights, and SWA's annealing.

:func:`timm_ema_decay` is a decay for :func:`jaxsched.ema_params`,
:func:`ema_sqrt_weight` a weight for :func:`jaxsched.average_params`, and
:func:`swa_lr` the learning rate PyTorch's ``SWALR`` anneals to while the
weights are averaged. Like every jaxsched schedule each is a function of the
update count ``t`` (Optax's count, from 0): the value used by update ``t``.
"""

import jax.numpy as jnp
import optax
from jax.typing import ArrayLike

from jaxsched import _common as c
from jaxsched.schedules._cyclic import ANNEAL_STRATEGIES  # OneCycleLR's, which SWALR shares


def timm_ema_decay(
  decay: ArrayLike = 0.9999,
  min_decay: ArrayLike = 0.0,
  update_after_step: int | ArrayLike = 0,
  use_warmup: bool = False,
  warmup_gamma: ArrayLike = 1.0,
  warmup_power: ArrayLike = 2 / 3,
) -> optax.Schedule:
  """The EMA decay of timm's ``ModelEmaV3``, with its optional warmup.

  With ``s = t - update_after_step`` (``t`` the update count from 0):

  .. math::
    d_t = \\begin{cases}
      0 & s \\le 0 \\\\
      \\max\\left(\\min\\left(1 - (1 + s / \\gamma)^{-p}, d\\right), d_{min}\\right)
        & s > 0, \\text{ use\\_warmup} \\\\
      d & s > 0, \\text{ otherwise}
    \\end{cases}

  timm: ``ModelEmaV3(model, decay, min_decay, update_after_step, use_warmup,
  warmup_gamma, warmup_power).get_decay(step)`` with ``step = t + 1``: timm's
  ``train.py`` calls ``model_ema.update(model, step=num_updates)`` after
  incrementing ``num_updates``, so its first update passes ``step=1``, and
  ``get_decay`` takes ``max(0, step - update_after_step - 1)``. A decay of 0
  copies the model into the average. ``inv_gamma=1, power=2/3`` reaches 0.999
  at 31.6K updates, ``power=3/4`` at 10K (timm's notes).

  Use it as the decay of :func:`jaxsched.ema_params`. In float32 a decay
  near 1 holds ``1 - d`` to about 6e-8 absolute (6e-4 relative at 0.9999).

  Args:
    decay: the largest decay ``d``, in [0, 1].
    min_decay: the smallest decay once the average runs, in [0, 1].
    update_after_step: updates during which the average copies the model, >= 0.
    use_warmup: the warmup ``1 - (1 + s / gamma)^(-p)`` (static flag).
    warmup_gamma: ``gamma``, > 0.
    warmup_power: ``p``, > 0.

  Returns:
    An ``optax.Schedule`` of the decay.

  Examples:
    >>> import jax.numpy as jnp, jaxsched
    >>> d = jaxsched.timm_ema_decay(decay=0.99, use_warmup=True, warmup_power=1.0)
    >>> [round(float(v), 4) for v in d(jnp.arange(4))]  # 1 - 1 / (1 + s)
    [0.0, 0.5, 0.6667, 0.75]

  References:
    timm ``timm/utils/model_ema.py`` (``ModelEmaV3.get_decay``), after the EMA
    warmup of Crowson's k-diffusion (``EMAWarmup``); Karras et al., 2024,
    Analyzing and Improving the Training Dynamics of Diffusion Models, argue
    for averages whose length grows with training (their power-function EMA
    is a different formula): https://arxiv.org/abs/2312.02696
  """
  fn = "timm_ema_decay"
  c.check_real(fn, "decay", decay, low=0.0, high=1.0)
  c.check_real(fn, "min_decay", min_decay, low=0.0, high=1.0)
  c.check_steps(fn, "update_after_step", update_after_step)
  c.check_bool(fn, "use_warmup", use_warmup)
  c.check_real(fn, "warmup_gamma", warmup_gamma, low=0.0, low_open=True)
  c.check_real(fn, "warmup_power", warmup_power, low=0.0, low_open=True)
  dtype = c.value_dtype(decay, min_decay, warmup_gamma, warmup_power)

  def schedule(count):
    s = c.as_count(count) - c.as_steps(update_after_step)
    top = c.as_value(decay, dtype)
    if use_warmup:
      x = s.astype(dtype) / c.as_value(warmup_gamma, dtype)
      warm = -jnp.expm1(-c.as_value(warmup_power, dtype) * jnp.log1p(jnp.maximum(x, 0.0)))
      value = jnp.maximum(jnp.minimum(warm, top), c.as_value(min_decay, dtype))
    else:
      value = jnp.broadcast_to(top, s.shape)
    return c.finish(jnp.where(s > 0, value, 0.0))

  return schedule


def ema_sqrt_weight(
  beta: ArrayLike = 0.999,
  switch_step: int | ArrayLike = 100_000,
  decay_steps: int | ArrayLike = 100_000,
) -> optax.Schedule:
  """Levanter's averaging weights: constant, then a ``1 - sqrt`` cooldown.

  .. math::
    w_t = \\begin{cases}
      1 - \\beta & t < t_s \\\\
      1 - \\sqrt{\\min(1, (t - t_s) / D)} & t \\ge t_s
    \\end{cases}

  Levanter: ``EmaDecaySqrtModelAveraging(beta, switch_step, decay_steps)``
  (config ``ema_decay_sqrt``), whose ``update(model, step)`` is called with
  the step before its increment (update ``t``) and keeps
  ``average += (w_t / sum_{j<=t} w_j) (model - average)``: use this schedule as
  the weight of :func:`jaxsched.average_params`. Despite its name the first
  phase is a uniform mean (equal weights ``1 - beta``); ``beta`` sets how
  little that phase weighs against the cooldown's weights (which start at
  1). Past ``switch_step + decay_steps`` the weight is 0 and the average stops
  changing.

  Args:
    beta: the first phase's weight is ``1 - beta``; in [0, 1].
    switch_step: the update where the cooldown of the weights starts, >= 0.
    decay_steps: length ``D`` of that cooldown, >= 1.

  Returns:
    An ``optax.Schedule`` of the weight.

  Examples:
    >>> import jax.numpy as jnp, jaxsched
    >>> w = jaxsched.ema_sqrt_weight(beta=0.9, switch_step=2, decay_steps=4)
    >>> [round(float(v), 4) for v in w(jnp.arange(7))]
    [0.1, 0.1, 1.0, 0.5, 0.2929, 0.134, 0.0]

  References:
    Levanter ``src/levanter/optim/model_averaging.py``; Hägele et al., 2024,
    Scaling Laws and Compute-Optimal Training Beyond Fixed Training
    Durations (the 1-sqrt cooldown): https://arxiv.org/abs/2405.18392
  """
  fn = "ema_sqrt_weight"
  c.check_real(fn, "beta", beta, low=0.0, high=1.0)
  c.check_steps(fn, "switch_step", switch_step)
  c.check_steps(fn, "decay_steps", decay_steps, minimum=1)
  dtype = c.value_dtype(beta)

  def schedule(count):
    t = c.as_count(count)
    start = c.as_steps(switch_step)
    cooling = c.decay_factor("1-sqrt", c.progress(t, start, c.as_steps(decay_steps), dtype))
    return c.finish(jnp.where(t < start, c.one_minus(beta, dtype), cooling))

  return schedule


def swa_lr(
  init_value: ArrayLike,
  end_value: ArrayLike,
  anneal_steps: int | ArrayLike = 10,
  anneal_strategy: str = "cos",
) -> optax.Schedule:
  """PyTorch's ``SWALR``: anneal from the current rate to the SWA rate, then hold it.

  .. math::
    \\eta_t = \\eta_{swa} \\, a(\\tau) + \\eta_0 (1 - a(\\tau)), \\qquad
    \\tau = \\min\\left(1, \\frac{t}{\\max(1, A)}\\right), \\qquad
    a(\\tau) = \\begin{cases}
      (1 - \\cos \\pi \\tau) / 2 & \\text{cos} \\\\ \\tau & \\text{linear}
    \\end{cases}

  and ``eta_t = eta_swa`` at every step when ``A = 0``.

  PyTorch: ``SWALR(optimizer, swa_lr=end_value, anneal_epochs=anneal_steps,
  anneal_strategy)`` built when the optimizer's rate is ``init_value`` (SWALR
  starts from the optimizer's current rate, whatever schedule set it), after
  ``t`` calls of ``swa_scheduler.step()``. Its recursive form (recovering the
  start rate from the current one at every step) equals this closed form.
  To switch to it at update ``s`` of another schedule, use
  ``jaxsched.sequential([schedule, swa_lr(schedule(s), ...)], boundaries=[s])``.

  Args:
    init_value: the rate when the annealing starts, >= 0.
    end_value: the SWA rate ``eta_swa`` it anneals to and holds, >= 0.
    anneal_steps: length ``A`` of the annealing, >= 0 (steps of the
      scheduler: PyTorch's ``anneal_epochs``).
    anneal_strategy: ``"cos"`` or ``"linear"``.

  Returns:
    An ``optax.Schedule``.

  Examples:
    >>> import jax.numpy as jnp, jaxsched
    >>> s = jaxsched.swa_lr(0.1, 0.02, anneal_steps=4, anneal_strategy="linear")
    >>> [round(float(v), 4) for v in s(jnp.arange(6))]
    [0.1, 0.08, 0.06, 0.04, 0.02, 0.02]

  References:
    Izmailov et al., 2018, Averaging Weights Leads to Wider Optima and Better
    Generalization: https://arxiv.org/abs/1803.05407
  """
  fn = "swa_lr"
  c.check_real(fn, "init_value", init_value, low=0.0)
  c.check_real(fn, "end_value", end_value, low=0.0)
  c.check_steps(fn, "anneal_steps", anneal_steps)
  c.check_choice(fn, "anneal_strategy", anneal_strategy, ANNEAL_STRATEGIES)
  dtype = c.value_dtype(init_value, end_value)

  def schedule(count):
    t = c.as_count(count)
    n = c.as_steps(anneal_steps)
    tau = jnp.where(n == 0, 1.0, c.fraction(t, n, dtype)).astype(dtype)
    start_weight = c.cosine_weight(tau) if anneal_strategy == "cos" else 1.0 - tau
    return c.finish(
      c.mix(c.as_value(init_value, dtype), c.as_value(end_value, dtype), start_weight)
    )

  return schedule
