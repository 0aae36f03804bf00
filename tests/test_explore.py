"""`jaxsched explore`'s JSON API: values equal to jaxsched's own, the library's errors, the caps."""

import http.client
import inspect
import json
import re
import subprocess
import sys
import threading

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxsched
from jaxsched import _common
from jaxsched.tools import _explore


@pytest.fixture(scope="module")
def server():
  srv = _explore.make_server(0)
  thread = threading.Thread(target=srv.serve_forever, daemon=True)
  thread.start()
  yield srv
  srv.shutdown()
  srv.server_close()


def request(server, method, path, body=None, headers=None, raw=None):
  """``(status, decoded JSON or bytes)`` of one request to the server."""
  connection = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=60)
  data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
  sent = {"Content-Type": "application/json"} if data is not None else {}
  connection.request(method, path, body=data, headers={**sent, **(headers or {})})
  response = connection.getresponse()
  payload = response.read()
  connection.close()
  if response.getheader("Content-Type", "").startswith("application/json"):
    return response.status, json.loads(payload)
  return response.status, payload


def post(server, path, body):
  return request(server, "POST", path, body)


def values_at(schedule, steps):
  """The schedule's values at ``steps``, jitted, computed here with jaxsched."""
  return np.asarray(jax.jit(schedule)(jnp.asarray(steps, jnp.int32)))


def library_error(factory, **kwargs) -> str:
  with pytest.raises(ValueError) as info:
    factory(**kwargs)
  return str(info.value)


WARMUP_COSINE = {
  "type": "warmup_cosine",
  "peak_value": 3e-4,
  "warmup_steps": 100,
  "total_steps": 1000,
}


def test_listens_on_loopback_only(server):
  assert server.server_address[0] == "127.0.0.1"
  status, payload = request(server, "GET", "/api/schedules", headers={"Host": "example.com"})
  assert status == 403, payload


def test_schedules_lists_the_catalog_with_signatures(server):
  status, payload = request(server, "GET", "/api/schedules")
  assert status == 200
  schemas = payload["schedules"]
  assert [s["name"] for s in schemas] == [e.name for e in jaxsched.catalog()]
  assert payload["areas"] == hasattr(jaxsched, "lr_areas")
  for schema in schemas:
    entry = jaxsched.registry()[schema["name"]]
    assert schema["equivalent"] == entry.equivalent
    deprecated = getattr(entry.factory, "deprecated_keywords", {})
    signature = inspect.signature(entry.factory).parameters
    assert [p["name"] for p in schema["params"]] == [k for k in signature if k not in deprecated]
    for param in schema["params"]:
      default = signature[param["name"]].default
      assert param["required"] == (default is inspect.Parameter.empty)
      if not param["required"]:
        assert param["default"] == default
    # The example (the docstring's) builds, and the steps shown cover its total_steps.
    assert callable(jaxsched.from_config(schema["example"]))  # the factory's checks pass
    assert schema["steps"] >= schema["example"].get("total_steps", 1)


def test_choices_are_what_each_factory_accepts(server):
  """Each choice builds; the lists are the library's own tables."""

  def table(factory, name):  # a constant of the module that defines the factory
    return getattr(inspect.getmodule(factory), name)

  tables = {
    "warmup_kind": {_common.WARMUP_KINDS, table(jaxsched.untuned_warmup, "UNTUNED_WARMUP_KINDS")},
    "decay_kind": {_common.DECAY_KINDS},
    "mode": {table(jaxsched.cyclic, "CYCLIC_MODES")},
    "anneal_strategy": {table(jaxsched.one_cycle, "ANNEAL_STRATEGIES")},
    "noise_type": {table(jaxsched.with_noise, "NOISE_TYPES")},
    "unit": {table(jaxsched.in_units, "UNITS")},
    "stable_fn": {table(jaxsched.timm_wsd, "WSD_STABLE_FNS")},
    "decay_fn": {table(jaxsched.timm_wsd, "WSD_DECAY_FNS")},
  }
  seen = 0
  for schema in _explore.schedules():
    for param in schema["params"]:
      if param["kind"] != "choice":
        continue
      seen += 1
      assert tuple(param["choices"]) in tables[param["name"]], (schema["name"], param)
      for choice in param["choices"]:
        config = {**schema["example"], param["name"]: choice}
        names = [p["name"] for p in schema["params"]]
        if choice == "exponential":  # an exponential warmup starts above 0
          config.update({k: 0.1 for k in ("init_value", "min_lr_ratio") if k in names})
        if choice == "tokens":  # counting tokens needs the tokens per sample
          config["seq_len"] = 128
        jaxsched.from_config(config)
  assert seen >= 10


