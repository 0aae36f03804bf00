"""Tests of jaxsched._config: from_config (dicts, YAML text and files, seed 004's
block), load_config and resolve_config.

Each built object is compared with the direct call of the factory it names
(its reference here), on a few steps through jax.jit.
"""

import json
import pathlib
import sys
import textwrap

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import yaml

import jaxsched
from jaxsched import from_config
from jaxsched import layerwise
from jaxsched import load_config
from jaxsched import resolve_config
from jaxsched import TrainingSetup
from jaxsched.transforms._layerwise import path_string
from tests.cases import build
from tests.cases import CASES

STEPS = jnp.asarray([0, 1, 3, 7, 10, 25, 60, 99, 150, 400, 5000], jnp.int32)


def _same_schedule(built, direct):
  np.testing.assert_array_equal(
    np.asarray(jax.jit(built)(STEPS)), np.asarray(jax.jit(direct)(STEPS))
  )


_WARMUP = {"type": "warmup", "peak_value": 1.0, "warmup_steps": 10}
_COSINE = {"type": "cosine_annealing", "init_value": 1.0, "t_max": 50}
_FACTOR = {"type": "constant_factor", "init_value": 1.0, "factor": 0.5, "total_steps": 20}
_EXP = {"type": "exponential_decay", "init_value": 1.0, "gamma": 0.9}


def _kwargs(cfg):
  return {k: v for k, v in cfg.items() if k != "type"}


# name -> (config, direct call): one valid configuration per catalog schedule.
CATALOG_CASES = {
  "constant": dict(value=0.1),
  "constant_factor": dict(init_value=0.5, factor=0.25, total_steps=40),
  "linear_factor": dict(init_value=1.0, start_factor=0.1, end_factor=0.5, total_steps=100),
  "step_decay": dict(init_value=0.5, step_size=7, gamma=0.5),
  "multistep_decay": dict(init_value=1.0, milestones=[30, 80, 200], gamma=0.5),
  "exponential_decay": dict(init_value=1e-3, gamma=0.9, transition_steps=10, end_value=1e-4),
  "polynomial_decay": dict(init_value=0.1, total_steps=250, power=2.0, end_value=0.01),
  "cosine_annealing": dict(init_value=0.1, t_max=37, eta_min=0.01),
  "cosine_warm_restarts": dict(init_value=0.1, t_0=10, t_mult=2, eta_min=1e-3),
  "cyclic": dict(base_lr=0.01, max_lr=0.1, step_size_up=20, mode="triangular2"),
  "cyclic_momentum": dict(base_momentum=0.85, max_momentum=0.95, step_size_up=30),
  "one_cycle": dict(max_lr=0.1, total_steps=200, anneal_strategy="linear"),
  "one_cycle_momentum": dict(total_steps=120, pct_start=0.4),
  "warmup": dict(peak_value=1.0, warmup_steps=50, warmup_kind="exponential", init_value=0.01),
  "warmup_constant": dict(peak_value=0.1, warmup_steps=50),
  "warmup_linear": dict(peak_value=0.1, warmup_steps=20, total_steps=200),
  "warmup_cosine": dict(
    peak_value=1e-3, warmup_steps=50, total_steps=300, end_value=1e-5, warmup_kind="cosine"
  ),
  "warmup_cosine_restarts": dict(peak_value=1.0, warmup_steps=10, total_steps=200, num_cycles=3),
  "warmup_polynomial": dict(
    peak_value=0.1, warmup_steps=20, total_steps=200, end_value=1e-3, power=2.0
  ),
  "inverse_sqrt": dict(peak_value=0.1, warmup_steps=10, timescale=100),
  "noam": dict(d_model=64, warmup_steps=40, scale=2.0),
  "warmup_stable_decay": dict(
    peak_value=0.1, warmup_steps=10, decay_steps=40, total_steps=200, decay_kind="linear"
  ),
  "warmup_stable_decay_cycles": dict(
    peak_value=0.1,
    warmup_steps=5,
    decay_steps=20,
    total_steps=200,
    cycles=[80, 150],
    rewarmup_steps=10,
  ),
  "untuned_warmup": dict(peak_value=1e-3, b2=0.99, warmup_kind="exponential"),
  "timm_cosine": dict(
    peak_value=0.1,
    t_initial=50,
    lr_min=1e-3,
    cycle_mul=1.5,
    cycle_limit=3,
    warmup_t=5,
    warmup_lr_init=1e-4,
    k_decay=1.5,
  ),
  "timm_tanh": dict(peak_value=0.1, t_initial=80, lb=-6.0, ub=4.0, warmup_t=5),
  "timm_poly": dict(peak_value=0.1, t_initial=80, power=2.0, lr_min=1e-4),
  "timm_step": dict(peak_value=0.1, decay_t=20, decay_rate=0.5, warmup_t=3),
  "timm_multistep": dict(peak_value=0.1, decay_t=[30, 60], decay_rate=0.1),
  "grokking": dict(peak_value=1e-3, total_steps=400),
  "bias_mitigation": dict(total_steps=300),
}


