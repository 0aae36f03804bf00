"""Shared pytest configuration: strict rank promotion, as the style guide asks; the docs site;
the headless browser."""

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

# The slowest test files, slowest first: seconds per file of a whole-suite run in one process
# (`--durations=0` summed per file; 1228 s in all, on one core of the 2-core AMD EPYC with the
# other busy): benchmarks 108 (one test), engine 112, lm_warmup 110, engine_processes 101, timm
# 75, spurious 72, grokking 50, porting 48, docs 47, contract 47, finder 43; the rest 26 or less.
# With `--dist loadfile` a file runs whole on one worker and the suite ends when its last file
# does: started first, the long files overlap the many short ones on the other worker. xdist's
# own order (the files with the most tests first) started the one-test benchmark file last.
SLOWEST_FIRST = (
  "tests/test_benchmarks.py",
  "tests/test_engine.py",
  "tests/test_lm_warmup.py",
  "tests/test_engine_processes.py",
  "tests/test_timm.py",
  "tests/test_spurious.py",
  "tests/test_grokking.py",
  "tests/test_porting.py",
  "tests/test_docs.py",
  "tests/test_contract.py",
  "tests/test_finder.py",
)
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def pytest_configure(config):
  """Keeps the collection order below under xdist (its ``--loadscope-reorder`` is on by default)."""
  if hasattr(config.option, "loadscopereorder"):
    config.option.loadscopereorder = False


def pytest_collection_modifyitems(items):
  """Puts the files of :data:`SLOWEST_FIRST` first, in its order; the others keep theirs."""
  rank = {path: i for i, path in enumerate(SLOWEST_FIRST)}
  items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))


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


@pytest.fixture(scope="module")
def downloads(tmp_path_factory) -> pathlib.Path:
  """Where the browser saves downloads."""
  return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def browser(downloads):
  """Headless Debian Chromium driven by Selenium, with no network: a proxy that leads nowhere, so
  a page that fetched anything would show it. Fails, not skips, where the browser is missing."""
  from selenium import webdriver  # pylint: disable=import-outside-toplevel
  from selenium.webdriver.chrome.service import Service  # pylint: disable=import-outside-toplevel

  missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not pathlib.Path(p).exists()]
  if missing:
    pytest.fail(
      f"headless Chromium is needed and {', '.join(missing)} is missing: `make install` "
      "installs it (as root: apt-get install -y --no-install-recommends chromium chromium-driver)"
    )
  options = webdriver.ChromeOptions()
  options.binary_location = CHROMIUM  # with the driver's path below, Selenium Manager never runs
  for argument in (
    "--headless=new",
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--window-size=1400,1000",
    "--proxy-server=127.0.0.1:9",  # no network: only the loopback address is reached directly
  ):
    options.add_argument(argument)
  options.add_experimental_option(
    "prefs",
    {"download.default_directory": str(downloads), "download.prompt_for_download": False},
  )
  driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
  yield driver
  driver.quit()
