"""From a live PyTorch, transformers or timm scheduler to the equivalent jaxsched schedule.

Step convention: a schedule converted from a scheduler gives at step ``t`` the
rate that scheduler's optimizer holds when ``scheduler.last_epoch == t``: the
steps are counted from the scheduler's construction, whatever step the object
is at when it is converted, so ``sched(scheduler.last_epoch)`` is the
``optimizer.param_groups[i]["lr"]`` of now. For a scheduler built and then
stepped once after every optimizer update this is jaxsched's convention:
``sched(t)`` is the rate of update ``t``.

torch, transformers and timm are never imported here: their objects are
recognized by class name and module. timm's schedulers take the step they are
at as an argument: a converted one gives at step ``t`` the rate its
``step_update(t)`` (or, per epoch, ``step(epoch)``) sets.
"""

import math
from typing import Any, Mapping, NamedTuple, Optional

import optax

from jaxsched import _common as c
from jaxsched.porting import _objects
from jaxsched.porting import _plateau
from jaxsched.porting import _pytorch_optimizer
from jaxsched.porting import _saved
from jaxsched.porting import _tabulate
from jaxsched.porting import _timm
from jaxsched.porting import _to_torch
from jaxsched.porting import _transformers
from jaxsched.schedules import _averaging
from jaxsched.schedules import _composition
from jaxsched.schedules import _cyclic
from jaxsched.schedules import _decay
from jaxsched.schedules import _units

# Schedulers whose step multiplies the current rate: the ones a ChainedScheduler composes.
_MULTIPLICATIVE = (
  "ConstantLR",
  "LinearLR",
  "StepLR",
  "MultiStepLR",
  "ExponentialLR",
  "PolynomialLR",
)
_COMPOSITES = ("SequentialLR", "ChainedScheduler")


class LearningRateAndMomentum(NamedTuple):
  """What ``from_torch(..., with_momentum=True)`` returns.

  The field names are ``optax.inject_hyperparams(optax.sgd)``'s keywords; for
  Adam pass ``momentum`` as ``b1``. Each field is a schedule, or a list with
  one per param group.
  """

  learning_rate: _objects.Schedules
  momentum: _objects.Schedules


class _At(NamedTuple):
  """Where a scheduler sits in a composite, which decides how torch starts it."""

  path: str  # for messages: "SequentialLR._schedulers[1]", "" at the top
  factor: bool  # inside a ChainedScheduler: build its factor (init value 1.0)
  plain_start: bool  # its first step is a plain step(), outside torch's initial mode
  closed_start: bool  # started at a SequentialLR milestone, through its closed form


def _where(at: _At, name: str) -> str:
  return f"{name} at {at.path}" if at.path else name


def _child(at: _At, parent: str, k: int) -> str:
  return f"{at.path or parent}._schedulers[{k}]"


def _lambda_lr(s: Any, i: int, at: _At) -> optax.Schedule:
  base = float(s.base_lrs[i])
  fn = s.lr_lambdas[i]
  followed = _to_torch.followed(fn)
  if followed is not None:  # made by to_torch: LambdaLR multiplies schedule / base_lr by base
    ported, base_lr = followed
    ratio = base / base_lr
    return ported if ratio == 1.0 else _objects.scaled(ported, ratio)
  ported = _pytorch_optimizer.from_lambda(fn, base)
  if ported is not None:
    return ported
  return _transformers.from_lambda(fn, base, _where(at, "LambdaLR"))


def _cyclic_steps(s: Any) -> tuple:
  """CyclicLR's integer step_size_up and step_size_down (torch keeps their float sum and ratio)."""
  total = float(s.total_size)
  up = float(s.step_ratio) * total
  up_steps, down_steps = round(up), round(total - up)
  if (
    abs(up - up_steps) > 1e-6
    or abs(total - up - down_steps) > 1e-6
    or min(up_steps, down_steps) < 1
  ):
    raise _objects.Unsupported(
      f"CyclicLR with step sizes {up:g}, {total - up:g} (whole steps >= 1 are converted)"
    )
  return up_steps, down_steps


def _one_cycle_args(s: Any) -> dict:
  phases = s._schedule_phases  # pylint: disable=protected-access
  anneal = getattr(s, "_anneal_func_type", None)
  if anneal not in _cyclic.ANNEAL_STRATEGIES:
    raise _objects.Unsupported("OneCycleLR without a known anneal strategy")
  total = int(s.total_steps)
  return dict(
    total_steps=total,
    pct_start=(float(phases[0]["end_step"]) + 1.0) / total,
    anneal_strategy=anneal,
    three_phase=len(phases) == 3,
  )