def _composite_cases():
  """sequential and chained: nested configs against schedules built directly."""
  parts = [_WARMUP, _COSINE]
  factors = [_FACTOR, _EXP]
  return {
    "sequential": (
      {"type": "sequential", "schedules": parts, "boundaries": [10]},
      lambda: jaxsched.sequential(
        [jaxsched.warmup(**_kwargs(_WARMUP)), jaxsched.cosine_annealing(**_kwargs(_COSINE))], [10]
      ),
    ),
    "chained": (
      {"type": "chained", "init_value": 0.1, "factor_schedules": factors},
      lambda: jaxsched.chained(
        0.1,
        jaxsched.constant_factor(**_kwargs(_FACTOR)),
        jaxsched.exponential_decay(**_kwargs(_EXP)),
      ),
    ),
    "cooldown": (
      {
        "type": "cooldown",
        "schedule": _COSINE,
        "start_step": 20,
        "decay_steps": 15,
        "decay_kind": "cosine",
      },
      lambda: jaxsched.cooldown(
        jaxsched.cosine_annealing(**_kwargs(_COSINE)), 20, 15, decay_kind="cosine"
      ),
    ),
    "with_noise": (
      {"type": "with_noise", "schedule": _COSINE, "noise_range": [5, 40], "seed": 3},
      lambda: jaxsched.with_noise(jaxsched.cosine_annealing(**_kwargs(_COSINE)), (5, 40), seed=3),
    ),
    "adaptive_momentum": (
      {
        "type": "adaptive_momentum",
        "lr_schedule": _COSINE,
        "reference_lr": 0.5,
        "max_momentum": 0.9,
      },
      lambda: jaxsched.adaptive_momentum(
        jaxsched.cosine_annealing(**_kwargs(_COSINE)), 0.5, max_momentum=0.9
      ),
    ),
  }


def _case(name):
  """``(config, direct call)``: the case above, else the registry's example."""
  composite = _composite_cases()
  if name in composite:
    return composite[name]
  if name not in CATALOG_CASES:
    first = next(c for c in CASES if c[0] == f"{name}/example")
    return {"type": name, **jaxsched.registry()[name].example}, lambda: build(first)
  kwargs = CATALOG_CASES[name]
  return {"type": name, **kwargs}, lambda: getattr(jaxsched, name)(**kwargs)


CATALOG_NAMES = [entry.name for entry in jaxsched.catalog()]


@pytest.mark.parametrize("name", CATALOG_NAMES)
def test_catalog_schedule_from_config_equals_direct_call(name):
  cfg, direct = _case(name)
  _same_schedule(from_config(cfg), direct())


# ----------------------------------------------------------------------------- transformations

TRANSFORM_CASES = {
  "reduce_on_plateau": dict(factor=0.5, patience=1),
  "adaptive_step_decay": dict(decay_factor=0.5, patience=2, cooldown=1),
  "phase_transition": dict(detection_window=4, cv_window=3, boost_steps=1),
  "grokfast_ema": dict(alpha=0.5, lamb=2.0),
}
TRANSFORMS_PRESENT = [n for n in TRANSFORM_CASES if callable(getattr(jaxsched, n, None))]


def _run_transform(tx, metric):
  params = {"w": jnp.zeros(3)}
  state = tx.init(params)
  update = jax.jit(tx.update)
  out = []
  for i, value in enumerate([1.0, 3.0, 1.0, 3.0, 3.0, 3.0, 3.0]):
    grads = {"w": jnp.full(3, float(i + 1))}
    extra = {"value": value} if metric else {}
    updates, state = update(grads, state, params, **extra)
    out.append(np.asarray(updates["w"]))
  return np.stack(out)


@pytest.mark.parametrize("name", TRANSFORMS_PRESENT)
def test_transformation_from_config_equals_direct_call(name):
  kwargs = TRANSFORM_CASES[name]
  built = from_config({"type": name, **kwargs})
  direct = getattr(jaxsched, name)(**kwargs)
  assert isinstance(built, optax.GradientTransformation)
  metric = name != "grokfast_ema"
  np.testing.assert_array_equal(_run_transform(built, metric), _run_transform(direct, metric))


