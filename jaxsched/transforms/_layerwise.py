"""Layer-wise learning rates: scale each parameter's update by its path.

A parameter's path is its keys in the parameter tree joined with ``/``, e.g.
``layers/0/attn/query/kernel``: dict keys, attribute names (NamedTuples,
dataclasses, Flax NNX ``State``) and sequence indices alike. The trailing
``value`` attribute that Flax NNX Variables add (``nnx.state(model,
nnx.Param)`` holds ``nnx.Param`` objects whose leaf sits under ``.value``) is
dropped, so a model's state, its gradients and their pure-array form all give
the same paths, and ``nnx.Optimizer(model, tx, wrt=nnx.Param)`` works as is.

The multipliers are fixed by the paths, which are static under ``jax.jit``:
the transformations keep no state (``optax.EmptyState``) and chain after any
optimizer, ``optax.chain(optax.adam(1e-3), jaxsched.layerwise({...}))``, where
they scale the optimizer's step, i.e. the effective learning rate of each
group.
"""

import re
import warnings
from typing import Any, Callable, Mapping, Optional, Sequence, Tuple, Union

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.typing import ArrayLike

from jaxsched import _common as c

UNMATCHED = ("warn", "error", "ignore")

# Seed 004's TransformerScheduler groups, in its order: embeddings at 0.1x the
# base rate, attention at 2x, everything else at 1x (layerwise's default).
TRANSFORMER_MULTIPLIERS: Tuple[Tuple[str, float], ...] = (
  ("embed", 0.1),
  ("attention|attn", 2.0),
)

Multipliers = Union[Mapping[str, Any], Sequence[Tuple[str, Any]]]

# How many example paths an unmatched-pattern message shows.
_SHOWN_PATHS = 5


def _key_name(key: Any) -> str:
  if isinstance(key, jax.tree_util.DictKey):
    return str(key.key)
  if isinstance(key, jax.tree_util.GetAttrKey):
    return key.name
  if isinstance(key, jax.tree_util.SequenceKey):
    return str(key.idx)
  if isinstance(key, jax.tree_util.FlattenedIndexKey):
    return str(key.key)
  return str(key)


def path_string(path: Sequence[Any]) -> str:
  """The ``/``-joined keys of a ``tree_flatten_with_path`` path.

  A last ``GetAttrKey("value")`` (a Flax NNX Variable's leaf) is dropped.
  """
  keys = list(path)
  if keys and isinstance(keys[-1], jax.tree_util.GetAttrKey) and keys[-1].name == "value":
    keys = keys[:-1]
  return "/".join(_key_name(k) for k in keys)


def tree_paths(tree: Any) -> list:
  """The path string of every leaf of ``tree``, in flattening order."""
  return [path_string(p) for p, _ in jax.tree_util.tree_flatten_with_path(tree)[0]]


def _compile(fn: str, name: str, pattern: Any) -> "re.Pattern":
  if not isinstance(pattern, str):
    raise ValueError(f"{fn}: {name}={pattern!r} must be a string (a regular expression)")
  try:
    return re.compile(pattern)
  except re.error as e:
    raise ValueError(f"{fn}: {name}={pattern!r} is not a valid regular expression: {e}") from None


def _check_multiplier(fn: str, name: str, value: Any) -> None:
  if c.concrete(value) is not None and np.ndim(value) != 0:
    raise ValueError(f"{fn}: {name}={value!r} must be a scalar")
  c.check_real(fn, name, value, low=0.0)


def _report(fn: str, problems: Sequence[str], paths: Sequence[str], unmatched: str) -> None:
  """Warns or raises about patterns that select no parameter, per ``unmatched``."""
  if not problems or unmatched == "ignore":
    return
  shown = ", ".join(repr(p) for p in paths[:_SHOWN_PATHS])
  more = f", ... ({len(paths)} in all)" if len(paths) > _SHOWN_PATHS else ""
  message = (
    f"{fn}: {'; '.join(problems)}. Parameter paths: {shown or 'none'}{more}. "
    "Pass unmatched='ignore' to allow this."
  )
  if unmatched == "error":
    raise ValueError(message)
  warnings.warn(message, UserWarning, stacklevel=2)


def _scale_by_path(
  multiplier_of: Callable[[str], Any], check_params: Callable[[Sequence[str]], None]
) -> optax.GradientTransformation:
  """The transformation shared by every layer-wise factory.

  Args:
    multiplier_of: the multiplier of a path string (called at trace time).
    check_params: called by ``init`` with the parameters' paths.

  Returns:
    An ``optax.GradientTransformation`` multiplying each update leaf by
    ``multiplier_of(its path)``, with ``optax.EmptyState``.
  """

  def init_fn(params):
    check_params(tree_paths(params))
    return optax.EmptyState()

  def update_fn(updates, state, params=None):
    del params

    def scale(path, u):
      return u * jnp.asarray(multiplier_of(path_string(path))).astype(u.dtype)

    return jax.tree_util.tree_map_with_path(scale, updates), state

  return optax.GradientTransformation(init_fn, update_fn)