def _one_cycle_at_end(s: Any, group: Any, lr: bool) -> Optional[float]:
  """What OneCycleLR sets at step ``total_steps``, the one step past the cycle torch allows.

  torch's ``get_lr`` there: the last phase it reaches, extrapolated past its end
  (None where that phase has zero length and torch divides by zero).
  """
  step, start = float(s.total_steps), 0.0
  phases = s._schedule_phases  # pylint: disable=protected-access
  for k, phase in enumerate(phases):
    end = float(phase["end_step"])
    if step <= end or k == len(phases) - 1:
      if end == start:
        return None
      pct = (step - start) / (end - start)
      keys = ("start_lr", "end_lr") if lr else ("start_momentum", "end_momentum")
      first, last = (float(group[phase[key]]) for key in keys)
      if s._anneal_func_type == "cos":  # pylint: disable=protected-access
        return last + (first - last) / 2.0 * (math.cos(math.pi * pct) + 1)
      return (last - first) * pct + first
    start = end
  return None


def _one_cycle_to_end(s: Any, sched: optax.Schedule, group: Any, lr: bool) -> optax.Schedule:
  """``sched`` with torch's value at step ``total_steps``, floored at 0 (a momentum: in [0, 1])."""
  value = _one_cycle_at_end(s, group, lr)
  if value is None:
    return sched
  return _objects.replaced(
    sched, int(s.total_steps), max(value, 0.0) if lr else min(max(value, 0.0), 1.0)
  )


def _momentum(s: Any, i: int) -> optax.Schedule:
  """The momentum (or Adam beta1) schedule a cycling CyclicLR / OneCycleLR writes."""
  name = _objects.class_name(s)
  if not (
    _objects.is_torch_class(s, ("CyclicLR", "OneCycleLR")) and getattr(s, "cycle_momentum", False)
  ):
    raise _objects.Unsupported(f"the momentum of {name} (it does not cycle momentum)")
  if name == "CyclicLR":
    up, down = _cyclic_steps(s)
    return _cyclic.cyclic_momentum(
      float(s.base_momentums[i]), float(s.max_momentums[i]), up, down, mode=s.mode, gamma=s.gamma
    )
  group = s.optimizer.param_groups[i]
  sched = _cyclic.one_cycle_momentum(
    base_momentum=float(group["base_momentum"]),
    max_momentum=float(group["max_momentum"]),
    **_one_cycle_args(s),
  )
  return _one_cycle_to_end(s, sched, group, lr=False)


def _sequential(s: Any, i: int, at: _At) -> optax.Schedule:
  if at.factor:
    raise _objects.Unsupported(
      f"{_where(at, 'SequentialLR')} inside a ChainedScheduler (at its "
      "milestones it sets the rate instead of multiplying it)"
    )
  # A SequentialLR first in another one is started by a plain step(): one step ahead.
  shift = 1 if at.plain_start else 0
  milestones = [int(m) for m in s._milestones]  # pylint: disable=protected-access
  if shift and min(milestones, default=2) < 2:
    raise _objects.Unsupported(
      f"{_where(at, 'SequentialLR')} nested first in another one with a milestone below 2"
    )
  parts = []
  for k, child in enumerate(s._schedulers):  # pylint: disable=protected-access
    composite = _objects.is_torch_class(child, _COMPOSITES)
    path = _child(at, "SequentialLR", k)
    if k == 0 or milestones[k - 1] - shift == 0:  # started by SequentialLR's initial step
      child_at = _At(path, False, plain_start=at.plain_start or composite, closed_start=False)
    else:
      if composite:
        raise _objects.Unsupported(
          f"{_objects.class_name(child)} at {path}, after a milestone (torch raises "
          "NotImplementedError there)"
        )
      child_at = _At(path, False, plain_start=False, closed_start=True)
    parts.append(_convert(child, i, child_at))
  return _composition.sequential(parts, [m - shift for m in milestones])


