"""`jaxsched explore` in a real browser: headless Chromium driven by Selenium.

Chromium and its driver come from Debian (`make install` installs them as root); the browser
(conftest.py's fixture, shared with the docs site's test) runs with a proxy that leads nowhere,
so a page that fetched anything from the network would show it here. These tests fail, not
skip, where the browser is missing.
"""

import base64
import json
import struct
import threading
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select
from selenium.webdriver.support.ui import WebDriverWait

import jaxsched
from jaxsched.tools import _explore

TIMEOUT = 30


@pytest.fixture(scope="module")
def page(browser):
  server = _explore.make_server(0)
  thread = threading.Thread(target=server.serve_forever, daemon=True)
  thread.start()
  yield browser, _explore.url(server)
  server.shutdown()
  server.server_close()


def open_page(browser, url):
  browser.get(url)
  WebDriverWait(browser, TIMEOUT).until(
    lambda d: (
      d.execute_script("return document.body.dataset.ready === 'true'")
      and d.find_element(By.ID, "plot").get_attribute("data-done") is not None
    )
  )


def settled(browser, action):
  """Runs ``action`` and waits until the page shows the answer to the last request it caused."""
  before = browser.execute_script("return window.jaxschedExplore.state.sequence")
  action()
  WebDriverWait(browser, TIMEOUT).until(
    lambda d: d.execute_script(
      "const s = window.jaxschedExplore.state;"
      "return s.timer === null && s.sequence > arguments[0]"
      " && document.getElementById('plot').dataset.done === String(s.sequence);",
      before,
    )
  )


def arg_input(browser, name):
  return browser.find_element(By.CSS_SELECTOR, f'#args > .args > .arg[data-param="{name}"] input')


def type_into(browser, element, text):
  """Selects the field's text and types over it, then leaves the field (its change event)."""
  settled(browser, lambda: element.send_keys(Keys.CONTROL, "a", Keys.NULL, str(text), Keys.TAB))


def drawn(browser) -> list:
  return json.loads(browser.find_element(By.ID, "plot").get_attribute("data-curves"))


def values_at(schedule, steps) -> np.ndarray:
  return np.asarray(jax.jit(schedule)(jnp.asarray(steps, jnp.int32)))


def example(name: str, **changes) -> dict:
  """The config the page starts ``name`` from (the server's), with ``changes``."""
  (schema,) = [s for s in _explore.schedules() if s["name"] == name]
  return {**schema["example"], **changes}


def library_error(config: dict) -> str:
  with pytest.raises(ValueError) as info:
    jaxsched.from_config(config)
  return str(info.value)


def choose(browser, name):
  select = Select(browser.find_element(By.ID, "schedule"))
  if select.first_selected_option.get_attribute("value") != name:  # else no change event
    settled(browser, lambda: select.select_by_value(name))


def test_change_an_argument_and_read_the_plot(page):
  browser, url = page
  open_page(browser, url)
  choose(browser, "one_cycle")
  type_into(browser, arg_input(browser, "total_steps"), 400)
  type_into(browser, arg_input(browser, "max_lr"), 0.01)
  type_into(browser, browser.find_element(By.ID, "steps"), 450)
  (curve,) = drawn(browser)
  assert curve["kind"] == "current"
  assert curve["steps"] == list(range(450))
  expected = jaxsched.from_config(example("one_cycle", total_steps=400, max_lr=0.01))
  np.testing.assert_array_equal(np.float32(curve["values"]), values_at(expected, range(450)))
  python = browser.find_element(By.ID, "code-python").text
  assert python.startswith("jaxsched.one_cycle(max_lr=0.01, total_steps=400")
  from_python = eval(python, {"jaxsched": jaxsched})  # pylint: disable=eval-used
  np.testing.assert_array_equal(values_at(from_python, range(450)), values_at(expected, range(450)))
  assert browser.find_element(By.ID, "code-equivalent").text == (
    jaxsched.registry()["one_cycle"].equivalent
  )
  # Hover: the read-out is the step under the pointer and jaxsched's value there.
  plot = browser.find_element(By.ID, "plot")
  ActionChains(browser).move_to_element_with_offset(plot, 0, 0).perform()
  readout = browser.find_element(By.ID, "readout")
  step = int(readout.get_attribute("data-step"))
  assert 150 < step < 300, step
  assert np.float32(readout.get_attribute("data-lr")) == values_at(expected, [step])[0]
  assert readout.text.startswith(f"step {step} · lr ")
  # Every resource the page loaded came from the server itself.
  loaded = browser.execute_script(
    "return performance.getEntriesByType('resource').map(e => e.name)"
  )
  assert loaded and all(name.startswith(url) for name in loaded), loaded


def open_warmup_cosine(page, total_steps: int, steps: int):
  """The page, fresh, showing warmup_cosine with ``total_steps`` over ``steps`` steps."""
  browser, url = page
  open_page(browser, url)
  choose(browser, "warmup_cosine")
  type_into(browser, arg_input(browser, "total_steps"), total_steps)
  type_into(browser, browser.find_element(By.ID, "steps"), steps)
  return browser


