"""Tests of jaxsched/transforms/_layerwise.py: per-path multipliers and layer-wise decay.

Expected multipliers are written out by hand from the documented rules (first
matching pattern, BEiT's layer ids), never computed with jaxsched.
"""

import functools
import re
import warnings

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

import jaxsched
from jaxsched import layerwise
from jaxsched import layerwise_decay
from jaxsched import TRANSFORMER_MULTIPLIERS
from jaxsched.transforms._layerwise import path_string
from jaxsched.transforms._layerwise import tree_paths


def _tree():
  """A transformer-shaped dict of parameters, each leaf a distinct shape."""
  return {
    "embed": {"embedding": jnp.ones((5, 4))},
    "layers": [
      {"attn": {"query": jnp.ones((4, 4)), "out": jnp.ones((4,))}, "mlp": jnp.ones((4, 2))},
      {"attn": {"query": jnp.ones((4, 4)), "out": jnp.ones((4,))}, "mlp": jnp.ones((4, 2))},
    ],
    "head": {"kernel": jnp.ones((4, 3)), "bias": jnp.ones((3,))},
  }


def _apply(tx, params, updates=None):
  """One update of ``tx`` on ``updates`` (the params themselves by default).

  Eager, to keep the file fast: the multipliers are computed by the same
  Python code traced or not, and the jit tests below check that jit agrees.
  """
  updates = params if updates is None else updates
  out, _ = tx.update(updates, tx.init(params), params)
  return out


def _scales(out, params):
  """The multiplier applied to each leaf, by path (every leaf of ``params`` is ones)."""
  del params
  return {
    path_string(p): float(np.unique(np.asarray(leaf))[0])
    for p, leaf in jax.tree_util.tree_flatten_with_path(out)[0]
  }


# ----------------------------------------------------------------------------- paths


def test_paths_of_dicts_lists_tuples_and_namedtuples():
  tree = {
    "a": [jnp.zeros(()), (jnp.zeros(()),)],
    "b": optax.ScaleByAdamState(
      count=jnp.zeros((), jnp.int32), mu={"w": jnp.zeros(())}, nu={"w": jnp.zeros(())}
    ),
  }
  assert tree_paths(tree) == ["a/0", "a/1/0", "b/count", "b/mu/w", "b/nu/w"]


def test_flattened_index_key_is_its_index():
  assert path_string((jax.tree_util.DictKey("x"), jax.tree_util.FlattenedIndexKey(3))) == "x/3"


def test_only_a_trailing_value_attribute_is_dropped():
  get = jax.tree_util.GetAttrKey
  dk = jax.tree_util.DictKey
  assert path_string((dk("attn"), dk("value"), dk("kernel"), get("value"))) == "attn/value/kernel"
  assert path_string((get("value"), dk("w"))) == "value/w"


# ----------------------------------------------------------------------------- layerwise


def test_dict_tree_scaled_per_leaf_exactly():
  params = _tree()
  tx = layerwise({"embed": 0.1, "attn": 2.0, "head/bias": 0.0}, default=0.5)
  scales = _scales(_apply(tx, params), params)
  assert scales == {
    "embed/embedding": np.float32(0.1),
    "head/bias": 0.0,
    "head/kernel": 0.5,
    "layers/0/attn/out": 2.0,
    "layers/0/attn/query": 2.0,
    "layers/0/mlp": 0.5,
    "layers/1/attn/out": 2.0,
    "layers/1/attn/query": 2.0,
    "layers/1/mlp": 0.5,
  }


def test_updates_not_params_are_scaled():
  params = _tree()
  grads = jax.tree.map(lambda p: 3.0 * jnp.arange(p.size, dtype=p.dtype).reshape(p.shape), params)
  out = _apply(layerwise({"mlp": 0.25}), params, grads)
  chex.assert_trees_all_close(out["layers"][1]["mlp"], 0.25 * grads["layers"][1]["mlp"])
  chex.assert_trees_all_equal(out["head"], grads["head"])


