"""The registry: every factory of jaxsched by name, with the reference it matches.

One table, built at import from the factory modules themselves. ``from_config``
builds its ``{"type": NAME}`` configs from it, the command line lists, plots
and inspects its schedules, the documentation draws each schedule's example in
its gallery, and the tests derive their factory lists and each schedule's first
case from it.
"""

import types
from typing import Any, Callable, Mapping, NamedTuple, Optional

from jaxsched.schedules import _averaging
from jaxsched.schedules import _composition
from jaxsched.schedules import _cyclic
from jaxsched.schedules import _decay
from jaxsched.schedules import _phases
from jaxsched.schedules import _piecewise
from jaxsched.schedules import _pytorch_optimizer
from jaxsched.schedules import _timm
from jaxsched.schedules import _units
from jaxsched.schedules import _warmup
from jaxsched.transforms import _averaging as _param_averaging
from jaxsched.transforms import _greedy
from jaxsched.transforms import _grokfast
from jaxsched.transforms import _layerwise
from jaxsched.transforms import _plateau
from jaxsched.transforms import _schedule_free

SCHEDULE = "schedule"  # an optax.Schedule: step -> learning rate (or momentum, EMA decay)
# an optax.GradientTransformation chained with an optimizer: driven by a metric or the
# gradients, or keeping an average of the parameters
TRANSFORMATION = "transformation"
LAYERWISE = "layerwise"  # an optax.GradientTransformation scaling updates by parameter path
# an optax.GradientTransformation that is a whole optimizer: gradients in, parameter updates out
OPTIMIZER = "optimizer"
BATCH_SIZE = "batch_size"  # a BatchSchedule: step -> global batch size (int32)
KINDS = (SCHEDULE, TRANSFORMATION, LAYERWISE, OPTIMIZER, BATCH_SIZE)


class Entry(NamedTuple):
  """One factory of jaxsched.

  Attributes:
    name: the public name, ``jaxsched.<name>`` and ``{"type": name}``.
    factory: the function.
    equivalent: the reference implementation it matches (PyTorch, transformers,
      timm, a paper or a seed document).
    kind: ``"schedule"`` (returns an ``optax.Schedule``), ``"transformation"``
      or ``"layerwise"`` (return an ``optax.GradientTransformation`` to chain
      with an optimizer), ``"optimizer"`` (returns a whole optimizer, an
      ``optax.GradientTransformation``) or ``"batch_size"`` (returns a
      :class:`jaxsched.BatchSchedule`).
    nested: the parameters that take schedules (built from nested configs).
    example: representative, valid keyword arguments as a config: plain
      numbers, strings, lists and mappings, a nested schedule given as its own
      ``{"type": ...}`` config, so that
      ``jaxsched.from_config({"type": name, **example})`` builds it. The
      documentation's gallery draws it and the tests run it first.
    rate: the keyword that is the factory's base learning rate (``peak_value``,
      ``init_value``, ``max_lr``, ``value``, ``base_lr``, ``learning_rate``), which a config's
      ``learning_rate`` fills when the config leaves it out
      (:func:`jaxsched.resolve_config`); None when it has none.
  """

  name: str
  factory: Callable
  equivalent: str
  kind: str = SCHEDULE
  nested: tuple = ()
  example: Mapping[str, Any] = types.MappingProxyType({})
  rate: Optional[str] = None


def _entry(
  factory: Callable,
  equivalent: str,
  kind: str = SCHEDULE,
  nested: tuple = (),
  *,
  example: Mapping[str, Any],
  rate: Optional[str] = None,
) -> Entry:
  return Entry(
    factory.__name__, factory, equivalent, kind, nested, types.MappingProxyType(example), rate
  )