def test_transformations_exported_are_valid_types():
  with pytest.raises(ValueError) as info:
    from_config({"type": "nope"})
  for name in TRANSFORMS_PRESENT + ["layerwise", "layerwise_decay"]:
    assert name in str(info.value)


def _tree():
  return {
    "embed": jnp.ones(2),
    "layers": [{"attn": jnp.ones(2)}, {"mlp": jnp.ones(2)}],
    "head": jnp.ones(2),
  }


def _scales(tx):
  params = _tree()
  out, _ = tx.update(params, tx.init(params))
  return {path_string(p): float(v[0]) for p, v in jax.tree_util.tree_flatten_with_path(out)[0]}


def test_layerwise_from_config_keeps_pattern_order():
  cfg = {"type": "layerwise", "multipliers": {"attn": 2.0, "layers": 0.5}, "default": 0.25}
  assert _scales(from_config(cfg)) == _scales(layerwise({"attn": 2.0, "layers": 0.5}, 0.25))
  assert _scales(from_config(cfg))["layers/0/attn"] == 2.0


def test_layerwise_decay_from_yaml():
  tx = from_config("type: layerwise_decay\ndecay: 5e-1\nnum_layers: 2\n")
  assert _scales(tx) == {"embed": 0.125, "head": 1.0, "layers/0/attn": 0.25, "layers/1/mlp": 0.5}


# ----------------------------------------------------------------------------- YAML

_YAML = textwrap.dedent("""\
    type: warmup_cosine
    peak_value: 3e-4
    warmup_steps: 100
    total_steps: 1e3
    end_value: 1.0e-6
    """)


def test_yaml_1_1_reads_exponents_without_a_dot_as_strings():
  # The reason from_config converts numeric strings: PyYAML follows YAML 1.1.
  loaded = yaml.safe_load(_YAML)
  assert loaded["peak_value"] == "3e-4" and loaded["total_steps"] == "1e3"
  assert loaded["end_value"] == 1e-6


def test_yaml_string_with_exponent_numbers():
  _same_schedule(from_config(_YAML), jaxsched.warmup_cosine(3e-4, 100, 1000, end_value=1e-6))


def test_dict_with_numeric_strings_is_converted_too():
  cfg = {
    "type": "multistep_decay",
    "init_value": "1e-2",
    "milestones": ["10", "2e1"],
    "gamma": "0.5",
  }
  _same_schedule(from_config(cfg), jaxsched.multistep_decay(1e-2, [10, 20], 0.5))


def test_non_numeric_strings_stay_strings():
  cfg = {"type": "warmup", "peak_value": "1e-3", "warmup_steps": "10", "warmup_kind": "1-sqrt"}
  _same_schedule(from_config(cfg), jaxsched.warmup(1e-3, 10, warmup_kind="1-sqrt"))


@pytest.mark.parametrize("suffix, as_path", [(".yaml", False), (".yml", True)])
def test_yaml_file(tmp_path, suffix, as_path):
  path = tmp_path / f"schedule{suffix}"
  path.write_text(_YAML)
  built = from_config(path if as_path else str(path))
  _same_schedule(built, jaxsched.warmup_cosine(3e-4, 100, 1000, end_value=1e-6))


def test_nested_sequential_and_chained_from_yaml():
  text = textwrap.dedent("""\
      type: sequential
      boundaries: [10]
      schedules:
        - {type: warmup, peak_value: 1e-3, warmup_steps: 10}
        - type: chained
          init_value: 1e-3
          factor_schedules:
            - {type: step_decay, init_value: 1, step_size: 20, gamma: 5e-1}
            - {type: cosine_annealing, init_value: 1, t_max: 100}
      """)
  direct = jaxsched.sequential(
    [
      jaxsched.warmup(1e-3, 10),
      jaxsched.chained(1e-3, jaxsched.step_decay(1, 20, 0.5), jaxsched.cosine_annealing(1, 100)),
    ],
    [10],
  )
  _same_schedule(from_config(text), direct)


def test_built_schedules_may_stand_in_for_nested_configs():
  cfg = {"type": "sequential", "schedules": [jaxsched.constant(0.1), _COSINE], "boundaries": [5]}
  direct = jaxsched.sequential(
    [jaxsched.constant(0.1), jaxsched.cosine_annealing(**_kwargs(_COSINE))], [5]
  )
  _same_schedule(from_config(cfg), direct)


# ----------------------------------------------------------------------------- seed 004 names


