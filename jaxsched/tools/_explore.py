"""``jaxsched explore``: a local page to design and compare schedules.

A JSON API on the standard library's ``http.server``, bound to 127.0.0.1 only,
and the static page in ``explore/`` (HTML, plain JavaScript and CSS, nothing
fetched from the network). Every value the page draws is computed here by
jaxsched; the page only draws it.

* ``GET /api/schedules``: every schedule of ``jaxsched.catalog()`` with its
  arguments (kind, default, allowed choices), an example config (the
  registry entry's ``example``), the number of steps to show and its
  ``equivalent``.
* ``POST /api/curve`` ``{"config": {"type": NAME, ...}, "steps": N}``: the
  schedule at ``t = 0 .. N - 1``, at most :data:`MAX_POINTS` of them (the
  smallest and largest value of each stretch, exact values at those steps).
* ``POST /api/sweep`` ``{"config": ..., "steps": N, "arg": NAME, "values":
  [...]}``: the family over one argument, one jitted ``jax.vmap`` through
  ``_config.resolve_config(config).build(**{arg: value})``.
* ``POST /api/code`` ``{"config": ...}``: the Python line that builds it, its
  YAML for ``from_config`` and the reference it matches.

Requests are JSON checked field by field: only schedule names, numbers, the
choices a factory accepts, booleans, lists of numbers and nested configs pass;
nothing is evaluated. A bad request is HTTP 400 ``{"error": message}`` with
the library's own ``ValueError`` message where the library rejected a value.
"""

import collections.abc
import functools
import http.server
import inspect
import json
import math
import pathlib
import re
import sys
import threading
import traceback
import typing
import webbrowser
from typing import Any, Callable, Optional

import jax
import jax.numpy as jnp
import numpy as np

from jaxsched import _catalog
from jaxsched import _config

HOST = "127.0.0.1"  # loopback only: the page is for the person at this machine
STATIC = pathlib.Path(__file__).resolve().parent / "explore"
_FILES = {
  "/": ("index.html", "text/html; charset=utf-8"),
  "/index.html": ("index.html", "text/html; charset=utf-8"),
  "/explore.js": ("explore.js", "text/javascript; charset=utf-8"),
  "/explore.css": ("explore.css", "text/css; charset=utf-8"),
}

MAX_STEPS = 1_000_000  # steps of one curve
MAX_POINTS = 2_000  # points returned per curve
MAX_SWEEP = 64  # curves of one family
MAX_EVALUATIONS = 2**24  # values x steps of one family, evaluated in one call
MAX_BODY = 64 * 1024  # bytes of one request
MAX_LIST = 1_000  # numbers in one list argument
MAX_DEPTH = 3  # schedules nested inside schedules
MAX_PARTS = 16  # schedules in one list argument (sequential, chained)

# Argument kinds, from the factory's signature.
NUMBER = "number"  # a real number
STEPS = "steps"  # a whole number of steps (annotated ``int | ArrayLike``)
CHOICE = "choice"  # one of the strings the factory accepts
BOOL = "bool"
LIST = "list"  # a list of numbers (or, where the factory takes it, one number)
SCHEDULE = "schedule"  # a nested schedule config
SCHEDULES = "schedules"  # a list of nested schedule configs
SWEEPABLE = (NUMBER, STEPS)

# The message of a factory's check_choice: "fn: name='x' must be one of 'a', 'b'".
_CHOICES = re.compile(r"must be one of (.*)$")
# What a library message is about: "fn: name=value ..." or "... needs keyword 'name'".
_ABOUT = re.compile(r"^(\w+): (\w+)=")
_NEEDS = re.compile(r"type '(\w+)' needs keywords? '(\w+)'")
_PROBE = "\x00not-a-choice"


class RequestError(ValueError):
  """A request the API refuses: HTTP 400 with ``{"error": message}``."""

  def __init__(self, message: str, schedule: Optional[str] = None, param: Optional[str] = None):
    super().__init__(message)
    self.schedule = schedule
    self.param = param


