"""Optax transformations: the metric-driven state machines, gradient filters, layer-wise rates.

``_plateau.py`` (reduce_on_plateau, adaptive_step_decay, phase_transition),
``_greedy.py`` (greedy_lr), with the observation helpers they share in
``_observe.py``; ``_scale.py`` (the scale they hold, read from any optimizer
state); ``_grokfast.py`` (a gradient filter); ``_layerwise.py`` (multipliers by
parameter path); ``_averaging.py`` (averages of the parameters kept in the
state); ``_schedule_free.py`` (Schedule-Free AdamW and SGD, whole optimizers).
"""

from jaxsched.transforms._averaging import average_params
from jaxsched.transforms._averaging import AverageParamsState
from jaxsched.transforms._averaging import ema_params
from jaxsched.transforms._averaging import EmaParamsState
from jaxsched.transforms._greedy import greedy_lr
from jaxsched.transforms._greedy import GreedyLRState
from jaxsched.transforms._grokfast import grokfast_ema
from jaxsched.transforms._grokfast import GrokfastEmaState
from jaxsched.transforms._layerwise import layerwise
from jaxsched.transforms._layerwise import layerwise_decay
from jaxsched.transforms._layerwise import TRANSFORMER_MULTIPLIERS
from jaxsched.transforms._plateau import adaptive_step_decay
from jaxsched.transforms._plateau import AdaptiveStepDecayState
from jaxsched.transforms._plateau import phase_transition
from jaxsched.transforms._plateau import PhaseTransitionState
from jaxsched.transforms._plateau import reduce_on_plateau
from jaxsched.transforms._plateau import ReduceOnPlateauState
from jaxsched.transforms._scale import current_learning_rate
from jaxsched.transforms._scale import current_scale
from jaxsched.transforms._schedule_free import schedule_free_adamw
from jaxsched.transforms._schedule_free import schedule_free_eval_params
from jaxsched.transforms._schedule_free import schedule_free_sgd
from jaxsched.transforms._schedule_free import ScheduleFreeState

__all__ = (
  "AdaptiveStepDecayState",
  "AverageParamsState",
  "EmaParamsState",
  "GreedyLRState",
  "GrokfastEmaState",
  "PhaseTransitionState",
  "ReduceOnPlateauState",
  "ScheduleFreeState",
  "TRANSFORMER_MULTIPLIERS",
  "adaptive_step_decay",
  "average_params",
  "current_learning_rate",
  "current_scale",
  "ema_params",
  "greedy_lr",
  "grokfast_ema",
  "layerwise",
  "layerwise_decay",
  "phase_transition",
  "reduce_on_plateau",
  "schedule_free_adamw",
  "schedule_free_eval_params",
  "schedule_free_sgd",
)
