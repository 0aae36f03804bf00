"""How far a schedule is from a reference, step by step."""

from typing import Any, NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np

from jaxsched import _common as c
from jaxsched.porting import _objects
from jaxsched.porting import _tabulate


class Comparison(NamedTuple):
  """What :func:`compare` returns."""

  max_abs_deviation: float  # max |schedule - reference| over the steps compared
  max_rel_deviation: float  # max of it over |reference|; inf where only the reference is 0
  first_mismatch: Optional[int]  # first step beyond tolerance, None when there is none


def _curve(x: Any, start: int, num_steps: int, fn: str, name: str, per_epoch: int = 1) -> tuple:
  """``(start, values)``: a schedule, list of schedules or torch scheduler over num_steps steps.

  A scheduler stepped once per epoch (``per_epoch`` updates) is tabulated per
  epoch, each row repeated ``per_epoch`` times; ``start`` counts updates.
  """
  if _objects.is_torch_scheduler(x):
    epochs = -(-num_steps // per_epoch)
    start, values, _ = _tabulate.torch_values(x, epochs, fn)
    return start * per_epoch, np.repeat(values, per_epoch, axis=0)[:num_steps]
  parts = list(x) if isinstance(x, (list, tuple)) else [x]
  if not parts or not all(callable(p) for p in parts):
    raise ValueError(f"{fn}: {name}={x!r} must be a schedule, a list of them or a torch scheduler")
  steps = jnp.asarray(np.minimum(np.arange(start, start + num_steps), c.INT32_MAX), jnp.int32)
  columns = [
    np.broadcast_to(np.asarray(jax.jit(p)(steps), np.float64), (num_steps,)) for p in parts
  ]
  return start, np.stack(columns, axis=1)


def compare(
  reference: Any,
  schedule: _objects.Schedules,
  num_steps: int,
  *,
  rtol: float = 1e-5,
  atol: float = 0.0,
  steps_per_epoch: Optional[int] = None,
) -> Comparison:
  """How far ``schedule`` is from ``reference``, step by step.

  .. math::
    \\text{mismatch at } t \\iff |s_t - r_t| > \\text{atol} + \\text{rtol} \\, |r_t|

  (``numpy.isclose``'s test, NaN always a mismatch). A torch scheduler as
  ``reference`` is stepped on a ``copy.deepcopy``, reading its rates at its
  steps ``last_epoch .. last_epoch + num_steps - 1`` (``0 .. num_steps - 1``
  for a fresh one), where ``schedule`` is evaluated too (see
  :func:`from_torch` for the step convention; a timm scheduler, which is
  stateless, from step 0 on, by ``step_update(t)`` or, with
  ``t_in_epochs=True``, ``step(t)``). Several param groups compare against a
  list with one schedule per group. With ``steps_per_epoch=N`` the reference
  is stepped once per epoch and ``schedule`` counts updates, as
  ``from_torch(reference, steps_per_epoch=N)`` does: update ``t`` has the
  rate of epoch ``t // N``.

  Args:
    reference: a torch scheduler, a schedule, or a list of schedules.
    schedule: a schedule, or a list with one per param group of ``reference``.
    num_steps: steps compared, >= 1.
    rtol: relative tolerance, >= 0.
    atol: absolute tolerance, >= 0.
    steps_per_epoch: updates per step of a reference scheduler stepped once
      per epoch, >= 1; None: one.

  Returns:
    A :class:`Comparison` ``(max_abs_deviation, max_rel_deviation,
    first_mismatch)``; ``first_mismatch`` is None when every step is within
    tolerance.

  Examples:
    >>> import jaxsched
    >>> result = jaxsched.compare(jaxsched.step_decay(1.0, 30, gamma=0.5),
    ...                           jaxsched.multistep_decay(1.0, [30, 60, 80], gamma=0.5), 100)
    >>> result.first_mismatch
    80
  """
  fn = "compare"
  c.check_steps(fn, "num_steps", num_steps, minimum=1)
  c.check_real(fn, "rtol", rtol, low=0.0)
  c.check_real(fn, "atol", atol, low=0.0)
  per_epoch = 1
  if steps_per_epoch is not None:
    c.check_steps(fn, "steps_per_epoch", steps_per_epoch, minimum=1)
    if not _objects.is_torch_scheduler(reference):
      raise ValueError(f"{fn}: steps_per_epoch applies to a torch or timm scheduler as reference")
    per_epoch = int(steps_per_epoch)
  if _objects.is_torch_scheduler(schedule):
    raise ValueError(
      f"{fn}: schedule must be a jaxsched schedule; pass the torch scheduler as reference"
    )
  start, want = _curve(reference, 0, int(num_steps), fn, "reference", per_epoch)
  _, got = _curve(schedule, start, int(num_steps), fn, "schedule")
  if got.shape != want.shape:
    raise ValueError(
      f"{fn}: reference has {want.shape[1]} param groups, schedule "
      f"{got.shape[1]}; give one schedule per group"
    )
  diff = np.abs(got - want)
  diff = np.where(np.isnan(diff), np.inf, diff)
  scale = np.abs(want)
  with np.errstate(divide="ignore", invalid="ignore"):
    rel = np.where(diff == 0, 0.0, diff / scale)
  bad = np.flatnonzero(np.any(~(diff <= atol + rtol * scale), axis=1))
  return Comparison(
    max_abs_deviation=float(diff.max()),
    max_rel_deviation=float(rel.max()),
    first_mismatch=int(start + bad[0]) if bad.size else None,
  )