def test_curve_is_the_schedule_at_every_step(server):
  status, payload = post(server, "/api/curve", {"config": WARMUP_COSINE, "steps": 1200})
  assert status == 200, payload
  assert payload["steps"] == list(range(1200))
  expected = values_at(
    jaxsched.warmup_cosine(3e-4, warmup_steps=100, total_steps=1000), range(1200)
  )
  np.testing.assert_array_equal(np.asarray(payload["values"], np.float32), expected)


@pytest.mark.parametrize(
  "config",
  [
    {"type": "step_decay", "init_value": 0.1, "step_size": 7, "gamma": 0.5},
    {"type": "cyclic", "base_lr": 1e-4, "max_lr": 1e-2, "step_size_up": 33, "mode": "triangular2"},
  ],
  ids=lambda c: c["type"],
)
def test_long_curves_are_downsampled_to_exact_values(server, config):
  steps = 200_000
  status, payload = post(server, "/api/curve", {"config": config, "steps": steps})
  assert status == 200, payload
  chosen = np.asarray(payload["steps"])
  assert len(chosen) <= _explore.MAX_POINTS
  assert chosen[0] == 0 and chosen[-1] == steps - 1 and np.all(np.diff(chosen) > 0)
  schedule = jaxsched.from_config(config)
  full = values_at(schedule, np.arange(steps))
  np.testing.assert_array_equal(np.asarray(payload["values"], np.float32), full[chosen])
  # Each stretch's lowest and highest value is kept: the drawn range is the curve's range.
  assert min(payload["values"]) == full.min() and max(payload["values"]) == full.max()


def test_nested_and_variadic_configs(server):
  config = {
    "type": "chained",
    "init_value": 0.1,
    "factor_schedules": [
      {"type": "constant_factor", "init_value": 1.0, "factor": 0.5, "total_steps": 2},
      {"type": "exponential_decay", "init_value": 1.0, "gamma": 0.9},
    ],
  }
  status, payload = post(server, "/api/curve", {"config": config, "steps": 50})
  assert status == 200, payload
  expected = jaxsched.chained(
    0.1, jaxsched.constant_factor(1.0, 0.5, 2), jaxsched.exponential_decay(1.0, gamma=0.9)
  )
  np.testing.assert_array_equal(
    np.asarray(payload["values"], np.float32), values_at(expected, range(50))
  )


def test_sweep_is_one_vmap_over_the_argument(server):
  values = [10, 50, 100, 400]
  body = {"config": WARMUP_COSINE, "steps": 1000, "arg": "warmup_steps", "values": values}
  status, payload = post(server, "/api/sweep", body)
  assert status == 200, payload
  assert [c["value"] for c in payload["curves"]] == values
  for value, curve in zip(values, payload["curves"]):
    schedule = jaxsched.warmup_cosine(3e-4, warmup_steps=value, total_steps=1000)
    np.testing.assert_allclose(curve["values"], values_at(schedule, curve["steps"]), rtol=1e-6)
  body = {"config": WARMUP_COSINE, "steps": 300, "arg": "peak_value", "values": [1e-4, 1e-3]}
  status, payload = post(server, "/api/sweep", body)
  assert status == 200, payload
  for value, curve in zip([1e-4, 1e-3], payload["curves"]):
    schedule = jaxsched.warmup_cosine(value, warmup_steps=100, total_steps=1000)
    np.testing.assert_allclose(curve["values"], values_at(schedule, curve["steps"]), rtol=1e-6)


def test_sweep_reports_the_librarys_message_for_a_bad_value(server):
  body = {"config": WARMUP_COSINE, "steps": 100, "arg": "warmup_steps", "values": [10, 2000]}
  status, payload = post(server, "/api/sweep", body)
  assert status == 400
  assert payload["error"] == library_error(
    jaxsched.warmup_cosine, peak_value=3e-4, warmup_steps=2000, total_steps=1000
  )


def test_code_builds_the_same_schedule(server):
  config = {**WARMUP_COSINE, "end_value": 1e-5, "warmup_kind": "cosine", "num_cycles": 0.5}
  status, payload = post(server, "/api/code", {"config": config})
  assert status == 200, payload
  assert payload["equivalent"] == jaxsched.registry()["warmup_cosine"].equivalent
  assert "num_cycles" not in payload["python"]  # its default is left out
  from_python = eval(payload["python"], {"jaxsched": jaxsched})  # pylint: disable=eval-used
  from_yaml = jaxsched.from_config(payload["yaml"])
  expected = values_at(jaxsched.from_config(config), range(1100))
  np.testing.assert_array_equal(values_at(from_python, range(1100)), expected)
  np.testing.assert_array_equal(values_at(from_yaml, range(1100)), expected)