@pytest.mark.parametrize("peak_key", ["learning_rate", "peak_value", "max_lr"])
def test_cosine_warmup_alias(peak_key):
  cfg = {
    "type": "cosine_warmup",
    peak_key: 2e-4,
    "warmup_steps": 10,
    "total_steps": 200,
    "min_lr": 1e-6,
  }
  _same_schedule(from_config(cfg), jaxsched.warmup_cosine(2e-4, 10, 200, end_value=1e-6))


def test_cosine_warmup_alias_passes_other_keywords():
  cfg = {
    "type": "cosine_warmup",
    "learning_rate": 1.0,
    "warmup_steps": 10,
    "total_steps": 100,
    "warmup_kind": "cosine",
    "init_value": 0.1,
  }
  _same_schedule(
    from_config(cfg), jaxsched.warmup_cosine(1.0, 10, 100, init_value=0.1, warmup_kind="cosine")
  )


def test_onecycle_alias():
  cfg = {"type": "onecycle", "max_lr": 1e-4, "total_steps": 100, "pct_start": 0.3}
  _same_schedule(from_config(cfg), jaxsched.one_cycle(1e-4, 100, pct_start=0.3))


@pytest.mark.parametrize(
  "cfg, message",
  [
    (
      {"learning_rate": 1.0, "max_lr": 2.0},
      r"give the peak rate once, not as learning_rate and "
      r"max_lr",
    ),
    (
      {"peak_value": 1.0, "min_lr": 0.1, "end_value": 0.1},
      r"give the final rate once, not as "
      r"min_lr and end_value",
    ),
    (
      {"learning_rate": 1.0, "eta_min": 0.1},
      r"unknown keyword 'eta_min' for type "
      r"'cosine_warmup'; warmup_cosine takes peak_value, .* \(cosine_warmup also takes "
      r"learning_rate, max_lr, min_lr\)",
    ),
  ],
)
def test_cosine_warmup_alias_errors(cfg, message):
  cfg = {"type": "cosine_warmup", "warmup_steps": 10, "total_steps": 100, **cfg}
  with pytest.raises(ValueError, match=message):
    from_config(cfg)


_BLOCK = textwrap.dedent("""\
    training:
      learning_rate: 2e-5
      scheduler:
        type: cosine_warmup
        warmup_steps: 50
        total_steps: 500
        min_lr: 2e-7
      layer_scheduling:
        embeddings: 0.1
        attention: 2.0
        other: 0.5
    """)


def _block_scales(tx):
  params = {
    "embed": jnp.ones(2),
    "attention": jnp.ones(2),
    "self_attn": jnp.ones(2),
    "mlp": jnp.ones(2),
  }
  out, _ = tx.update(params, tx.init(params))
  return {k: float(v[0]) for k, v in out.items()}


def test_seed_004_training_block_from_yaml(tmp_path):
  path = tmp_path / "training_config.yaml"
  path.write_text(_BLOCK)
  setup = from_config(path)
  assert isinstance(setup, TrainingSetup)
  _same_schedule(setup.schedule, jaxsched.warmup_cosine(2e-5, 50, 500, end_value=2e-7))
  assert _block_scales(setup.layerwise) == {
    "embed": np.float32(0.1),
    "attention": 2.0,
    "self_attn": 2.0,
    "mlp": 0.5,
  }


def test_training_block_without_training_key_and_with_any_schedule():
  cfg = {"learning_rate": 0.1, "scheduler": {"type": "step_decay", "step_size": 10}}
  setup = from_config(cfg)
  assert setup.layerwise is None
  _same_schedule(setup.schedule, jaxsched.step_decay(0.1, 10))


def test_training_block_scheduler_rate_wins_over_learning_rate():
  cfg = {
    "learning_rate": 1e-5,
    "scheduler": {"type": "onecycle", "max_lr": 1e-4, "total_steps": 100},
  }
  _same_schedule(from_config(cfg).schedule, jaxsched.one_cycle(1e-4, 100))


def test_training_block_without_scheduler_is_constant():
  setup = from_config({"learning_rate": "3e-4", "layer_scheduling": {"embeddings": 0.1}})
  _same_schedule(setup.schedule, jaxsched.constant(3e-4))
  params = {"embed": jnp.ones(2), "w": jnp.ones(2)}
  out, _ = setup.layerwise.update(params, setup.layerwise.init(params))
  assert float(out["embed"][0]) == np.float32(0.1) and float(out["w"][0]) == 1.0


def test_training_block_other_keys_are_patterns_in_order():
  cfg = {
    "learning_rate": 1.0,
    "layer_scheduling": {"^self_": 3.0, "attention": 2.0, "embeddings": 0.1},
  }
  assert _block_scales(from_config(cfg).layerwise) == {
    "embed": np.float32(0.1),
    "attention": 2.0,
    "self_attn": 3.0,
    "mlp": 1.0,
  }