_ENTRIES = (
  _entry(_decay.constant, "a constant lr (no scheduler)", example=dict(value=0.1), rate="value"),
  _entry(
    _decay.constant_factor,
    "torch ConstantLR(factor, total_iters)",
    example=dict(init_value=0.5, factor=0.25, total_steps=40),
    rate="init_value",
  ),
  _entry(
    _decay.linear_factor,
    "torch LinearLR(start_factor, end_factor, total_iters)",
    example=dict(init_value=1.0, start_factor=0.1, end_factor=0.5, total_steps=100),
    rate="init_value",
  ),
  _entry(
    _decay.step_decay,
    "torch StepLR(step_size, gamma)",
    example=dict(init_value=0.5, step_size=7, gamma=0.5),
    rate="init_value",
  ),
  _entry(
    _decay.multistep_decay,
    "torch MultiStepLR(milestones, gamma)",
    example=dict(init_value=1.0, milestones=[30, 80, 200]),
    rate="init_value",
  ),
  _entry(
    _decay.exponential_decay,
    "torch ExponentialLR(gamma); optax.exponential_decay",
    example=dict(init_value=1.0, gamma=0.5, transition_steps=20, staircase=True),
    rate="init_value",
  ),
  _entry(
    _decay.polynomial_decay,
    "torch PolynomialLR(total_iters, power); optax.polynomial_schedule",
    example=dict(init_value=0.1, total_steps=250, power=2.0, end_value=0.01),
    rate="init_value",
  ),
  _entry(
    _decay.cosine_annealing,
    "torch CosineAnnealingLR(T_max, eta_min)",
    example=dict(init_value=0.1, t_max=37, eta_min=0.01),
    rate="init_value",
  ),
  _entry(
    _decay.cosine_warm_restarts,
    "torch CosineAnnealingWarmRestarts(T_0, T_mult, eta_min)",
    example=dict(init_value=1.0, t_0=50),
    rate="init_value",
  ),
  _entry(
    _cyclic.cyclic,
    "torch CyclicLR(base_lr, max_lr, ..., mode, gamma)",
    example=dict(base_lr=1e-3, max_lr=1e-2),
    rate="max_lr",
  ),
  _entry(
    _cyclic.cyclic_momentum,
    "torch CyclicLR(cycle_momentum=True) momentum",
    example=dict(base_momentum=0.85, max_momentum=0.95, step_size_up=30, mode="triangular2"),
  ),
  _entry(
    _cyclic.one_cycle,
    "torch OneCycleLR(max_lr, total_steps, ...)",
    example=dict(max_lr=0.1, total_steps=200),
    rate="max_lr",
  ),
  _entry(
    _cyclic.one_cycle_momentum,
    "torch OneCycleLR momentum / Adam beta1",
    example=dict(
      total_steps=120,
      base_momentum=0.8,
      max_momentum=0.9,
      pct_start=0.4,
      anneal_strategy="linear",
      three_phase=True,
    ),
  ),
  _entry(
    _warmup.warmup,
    "seed warmups: linear, cosine, exponential, polynomial, 1-sqrt",
    example=dict(peak_value=1.0, warmup_steps=100),
    rate="peak_value",
  ),
  _entry(
    _warmup.warmup_constant,
    "transformers get_constant_schedule_with_warmup",
    example=dict(peak_value=0.1, warmup_steps=50),
    rate="peak_value",
  ),
  _entry(
    _warmup.warmup_linear,
    "transformers get_linear_schedule_with_warmup; pytorch_optimizer LinearScheduler",
    example=dict(peak_value=0.1, warmup_steps=20, total_steps=200),
    rate="peak_value",
  ),
  _entry(
    _warmup.warmup_cosine,
    "transformers get_cosine_(with_min_lr_)schedule_with_warmup; pytorch_optimizer CosineScheduler",
    example=dict(peak_value=1.0, warmup_steps=20, total_steps=200),
    rate="peak_value",
  ),
  _entry(
    _warmup.warmup_cosine_restarts,
    "transformers get_cosine_with_hard_restarts_schedule_with_warmup",
    example=dict(peak_value=1.0, warmup_steps=10, total_steps=200, num_cycles=3),
    rate="peak_value",
  ),
  _entry(
    _warmup.warmup_polynomial,
    "transformers get_polynomial_decay_schedule_with_warmup",
    example=dict(peak_value=0.1, warmup_steps=20, total_steps=200, end_value=1e-3, power=2.0),
    rate="peak_value",
  ),
  _entry(
    _warmup.inverse_sqrt,
    "transformers get_inverse_sqrt_schedule",
    example=dict(peak_value=1.0, warmup_steps=50),
    rate="peak_value",
  ),
  _entry(
    _warmup.noam,
    "Vaswani et al. 2017, with step n = t + 1",
    example=dict(d_model=64, warmup_steps=40, scale=2.0),
  ),
  _entry(
    _warmup.warmup_stable_decay,
    "transformers get_wsd_schedule",
    example=dict(peak_value=1.0, warmup_steps=20, decay_steps=50, stable_steps=100),
    rate="peak_value",
  ),
  _entry(
    _warmup.warmup_stable_decay_cycles,
    "levanter WSD with cycles and re-warmup (WSD-S, Wen et al. 2024)",
    example=dict(peak_value=0.1, warmup_steps=10, decay_steps=20, total_steps=300, cycles=3),
    rate="peak_value",
  ),
  _entry(
    _warmup.untuned_warmup,
    "pytorch_warmup UntunedLinearWarmup / UntunedExponentialWarmup (Ma & Yarats 2019)",
    example=dict(peak_value=1e-3, b2=0.99),
    rate="peak_value",
  ),
  _entry(
    _timm.timm_cosine,
    "timm CosineLRScheduler (cycles, k_decay, warmup_prefix)",
    example=dict(
      peak_value=0.1,
      t_initial=60,
      lr_min=1e-3,
      cycle_mul=2.0,
      cycle_decay=0.5,
      cycle_limit=3,
      warmup_t=10,
      warmup_lr_init=1e-4,
    ),
    rate="peak_value",
  ),
  _entry(
    _timm.timm_tanh,
    "timm TanhLRScheduler(lb, ub, cycles, warmup)",
    example=dict(peak_value=0.5, t_initial=150, lr_min=1e-3, warmup_t=5, warmup_lr_init=1e-3),
    rate="peak_value",
  ),
  _entry(
    _timm.timm_poly,
    "timm PolyLRScheduler(power, cycles, k_decay, warmup)",
    example=dict(peak_value=0.1, t_initial=100, power=2.0, cycle_limit=2, cycle_decay=0.8),
    rate="peak_value",
  ),
  _entry(
    _timm.timm_step,
    "timm StepLRScheduler(decay_t, decay_rate, warmup)",
    example=dict(peak_value=0.1, decay_t=30, decay_rate=0.5, warmup_t=5, warmup_lr_init=1e-3),
    rate="peak_value",
  ),
  _entry(
    _timm.timm_multistep,
    "timm MultiStepLRScheduler(decay_t, decay_rate, warmup)",
    example=dict(peak_value=0.1, decay_t=[40, 90, 150], decay_rate=0.3),
    rate="peak_value",
  ),
  _entry(
    _timm.timm_wsd,
    "timm WSDLRScheduler(decay_t, stable_fn, decay_fn, warmup)",
    example=dict(
      peak_value=0.1,
      t_initial=150,
      decay_t=50,
      lr_min=1e-3,
      warmup_t=10,
      warmup_lr_init=1e-3,
    ),
    rate="peak_value",
  ),
  _entry(
    _pytorch_optimizer.rex,
    "pytorch_optimizer REXScheduler(total_steps, max_lr, min_lr)",
    example=dict(max_lr=0.1, total_steps=180, min_lr=1e-3),
    rate="max_lr",
  ),
  _entry(
    _pytorch_optimizer.chebyshev,
    "pytorch_optimizer get_chebyshev_schedule(num_epochs)",
    example=dict(init_value=0.01, num_epochs=30),
    rate="init_value",
  ),
  _entry(
    _pytorch_optimizer.cosine_annealing_warmup_restarts,
    "pytorch_optimizer CosineAnnealingWarmupRestarts(..., gamma)",
    example=dict(
      first_cycle_steps=50,
      cycle_mult=1.5,
      max_lr=0.1,
      min_lr=1e-3,
      warmup_steps=10,
      gamma=0.7,
    ),
    rate="max_lr",
  ),
  _entry(
    _pytorch_optimizer.warmup_poly_growth,
    "pytorch_optimizer PolyScheduler(poly_order, max_lr, min_lr, init_lr, warmup_steps)",
    example=dict(max_lr=0.01, warmup_steps=20, poly_order=0.5, init_lr=1e-3),
    rate="max_lr",
  ),
  _entry(
    _pytorch_optimizer.proportion,
    "pytorch_optimizer ProportionScheduler (GSAM's rho from the LR)",
    nested=("schedule",),
    example=dict(
      schedule=dict(type="warmup_cosine", peak_value=0.1, warmup_steps=10, total_steps=180),
      max_lr=0.1,
      max_value=0.05,
      min_value=0.01,
    ),
  ),
  _entry(
    _phases.grokking,
    "seed GrokkingScheduler (warmup, cosine, floor)",
    example=dict(peak_value=1e-3, total_steps=1000),
    rate="peak_value",
  ),
  _entry(
    _phases.bias_mitigation,
    "seed BiasScheduler (high, plateau, cosine)",
    example=dict(total_steps=300),
  ),
  _entry(
    _piecewise.piecewise_linear,
    "optax.piecewise_interpolate_schedule('linear') with absolute, traceable values (np.interp)",
    example=dict(boundaries=[0, 20, 150, 300], values=[0.0, 1.0, 0.8, 0.01]),
  ),
  _entry(
    _composition.sequential,
    "torch SequentialLR(schedulers, milestones)",
    nested=("schedules",),
    example=dict(
      schedules=[
        dict(type="warmup", peak_value=1.0, warmup_steps=20),
        dict(type="cosine_annealing", init_value=1.0, t_max=100),
      ],
      boundaries=[20],
    ),
  ),
  _entry(
    _composition.chained,
    "torch ChainedScheduler(schedulers)",
    nested=("factor_schedules",),
    example=dict(
      init_value=0.1,
      factor_schedules=[
        dict(type="constant_factor", init_value=1.0, factor=0.5, total_steps=3),
        dict(type="exponential_decay", init_value=1.0, gamma=0.9),
      ],
    ),
    rate="init_value",
  ),
  _entry(
    _composition.adaptive_momentum,
    "momentum falling as the LR rises (seed AdaptiveMomentumScheduler)",
    nested=("lr_schedule",),
    example=dict(lr_schedule=dict(type="one_cycle", max_lr=0.1, total_steps=200), reference_lr=0.1),
  ),
  _entry(
    _composition.cooldown,
    "cooldown of any schedule from any step (WSD-S; Hägele et al. 2024)",
    nested=("schedule",),
    example=dict(schedule=dict(type="constant", value=0.1), start_step=100, decay_steps=50),
  ),
  _entry(
    _timm.with_noise,
    "timm LR noise (noise_range_t, noise_pct, noise_std, noise_type)",
    nested=("schedule",),
    example=dict(
      schedule=dict(type="warmup_constant", peak_value=0.1, warmup_steps=10),
      noise_range=[20, 150],
    ),
  ),
  _entry(
    _averaging.swa_lr,
    "torch SWALR(swa_lr, anneal_epochs, anneal_strategy), from the optimizer's current lr",
    example=dict(init_value=0.1, end_value=0.02, anneal_steps=50),
    rate="init_value",
  ),
  _entry(
    _averaging.timm_ema_decay,
    "timm ModelEmaV3.get_decay(t + 1) (decay, min_decay, update_after_step, warmup)",
    example=dict(decay=0.999, use_warmup=True, warmup_power=0.75),
  ),
  _entry(
    _averaging.ema_sqrt_weight,
    "levanter EmaDecaySqrtModelAveraging weights (beta, switch_step, decay_steps)",
    example=dict(beta=0.999, switch_step=200, decay_steps=100),
  ),
  _entry(
    _units.in_units,
    "a schedule written in samples or tokens, under a batch-size schedule",
    nested=("schedule",),
    example=dict(
      schedule=dict(type="warmup_cosine", peak_value=1.0, warmup_steps=640, total_steps=12_800),
      batch_size=64,
    ),
  ),
  _entry(
    _units.per_update,
    "one step per optimizer update from a micro-batch count (gradient accumulation)",
    nested=("schedule",),
    example=dict(
      schedule=dict(type="warmup_cosine", peak_value=1.0, warmup_steps=10, total_steps=100),
      every_k=4,
    ),
  ),
  _entry(
    _units.staged_batch_size,
    "levanter BatchSchedule of (start step, batch size) stages",
    BATCH_SIZE,
    example=dict(stages=[[0, 32], [100, 64], [300, 128]]),
  ),
  _entry(
    _units.rampup_batch_size,
    "MaxText rampup_batch_size (RampupBatchManager); Megatron --rampup-batch-size",
    BATCH_SIZE,
    example=dict(
      start_batch_size=32, batch_size_increment=32, rampup_samples=10_000, end_batch_size=256
    ),
  ),
  _entry(
    _schedule_free.schedule_free_adamw,
    "schedulefree AdamWScheduleFree (train mode; eval mode by schedule_free_eval_params)",
    OPTIMIZER,
    nested=("learning_rate",),
    example=dict(learning_rate=0.0025, warmup_steps=100),
    rate="learning_rate",
  ),
  _entry(
    _schedule_free.schedule_free_sgd,
    "schedulefree SGDScheduleFree (train mode; eval mode by schedule_free_eval_params)",
    OPTIMIZER,
    nested=("learning_rate",),
    example=dict(learning_rate=1.0, warmup_steps=100),
    rate="learning_rate",
  ),
  _entry(
    _plateau.reduce_on_plateau,
    "torch ReduceLROnPlateau; transformers reduce_lr_on_plateau",
    TRANSFORMATION,
    example=dict(factor=0.5, patience=1),
  ),
  _entry(
    _greedy.greedy_lr,
    "transformers GreedyLR; get_scheduler('greedy')",
    TRANSFORMATION,
    example=dict(base_lr=0.1, factor=0.5, patience=1),
    rate="base_lr",
  ),
  _entry(
    _plateau.adaptive_step_decay,
    "seed AdaptiveScheduler (decay on a plateau)",
    TRANSFORMATION,
    example=dict(decay_factor=0.5, patience=2, cooldown=1),
  ),
  _entry(
    _plateau.phase_transition,
    "seed phase-transition scheduler (grokking)",
    TRANSFORMATION,
    example=dict(detection_window=4, cv_window=3, boost_steps=1),
  ),
  _entry(
    _grokfast.grokfast_ema,
    "Grokfast-EMA gradient filter (Lee et al. 2024)",
    TRANSFORMATION,
    example=dict(alpha=0.5, lamb=2.0),
  ),
  _entry(
    _param_averaging.ema_params,
    "EMA of the parameters with a decay schedule (timm ModelEmaV3; torch AveragedModel EMA)",
    TRANSFORMATION,
    nested=("decay",),
    example=dict(decay=dict(type="timm_ema_decay", decay=0.999, use_warmup=True)),
  ),
  _entry(
    _param_averaging.average_params,
    "weighted mean of the parameters (torch AveragedModel, SWA; levanter model averaging)",
    TRANSFORMATION,
    nested=("weight",),
    example=dict(weight=1.0),
  ),
  _entry(
    _layerwise.layerwise,
    "torch param groups with their own lr (by name pattern)",
    LAYERWISE,
    example=dict(multipliers={"embed": 0.1, "attn": 2.0}, default=1.0),
  ),
  _entry(
    _layerwise.layerwise_decay,
    "layer-wise LR decay (BEiT, ELECTRA)",
    LAYERWISE,
    example=dict(decay=0.5, num_layers=2),
  ),
)

REGISTRY: Mapping[str, Entry] = types.MappingProxyType({e.name: e for e in _ENTRIES})


def registry() -> Mapping[str, Entry]:
  """Every factory of jaxsched by name: schedules and gradient transformations.

  Returns:
    A read-only mapping ``name -> Entry(name, factory, equivalent, kind,
    nested, example)``, in the README's order.

  Examples:
    >>> import jaxsched
    >>> jaxsched.registry()["reduce_on_plateau"].kind
    'transformation'
  """
  return REGISTRY


def catalog() -> tuple[Entry, ...]:
  """Every schedule (``kind == "schedule"``) with the reference implementation it matches.

  Returns:
    A tuple of ``Entry(name, factory, equivalent, kind, nested, example)``,
    in the README's order.

  Examples:
    >>> import jaxsched
    >>> jaxsched.catalog()[0].name
    'constant'
  """
  return tuple(e for e in _ENTRIES if e.kind == SCHEDULE)