def _entries() -> dict:
  return {e.name: e for e in _catalog.catalog()}


def _params(factory: Callable) -> list:
  """The arguments a user sets: no ``**kwargs`` and no deprecated old names."""
  deprecated = getattr(factory, "deprecated_keywords", {})
  return [
    p
    for p in inspect.signature(factory).parameters.values()
    if p.kind != p.VAR_KEYWORD and p.name not in deprecated
  ]


def _is_sequence(annotation: Any) -> bool:
  sequences = (list, tuple, collections.abc.Sequence)
  if typing.get_origin(annotation) in sequences:
    return True
  return any(typing.get_origin(a) in sequences for a in typing.get_args(annotation))


def _kind(entry: Any, param: inspect.Parameter) -> str:
  if param.name in entry.nested:
    many = param.kind == param.VAR_POSITIONAL or _is_sequence(param.annotation)
    return SCHEDULES if many else SCHEDULE
  if param.annotation is str or isinstance(param.default, str):
    return CHOICE
  if param.annotation is bool or isinstance(param.default, bool):
    return BOOL
  if _is_sequence(param.annotation):
    return LIST
  args = typing.get_args(param.annotation)
  if param.annotation is int or (args and args[0] is int):
    return STEPS
  return NUMBER


def _example(entry: Any) -> dict:
  """The registry's example of the schedule, as a ``{"type": NAME, ...}`` config."""
  return {"type": entry.name, **entry.example}


def _default_steps(entry: Any, config: dict) -> int:
  """Steps to show: a little past ``total_steps``, else three times the longest duration.

  Durations are the arguments counted in steps (defaults included); a schedule
  made of schedules also shows each part's own span after its longest duration.
  """
  total = config.get("total_steps")
  if isinstance(total, (int, float)) and total > 0:
    return int(min(MAX_STEPS, max(20, math.ceil(1.1 * total))))
  params = _params(entry.factory)
  given = {p.name: p.default for p in params if p.default is not p.empty} | config
  spans, parts = [0.0], [0]
  for p in params:
    kind, value = _kind(entry, p), given.get(p.name)
    if kind in (STEPS, LIST) or p.name.endswith("_steps"):  # stable_steps: an optional number
      numbers: list = value if isinstance(value, list) else [value]
      spans += [float(v) for v in numbers if _is_number(v)]
    elif kind in (SCHEDULE, SCHEDULES) and value is not None:
      for part in value if isinstance(value, list) else [value]:
        parts.append(_default_steps(_entries()[part["type"]], part))
  longest = max(spans)
  return int(min(MAX_STEPS, max(100, 3 * longest, longest + max(parts))))


def _choices(entry: Any, name: str, example: dict) -> list:
  """The strings ``name`` accepts, read from the factory's own check of a wrong one."""
  config = dict(example)
  config[name] = _PROBE
  try:
    _config.resolve_config(config).build()
  except ValueError as e:
    match = _CHOICES.search(str(e))
    if match and f"{name}=" in str(e):
      return re.findall(r"'([^']*)'", match.group(1))
  raise RuntimeError(f"explore: cannot read the choices of {entry.name}'s {name} from its check")


@functools.lru_cache(maxsize=1)
def schedules() -> list:
  """``GET /api/schedules``: every schedule, its arguments, example and equivalent."""
  out = []
  for entry in _catalog.catalog():
    example = _example(entry)
    params = []
    for p in _params(entry.factory):
      kind = _kind(entry, p)
      param: dict = {"name": p.name, "kind": kind, "required": p.default is p.empty}
      if p.default is not p.empty:
        param["default"] = p.default
      if kind == CHOICE:
        param["choices"] = _choices(entry, p.name, example)
      params.append(param)
    summary = (inspect.getdoc(entry.factory) or "").splitlines()[0]
    summary = re.sub(r"(:\w+:)?``?~?([^`]*)``?", r"\2", summary)  # reST roles and literals as text
    out.append(
      {
        "name": entry.name,
        "equivalent": entry.equivalent,
        "summary": summary,
        "params": params,
        "example": example,
        "steps": _default_steps(entry, example),
      }
    )
  return out