@pytest.mark.parametrize(
  "cfg, message",
  [
    (
      {"learning_rate": 1.0, "optimizer": "adam"},
      r"from_config: config: unknown key "
      r"'optimizer' in a training block; it takes learning_rate, scheduler, layer_scheduling",
    ),
    (
      {"layer_scheduling": {"embeddings": 0.1}},
      r"a training block needs 'learning_rate' or "
      r"'scheduler'",
    ),
    (
      {"learning_rate": 1.0, "scheduler": {"type": "reduce_on_plateau"}},
      r"config.scheduler: type 'reduce_on_plateau' is a gradient transformation, not a "
      r"learning-rate schedule",
    ),
    ({"learning_rate": 1.0, "scheduler": [1]}, r"config.scheduler must be a mapping"),
    (
      {"learning_rate": 1.0, "scheduler": {"type": "warmup_cosine", "warmup_steps": 10}},
      r"config.scheduler: type 'warmup_cosine' needs keyword 'total_steps'",
    ),
    (
      {"learning_rate": 1.0, "layer_scheduling": {"embeddings": -1.0}},
      r"layerwise: multipliers\['embed'\]=-1.0 must be a finite number",
    ),
  ],
)
def test_training_block_errors(cfg, message):
  with pytest.raises(ValueError, match=message):
    from_config(cfg)


# ----------------------------------------------------------------------------- errors


def test_unknown_type_lists_valid_ones():
  with pytest.raises(
    ValueError,
    match=r"from_config: config: unknown type 'cosine'; valid "
    r"types: .*\bwarmup_cosine\b",
  ) as info:
    from_config({"type": "cosine", "peak_value": 1.0})
  message = str(info.value)
  for name in CATALOG_NAMES + ["cosine_warmup", "onecycle", "layerwise", "layerwise_decay"]:
    assert f" {name}," in message or message.endswith(f" {name}"), name


def test_unknown_keyword_names_it_and_lists_keywords():
  with pytest.raises(
    ValueError,
    match=r"^from_config: config: unknown keyword 'eta_min' for "
    r"type 'warmup_cosine'; warmup_cosine takes peak_value, warmup_steps, "
    r"total_steps, end_value, init_value, num_cycles, warmup_kind, hold_after_end$",
  ):
    from_config(
      {
        "type": "warmup_cosine",
        "peak_value": 1.0,
        "warmup_steps": 1,
        "total_steps": 10,
        "eta_min": 0.1,
      }
    )


def test_missing_required_keywords_are_named():
  with pytest.raises(
    ValueError,
    match=r"type 'warmup_cosine' needs keywords 'warmup_steps', "
    r"'total_steps'",
  ):
    from_config({"type": "warmup_cosine", "peak_value": 1.0})
  with pytest.raises(ValueError, match=r"type 'chained' needs keyword 'factor_schedules'"):
    from_config({"type": "chained", "init_value": 1.0})


@pytest.mark.parametrize(
  "cfg, message",
  [
    (
      [{"type": "constant", "value": 1.0}],
      r"from_config: config must be a mapping such as "
      r"\{'type': 'warmup_cosine', \.\.\.\}, got list",
    ),
    (3, r"config must be a mapping .* got int 3"),
    ("just some words", r"config must be a mapping .* got str 'just some words'"),
    ("", r"config must be a mapping .* got NoneType"),
    ({"peak_value": 1.0}, r"from_config: config has no 'type' key; valid types: "),
    ({"type": 3}, r"unknown type 3"),
    (
      {"type": "sequential", "schedules": [3], "boundaries": []},
      r"config.schedules\[0\] must be a mapping .* got int 3",
    ),
    (
      {"type": "sequential", "schedules": _WARMUP, "boundaries": []},
      r"config.schedules must be a list of configs or schedules",
    ),
    (
      {"type": "chained", "init_value": 1.0, "factor_schedules": [{"type": "warmup"}]},
      r"config.factor_schedules\[0\]: type 'warmup' needs keywords 'peak_value', 'warmup_steps'",
    ),
    ("a: [1, 2", r"from_config: cannot parse the YAML config"),
    ("missing/config.yaml", r"from_config: config file 'missing/config.yaml' does not exist"),
  ],
)
def test_bad_configs(cfg, message):
  with pytest.raises(ValueError, match=message):
    from_config(cfg)


def test_missing_path_object(tmp_path):
  with pytest.raises(ValueError, match="does not exist"):
    from_config(pathlib.Path(tmp_path / "nope.yml"))