def _rules(fn: str, multipliers: Any) -> Tuple[Tuple[str, "re.Pattern", Any], ...]:
  """``multipliers`` as validated ``(pattern, compiled, multiplier)`` rules."""
  if isinstance(multipliers, Mapping):
    pairs = list(multipliers.items())
  elif isinstance(multipliers, Sequence) and not isinstance(multipliers, (str, bytes)):
    pairs = list(multipliers)
    for pair in pairs:
      if not isinstance(pair, Sequence) or isinstance(pair, (str, bytes)) or len(pair) != 2:
        raise ValueError(f"{fn}: multipliers entry {pair!r} must be a (pattern, multiplier) pair")
  else:
    raise ValueError(
      f"{fn}: multipliers={multipliers!r} must be a mapping "
      "{pattern: multiplier} or a sequence of (pattern, multiplier) pairs"
    )
  rules = []
  for pattern, multiplier in pairs:
    compiled = _compile(fn, "pattern", pattern)
    _check_multiplier(fn, f"multipliers[{pattern!r}]", multiplier)
    rules.append((pattern, compiled, multiplier))
  return tuple(rules)


def layerwise(
  multipliers: Multipliers, default: ArrayLike = 1.0, *, unmatched: str = "warn"
) -> optax.GradientTransformation:
  """Multiplies each parameter's update by the multiplier of its path.

  .. math::
    u'_p = m_p \\, u_p, \\qquad m_p = \\begin{cases}
      m_i & i = \\min\\{j : \\text{pattern}_j \\text{ found in path}(p)\\} \\\\
      m_{default} & \\text{no pattern found}
    \\end{cases}

  Every pattern is a regular expression looked for anywhere in the path
  (``re.search``), so a plain name such as ``"embed"`` is a substring match
  and ``"attention|attn"`` either word; use ``re.escape`` for a literal ``.``.
  The first pattern found wins, in the order given (a mapping's insertion
  order).

  Seed 004: ``LayerWiseScheduler(model, base_lr, layer_multipliers)`` (the
  first key contained in the parameter's name) and ``TransformerScheduler``'s
  groups, which are ``layerwise(TRANSFORMER_MULTIPLIERS)``. PyTorch: one
  parameter group per multiplier with ``lr = base_lr * multiplier``; chained
  after the optimizer this scales its step the same way, and any learning-rate
  schedule of the optimizer applies to every group, as a PyTorch scheduler
  does to all groups.

  ``init`` checks the patterns against the parameters' paths: a pattern that
  selects no parameter (it matches none, or only paths an earlier pattern
  took) is reported as ``unmatched`` says.

  Args:
    multipliers: ``{pattern: multiplier}`` or a sequence of ``(pattern,
      multiplier)`` pairs; each multiplier a finite scalar >= 0 (0 freezes).
    default: multiplier of the parameters no pattern matches, finite and >= 0.
    unmatched: "warn" (a ``UserWarning``), "error" (``ValueError``) or
      "ignore", for a pattern that selects no parameter.

  Returns:
    An ``optax.GradientTransformation`` with ``optax.EmptyState``.

  Examples:
    >>> import jax.numpy as jnp, optax
    >>> from jaxsched import layerwise
    >>> params = {"embed": jnp.ones(2), "attn": {"kernel": jnp.ones(2)}, "head": jnp.ones(2)}
    >>> tx = optax.chain(optax.sgd(1.0), layerwise({"embed": 0.1, "attn": 2.0}))
    >>> updates, _ = tx.update(params, tx.init(params))
    >>> [round(float(u[0]), 6) for u in (updates["embed"], updates["attn"]["kernel"],
    ...                                  updates["head"])]
    [-0.1, -2.0, -1.0]
  """
  fn = "layerwise"
  rules = _rules(fn, multipliers)
  _check_multiplier(fn, "default", default)
  c.check_choice(fn, "unmatched", unmatched, UNMATCHED)

  def first_rule(path: str) -> Optional[int]:
    for i, (_, compiled, _) in enumerate(rules):
      if compiled.search(path):
        return i
    return None

  def multiplier_of(path: str) -> Any:
    i = first_rule(path)
    return default if i is None else rules[i][2]

  def check_params(paths: Sequence[str]) -> None:
    selected = {first_rule(p) for p in paths}
    problems = []
    for i, (pattern, compiled, _) in enumerate(rules):
      if i in selected:
        continue
      if any(compiled.search(p) for p in paths):
        problems.append(
          f"pattern {pattern!r} selects no parameter: every path it matches is "
          "taken by an earlier pattern"
        )
      else:
        problems.append(f"pattern {pattern!r} matches no parameter path")
    _report(fn, problems, paths, unmatched)

  return _scale_by_path(multiplier_of, check_params)


