"""Sphinx configuration: ``make docs`` builds the site into ``site/`` with warnings as errors.

The API pages (``api/``, from ``gen_api.GROUPS``) and the gallery
(``gallery/``, plots drawn with matplotlib) are generated here at every build;
neither is checked in.

Formulas are typeset in the browser by MathJax 3 served from the site itself
(``site/_static/mathjax``, from the ``sphinx-mathjax-offline`` wheel in the
``docs`` extra), so the pages read the same without a network. Rendering at
build time was the alternative: ``imgmath`` needs a LaTeX installation, KaTeX's
server-side rendering needs node, and matplotlib's mathtext has no ``cases``
environment, which most schedules' formulas use.
"""

import pathlib
import sys

DOCS = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS.parent))
sys.path.insert(0, str(DOCS))

import gen_api  # noqa: E402
import gen_gallery  # noqa: E402

import jaxsched  # noqa: E402

project = "jaxsched"
author = "the jaxsched authors"
copyright = "the jaxsched authors"  # noqa: A001
release = version = jaxsched.__version__

extensions = [
  "sphinx.ext.autodoc",
  "sphinx.ext.napoleon",
  "sphinx.ext.mathjax",
  "sphinx-mathjax-offline",  # sets mathjax_path to the copy it puts in _static
  "myst_parser",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["README.md"]
myst_heading_anchors = 3

# Docstrings are Google style with reST inside (roles, ``.. math::``).
napoleon_google_docstring = True
napoleon_numpy_docstring = False
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
add_module_names = False

# A reference to a jaxsched name that does not exist fails the build; names from other
# packages (types in signatures) are not documented here and stay plain text.
nitpicky = True
nitpick_ignore_regex = [
  (
    r"py:.*",
    r"(optax|jax|jaxlib|chex|numpy|np|jnp|torch|transformers|flax|pathlib|os|typing"
    r"|collections|types|builtins)(\..*)?",
  ),
  (
    r"py:.*",
    r"(Any|Callable|Mapping|Sequence|Optional|Union|Tuple|List|Dict|Iterable"
    r"|NamedTuple|ArrayLike|Array|ArrayTree|PyTree|Schedule|Config|Schedules|Multipliers"
    r"|GradientTransformation.*|ScalarOrSchedule|Numeric)",
  ),
]

html_theme = "furo"
html_title = f"jaxsched {release}"
html_static_path: list = []


def _generate(app) -> None:
  gen_api.write_api(DOCS / "api")
  gen_gallery.write_gallery(DOCS / "gallery")


def setup(app):
  app.connect("builder-inited", _generate)
