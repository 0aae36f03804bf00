"""The registry: every factory of jaxsched by name, with the reference it matches.

One table, built at import from the factory modules themselves. ``from_config``
builds its ``{"type": NAME}`` configs from it, the command line lists, plots
and inspects its schedules, and the tests derive their factory lists from it.
"""

import types
from typing import Callable, Mapping, NamedTuple

from jaxsched.schedules import _composition
from jaxsched.schedules import _cyclic
from jaxsched.schedules import _decay
from jaxsched.schedules import _phases
from jaxsched.schedules import _timm
from jaxsched.schedules import _warmup
from jaxsched.transforms import _greedy
from jaxsched.transforms import _grokfast
from jaxsched.transforms import _layerwise
from jaxsched.transforms import _plateau

SCHEDULE = "schedule"  # an optax.Schedule: step -> learning rate (or momentum)
# an optax.GradientTransformation driven by a metric or the gradients
TRANSFORMATION = "transformation"
LAYERWISE = "layerwise"  # an optax.GradientTransformation scaling updates by parameter path
KINDS = (SCHEDULE, TRANSFORMATION, LAYERWISE)


class Entry(NamedTuple):
  """One factory of jaxsched.

  Attributes:
    name: the public name, ``jaxsched.<name>`` and ``{"type": name}``.
    factory: the function.
    equivalent: the reference implementation it matches (PyTorch, transformers,
      timm, a paper or a seed document).
    kind: ``"schedule"`` (returns an ``optax.Schedule``), ``"transformation"``
      or ``"layerwise"`` (return an ``optax.GradientTransformation``).
    nested: the parameters that take schedules (built from nested configs).
  """

  name: str
  factory: Callable
  equivalent: str
  kind: str = SCHEDULE
  nested: tuple = ()


def _entry(factory: Callable, equivalent: str, kind: str = SCHEDULE, nested: tuple = ()) -> Entry:
  return Entry(factory.__name__, factory, equivalent, kind, nested)


