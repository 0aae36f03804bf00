"""The schedule gallery, drawn at build time: one plot per schedule of ``jaxsched.catalog()``.

Each schedule is built with the first example of the shared test matrix
(``tests/cases.py``: representative, valid arguments for every public
schedule), drawn with matplotlib, and shown with its formula (the ``.. math::``
block of its docstring, else its summary line) and the reference it matches
(the catalog's ``equivalent``).
"""

import inspect
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]

# Arguments that are durations in steps: the plot spans a few of the longest one
# when the example has no total_steps.
_DURATIONS = (
  "warmup_steps",
  "decay_steps",
  "stable_steps",
  "t_max",
  "t_0",
  "step_size",
  "step_size_up",
  "step_size_down",
  "transition_steps",
  "milestones",
  "boundaries",
  "timescale",
)


def _cases():
  if str(ROOT / "tests") not in sys.path:
    sys.path.insert(0, str(ROOT / "tests"))
  import cases  # pylint: disable=import-outside-toplevel

  return cases


def examples() -> dict:
  """``name -> (factory, kwargs)``: the first case of each schedule in the test matrix."""
  cases = _cases()
  out = {}
  for case in cases.CASES:
    out.setdefault(cases.factory_name(case), (case[1], case[2]))
  return out


def horizon(factory, kwargs: dict) -> int:
  """How many steps to draw: past ``total_steps``, or three times the longest duration."""
  if kwargs.get("total_steps") is not None:
    return int(1.15 * int(kwargs["total_steps"]))
  try:
    bound = inspect.signature(factory).bind_partial(**kwargs)
    bound.apply_defaults()
    arguments = bound.arguments
  except (TypeError, ValueError):
    arguments = kwargs
  spans = []
  for key in _DURATIONS:
    value = arguments.get(key)
    if value is None or isinstance(value, str):
      continue
    try:
      spans.append(max(float(v) for v in (value if hasattr(value, "__len__") else [value])))
    except (TypeError, ValueError):
      continue
  return int(max(200, 3 * max(spans, default=0)))


def formula(factory) -> str:
  """The docstring's first ``.. math::`` block as reST, or ``""``."""
  doc = inspect.cleandoc(factory.__doc__ or "")
  lines = doc.splitlines()
  for i, line in enumerate(lines):
    match = re.match(r"^(\s*)\.\. math::\s*(.*)$", line)
    if not match:
      continue
    indent = len(match.group(1))
    body = [match.group(2)] if match.group(2) else []
    for following in lines[i + 1 :]:
      if following.strip() and len(following) - len(following.lstrip()) <= indent:
        break
      body.append(following.strip())
    body = [b for b in body if b] or []
    return ".. math::\n\n" + "\n".join(f"   {b}" for b in body) if body else ""
  return ""


def _call(name: str, kwargs: dict) -> str:
  def show(value):
    if hasattr(value, "tolist"):
      return repr(value.tolist())
    if callable(value):
      return "..."
    if isinstance(value, (list, tuple)) and any(callable(v) for v in value):
      return "[...]"
    return repr(value)

  return f"{name}({', '.join(f'{k}={show(v)}' for k, v in kwargs.items())})"


def write_gallery(outdir: pathlib.Path) -> list:
  """Draws every schedule into ``outdir`` and writes ``outdir/index.rst``; returns the paths."""
  import jax  # pylint: disable=import-outside-toplevel
  import jax.numpy as jnp  # pylint: disable=import-outside-toplevel
  import matplotlib  # pylint: disable=import-outside-toplevel

  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel

  import jaxsched  # pylint: disable=import-outside-toplevel

  outdir.mkdir(parents=True, exist_ok=True)
  known = examples()
  missing = [e.name for e in jaxsched.catalog() if e.name not in known]
  if missing:
    raise ValueError(
      f"docs/gen_gallery.py: no example for {missing}: add a case to "
      f"tests/cases.py (the gallery draws each schedule's first case)"
    )
  text = [
    "Gallery",
    "=======",
    "",
    "Every schedule of :func:`jaxsched.catalog`, drawn at build time with the arguments "
    "shown (``sched(t)`` for ``t = 0 .. N - 1``), with its formula and the PyTorch, "
    "transformers or timm schedule it matches.",
    "",
    ".. currentmodule:: jaxsched",
    "",
  ]
  written = []
  for entry in jaxsched.catalog():
    factory, kwargs = known[entry.name]
    schedule = factory(**kwargs)
    steps = horizon(factory, kwargs)
    values = jax.jit(schedule)(jnp.arange(steps))
    fig, ax = plt.subplots(figsize=(6.4, 2.6))
    ax.plot(range(steps), values, linewidth=1.6)
    ax.set_xlabel("step")
    ax.set_ylabel("value")
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    png = outdir / f"{entry.name}.png"
    fig.savefig(png, dpi=80)
    plt.close(fig)
    written.append(png)
    summary = inspect.getdoc(entry.factory).splitlines()[0]
    math = formula(entry.factory)
    text += [
      entry.name,
      "-" * len(entry.name),
      "",
      f":func:`{entry.name}`: {summary}",
      "",
      f"**Matches:** ``{entry.equivalent}``",
      "",
    ]
    if math:
      text += [math, ""]
    text += [
      ".. code-block:: python",
      "",
      f"   jaxsched.{_call(entry.name, kwargs)}",
      "",
      f".. image:: {png.name}",
      f"   :alt: {entry.name} over {steps} steps",
      "",
    ]
  index = outdir / "index.rst"
  index.write_text("\n".join(text))
  return [index, *written]
