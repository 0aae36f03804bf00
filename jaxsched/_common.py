"""Shared pieces of every schedule: step handling, validation, shapes.

Every factory in jaxsched validates its concrete hyperparameters here, turns
them into arrays (so any of them may also be a traced value under `jax.vmap`),
and builds its curve from the small shapes below. Step arithmetic is done in
int32 before anything is converted to floating point, so that a schedule stays
exact at every step up to ``2**31 - 1``, where float32 can no longer hold every
integer.
"""

import functools
import inspect
import math
import warnings
from typing import Any, Callable, Optional, Sequence, TypeVar

import jax
import jax.numpy as jnp
import numpy as np

INT32_MAX = 2**31 - 1

WARMUP_KINDS = ("linear", "cosine", "exponential", "polynomial", "1-sqrt")
DECAY_KINDS = ("linear", "cosine", "1-sqrt", "1-square")

_Factory = TypeVar("_Factory", bound=Callable[..., Any])


def is_traced(x: Any) -> bool:
  """True when ``x`` is (or holds) a tracer, so its value is unknown now."""
  return any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree.leaves(x))


def concrete(x: Any) -> Optional[np.ndarray]:
  """The value of ``x`` as a NumPy array, or None if it is traced."""
  if is_traced(x):
    return None
  return np.asarray(x)


def _describe(value: np.ndarray) -> str:
  if value.ndim == 0:
    return repr(value.item())
  return np.array2string(value, separator=", ", threshold=8)


def check_real(
  fn: str,
  name: str,
  x: Any,
  *,
  low: Optional[float] = None,
  high: Optional[float] = None,
  low_open: bool = False,
  high_open: bool = False,
) -> None:
  """Checks that ``x`` is finite and in the interval given; skips tracers.

  The error names the function, the argument, its value and the range, e.g.
  ``cyclic: gamma=-1.0 must be in (0, inf)``.
  """
  value = concrete(x)
  if value is None:
    return
  if not np.issubdtype(value.dtype, np.number) or np.iscomplexobj(value):
    raise ValueError(f"{fn}: {name}={x!r} must be a real number")
  value = value.astype(np.float64)
  lo = "-inf" if low is None else f"{low:g}"
  hi = "inf" if high is None else f"{high:g}"
  opening = "(" if low is None or low_open else "["
  closing = ")" if high is None or high_open else "]"
  interval = f"{opening}{lo}, {hi}{closing}"
  bad = ~np.isfinite(value)
  if low is not None:
    bad |= (value <= low) if low_open else (value < low)
  if high is not None:
    bad |= (value >= high) if high_open else (value > high)
  if np.any(bad):
    raise ValueError(f"{fn}: {name}={_describe(value)} must be a finite number in {interval}")


def check_steps(fn: str, name: str, x: Any, *, minimum: int = 0, noun: str = "steps") -> None:
  """Checks that ``x`` is a whole number (of steps) in [minimum, 2**31 - 1]."""
  value = concrete(x)
  if value is None:
    return
  if not np.issubdtype(value.dtype, np.number) or np.iscomplexobj(value):
    raise ValueError(f"{fn}: {name}={x!r} must be an integer number of {noun}")
  as_float = value.astype(np.float64)
  if (
    not np.all(np.isfinite(as_float))
    or np.any(as_float != np.round(as_float))
    or np.any(as_float < minimum)
    or np.any(as_float > INT32_MAX)
  ):
    raise ValueError(
      f"{fn}: {name}={_describe(value)} must be an integer number of {noun} in "
      f"[{minimum}, {INT32_MAX}]"
    )


def check_order(
  fn: str, small_name: str, small: Any, large_name: str, large: Any, *, strict: bool = False
) -> None:
  """Checks ``small <= large`` (``<`` if strict) when both are concrete."""
  a, b = concrete(small), concrete(large)
  if a is None or b is None:
    return
  bad = np.any(a >= b) if strict else np.any(a > b)
  if bad:
    op = "<" if strict else "<="
    raise ValueError(f"{fn}: {small_name}={_describe(a)} must be {op} {large_name}={_describe(b)}")


def check_bool(fn: str, name: str, value: Any) -> None:
  """Checks a structural flag: a Python (or NumPy) bool, never traced."""
  if not isinstance(value, (bool, np.bool_)):
    raise ValueError(f"{fn}: {name}={value!r} must be True or False (it is static)")


def check_choice(fn: str, name: str, value: str, allowed: Sequence[str]) -> None:
  """Checks a structural string argument against its allowed values."""
  if value not in allowed:
    raise ValueError(f"{fn}: {name}={value!r} must be one of {', '.join(map(repr, allowed))}")


