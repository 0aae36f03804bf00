"""Shared pytest configuration: strict rank promotion, as the style guide asks."""

import jax
import pytest


@pytest.fixture(autouse=True)
def _strict_rank_promotion():
  """Runs every test with implicit rank promotion turned into an error."""
  previous = jax.config.jax_numpy_rank_promotion
  jax.config.update("jax_numpy_rank_promotion", "raise")
  yield
  jax.config.update("jax_numpy_rank_promotion", previous)
