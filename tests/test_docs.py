"""The documentation: every public name on an API page, every guide's code runs as written, the
site builds and its gallery renders its formulas offline in a real browser."""

import importlib.util
import pathlib
import re

import pytest
from selenium.webdriver.common.by import By

import jaxsched

DOCS = pathlib.Path(__file__).resolve().parents[1] / "docs"
GUIDES = sorted((DOCS / "guides").glob("*.md"))


def _load(name: str):
  spec = importlib.util.spec_from_file_location(name, DOCS / f"{name}.py")
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def test_every_public_name_is_on_an_api_page():
  gen_api = _load("gen_api")
  gen_api.check_groups(jaxsched.__all__)  # raises naming the names that are not grouped


def test_every_schedule_has_a_gallery_example():
  gen_gallery = _load("gen_gallery")
  examples = gen_gallery.examples()
  missing = [e.name for e in jaxsched.catalog() if e.name not in examples]
  assert not missing, f"no registry example for {missing}"
  for entry in jaxsched.catalog():
    assert entry.equivalent
    assert gen_gallery.horizon(*examples[entry.name]) >= 1


def test_guides_exist():
  names = {p.stem for p in GUIDES}
  assert {"porting", "sweeps", "adaptive", "checkpointing", "resume", "lr_find", "studies"} <= names


@pytest.mark.parametrize(
  "guide", [g for g in GUIDES if "```python" in g.read_text()], ids=lambda p: p.stem
)
def test_guide_examples_run(guide, tmp_path, monkeypatch):
  """A guide's python blocks run in order in one namespace, as a reader would paste them."""
  monkeypatch.chdir(tmp_path)
  namespace: dict = {}
  blocks = re.findall(r"```python\n(.*?)```", guide.read_text(), flags=re.S)
  for index, block in enumerate(blocks):
    exec(compile(block, f"{guide.name} block {index}", "exec"), namespace)  # pylint: disable=exec-used


def test_site_builds_without_warnings(docs_site):
  """The site builds with warnings as errors: a broken docstring reference fails here."""
  result, site = docs_site
  assert result.returncode == 0, result.stderr[-4000:]
  gallery = (site / "gallery" / "index.html").read_text()
  for entry in jaxsched.catalog():  # one generated plot per schedule, shown on the gallery page
    assert (site / "_images" / f"{entry.name}.png").exists(), entry.name
    assert f"{entry.name}.png" in gallery, entry.name


def test_site_carries_its_own_mathjax(docs_site):
  """Formulas render without a network: MathJax is served from the site, not a CDN."""
  result, site = docs_site
  assert result.returncode == 0, result.stderr[-4000:]
  gallery = (site / "gallery" / "index.html").read_text()
  scripts = re.findall(r'<script[^>]*src="([^"]*)"', gallery)
  mathjax = [s for s in scripts if "mathjax" in s.lower()]
  assert mathjax == ["../_static/mathjax/tex-chtml.js"], scripts
  assert not [s for s in scripts if "://" in s], scripts
  assert (site / "_static" / "mathjax" / "tex-chtml.js").stat().st_size > 100_000
  assert list((site / "_static" / "mathjax" / "output" / "chtml" / "fonts").rglob("*.woff"))


def test_docs_gallery_renders_formulas_offline(browser, docs_site):
  result, site = docs_site
  assert result.returncode == 0, result.stderr[-4000:]
  browser.get((site / "gallery" / "index.html").as_uri())
  browser.set_script_timeout(30)
  typeset = browser.execute_async_script(
    "const done = arguments[arguments.length - 1];"
    "if (!window.MathJax || !MathJax.startup) { done('MathJax did not load'); return; }"
    "MathJax.startup.promise.then(() => done('ok'), (e) => done(String(e)));"
  )
  assert typeset == "ok"
  counts = browser.execute_script(
    "return [document.querySelectorAll('div.math').length,"
    " document.querySelectorAll('div.math mjx-container').length,"
    " document.querySelectorAll('mjx-merror').length]"
  )
  written = len(re.findall(r'<div class="math[ "]', (site / "gallery" / "index.html").read_text()))
  assert written >= 30 and counts == [written, written, 0], (written, counts)
  text = browser.find_element(By.TAG_NAME, "body").text
  for raw in ("\\[", "\\begin", "\\frac", "\\eta"):
    assert raw not in text, raw
  images = browser.execute_script(
    "return [...document.images].filter(i => i.complete && i.naturalWidth > 0)"
    ".map(i => i.getAttribute('src').split('/').pop())"
  )
  assert {f"{e.name}.png" for e in jaxsched.catalog()} <= set(images)
