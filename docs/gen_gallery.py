"""The schedule gallery, drawn at build time: one plot per schedule of ``jaxsched.catalog()``.

Each schedule is built from its registry entry's ``example`` (representative,
valid arguments as a config, which the tests also run as the schedule's first
case) with ``jaxsched.from_config``, drawn with matplotlib, and shown with its
formula (the ``.. math::`` block of its docstring, else its summary line) and
the reference it matches (the catalog's ``equivalent``).
"""

import inspect
import pathlib
import re

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


def examples() -> dict:
  """``name -> (factory, example)``: each schedule's registry example, a config mapping."""
  import jaxsched  # pylint: disable=import-outside-toplevel

  return {entry.name: (entry.factory, dict(entry.example)) for entry in jaxsched.catalog()}


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
  """``jaxsched.name(...)`` as Python, nested ``{"type": ...}`` configs written as calls."""
  import jaxsched  # pylint: disable=import-outside-toplevel

  def show(value):
    if isinstance(value, dict) and "type" in value:
      return _call(value["type"], {k: v for k, v in value.items() if k != "type"})
    if isinstance(value, list):
      return f"[{', '.join(show(v) for v in value)}]"
    return repr(value)

  params = inspect.signature(jaxsched.registry()[name].factory).parameters.values()
  star = next((p.name for p in params if p.kind == p.VAR_POSITIONAL), None)
  args, rest = [], dict(kwargs)
  if star is not None:  # the parameters before *args are passed positionally
    for p in params:
      if p.kind == p.POSITIONAL_OR_KEYWORD and p.name in rest:
        args.append(show(rest.pop(p.name)))
    args += [show(v) for v in rest.pop(star, [])]
  args += [f"{k}={show(v)}" for k, v in rest.items()]
  return f"jaxsched.{name}({', '.join(args)})"


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
  missing = [name for name, (_, example) in known.items() if not example]
  if missing:
    raise ValueError(
      f"docs/gen_gallery.py: no example for {missing}: give their registry entries "
      "(jaxsched/_catalog.py) an example"
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
    schedule = jaxsched.from_config({"type": entry.name, **kwargs})
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
      f"   {_call(entry.name, kwargs)}",
      "",
      f".. image:: {png.name}",
      f"   :alt: {entry.name} over {steps} steps",
      "",
    ]
  index = outdir / "index.rst"
  index.write_text("\n".join(text))
  return [index, *written]
