"""Optax transformations: the metric-driven state machines, gradient filters, layer-wise rates.

``_plateau.py`` (reduce_on_plateau, adaptive_step_decay, phase_transition),
``_greedy.py`` (greedy_lr), with the observation helpers they share in
``_observe.py``; ``_scale.py`` (the scale they hold, read from any optimizer
state); ``_grokfast.py`` (a gradient filter); ``_layerwise.py`` (multipliers by
parameter path).
"""

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

__all__ = (
  "AdaptiveStepDecayState",
  "GreedyLRState",
  "GrokfastEmaState",
  "PhaseTransitionState",
  "ReduceOnPlateauState",
  "TRANSFORMER_MULTIPLIERS",
  "adaptive_step_decay",
  "current_learning_rate",
  "current_scale",
  "greedy_lr",
  "grokfast_ema",
  "layerwise",
  "layerwise_decay",
  "phase_transition",
  "reduce_on_plateau",
)
