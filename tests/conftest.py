"""Shared pytest configuration: strict rank promotion, as the style guide asks; the docs site."""

import atexit
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

# One persistent compilation cache for the session, its xdist workers and the processes its
# tests start (they inherit the environment): the studies' tests train the same small programs
# many times, in this process and in CLI subprocesses, and a cache hit replaces a compile of
# seconds. A hit loads the executable XLA built for the same program, options and flags, so no
# result changes. The size limit turns on the cache's file lock (concurrent writers).
if "JAX_COMPILATION_CACHE_DIR" not in os.environ:
  _CACHE = tempfile.mkdtemp(prefix="jaxsched-tests-xla-cache-")
  atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)
  os.environ["JAX_COMPILATION_CACHE_DIR"] = _CACHE
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.2")
os.environ.setdefault("JAX_COMPILATION_CACHE_MAX_SIZE", str(4 * 2**30))

import jax  # noqa: E402  (JAX reads the cache's environment when imported)
import pytest  # noqa: E402

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