def test_first_matching_pattern_wins_in_order():
  params = _tree()
  broad_first = _scales(
    _apply(layerwise([("attn", 2.0), ("query", 3.0)], unmatched="ignore"), params), params
  )
  narrow_first = _scales(_apply(layerwise([("query", 3.0), ("attn", 2.0)]), params), params)
  assert broad_first["layers/0/attn/query"] == 2.0
  assert narrow_first["layers/0/attn/query"] == 3.0
  assert broad_first["layers/0/attn/out"] == narrow_first["layers/0/attn/out"] == 2.0


def test_mapping_and_pairs_agree_and_mapping_keeps_insertion_order():
  params = _tree()
  as_dict = _scales(_apply(layerwise({"query": 3.0, "attn": 2.0}), params), params)
  as_pairs = _scales(_apply(layerwise((("query", 3.0), ("attn", 2.0))), params), params)
  assert as_dict == as_pairs


def test_default_multiplier_for_unmatched_leaves():
  params = _tree()
  scales = _scales(_apply(layerwise({"embed": 0.1}, default=0.25), params), params)
  assert {k for k, v in scales.items() if v == 0.25} == {
    "head/bias",
    "head/kernel",
    "layers/0/attn/out",
    "layers/0/attn/query",
    "layers/0/mlp",
    "layers/1/attn/out",
    "layers/1/attn/query",
    "layers/1/mlp",
  }


def test_patterns_are_regular_expressions():
  params = _tree()
  tx = layerwise({r"^layers/1/": 4.0, r"(kernel|bias)$": 0.5, r"attn/q\w+": 3.0})
  scales = _scales(_apply(tx, params), params)
  assert scales["layers/1/attn/query"] == 4.0  # first pattern wins
  assert scales["layers/0/attn/query"] == 3.0
  assert scales["head/kernel"] == scales["head/bias"] == 0.5
  assert scales["layers/0/attn/out"] == 1.0


def test_empty_multipliers_apply_the_default_everywhere():
  params = _tree()
  assert set(_scales(_apply(layerwise({}, default=0.5), params), params).values()) == {0.5}


def test_dtype_is_kept():
  params = {"embed": jnp.ones(3, jnp.bfloat16), "w": jnp.ones(3, jnp.float32)}
  out = _apply(layerwise({"embed": 0.1}), params)
  assert out["embed"].dtype == jnp.bfloat16 and out["w"].dtype == jnp.float32


def test_state_is_empty_and_jit_matches_eager():
  params = _tree()
  tx = layerwise(TRANSFORMER_MULTIPLIERS)
  state = tx.init(params)
  assert isinstance(state, optax.EmptyState)
  eager, _ = tx.update(params, state)
  jitted, _ = jax.jit(tx.update)(params, state)
  chex.assert_trees_all_equal(eager, jitted)


def test_no_retrace_on_second_call():
  params = _tree()
  tx = layerwise({"attn": 2.0})
  state = tx.init(params)
  update = jax.jit(chex.assert_max_traces(tx.update, n=1))
  update(params, state)
  update(jax.tree.map(lambda x: 2 * x, params), state)


def test_chained_after_adam_scales_adams_step():
  params = _tree()
  grads = jax.tree.map(lambda p: jnp.full_like(p, 0.3), params)
  mults = {"embed": 0.1, "attn": 2.0}
  plain = optax.adam(1e-3)
  scaled = optax.chain(optax.adam(1e-3), layerwise(mults))
  plain_state, scaled_state = plain.init(params), scaled.init(params)
  for _ in range(3):
    u_plain, plain_state = jax.jit(plain.update)(grads, plain_state, params)
    u_scaled, scaled_state = jax.jit(scaled.update)(grads, scaled_state, params)
  expected = jax.tree_util.tree_map_with_path(
    lambda p, u: (
      u * (0.1 if "embed" in path_string(p) else 2.0 if "attn" in path_string(p) else 1.0)
    ),
    u_plain,
  )
  chex.assert_trees_all_close(u_scaled, expected, rtol=1e-6)