def value_dtype(*values: Any) -> jnp.dtype:
  """float32, or float64 when a value hyperparameter is float64 under x64."""
  return jnp.result_type(jnp.float32, *values)


def as_value(x: Any, dtype: jnp.dtype) -> jax.Array:
  return jnp.asarray(x, dtype=dtype)


def log_of(x: Any, dtype: jnp.dtype) -> jax.Array:
  """``log(x)``, taken in float64 when ``x`` is concrete, then cast to ``dtype``.

  ``gamma ** t`` as ``exp(t * log(gamma))`` with this logarithm loses far less
  than raising the float32-rounded ``gamma`` (e.g. 1.05) to a large power.
  """
  value = concrete(x)
  if value is not None:
    return jnp.asarray(np.log(value.astype(np.float64)), dtype)
  return jnp.log(jnp.asarray(x, dtype))


def whole_power(base: Any, k: jax.Array, dtype: jnp.dtype) -> jax.Array:
  """``base ** k`` for ``base >= 0`` and a whole ``k >= 0`` (float), with ``0 ** 0 = 1``.

  ``exp(k log base)`` with the logarithm of a concrete base taken in float64.
  """
  b = as_value(base, dtype)
  value = concrete(base)
  safe = jnp.where(b > 0, b, 1.0) if value is None else np.where(value > 0, value, 1.0)
  return jnp.where(k == 0, 1.0, jnp.where(b > 0, jnp.exp(k * log_of(safe, dtype)), 0.0))