# --- Requests: checked field by field ------------------------------------------------------


def _is_number(value: Any) -> bool:
  """A JSON number that is finite as a float (an integer of 400 digits is not)."""
  if isinstance(value, bool) or not isinstance(value, (int, float)):
    return False
  return abs(value) < 2**63 if isinstance(value, int) else math.isfinite(value)


def _schema(name: str) -> dict:
  return next(s for s in schedules() if s["name"] == name)


def check_config(config: Any, depth: int = 0) -> dict:
  """A ``{"type": NAME, ...}`` config with every value of the kind its argument takes."""
  if not isinstance(config, dict):
    raise RequestError(f"config must be an object {{'type': NAME, ...}}, got {config!r:.80}")
  name = config.get("type")
  entries = _entries()
  if not isinstance(name, str) or name not in entries:
    raise RequestError(
      f"unknown schedule {name!r:.80}; choose one of jaxsched.catalog(): {', '.join(entries)}",
      param="type",
    )
  if depth > MAX_DEPTH:
    raise RequestError(f"{name}: schedules nested more than {MAX_DEPTH} deep", name)
  params = {p["name"]: p for p in _schema(name)["params"]}
  out: dict = {"type": name}
  for key, value in config.items():
    if key == "type":
      continue
    if key not in params:
      raise RequestError(
        f"{name}: takes no argument {key!r:.80}; it takes {', '.join(params)}", name, None
      )
    out[key] = _check_value(name, params[key], value, depth)
  return out


def _check_value(name: str, param: dict, value: Any, depth: int) -> Any:
  key, kind = param["name"], param["kind"]

  def bad(what: str) -> RequestError:
    return RequestError(f"{name}: {key}={value!r:.80} must be {what}", name, key)

  if value is None:
    if param.get("default", ...) is None:
      return None
    raise bad("given" if param["required"] else "a value (it has no 'unset')")
  if kind in (NUMBER, STEPS):
    if not _is_number(value):
      raise bad("a finite number")
    return value
  if kind == BOOL:
    if not isinstance(value, bool):
      raise bad("true or false")
    return value
  if kind == CHOICE:
    if value not in param["choices"]:
      raise bad(f"one of {', '.join(map(repr, param['choices']))}")
    return value
  if kind == LIST:
    if _is_number(value):
      return value
    if not isinstance(value, list) or len(value) > MAX_LIST or not all(map(_is_number, value)):
      raise bad(f"a list of at most {MAX_LIST} finite numbers")
    return value
  if kind == SCHEDULE:
    return check_config(value, depth + 1)
  if not isinstance(value, list) or not 1 <= len(value) <= MAX_PARTS:
    raise bad(f"a list of 1 to {MAX_PARTS} schedule configs")
  return [check_config(v, depth + 1) for v in value]


def _check_steps(steps: Any) -> int:
  if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= MAX_STEPS:
    raise RequestError(f"steps={steps!r:.80} must be an integer in [1, {MAX_STEPS}]", param="steps")
  return steps


def _library_error(e: Exception) -> RequestError:
  """A library error as a 400, with the schedule and argument it names, if any."""
  message = str(e).splitlines()[0] if str(e) else type(e).__name__
  about = _ABOUT.match(message)
  if about:
    return RequestError(message, about.group(1), about.group(2))
  needs = _NEEDS.search(message)
  if needs:
    return RequestError(message, needs.group(1), needs.group(2))
  return RequestError(message)


def build(config: dict) -> Callable:
  """The schedule of a checked config, through ``jaxsched.resolve_config``."""
  try:
    return _config.resolve_config(config).build()
  except ValueError as e:
    raise _library_error(e) from None


