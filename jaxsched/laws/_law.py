"""The two loss laws, and a fitted law that predicts loss curves for any schedule.

Each law is a pair of functions: ``prepare`` turns a learning-rate curve and
the steps where the loss is wanted into what the formula reads (the areas at
those steps, or the whole curve), and ``evaluate`` applies the formula with
the law's parameters. Fitting calls ``prepare`` once per curve and
``evaluate`` at every iteration; prediction calls both.
"""

import functools
import json
from typing import Any, Callable, Mapping, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from jaxsched import _common as c
from jaxsched.laws import _areas

MOMENTUM = "momentum"
MULTI_POWER = "multi_power"
KINDS = (MOMENTUM, MULTI_POWER)

# Elements of one block of the multi-power sum (points x updates) held at once.
_BLOCK = 1 << 20
# log(eta) used for a rate of 0 in eta ** -gamma (the limit: the drop completes at once).
_LOG_ZERO_RATE = -80.0


def _momentum_prepare(lrs: jax.Array, steps: jax.Array, fixed: Mapping[str, Any]) -> tuple:
  """The areas S1 and S2 at the steps."""
  areas = _areas.lr_areas(lrs, decay=fixed["decay"])
  return areas.s1[steps], areas.s2[steps]


def _momentum_evaluate(p: Mapping[str, jax.Array], prepared: tuple) -> jax.Array:
  s1, s2 = prepared
  return p["L0"] + p["A"] * s1 ** -p["alpha"] - p["C"] * s2


def _multi_power_prepare(lrs: jax.Array, steps: jax.Array, fixed: Mapping[str, Any]) -> tuple:
  """The areas at the steps, and per update k: k, the area before it, log(eta_k), d_k."""
  del fixed
  s1 = jnp.cumsum(lrs)
  positive = lrs > 0
  log_lr = jnp.where(positive, jnp.log(jnp.where(positive, lrs, 1.0)), _LOG_ZERO_RATE)
  # S_k(t) = s1[t] - before[k] = sum_{tau=k}^{t} eta_tau.
  k = jnp.arange(lrs.shape[0])
  return s1[steps], steps, k, s1 - lrs, log_lr, _areas.annealing_drops(lrs)


def shrink_multi_power(prepared: tuple, size: int) -> tuple:
  """Keeps the updates whose drop is not 0 (the only ones in the sum), padded to ``size``.

  For fitting: a constant stretch of a curve then costs nothing. NumPy, on
  concrete arrays.
  """
  s1_t, steps, k, before, log_lr, drops = (np.asarray(x) for x in prepared)
  keep = np.flatnonzero((drops != 0) & (k <= steps.max()))
  pad = size - keep.size
  return (
    s1_t,
    steps,
    np.pad(k[keep], (0, pad)),
    np.pad(before[keep], (0, pad)),
    np.pad(log_lr[keep], (0, pad)),
    np.pad(drops[keep], (0, pad)),  # a drop of 0 adds nothing
  )