def _chained(s: Any, i: int, at: _At) -> optax.Schedule:
  children = list(s._schedulers)  # pylint: disable=protected-access
  factors = [
    _convert(child, i, _At(_child(at, "ChainedScheduler", k), True, at.plain_start, False))
    for k, child in enumerate(children)
  ]
  if at.factor:
    return _composition.chained(1.0, *factors)
  first = children[0]
  while _objects.is_torch_class(first, _COMPOSITES):
    first = first._schedulers[0]  # pylint: disable=protected-access
  return _composition.chained(float(first.base_lrs[i]), *factors)


def _swalr(s: Any, i: int, at: _At) -> optax.Schedule:
  """torch's SWALR as :func:`jaxsched.swa_lr` from the rate it started from.

  SWALR starts from the group's rate at its construction and recovers that rate from the
  current one at every step, ``(lr - a swa_lr) / (1 - a)``; so does this while it anneals
  (``a < 1``). Once the annealing is over that start rate is gone from the object: it is then
  the group's ``initial_lr`` (right when SWALR was the optimizer's first scheduler; the rates
  from the end of the annealing on are ``swa_lr`` whatever it was).
  """
  if at.path:
    raise _objects.Unsupported(f"{_where(at, 'SWALR')} (only a SWALR on its own is converted)")
  group = s.optimizer.param_groups[i]
  end, anneal = float(group["swa_lr"]), int(s.anneal_epochs)
  # A live SWALR holds its strategy as a bound method; a saved one as ``_anneal_strategy``.
  strategy = getattr(s, "_anneal_strategy", None)
  if strategy is None:
    strategy = "cos" if s.anneal_func.__name__ == "_cosine_anneal" else "linear"
  step = max(1, s.last_epoch) if anneal == 0 else s.last_epoch
  t = max(0.0, min(1.0, step / max(1, anneal)))
  done = (1.0 - math.cos(math.pi * t)) / 2.0 if strategy == "cos" else t
  if done < 1.0:
    start = (float(group["lr"]) - done * end) / (1.0 - done)
  else:
    start = float(s.base_lrs[i])
  return _averaging.swa_lr(start, end, anneal_steps=anneal, anneal_strategy=strategy)


def _convert(s: Any, i: int, at: _At) -> optax.Schedule:
  """The schedule of param group ``i`` of scheduler ``s`` placed at ``at``."""
  name = _objects.class_name(s)
  if _objects.is_pytorch_optimizer(s) and name in _objects.PYTORCH_OPTIMIZER_CLASSES:
    if at.path:
      raise _objects.Unsupported(
        f"pytorch_optimizer's {_where(at, name)} (it sets the rate itself, outside "
        "the composite's stepping)"
      )
    return _pytorch_optimizer.convert(s)
  if not _objects.is_torch_class(s, _objects.TORCH_CLASSES) or name == "ReduceLROnPlateau":
    raise _objects.Unsupported(_where(at, name))
  if name == "SequentialLR":
    return _sequential(s, i, at)
  if name == "ChainedScheduler":
    return _chained(s, i, at)
  if at.factor and name not in _MULTIPLICATIVE:
    raise _objects.Unsupported(
      f"{_where(at, name)} inside a ChainedScheduler (only "
      f"{', '.join(_MULTIPLICATIVE)} multiply the rate there)"
    )
  if name == "SWALR":
    return _swalr(s, i, at)
  base = 1.0 if at.factor else float(s.base_lrs[i])
  if name == "StepLR":
    return _decay.step_decay(base, s.step_size, s.gamma)
  if name == "MultiStepLR":
    return _decay.multistep_decay(base, sorted(s.milestones.elements()), s.gamma)
  if name == "ConstantLR":
    if s.total_iters == 0:  # torch applies the factor at step 0 and never lifts it
      return _decay.constant(base if at.closed_start else base * s.factor)
    return _decay.constant_factor(base, s.factor, s.total_iters)
  if name == "LinearLR":
    if s.total_iters == 0:  # torch applies start_factor at step 0 and keeps it
      if at.closed_start:
        raise _objects.Unsupported(
          f"{_where(at, 'LinearLR')} with total_iters=0 after a milestone (torch divides by zero)"
        )
      return _decay.constant(base * s.start_factor)
    return _decay.linear_factor(base, s.start_factor, s.end_factor, s.total_iters)
  if name == "ExponentialLR":
    # Started by a plain step(), torch already multiplies by gamma at step 0.
    return _decay.exponential_decay(base * s.gamma if at.plain_start else base, s.gamma)
  if name == "PolynomialLR":
    total, power = s.total_iters, s.power
    if total == 0:
      if at.closed_start or at.plain_start:
        raise _objects.Unsupported(
          f"{_where(at, 'PolynomialLR')} with total_iters=0 there (torch divides by zero)"
        )
      return _decay.constant(base)
    # Started by a plain step(), torch's recursive form applies (T / (T + 1))**p at step 0.
    first = (total / (total + 1)) ** power if at.plain_start else 1.0
    return _decay.polynomial_decay(base * first, total, power=power)
  if name == "CosineAnnealingLR":
    if at.plain_start:
      raise _objects.Unsupported(
        f"{_where(at, 'CosineAnnealingLR')} (started by a plain step() there, "
        "its recursive form leaves the cosine)"
      )
    return _decay.cosine_annealing(base, s.T_max, s.eta_min)
  if name == "CosineAnnealingWarmRestarts":
    return _decay.cosine_warm_restarts(base, s.T_0, s.T_mult, s.eta_min)
  if name == "CyclicLR":
    if getattr(s, "_scale_fn_custom", None) is not None:
      raise _objects.Unsupported(f"{_where(at, 'CyclicLR')} with a custom scale_fn")
    up, down = _cyclic_steps(s)
    return _cyclic.cyclic(base, float(s.max_lrs[i]), up, down, mode=s.mode, gamma=s.gamma)
  if name == "OneCycleLR":
    group = s.optimizer.param_groups[i]
    peak, initial, final = (float(group[k]) for k in ("max_lr", "initial_lr", "min_lr"))
    if min(peak, initial, final) <= 0:
      raise _objects.Unsupported(f"{_where(at, 'OneCycleLR')} with a zero rate")
    sched = _cyclic.one_cycle(
      peak, div_factor=peak / initial, final_div_factor=initial / final, **_one_cycle_args(s)
    )
    return _one_cycle_to_end(s, sched, group, lr=True)
  return _lambda_lr(s, i, at)