def pick(values: np.ndarray, max_points: int = MAX_POINTS) -> np.ndarray:
  """At most ``max_points`` steps of a curve: every step, or each stretch's lowest and highest.

  The curve is cut into ``(max_points - 2) // 2`` stretches of equal length;
  the steps where each one is lowest and highest, and the first and last step,
  keep every jump and peak of the drawn line.
  """
  n = len(values)
  if n <= max_points:
    return np.arange(n)
  stretches = (max_points - 2) // 2
  size = -(-n // stretches)
  padded = np.concatenate([values, np.full(stretches * size - n, values[-1])])
  rows = padded.reshape(stretches, size)
  start = np.arange(stretches) * size
  chosen = np.concatenate([[0, n - 1], start + rows.argmin(1), start + rows.argmax(1)])
  return np.unique(np.minimum(chosen, n - 1))


def _points(name: str, values: np.ndarray) -> dict:
  """The chosen steps of one curve and its values there; a value that overflowed is an error."""
  bad = np.flatnonzero(~np.isfinite(values))
  if bad.size:
    raise RequestError(
      f"{name}: the schedule is {values[bad[0]]} at step {bad[0]} in "
      f"{values.dtype} (a value too large for it?)",
      name,
    )
  steps = pick(values)
  return {"steps": steps.tolist(), "values": [float(v) for v in values[steps]]}


def _lr_areas() -> Optional[Callable]:
  """``jaxsched.lr_areas``, where this version of the library has it, else None.

  Looked up on the loaded package by its public name: a tools module does not
  import the package above it.
  """
  return getattr(sys.modules.get("jaxsched"), "lr_areas", None)


def _areas(schedule: Callable, steps: int) -> Optional[dict]:
  """The final S1/S2 areas of ``jaxsched.lr_areas(schedule, steps)``, or None without it."""
  lr_areas = _lr_areas()
  if lr_areas is None:
    return None
  result = lr_areas(schedule, steps)
  if hasattr(result, "_asdict"):
    items = result._asdict().items()
  elif isinstance(result, dict):
    items = result.items()
  else:
    items = zip(("S1", "S2"), result)
  return {str(k): float(np.asarray(v).reshape(-1)[-1]) for k, v in items}


def curve(request: dict) -> dict:
  """``POST /api/curve``."""
  config = check_config(request.get("config"))
  steps = _check_steps(request.get("steps"))
  schedule = build(config)
  values = np.asarray(jax.jit(schedule)(jnp.arange(steps, dtype=jnp.int32)))
  out = {"config": config, "total": steps, **_points(config["type"], values)}
  try:
    areas = _areas(schedule, steps)
  except (TypeError, ValueError) as e:
    out["areas_error"] = str(e)
  else:
    if areas is not None:
      out["areas"] = areas
  return out


def sweep(request: dict) -> dict:
  """``POST /api/sweep``: one jitted, vmapped call over the swept argument's values."""
  config = check_config(request.get("config"))
  steps = _check_steps(request.get("steps"))
  name, arg, values = config["type"], request.get("arg"), request.get("values")
  params = {p["name"]: p for p in _schema(name)["params"]}
  if not isinstance(arg, str) or arg not in params or params[arg]["kind"] not in SWEEPABLE:
    numeric = [p for p, v in params.items() if v["kind"] in SWEEPABLE]
    raise RequestError(
      f"{name}: cannot sweep {arg!r:.80}; the numeric arguments are {', '.join(numeric)}", name
    )
  if not isinstance(values, list) or not 1 <= len(values) <= MAX_SWEEP:
    raise RequestError(f"values must be a list of 1 to {MAX_SWEEP} numbers", name, arg)
  for value in values:
    _check_value(name, params[arg], value, 0)
  if len(values) * steps > MAX_EVALUATIONS:
    raise RequestError(
      f"{len(values)} values x {steps} steps = {len(values) * steps} evaluations; at most "
      f"{MAX_EVALUATIONS} in one family (fewer values or steps)",
      param="steps",
    )
  try:
    resolved = _config.resolve_config(config)
    for value in values:  # the factory checks each concrete value (traced ones pass unchecked)
      resolved.build(**{arg: value})
  except ValueError as e:
    raise _library_error(e) from None
  dtype = (
    jnp.int32
    if params[arg]["kind"] == STEPS and all(float(v).is_integer() for v in values)
    else jnp.float32
  )
  t = jnp.arange(steps, dtype=jnp.int32)
  try:
    family = jax.jit(jax.vmap(lambda v: resolved.build(**{arg: v})(t)))(jnp.asarray(values, dtype))
  except (jax.errors.JAXTypeError, TypeError) as e:
    first = str(e).splitlines()[0]
    raise RequestError(
      f"{name}: {arg} cannot be swept with jax.vmap ({first})", name, arg
    ) from None
  family = np.asarray(family)
  return {
    "config": config,
    "arg": arg,
    "total": steps,
    "curves": [{"value": v, **_points(name, row)} for v, row in zip(values, family)],
  }


def _python_value(value: Any) -> str:
  if isinstance(value, dict):
    return python_line(value)
  if isinstance(value, list):
    return "[" + ", ".join(_python_value(v) for v in value) + "]"
  return repr(value)


def _given(config: dict) -> dict:
  """The config's arguments that differ from their defaults (required ones always)."""
  params = {p["name"]: p for p in _schema(config["type"])["params"]}
  return {
    k: v
    for k, v in config.items()
    if k != "type" and (params[k]["required"] or params[k].get("default", ...) != v)
  }


def python_line(config: dict) -> str:
  """``jaxsched.NAME(...)`` for a checked config (nested configs as nested calls)."""
  entry = _entries()[config["type"]]
  given = _given(config)
  signature = list(inspect.signature(entry.factory).parameters.values())
  parts = []
  if any(p.kind == p.VAR_POSITIONAL for p in signature):  # chained(init_value, *factors)
    for p in signature:
      if p.kind == p.POSITIONAL_OR_KEYWORD:
        parts.append(_python_value(config.get(p.name, p.default)))
        given.pop(p.name, None)
      elif p.kind == p.VAR_POSITIONAL:
        parts += [_python_value(v) for v in given.pop(p.name, [])]
  parts += [f"{k}={_python_value(v)}" for k, v in given.items()]
  return f"jaxsched.{entry.name}({', '.join(parts)})"


def _short(value: Any) -> Any:
  """A checked config without the arguments left at their defaults, nested ones too."""
  if isinstance(value, list):
    return [_short(v) for v in value]
  if not isinstance(value, dict):
    return value
  return {"type": value["type"], **{k: _short(v) for k, v in _given(value).items()}}


def yaml_text(config: dict) -> str:
  """The config as YAML for ``jaxsched.from_config`` (JSON, which YAML reads, without PyYAML)."""
  short = _short(config)
  try:
    import yaml  # pylint: disable=import-outside-toplevel
  except ImportError:
    return json.dumps(short, indent=2) + "\n"

  class Dumper(yaml.SafeDumper):
    """Block mappings; lists of numbers on one line."""

  def represent_list(dumper, items):
    flat = not any(isinstance(x, (dict, list)) for x in items)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", items, flow_style=flat)

  Dumper.add_representer(list, represent_list)
  return yaml.dump(short, Dumper=Dumper, sort_keys=False, default_flow_style=False)


def code(request: dict) -> dict:
  """``POST /api/code``."""
  config = check_config(request.get("config"))
  build(config)  # the same errors as the curve
  return {
    "python": python_line(config),
    "yaml": yaml_text(config),
    "equivalent": _entries()[config["type"]].equivalent,
  }


# --- The server ------------------------------------------------------------------------------

_ROUTES: dict = {"/api/curve": curve, "/api/sweep": sweep, "/api/code": code}


class _Handler(http.server.BaseHTTPRequestHandler):
  server_version = "jaxsched-explore"
  lock = threading.Lock()  # one computation at a time

  def log_message(self, format, *args):  # noqa: A002  (quiet: the terminal shows the address only)
    del format, args

  def _send(self, status: int, body: bytes, content_type: str) -> None:
    self.send_response(status)
    self.send_header("Content-Type", content_type)
    self.send_header("Content-Length", str(len(body)))
    self.send_header("Cache-Control", "no-store")
    self.send_header("X-Content-Type-Options", "nosniff")
    self.send_header(
      "Content-Security-Policy",
      "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; object-src 'none'",
    )
    self.end_headers()
    self.wfile.write(body)

  def _json(self, status: int, payload: Any) -> None:
    self._send(status, json.dumps(payload).encode(), "application/json")

  def _error(self, e: RequestError, status: int = 400) -> None:
    self._json(status, {"error": str(e), "schedule": e.schedule, "param": e.param})

  def _host_ok(self) -> bool:
    """Refuses other host names (a page elsewhere cannot reach the API through DNS)."""
    host = (self.headers.get("Host") or "").rsplit(":", 1)[0]
    return host in (HOST, "localhost")

  def do_GET(self):  # noqa: N802  (http.server's name)
    if not self._host_ok():
      return self._error(RequestError("unexpected Host header"), 403)
    path = self.path.split("?", 1)[0]
    if path == "/api/schedules":
      payload = {
        "schedules": schedules(),
        "areas": _lr_areas() is not None,
        "limits": {"steps": MAX_STEPS, "points": MAX_POINTS, "sweep": MAX_SWEEP},
      }
      return self._json(200, payload)
    if path in _FILES:
      filename, content_type = _FILES[path]
      return self._send(200, (STATIC / filename).read_bytes(), content_type)
    return self._error(RequestError(f"no such page: {path[:80]}"), 404)

  def do_POST(self):  # noqa: N802
    if not self._host_ok():
      return self._error(RequestError("unexpected Host header"), 403)
    route = _ROUTES.get(self.path)
    if route is None:
      return self._error(RequestError(f"no such endpoint: {self.path[:80]}"), 404)
    try:
      length = int(self.headers.get("Content-Length") or -1)
    except ValueError:
      length = -1
    if not 0 <= length <= MAX_BODY:
      self.close_connection = True
      return self._error(
        RequestError(f"a request body of 0 to {MAX_BODY} bytes, with its Content-Length")
      )
    body = self.rfile.read(length)
    if not (self.headers.get("Content-Type") or "").startswith("application/json"):
      return self._error(RequestError("requests are JSON (Content-Type: application/json)"))
    try:
      request = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as e:
      return self._error(RequestError(f"the body is not JSON: {e}"))
    if not isinstance(request, dict):
      return self._error(RequestError("the body must be a JSON object"))
    try:
      with self.lock:
        payload = route(request)
    except RequestError as e:
      return self._error(e)
    except ValueError as e:  # a factory's check that ran late (e.g. inside the schedule)
      return self._error(_library_error(e))
    except Exception as e:  # pylint: disable=broad-exception-caught
      traceback.print_exc()  # a fault of this server: the terminal gets the trace, the page a 500
      return self._json(500, {"error": f"internal error: {type(e).__name__}: {e}"})
    return self._json(200, payload)


def make_server(port: int = 0) -> http.server.ThreadingHTTPServer:
  """The server on 127.0.0.1:``port`` (0: a free port), not yet serving."""
  schedules()  # every example and choice read before the first request
  server = http.server.ThreadingHTTPServer((HOST, port), _Handler)
  server.daemon_threads = True
  return server


def url(server: http.server.HTTPServer) -> str:
  return f"http://{HOST}:{server.server_address[1]}/"


def serve(server: http.server.HTTPServer, open_browser: bool) -> None:
  """Serves the page until interrupted; prints its address, opens a browser if asked and found."""
  print(f"jaxsched explore: serving on {url(server)} (Ctrl-C to stop)", flush=True)
  if open_browser:
    try:
      webbrowser.get()
    except webbrowser.Error:
      pass
    else:
      webbrowser.open(url(server))
  try:
    server.serve_forever()
  except KeyboardInterrupt:
    pass
  finally:
    server.server_close()
