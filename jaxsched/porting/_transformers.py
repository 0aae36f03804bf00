"""transformers' schedules as jaxsched ones, from a name or from a live ``LambdaLR``.

One table, ``TABLE``, maps each ``transformers.SchedulerType`` name to the
jaxsched factory and the keywords it takes. :func:`get_scheduler` builds a row
from ``get_scheduler``'s arguments; ``from_torch`` builds the row whose
function a ``LambdaLR`` holds (a ``functools.partial`` of one of
``transformers.optimization``'s ``_get_*_lambda`` functions) from that
partial's keywords. transformers is never imported here.
"""

import functools
import types
from typing import Any, Callable, cast, Dict, Mapping, NamedTuple, Optional, SupportsFloat

import numpy as np
import optax
from jax.typing import ArrayLike

from jaxsched import _common as c
from jaxsched.porting import _objects
from jaxsched.porting import _plateau as plateau_conversion
from jaxsched.schedules import _composition
from jaxsched.schedules import _decay
from jaxsched.schedules import _warmup
from jaxsched.transforms import _greedy
from jaxsched.transforms import _plateau

# A scheduler_specific_kwargs keyword without a default: left out unless given.
NO_DEFAULT = object()
WSD_KINDS = ("linear", "cosine", "1-sqrt")


class Row(NamedTuple):
  """One transformers schedule and the jaxsched factory it is."""

  name: str  # its transformers.SchedulerType value: get_scheduler's name
  lr_lambda: Optional[str]  # the function inside the LambdaLR its get_* function builds
  factory: Callable[..., Any]  # the jaxsched factory
  # (base rate, transformers' keywords) -> the factory's keywords. transformers' keywords
  # are the lambda's (num_warmup_steps, num_training_steps and the schedule's own), or for
  # get_scheduler its step counts and scheduler_specific_kwargs with transformers' defaults.
  keywords: Callable[[Any, Dict[str, Any]], Dict[str, Any]]
  # The scheduler_specific_kwargs get_scheduler takes, with transformers' defaults
  # (NO_DEFAULT: none); None when transformers ignores them.
  specific: Optional[Mapping[str, Any]]
  needs: tuple = ()  # the step counts get_scheduler requires


def _cosine_with_min_lr_rate(
  base: float,
  warmup_steps: int,
  total_steps: int,
  num_cycles: float,
  min_lr_rate: ArrayLike,
  warmup_lr_rate: Optional[float],
) -> optax.Schedule:
  """transformers' ``get_cosine_with_min_lr_schedule_with_warmup_lr_rate``.

  Its warmup is ``(t + 1) / W`` (or ``r + (1 - r) t / (W - 1)``) and its
  decay counts ``t - W + 1``: a warmup, then :func:`warmup_cosine` one step
  ahead, following the cosine past the end as transformers does.
  """
  decay = _objects.shifted(
    _warmup.warmup_cosine(
      base,
      0,
      max(total_steps - warmup_steps, 1),
      end_value=base * min_lr_rate,
      num_cycles=num_cycles,
      hold_after_end=False,
    ),
    1,
  )
  if warmup_steps <= 0:
    return decay
  init = base / warmup_steps if warmup_lr_rate is None else base * warmup_lr_rate
  ramp = _warmup.warmup(base, max(warmup_steps - 1, 1), init_value=init)
  return _composition.sequential([ramp, decay], [warmup_steps])


def _warmup_steps(base: Any, kw: Dict[str, Any]) -> Dict[str, Any]:
  return dict(peak_value=base, warmup_steps=kw["num_warmup_steps"])


def _warmup_total(base: Any, kw: Dict[str, Any]) -> Dict[str, Any]:
  return dict(_warmup_steps(base, kw), total_steps=kw["num_training_steps"])


def _cosine(base: Any, kw: Dict[str, Any]) -> Dict[str, Any]:
  # The lambda of get_cosine_(with_min_lr_)schedule_with_warmup holds min_lr_rate (0 for the
  # first); get_scheduler gives it for cosine_with_min_lr only.
  end = {"end_value": base * kw["min_lr_rate"]} if "min_lr_rate" in kw else {}
  return dict(_warmup_total(base, kw), num_cycles=kw["num_cycles"], hold_after_end=False, **end)


def _polynomial(base: Any, kw: Dict[str, Any]) -> Dict[str, Any]:
  # The lambda holds lr_init, the optimizer's rate when it was built: a LambdaLR multiplies
  # lr_end / lr_init by the group's base rate. get_scheduler's rate is the optimizer's, so
  # its lr_end is the final rate as given.
  end = kw["lr_end"] * base / kw["lr_init"] if "lr_init" in kw else kw["lr_end"]
  return dict(_warmup_total(base, kw), end_value=end, power=kw["power"])


