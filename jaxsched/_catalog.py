"""The schedules of jaxsched with their PyTorch / transformers counterparts."""

from typing import Callable, NamedTuple

import optax


class Entry(NamedTuple):
  """One closed-form schedule: its name, factory and the reference it matches."""
  name: str
  factory: Callable[..., optax.Schedule]
  equivalent: str


_EQUIVALENTS = (
    ("constant", "a constant lr (no scheduler)"),
    ("constant_factor", "torch ConstantLR(factor, total_iters)"),
    ("linear_factor", "torch LinearLR(start_factor, end_factor, total_iters)"),
    ("step_decay", "torch StepLR(step_size, gamma)"),
    ("multistep_decay", "torch MultiStepLR(milestones, gamma)"),
    ("exponential_decay", "torch ExponentialLR(gamma); optax.exponential_decay"),
    ("polynomial_decay", "torch PolynomialLR(total_iters, power); optax.polynomial_schedule"),
    ("cosine_annealing", "torch CosineAnnealingLR(T_max, eta_min)"),
    ("cosine_warm_restarts", "torch CosineAnnealingWarmRestarts(T_0, T_mult, eta_min)"),
    ("cyclic", "torch CyclicLR(base_lr, max_lr, ..., mode, gamma)"),
    ("cyclic_momentum", "torch CyclicLR(cycle_momentum=True) momentum"),
    ("one_cycle", "torch OneCycleLR(max_lr, total_steps, ...)"),
    ("one_cycle_momentum", "torch OneCycleLR momentum / Adam beta1"),
    ("warmup", "seed warmups: linear, cosine, exponential, polynomial, 1-sqrt"),
    ("warmup_constant", "transformers get_constant_schedule_with_warmup"),
    ("warmup_linear", "transformers get_linear_schedule_with_warmup"),
    ("warmup_cosine", "transformers get_cosine_(with_min_lr_)schedule_with_warmup"),
    ("warmup_cosine_restarts", "transformers get_cosine_with_hard_restarts_schedule_with_warmup"),
    ("warmup_polynomial", "transformers get_polynomial_decay_schedule_with_warmup"),
    ("inverse_sqrt", "transformers get_inverse_sqrt_schedule"),
    ("noam", "Vaswani et al. 2017, with step n = t + 1"),
    ("warmup_stable_decay", "transformers get_wsd_schedule"),
    ("grokking", "seed GrokkingScheduler (warmup, cosine, floor)"),
    ("bias_mitigation", "seed BiasScheduler (high, plateau, cosine)"),
    ("sequential", "torch SequentialLR(schedulers, milestones)"),
    ("chained", "torch ChainedScheduler(schedulers)"),
)


def catalog() -> tuple[Entry, ...]:
  """Every closed-form schedule with the reference implementation it matches.

  Returns:
    A tuple of ``Entry(name, factory, equivalent)``, in the README's order.

  Examples:
    >>> import jaxsched
    >>> jaxsched.catalog()[0].name
    'constant'
  """
  import jaxsched  # pylint: disable=import-outside-toplevel
  return tuple(Entry(name, getattr(jaxsched, name), ref) for name, ref in _EQUIVALENTS)