def from_torch(
  scheduler: Any,
  *,
  scheduler_class: Any = None,
  optimizer_state: Any = None,
  steps_per_epoch: Optional[int] = None,
  num_steps: Optional[int] = None,
  with_momentum: bool = False,
) -> Any:
  """The jaxsched schedule of a PyTorch, transformers, timm or pytorch_optimizer scheduler.

  .. math:: \\eta_t = \\text{the rate of param group } i \\text{ when }
    \\texttt{scheduler.last_epoch} = t

  Steps count from the scheduler's construction, whatever step the object is
  at now: ``sched(scheduler.last_epoch)`` is ``optimizer.param_groups[i]["lr"]``
  now. The hyperparameters are read from the object, the base rates from
  ``scheduler.base_lrs`` (OneCycleLR: its param groups), so stepping the
  scheduler before converting changes nothing. The converted schedule equals
  the object at every step it can be stepped to, past the end of its horizon
  included (:func:`compare` checks it); where the reference sets a negative
  rate, jaxsched gives 0 (below).

  Converted in closed form: ``StepLR``, ``MultiStepLR``, ``ConstantLR``,
  ``LinearLR``, ``ExponentialLR``, ``PolynomialLR``, ``CosineAnnealingLR``,
  ``CosineAnnealingWarmRestarts``, ``CyclicLR``, ``OneCycleLR``, the
  ``LambdaLR`` of every transformers ``get_*_schedule*`` function (recognized
  by the name of the function in its ``functools.partial``; WSD included),
  the ``LambdaLR`` of :func:`to_torch`, ``SequentialLR`` and
  ``ChainedScheduler``, nested as far as torch runs them: a ChainedScheduler
  of the multiplicative schedulers (ConstantLR, LinearLR, StepLR, MultiStepLR,
  ExponentialLR, PolynomialLR, or ChainedSchedulers of them), a
  SequentialLR of any of these, with a SequentialLR or ChainedScheduler only
  first (torch raises at the milestone of a later one). Where torch starts a
  nested scheduler with a plain ``step()`` (first in a nested composite),
  its first value is torch's, e.g. ``gamma`` for an ExponentialLR; the few
  start-ups torch runs off its curve there (a CosineAnnealingLR, a nested
  SequentialLR with a milestone below 2) are refused, the message says which.

  ``torch.optim.swa_utils.SWALR`` (on its own) becomes :func:`swa_lr` from the
  rate it started from, which SWALR recovers from the current rate at every
  step while it anneals; once the annealing is over that rate is taken from
  the group's ``initial_lr`` (exact when SWALR was the optimizer's first
  scheduler; from the end of the annealing on the rate is ``swa_lr`` either
  way).

  Past their horizon the conversions follow the objects: transformers'
  cosine schedules keep following the cosine after ``num_training_steps``
  (:func:`warmup_cosine` with ``hold_after_end=False``), and ``OneCycleLR``
  gives at step ``total_steps`` (the one step torch allows past the cycle)
  torch's extrapolation of its last phase, any ``pct_start`` in [0, 1]
  included (three phases with ``pct_start > 0.5`` end inside the second).
  That extrapolation is negative for ``anneal_strategy="linear"`` (no update
  uses it when the loop steps the scheduler after each update); the
  conversion gives 0 there, and holds its last value after ``total_steps``,
  where torch raises.

  ``ReduceLROnPlateau`` becomes :func:`reduce_on_plateau` with the same
  settings (``min_scale = min_lr / base_lr``, ``eps = eps / base_lr``) and a
  :class:`PlateauConversion` ``(transform, state, base_lr)``: ``state``
  holds the object's best value, bad-epoch count, cooldown counter and scale
  ``lr / base_lr`` now, and ``transform.init`` returns it, so the PyTorch
  run's plateau state resumes in JAX. ``base_lr`` is the group's
  ``initial_lr`` if it has one, else the optimizer's default ``lr``: give it
  to the optimizer the transformation follows,
  ``optax.chain(optax.sgd(p.base_lr), p.transform)``.

  timm's ``CosineLRScheduler``, ``TanhLRScheduler``, ``PolyLRScheduler``,
  ``StepLRScheduler``, ``MultiStepLRScheduler`` and ``WSDLRScheduler`` become
  :func:`timm_cosine`, :func:`timm_tanh`, :func:`timm_poly`,
  :func:`timm_step`, :func:`timm_multistep` and :func:`timm_wsd` of each
  group's ``base_values[i]``, times the group's ``lr_scale`` where it has
  one, and wrapped in :func:`with_noise` when the object has a
  ``noise_range_t`` (same noise distribution, other draws; one draw per step
  shared by all groups, as in timm). timm's schedulers are stateless, so
  ``sched(t)`` is the rate ``step_update(t)`` sets (``t_in_epochs=False``)
  whatever step the object is at. With ``t_in_epochs=True`` give
  ``steps_per_epoch``: ``sched(t)`` is the rate ``step(t // steps_per_epoch)``
  sets, constant over the epoch, the noise drawn per epoch. A timm scheduler
  without a closed form (another class, a WSD with a callable ``decay_fn``)
  is tabulated with ``num_steps``, by ``step_update(t)`` or, per epoch,
  ``step(t)``. A ``PlateauLRScheduler`` without warmup and noise is its
  inner ``ReduceLROnPlateau`` (see above; timm's training loop calls
  ``step(epoch + 1, metric)``, so its ``step(0)``, which sets
  ``warmup_lr_init``, is never taken); with either it is refused, since
  :func:`reduce_on_plateau` models neither.

  pytorch_optimizer's schedulers set one absolute rate for every group:
  ``REXScheduler`` is :func:`rex` and ``CosineAnnealingWarmupRestarts`` is
  :func:`cosine_annealing_warmup_restarts`, both with the ``min_lr`` their
  construction sets at step 0; ``LinearScheduler``, ``CosineScheduler``
  (:func:`warmup_linear` and :func:`warmup_cosine` with
  ``hold_after_end=False``) and ``PolyScheduler``
  (:func:`warmup_poly_growth`) hold ``min_lr`` until their first ``step()``
  and their formula one step late after it (``LinearScheduler``'s line goes
  negative past ``t_max``; the conversion stops at 0). Their
  ``get_chebyshev_schedule`` is :func:`chebyshev` and their
  ``get_wsd_schedule`` a sequence of :func:`warmup`,
  :func:`warmup_stable_decay` and the final rate (odd in the reference: only
  its cosine cooldown ends at ``min_lr_ratio``; its 1-sqrt, linear and
  1-square cooldowns fall to 0 and the rate jumps up to ``min_lr_ratio``
  after them, as converted). None of them is converted inside a
  SequentialLR or ChainedScheduler.

  A saved ``state_dict`` (a checkpoint on disk: ``torch.load(path)["scheduler"]``)
  converts as the live object would, given ``scheduler_class``: the class or
  its name (``"OneCycleLR"``, ``"CosineLRScheduler"``, ``"REXScheduler"``),
  or for a SequentialLR or ChainedScheduler ``(name, [the class of each
  scheduler])``, since their state holds their schedulers' states without
  their classes. Hyperparameters torch keeps in the optimizer (OneCycleLR's
  ``max_lr`` and ``min_lr``, timm's ``lr_scale``) need ``optimizer_state``,
  the optimizer's ``state_dict()`` saved with it; without it the groups'
  rates come from the scheduler's ``base_lrs`` and last rates (a
  ReduceLROnPlateau then resumes with ``base_lr`` its rate now and scale 1,
  which goes on as the run would). A ``LambdaLR``'s state holds no function
  (transformers' schedules among them): the error says to build the
  schedule again (:func:`get_scheduler`) and resume at ``last_epoch``. The
  step to resume at is the saved ``last_epoch`` (see the guide "Resume a run
  with the right LR").

  Anything else (another ``LambdaLR``, ``MultiplicativeLR``, unknown classes,
  hyperparameters jaxsched's factory rejects) raises ``ValueError`` unless
  ``num_steps`` is given: then the schedule is a table read by stepping a
  ``copy.deepcopy`` of the scheduler and its optimizer (sharing its
  parameter tensors), exact on steps ``last_epoch .. last_epoch + num_steps -
  1``, holding the last value after them and the first one before.

  Several param groups give a list of schedules, one per group (a single
  schedule for one group). Feed them to ``optax.multi_transform``::

    scheds = jaxsched.from_torch(torch_scheduler)
    tx = optax.multi_transform(
        {f"group{i}": optax.adam(s) for i, s in enumerate(scheds)}, param_labels)

  where ``param_labels`` labels each parameter with its group.

  Args:
    scheduler: a ``torch.optim.lr_scheduler`` object (transformers' are
      ``LambdaLR`` ones), a ``timm.scheduler`` or ``pytorch_optimizer``
      one, or the ``state_dict()`` of one of them.
    scheduler_class: for a ``state_dict``: the scheduler's class or its name,
      ``(name, [classes])`` for a SequentialLR or ChainedScheduler.
    optimizer_state: for a ``state_dict``: the optimizer's ``state_dict()``
      (or its ``param_groups``), needed by OneCycleLR and timm's ``lr_scale``.
    steps_per_epoch: if given (>= 1), the scheduler is stepped once per epoch
      and the result counts updates: ``sched(t)`` is the rate of epoch
      ``t // steps_per_epoch``. Required for a timm scheduler with
      ``t_in_epochs=True``, refused with ``t_in_epochs=False``. Not for
      ReduceLROnPlateau (feed its metric with ``observe=`` once per epoch).
    num_steps: steps to tabulate, >= 1, for a live scheduler without a closed
      form; ignored for the others.
    with_momentum: also return the momentum (or Adam ``beta1``) schedule of a
      CyclicLR or OneCycleLR with ``cycle_momentum=True`` (or of a tabulated
      scheduler), as :class:`LearningRateAndMomentum`.

  Returns:
    An ``optax.Schedule``, or a list with one per param group; a
    :class:`LearningRateAndMomentum` with ``with_momentum=True``; a
    :class:`PlateauConversion` (or a list) for a ``ReduceLROnPlateau``.

  Examples:
    >>> import torch, jaxsched
    >>> opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(()))], lr=0.1)
    >>> torch_sched = torch.optim.lr_scheduler.StepLR(opt, step_size=10, gamma=0.5)
    >>> sched = jaxsched.from_torch(torch_sched)
    >>> round(float(sched(25)), 6)
    0.025
    >>> saved = jaxsched.from_torch(torch_sched.state_dict(), scheduler_class="StepLR")
    >>> round(float(saved(25)), 6)
    0.025
  """
  fn = "from_torch"
  saved = isinstance(scheduler, Mapping)
  if saved:
    if scheduler_class is None:
      raise ValueError(
        f"{fn}: a state_dict needs scheduler_class= (the scheduler's class or its name, "
        "e.g. 'OneCycleLR')"
      )
    if num_steps is not None:
      raise ValueError(
        f"{fn}: num_steps tabulates a live scheduler by stepping a copy of it; a "
        "state_dict cannot be stepped"
      )
  elif scheduler_class is not None or optimizer_state is not None:
    raise ValueError(
      f"{fn}: scheduler_class and optimizer_state are for a saved state_dict; got a live "
      f"{_objects.class_name(scheduler)}"
    )
  elif not _objects.is_torch_scheduler(scheduler):
    raise ValueError(
      f"{fn}: scheduler={scheduler!r} is not a torch scheduler (an object with "
      "an optimizer and step()) or its state_dict"
    )
  if steps_per_epoch is not None:
    c.check_steps(fn, "steps_per_epoch", steps_per_epoch, minimum=1)
  if num_steps is not None:
    c.check_steps(fn, "num_steps", num_steps, minimum=1)
  if not saved:
    return _from_live(scheduler, steps_per_epoch, num_steps, with_momentum, fn)
  stand_in = _saved.from_state(scheduler, scheduler_class, optimizer_state, fn)
  try:
    return _from_live(stand_in, steps_per_epoch, None, with_momentum, fn)
  except (KeyError, AttributeError) as e:
    name = _objects.class_name(stand_in)
    what = "param groups" if isinstance(e, KeyError) else "state_dict"
    raise ValueError(
      f"{fn}: the {what} of the saved {name} lack {e}; torch keeps some "
      "hyperparameters in the optimizer (OneCycleLR's max_lr and min_lr, timm's "
      "lr_scale): give optimizer_state=optimizer.state_dict() saved with it"
    ) from None


