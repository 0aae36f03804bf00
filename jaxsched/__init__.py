"""jaxsched: learning-rate schedules for JAX and Optax that match PyTorch.

Every schedule is an ``optax.Schedule``: a pure, jit-compatible function of the
step. ``sched(t)`` is the rate the optimizer uses for its update number ``t``
(Optax's count, from 0), which is the rate a PyTorch optimizer uses after ``t``
calls of ``scheduler.step()``. Numeric hyperparameters may be JAX arrays, so a
sweep over them is one ``jax.vmap``.
"""

from jaxsched._adaptive import adaptive_step_decay
from jaxsched._adaptive import AdaptiveStepDecayState
from jaxsched._adaptive import current_learning_rate
from jaxsched._adaptive import current_scale
from jaxsched._adaptive import phase_transition
from jaxsched._adaptive import PhaseTransitionState
from jaxsched._adaptive import reduce_on_plateau
from jaxsched._adaptive import ReduceOnPlateauState
from jaxsched._catalog import catalog
from jaxsched._catalog import Entry
from jaxsched._catalog import registry
from jaxsched._composition import adaptive_momentum
from jaxsched._composition import chained
from jaxsched._composition import cooldown
from jaxsched._composition import sequential
from jaxsched._config import from_config
from jaxsched._config import load_config
from jaxsched._config import resolve_config
from jaxsched._config import ResolvedConfig
from jaxsched._config import TrainingSetup
from jaxsched._cyclic import cyclic
from jaxsched._cyclic import cyclic_momentum
from jaxsched._cyclic import one_cycle
from jaxsched._cyclic import one_cycle_momentum
from jaxsched._decay import constant
from jaxsched._decay import constant_factor
from jaxsched._decay import cosine_annealing
from jaxsched._decay import cosine_warm_restarts
from jaxsched._decay import exponential_decay
from jaxsched._decay import linear_factor
from jaxsched._decay import multistep_decay
from jaxsched._decay import polynomial_decay
from jaxsched._decay import step_decay
from jaxsched._finder import lr_find
from jaxsched._finder import LRFinderResult
from jaxsched._greedy import greedy_lr
from jaxsched._greedy import GreedyLRState
from jaxsched._grokfast import grokfast_ema
from jaxsched._grokfast import GrokfastEmaState
from jaxsched._layerwise import layerwise
from jaxsched._layerwise import layerwise_decay
from jaxsched._layerwise import TRANSFORMER_MULTIPLIERS
from jaxsched._phases import bias_mitigation
from jaxsched._phases import grokking
from jaxsched._plotting import inspect
from jaxsched._plotting import plot
from jaxsched._plotting import ScheduleSummary
from jaxsched._porting import compare
from jaxsched._porting import Comparison
from jaxsched._porting import from_torch
from jaxsched._porting import get_scheduler
from jaxsched._porting import LearningRateAndMomentum
from jaxsched._porting import PlateauConversion
from jaxsched._porting import to_torch
from jaxsched._timm import timm_cosine
from jaxsched._timm import timm_multistep
from jaxsched._timm import timm_poly
from jaxsched._timm import timm_step
from jaxsched._timm import timm_tanh
from jaxsched._timm import with_noise
from jaxsched._warmup import inverse_sqrt
from jaxsched._warmup import noam
from jaxsched._warmup import untuned_warmup
from jaxsched._warmup import warmup
from jaxsched._warmup import warmup_constant
from jaxsched._warmup import warmup_cosine
from jaxsched._warmup import warmup_cosine_restarts
from jaxsched._warmup import warmup_linear
from jaxsched._warmup import warmup_polynomial
from jaxsched._warmup import warmup_stable_decay
from jaxsched._warmup import warmup_stable_decay_cycles

__version__ = "0.1.0"

__all__ = (
  "AdaptiveStepDecayState",
  "Comparison",
  "Entry",
  "GreedyLRState",
  "GrokfastEmaState",
  "LRFinderResult",
  "LearningRateAndMomentum",
  "PhaseTransitionState",
  "PlateauConversion",
  "ReduceOnPlateauState",
  "ResolvedConfig",
  "ScheduleSummary",
  "TRANSFORMER_MULTIPLIERS",
  "TrainingSetup",
  "adaptive_momentum",
  "adaptive_step_decay",
  "bias_mitigation",
  "catalog",
  "chained",
  "compare",
  "constant",
  "constant_factor",
  "cooldown",
  "cosine_annealing",
  "cosine_warm_restarts",
  "current_learning_rate",
  "current_scale",
  "cyclic",
  "cyclic_momentum",
  "exponential_decay",
  "from_config",
  "from_torch",
  "get_scheduler",
  "greedy_lr",
  "grokfast_ema",
  "grokking",
  "inspect",
  "inverse_sqrt",
  "layerwise",
  "layerwise_decay",
  "linear_factor",
  "load_config",
  "lr_find",
  "multistep_decay",
  "noam",
  "one_cycle",
  "one_cycle_momentum",
  "phase_transition",
  "plot",
  "polynomial_decay",
  "reduce_on_plateau",
  "registry",
  "resolve_config",
  "sequential",
  "step_decay",
  "timm_cosine",
  "timm_multistep",
  "timm_poly",
  "timm_step",
  "timm_tanh",
  "to_torch",
  "untuned_warmup",
  "warmup",
  "warmup_constant",
  "warmup_cosine",
  "warmup_cosine_restarts",
  "warmup_linear",
  "warmup_polynomial",
  "warmup_stable_decay",
  "warmup_stable_decay_cycles",
  "with_noise",
)
