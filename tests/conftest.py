"""Shared pytest configuration: strict rank promotion, as the style guide asks; the docs site."""

import pathlib
import subprocess
import sys

import jax
import pytest

DOCS = pathlib.Path(__file__).resolve().parents[1] / "docs"


@pytest.fixture(autouse=True)
def _strict_rank_promotion():
  """Runs every test with implicit rank promotion turned into an error."""
  previous = jax.config.jax_numpy_rank_promotion
  jax.config.update("jax_numpy_rank_promotion", "raise")
  yield
  jax.config.update("jax_numpy_rank_promotion", previous)


@pytest.fixture(scope="session")
def docs_site(tmp_path_factory) -> tuple[subprocess.CompletedProcess, pathlib.Path]:
  """The documentation site, built once per session with warnings as errors: (result, folder)."""
  site = tmp_path_factory.mktemp("docs") / "site"
  command = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html"]
  result = subprocess.run(
    [*command, str(DOCS), str(site)],
    capture_output=True,
    text=True,
    timeout=600,
    check=False,
  )
  return result, site