def muldiv(n: Any, p: Any, q: Any, r: Any = 0) -> tuple[jax.Array, jax.Array]:
  """``floor((r + n p) / q)`` and ``(r + n p) mod q`` in int32, without overflow.

  For ``0 <= n, p <= 2**31 - 1``, ``1 <= q <= 2**31 - 1`` and ``0 <= r < q``.
  Double-and-add over the 31 bits of ``n`` in uint32, where every partial sum
  stays below ``2**32``. The remainder is exact; the quotient saturates at
  ``2**31 - 1``.
  """
  n, p, q, r = (jnp.asarray(v).astype(jnp.uint32) for v in (n, p, q, r))
  shape = jnp.broadcast_shapes(n.shape, p.shape, q.shape, r.shape)
  cap = jnp.uint32(INT32_MAX)
  quo = jnp.zeros(shape, jnp.uint32)
  rem = jnp.zeros(shape, jnp.uint32)

  def carry(quo, total):
    return jnp.minimum(quo + jnp.minimum(total // q, cap), cap), total % q

  for bit in reversed(range(31)):
    quo, rem = carry(jnp.minimum(quo * 2, cap), rem * 2)
    quo, rem = carry(quo, jnp.where((n >> bit) & 1, rem + p, rem))
  quo, rem = carry(quo, rem + r)
  return quo.astype(jnp.int32), rem.astype(jnp.int32)


def mulmod(a: jax.Array, b: jax.Array, m: jax.Array) -> jax.Array:
  """``(a * b) mod m`` for int32 ``0 <= a < m``, ``b >= 0``, without overflow."""
  return muldiv(b, a, m)[1]


def as_steps(x: Any) -> jax.Array:
  """A step-count hyperparameter as int32 (a traced float is truncated)."""
  x = jnp.asarray(x)
  if not jnp.issubdtype(x.dtype, jnp.integer):
    x = jnp.floor(jnp.clip(x, 0, INT32_MAX))
  return x.astype(jnp.int32)


def as_count(count: Any) -> jax.Array:
  """The step as int32 in [0, 2**31 - 1]; negative steps behave as step 0."""
  count = jnp.asarray(count)
  if jnp.issubdtype(count.dtype, jnp.integer):
    if count.dtype.itemsize > 4 or jnp.issubdtype(count.dtype, jnp.unsignedinteger):
      count = jnp.clip(count, 0, INT32_MAX)
    return jnp.maximum(count.astype(jnp.int32), 0)
  return jnp.floor(jnp.clip(count, 0, INT32_MAX)).astype(jnp.int32)


def fraction(numerator: jax.Array, denominator: jax.Array, dtype: jnp.dtype) -> jax.Array:
  """``numerator / max(denominator, 1)`` from int32 parts, clipped to [0, 1].

  Both parts are exact integers, so the only rounding is the final division.
  """
  den = jnp.maximum(denominator, 1)
  return jnp.clip(numerator.astype(dtype) / den.astype(dtype), 0.0, 1.0)


def fraction_boundary(fn: str, frac: Any, total: Any) -> jax.Array:
  """The first integer step t with ``t / total >= frac``, as int32.

  For concrete arguments this is computed in float64 to reproduce exactly a
  Python reference that compares ``step / total < frac``; traced arguments
  use float32.
  """
  frac_np, total_np = concrete(frac), concrete(total)
  if frac_np is not None and total_np is not None:
    f, n = float(frac_np), int(total_np)
    if n <= 0:
      return jnp.asarray(0, jnp.int32)
    b = math.ceil(f * n)
    while b > 0 and (b - 1) / n >= f:
      b -= 1
    while b / n < f:
      b += 1
    return jnp.asarray(min(b, INT32_MAX), jnp.int32)
  del fn
  frac_j = jnp.asarray(frac, jnp.float32)
  total_j = as_steps(total)
  return jnp.ceil(frac_j * total_j.astype(jnp.float32)).astype(jnp.int32)


def progress(count: jax.Array, start: jax.Array, length: jax.Array, dtype: jnp.dtype) -> jax.Array:
  """``(count - start) / length`` clipped to [0, 1], from int32 steps."""
  return fraction(jnp.maximum(count - start, 0), length, dtype)


def cosine_weight(p: jax.Array, q: Optional[jax.Array] = None) -> jax.Array:
  """``(1 + cos(pi p)) / 2``, written to stay exact near both ends of [0, 1].

  ``q``, if given, is ``1 - p`` computed directly (more precise near p = 1).
  """
  q = 1.0 - p if q is None else q
  # sin(pi q / 2)**2 == cos(pi p / 2)**2; one trig call, exact near p = 1 (q ~ 0) and,
  # near p = 0, within float32 rounding of the value 1.
  return jnp.sin(0.5 * jnp.pi * q) ** 2


def cosine_cycles_weight(p: jax.Array, num_cycles: jax.Array) -> jax.Array:
  """``(1 + cos(2 pi num_cycles p)) / 2`` (transformers' cosine factor)."""
  return 0.5 * (1.0 + jnp.cos(2.0 * jnp.pi * num_cycles * p))


def cosine_factor(p: jax.Array, num_cycles: Any) -> jax.Array:
  """The cosine factor for ``num_cycles``; the exact form for the usual 0.5."""
  n = concrete(num_cycles)
  if n is not None and n.ndim == 0 and float(n) == 0.5:
    return cosine_weight(p)
  return cosine_cycles_weight(p, jnp.asarray(num_cycles, p.dtype))


def mix(start: jax.Array, end: jax.Array, weight_of_start: jax.Array) -> jax.Array:
  """``end + (start - end) * w``: a convex combination, never outside [start, end]."""
  return end + (start - end) * weight_of_start


def warmup_ramp(
  kind: str, r: jax.Array, init_value: jax.Array, peak_value: jax.Array, exponent: jax.Array
) -> jax.Array:
  """The warmup shapes, from ``init_value`` at r=0 to ``peak_value`` at r=1.

  .. math::
    \\text{linear: } i + (p - i) r \\qquad
    \\text{cosine: } i + (p - i) \\tfrac{1 - \\cos \\pi r}{2} \\qquad
    \\text{exponential: } i (p / i)^r \\\\
    \\text{polynomial: } i + (p - i) r^{e} \\qquad
    \\text{1-sqrt: } i + (p - i)(1 - \\sqrt{1 - r})
  """
  if kind == "linear":
    w = r
  elif kind == "cosine":
    w = 1.0 - cosine_weight(r)
  elif kind == "exponential":
    safe_init = jnp.where(init_value > 0, init_value, peak_value)
    ratio = jnp.where(safe_init > 0, peak_value / safe_init, 1.0)
    return safe_init * ratio**r
  elif kind == "polynomial":
    w = r**exponent
  elif kind == "1-sqrt":
    w = 1.0 - jnp.sqrt(1.0 - r)
  else:
    raise ValueError(f"unknown warmup kind {kind!r}")
  return mix(peak_value, init_value, w)


def warmup_then(
  t: jax.Array,
  warmup_steps: Any,
  kind: str,
  init_value: Any,
  peak_value: Any,
  exponent: Any,
  dtype: jnp.dtype,
  after: Any,
) -> jax.Array:
  """The warmup ramp (:func:`warmup_ramp` of ``kind``) for ``t < warmup_steps``, then ``after``."""
  r = fraction(jnp.minimum(t, warmup_steps), warmup_steps, dtype)
  ramp = warmup_ramp(kind, r, init_value, peak_value, exponent)
  return jnp.where(t < warmup_steps, ramp, after)


def decay_factor(kind: str, x: jax.Array, num_cycles: Any = 0.5) -> jax.Array:
  """The decay shapes, from 1 at x=0 to 0 at x=1 (for ``num_cycles=0.5``).

  .. math::
    \\text{linear: } 1 - x \\qquad
    \\text{cosine: } \\tfrac{1 + \\cos(2 \\pi c x)}{2} \\qquad
    \\text{1-sqrt: } 1 - \\sqrt{x} \\qquad
    \\text{1-square: } 1 - x^2
  """
  if kind == "linear":
    return 1.0 - x
  if kind == "cosine":
    return cosine_factor(x, num_cycles)
  if kind == "1-sqrt":
    return 1.0 - jnp.sqrt(x)
  if kind == "1-square":
    return (1.0 - x) * (1.0 + x)
  raise ValueError(f"unknown decay kind {kind!r}")


def check_warmup(
  fn: str,
  kind: str,
  init_value: Any,
  peak_value: Any,
  exponent: Any,
  *,
  init_name: str = "init_value",
) -> None:
  """Validation shared by every factory that takes a ``warmup_kind``."""
  check_choice(fn, "warmup_kind", kind, WARMUP_KINDS)
  if kind == "exponential":
    check_real(fn, init_name, init_value, low=0.0, low_open=True)
  if kind == "polynomial":
    check_real(fn, "exponent", exponent, low=0.0, low_open=True)


def finish(lr: jax.Array) -> jax.Array:
  """Last guard of every schedule: never negative."""
  return jnp.maximum(lr, 0)


def concrete_sum(a: Any, b: Any) -> Any:
  """``a + b`` in float64 when both are concrete (for validation), else traced."""
  if is_traced((a, b)):
    return jnp.asarray(a) + jnp.asarray(b)
  return np.add(a, b, dtype=np.float64)


def renamed_keywords(**renames: str) -> Callable[[_Factory], _Factory]:
  """Lets a factory still take the old name of each renamed keyword.

  ``@renamed_keywords(kind="warmup_kind")``: a call with ``kind=x`` warns with
  a ``DeprecationWarning`` naming the new keyword and runs as
  ``warmup_kind=x``; giving both names is a ``TypeError``. The old names stay
  in the signature as keyword-only arguments whose default None means "not
  given", so that :func:`jaxsched.from_config` and the command line, which
  read the signature, still accept them; the wrapper's
  ``deprecated_keywords`` maps each old name to the new one.
  """

  def decorate(factory):
    signature = inspect.signature(factory)
    params = list(signature.parameters.values())
    positions = {
      p.name: i
      for i, p in enumerate(params)
      if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    }

    @functools.wraps(factory)
    def wrapper(*args, **kwargs):
      for old, new in renames.items():
        if old not in kwargs:
          continue
        value = kwargs.pop(old)
        if value is None:
          continue
        if new in kwargs or positions.get(new, len(args)) < len(args):
          raise TypeError(
            f"{factory.__name__}() got both {new}= and its deprecated old name "
            f"{old}=; give only {new}="
          )
        warnings.warn(
          f"{factory.__name__}: the keyword {old}= is deprecated; use {new}= instead",
          DeprecationWarning,
          stacklevel=2,
        )
        kwargs[new] = value
      return factory(*args, **kwargs)

    old_params = [
      inspect.Parameter(old, inspect.Parameter.KEYWORD_ONLY, default=None) for old in renames
    ]
    wrapper.__signature__ = signature.replace(  # type: ignore[attr-defined]
      parameters=params + old_params
    )
    # old name -> new name, for tools that list keywords
    wrapper.deprecated_keywords = dict(renames)  # type: ignore[attr-defined]
    return wrapper

  return decorate


def lerp(start: jax.Array, end: jax.Array, weight: Any) -> jax.Array:
  """``start + weight (end - start)``, in the two forms of PyTorch's ``torch.lerp``.

  ``start + w (end - start)`` for ``|w| < 0.5`` and ``end - (end - start)(1 - w)``
  otherwise, so that ``w = 0`` gives ``start`` and ``w = 1`` gives ``end``
  exactly, and the rounding is the reference's (parameter averages, Schedule-Free).
  """
  weight = jnp.asarray(weight)
  diff = end - start
  return jnp.where(jnp.abs(weight) < 0.5, start + weight * diff, end - diff * (1.0 - weight))


def one_minus(x: Any, dtype: jnp.dtype) -> jax.Array:
  """``1 - x`` taken in float64 when ``x`` is concrete, then cast to ``dtype``.

  For a rate near 1 (``b2 = 0.999``) the float32 difference of the rounded
  ``x`` is off by about 1e-5 relative; the float64 one is rounded once.
  """
  value = concrete(x)
  if value is not None:
    return jnp.asarray(1.0 - value.astype(np.float64), dtype)
  return 1.0 - jnp.asarray(x, dtype)
