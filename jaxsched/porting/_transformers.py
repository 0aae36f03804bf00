"""transformers' schedules: the ``LambdaLR`` of its ``get_*_schedule*`` functions and its
``get_scheduler``, as jaxsched schedules (transformers is never imported)."""

import functools
import inspect
from typing import Any, cast, Optional, SupportsFloat

import jax.numpy as jnp
import numpy as np
import optax
from jax.typing import ArrayLike

from jaxsched import _common as c
from jaxsched.porting import _objects
from jaxsched.schedules import _composition
from jaxsched.schedules import _decay
from jaxsched.schedules import _warmup
from jaxsched.transforms import _greedy
from jaxsched.transforms import _plateau

# transformers.optimization: the function inside each get_*_schedule*'s LambdaLR.
HF_LAMBDAS = {
  "_get_constant_lambda": "get_constant_schedule",
  "_get_constant_schedule_with_warmup_lr_lambda": "get_constant_schedule_with_warmup",
  "_get_linear_schedule_with_warmup_lr_lambda": "get_linear_schedule_with_warmup",
  "_get_cosine_schedule_with_warmup_lr_lambda": (
    "get_cosine_schedule_with_warmup, get_cosine_with_min_lr_schedule_with_warmup"
  ),
  "_get_cosine_with_hard_restarts_schedule_with_warmup_lr_lambda": (
    "get_cosine_with_hard_restarts_schedule_with_warmup"
  ),
  "_get_polynomial_decay_schedule_with_warmup_lr_lambda": (
    "get_polynomial_decay_schedule_with_warmup"
  ),
  "_get_inverse_sqrt_schedule_lr_lambda": "get_inverse_sqrt_schedule",
  "_get_cosine_with_min_lr_schedule_with_warmup_lr_rate_lambda": (
    "get_cosine_with_min_lr_schedule_with_warmup_lr_rate"
  ),
  "_get_wsd_scheduler_lambda": "get_wsd_schedule",
}

