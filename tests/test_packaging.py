"""The distribution: what the wheel holds, what `import jaxsched` needs, the extras' errors."""

import email
import pathlib
import shutil
import subprocess
import sys
import textwrap
import zipfile

import pytest

import jaxsched

ROOT = pathlib.Path(__file__).resolve().parents[1]

CORE = {"jax", "jaxlib", "optax", "chex", "numpy"}
# Never imported by `import jaxsched` (flax and orbax are the studies', matplotlib and yaml the
# `cli` extra's, torch, transformers and timm the porting and test side's).
OPTIONAL = (
  "flax",
  "orbax",
  "matplotlib",
  "yaml",
  "torch",
  "transformers",
  "timm",
  "tqdm",
  "scipy",
  "tensorboard",
  "tensorboardX",
  "sklearn",
)
# Build outputs and caches that are not sources.
_NOT_SOURCES = shutil.ignore_patterns(
  ".git",
  "site",
  "out",
  "build",
  "dist",
  "__pycache__",
  "*.egg-info",
  ".hypothesis",
  ".benchmarks",
  ".mypy_cache",
  ".ruff_cache",
  "results",
  "*.png",
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> pathlib.Path:
  """The wheel built from a copy of the sources (the checkout itself is left untouched)."""
  src = tmp_path_factory.mktemp("src") / "jaxsched"
  shutil.copytree(ROOT, src, ignore=_NOT_SOURCES)
  out = tmp_path_factory.mktemp("wheel")
  subprocess.run(
    [
      sys.executable,
      "-m",
      "pip",
      "wheel",
      "--no-deps",
      "--no-build-isolation",
      "--disable-pip-version-check",
      "--quiet",
      "-w",
      str(out),
      str(src),
    ],
    check=True,
    capture_output=True,
    text=True,
    timeout=300,
  )
  (path,) = out.glob("jaxsched-*.whl")
  return path


def _metadata(wheel: pathlib.Path) -> email.message.Message:
  with zipfile.ZipFile(wheel) as zf:
    (name,) = [n for n in zf.namelist() if n.endswith(".dist-info/METADATA")]
    return email.message_from_bytes(zf.read(name))


def test_wheel_holds_the_library_only(wheel):
  with zipfile.ZipFile(wheel) as zf:
    names = zf.namelist()
  dist_info = f"jaxsched-{jaxsched.__version__}.dist-info/"
  strays = [n for n in names if not n.startswith(("jaxsched/", dist_info))]
  assert not strays, f"files outside the package: {strays}"
  assert "jaxsched/py.typed" in names
  assert "jaxsched/__init__.py" in names
  assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
  modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "jaxsched").rglob("*.py")}
  assert modules <= set(names), sorted(modules - set(names))


def test_wheel_version_is_the_package_version(wheel):
  assert wheel.name.startswith(f"jaxsched-{jaxsched.__version__}-")
  assert _metadata(wheel)["Version"] == jaxsched.__version__


def test_core_dependencies_are_what_import_needs(wheel):
  requires = _metadata(wheel).get_all("Requires-Dist")
  core = {
    r.split(";")[0].split(">")[0].split("=")[0].split("<")[0].strip()
    for r in requires
    if "extra ==" not in r
  }
  assert core == CORE
  extras = set(_metadata(wheel).get_all("Provides-Extra"))
  assert {"cli", "experiments", "test", "docs", "dev"} <= extras


# A subprocess in which the optional packages cannot be imported, whether installed or not.
_BLOCKED = textwrap.dedent(f"""
    import importlib.abc, sys

    BLOCKED = {OPTIONAL!r}

    class Block(importlib.abc.MetaPathFinder):
      def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
          raise ImportError(f"blocked for the test: {{name}}")
        return None

    sys.meta_path.insert(0, Block())
    """)


def _run_blocked(code: str) -> subprocess.CompletedProcess:
  return subprocess.run(
    [sys.executable, "-c", _BLOCKED + textwrap.dedent(code)],
    cwd=ROOT,
    capture_output=True,
    text=True,
    timeout=300,
  )


def test_import_needs_only_the_core_dependencies():
  result = _run_blocked("""
      import sys
      import jax, jax.numpy as jnp, optax
      import jaxsched

      loaded = sorted({m.split(".")[0] for m in sys.modules} & set(BLOCKED))
      assert not loaded, loaded
      sched = jaxsched.warmup_cosine(1e-3, warmup_steps=10, total_steps=100)
      values = jax.jit(sched)(jnp.arange(100))
      assert abs(float(values[10]) - 1e-3) < 1e-9, values[10]
      tx = optax.chain(optax.adam(sched), jaxsched.reduce_on_plateau())
      tx.init(jnp.zeros(3))
      print(len(jaxsched.catalog()), jaxsched.from_config({"type": "constant", "value": 0.1})(0))
      """)
  assert result.returncode == 0, result.stderr[-3000:]


@pytest.mark.parametrize(
  "call",
  [
    "jaxsched.plot(jaxsched.constant(0.1), 10, 'lr.png')",
    "jaxsched.load_config('peak_value: 1e-3')",
    "jaxsched.from_config('type: constant\\nvalue: 0.1')",
  ],
)
def test_optional_feature_names_its_extra(call):
  result = _run_blocked(f"""
      import jaxsched
      try:
        {call}
      except ImportError as e:
        print(e)
      else:
        raise SystemExit("no ImportError")
      """)
  assert result.returncode == 0, result.stderr[-3000:]
  assert "pip install 'jaxsched[cli]'" in result.stdout, result.stdout


def test_cli_plot_without_matplotlib_says_which_extra():
  result = _run_blocked("""
      from jaxsched.tools import _cli
      try:
        _cli.main(["plot", "constant", "--value", "0.1", "--steps", "10", "-o", "x.png"])
      except ImportError as e:
        print(e)
      """)
  assert "jaxsched[cli]" in result.stdout + result.stderr, result.stdout + result.stderr