def layerwise_decay(
  decay: ArrayLike,
  num_layers: int,
  *,
  layer_pattern: str = r"(?:^|/)(?:\w*(?:layers?|blocks?)|h)[/._]?(\d+)(?=/|$)",
  embed_pattern: Optional[str] = r"embed",
  unmatched: str = "warn",
) -> optax.GradientTransformation:
  """Layer-wise learning-rate decay (LLRD): lower rates for lower layers.

  Each parameter gets a layer id ``l``: 0 for embeddings, ``i + 1`` for block
  ``i`` (0-based), ``L + 1`` for everything else (the head and final norms),
  and its update is multiplied by

  .. math::
    m_p = d^{\\,L + 1 - l}, \\qquad l = \\begin{cases}
      0 & \\text{embed\\_pattern found in the path} \\\\
      i + 1 & \\text{layer\\_pattern found, capturing } i \\\\
      L + 1 & \\text{otherwise}
    \\end{cases}

  so the head trains at the full rate, block ``L - 1`` at ``d``, block 0 at
  ``d^L`` and the embeddings at ``d^{L + 1}``. The embedding test comes
  first. This is BEiT's ``LayerDecayValueAssigner`` (``get_layer_id_for_vit``)
  with ``num_max_layer = L + 2``, and ELECTRA's / transformers fine-tuning
  recipes' LLRD.

  The default ``layer_pattern`` finds the block index in paths such as
  ``layers/3/...``, ``layers_3/...``, ``encoder/layer/3/...``,
  ``blocks.3``, ``encoderblock_3/...`` (big_vision) and ``h/3/...`` (GPT-2),
  a whole path component at a time so that ``depth_2`` is no block.

  Args:
    decay: the per-layer factor ``d``, in (0, 1] (1: no decay).
    num_layers: the number of blocks ``L``, >= 1; a captured index must be in
      [0, L - 1].
    layer_pattern: a regular expression with one capture group, the block
      index, searched in each path.
    embed_pattern: a regular expression marking embedding parameters, or None
      for no embedding group.
    unmatched: "warn", "error" or "ignore", for a pattern that matches no
      parameter path (checked in ``init``).

  Returns:
    An ``optax.GradientTransformation`` with ``optax.EmptyState``.

  Examples:
    >>> import jax, jax.numpy as jnp
    >>> from jaxsched import layerwise_decay
    >>> params = {"embed": jnp.ones(()), "layers": [jnp.ones(()), jnp.ones(())],
    ...           "head": jnp.ones(())}
    >>> tx = layerwise_decay(0.5, num_layers=2)
    >>> updates, _ = tx.update(params, tx.init(params))
    >>> [float(u) for u in jax.tree.leaves(updates)]  # embed, head, layers/0, layers/1
    [0.125, 1.0, 0.25, 0.5]

  References:
    Bao et al., 2021, BEiT: https://arxiv.org/abs/2106.08254;
    Clark et al., 2020, ELECTRA: https://arxiv.org/abs/2003.10555
  """
  fn = "layerwise_decay"
  c.check_real(fn, "decay", decay, low=0.0, high=1.0, low_open=True)
  c.check_steps(fn, "num_layers", num_layers, minimum=1, noun="layers")
  num_layers = int(num_layers)
  layer_re = _compile(fn, "layer_pattern", layer_pattern)
  if layer_re.groups != 1:
    raise ValueError(
      f"{fn}: layer_pattern={layer_pattern!r} must have exactly one capture "
      f"group (the block index), not {layer_re.groups}"
    )
  embed_re = None if embed_pattern is None else _compile(fn, "embed_pattern", embed_pattern)
  c.check_choice(fn, "unmatched", unmatched, UNMATCHED)

  def layer_id(path: str) -> int:
    if embed_re is not None and embed_re.search(path):
      return 0
    match = layer_re.search(path)
    if match is None:
      return num_layers + 1
    try:
      index = int(match.group(1))
    except (TypeError, ValueError):
      raise ValueError(
        f"{fn}: layer_pattern={layer_pattern!r} captured {match.group(1)!r} in "
        f"path {path!r}, which is not a block index"
      ) from None
    if index >= num_layers:
      raise ValueError(
        f"{fn}: path {path!r} is block {index}, which must be in "
        f"[0, num_layers - 1] = [0, {num_layers - 1}]"
      )
    return index + 1

  def multiplier_of(path: str) -> Any:
    return decay ** (num_layers + 1 - layer_id(path))

  def check_params(paths: Sequence[str]) -> None:
    for p in paths:
      layer_id(p)  # raises on a block index out of range
    problems = []
    named = [("layer_pattern", layer_pattern, layer_re), ("embed_pattern", embed_pattern, embed_re)]
    for name, pattern, compiled in named:
      if compiled is not None and not any(compiled.search(p) for p in paths):
        problems.append(f"{name}={pattern!r} matches no parameter path")
    _report(fn, problems, paths, unmatched)

  return _scale_by_path(multiplier_of, check_params)