def _loss_drop(p: Mapping[str, jax.Array], prepared: tuple) -> jax.Array:
  """``LD(t)`` at each step; past ``_BLOCK`` (points x updates) in blocks of points,
  recomputed in the backward pass, so that memory stays bounded."""
  s1_t, steps, k, before, log_lr, drops = prepared
  log_c = jnp.log(p["C"])

  def one(point):
    s1, t = point
    area = s1 - before  # S_k(t), > 0 where eta_k > 0 or a later rate is
    live = (k <= t) & (area > 0)
    # G(eta_k^-gamma S_k(t)) = 1 - exp(-beta log(1 + C x)), log(1 + C x) = softplus(log C + log x):
    # no overflow for tiny rates or long runs; 0 where S_k(t) = 0 (nothing moved since k).
    z = log_c + jnp.log(jnp.where(live, area, 1.0)) - p["gamma"] * log_lr
    g = -jnp.expm1(-p["beta"] * jax.nn.softplus(z))
    return jnp.sum(jnp.where(live, drops * g, 0.0))

  if steps.shape[0] * k.shape[0] <= _BLOCK:
    return jax.vmap(one)((s1_t, steps))
  block = max(1, _BLOCK // k.shape[0])
  return jax.lax.map(jax.checkpoint(one), (s1_t, steps), batch_size=block)


def _multi_power_evaluate(p: Mapping[str, jax.Array], prepared: tuple) -> jax.Array:
  s1_t = prepared[0]
  return p["L0"] + p["A"] * s1_t ** -p["alpha"] - p["B"] * _loss_drop(p, prepared)


class Kind(NamedTuple):
  """One law: its fitted parameters, its fixed ones, and its two functions."""

  names: tuple  # the fitted parameters, each > 0
  fixed: Mapping[str, float]  # set before the fit (their defaults)
  prepare: Callable[..., tuple]
  evaluate: Callable[..., jax.Array]


LAWS: Mapping[str, Kind] = {
  MOMENTUM: Kind(
    ("L0", "A", "alpha", "C"), {"decay": 0.999}, _momentum_prepare, _momentum_evaluate
  ),
  MULTI_POWER: Kind(
    ("L0", "A", "alpha", "B", "C", "beta", "gamma"),
    {},
    _multi_power_prepare,
    _multi_power_evaluate,
  ),
}


def check_steps_on_curve(fn: str, lrs: Any, steps: Any, where: str = "") -> None:
  """Concrete steps must lie on the curve and have a positive forward area."""
  lr_np, steps_np = c.concrete(lrs), c.concrete(steps)
  if steps_np is None:
    return
  c.check_steps(fn, f"steps{where}", steps_np)
  if lr_np is None:
    return
  n = lr_np.shape[-1]
  if steps_np.size and int(steps_np.max()) >= n:
    raise ValueError(
      f"{fn}: steps{where} go to {int(steps_np.max())}, beyond the learning-rate curve "
      f"(updates 0..{n - 1}); a step is the update after which the loss is measured"
    )
  first = int(np.argmax(np.cumsum(lr_np, axis=-1) > 0)) if np.any(lr_np > 0) else n
  if steps_np.size and int(steps_np.min()) < first:
    raise ValueError(
      f"{fn}: steps{where} start at {int(steps_np.min())}, where the learning rates so far "
      f"sum to 0 (the first positive rate is at update {first}); the laws' term A * S1^-alpha "
      "is infinite there"
    )


@functools.partial(jax.jit, static_argnames=("kind",))
def _predict(kind: str, params: dict, lrs: jax.Array, steps: jax.Array) -> jax.Array:
  law = LAWS[kind]
  return law.evaluate(params, law.prepare(lrs, steps, {k: params[k] for k in law.fixed}))


class LossLaw(NamedTuple):
  """A fitted loss law: ``law.predict(schedule, steps)`` gives the loss curve.

  Attributes:
    kind: ``"momentum"`` (Tissue et al.) or ``"multi_power"`` (Luo et al.).
    params: ``{name: float}``: the fitted parameters and the fixed ones
      (``decay`` of the momentum law).
    residual: the root mean square of ``log(predicted) - log(measured)`` over
      the points the law was fitted to (0.01 is about 1% error).
  """

  kind: str
  params: Mapping[str, float]
  residual: float

  def predict(self, schedule: _areas.LRCurve, steps: int | ArrayLike) -> jax.Array:
    """The predicted loss after update ``steps`` (a step or an array of steps).

    Jittable, and vmappable over a batch of learning-rate arrays:
    ``jax.vmap(lambda lrs: law.predict(lrs, steps))(batch)``.

    Args:
      schedule: a schedule, or a 1-D array of the rates of updates 0, 1, ...
        (each >= 0); it must cover every step asked for. A schedule is
        evaluated on ``0 .. max(steps)`` (``steps`` then concrete).
      steps: update indices (the loss after update ``t``), >= 0, where the
        rates so far sum to more than 0.

    Returns:
      The losses, shaped as ``steps``.
    """
    fn = "LossLaw.predict"
    c.check_choice(fn, "kind", self.kind, KINDS)
    if callable(schedule):
      steps_np = c.concrete(steps)
      if steps_np is None:
        raise ValueError(f"{fn}: steps must be concrete when the curve is a schedule")
      c.check_steps(fn, "steps", steps_np)
      lrs = _areas.lr_curve(fn, schedule, int(np.max(steps_np)) + 1)
    else:
      lrs = _areas.lr_curve(fn, schedule)
    check_steps_on_curve(fn, lrs, steps)
    t = jnp.asarray(steps)
    dtype = c.value_dtype(lrs)
    params = {k: jnp.asarray(v, dtype) for k, v in self.params.items()}
    return _predict(self.kind, params, lrs, jnp.ravel(t).astype(jnp.int32)).reshape(t.shape)

  def to_json(self) -> str:
    """The law as JSON: ``{"kind", "params", "residual"}``."""
    return json.dumps(
      {
        "kind": self.kind,
        "params": {k: float(v) for k, v in self.params.items()},
        "residual": float(self.residual),
      },
      indent=2,
    )

  @classmethod
  def from_json(cls, text: str) -> "LossLaw":
    """The law :meth:`to_json` wrote."""
    fn = "LossLaw.from_json"
    try:
      data = json.loads(text)
    except json.JSONDecodeError as e:
      raise ValueError(f"{fn}: not JSON: {e}") from None
    if not isinstance(data, dict) or not {"kind", "params"} <= set(data):
      raise ValueError(f"{fn}: a law is an object with 'kind' and 'params'")
    c.check_choice(fn, "kind", data["kind"], KINDS)
    law = LAWS[data["kind"]]
    needed = set(law.names) | set(law.fixed)
    params = data["params"]
    if not isinstance(params, dict) or set(params) != needed:
      raise ValueError(
        f"{fn}: a {data['kind']} law has the parameters {', '.join(sorted(needed))}, not {params!r}"
      )
    for name, value in params.items():
      c.check_real(fn, f"params[{name!r}]", value)
    return cls(
      data["kind"],
      {k: float(params[k]) for k in (*law.names, *law.fixed)},
      float(data.get("residual", float("nan"))),
    )