def test_transformer_preset_is_seed_004_grouping():
  assert TRANSFORMER_MULTIPLIERS == (("embed", 0.1), ("attention|attn", 2.0))
  params = {
    "embeddings": jnp.ones(()),
    "self_attention": jnp.ones(()),
    "attn_out": jnp.ones(()),
    "mlp": jnp.ones(()),
    "embed_attn": jnp.ones(()),
  }
  scales = _scales(_apply(layerwise(TRANSFORMER_MULTIPLIERS), params), params)
  # 'embed' is tested before 'attention' / 'attn', as in the seed.
  assert scales == {
    "embeddings": np.float32(0.1),
    "self_attention": 2.0,
    "attn_out": 2.0,
    "mlp": 1.0,
    "embed_attn": np.float32(0.1),
  }


# ----------------------------------------------------------------------------- unmatched


def test_unmatched_warn_names_pattern_and_paths():
  params = _tree()
  tx = layerwise({"embed": 0.1, "decoder": 3.0})
  with pytest.warns(UserWarning, match=r"pattern 'decoder' matches no parameter path") as record:
    tx.init(params)
  message = str(record[0].message)
  assert "'embed/embedding'" in message and "9 in all" in message


def test_unmatched_error_raises():
  with pytest.raises(ValueError, match=r"layerwise: pattern 'decoder' matches no parameter"):
    layerwise({"decoder": 3.0}, unmatched="error").init(_tree())


def test_unmatched_ignore_is_silent():
  with warnings.catch_warnings():
    warnings.simplefilter("error")
    layerwise({"decoder": 3.0}, unmatched="ignore").init(_tree())


def test_shadowed_pattern_is_reported():
  tx = layerwise([("attn", 2.0), ("attn/query", 3.0)], unmatched="error")
  with pytest.raises(
    ValueError,
    match=r"'attn/query' selects no parameter: every path it "
    r"matches is taken by an earlier pattern",
  ):
    tx.init(_tree())


def test_all_matched_is_silent():
  with warnings.catch_warnings():
    warnings.simplefilter("error")
    layerwise({"embed": 0.1, "attn": 2.0, "mlp": 0.5}).init(_tree())


def test_unmatched_is_checked_inside_chain_init():
  tx = optax.chain(optax.sgd(0.1), layerwise({"decoder": 3.0}, unmatched="error"))
  with pytest.raises(ValueError, match="decoder"):
    tx.init(_tree())


# ----------------------------------------------------------------------------- Flax NNX


class TinyTransformer(nnx.Module):
  """An embedding, one self-attention layer and a linear head."""

  def __init__(self, rngs: nnx.Rngs):
    self.embed = nnx.Embed(num_embeddings=11, features=8, rngs=rngs)
    self.attn = nnx.MultiHeadAttention(num_heads=2, in_features=8, decode=False, rngs=rngs)
    self.head = nnx.Linear(8, 3, rngs=rngs)

  def __call__(self, tokens_BxL):
    x_BxLxD = self.embed(tokens_BxL)
    x_BxLxD = self.attn(x_BxLxD)
    return self.head(jnp.mean(x_BxLxD, axis=1))


_NNX_PATHS = {
  "embed/embedding",
  "attn/query/kernel",
  "attn/query/bias",
  "attn/key/kernel",
  "attn/key/bias",
  "attn/value/kernel",
  "attn/value/bias",
  "attn/out/kernel",
  "attn/out/bias",
  "head/kernel",
  "head/bias",
}


def _loss(model, tokens_BxL):
  return jnp.mean(model(tokens_BxL) ** 2)


def _tokens():
  return jnp.arange(12, dtype=jnp.int32).reshape(2, 6) % 11


_grad_fn = nnx.jit(nnx.grad(_loss))


@functools.lru_cache(maxsize=None)
def _built_model():
  # The modules' own initializers compile a dozen random ops eagerly (seconds);
  # the structure from eval_shape filled with NumPy normals is the same model.
  graphdef, state = nnx.split(nnx.eval_shape(lambda: TinyTransformer(nnx.Rngs(0))))
  rng = np.random.default_rng(0)
  state = jax.tree.map(lambda s: jnp.asarray(0.5 * rng.standard_normal(s.shape), s.dtype), state)
  return nnx.merge(graphdef, state)