def _from_live(
  scheduler: Any,
  steps_per_epoch: Optional[int],
  num_steps: Optional[int],
  with_momentum: bool,
  fn: str,
) -> Any:
  """from_torch of a scheduler object (or a stand-in rebuilt from its state_dict)."""
  saved = hasattr(scheduler, _saved.SAVED)
  if _objects.is_timm(scheduler):
    return _timm.from_timm(scheduler, steps_per_epoch, num_steps, with_momentum, fn)
  if _objects.is_torch_class(scheduler, ("ReduceLROnPlateau",)):
    if steps_per_epoch is not None or with_momentum:
      raise ValueError(
        f"{fn}: steps_per_epoch and with_momentum do not apply to "
        "ReduceLROnPlateau (feed its metric with observe= once per epoch)"
      )
    return _plateau.from_plateau(scheduler)
  num_groups = len(scheduler.optimizer.param_groups)
  cycles_momentum = _objects.is_torch_class(scheduler, ("CyclicLR", "OneCycleLR")) and getattr(
    scheduler, "cycle_momentum", False
  )
  if with_momentum and not cycles_momentum and num_steps is None:
    raise ValueError(
      f"{fn}: with_momentum=True needs a CyclicLR or OneCycleLR with "
      f"cycle_momentum=True (or num_steps=N to tabulate the momentum), got "
      f"{_objects.class_name(scheduler)}"
    )
  try:
    lrs = [_convert(scheduler, i, _At("", False, False, False)) for i in range(num_groups)]
    momenta = [_momentum(scheduler, i) for i in range(num_groups)] if with_momentum else None
  except ValueError as e:
    if num_steps is None:
      reason = (
        str(e)
        if isinstance(e, _objects.Unsupported)
        else (f"{_objects.class_name(scheduler)}: jaxsched rejects its hyperparameters ({e})")
      )
      how = (
        "A state_dict cannot be tabulated: give the live scheduler and num_steps=N"
        if saved
        else "Give num_steps=N to tabulate any scheduler by stepping a copy of it"
      )
      raise ValueError(
        f"{fn}: cannot convert {reason}. Converted: {_objects.supported_text()}. {how}"
      ) from None
    start, table, moments = _tabulate.torch_values(scheduler, num_steps, fn, momentum=with_momentum)
    lrs = [_tabulate.tabulated(table[:, i], start) for i in range(num_groups)]
    momenta = (
      [_tabulate.tabulated(moments[:, i], start) for i in range(num_groups)]
      if (with_momentum)
      else None
    )
  if steps_per_epoch is not None:
    lrs = [_units.per_update(s, steps_per_epoch) for s in lrs]
    if momenta is not None:
      momenta = [_units.per_update(s, steps_per_epoch) for s in momenta]
  if with_momentum:
    assert momenta is not None  # built above whenever with_momentum
    return LearningRateAndMomentum(_objects.one_or_list(lrs), _objects.one_or_list(momenta))
  return _objects.one_or_list(lrs)