@pytest.mark.parametrize(
  "cfg, direct",
  [
    (
      {"type": "warmup_cosine", "peak_value": 1.0, "warmup_steps": 20, "total_steps": 10},
      lambda: jaxsched.warmup_cosine(1.0, 20, 10),
    ),
    ({"type": "constant", "value": -1.0}, lambda: jaxsched.constant(-1.0)),
    ({"type": "layerwise", "multipliers": {"a": -2.0}}, lambda: layerwise({"a": -2.0})),
    ({"type": "reduce_on_plateau", "factor": 2.0}, lambda: jaxsched.reduce_on_plateau(2.0)),
  ],
)
def test_factory_errors_propagate_unchanged(cfg, direct):
  with pytest.raises(ValueError) as expected:
    direct()
  with pytest.raises(ValueError) as got:
    from_config(cfg)
  assert str(got.value) == str(expected.value)


def test_from_config_output_is_traceable_like_the_direct_schedule():
  sched = from_config(
    {"type": "warmup_linear", "peak_value": 1.0, "warmup_steps": 10, "total_steps": 100}
  )
  values = jax.jit(jax.vmap(sched))(STEPS)
  chex.assert_shape(values, STEPS.shape)


# ----------------------------------------------------------------------------- load_config


def test_load_config_converts_numbers_in_yaml_text():
  text = "lr: 1e-3\nsteps: [100, 2e3]\nnested: {end: 3e-3, kind: cosine}\nname: '7'\n"
  assert load_config(text) == {
    "lr": 0.001,
    "steps": [100, 2000.0],
    "nested": {"end": 0.003, "kind": "cosine"},
    "name": 7,
  }
  assert isinstance(load_config(text)["steps"][0], int)


def test_load_config_converts_a_mapping_without_changing_it():
  cfg = {"total_steps": "100", "end_value": "3e-3", "parts": [{"gamma": "1e-1"}]}
  assert load_config(cfg) == {"total_steps": 100, "end_value": 0.003, "parts": [{"gamma": 0.1}]}
  assert cfg["end_value"] == "3e-3"


@pytest.mark.parametrize("suffix, as_path", [(".yaml", False), (".yml", True)])
def test_load_config_yaml_file(tmp_path, suffix, as_path):
  path = tmp_path / f"config{suffix}"
  path.write_text("schedule:\n  peak_value: 1e-3\n  total_steps: 1e3\n")
  loaded = load_config(path if as_path else str(path))
  assert loaded == {"schedule": {"peak_value": 0.001, "total_steps": 1000.0}}


@pytest.mark.parametrize("as_path", [False, True])
def test_load_config_json_file_without_pyyaml(tmp_path, monkeypatch, as_path):
  path = tmp_path / "config.json"
  path.write_text(json.dumps({"peak_value": 1e-3, "end_value": "3e-3", "steps": ["100"]}))
  monkeypatch.setitem(sys.modules, "yaml", None)  # JSON must not need PyYAML
  loaded = load_config(path if as_path else str(path))
  assert loaded == {"peak_value": 0.001, "end_value": 0.003, "steps": [100]}


def test_load_config_yaml_without_pyyaml_names_the_package(monkeypatch):
  monkeypatch.setitem(sys.modules, "yaml", None)
  with pytest.raises(ImportError, match=r"^load_config: .*pip install pyyaml"):
    load_config("peak_value: 1e-3")


@pytest.mark.parametrize(
  "name, text, message",
  [
    ("bad.yaml", "a: [1, 2\n", r"^load_config: cannot parse the YAML config: "),
    ("bad.json", "{'a': 1}", r"^load_config: cannot parse the JSON config '.*bad.json': "),
    (None, "a: [1, 2\nb: {", r"^load_config: cannot parse the YAML config: "),
    (
      None,
      "missing/config.json",
      r"^load_config: config file 'missing/config.json' does not "
      r"exist$",
    ),
  ],
)
def test_load_config_errors_are_one_line(tmp_path, name, text, message):
  cfg = text
  if name is not None:
    cfg = tmp_path / name
    cfg.write_text(text)
  with pytest.raises(ValueError, match=message) as info:
    load_config(cfg)
  assert "\n" not in str(info.value)


# ----------------------------------------------------------------------------- resolve_config

LR = 0.02