def _model():
  """A fresh copy of one TinyTransformer."""
  return nnx.clone(_built_model())


def _group_multiplier(path):
  return 0.1 if "embed" in path else 2.0 if "attn" in path else 1.0


def test_nnx_state_paths_have_no_variable_suffix():
  model = _model()
  state = nnx.state(model, nnx.Param)
  assert set(tree_paths(state)) == _NNX_PATHS
  assert set(tree_paths(nnx.as_pure(state))) == _NNX_PATHS
  grads = _grad_fn(model, _tokens())
  assert set(tree_paths(grads)) == _NNX_PATHS


def test_nnx_state_scaled_directly():
  model = _model()
  params = nnx.state(model, nnx.Param)
  grads = _grad_fn(model, _tokens())
  tx = layerwise(TRANSFORMER_MULTIPLIERS, unmatched="error")
  out, _ = jax.jit(tx.update)(grads, tx.init(params))
  for (path, g), (_, u) in zip(
    jax.tree_util.tree_flatten_with_path(grads)[0], jax.tree_util.tree_flatten_with_path(out)[0]
  ):
    np.testing.assert_allclose(u, _group_multiplier(path_string(path)) * np.asarray(g), rtol=1e-6)


def test_nnx_optimizer_sgd_step_is_minus_multiplier_times_grad():
  model = _model()
  tx = optax.chain(optax.sgd(1.0), layerwise(TRANSFORMER_MULTIPLIERS, unmatched="error"))
  optimizer = nnx.Optimizer(model, tx, wrt=nnx.Param)
  tokens = _tokens()

  @nnx.jit
  def step(model, optimizer, tokens):
    grads = nnx.grad(_loss)(model, tokens)
    optimizer.update(model, grads)
    return grads

  before = jax.tree.map(np.asarray, nnx.as_pure(nnx.state(model, nnx.Param)))
  grads = nnx.as_pure(step(model, optimizer, tokens))
  after = nnx.as_pure(nnx.state(model, nnx.Param))
  flat = zip(
    jax.tree_util.tree_flatten_with_path(before)[0], jax.tree.leaves(after), jax.tree.leaves(grads)
  )
  seen = set()
  for (path, b), a, g in flat:
    path = path_string(path)
    seen.add(path)
    assert np.any(np.asarray(g) != 0), path
    np.testing.assert_allclose(
      np.asarray(a) - b,
      -_group_multiplier(path) * np.asarray(g),
      rtol=1e-5,
      atol=1e-7,
      err_msg=path,
    )
  assert seen == _NNX_PATHS


def test_nnx_optimizer_init_warns_on_unmatched():
  tx = optax.chain(optax.adam(1e-3), layerwise({"embed": 0.1, "mlp": 0.5}))
  with pytest.warns(UserWarning, match=r"'mlp' matches no parameter path.*'attn/key/bias'"):
    nnx.Optimizer(_model(), tx, wrt=nnx.Param)


# ----------------------------------------------------------------------------- layerwise_decay


def _deep_tree(block="layers"):
  blocks = [
    {"attn": {"kernel": jnp.ones((2, 2))}, "mlp": {"kernel": jnp.ones((2,))}} for _ in range(3)
  ]
  if block == "layers":
    body = {"layers": blocks}
  elif block == "layers_i":
    body = {f"layers_{i}": b for i, b in enumerate(blocks)}
  else:  # GPT-2's transformer/h/i
    body = {"transformer": {"h": blocks}}
  return {
    "embed": {"embedding": jnp.ones((4, 2))},
    **body,
    "final_norm": {"scale": jnp.ones((2,))},
    "head": {"kernel": jnp.ones((2, 5))},
  }


@pytest.mark.parametrize("block", ["layers", "layers_i", "h"])
def test_llrd_multipliers_on_three_layers(block):
  params = _deep_tree(block)
  scales = _scales(_apply(layerwise_decay(0.5, num_layers=3), params), params)
  prefix = {"layers": "layers/{}", "layers_i": "layers_{}", "h": "transformer/h/{}"}[block]
  expected = {"embed/embedding": 0.5**4, "final_norm/scale": 1.0, "head/kernel": 1.0}
  for i, scale in enumerate([0.5**3, 0.5**2, 0.5]):
    expected[f"{prefix.format(i)}/attn/kernel"] = scale
    expected[f"{prefix.format(i)}/mlp/kernel"] = scale
  assert scales == expected