def test_a_bad_value_shows_the_librarys_message(page):
  browser = open_warmup_cosine(page, total_steps=300, steps=330)
  before = drawn(browser)
  type_into(browser, arg_input(browser, "warmup_steps"), 5000)
  message = browser.find_element(
    By.CSS_SELECTOR, '#args > .args > .arg[data-param="warmup_steps"] .error'
  )
  assert message.text == library_error(example("warmup_cosine", total_steps=300, warmup_steps=5000))
  assert arg_input(browser, "warmup_steps").get_attribute("aria-invalid") == "true"
  assert drawn(browser) == before  # the last good curve stays
  type_into(browser, arg_input(browser, "warmup_steps"), 20)
  assert message.text == ""
  expected = jaxsched.from_config(example("warmup_cosine", total_steps=300, warmup_steps=20))
  np.testing.assert_array_equal(
    np.float32(drawn(browser)[0]["values"]), values_at(expected, range(330))
  )
  type_into(browser, arg_input(browser, "peak_value"), "abc")  # never evaluated: refused as text
  assert (
    "peak_value='abc' must be a finite number"
    in browser.find_element(
      By.CSS_SELECTOR, '#args > .args > .arg[data-param="peak_value"] .error'
    ).text
  )


def test_overlay_two_schedules_and_export(page, downloads):
  browser, url = page
  open_page(browser, url)
  choose(browser, "cosine_annealing")
  browser.find_element(By.ID, "pin").click()
  choose(browser, "step_decay")
  pinned, current = drawn(browser)
  assert (pinned["kind"], current["kind"]) == ("pinned", "current")
  assert pinned["color"] != current["color"]
  for curve, name in ((pinned, "cosine_annealing"), (current, "step_decay")):
    schedule = jaxsched.from_config(example(name))
    np.testing.assert_array_equal(np.float32(curve["values"]), values_at(schedule, curve["steps"]))
  paths = browser.find_elements(By.CSS_SELECTOR, '#plot [data-role="curves"] path')
  assert {p.get_attribute("stroke") for p in paths} == {pinned["color"], current["color"]}
  assert len(browser.find_elements(By.CSS_SELECTOR, "#legend li")) == 2

  Select(browser.find_element(By.ID, "y-scale")).select_by_value("log")
  assert browser.find_element(By.ID, "plot").get_attribute("data-y-scale") == "log"
  # PNG: the button's download, and the data URL the page made.
  browser.find_element(By.ID, "export-png").click()
  png = downloads / "schedule.png"
  deadline = time.time() + TIMEOUT
  while not png.exists() and time.time() < deadline:
    time.sleep(0.1)
  data = png.read_bytes()
  assert data[:8] == b"\x89PNG\r\n\x1a\n"
  assert struct.unpack(">II", data[16:24]) == (1520, 840)  # 760 x 420 at twice the size
  url_png = browser.execute_async_script(
    "window.jaxschedExplore.exportPNG().then(arguments[arguments.length - 1])"
  )
  assert base64.b64decode(url_png.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
  svg = browser.execute_script("return window.jaxschedExplore.exportSVG()")
  assert svg.startswith("<svg") and svg.count("<path") == 2 and "data-curves" not in svg
  csv = browser.execute_script("return window.jaxschedExplore.exportCSV()").splitlines()
  assert csv[0] == "curve,step,lr"
  assert len(csv) == 1 + len(pinned["steps"]) + len(current["steps"])
  assert float(csv[-1].rsplit(",", 1)[1]) == current["values"][-1]


def test_family_view_is_the_vmapped_sweep(page):
  browser = open_warmup_cosine(page, total_steps=110, steps=122)
  settled(browser, lambda: browser.find_element(By.ID, "family-on").click())
  settled(
    browser,
    lambda: Select(browser.find_element(By.ID, "family-arg")).select_by_value("warmup_steps"),
  )
  type_into(browser, browser.find_element(By.ID, "family-from"), 5)
  type_into(browser, browser.find_element(By.ID, "family-to"), 50)
  type_into(browser, browser.find_element(By.ID, "family-count"), 4)
  curves = drawn(browser)
  assert [c["label"] for c in curves] == [
    "warmup_steps=5",
    "warmup_steps=20",
    "warmup_steps=35",
    "warmup_steps=50",
  ]
  assert len({c["color"] for c in curves}) == 4
  for curve, warmup in zip(curves, (5, 20, 35, 50)):
    expected = jaxsched.from_config(example("warmup_cosine", total_steps=110, warmup_steps=warmup))
    np.testing.assert_allclose(curve["values"], values_at(expected, curve["steps"]), rtol=1e-6)
  assert browser.find_element(By.ID, "pin").get_attribute("disabled") == "true"
  type_into(browser, browser.find_element(By.ID, "family-to"), 500)  # 5, 170, 335, 500 > 110
  assert browser.find_element(By.ID, "family-error").text == library_error(
    example("warmup_cosine", total_steps=110, warmup_steps=170)
  )
  assert drawn(browser) == curves
