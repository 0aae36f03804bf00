"""The optimizer of a run, from one ordered list of ``{type: ...}`` entries.

Entries are applied in order, as ``optax.chain``. Exactly one is the optimizer:

* ``{type: adamw, b1: 0.9, b2: 0.999, eps: 1e-8, weight_decay: 0.0}``: PyTorch's
  ``AdamW``; decay after the Adam direction.
* ``{type: adam, b1, b2, eps, weight_decay}``: PyTorch's ``Adam``; weight decay
  is L2, added to the gradient before the Adam statistics.
* ``{type: sgd, momentum: 0.0, nesterov: false, weight_decay: 0.0}``: PyTorch's
  ``SGD`` (no dampening); weight decay is added to the gradient before momentum.

Each takes ``weight_decay_mode``: ``coupled`` (the default, as PyTorch and
Optax: the decay term is multiplied by the learning rate ``eta_t``) or
``independent`` (Wortsman et al. 2023, Loshchilov & Hutter's original AdamW):
``theta <- theta - s_t (eta Delta + lambda theta)`` with ``s_t = eta_t / eta``
the schedule's multiplier and ``eta`` the peak rate, so ``lambda`` is a decay
per step at the peak, not scaled by it. Independent decay always acts on the
weights directly (after the direction), whatever the optimizer.

The other entries are transformations placed before or after it:

* ``{type: clip_by_global_norm, max_norm: 1.0}`` (``torch.nn.utils.clip_grad_norm_``);
* ``{type: grokfast_ema, alpha, lamb}``;
* ``{type: reduce_on_plateau | adaptive_step_decay | phase_transition, metric: val_loss, ...}``:
  jaxsched's adaptive transformations (built by ``jaxsched.resolve_config``),
  driven by ``metric``: ``train_loss`` is each step's training loss, fed every
  step; any other name is the study's evaluation metric of that name, fed at
  each evaluation point (as PyTorch's ``scheduler.step(val_loss)`` after each
  epoch). Default ``val_loss``.

Numbers of the optimizer and ``clip_by_global_norm`` entries may be traced
(a sweep over weight decay is one vmapped program); the other entries' numbers
are fixed per compiled program.
"""

from typing import Any, Callable, NamedTuple, Optional

import jax.numpy as jnp
import optax

import jaxsched

OPTIMIZERS = {
  "adamw": {"b1": 0.9, "b2": 0.999, "eps": 1e-8, "weight_decay": 0.0},
  "adam": {"b1": 0.9, "b2": 0.999, "eps": 1e-8, "weight_decay": 0.0},
  "sgd": {"momentum": 0.0, "nesterov": False, "weight_decay": 0.0},
}
WEIGHT_DECAY_MODES = ("coupled", "independent")
CLIP = {"clip_by_global_norm": {"max_norm": 1.0}}
ADAPTIVE = ("reduce_on_plateau", "adaptive_step_decay", "phase_transition")
TRANSFORMS = ADAPTIVE + ("grokfast_ema",)
TRACEABLE = tuple(OPTIMIZERS) + tuple(CLIP)  # entry types whose numbers may be traced
TRAIN_LOSS = "train_loss"


class Optimizer(NamedTuple):
  """A run's built optimizer."""

  tx: optax.GradientTransformationExtraArgs
  schedule: optax.Schedule  # the learning rate before adaptive scales
  metric: Optional[str]  # what the adaptive entries observe, or None


def _entry(entry: Any, where: str) -> tuple[str, dict]:
  if not isinstance(entry, dict) or "type" not in entry:
    raise ValueError(f"{where}={entry!r} must be a mapping with a 'type'")
  kind = entry["type"]
  allowed = tuple(OPTIMIZERS) + tuple(CLIP) + TRANSFORMS
  if kind not in allowed:
    raise ValueError(f"{where}.type={kind!r} must be one of {', '.join(allowed)}")
  return kind, {k: v for k, v in entry.items() if k != "type"}


def _defaults(kind: str, kwargs: dict, where: str) -> dict:
  """The entry's keywords over its defaults; unknown keys are an error."""
  defaults = dict(OPTIMIZERS.get(kind) or CLIP[kind])
  if kind in OPTIMIZERS:
    defaults["weight_decay_mode"] = "coupled"
  unknown = [k for k in kwargs if k not in defaults]
  if unknown:
    raise ValueError(
      f"{where}.{unknown[0]} is not a keyword of {kind}; it takes {', '.join(defaults)}"
    )
  values = {**defaults, **kwargs}
  if kind in OPTIMIZERS and values["weight_decay_mode"] not in WEIGHT_DECAY_MODES:
    raise ValueError(
      f"{where}.weight_decay_mode={values['weight_decay_mode']!r} must be one of "
      f"{', '.join(WEIGHT_DECAY_MODES)}"
    )
  return values