def _wsd(base: Any, kw: Dict[str, Any]) -> Dict[str, Any]:
  # The lambda holds num_stable_steps; get_scheduler takes it or num_training_steps (with
  # both, transformers warns and uses num_stable_steps).
  stable = kw.get("num_stable_steps")
  counts = (
    dict(stable_steps=stable) if stable is not None else dict(total_steps=kw["num_training_steps"])
  )
  return dict(
    _warmup_steps(base, kw),
    decay_steps=kw["num_decay_steps"],
    warmup_kind=kw["warmup_type"],
    decay_kind=kw["decay_type"],
    min_lr_ratio=kw["min_lr_ratio"],
    num_cycles=kw["num_cycles"],
    **counts,
  )


def _cosine_lr_rate(base: Any, kw: Dict[str, Any]) -> Dict[str, Any]:
  return dict(
    base=float(cast(SupportsFloat, base)),  # a concrete rate: float() fails on a tracer
    warmup_steps=kw["num_warmup_steps"],
    total_steps=kw["num_training_steps"],
    num_cycles=kw["num_cycles"],
    min_lr_rate=kw["min_lr_rate"],
    warmup_lr_rate=kw["warmup_lr_rate"],
  )


def _reduce_on_plateau(base: Any, kw: Dict[str, Any]) -> Dict[str, Any]:
  return plateau_conversion.plateau_keywords(
    float(cast(SupportsFloat, base)),  # a concrete rate: float() fails on a tracer
    kw["min_lr"],
    kw["eps"],
    **{k: kw[k] for k in ("mode", "factor", "patience", "threshold", "threshold_mode", "cooldown")},
  )


def _greedy_keywords(base: Any, kw: Dict[str, Any]) -> Dict[str, Any]:
  # GreedyLR only prints with verbose.
  return dict({k: v for k, v in kw.items() if k != "verbose"}, base_lr=base)


_WARMUP = ("num_warmup_steps",)
_WARMUP_TOTAL = ("num_warmup_steps", "num_training_steps")
_COSINE_LAMBDA = "_get_cosine_schedule_with_warmup_lr_lambda"
_MIN_LR = {"num_cycles": 0.5, "min_lr": NO_DEFAULT, "min_lr_rate": NO_DEFAULT}

# Every transformers.SchedulerType, in its order.
_ROWS = (
  Row(
    "linear",
    "_get_linear_schedule_with_warmup_lr_lambda",
    _warmup.warmup_linear,
    _warmup_total,
    {},
    _WARMUP_TOTAL,
  ),
  Row("cosine", _COSINE_LAMBDA, _warmup.warmup_cosine, _cosine, {"num_cycles": 0.5}, _WARMUP_TOTAL),
  Row(
    "cosine_with_restarts",
    "_get_cosine_with_hard_restarts_schedule_with_warmup_lr_lambda",
    _warmup.warmup_cosine_restarts,
    lambda base, kw: dict(_warmup_total(base, kw), num_cycles=kw["num_cycles"]),
    {"num_cycles": 1},
    _WARMUP_TOTAL,
  ),
  Row(
    "polynomial",
    "_get_polynomial_decay_schedule_with_warmup_lr_lambda",
    _warmup.warmup_polynomial,
    _polynomial,
    {"lr_end": 1e-7, "power": 1.0},
    _WARMUP_TOTAL,
  ),
  Row("constant", "_get_constant_lambda", _decay.constant, lambda base, kw: dict(value=base), None),
  Row(
    "constant_with_warmup",
    "_get_constant_schedule_with_warmup_lr_lambda",
    _warmup.warmup_constant,
    _warmup_steps,
    None,
    _WARMUP,
  ),
  Row(
    "inverse_sqrt",
    "_get_inverse_sqrt_schedule_lr_lambda",
    _warmup.inverse_sqrt,
    lambda base, kw: dict(_warmup_steps(base, kw), timescale=kw["timescale"]),
    {"timescale": None},
    _WARMUP,
  ),
  Row(
    "reduce_lr_on_plateau",
    None,
    _plateau.reduce_on_plateau,
    _reduce_on_plateau,
    {
      "mode": "min",
      "factor": 0.1,
      "patience": 10,
      "threshold": 1e-4,
      "threshold_mode": "rel",
      "cooldown": 0,
      "min_lr": 0.0,
      "eps": 1e-8,
    },
  ),
  Row("cosine_with_min_lr", _COSINE_LAMBDA, _warmup.warmup_cosine, _cosine, _MIN_LR, _WARMUP_TOTAL),
  Row(
    "cosine_warmup_with_min_lr",
    "_get_cosine_with_min_lr_schedule_with_warmup_lr_rate_lambda",
    _cosine_with_min_lr_rate,
    _cosine_lr_rate,
    {**_MIN_LR, "warmup_lr_rate": None},
    _WARMUP_TOTAL,
  ),
  Row(
    "warmup_stable_decay",
    "_get_wsd_scheduler_lambda",
    _warmup.warmup_stable_decay,
    _wsd,
    {
      "num_decay_steps": NO_DEFAULT,
      "num_stable_steps": None,
      "warmup_type": "linear",
      "decay_type": "cosine",
      "min_lr_ratio": 0.0,
      "num_cycles": 0.5,
    },
    _WARMUP,
  ),
  Row(
    "greedy",
    None,
    _greedy.greedy_lr,
    _greedy_keywords,
    dict.fromkeys(
      (
        "mode",
        "factor",
        "patience",
        "threshold",
        "threshold_mode",
        "cooldown",
        "warmup",
        "min_lr",
        "max_lr",
        "eps",
        "verbose",
        "smooth",
        "window_size",
        "reset_start",
      ),
      NO_DEFAULT,
    ),
  ),
)
TABLE: Mapping[str, Row] = types.MappingProxyType({row.name: row for row in _ROWS})
# The row of each LambdaLR function (get_cosine_with_min_lr_schedule_with_warmup builds the
# lambda of get_cosine_schedule_with_warmup: both rows build it alike).
_BY_LAMBDA = {row.lr_lambda: row for row in reversed(_ROWS) if row.lr_lambda is not None}