# (config without its base rate, the keyword learning_rate fills, direct call with LR).
RATE_CASES = {
  "warmup_cosine": (
    {"type": "warmup_cosine", "warmup_steps": 10, "total_steps": 200},
    "peak_value",
    lambda: jaxsched.warmup_cosine(LR, 10, 200),
  ),
  "cosine_annealing": (
    {"type": "cosine_annealing", "t_max": 50},
    "init_value",
    lambda: jaxsched.cosine_annealing(LR, 50),
  ),
  "step_decay": (
    {"type": "step_decay", "step_size": 7, "gamma": "5e-1"},
    "init_value",
    lambda: jaxsched.step_decay(LR, 7, 0.5),
  ),
  "cyclic": (
    {"type": "cyclic", "base_lr": 1e-3, "step_size_up": 20},
    "max_lr",
    lambda: jaxsched.cyclic(1e-3, LR, 20),
  ),
  "constant": ({"type": "constant"}, "value", lambda: jaxsched.constant(LR)),
  "onecycle": (
    {"type": "onecycle", "total_steps": 100},
    "max_lr",
    lambda: jaxsched.one_cycle(LR, 100),
  ),
  "cosine_warmup": (
    {"type": "cosine_warmup", "warmup_steps": 10, "total_steps": 200, "min_lr": 1e-4},
    "peak_value",
    lambda: jaxsched.warmup_cosine(LR, 10, 200, end_value=1e-4),
  ),
  "chained": (
    {"type": "chained", "factor_schedules": [_FACTOR, _EXP]},
    "init_value",
    lambda: jaxsched.chained(
      LR, jaxsched.constant_factor(**_kwargs(_FACTOR)), jaxsched.exponential_decay(**_kwargs(_EXP))
    ),
  ),
}


@pytest.mark.parametrize("name", list(RATE_CASES))
def test_resolve_config_fills_the_rate_keyword(name):
  cfg, keyword, direct = RATE_CASES[name]
  resolved = resolve_config(cfg, learning_rate=LR)
  assert resolved.rate_keyword == keyword
  assert resolved.kwargs[keyword] == LR
  _same_schedule(resolved.build(), direct())


def test_resolve_config_rate_in_the_config_wins():
  resolved = resolve_config(
    {"type": "one_cycle", "max_lr": 0.5, "total_steps": 100}, learning_rate=LR
  )
  assert resolved.kwargs["max_lr"] == 0.5
  _same_schedule(resolved.build(), jaxsched.one_cycle(0.5, 100))


def test_resolve_config_without_a_rate_keyword_ignores_learning_rate():
  resolved = resolve_config({"type": "noam", "d_model": 64, "warmup_steps": 40}, learning_rate=LR)
  assert resolved.rate_keyword is None
  assert resolved.kwargs == {"d_model": 64, "warmup_steps": 40}


@pytest.mark.parametrize(
  "cfg, target, kwargs",
  [
    (
      {"type": "onecycle", "max_lr": "1e-4", "total_steps": 100},
      "one_cycle",
      {"max_lr": 1e-4, "total_steps": 100},
    ),
    (
      {
        "type": "cosine_warmup",
        "learning_rate": 2e-4,
        "warmup_steps": 10,
        "total_steps": 200,
        "min_lr": "1e-6",
      },
      "warmup_cosine",
      {"peak_value": 2e-4, "warmup_steps": 10, "total_steps": 200, "end_value": 1e-6},
    ),
  ],
)
def test_resolve_config_maps_aliases(cfg, target, kwargs):
  resolved = resolve_config(cfg)
  assert resolved.type == target
  assert resolved.factory is getattr(jaxsched, target)
  assert resolved.args == ()
  assert resolved.kwargs == kwargs
  _same_schedule(resolved.build(), getattr(jaxsched, target)(**kwargs))


def test_resolve_config_from_yaml_file(tmp_path):
  path = tmp_path / "schedule.yaml"
  path.write_text(_YAML)
  resolved = resolve_config(path)
  assert resolved.kwargs == {
    "peak_value": 3e-4,
    "warmup_steps": 100,
    "total_steps": 1000.0,
    "end_value": 1e-6,
  }


def test_resolve_config_builds_nested_configs():
  resolved = resolve_config(
    {"type": "chained", "init_value": 0.1, "factor_schedules": [_FACTOR, _EXP]}
  )
  assert resolved.type == "chained" and len(resolved.args) == 2
  assert all(callable(part) for part in resolved.args)
  assert resolved.kwargs == {"init_value": 0.1}
  resolved = resolve_config(
    {"type": "sequential", "schedules": [_WARMUP, _COSINE], "boundaries": [10]}
  )
  assert resolved.args == () and all(callable(s) for s in resolved.kwargs["schedules"])


