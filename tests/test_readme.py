"""Every Python example in README.md runs as written."""

import pathlib
import re

import pytest

import jaxsched

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_examples():
  assert len(BLOCKS) >= 4


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_example_runs(index):
  exec(compile(BLOCKS[index], f"README.md block {index}", "exec"), {})  # pylint: disable=exec-used


def test_every_registered_factory_is_in_a_readme_table():
  """Each schedule and transformation has a README table row: its signature and counterpart."""
  rows = [line for line in README.read_text().splitlines() if line.startswith("| `")]
  for name, entry in jaxsched.registry().items():
    if entry.kind == "layerwise":  # shown in the layer-wise section's example instead
      assert f"jaxsched.{name}(" in README.read_text(), name
      continue
    row = next((r for r in rows if r.startswith(f"| `{name}(")), None)
    assert row is not None, f"README.md: no table row for {name}"
    assert row.count("|") >= 4 and row.split("|")[2].strip(), f"{name}: no counterpart"