def from_lambda(fn: Any, base: float, where: str) -> optax.Schedule:
  """The schedule of a ``LambdaLR`` lambda made by a transformers ``get_*_schedule*`` function.

  Args:
    fn: the lambda (usually a ``functools.partial``).
    base: the param group's base rate, which LambdaLR multiplies by the lambda.
    where: the LambdaLR, for the message.

  Raises:
    Unsupported: for a function that is not one of transformers' lambdas.
  """
  func = fn.func if isinstance(fn, functools.partial) else fn
  name = getattr(func, "__name__", type(func).__name__)
  row = _BY_LAMBDA.get(name)
  if row is None or not getattr(func, "__module__", "").startswith("transformers"):
    raise _objects.Unsupported(
      f"{where} with lr_lambda {name!r} (of the LambdaLRs, those of transformers' "
      "get_*_schedule* functions, of pytorch_optimizer's get_chebyshev_schedule and "
      "get_wsd_schedule and of to_torch are converted)"
    )
  kw = _objects.partial_keywords(fn) if isinstance(fn, functools.partial) else {}
  return row.factory(**row.keywords(base, kw))


def get_scheduler(
  name: Any,
  peak_value: ArrayLike,
  num_warmup_steps: Optional[int] = None,
  num_training_steps: Optional[int] = None,
  scheduler_specific_kwargs: Optional[dict] = None,
) -> Any:
  """transformers' ``get_scheduler``: a schedule by ``SchedulerType`` name.

  .. math:: \\eta_t = p \\, \\lambda_{name}(t)

  with ``lambda`` the factor transformers' ``get_scheduler(name, optimizer,
  ...)`` gives a ``LambdaLR`` and ``p = peak_value`` the optimizer's rate.
  Names, keyword names, defaults and missing-argument errors are
  transformers': ``linear``, ``cosine``, ``cosine_with_restarts``,
  ``polynomial``, ``constant``, ``constant_with_warmup``, ``inverse_sqrt``,
  ``cosine_with_min_lr``, ``cosine_warmup_with_min_lr`` and
  ``warmup_stable_decay`` are closed-form schedules, equal to transformers'
  at every step (the cosine ones follow the cosine past ``num_training_steps``
  as transformers' do).
  ``reduce_lr_on_plateau`` returns :func:`reduce_on_plateau` with
  ``ReduceLROnPlateau``'s defaults (``min_lr`` and ``eps`` divided by
  ``peak_value``), a transformation that scales updates: use it after an
  optimizer whose rate is ``peak_value``. ``greedy`` returns
  :func:`greedy_lr` with ``GreedyLR``'s defaults and
  ``base_lr=peak_value`` (``min_lr``, ``max_lr`` and ``eps`` stay absolute;
  ``peak_value`` must be > 0; ``verbose`` is accepted and ignored), a
  transformation used the same way.

  Args:
    name: a ``transformers.SchedulerType`` or its string value.
    peak_value: the optimizer's learning rate, >= 0.
    num_warmup_steps: warmup steps; required by all but ``constant``,
      ``reduce_lr_on_plateau`` and ``greedy``.
    num_training_steps: total steps; required by the decaying schedules
      (``warmup_stable_decay`` takes it or ``num_stable_steps``).
    scheduler_specific_kwargs: transformers' extra keywords, e.g.
      ``num_cycles``, ``lr_end``, ``power``, ``timescale``, ``min_lr``,
      ``min_lr_rate``, ``warmup_lr_rate``, ``num_decay_steps``,
      ``num_stable_steps``, ``warmup_type``, ``decay_type``, ``min_lr_ratio``,
      or ``ReduceLROnPlateau``'s, or ``GreedyLR``'s.

  Returns:
    An ``optax.Schedule``, or an ``optax.GradientTransformationExtraArgs``
    for ``reduce_lr_on_plateau`` and ``greedy``.

  Examples:
    >>> import jaxsched
    >>> sched = jaxsched.get_scheduler("linear", 1e-3, num_warmup_steps=10,
    ...                                num_training_steps=110)
    >>> round(float(sched(5)), 6), round(float(sched(60)), 6)
    (0.0005, 0.0005)
  """
  fn = "get_scheduler"
  name = str(getattr(name, "value", name))
  if name not in TABLE:
    raise ValueError(
      f"{fn}: {name} is not a valid SchedulerType, please select one of {list(TABLE)}"
    )
  c.check_real(fn, "peak_value", peak_value, low=0.0, low_open=name == "greedy")
  row = TABLE[name]
  given = dict(scheduler_specific_kwargs or {})
  kw: Dict[str, Any] = {}
  if row.specific is not None:
    unknown = sorted(set(given) - set(row.specific))
    if unknown:
      raise ValueError(
        f"{fn}: scheduler_specific_kwargs {unknown} are not keywords of {name!r} "
        f"(it takes {', '.join(row.specific) or 'none'})"
      )
    kw = {k: v for k, v in {**row.specific, **given}.items() if v is not NO_DEFAULT}
  if name in ("greedy", "reduce_lr_on_plateau"):
    for key in ("min_lr", "max_lr"):
      if isinstance(kw.get(key), (list, tuple)):
        raise ValueError(
          f"{fn}: {key}={kw[key]!r}: one schedule has one param group, give a number"
        )
  if "num_warmup_steps" in row.needs and num_warmup_steps is None:
    raise ValueError(f"{fn}: {name} requires `num_warmup_steps`, please provide that argument.")
  if name == "warmup_stable_decay":
    if "num_decay_steps" not in kw:
      raise ValueError(
        f"{fn}: warmup_stable_decay requires `num_decay_steps` in scheduler_specific_kwargs"
      )
    if num_training_steps is None and kw["num_stable_steps"] is None:
      raise ValueError(f"{fn}: Either num_training_steps or num_stable_steps must be specified.")
    for key in ("warmup_type", "decay_type"):
      if kw[key] not in WSD_KINDS:
        raise ValueError(f"{fn}: {key}={kw[key]!r} must be one of 'linear', 'cosine', '1-sqrt'")
  if "num_training_steps" in row.needs and num_training_steps is None:
    raise ValueError(f"{fn}: {name} requires `num_training_steps`, please provide that argument.")
  if name == "polynomial":
    lr_end = kw["lr_end"]
    if not c.is_traced(peak_value) and not np.all(np.asarray(peak_value) > lr_end):
      raise ValueError(f"{fn}: lr_end ({lr_end}) must be smaller than initial lr ({peak_value})")
  if name in ("cosine_with_min_lr", "cosine_warmup_with_min_lr"):
    min_lr, min_lr_rate = kw.get("min_lr"), kw.get("min_lr_rate")
    if min_lr is not None and min_lr_rate is not None:
      raise ValueError(f"{fn}: Only one of min_lr or min_lr_rate should be set")
    if min_lr is None and min_lr_rate is None:
      raise ValueError(
        f"{fn}: One of min_lr or min_lr_rate should be set through the `lr_scheduler_kwargs`"
      )
    if min_lr_rate is None:
      assert min_lr is not None  # one of the two is set (checked above)
      kw["min_lr_rate"] = min_lr / peak_value
  if row.lr_lambda is not None:  # the step counts are keywords of its lambda
    kw.update(num_warmup_steps=num_warmup_steps, num_training_steps=num_training_steps)
  return row.factory(**row.keywords(peak_value, kw))