_ENTRIES = (
  _entry(_decay.constant, "a constant lr (no scheduler)"),
  _entry(_decay.constant_factor, "torch ConstantLR(factor, total_iters)"),
  _entry(_decay.linear_factor, "torch LinearLR(start_factor, end_factor, total_iters)"),
  _entry(_decay.step_decay, "torch StepLR(step_size, gamma)"),
  _entry(_decay.multistep_decay, "torch MultiStepLR(milestones, gamma)"),
  _entry(_decay.exponential_decay, "torch ExponentialLR(gamma); optax.exponential_decay"),
  _entry(
    _decay.polynomial_decay, "torch PolynomialLR(total_iters, power); optax.polynomial_schedule"
  ),
  _entry(_decay.cosine_annealing, "torch CosineAnnealingLR(T_max, eta_min)"),
  _entry(_decay.cosine_warm_restarts, "torch CosineAnnealingWarmRestarts(T_0, T_mult, eta_min)"),
  _entry(_cyclic.cyclic, "torch CyclicLR(base_lr, max_lr, ..., mode, gamma)"),
  _entry(_cyclic.cyclic_momentum, "torch CyclicLR(cycle_momentum=True) momentum"),
  _entry(_cyclic.one_cycle, "torch OneCycleLR(max_lr, total_steps, ...)"),
  _entry(_cyclic.one_cycle_momentum, "torch OneCycleLR momentum / Adam beta1"),
  _entry(_warmup.warmup, "seed warmups: linear, cosine, exponential, polynomial, 1-sqrt"),
  _entry(_warmup.warmup_constant, "transformers get_constant_schedule_with_warmup"),
  _entry(_warmup.warmup_linear, "transformers get_linear_schedule_with_warmup"),
  _entry(_warmup.warmup_cosine, "transformers get_cosine_(with_min_lr_)schedule_with_warmup"),
  _entry(
    _warmup.warmup_cosine_restarts,
    "transformers get_cosine_with_hard_restarts_schedule_with_warmup",
  ),
  _entry(_warmup.warmup_polynomial, "transformers get_polynomial_decay_schedule_with_warmup"),
  _entry(_warmup.inverse_sqrt, "transformers get_inverse_sqrt_schedule"),
  _entry(_warmup.noam, "Vaswani et al. 2017, with step n = t + 1"),
  _entry(_warmup.warmup_stable_decay, "transformers get_wsd_schedule"),
  _entry(
    _warmup.warmup_stable_decay_cycles,
    "levanter WSD with cycles and re-warmup (WSD-S, Wen et al. 2024)",
  ),
  _entry(
    _warmup.untuned_warmup,
    "pytorch_warmup UntunedLinearWarmup / UntunedExponentialWarmup (Ma & Yarats 2019)",
  ),
  _entry(_timm.timm_cosine, "timm CosineLRScheduler (cycles, k_decay, warmup_prefix)"),
  _entry(_timm.timm_tanh, "timm TanhLRScheduler(lb, ub, cycles, warmup)"),
  _entry(_timm.timm_poly, "timm PolyLRScheduler(power, cycles, k_decay, warmup)"),
  _entry(_timm.timm_step, "timm StepLRScheduler(decay_t, decay_rate, warmup)"),
  _entry(_timm.timm_multistep, "timm MultiStepLRScheduler(decay_t, decay_rate, warmup)"),
  _entry(_phases.grokking, "seed GrokkingScheduler (warmup, cosine, floor)"),
  _entry(_phases.bias_mitigation, "seed BiasScheduler (high, plateau, cosine)"),
  _entry(
    _composition.sequential, "torch SequentialLR(schedulers, milestones)", nested=("schedules",)
  ),
  _entry(_composition.chained, "torch ChainedScheduler(schedulers)", nested=("factor_schedules",)),
  _entry(
    _composition.adaptive_momentum,
    "momentum falling as the LR rises (seed AdaptiveMomentumScheduler)",
    nested=("lr_schedule",),
  ),
  _entry(
    _composition.cooldown,
    "cooldown of any schedule from any step (WSD-S; Hägele et al. 2024)",
    nested=("schedule",),
  ),
  _entry(
    _timm.with_noise,
    "timm LR noise (noise_range_t, noise_pct, noise_std, noise_type)",
    nested=("schedule",),
  ),
  _entry(
    _plateau.reduce_on_plateau,
    "torch ReduceLROnPlateau; transformers reduce_lr_on_plateau",
    TRANSFORMATION,
  ),
  _entry(_greedy.greedy_lr, "transformers GreedyLR; get_scheduler('greedy')", TRANSFORMATION),
  _entry(
    _plateau.adaptive_step_decay, "seed AdaptiveScheduler (decay on a plateau)", TRANSFORMATION
  ),
  _entry(_plateau.phase_transition, "seed phase-transition scheduler (grokking)", TRANSFORMATION),
  _entry(_grokfast.grokfast_ema, "Grokfast-EMA gradient filter (Lee et al. 2024)", TRANSFORMATION),
  _entry(_layerwise.layerwise, "torch param groups with their own lr (by name pattern)", LAYERWISE),
  _entry(_layerwise.layerwise_decay, "layer-wise LR decay (BEiT, ELECTRA)", LAYERWISE),
)

REGISTRY: Mapping[str, Entry] = types.MappingProxyType({e.name: e for e in _ENTRIES})


def registry() -> Mapping[str, Entry]:
  """Every factory of jaxsched by name: schedules and gradient transformations.

  Returns:
    A read-only mapping ``name -> Entry(name, factory, equivalent, kind,
    nested)``, in the README's order.

  Examples:
    >>> import jaxsched
    >>> jaxsched.registry()["reduce_on_plateau"].kind
    'transformation'
  """
  return REGISTRY


def catalog() -> tuple[Entry, ...]:
  """Every schedule (``kind == "schedule"``) with the reference implementation it matches.

  Returns:
    A tuple of ``Entry(name, factory, equivalent, kind, nested)``, in the
    README's order.

  Examples:
    >>> import jaxsched
    >>> jaxsched.catalog()[0].name
    'constant'
  """
  return tuple(e for e in _ENTRIES if e.kind == SCHEDULE)
