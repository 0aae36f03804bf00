"""jaxsched: learning-rate schedules for JAX and Optax that match PyTorch.

Every schedule is an ``optax.Schedule``: a pure, jit-compatible function of the
step. ``sched(t)`` is the rate the optimizer uses for its update number ``t``
(Optax's count, from 0), which is the rate a PyTorch optimizer uses after ``t``
calls of ``scheduler.step()``. Numeric hyperparameters may be JAX arrays, so a
sweep over them is one ``jax.vmap``.

Every public name is re-exported here. The code lives in private modules
grouped by concern: ``schedules/`` (closed-form schedules), ``transforms/``
(Optax transformations), ``porting/`` (from and to PyTorch, transformers and
timm), ``tools/`` (LR range test, plots, the command line), with the shared
pieces (``_common.py``), the registry (``_catalog.py``) and configs
(``_config.py``) at the top, and ``laws/`` (loss-curve laws: what a schedule
will do to the loss). Modules import downward only: ``_common`` <-
``schedules`` <- ``transforms`` <- ``porting`` <- ``_catalog``, ``_config`` <-
``laws`` <- ``tools``.
"""

from jaxsched._catalog import catalog
from jaxsched._catalog import Entry
from jaxsched._catalog import registry
from jaxsched._config import from_config
from jaxsched._config import load_config
from jaxsched._config import resolve_config
from jaxsched._config import ResolvedConfig
from jaxsched._config import TrainingSetup
from jaxsched.laws import evaluate_law
from jaxsched.laws import fit_loss_law
from jaxsched.laws import LawError
from jaxsched.laws import load_curves
from jaxsched.laws import LossLaw
from jaxsched.laws import lr_areas
from jaxsched.laws import LRAreas
from jaxsched.laws import optimize_schedule
from jaxsched.laws import OptimizedSchedule
from jaxsched.porting import compare
from jaxsched.porting import Comparison
from jaxsched.porting import from_torch
from jaxsched.porting import get_scheduler
from jaxsched.porting import LearningRateAndMomentum
from jaxsched.porting import PlateauConversion
from jaxsched.porting import to_torch
from jaxsched.schedules import adaptive_momentum
from jaxsched.schedules import BatchSchedule
from jaxsched.schedules import bias_mitigation
from jaxsched.schedules import chained
from jaxsched.schedules import chebyshev
from jaxsched.schedules import constant
from jaxsched.schedules import constant_factor
from jaxsched.schedules import consumed
from jaxsched.schedules import cooldown
from jaxsched.schedules import cosine_annealing
from jaxsched.schedules import cosine_annealing_warmup_restarts
from jaxsched.schedules import cosine_warm_restarts
from jaxsched.schedules import cyclic
from jaxsched.schedules import cyclic_momentum
from jaxsched.schedules import ema_sqrt_weight
from jaxsched.schedules import exponential_decay
from jaxsched.schedules import grokking
from jaxsched.schedules import in_units
from jaxsched.schedules import inverse_sqrt
from jaxsched.schedules import linear_factor
from jaxsched.schedules import multistep_decay
from jaxsched.schedules import noam
from jaxsched.schedules import one_cycle
from jaxsched.schedules import one_cycle_momentum
from jaxsched.schedules import per_update
from jaxsched.schedules import piecewise_linear
from jaxsched.schedules import polynomial_decay
from jaxsched.schedules import proportion
from jaxsched.schedules import rampup_batch_size
from jaxsched.schedules import rex
from jaxsched.schedules import sequential
from jaxsched.schedules import staged_batch_size
from jaxsched.schedules import step_decay
from jaxsched.schedules import steps_for
from jaxsched.schedules import swa_lr
from jaxsched.schedules import timm_cosine
from jaxsched.schedules import timm_ema_decay
from jaxsched.schedules import timm_multistep
from jaxsched.schedules import timm_poly
from jaxsched.schedules import timm_step
from jaxsched.schedules import timm_tanh
from jaxsched.schedules import timm_wsd
from jaxsched.schedules import untuned_warmup
from jaxsched.schedules import warmup
from jaxsched.schedules import warmup_constant
from jaxsched.schedules import warmup_cosine
from jaxsched.schedules import warmup_cosine_restarts
from jaxsched.schedules import warmup_linear
from jaxsched.schedules import warmup_poly_growth
from jaxsched.schedules import warmup_polynomial
from jaxsched.schedules import warmup_stable_decay
from jaxsched.schedules import warmup_stable_decay_cycles
from jaxsched.schedules import with_noise
from jaxsched.tools import inspect
from jaxsched.tools import lr_find
from jaxsched.tools import LRFinderResult
from jaxsched.tools import plot
from jaxsched.tools import plot_law
from jaxsched.tools import ScheduleSummary
from jaxsched.transforms import adaptive_step_decay
from jaxsched.transforms import AdaptiveStepDecayState
from jaxsched.transforms import average_params
from jaxsched.transforms import AverageParamsState
from jaxsched.transforms import current_learning_rate
from jaxsched.transforms import current_scale
from jaxsched.transforms import ema_params
from jaxsched.transforms import EmaParamsState
from jaxsched.transforms import greedy_lr
from jaxsched.transforms import GreedyLRState
from jaxsched.transforms import grokfast_ema
from jaxsched.transforms import GrokfastEmaState
from jaxsched.transforms import layerwise
from jaxsched.transforms import layerwise_decay
from jaxsched.transforms import phase_transition
from jaxsched.transforms import PhaseTransitionState
from jaxsched.transforms import reduce_on_plateau
from jaxsched.transforms import ReduceOnPlateauState
from jaxsched.transforms import schedule_free_adamw
from jaxsched.transforms import schedule_free_eval_params
from jaxsched.transforms import schedule_free_sgd
from jaxsched.transforms import ScheduleFreeState
from jaxsched.transforms import TRANSFORMER_MULTIPLIERS

