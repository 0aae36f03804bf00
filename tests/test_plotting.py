"""``jaxsched.inspect`` and ``jaxsched.plot``.

Expected summaries are boundary tables and closed forms worked out by hand
from each schedule's definition (PyTorch's StepLR / CyclicLR, transformers'
cosine with warmup), never values read back from jaxsched.
"""

import math

import jax.numpy as jnp
import matplotlib.image
import numpy as np
import pytest

import jaxsched

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# plot() draws a 9 x 4.8 inch figure saved at 110 dpi.
PLOT_WIDTH, PLOT_HEIGHT = 990, 528


def _stretches(summary):
  return [(s.start, s.end, s.direction) for s in summary.stretches]


# --- inspect: shapes of real schedules -------------------------------------------


def test_inspect_warmup_cosine():
  # Linear warmup 0 -> 1 over 10 steps, then a half cosine to 0 at step 100.
  summary = jaxsched.inspect(
    jaxsched.warmup_cosine(1.0, warmup_steps=10, total_steps=100, init_value=0.1), 100
  )
  assert summary.warmup_steps == 10
  assert summary.argmax == 10
  assert summary.max == pytest.approx(1.0, rel=1e-6)
  assert summary.min == pytest.approx(0.5 * (1 + math.cos(math.pi * 89 / 90)), rel=1e-3)
  assert summary.final == pytest.approx(0.5 * (1 + math.cos(math.pi * 89 / 90)), rel=1e-3)
  assert _stretches(summary) == [(0, 10, "rising"), (10, 99, "falling")]
  assert summary.warnings == ()


def test_inspect_warmup_cosine_from_zero_warns_about_step_zero_only():
  summary = jaxsched.inspect(jaxsched.warmup_cosine(1.0, warmup_steps=10, total_steps=100), 100)
  assert summary.min == 0.0
  assert len(summary.warnings) == 1
  assert "zero learning rate" in summary.warnings[0]
  assert "step 0 only" in summary.warnings[0]


def test_inspect_past_total_steps_counts_the_zero_tail():
  # Zero at step 0 and on steps 100..119 after the decay ended: 21 zero steps.
  summary = jaxsched.inspect(jaxsched.warmup_cosine(1.0, warmup_steps=10, total_steps=100), 120)
  assert _stretches(summary) == [(0, 10, "rising"), (10, 100, "falling"), (100, 119, "flat")]
  assert summary.final == 0.0
  (warning,) = summary.warnings
  assert "zero learning rate at 21 steps" in warning
  assert "first: step 0" in warning


def test_inspect_cyclic():
  # torch CyclicLR(base_lr=0.1, max_lr=1, step_size_up=2000): up 0..2000, down to 4000, up.
  summary = jaxsched.inspect(jaxsched.cyclic(0.1, 1.0), 5000)
  assert summary.min == pytest.approx(0.1, rel=1e-6)
  assert summary.max == pytest.approx(1.0, rel=1e-6)
  assert summary.argmax == 2000
  assert summary.final == pytest.approx(0.1 + 0.9 * 999 / 2000, rel=1e-6)
  # The documented definition: warmup = the initial rise up to the maximum.
  assert summary.warmup_steps == 2000
  assert _stretches(summary) == [
    (0, 2000, "rising"),
    (2000, 4000, "falling"),
    (4000, 4999, "rising"),
  ]
  assert summary.warnings == ()


@pytest.mark.parametrize("total_steps", [1, 50])
def test_inspect_constant(total_steps):
  summary = jaxsched.inspect(jaxsched.constant(0.3), total_steps)
  assert summary.min == summary.max == summary.final == pytest.approx(0.3, rel=1e-6)
  assert summary.argmax == 0
  assert summary.warmup_steps == 0
  assert _stretches(summary) == [(0, total_steps - 1, "flat")]
  assert summary.warnings == ()


def test_inspect_step_decay_has_flat_stretches():
  # torch StepLR(step_size=10, gamma=0.5): 1.0 on 0..9, 0.5 on 10..19, 0.25 on 20..29.
  summary = jaxsched.inspect(jaxsched.step_decay(1.0, step_size=10, gamma=0.5), 30)
  assert _stretches(summary) == [
    (0, 9, "flat"),
    (9, 10, "falling"),
    (10, 19, "flat"),
    (19, 20, "falling"),
    (20, 29, "flat"),
  ]
  assert summary.min == summary.final == 0.25
  assert summary.max == 1.0
  assert summary.argmax == 0
  assert summary.warmup_steps == 0
  assert summary.warnings == ()


