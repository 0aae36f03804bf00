"""The registry: one table of every factory, used by from_config, the CLI and the tests."""

import inspect
import json

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxsched
from jaxsched import _catalog
from tests.cases import build
from tests.cases import CASES
from tests.cases import factory_name

# Public callables that are not factories of schedules or transformations.
NOT_FACTORIES = {
  "catalog",
  "registry",
  "from_config",
  "load_config",
  "resolve_config",
  "inspect",
  "plot",
  "lr_find",
  "compare",
  "from_torch",
  "to_torch",
  "get_scheduler",
  "current_scale",
  "current_learning_rate",
  "lr_areas",
  "fit_loss_law",
  "evaluate_law",
  "load_curves",
  "optimize_schedule",
  "plot_law",
  "schedule_free_eval_params",
  "consumed",
  "steps_for",
}


def _public_functions():
  return sorted(n for n in jaxsched.__all__ if inspect.isfunction(getattr(jaxsched, n)))


def test_every_public_function_is_registered_or_a_named_helper():
  unregistered = set(_public_functions()) - set(jaxsched.registry()) - NOT_FACTORIES
  assert not unregistered, f"register {sorted(unregistered)} in jaxsched/_catalog.py"


def test_every_registered_factory_is_public_under_its_name():
  for name, entry in jaxsched.registry().items():
    assert name in jaxsched.__all__, name
    assert getattr(jaxsched, name) is entry.factory, name
    assert entry.kind in _catalog.KINDS, name
    params = inspect.signature(entry.factory).parameters
    assert set(entry.nested) <= set(params), f"{name}: nested names a missing parameter"


def test_named_helpers_exist_and_are_not_registered():
  assert NOT_FACTORIES <= set(jaxsched.__all__)
  assert not NOT_FACTORIES & set(jaxsched.registry())


def test_catalog_is_the_registry_schedules_in_order():
  schedules = [e for e in jaxsched.registry().values() if e.kind == _catalog.SCHEDULE]
  assert list(jaxsched.catalog()) == schedules


def test_every_catalog_schedule_has_a_contract_case():
  missing = {e.name for e in jaxsched.catalog()} - {factory_name(c) for c in CASES}
  assert not missing, f"add a case to tests/cases.py for {sorted(missing)}"


def test_registry_is_read_only():
  with pytest.raises(TypeError):
    jaxsched.registry()["constant"] = None  # type: ignore[index]


@pytest.mark.parametrize("name", list(_catalog.REGISTRY))
def test_every_example_is_a_config_that_from_config_builds(name):
  entry = jaxsched.registry()[name]
  assert entry.example, f"{name}: give its registry entry an example"
  # Plain data, as a YAML or JSON config holds it (nested schedules as their own configs).
  assert json.loads(json.dumps(dict(entry.example))) == dict(entry.example), name
  built = jaxsched.from_config({"type": name, **entry.example})
  if entry.kind == _catalog.SCHEDULE:
    assert callable(built) and not isinstance(built, optax.GradientTransformation), name
  elif entry.kind == _catalog.BATCH_SIZE:
    assert isinstance(built, jaxsched.BatchSchedule), name
    assert built(jnp.arange(3)).dtype == jnp.int32, name
  else:
    assert isinstance(built, optax.GradientTransformation), name


@pytest.mark.parametrize("name", [e.name for e in jaxsched.catalog()])
def test_first_contract_case_is_the_registry_example(name):
  """The gallery draws from_config(example); the contract matrix runs it first: one schedule."""
  first = next(c for c in CASES if factory_name(c) == name)
  assert first[0] == f"{name}/example"
  steps = jnp.arange(0, 1000, 7)
  from_config = jaxsched.from_config({"type": name, **jaxsched.registry()[name].example})
  np.testing.assert_array_equal(
    np.asarray(jax.jit(from_config)(steps)), np.asarray(jax.jit(build(first))(steps))
  )


def test_every_rate_keyword_is_a_parameter_of_its_factory():
  for name, entry in jaxsched.registry().items():
    if entry.rate is not None:
      assert entry.rate in inspect.signature(entry.factory).parameters, name
  assert jaxsched.registry()["greedy_lr"].rate == "base_lr"  # not max_lr, which it also takes
  assert jaxsched.registry()["cyclic"].rate == "max_lr"  # not base_lr, the floor