def test_llrd_decay_one_is_identity():
  params = _deep_tree()
  chex.assert_trees_all_equal(_apply(layerwise_decay(1.0, 3), params), params)


def test_llrd_custom_patterns():
  params = {"tok": jnp.ones(()), "enc": [jnp.ones(()), jnp.ones(())], "out": jnp.ones(())}
  tx = layerwise_decay(0.1, 2, layer_pattern=r"^enc/(\d+)", embed_pattern=r"^tok$")
  scales = _scales(_apply(tx, params), params)
  np.testing.assert_allclose(
    [scales[k] for k in ("tok", "enc/0", "enc/1", "out")], [1e-3, 1e-2, 1e-1, 1.0], rtol=1e-6
  )


def test_llrd_without_embedding_group():
  params = {"embed": jnp.ones(()), "layers": [jnp.ones(())]}
  scales = _scales(_apply(layerwise_decay(0.5, 1, embed_pattern=None), params), params)
  assert scales == {"embed": 1.0, "layers/0": 0.5}


def test_llrd_block_index_out_of_range_raises():
  params = _deep_tree()
  with pytest.raises(
    ValueError,
    match=r"layerwise_decay: path 'layers/2/attn/kernel' is block 2, "
    r"which must be in \[0, num_layers - 1\] = \[0, 1\]",
  ):
    layerwise_decay(0.5, num_layers=2).init(params)
  with pytest.raises(ValueError, match="is block 2"):
    layerwise_decay(0.5, num_layers=2).update(params, optax.EmptyState())


def test_llrd_unmatched_patterns():
  params = {"w": jnp.ones(()), "head": jnp.ones(())}
  with pytest.warns(
    UserWarning,
    match=r"layer_pattern=.* matches no parameter path.*"
    r"embed_pattern='embed' matches no parameter path",
  ):
    layerwise_decay(0.5, 2).init(params)
  with pytest.raises(ValueError, match="layer_pattern"):
    layerwise_decay(0.5, 2, unmatched="error").init(params)
  with warnings.catch_warnings():
    warnings.simplefilter("error")
    layerwise_decay(0.5, 2, unmatched="ignore").init(params)


def test_llrd_on_nnx_blocks():

  class Stack(nnx.Module):
    def __init__(self, rngs):
      self.embed = nnx.Embed(7, 4, rngs=rngs)
      self.layers = nnx.List([nnx.Linear(4, 4, rngs=rngs) for _ in range(3)])
      self.head = nnx.Linear(4, 2, rngs=rngs)

  # Shapes are all it takes: init only reads paths, and updates are ones.
  params = nnx.state(nnx.eval_shape(lambda: Stack(nnx.Rngs(0))), nnx.Param)
  ones = jax.tree.map(lambda s: jnp.ones(s.shape, s.dtype), nnx.as_pure(params))
  tx = layerwise_decay(0.5, 3, unmatched="error")
  out, _ = jax.jit(tx.update)(ones, tx.init(params))
  scales = _scales(out, ones)
  assert scales["embed/embedding"] == 0.5**4
  assert scales["layers/0/kernel"] == scales["layers/0/bias"] == 0.5**3
  assert scales["layers/2/kernel"] == 0.5
  assert scales["head/kernel"] == 1.0


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
  "kwargs, message",
  [
    (
      dict(multipliers={"embed": -0.1}),
      r"layerwise: multipliers\['embed'\]=-0.1 must be a finite "
      r"number in \[0, inf\)",
    ),
    (dict(multipliers={"embed": float("nan")}), r"multipliers\['embed'\]=nan must be a finite"),
    (dict(multipliers={"embed": "high"}), r"multipliers\['embed'\]='high' must be a real number"),
    (
      dict(multipliers={"embed": [0.1, 0.2]}),
      r"multipliers\['embed'\]=\[0.1, 0.2\] must be a "
      r"scalar",
    ),
    (dict(multipliers={3: 0.1}), r"layerwise: pattern=3 must be a string"),
    (dict(multipliers={"(": 0.1}), r"layerwise: pattern='\(' is not a valid regular expression"),
    (
      dict(multipliers=[("embed", 0.1, 2)]),
      r"multipliers entry \('embed', 0.1, 2\) must be a "
      r"\(pattern, multiplier\) pair",
    ),
    (dict(multipliers=["embed"]), r"multipliers entry 'embed' must be a"),
    (dict(multipliers=0.1), r"layerwise: multipliers=0.1 must be a mapping"),
    (dict(multipliers="embed"), r"layerwise: multipliers='embed' must be a mapping"),
    (dict(multipliers={}, default=-1.0), r"layerwise: default=-1.0 must be a finite number"),
    (dict(multipliers={}, default=float("inf")), r"layerwise: default=inf must be a finite"),
    (
      dict(multipliers={}, unmatched="loud"),
      r"layerwise: unmatched='loud' must be one of "
      r"'warn', 'error', 'ignore'",
    ),
  ],
)
def test_layerwise_rejects(kwargs, message):
  with pytest.raises(ValueError, match=message):
    layerwise(**kwargs)