def _check_real(where: str, name: str, value: Any, low: float, high: float = float("inf")):
  if isinstance(value, (int, float)) and not isinstance(value, bool) and not low <= value <= high:
    raise ValueError(f"{where}.{name}={value} must be in [{low:g}, {high:g}]")


def _core(kind: str, c: dict, schedule: optax.Schedule, peak: Any, where: str):
  """The optimizer's transformations, learning rate included."""
  for name in ("b1", "b2", "momentum"):
    if name in c:
      _check_real(where, name, c[name], 0.0, 1.0)
  _check_real(where, "weight_decay", c["weight_decay"], 0.0)
  if "eps" in c:
    _check_real(where, "eps", c["eps"], 0.0)
  independent = c["weight_decay_mode"] == "independent"
  # Independent decay: lambda / eta per unit of learning rate, so s_t * lambda per step.
  decay = optax.add_decayed_weights(c["weight_decay"] / peak if independent else c["weight_decay"])
  if kind == "sgd":
    direction = [optax.trace(decay=c["momentum"], nesterov=bool(c["nesterov"]))]
  else:
    direction = [optax.scale_by_adam(b1=c["b1"], b2=c["b2"], eps=c["eps"])]
  if independent or kind == "adamw":
    parts = direction + [decay]
  else:  # L2: the decay joins the gradient before the direction
    parts = [decay] + direction
  return parts + [optax.scale_by_learning_rate(schedule)]


def build(
  entries: tuple,
  schedule: optax.Schedule,
  peak: Any,
  *,
  where: str = "optimizer",
  numbers: Optional[dict] = None,
) -> Optimizer:
  """Builds the chain of ``entries`` around the learning rate ``schedule``.

  Args:
    entries: the ordered ``{type: ...}`` list (see the module docstring).
    schedule: the learning-rate schedule.
    peak: the peak rate ``eta`` (used by independent weight decay).
    where: the config path for error messages.
    numbers: replacements for numeric keywords, keyed ``(entry index, keyword)``
      (traced values under ``vmap``).

  Returns:
    ``Optimizer(tx, schedule, metric)``.
  """
  numbers = numbers or {}
  parts, metrics, cores = [], set(), 0
  for i, entry in enumerate(entries):
    at = f"{where}[{i}]"
    kind, kwargs = _entry(entry, at)
    if kind in TRACEABLE:
      values = _defaults(kind, kwargs, at)
      values.update({k: v for (j, k), v in numbers.items() if j == i})
      if kind in OPTIMIZERS:
        cores += 1
        parts += _core(kind, values, schedule, peak, at)
      else:
        _check_real(at, "max_norm", values["max_norm"], 0.0)
        parts.append(optax.clip_by_global_norm(values["max_norm"]))
      continue
    if kind in ADAPTIVE:
      metric = kwargs.pop("metric", "val_loss")
      if not isinstance(metric, str):
        raise ValueError(f"{at}.metric={metric!r} must be a metric name such as val_loss")
      metrics.add(metric)
    try:
      parts.append(jaxsched.resolve_config({"type": kind, **kwargs}).build())
    except ValueError as e:
      raise ValueError(f"{at}: {e}") from None
  if cores != 1:
    raise ValueError(f"{where} must hold exactly one of {', '.join(OPTIMIZERS)}; it holds {cores}")
  if len(metrics) > 1:
    raise ValueError(
      f"{where}: the adaptive entries observe {sorted(metrics)}; one optimizer feeds one metric"
    )
  return Optimizer(optax.chain(*parts), schedule, metrics.pop() if metrics else None)


def core_entry(entries: tuple) -> dict:
  """The optimizer entry of ``entries`` over its defaults, ``type`` included."""
  entry = next(e for e in entries if isinstance(e, dict) and e.get("type") in OPTIMIZERS)
  kind, kwargs = _entry(entry, "optimizer")
  return {"type": kind, **_defaults(kind, kwargs, "optimizer")}


def traceable_numbers(entries: tuple) -> dict:
  """``{(entry index, keyword): value}`` for every number that may be traced."""
  out = {}
  for i, entry in enumerate(entries):
    if isinstance(entry, dict) and entry.get("type") in TRACEABLE:
      for k, v in entry.items():
        if isinstance(v, (int, float)) and not isinstance(v, bool):
          out[(i, k)] = v
  return out


def learning_rate_of(opt: Optimizer, opt_state: optax.OptState) -> jnp.ndarray:
  """The rate the optimizer used for its last update: ``schedule(count - 1)`` times the
  adaptive scales, read from the state (0-th update: the schedule at 0)."""
  last: Callable = lambda count: opt.schedule(jnp.maximum(count - 1, 0))
  return jaxsched.current_learning_rate(opt_state, last)