def test_inspect_str_is_a_readable_report():
  text = str(jaxsched.inspect(jaxsched.cyclic(0.1, 1.0), 5000))
  assert "max 1 (step 2000)" in text
  assert "warmup 2000 steps" in text
  assert text.count("rising") == 2 and text.count("falling") == 1


# --- inspect: warnings for bad values ---------------------------------------------


def test_inspect_warns_about_an_all_zero_schedule():
  summary = jaxsched.inspect(lambda count: jnp.zeros(jnp.shape(count)), 10)
  (warning,) = summary.warnings
  assert "zero learning rate at 10 steps" in warning
  assert summary.min == summary.max == 0.0


def test_inspect_warns_about_negative_values():
  summary = jaxsched.inspect(lambda count: jnp.full(jnp.shape(count), -1.0), 10)
  (warning,) = summary.warnings
  assert "negative value at 10 steps" in warning
  assert "first: step 0" in warning
  assert summary.min == summary.max == summary.final == -1.0


def test_inspect_warns_about_nan():
  summary = jaxsched.inspect(lambda count: jnp.where(count >= 7, jnp.nan, 1.0), 10)
  nonfinite = [w for w in summary.warnings if "non-finite" in w]
  assert len(nonfinite) == 1
  assert "at 3 steps" in nonfinite[0]
  assert "first: step 7" in nonfinite[0]


def test_inspect_does_not_report_nan_steps_as_zero():
  # The schedule is 1.0 or NaN, never 0: only the non-finite warning applies, and
  # the minimum of the values it does have is 1.0.
  summary = jaxsched.inspect(lambda count: jnp.where(count >= 7, jnp.nan, 1.0), 10)
  assert not [w for w in summary.warnings if "zero" in w], summary.warnings
  assert summary.min == 1.0


@pytest.mark.parametrize("total_steps", [0, -5, 2.5])
def test_inspect_bad_total_steps(total_steps):
  with pytest.raises(ValueError, match="inspect: total_steps="):
    jaxsched.inspect(jaxsched.constant(0.1), total_steps)


# --- plot ---------------------------------------------------------------------------


def _assert_png(path):
  assert path.read_bytes()[:8] == PNG_SIGNATURE
  image = matplotlib.image.imread(path)
  assert image.shape[:2] == (PLOT_HEIGHT, PLOT_WIDTH)
  assert image[..., :3].std() > 0.01  # not blank
  return image


def test_plot_one_schedule(tmp_path):
  path = tmp_path / "new" / "dir" / "one.png"
  written = jaxsched.plot(jaxsched.warmup_cosine(1e-3, 100, 1000), 1000, path)
  assert written == path
  _assert_png(path)


def test_plot_dict_list_and_log_y(tmp_path):
  schedules = {
    "warmup_cosine": jaxsched.warmup_cosine(1e-3, 100, 1000, init_value=1e-5),
    "step_decay": jaxsched.step_decay(1e-3, step_size=300, gamma=0.5),
  }
  linear = _assert_png(jaxsched.plot(schedules, 1000, tmp_path / "dict.png"))
  pairs = _assert_png(jaxsched.plot(list(schedules.items()), 1000, tmp_path / "pairs.png"))
  np.testing.assert_array_equal(linear, pairs)  # same schedules, same names, same picture
  logged = _assert_png(jaxsched.plot(schedules, 1000, tmp_path / "log.png", log_y=True))
  assert not np.array_equal(linear, logged)


@pytest.mark.parametrize("empty", [{}, []], ids=["dict", "list"])
def test_plot_empty_input_raises(tmp_path, empty):
  with pytest.raises(ValueError, match="plot: schedules"):
    jaxsched.plot(empty, 100, tmp_path / "empty.png")
  assert not (tmp_path / "empty.png").exists()


def test_plot_bad_total_steps_raises(tmp_path):
  with pytest.raises(ValueError, match="plot: total_steps="):
    jaxsched.plot(jaxsched.constant(0.1), 0, tmp_path / "x.png")