def test_code_of_nested_schedules(server):
  config = _explore._schema("sequential")["example"]
  status, payload = post(server, "/api/code", {"config": config})
  assert status == 200, payload
  assert payload["python"].startswith("jaxsched.sequential(schedules=[jaxsched.warmup(")
  from_python = eval(payload["python"], {"jaxsched": jaxsched})  # pylint: disable=eval-used
  np.testing.assert_array_equal(
    values_at(from_python, range(40)), values_at(jaxsched.from_config(payload["yaml"]), range(40))
  )


def test_areas_when_the_library_has_lr_areas(server, monkeypatch):
  """With ``jaxsched.lr_areas`` present, the curve carries its final values."""

  def lr_areas(schedule, steps):
    lrs = values_at(schedule, np.arange(steps))
    return {"S1": np.cumsum(lrs), "S2": np.cumsum(lrs[0] - lrs)}

  monkeypatch.setattr(jaxsched, "lr_areas", lr_areas, raising=False)
  status, payload = post(server, "/api/curve", {"config": WARMUP_COSINE, "steps": 1000})
  assert status == 200, payload
  lrs = values_at(jaxsched.from_config(WARMUP_COSINE), range(1000))
  assert payload["areas"]["S1"] == pytest.approx(float(lrs.sum()), rel=1e-6)
  assert payload["areas"]["S2"] == pytest.approx(float((lrs[0] - lrs).sum()), rel=1e-6)


@pytest.mark.parametrize(
  "body, kwargs, param",
  [
    (
      {"config": {**WARMUP_COSINE, "warmup_steps": 2000}, "steps": 10},
      dict(peak_value=3e-4, warmup_steps=2000, total_steps=1000),
      "warmup_steps",
    ),
    (
      {"config": {**WARMUP_COSINE, "peak_value": -1.0}, "steps": 10},
      dict(peak_value=-1.0, warmup_steps=100, total_steps=1000),
      "peak_value",
    ),
    (
      {"config": {**WARMUP_COSINE, "total_steps": 10.5}, "steps": 10},
      dict(peak_value=3e-4, warmup_steps=100, total_steps=10.5),
      "total_steps",
    ),
  ],
  ids=["order", "negative", "fractional"],
)
def test_bad_values_give_the_librarys_message(server, body, kwargs, param):
  status, payload = post(server, "/api/curve", body)
  assert status == 400
  assert payload["error"] == library_error(jaxsched.warmup_cosine, **kwargs)
  assert (payload["schedule"], payload["param"]) == ("warmup_cosine", param)
  status, payload = post(server, "/api/code", {"config": body["config"]})
  assert status == 400 and payload["error"] == library_error(jaxsched.warmup_cosine, **kwargs)


@pytest.mark.parametrize(
  "body, fragment",
  [
    ({"config": {"type": "os.system", "value": 1}, "steps": 10}, "unknown schedule 'os.system'"),
    ({"config": {"type": "reduce_on_plateau"}, "steps": 10}, "unknown schedule"),  # not a schedule
    ({"config": {**WARMUP_COSINE, "peak_value": "__import__('os')"}, "steps": 10}, "finite number"),
    ({"config": {**WARMUP_COSINE, "peak_value": True}, "steps": 10}, "finite number"),
    ({"config": {**WARMUP_COSINE, "peak_value": 10**400}, "steps": 10}, "finite number"),
    pytest.param(
      {"config": {"type": "constant", "value": 1e300}, "steps": 10},
      "is inf at step 0 in float32",
      marks=pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning"),
    ),
    ({"config": {**WARMUP_COSINE, "warmup_kind": "cubic"}, "steps": 10}, "one of 'linear'"),
    ({"config": {**WARMUP_COSINE, "bogus": 1}, "steps": 10}, "takes no argument 'bogus'"),
    ({"config": WARMUP_COSINE, "steps": 1_000_001}, "steps=1000001 must be an integer"),
    ({"config": WARMUP_COSINE, "steps": 0}, "steps=0 must be"),
    ({"config": WARMUP_COSINE, "steps": "10"}, "steps='10' must be"),
    ({"config": WARMUP_COSINE}, "steps=None"),
    ({"config": [1, 2], "steps": 10}, "config must be an object"),
    (
      {
        "config": {"type": "multistep_decay", "init_value": 0.1, "milestones": [1] * 1001},
        "steps": 9,
      },
      "at most 1000",
    ),
  ],
)
def test_bad_requests_are_400_with_a_message(server, body, fragment):
  status, payload = post(server, "/api/curve", body)
  assert status == 400
  assert fragment in payload["error"], payload