def test_build_replacements_under_vmap_equal_direct_calls():
  resolved = resolve_config(
    {"type": "warmup_cosine", "warmup_steps": 10, "total_steps": 300, "end_value": 1e-5},
    learning_rate=1.0,
  )
  warmups = jnp.asarray([5, 10, 40, 120], jnp.int32)
  peaks = jnp.asarray([0.1, 0.5, 1.0, 3e-3], jnp.float32)
  swept = jax.jit(jax.vmap(lambda w, p: resolved.build(warmup_steps=w, peak_value=p)(STEPS)))(
    warmups, peaks
  )
  chex.assert_shape(swept, (4, STEPS.shape[0]))
  for row, w, p in zip(np.asarray(swept), [5, 10, 40, 120], [0.1, 0.5, 1.0, 3e-3]):
    direct = jax.jit(jaxsched.warmup_cosine(p, w, 300, end_value=1e-5))(STEPS)
    np.testing.assert_allclose(row, np.asarray(direct), rtol=1e-6, atol=0)


def test_build_replaces_the_leading_argument_of_a_varargs_factory():
  resolved = resolve_config(RATE_CASES["chained"][0], learning_rate=1.0)
  values = jnp.asarray([0.5, 2.0], jnp.float32)
  swept = jax.jit(jax.vmap(lambda v: resolved.build(init_value=v)(STEPS)))(values)
  for row, v in zip(np.asarray(swept), [0.5, 2.0]):
    direct = jaxsched.chained(
      v, jaxsched.constant_factor(**_kwargs(_FACTOR)), jaxsched.exponential_decay(**_kwargs(_EXP))
    )
    np.testing.assert_allclose(row, np.asarray(jax.jit(direct)(STEPS)), rtol=1e-6, atol=0)


@pytest.mark.parametrize(
  "cfg, keyword, message",
  [
    (
      RATE_CASES["warmup_cosine"][0],
      "eta_min",
      r"^ResolvedConfig.build: warmup_cosine takes "
      r"no keyword 'eta_min'; it takes peak_value, warmup_steps, total_steps, end_value, "
      r"init_value, num_cycles, warmup_kind, hold_after_end$",
    ),
    (RATE_CASES["cosine_warmup"][0], "min_lr", r"warmup_cosine takes no keyword 'min_lr'"),
    (
      RATE_CASES["chained"][0],
      "factor_schedules",
      r"chained takes no keyword "
      r"'factor_schedules'; it takes init_value$",
    ),
  ],
)
def test_build_rejects_a_keyword_the_factory_does_not_take(cfg, keyword, message):
  resolved = resolve_config(cfg, learning_rate=1.0)
  with pytest.raises(ValueError, match=message):
    resolved.build(**{keyword: 0.1})


@pytest.mark.parametrize(
  "cfg",
  [
    {"learning_rate": 1.0, "scheduler": {"type": "onecycle", "total_steps": 10}},
    {"learning_rate": 1.0},
    {"layer_scheduling": {"embeddings": 0.1}},
    _BLOCK,
  ],
)
def test_resolve_config_rejects_a_training_block(cfg):
  with pytest.raises(
    ValueError,
    match=r"^resolve_config: config is a training block "
    r"\(learning_rate, scheduler, layer_scheduling\), which from_config builds",
  ):
    resolve_config(cfg)


@pytest.mark.parametrize(
  "cfg, message",
  [
    (
      {
        "type": "warmup_cosine",
        "peak_value": 1.0,
        "warmup_steps": 1,
        "total_steps": 10,
        "eta_min": 0.1,
      },
      r"^resolve_config: config: unknown keyword 'eta_min' for type "
      r"'warmup_cosine'; warmup_cosine takes peak_value, ",
    ),
    (
      {"type": "warmup_cosine", "warmup_steps": 1},
      r"^resolve_config: config: type "
      r"'warmup_cosine' needs keywords 'peak_value', 'total_steps'$",
    ),
    (
      {"type": "sequential", "schedules": [{"type": "nope"}], "boundaries": []},
      r"^resolve_config: config.schedules\[0\]: unknown type 'nope'; valid types: ",
    ),
    ([1], r"^resolve_config: config must be a mapping"),
    ("missing.yml", r"^resolve_config: config file 'missing.yml' does not exist$"),
  ],
)
def test_resolve_config_errors_name_it(cfg, message):
  with pytest.raises(ValueError, match=message):
    resolve_config(cfg)


def test_from_config_is_resolve_config_built():
  cfg, _, _ = RATE_CASES["chained"]
  cfg = {**cfg, "init_value": "3e-1"}
  _same_schedule(from_config(cfg), resolve_config(cfg).build())
  _same_schedule(
    from_config(cfg),
    jaxsched.chained(
      0.3, jaxsched.constant_factor(**_kwargs(_FACTOR)), jaxsched.exponential_decay(**_kwargs(_EXP))
    ),
  )
