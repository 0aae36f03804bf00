"""Renamed keywords: one spelling per concept, the old one kept with a DeprecationWarning.

* ``warmup(kind=)`` is ``warmup(warmup_kind=)``, the name every composite
  schedule uses for the shape of its warmup;
* ``adaptive_momentum(min_momentum=)`` is ``adaptive_momentum(base_momentum=)``,
  torch's CyclicLR / OneCycleLR spelling of the momentum at the LR peak.

And the package's own code never uses an old name.
"""

import doctest
import importlib
import inspect
import pathlib
import warnings

import cases
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxsched
from jaxsched.schedules import _composition
from jaxsched.schedules import _warmup

PACKAGE = pathlib.Path(jaxsched.__file__).resolve().parent
STEPS = jnp.arange(120)
RENAMES = [
  pytest.param(
    _warmup.warmup,
    dict(peak_value=1.0, warmup_steps=50, init_value=0.01),
    "kind",
    "warmup_kind",
    "exponential",
    id="warmup",
  ),
  pytest.param(
    _composition.adaptive_momentum,
    dict(lr_schedule=jaxsched.warmup_constant(1.0, 50), reference_lr=1.0, max_momentum=0.95),
    "min_momentum",
    "base_momentum",
    0.8,
    id="adaptive_momentum",
  ),
]


def _curve(sched):
  return np.asarray(jax.jit(sched)(STEPS))


@pytest.mark.parametrize("factory, kwargs, old, new, value", RENAMES)
def test_old_keyword_warns_naming_the_new_one_and_gives_the_same_values(
  factory, kwargs, old, new, value
):
  with pytest.warns(
    DeprecationWarning,
    match=f"{factory.__name__}: the keyword {old}= is deprecated; use {new}= instead",
  ) as record:
    sched = factory(**kwargs, **{old: value})
  assert record[0].filename == __file__  # attributed to the caller's line
  with warnings.catch_warnings():
    warnings.simplefilter("error")
    want = factory(**kwargs, **{new: value})
  np.testing.assert_array_equal(_curve(sched), _curve(want))
  default = inspect.signature(factory).parameters[new].default
  assert not np.array_equal(_curve(want), _curve(factory(**kwargs, **{new: default})))


@pytest.mark.parametrize("factory, kwargs, old, new, value", RENAMES)
def test_both_keywords_are_a_type_error(factory, kwargs, old, new, value):
  default = inspect.signature(factory).parameters[new].default
  for given in (value, default):  # even when the new one equals its default
    with pytest.raises(TypeError, match=f"got both {new}= and its deprecated old name {old}="):
      factory(**kwargs, **{old: value, new: given})


def test_both_keywords_with_the_new_one_positional_are_a_type_error():
  with pytest.raises(TypeError, match="got both warmup_kind="):
    _warmup.warmup(1.0, 10, "cosine", kind="linear")
  with pytest.raises(TypeError, match="got both base_momentum="):
    _composition.adaptive_momentum(jaxsched.constant(0.1), 1.0, 0.95, 0.8, min_momentum=0.8)


@pytest.mark.parametrize("factory, kwargs, old, new, value", RENAMES)
def test_old_keyword_given_as_none_is_not_given(factory, kwargs, old, new, value):
  # The command line passes every keyword of the signature, the old ones as None.
  del value
  with warnings.catch_warnings():
    warnings.simplefilter("error")
    sched = factory(**kwargs, **{old: None})
  np.testing.assert_array_equal(_curve(sched), _curve(factory(**kwargs)))


@pytest.mark.parametrize("factory, kwargs, old, new, value", RENAMES)
def test_signature_keeps_the_position_and_lists_the_old_name_keyword_only(
  factory, kwargs, old, new, value
):
  del kwargs, value
  params = inspect.signature(factory).parameters
  assert params[new].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
  assert params[old].kind is inspect.Parameter.KEYWORD_ONLY and params[old].default is None
  assert list(params)[-1] == old


def test_positional_calls_are_unchanged():
  with warnings.catch_warnings():
    warnings.simplefilter("error")
    positional = _warmup.warmup(1.0, 40, "cosine", 0.1)
    momentum = _composition.adaptive_momentum(jaxsched.warmup_constant(1.0, 50), 1.0, 0.95, 0.8)
  np.testing.assert_array_equal(
    _curve(positional), _curve(_warmup.warmup(1.0, 40, warmup_kind="cosine", init_value=0.1))
  )
  assert float(momentum(60)) == pytest.approx(0.8)


def test_from_config_with_the_old_key_warns_and_builds_the_same_schedule():
  cfg = {"type": "warmup", "peak_value": 1e-3, "warmup_steps": 10, "kind": "1-sqrt"}
  with pytest.warns(DeprecationWarning, match="use warmup_kind= instead"):
    old = jaxsched.from_config(cfg)
  new = jaxsched.from_config(
    {**{k: v for k, v in cfg.items() if k != "kind"}, "warmup_kind": "1-sqrt"}
  )
  np.testing.assert_array_equal(_curve(old), _curve(new))
  lr = {"type": "warmup_constant", "peak_value": 1.0, "warmup_steps": 50}
  with pytest.warns(DeprecationWarning, match="use base_momentum= instead"):
    old = jaxsched.from_config(
      {"type": "adaptive_momentum", "lr_schedule": lr, "reference_lr": 1.0, "min_momentum": 0.8}
    )
  new = jaxsched.from_config(
    {"type": "adaptive_momentum", "lr_schedule": lr, "reference_lr": 1.0, "base_momentum": 0.8}
  )
  np.testing.assert_array_equal(_curve(old), _curve(new))


# --- the package itself uses only the new names --------------------------------------------


def _package_deprecations(record):
  """DeprecationWarnings raised from a line of jaxsched itself."""
  return [
    w
    for w in record
    if issubclass(w.category, DeprecationWarning)
    and pathlib.Path(w.filename).resolve().is_relative_to(PACKAGE)
  ]


def test_package_sources_compile_without_warnings():
  for path in sorted(PACKAGE.rglob("*.py")):
    with warnings.catch_warnings():
      warnings.simplefilter("error")  # e.g. an invalid escape sequence in a docstring
      compile(path.read_text(), str(path), "exec")


SCHEDULE_MODULES = (
  "_common",
  "schedules._composition",
  "schedules._cyclic",
  "schedules._decay",
  "schedules._phases",
  "schedules._warmup",
  "_config",
  "_catalog",
)


@pytest.mark.parametrize("name", SCHEDULE_MODULES)
def test_docstring_examples_raise_no_deprecation_warning(name):
  module = importlib.import_module(f"jaxsched.{name}")
  runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
  with warnings.catch_warnings(record=True) as record:
    warnings.simplefilter("always")
    for test in doctest.DocTestFinder().find(module):
      runner.run(test, out=lambda _: None)
  # (whether the examples pass is --doctest-modules' job)
  assert not _package_deprecations(record), [str(w.message) for w in record]


def test_case_matrix_builds_without_deprecation_warnings():
  with warnings.catch_warnings(record=True) as record:
    warnings.simplefilter("always")
    for case in cases.CASES:
      cases.build(case)  # the keywords are read when the factory is called
  deprecations = [
    w
    for w in record
    if issubclass(w.category, DeprecationWarning)
    and ("jaxsched" in w.filename or w.filename == cases.__file__)
  ]
  assert not deprecations, [f"{w.filename}:{w.lineno}: {w.message}" for w in deprecations]