def test_nesting_is_bounded(server):
  config: dict = {"type": "constant", "value": 0.1}
  for _ in range(_explore.MAX_DEPTH + 2):
    config = {"type": "cooldown", "schedule": config, "start_step": 1, "decay_steps": 1}
  status, payload = post(server, "/api/curve", {"config": config, "steps": 10})
  assert status == 400 and "nested more than" in payload["error"]


def test_sweep_caps(server):
  def sweep(**changes):
    body = {"config": WARMUP_COSINE, "steps": 100, "arg": "peak_value", "values": [1e-3], **changes}
    return post(server, "/api/sweep", body)

  status, payload = sweep(values=[1e-3] * (_explore.MAX_SWEEP + 1))
  assert status == 400 and f"1 to {_explore.MAX_SWEEP} numbers" in payload["error"]
  status, payload = sweep(values=[1e-3] * 64, steps=1_000_000)
  assert status == 400 and "evaluations" in payload["error"]
  status, payload = sweep(arg="warmup_kind")
  assert status == 400 and "cannot sweep 'warmup_kind'" in payload["error"]
  status, payload = sweep(values=["1e-3"])
  assert status == 400 and "finite number" in payload["error"]


def test_malformed_requests(server):
  status, payload = request(server, "POST", "/api/curve", raw=b"{not json")
  assert status == 400 and "not JSON" in payload["error"]
  status, payload = request(server, "POST", "/api/curve", raw=b"[" * 60_000)
  assert status == 400 and "not JSON" in payload["error"]
  status, payload = request(server, "POST", "/api/curve", raw=b"[]")
  assert status == 400 and "JSON object" in payload["error"]
  big = json.dumps({"config": WARMUP_COSINE, "pad": "x" * _explore.MAX_BODY}).encode()
  status, payload = request(server, "POST", "/api/curve", raw=big)
  assert status == 400 and "bytes" in payload["error"]
  status, payload = request(
    server, "POST", "/api/curve", raw=b"{}", headers={"Content-Type": "text/plain"}
  )
  assert status == 400 and "Content-Type" in payload["error"]
  status, payload = request(server, "POST", "/api/nothing", body={})
  assert status == 404
  status, payload = request(server, "GET", "/../pyproject.toml")
  assert status == 404


def test_static_page_is_served(server):
  status, page = request(server, "GET", "/")
  assert status == 200 and b"explore.js" in page
  for name in ("explore.js", "explore.css"):
    status, body = request(server, "GET", f"/{name}")
    assert status == 200 and body == (_explore.STATIC / name).read_bytes()
  # Nothing is fetched from the network: the only address in the files is SVG's namespace.
  for path in _explore.STATIC.iterdir():
    addresses = set(re.findall(r"\w+://[^\s\"'`)]*", path.read_text()))
    assert addresses <= {"http://www.w3.org/2000/svg"}, (path.name, addresses)


def test_import_jaxsched_stays_light():
  code = (
    "import sys, jaxsched; "
    "bad = [m for m in ('jaxsched.tools._explore', 'webbrowser') if m in sys.modules]; "
    "assert not bad, bad"
  )
  result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
  assert result.returncode == 0, result.stderr[-2000:]


def test_cli_prints_the_address_and_serves():
  process = subprocess.Popen(
    [sys.executable, "-m", "jaxsched", "explore", "--port", "0", "--no-browser"],
    stdout=subprocess.PIPE,
    stderr=subprocess.PIPE,
    text=True,
  )
  try:
    line = process.stdout.readline()
    assert line.startswith("jaxsched explore: serving on http://127.0.0.1:"), line
    port = int(line.split("127.0.0.1:")[1].split("/")[0])
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request("GET", "/api/schedules")
    assert connection.getresponse().status == 200
    connection.close()
  finally:
    process.terminate()
    process.wait(timeout=30)


def test_cli_errors_are_one_line(server, capsys):
  from jaxsched.tools import _cli  # pylint: disable=import-outside-toplevel

  taken = server.server_address[1]
  for argv, fragment in (
    (["explore", "--port", "-1"], "--port=-1 must be in [0, 65535]"),
    (["explore", "--port", str(taken), "--no-browser"], f"cannot listen on 127.0.0.1:{taken}"),
  ):
    assert _cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and fragment in err, err
