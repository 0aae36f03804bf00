"""Closed-form schedules: every one an ``optax.Schedule``, a pure function of the step.

``_decay.py`` (PyTorch's decays), ``_warmup.py`` (warmups and transformers'
warmup-then-decay schedules), ``_cyclic.py`` (CyclicLR, OneCycleLR),
``_phases.py`` (the studies' phase schedules), ``_piecewise.py`` (straight
lines through given points), ``_composition.py`` (schedules made of
schedules), ``_timm.py`` (timm's schedulers and LR noise),
``_pytorch_optimizer.py`` (pytorch_optimizer's schedulers), ``_averaging.py``
(EMA decays and averaging weights, SWALR), ``_units.py`` (batch-size schedules,
schedules in samples or tokens, per-update counting).
"""

from jaxsched.schedules._averaging import ema_sqrt_weight
from jaxsched.schedules._averaging import swa_lr
from jaxsched.schedules._averaging import timm_ema_decay
from jaxsched.schedules._composition import adaptive_momentum
from jaxsched.schedules._composition import chained
from jaxsched.schedules._composition import cooldown
from jaxsched.schedules._composition import sequential
from jaxsched.schedules._cyclic import cyclic
from jaxsched.schedules._cyclic import cyclic_momentum
from jaxsched.schedules._cyclic import one_cycle
from jaxsched.schedules._cyclic import one_cycle_momentum
from jaxsched.schedules._decay import constant
from jaxsched.schedules._decay import constant_factor
from jaxsched.schedules._decay import cosine_annealing
from jaxsched.schedules._decay import cosine_warm_restarts
from jaxsched.schedules._decay import exponential_decay
from jaxsched.schedules._decay import linear_factor
from jaxsched.schedules._decay import multistep_decay
from jaxsched.schedules._decay import polynomial_decay
from jaxsched.schedules._decay import step_decay
from jaxsched.schedules._phases import bias_mitigation
from jaxsched.schedules._phases import grokking
from jaxsched.schedules._piecewise import piecewise_linear
from jaxsched.schedules._pytorch_optimizer import chebyshev
from jaxsched.schedules._pytorch_optimizer import cosine_annealing_warmup_restarts
from jaxsched.schedules._pytorch_optimizer import proportion
from jaxsched.schedules._pytorch_optimizer import rex
from jaxsched.schedules._pytorch_optimizer import warmup_poly_growth
from jaxsched.schedules._timm import timm_cosine
from jaxsched.schedules._timm import timm_multistep
from jaxsched.schedules._timm import timm_poly
from jaxsched.schedules._timm import timm_step
from jaxsched.schedules._timm import timm_tanh
from jaxsched.schedules._timm import timm_wsd
from jaxsched.schedules._timm import with_noise
from jaxsched.schedules._units import BatchSchedule
from jaxsched.schedules._units import consumed
from jaxsched.schedules._units import in_units
from jaxsched.schedules._units import per_update
from jaxsched.schedules._units import rampup_batch_size
from jaxsched.schedules._units import staged_batch_size
from jaxsched.schedules._units import steps_for
from jaxsched.schedules._warmup import inverse_sqrt
from jaxsched.schedules._warmup import noam
from jaxsched.schedules._warmup import untuned_warmup
from jaxsched.schedules._warmup import warmup
from jaxsched.schedules._warmup import warmup_constant
from jaxsched.schedules._warmup import warmup_cosine
from jaxsched.schedules._warmup import warmup_cosine_restarts
from jaxsched.schedules._warmup import warmup_linear
from jaxsched.schedules._warmup import warmup_polynomial
from jaxsched.schedules._warmup import warmup_stable_decay
from jaxsched.schedules._warmup import warmup_stable_decay_cycles

__all__ = (
  "BatchSchedule",
  "adaptive_momentum",
  "bias_mitigation",
  "chained",
  "chebyshev",
  "constant",
  "constant_factor",
  "consumed",
  "cooldown",
  "cosine_annealing",
  "cosine_annealing_warmup_restarts",
  "cosine_warm_restarts",
  "cyclic",
  "cyclic_momentum",
  "ema_sqrt_weight",
  "exponential_decay",
  "grokking",
  "in_units",
  "inverse_sqrt",
  "linear_factor",
  "multistep_decay",
  "noam",
  "one_cycle",
  "one_cycle_momentum",
  "per_update",
  "piecewise_linear",
  "polynomial_decay",
  "proportion",
  "rampup_batch_size",
  "rex",
  "sequential",
  "staged_batch_size",
  "step_decay",
  "steps_for",
  "swa_lr",
  "timm_cosine",
  "timm_ema_decay",
  "timm_multistep",
  "timm_poly",
  "timm_step",
  "timm_tanh",
  "timm_wsd",
  "untuned_warmup",
  "warmup",
  "warmup_constant",
  "warmup_cosine",
  "warmup_cosine_restarts",
  "warmup_linear",
  "warmup_poly_growth",
  "warmup_polynomial",
  "warmup_stable_decay",
  "warmup_stable_decay_cycles",
  "with_noise",
)