__version__ = "0.1.0"

__all__ = (
  "AdaptiveStepDecayState",
  "AverageParamsState",
  "BatchSchedule",
  "Comparison",
  "EmaParamsState",
  "Entry",
  "GreedyLRState",
  "GrokfastEmaState",
  "LRAreas",
  "LRFinderResult",
  "LawError",
  "LearningRateAndMomentum",
  "LossLaw",
  "OptimizedSchedule",
  "PhaseTransitionState",
  "PlateauConversion",
  "ReduceOnPlateauState",
  "ResolvedConfig",
  "ScheduleFreeState",
  "ScheduleSummary",
  "TRANSFORMER_MULTIPLIERS",
  "TrainingSetup",
  "adaptive_momentum",
  "adaptive_step_decay",
  "average_params",
  "bias_mitigation",
  "catalog",
  "chained",
  "chebyshev",
  "compare",
  "constant",
  "constant_factor",
  "consumed",
  "cooldown",
  "cosine_annealing",
  "cosine_annealing_warmup_restarts",
  "cosine_warm_restarts",
  "current_learning_rate",
  "current_scale",
  "cyclic",
  "cyclic_momentum",
  "ema_params",
  "ema_sqrt_weight",
  "evaluate_law",
  "exponential_decay",
  "fit_loss_law",
  "from_config",
  "from_torch",
  "get_scheduler",
  "greedy_lr",
  "grokfast_ema",
  "grokking",
  "in_units",
  "inspect",
  "inverse_sqrt",
  "layerwise",
  "layerwise_decay",
  "linear_factor",
  "load_config",
  "load_curves",
  "lr_areas",
  "lr_find",
  "multistep_decay",
  "noam",
  "one_cycle",
  "one_cycle_momentum",
  "optimize_schedule",
  "per_update",
  "phase_transition",
  "piecewise_linear",
  "plot",
  "plot_law",
  "polynomial_decay",
  "proportion",
  "rampup_batch_size",
  "reduce_on_plateau",
  "registry",
  "resolve_config",
  "rex",
  "schedule_free_adamw",
  "schedule_free_eval_params",
  "schedule_free_sgd",
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
  "to_torch",
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
