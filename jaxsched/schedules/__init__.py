"""Closed-form schedules: every one an ``optax.Schedule``, a pure function of the step.

``_decay.py`` (PyTorch's decays), ``_warmup.py`` (warmups and transformers'
warmup-then-decay schedules), ``_cyclic.py`` (CyclicLR, OneCycleLR),
``_phases.py`` (the studies' phase schedules), ``_composition.py`` (schedules
made of schedules), ``_timm.py`` (timm's schedulers and LR noise),
``_pytorch_optimizer.py`` (pytorch_optimizer's schedulers).
"""

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
  "adaptive_momentum",
  "bias_mitigation",
  "chained",
  "chebyshev",
  "constant",
  "constant_factor",
  "cooldown",
  "cosine_annealing",
  "cosine_annealing_warmup_restarts",
  "cosine_warm_restarts",
  "cyclic",
  "cyclic_momentum",
  "exponential_decay",
  "grokking",
  "inverse_sqrt",
  "linear_factor",
  "multistep_decay",
  "noam",
  "one_cycle",
  "one_cycle_momentum",
  "polynomial_decay",
  "proportion",
  "rex",
  "sequential",
  "step_decay",
  "timm_cosine",
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