@pytest.mark.parametrize(
  "args, kwargs, message",
  [
    ((0.0, 3), {}, r"layerwise_decay: decay=0.0 must be a finite number in \(0, 1\]"),
    ((1.5, 3), {}, r"decay=1.5 must be a finite number in \(0, 1\]"),
    ((float("nan"), 3), {}, r"decay=nan"),
    ((0.5, 0), {}, r"layerwise_decay: num_layers=0 must be an integer number of layers in \[1, "),
    ((0.5, 2.5), {}, r"num_layers=2.5 must be an integer number of layers"),
    ((0.5, True), {}, r"num_layers=True must be an integer number of layers"),
    (
      (0.5, 3),
      dict(layer_pattern=r"layers/\d+"),
      r"layer_pattern='layers/\\\\d\+' must have "
      r"exactly one capture group \(the block index\), not 0",
    ),
    ((0.5, 3), dict(layer_pattern=r"(layers)/(\d+)"), r"exactly one capture group .* not 2"),
    ((0.5, 3), dict(layer_pattern="(["), r"layer_pattern='\(\[' is not a valid regular"),
    ((0.5, 3), dict(embed_pattern=1), r"embed_pattern=1 must be a string"),
    ((0.5, 3), dict(unmatched="no"), r"layerwise_decay: unmatched='no' must be one of"),
  ],
)
def test_layerwise_decay_rejects(args, kwargs, message):
  with pytest.raises(ValueError, match=message):
    layerwise_decay(*args, **kwargs)


def test_llrd_non_numeric_capture_is_an_error():
  tx = layerwise_decay(0.5, 3, layer_pattern=r"layers/(\w+)")
  with pytest.raises(ValueError, match=r"captured 'x' in path 'layers/x', which is not a block"):
    tx.init({"layers": {"x": jnp.ones(())}})


def test_error_messages_quote_like_the_library():
  # The same message shape as every other jaxsched factory: fn: name=value must be ...
  with pytest.raises(ValueError) as info:
    layerwise({"a": -2.0})
  assert re.match(r"^layerwise: multipliers\['a'\]=-2.0 must be", str(info.value))


def test_chains_with_a_transformation_taking_extra_args():
  params = {"embed": jnp.ones(2), "w": jnp.ones(2)}
  tx = optax.chain(
    optax.sgd(1.0), jaxsched.reduce_on_plateau(factor=0.5, patience=0), layerwise({"embed": 0.1})
  )
  state = tx.init(params)
  for loss in (1.0, 2.0):  # the second is no improvement: the plateau scale halves
    updates, state = tx.update(params, state, params, value=loss)
  np.testing.assert_allclose(updates["embed"], [-0.05, -0.05], rtol=1e-6)
  np.testing.assert_allclose(updates["w"], [-0.5, -0.5], rtol=1e-6)