# transformers.SchedulerType names and the scheduler_specific_kwargs each takes.
HF_SCHEDULER_KWARGS = {
  "linear": (),
  "cosine": ("num_cycles",),
  "cosine_with_restarts": ("num_cycles",),
  "polynomial": ("lr_end", "power"),
  "constant": None,  # transformers ignores them
  "constant_with_warmup": None,  # transformers ignores them
  "inverse_sqrt": ("timescale",),
  "reduce_lr_on_plateau": (
    "mode",
    "factor",
    "patience",
    "threshold",
    "threshold_mode",
    "cooldown",
    "min_lr",
    "eps",
  ),
  "cosine_with_min_lr": ("num_cycles", "min_lr", "min_lr_rate"),
  "cosine_warmup_with_min_lr": ("num_cycles", "min_lr", "min_lr_rate", "warmup_lr_rate"),
  "warmup_stable_decay": (
    "num_decay_steps",
    "num_stable_steps",
    "warmup_type",
    "decay_type",
    "min_lr_ratio",
    "num_cycles",
  ),
  "greedy": (
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
}
_WSD_KINDS = ("linear", "cosine", "1-sqrt")


def _shifted(schedule: optax.Schedule, shift: int) -> optax.Schedule:
  """``schedule(t + shift)``, saturating at the largest int32 step."""

  def shifted_schedule(count):
    t = c.as_count(count)
    return schedule(jnp.minimum(t, c.INT32_MAX - shift) + shift)

  return shifted_schedule


def _hf_keywords(fn: functools.partial) -> dict:
  """All keyword values of a transformers lambda, its defaults included."""
  bound = inspect.signature(fn.func).bind(0, *fn.args, **fn.keywords)
  bound.apply_defaults()
  return {k: v for k, v in list(bound.arguments.items())[1:]}


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
  ahead, which holds its final value from step ``T - 1`` on (transformers
  keeps following the cosine there).
  """
  decay = _shifted(
    _warmup.warmup_cosine(
      base,
      0,
      max(total_steps - warmup_steps, 1),
      end_value=base * min_lr_rate,
      num_cycles=num_cycles,
    ),
    1,
  )
  if warmup_steps <= 0:
    return decay
  init = base / warmup_steps if warmup_lr_rate is None else base * warmup_lr_rate
  ramp = _warmup.warmup(base, max(warmup_steps - 1, 1), init_value=init)
  return _composition.sequential([ramp, decay], [warmup_steps])


def _hf_schedule(func_name: str, kw: dict, base: float) -> optax.Schedule:
  """The jaxsched schedule of a transformers lambda (by its function's name) times ``base``."""
  if func_name == "_get_constant_lambda":
    return _decay.constant(base)
  w = kw["num_warmup_steps"]
  if func_name == "_get_constant_schedule_with_warmup_lr_lambda":
    return _warmup.warmup_constant(base, w)
  if func_name == "_get_inverse_sqrt_schedule_lr_lambda":
    return _warmup.inverse_sqrt(base, w, timescale=kw["timescale"])
  if func_name == "_get_wsd_scheduler_lambda":
    return _warmup.warmup_stable_decay(
      base,
      w,
      kw["num_decay_steps"],
      stable_steps=kw["num_stable_steps"],
      warmup_kind=kw["warmup_type"],
      decay_kind=kw["decay_type"],
      min_lr_ratio=kw["min_lr_ratio"],
      num_cycles=kw["num_cycles"],
    )
  total = kw["num_training_steps"]
  if func_name == "_get_linear_schedule_with_warmup_lr_lambda":
    return _warmup.warmup_linear(base, w, total)
  if func_name == "_get_cosine_schedule_with_warmup_lr_lambda":
    return _warmup.warmup_cosine(
      base, w, total, end_value=base * kw.get("min_lr_rate", 0.0), num_cycles=kw["num_cycles"]
    )
  if func_name == "_get_cosine_with_hard_restarts_schedule_with_warmup_lr_lambda":
    return _warmup.warmup_cosine_restarts(base, w, total, num_cycles=kw["num_cycles"])
  if func_name == "_get_polynomial_decay_schedule_with_warmup_lr_lambda":
    # LambdaLR multiplies lr_end / lr_init by the group's base rate.
    return _warmup.warmup_polynomial(
      base, w, total, end_value=kw["lr_end"] * base / kw["lr_init"], power=kw["power"]
    )
  if func_name == "_get_cosine_with_min_lr_schedule_with_warmup_lr_rate_lambda":
    return _cosine_with_min_lr_rate(
      base, w, total, kw["num_cycles"], kw["min_lr_rate"], kw["warmup_lr_rate"]
    )
  raise _objects.Unsupported(f"transformers lambda {func_name}")


def from_lambda(fn: Any, base: float, where: str) -> optax.Schedule:
  """The schedule of a ``LambdaLR`` lambda made by a transformers ``get_*_schedule*`` function.

  Raises:
    Unsupported: naming ``where`` (the LambdaLR), for any other function.
  """
  func = fn.func if isinstance(fn, functools.partial) else fn
  name = getattr(func, "__name__", type(func).__name__)
  if name not in HF_LAMBDAS or not getattr(func, "__module__", "").startswith("transformers"):
    raise _objects.Unsupported(
      f"{where} with lr_lambda {name!r} (of the LambdaLRs, "
      "those of transformers' get_*_schedule* functions and of to_torch are "
      "converted)"
    )
  kw = _hf_keywords(fn) if isinstance(fn, functools.partial) else {}
  return _hf_schedule(name, kw, base)


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
  ``warmup_stable_decay`` are closed-form schedules (the cosine ones hold
  their last value after the end, see :func:`from_torch`).
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
  if name not in HF_SCHEDULER_KWARGS:
    raise ValueError(
      f"{fn}: {name} is not a valid SchedulerType, please select one of {list(HF_SCHEDULER_KWARGS)}"
    )
  c.check_real(fn, "peak_value", peak_value, low=0.0, low_open=name == "greedy")
  kw = dict(scheduler_specific_kwargs or {})
  allowed = HF_SCHEDULER_KWARGS[name]
  if allowed is not None:
    unknown = sorted(set(kw) - set(allowed))
    if unknown:
      raise ValueError(
        f"{fn}: scheduler_specific_kwargs {unknown} are not keywords of {name!r} "
        f"(it takes {', '.join(allowed) or 'none'})"
      )
  if name == "greedy":
    for key in ("min_lr", "max_lr"):
      if isinstance(kw.get(key), (list, tuple)):
        raise ValueError(
          f"{fn}: {key}={kw[key]!r}: one schedule has one param group, give a number"
        )
    kw.pop("verbose", None)  # GreedyLR only prints with it
    return _greedy.greedy_lr(peak_value, **kw)
  if name == "constant":
    return _decay.constant(peak_value)
  if name == "reduce_lr_on_plateau":
    min_lr = kw.get("min_lr", 0.0)
    if isinstance(min_lr, (list, tuple)):
      raise ValueError(f"{fn}: min_lr={min_lr!r}: one schedule has one param group, give a number")
    peak = float(cast(SupportsFloat, peak_value))  # a concrete rate: float() fails on a tracer
    return _plateau.reduce_on_plateau(
      factor=kw.get("factor", 0.1),
      patience=kw.get("patience", 10),
      threshold=kw.get("threshold", 1e-4),
      threshold_mode=kw.get("threshold_mode", "rel"),
      cooldown=kw.get("cooldown", 0),
      mode=kw.get("mode", "min"),
      min_scale=min(min_lr / peak, 1.0) if peak > 0 else 0.0,
      eps=kw.get("eps", 1e-8) / peak if peak > 0 else 0.0,
    )
  if num_warmup_steps is None:
    raise ValueError(f"{fn}: {name} requires `num_warmup_steps`, please provide that argument.")
  w = num_warmup_steps
  if name == "constant_with_warmup":
    return _warmup.warmup_constant(peak_value, w)
  if name == "inverse_sqrt":
    return _warmup.inverse_sqrt(peak_value, w, timescale=kw.get("timescale"))
  if name == "warmup_stable_decay":
    if "num_decay_steps" not in kw:
      raise ValueError(
        f"{fn}: warmup_stable_decay requires `num_decay_steps` in scheduler_specific_kwargs"
      )
    stable = kw.get("num_stable_steps")
    if num_training_steps is None and stable is None:
      raise ValueError(f"{fn}: Either num_training_steps or num_stable_steps must be specified.")
    for key in ("warmup_type", "decay_type"):
      kind = kw.get(key, "cosine" if key == "decay_type" else "linear")
      if kind not in _WSD_KINDS:
        raise ValueError(f"{fn}: {key}={kind!r} must be one of 'linear', 'cosine', '1-sqrt'")
    # With both, transformers warns and uses num_stable_steps.
    counts = (
      dict(stable_steps=stable) if stable is not None else dict(total_steps=num_training_steps)
    )
    return _warmup.warmup_stable_decay(
      peak_value,
      w,
      kw["num_decay_steps"],
      warmup_kind=kw.get("warmup_type", "linear"),
      decay_kind=kw.get("decay_type", "cosine"),
      min_lr_ratio=kw.get("min_lr_ratio", 0.0),
      num_cycles=kw.get("num_cycles", 0.5),
      **counts,
    )
  if num_training_steps is None:
    raise ValueError(f"{fn}: {name} requires `num_training_steps`, please provide that argument.")
  t = num_training_steps
  if name == "linear":
    return _warmup.warmup_linear(peak_value, w, t)
  if name == "cosine":
    return _warmup.warmup_cosine(peak_value, w, t, num_cycles=kw.get("num_cycles", 0.5))
  if name == "cosine_with_restarts":
    return _warmup.warmup_cosine_restarts(peak_value, w, t, num_cycles=kw.get("num_cycles", 1))
  if name == "polynomial":
    lr_end = kw.get("lr_end", 1e-7)
    if not c.is_traced(peak_value) and not np.all(np.asarray(peak_value) > lr_end):
      raise ValueError(f"{fn}: lr_end ({lr_end}) must be smaller than initial lr ({peak_value})")
    return _warmup.warmup_polynomial(peak_value, w, t, end_value=lr_end, power=kw.get("power", 1.0))
  # cosine_with_min_lr, cosine_warmup_with_min_lr
  min_lr, min_lr_rate = kw.get("min_lr"), kw.get("min_lr_rate")
  if min_lr is not None and min_lr_rate is not None:
    raise ValueError(f"{fn}: Only one of min_lr or min_lr_rate should be set")
  if min_lr is None and min_lr_rate is None:
    raise ValueError(
      f"{fn}: One of min_lr or min_lr_rate should be set through the `lr_scheduler_kwargs`"
    )
  if min_lr_rate is None:
    assert min_lr is not None  # one of the two is set (checked above)
    min_lr_rate = min_lr / peak_value
  num_cycles = kw.get("num_cycles", 0.5)
  if name == "cosine_with_min_lr":
    return _warmup.warmup_cosine(
      peak_value, w, t, end_value=peak_value * min_lr_rate, num_cycles=num_cycles
    )
  base = float(cast(SupportsFloat, peak_value))  # a concrete rate: float() fails on a tracer
  return _cosine_with_min_lr_rate(base, w, t, num_cycles, min_lr_rate, kw.get("warmup_lr_rate"))
