"""Parity with transformers, cross-checks with Optax, and plain-Python references.

(a) transformers: the ``LambdaLR`` each ``transformers.optimization`` factory
    returns is run live on a dummy SGD optimizer, exactly like the PyTorch
    schedulers in test_parity_torch.py (lr read before each optimizer.step()).
(b) Optax: rows Optax also has are compared with Optax's own schedules. Where
    the two libraries do not define the same curve (one-cycle phase
    boundaries) the test states the exact correspondence and the offset.
(c) Plain Python: closed forms written out here from /tmp/conventions.md and
    the seed documents (GrokkingScheduler and BiasScheduler from seed 000, the
    warmup functions from seed 001, the quadratic warmup of seed 004).

Reference values never come from jaxsched. jaxsched is always evaluated as
``jax.jit(sched)(steps)``.
"""

import math

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import torch
from curves import assert_curve_close
from curves import ATOL_FRACTION
from curves import jax_curve
from curves import RTOL
from transformers import optimization as hf

import jaxsched


def _steps_after(total_steps):
  """Steps where a documented hold after total_steps is checked.

  At and just after the end, further on, far away, and the largest int32 step.
  """
  return [total_steps, total_steps + 1, total_steps + 57, 10**6, 2**31 - 1]


def _jax_at(schedule, steps):
  """The schedule at the given int32 steps, under jax.jit."""
  steps = np.asarray(steps, dtype=np.int32)
  values = jax.jit(schedule)(jnp.asarray(steps))
  chex.assert_shape(values, steps.shape)
  return np.asarray(values)


def _optax_curve(schedule, n, *, jit=True):
  """An Optax reference schedule at steps 0..n-1.

  vmapped, because some Optax schedules (piecewise_interpolate_schedule) only
  accept a scalar count. ``jit=False`` for optax.polynomial_schedule with a
  fractional power: under jit XLA's rewrite of ``count / transition_steps``
  can overshoot 1 at count == transition_steps, and ``(1 - frac)**0.5`` of the
  tiny negative number is NaN (an artifact of the reference, not of the shape
  it defines). Eager evaluation is exact there, but slower, so only used
  where needed.
  """
  curve = jax.vmap(schedule)
  if jit:
    curve = jax.jit(curve)
  return np.asarray(curve(jnp.arange(n)), dtype=np.float64)


def _hf_run(make_scheduler, n, *, lr):
  """Runs a transformers LambdaLR for n updates of a dummy parameter.

  Returns:
    (lrs, scheduler): lrs[t] is the rate of update t (read before the (t+1)-th
    optimizer.step()); the scheduler gives access to its own lr_lambda.
  """
  param = torch.nn.Parameter(torch.zeros(()))
  opt = torch.optim.SGD([param], lr=lr)
  scheduler = make_scheduler(opt)
  lrs = []
  for _ in range(n):
    lrs.append(float(opt.param_groups[0]["lr"]))
    param.grad = torch.ones(())
    opt.step()
    scheduler.step()
  return np.asarray(lrs), scheduler


PEAK = 1e-3

# =========================================================== (a) transformers


@pytest.mark.parametrize("warmup_steps", [0, 1, 7, 10])
def test_warmup_constant_matches_hf(warmup_steps):
  n = warmup_steps + 20
  want, _ = _hf_run(lambda opt: hf.get_constant_schedule_with_warmup(opt, warmup_steps), n, lr=PEAK)
  got = jax_curve(jaxsched.warmup_constant(PEAK, warmup_steps), n)
  assert_curve_close(got, want, what="warmup_constant")


@pytest.mark.parametrize(
  "warmup_steps,total_steps",
  [
    pytest.param(0, 20, id="w0-T20"),
    pytest.param(1, 10, id="w1-T10"),
    pytest.param(10, 100, id="w10-T100"),
    pytest.param(7, 33, id="w7-T33"),
    pytest.param(5, 5, id="w5-T5"),
  ],
)
def test_warmup_linear_matches_hf(warmup_steps, total_steps):
  # HF's linear schedule is max(0, ...) = 0 after total_steps, which is also
  # the documented hold at end_value=0: compare past the end too.
  n = total_steps + 15
  want, _ = _hf_run(
    lambda opt: hf.get_linear_schedule_with_warmup(opt, warmup_steps, total_steps), n, lr=PEAK
  )
  got = jax_curve(jaxsched.warmup_linear(PEAK, warmup_steps, total_steps), n)
  assert_curve_close(got, want, what="warmup_linear")


_COSINES = [
  pytest.param(0, 20, 0.5, id="w0-T20"),
  pytest.param(1, 10, 0.5, id="w1-T10"),
  pytest.param(10, 100, 0.5, id="w10-T100"),
  pytest.param(7, 33, 1.5, id="w7-T33-cycles1.5"),
  pytest.param(5, 50, 0.25, id="w5-T50-cycles0.25"),
  pytest.param(3, 40, 1.0, id="w3-T40-cycles1"),
]


def _check_warmup_cosine_against_hf(make_hf, sched, total_steps, what):
  # HF's cosine is only compared on [0, total_steps): past that its cosine
  # keeps oscillating, while jaxsched documents holding the value at
  # total_steps. That held value is HF's own lambda at total_steps.
  want, scheduler = _hf_run(make_hf, total_steps, lr=PEAK)
  got = jax_curve(sched, total_steps)
  assert_curve_close(got, want, what=what)
  held = PEAK * scheduler.lr_lambdas[0](total_steps)
  steps = _steps_after(total_steps)
  assert_curve_close(
    _jax_at(sched, steps),
    np.full(len(steps), held),
    what=f"{what} hold after total_steps",
    steps=steps,
  )


@pytest.mark.parametrize("warmup_steps,total_steps,num_cycles", _COSINES)
def test_warmup_cosine_matches_hf(warmup_steps, total_steps, num_cycles):
  _check_warmup_cosine_against_hf(
    lambda opt: hf.get_cosine_schedule_with_warmup(
      opt, warmup_steps, total_steps, num_cycles=num_cycles
    ),
    jaxsched.warmup_cosine(PEAK, warmup_steps, total_steps, num_cycles=num_cycles),
    total_steps,
    "warmup_cosine",
  )


@pytest.mark.parametrize(
  "warmup_steps,total_steps,num_cycles,min_lr",
  [
    pytest.param(0, 20, 0.5, 1e-5, id="w0-T20"),
    pytest.param(1, 10, 0.5, 1e-4, id="w1-T10"),
    pytest.param(10, 100, 0.5, 1e-5, id="w10-T100"),
    pytest.param(7, 33, 0.5, 5e-4, id="w7-T33-half-peak"),
    pytest.param(5, 50, 1.0, 1e-5, id="w5-T50-cycles1"),
  ],
)
def test_warmup_cosine_min_lr_matches_hf(warmup_steps, total_steps, num_cycles, min_lr):
  _check_warmup_cosine_against_hf(
    lambda opt: hf.get_cosine_with_min_lr_schedule_with_warmup(
      opt, warmup_steps, total_steps, num_cycles=num_cycles, min_lr=min_lr
    ),
    jaxsched.warmup_cosine(
      PEAK, warmup_steps, total_steps, end_value=min_lr, num_cycles=num_cycles
    ),
    total_steps,
    "warmup_cosine(end_value=min_lr)",
  )


@pytest.mark.parametrize(
  "warmup_steps,total_steps,num_cycles",
  [
    pytest.param(0, 20, 1, id="w0-T20-c1"),
    pytest.param(1, 10, 2, id="w1-T10-c2"),
    pytest.param(10, 100, 3, id="w10-T100-c3"),
    pytest.param(7, 40, 4, id="w7-T40-c4"),
    pytest.param(0, 9, 5, id="w0-T9-c5"),
  ],
)
def test_warmup_cosine_restarts_matches_hf(warmup_steps, total_steps, num_cycles):
  # HF returns 0 once progress >= 1; that is also the documented behaviour, so
  # compare past total_steps too.
  n = total_steps + 10
  want, _ = _hf_run(
    lambda opt: hf.get_cosine_with_hard_restarts_schedule_with_warmup(
      opt, warmup_steps, total_steps, num_cycles=num_cycles
    ),
    n,
    lr=PEAK,
  )
  got = jax_curve(
    jaxsched.warmup_cosine_restarts(PEAK, warmup_steps, total_steps, num_cycles=num_cycles), n
  )
  assert_curve_close(got, want, what="warmup_cosine_restarts")


@pytest.mark.parametrize(
  "warmup_steps,total_steps,end_value,power",
  [
    pytest.param(0, 20, 1e-7, 1.0, id="w0-T20-default-end"),
    pytest.param(1, 10, 1e-4, 2.0, id="w1-T10-p2"),
    pytest.param(10, 100, 0.0, 0.5, id="w10-T100-end0-p0.5"),
    pytest.param(7, 33, 1e-5, 3.0, id="w7-T33-p3"),
  ],
)
def test_warmup_polynomial_matches_hf(warmup_steps, total_steps, end_value, power):
  # HF returns lr_end after num_training_steps: compare past the end too.
  n = total_steps + 10
  want, _ = _hf_run(
    lambda opt: hf.get_polynomial_decay_schedule_with_warmup(
      opt, warmup_steps, total_steps, lr_end=end_value, power=power
    ),
    n,
    lr=PEAK,
  )
  got = jax_curve(
    jaxsched.warmup_polynomial(PEAK, warmup_steps, total_steps, end_value=end_value, power=power), n
  )
  assert_curve_close(got, want, what="warmup_polynomial")


@pytest.mark.parametrize(
  "warmup_steps,timescale",
  [
    pytest.param(0, None, id="w0-default-timescale"),
    pytest.param(1, None, id="w1"),
    pytest.param(10, None, id="w10"),
    pytest.param(10, 5, id="w10-ts5"),
    pytest.param(7, 20, id="w7-ts20"),
    pytest.param(0, 3, id="w0-ts3"),
  ],
)
def test_inverse_sqrt_matches_hf(warmup_steps, timescale):
  n = 150
  want, _ = _hf_run(
    lambda opt: hf.get_inverse_sqrt_schedule(opt, warmup_steps, timescale=timescale), n, lr=PEAK
  )
  got = jax_curve(jaxsched.inverse_sqrt(PEAK, warmup_steps, timescale=timescale), n)
  assert_curve_close(got, want, what="inverse_sqrt")


_KINDS = ("linear", "cosine", "1-sqrt")


@pytest.mark.parametrize("decay_kind", _KINDS)
@pytest.mark.parametrize("warmup_kind", _KINDS)
def test_warmup_stable_decay_kinds_match_hf(warmup_kind, decay_kind):
  warmup_steps, decay_steps, total_steps = 10, 30, 100
  n = total_steps + 10  # "exactly HF's lambda", also after the end.
  want, _ = _hf_run(
    lambda opt: hf.get_wsd_schedule(
      opt,
      warmup_steps,
      decay_steps,
      num_training_steps=total_steps,
      warmup_type=warmup_kind,
      decay_type=decay_kind,
    ),
    n,
    lr=PEAK,
  )
  got = jax_curve(
    jaxsched.warmup_stable_decay(
      PEAK,
      warmup_steps,
      decay_steps,
      total_steps=total_steps,
      warmup_kind=warmup_kind,
      decay_kind=decay_kind,
    ),
    n,
  )
  assert_curve_close(got, want, what=f"warmup_stable_decay {warmup_kind}/{decay_kind}")


@pytest.mark.parametrize(
  "warmup_steps,decay_steps,stable_steps,total_steps,kinds,min_lr_ratio,num_cycles",
  [
    pytest.param(0, 20, None, 50, ("linear", "cosine"), 0.1, 0.5, id="w0-total50-min0.1"),
    pytest.param(1, 1, None, 10, ("cosine", "linear"), 0.0, 0.5, id="w1-d1-total10"),
    pytest.param(5, 15, 10, None, ("1-sqrt", "cosine"), 0.05, 1.0, id="stable10-cycles1"),
    pytest.param(7, 13, 0, None, ("linear", "1-sqrt"), 0.2, 0.5, id="stable0-min0.2"),
    pytest.param(3, 9, None, 41, ("cosine", "cosine"), 0.0, 0.25, id="w3-total41-cycles0.25"),
  ],
)
def test_warmup_stable_decay_step_counts_match_hf(
  warmup_steps, decay_steps, stable_steps, total_steps, kinds, min_lr_ratio, num_cycles
):
  end = total_steps if total_steps is not None else warmup_steps + stable_steps + decay_steps
  n = end + 10
  warmup_kind, decay_kind = kinds
  counts = (
    dict(num_training_steps=total_steps)
    if stable_steps is None
    else dict(num_stable_steps=stable_steps)
  )
  want, _ = _hf_run(
    lambda opt: hf.get_wsd_schedule(
      opt,
      warmup_steps,
      decay_steps,
      warmup_type=warmup_kind,
      decay_type=decay_kind,
      min_lr_ratio=min_lr_ratio,
      num_cycles=num_cycles,
      **counts,
    ),
    n,
    lr=PEAK,
  )
  counts = (
    dict(total_steps=total_steps) if stable_steps is None else dict(stable_steps=stable_steps)
  )
  got = jax_curve(
    jaxsched.warmup_stable_decay(
      PEAK,
      warmup_steps,
      decay_steps,
      warmup_kind=warmup_kind,
      decay_kind=decay_kind,
      min_lr_ratio=min_lr_ratio,
      num_cycles=num_cycles,
      **counts,
    ),
    n,
  )
  assert_curve_close(got, want, what="warmup_stable_decay")


# ================================================================ (b) Optax


@pytest.mark.parametrize(
  "init_value,peak_value,warmup_steps,total_steps,end_value",
  [
    pytest.param(0.0, 1e-3, 10, 100, 0.0, id="w10-T100"),
    pytest.param(1e-5, 1e-3, 1, 50, 1e-5, id="init-w1-T50-end"),
    pytest.param(0.0, 0.1, 0, 37, 1e-3, id="w0-T37-end"),
    pytest.param(0.0, 1.0, 33, 200, 0.0, id="w33-T200"),
  ],
)
def test_warmup_cosine_matches_optax(init_value, peak_value, warmup_steps, total_steps, end_value):
  # Optax's warmup_cosine_decay_schedule holds end_value after decay_steps,
  # like jaxsched's num_cycles=0.5 hold: they agree on every step.
  n = total_steps + 30
  want = _optax_curve(
    optax.warmup_cosine_decay_schedule(
      init_value=init_value,
      peak_value=peak_value,
      warmup_steps=warmup_steps,
      decay_steps=total_steps,
      end_value=end_value,
    ),
    n,
  )
  got = jax_curve(
    jaxsched.warmup_cosine(
      peak_value, warmup_steps, total_steps, end_value=end_value, init_value=init_value
    ),
    n,
  )
  assert_curve_close(got, want, what="warmup_cosine vs optax")


@pytest.mark.parametrize(
  "init_value,t_0,t_mult,eta_min,cycles",
  [
    pytest.param(0.1, 10, 1, 0.0, 4, id="t0=10"),
    pytest.param(1.0, 7, 1, 0.01, 5, id="t0=7-etamin"),
    pytest.param(0.5, 1, 1, 0.0, 6, id="t0=1"),
    pytest.param(1.0, 5, 2, 0.0, 4, id="t0=5-mult2"),
  ],
)
def test_cosine_warm_restarts_matches_optax_sgdr(init_value, t_0, t_mult, eta_min, cycles):
  lengths = [t_0 * t_mult**i for i in range(cycles)]
  sgdr = optax.sgdr_schedule(
    [
      dict(
        init_value=init_value,
        peak_value=init_value,
        warmup_steps=0,
        decay_steps=length,
        end_value=eta_min,
      )
      for length in lengths
    ]
  )
  # Optax's last cycle holds eta_min instead of restarting: compare the cycles.
  n = sum(lengths)
  want = _optax_curve(sgdr, n)
  got = jax_curve(jaxsched.cosine_warm_restarts(init_value, t_0, t_mult=t_mult, eta_min=eta_min), n)
  assert_curve_close(got, want, what="cosine_warm_restarts vs optax.sgdr_schedule")


_EXPONENTIALS = [
  pytest.param(1.0, 0.9, 1, False, None, id="ts1"),
  pytest.param(1.0, 0.5, 10, False, None, id="ts10"),
  pytest.param(0.1, 0.9, 7, True, None, id="ts7-staircase"),
  pytest.param(0.1, 0.96, 13, True, 0.05, id="ts13-staircase-end"),
  pytest.param(0.3, 0.8, 3, False, 0.1, id="ts3-end"),
  pytest.param(0.01, 1.05, 10, False, 0.02, id="growth-ts10-end"),
  pytest.param(0.01, 1.1, 4, True, 0.05, id="growth-ts4-staircase-end"),
]


@pytest.mark.parametrize("init_value,gamma,transition_steps,staircase,end_value", _EXPONENTIALS)
def test_exponential_decay_matches_optax(init_value, gamma, transition_steps, staircase, end_value):
  n = 300
  want = _optax_curve(
    optax.exponential_decay(
      init_value, transition_steps, gamma, staircase=staircase, end_value=end_value
    ),
    n,
  )
  got = jax_curve(
    jaxsched.exponential_decay(
      init_value, gamma, transition_steps=transition_steps, staircase=staircase, end_value=end_value
    ),
    n,
  )
  assert_curve_close(got, want, what="exponential_decay vs optax")


@pytest.mark.parametrize(
  "init_value,total_steps,power,end_value",
  [
    pytest.param(1.0, 100, 1.0, 0.0, id="T100"),
    pytest.param(0.1, 33, 2.0, 1e-3, id="T33-p2-end"),
    pytest.param(0.5, 1, 1.0, 0.0, id="T1"),
    pytest.param(1e-3, 250, 0.5, 1e-5, id="T250-p0.5-end"),
  ],
)
def test_polynomial_decay_matches_optax(init_value, total_steps, power, end_value):
  n = total_steps + 20
  want = _optax_curve(
    optax.polynomial_schedule(
      init_value=init_value, end_value=end_value, power=power, transition_steps=total_steps
    ),
    n,
    jit=False,
  )
  got = jax_curve(
    jaxsched.polynomial_decay(init_value, total_steps, power=power, end_value=end_value), n
  )
  assert_curve_close(got, want, what="polynomial_decay vs optax")


# One-cycle. Optax (optax/schedules/_schedule.py) builds its one-cycle from
# piecewise_interpolate_schedule with boundaries b1 = int(pct_start * T) and T:
# it interpolates with fraction t / b1 up to the peak at step b1, then
# (t - b1) / (T - b1) down to peak / div / final_div, reached at step T and
# held. PyTorch's OneCycleLR (which jaxsched follows) puts the phase ends at
# pct_start * T' - 1 and T' - 1 for T' total steps. So Optax's curve for
# (T, pct_start) is *exactly* PyTorch's for T' = T + 1 steps and
# pct_start' = (b1 + 1) / (T + 1): phase ends b1 and T, same fractions. With
# the *same* (T, pct_start) the two are offset: jaxsched peaks one step
# earlier (pct_start * T - 1) and reaches its final value one step earlier
# (T - 1). Both facts are asserted below; neither is papered over.


@pytest.mark.parametrize(
  "total_steps,peak_value,pct_start,div_factor,final_div_factor",
  [
    pytest.param(100, 0.1, 0.3, 25.0, 1e4, id="T100"),
    pytest.param(37, 1.0, 0.25, 10.0, 100.0, id="T37-divs"),
    pytest.param(9, 0.5, 0.3, 25.0, 1e4, id="T9"),
    pytest.param(250, 0.01, 0.45, 25.0, 1e4, id="T250"),
  ],
)
def test_one_cycle_cos_matches_optax_with_shifted_boundaries(
  total_steps, peak_value, pct_start, div_factor, final_div_factor
):
  b1 = int(pct_start * total_steps)
  n = total_steps + 20
  want = _optax_curve(
    optax.cosine_onecycle_schedule(
      total_steps,
      peak_value,
      pct_start=pct_start,
      div_factor=div_factor,
      final_div_factor=final_div_factor,
    ),
    n,
  )
  got = jax_curve(
    jaxsched.one_cycle(
      peak_value,
      total_steps + 1,
      pct_start=(b1 + 1) / (total_steps + 1),
      anneal_strategy="cos",
      div_factor=div_factor,
      final_div_factor=final_div_factor,
    ),
    n,
  )
  assert_curve_close(got, want, what="one_cycle(T+1, shifted pct) vs optax.cosine_onecycle")


@pytest.mark.parametrize(
  "total_steps,peak_value,pct_start,pct_final,div_factor,final_div_factor",
  [
    pytest.param(100, 0.1, 0.3, 0.6, 25.0, 1e4, id="T100"),
    pytest.param(40, 1.0, 0.25, 0.5, 10.0, 100.0, id="T40-divs"),
    pytest.param(21, 0.5, 0.2, 0.4, 25.0, 1e4, id="T21"),
  ],
)
def test_one_cycle_linear_three_phase_matches_optax_with_shifted_boundaries(
  total_steps, peak_value, pct_start, pct_final, div_factor, final_div_factor
):
  # Optax's linear one-cycle is three-phase with a free pct_final; PyTorch's
  # three_phase is symmetric (second phase as long as the first), so they only
  # correspond when int(pct_final * T) == 2 * int(pct_start * T).
  b1 = int(pct_start * total_steps)
  assert int(pct_final * total_steps) == 2 * b1  # Precondition on the case.
  n = total_steps + 20
  want = _optax_curve(
    optax.linear_onecycle_schedule(
      total_steps,
      peak_value,
      pct_start=pct_start,
      pct_final=pct_final,
      div_factor=div_factor,
      final_div_factor=final_div_factor,
    ),
    n,
  )
  got = jax_curve(
    jaxsched.one_cycle(
      peak_value,
      total_steps + 1,
      pct_start=(b1 + 1) / (total_steps + 1),
      anneal_strategy="linear",
      three_phase=True,
      div_factor=div_factor,
      final_div_factor=final_div_factor,
    ),
    n,
  )
  assert_curve_close(got, want, what="one_cycle(T+1, linear, 3 phases) vs optax.linear_onecycle")


@pytest.mark.parametrize(
  "anneal_strategy,total_steps,pct_start",
  [
    pytest.param("cos", 100, 0.3, id="cos-T100"),
    pytest.param("cos", 40, 0.25, id="cos-T40"),
    pytest.param("linear", 100, 0.3, id="linear-3phase-T100"),
  ],
)
def test_one_cycle_same_arguments_is_one_step_ahead_of_optax(
  anneal_strategy, total_steps, pct_start
):
  peak, div, final_div = 0.1, 25.0, 1e4
  b1 = int(pct_start * total_steps)
  assert b1 == pct_start * total_steps  # Cases with an integer boundary.
  n = total_steps + 20
  if anneal_strategy == "cos":
    ref = optax.cosine_onecycle_schedule(
      total_steps, peak, pct_start=pct_start, div_factor=div, final_div_factor=final_div
    )
    ours = jaxsched.one_cycle(
      peak,
      total_steps,
      pct_start=pct_start,
      anneal_strategy="cos",
      div_factor=div,
      final_div_factor=final_div,
    )
  else:
    ref = optax.linear_onecycle_schedule(
      total_steps,
      peak,
      pct_start=pct_start,
      pct_final=2 * pct_start,
      div_factor=div,
      final_div_factor=final_div,
    )
    ours = jaxsched.one_cycle(
      peak,
      total_steps,
      pct_start=pct_start,
      anneal_strategy="linear",
      three_phase=True,
      div_factor=div,
      final_div_factor=final_div,
    )
  want = _optax_curve(ref, n)
  got = jax_curve(ours, n)
  final = peak / div / final_div
  close = lambda a, b: math.isclose(a, b, rel_tol=RTOL, abs_tol=ATOL_FRACTION * peak)
  # Where they agree: the first step and everything from step T on.
  assert close(got[0], peak / div) and close(want[0], peak / div)
  assert_curve_close(
    got[total_steps:],
    want[total_steps:],
    what="one_cycle tail vs optax",
    steps=np.arange(total_steps, n),
  )
  # The offset: jaxsched (PyTorch) peaks at b1 - 1, Optax at b1 ...
  assert close(got[b1 - 1], peak), got[b1 - 1]
  assert close(want[b1], peak), want[b1]
  assert want[b1 - 1] < peak and not close(want[b1 - 1], peak), want[b1 - 1]
  assert got[b1] < peak and not close(got[b1], peak), got[b1]
  # ... and reaches the final value at T - 1, Optax only at T.
  assert close(got[total_steps - 1], final), got[total_steps - 1]
  assert close(want[total_steps], final), want[total_steps]
  assert want[total_steps - 1] > final and not close(want[total_steps - 1], final), want[
    total_steps - 1
  ]


# =========================================================== (c) plain Python


def _ref_grokking(t, peak, total, end, warmup_fraction, decay_fraction):
  """Seed 000's GrokkingScheduler.step(), with its fractions as arguments."""
  progress = t / total
  if progress < warmup_fraction:
    return peak * (progress / warmup_fraction)
  if progress < warmup_fraction + decay_fraction:
    adjusted = (progress - warmup_fraction) / decay_fraction
    return end + (peak - end) * (1 + math.cos(math.pi * adjusted)) / 2
  return end


@pytest.mark.parametrize(
  "peak_value,total_steps,end_value,warmup_fraction,decay_fraction",
  [
    pytest.param(1e-3, 300, 1e-6, 0.1, 0.8, id="T300-defaults"),
    pytest.param(1.0, 7, 1e-3, 0.1, 0.8, id="T7"),
    pytest.param(0.01, 101, 1e-5, 0.25, 0.5, id="T101-wf0.25-df0.5"),
    pytest.param(1e-3, 40, 0.0, 0.2, 0.8, id="T40-end0-no-tail"),
    pytest.param(1e-3, 50, 1e-6, 0.0, 0.9, id="T50-no-warmup"),
    pytest.param(2e-3, 390, 1e-6, 0.1, 0.8, id="T390"),
  ],
)
def test_grokking_matches_seed(peak_value, total_steps, end_value, warmup_fraction, decay_fraction):
  n = total_steps + 10
  want = [
    _ref_grokking(t, peak_value, total_steps, end_value, warmup_fraction, decay_fraction)
    for t in range(n)
  ]
  got = jax_curve(
    jaxsched.grokking(
      peak_value,
      total_steps,
      end_value=end_value,
      warmup_fraction=warmup_fraction,
      decay_fraction=decay_fraction,
    ),
    n,
  )
  assert_curve_close(got, want, what="grokking")


def _ref_bias(t, total, high, plateau, end, high_fraction, plateau_fraction):
  """Seed 000's BiasScheduler.step(), with its values as arguments."""
  if t >= total:
    return end
  progress = t / total
  if progress < high_fraction:
    return high
  if progress < high_fraction + plateau_fraction:
    return plateau
  start = high_fraction + plateau_fraction
  adjusted = (progress - start) / (1 - start)
  return end + (plateau - end) * (1 + math.cos(math.pi * adjusted)) / 2


@pytest.mark.parametrize(
  "total_steps,values,high_fraction,plateau_fraction",
  [
    # 0.2 * 300 = 60 and 0.5 * 300 = 150 are exact boundaries.
    pytest.param(300, (1e-2, 1e-3, 1e-5), 0.2, 0.3, id="T300-defaults"),
    pytest.param(301, (1e-2, 1e-3, 1e-5), 0.2, 0.3, id="T301"),
    pytest.param(7, (1e-2, 1e-3, 1e-5), 0.2, 0.3, id="T7"),
    pytest.param(10, (0.1, 0.05, 0.0), 0.3, 0.3, id="T10-end0"),
    pytest.param(100, (0.1, 0.01, 1e-4), 0.15, 0.35, id="T100"),
    pytest.param(40, (1e-2, 1e-3, 1e-5), 0.0, 0.5, id="T40-no-high"),
  ],
)
def test_bias_mitigation_matches_seed(total_steps, values, high_fraction, plateau_fraction):
  high, plateau, end = values
  n = total_steps + 10
  want = [
    _ref_bias(t, total_steps, high, plateau, end, high_fraction, plateau_fraction) for t in range(n)
  ]
  got = jax_curve(
    jaxsched.bias_mitigation(
      total_steps,
      high_value=high,
      plateau_value=plateau,
      end_value=end,
      high_fraction=high_fraction,
      plateau_fraction=plateau_fraction,
    ),
    n,
  )
  assert_curve_close(got, want, what="bias_mitigation")


def _ref_warmup(t, peak, warmup_steps, kind, init, exponent):
  """The warmup ramps of /tmp/conventions.md."""
  r = 1.0 if warmup_steps == 0 else min(max(t / warmup_steps, 0.0), 1.0)
  if kind == "linear":
    return init + (peak - init) * r
  if kind == "cosine":
    return init + (peak - init) * 0.5 * (1 - math.cos(math.pi * r))
  if kind == "exponential":
    return init * (peak / init) ** r
  if kind == "polynomial":
    return init + (peak - init) * r**exponent
  if kind == "1-sqrt":
    return init + (peak - init) * (1 - math.sqrt(1 - r))
  raise ValueError(kind)


_WARMUPS = [
  pytest.param(1e-3, 100, "linear", 0.0, 2.0, id="linear-w100"),
  pytest.param(1e-3, 7, "linear", 1e-5, 2.0, id="linear-w7-init"),
  pytest.param(1e-3, 0, "linear", 0.0, 2.0, id="linear-w0"),
  pytest.param(1e-3, 50, "cosine", 0.0, 2.0, id="cosine-w50"),
  pytest.param(1e-3, 1, "cosine", 1e-4, 2.0, id="cosine-w1-init"),
  pytest.param(1e-3, 100, "exponential", 5e-4, 2.0, id="exponential-w100-base2"),
  pytest.param(1.0, 37, "exponential", 1e-3, 2.0, id="exponential-w37-base1000"),
  pytest.param(1e-3, 40, "polynomial", 0.0, 2.0, id="polynomial-w40-quadratic"),
  pytest.param(1e-3, 9, "polynomial", 1e-5, 3.0, id="polynomial-w9-cubic-init"),
  pytest.param(1e-3, 20, "polynomial", 0.0, 0.5, id="polynomial-w20-sqrt"),
  pytest.param(1e-3, 1, "polynomial", 0.0, 2.0, id="polynomial-w1"),
  pytest.param(1e-3, 30, "1-sqrt", 0.0, 2.0, id="1-sqrt-w30"),
  pytest.param(1e-3, 13, "1-sqrt", 1e-4, 2.0, id="1-sqrt-w13-init"),
]


@pytest.mark.parametrize("peak_value,warmup_steps,kind,init_value,exponent", _WARMUPS)
def test_warmup_matches_conventions(peak_value, warmup_steps, kind, init_value, exponent):
  n = warmup_steps + 20
  want = [_ref_warmup(t, peak_value, warmup_steps, kind, init_value, exponent) for t in range(n)]
  got = jax_curve(
    jaxsched.warmup(
      peak_value, warmup_steps, warmup_kind=kind, init_value=init_value, exponent=exponent
    ),
    n,
  )
  assert_curve_close(got, want, what=f"warmup {kind}")


# Seed 001's warmup functions, verbatim (step from 0, target reached at
# warmup_steps and held).
def _seed_linear_warmup(step, warmup_steps, target_lr):
  if step < warmup_steps:
    return target_lr * step / warmup_steps
  return target_lr


def _seed_cosine_warmup(step, warmup_steps, target_lr):
  if step < warmup_steps:
    return target_lr * 0.5 * (1 + math.cos(math.pi * (1 - step / warmup_steps)))
  return target_lr


def _seed_exponential_warmup(step, warmup_steps, target_lr, base=2):
  if step < warmup_steps:
    return target_lr * (base ** (step / warmup_steps - 1))
  return target_lr


# Seed 004's CustomWarmupDecayScheduler warmup: lr = base_lr * progress**2 with
# progress = current_step / warmup_steps, the step counted after the update
# (its step() runs after optimizer.step()), so update t in [1, warmup_steps]
# uses (t / warmup_steps)**2. Only that warmup part is compared (update 0 keeps
# the optimizer's unscheduled lr there, and a decay follows the warmup).
def _seed_quadratic_warmup(step, warmup_steps, target_lr):
  progress = step / warmup_steps
  return target_lr * (progress**2)


@pytest.mark.parametrize(
  "seed_fn,kwargs",
  [
    pytest.param(_seed_linear_warmup, dict(warmup_kind="linear"), id="001-linear"),
    pytest.param(_seed_cosine_warmup, dict(warmup_kind="cosine"), id="001-cosine"),
    pytest.param(
      lambda s, w, lr: _seed_exponential_warmup(s, w, lr, base=2),
      dict(warmup_kind="exponential", init_value=1e-3 / 2),
      id="001-exponential-base2",
    ),
    pytest.param(
      lambda s, w, lr: _seed_exponential_warmup(s, w, lr, base=10),
      dict(warmup_kind="exponential", init_value=1e-3 / 10),
      id="001-exponential-base10",
    ),
    pytest.param(
      _seed_quadratic_warmup, dict(warmup_kind="polynomial", exponent=2.0), id="004-quadratic"
    ),
  ],
)
@pytest.mark.parametrize("warmup_steps", [1, 25])
def test_warmup_matches_seed_functions(seed_fn, kwargs, warmup_steps):
  if seed_fn is _seed_quadratic_warmup:
    start, n = 1, warmup_steps + 1
  else:
    start, n = 0, warmup_steps + 10
  want = [seed_fn(t, warmup_steps, 1e-3) for t in range(start, n)]
  got = jax_curve(jaxsched.warmup(1e-3, warmup_steps, **kwargs), n)[start:]
  assert_curve_close(got, want, what=f"warmup {kwargs}", steps=np.arange(start, n))


def _ref_warmup_cosine(t, peak, warmup_steps, total, end, init, num_cycles, kind):
  """conventions: a `warmup` ramp, then HF's cosine to end_value, held at total."""
  if t < warmup_steps:
    return _ref_warmup(t, peak, warmup_steps, kind, init, 2.0)
  t = min(t, total)
  progress = (t - warmup_steps) / max(1, total - warmup_steps)
  factor = max(0.0, 0.5 * (1.0 + math.cos(math.pi * num_cycles * 2.0 * progress)))
  return end + (peak - end) * factor


@pytest.mark.parametrize(
  "warmup_steps,total_steps,end_value,init_value,num_cycles,kind",
  [
    pytest.param(10, 100, 0.0, 1e-5, 0.5, "linear", id="linear-init"),
    pytest.param(20, 120, 1e-5, 0.0, 0.5, "cosine", id="cosine-kind"),
    pytest.param(13, 60, 1e-5, 1e-6, 0.5, "exponential", id="exponential-kind"),
    pytest.param(9, 50, 0.0, 0.0, 0.5, "1-sqrt", id="1-sqrt-kind"),
    pytest.param(5, 40, 1e-5, 0.0, 0.5, "polynomial", id="polynomial-kind"),
    pytest.param(7, 61, 0.0, 1e-4, 1.25, "linear", id="init-cycles1.25"),
  ],
)
def test_warmup_cosine_kinds_match_conventions(
  warmup_steps, total_steps, end_value, init_value, num_cycles, kind
):
  n = total_steps + 20
  want = [
    _ref_warmup_cosine(t, PEAK, warmup_steps, total_steps, end_value, init_value, num_cycles, kind)
    for t in range(n)
  ]
  got = jax_curve(
    jaxsched.warmup_cosine(
      PEAK,
      warmup_steps,
      total_steps,
      end_value=end_value,
      init_value=init_value,
      num_cycles=num_cycles,
      warmup_kind=kind,
    ),
    n,
  )
  assert_curve_close(got, want, what=f"warmup_cosine warmup_kind={kind}")


@pytest.mark.parametrize(
  "d_model,warmup_steps,scale,n",
  [
    pytest.param(512, 4000, 1.0, 400, id="d512-w4000"),
    pytest.param(128, 50, 2.0, 300, id="d128-w50-scale2"),
    pytest.param(64, 1, 1.0, 50, id="d64-w1"),
    pytest.param(1024, 137, 0.5, 400, id="d1024-w137"),
  ],
)
def test_noam_matches_formula(d_model, warmup_steps, scale, n):
  # Update t is the (t + 1)-th step of the Transformer paper's formula.
  want = [
    scale * d_model**-0.5 * min((t + 1) ** -0.5, (t + 1) * warmup_steps**-1.5) for t in range(n)
  ]
  got = jax_curve(jaxsched.noam(d_model, warmup_steps, scale=scale), n)
  assert_curve_close(got, want, what="noam")


def _ref_exponential(t, init, gamma, transition_steps, staircase, end_value):
  p = t / transition_steps
  if staircase:
    p = math.floor(p)
  value = init * gamma**p
  if end_value is not None:
    value = max(value, end_value) if gamma < 1 else min(value, end_value)
  return value


@pytest.mark.parametrize("init_value,gamma,transition_steps,staircase,end_value", _EXPONENTIALS)
def test_exponential_decay_matches_formula(
  init_value, gamma, transition_steps, staircase, end_value
):
  n = 300
  want = [
    _ref_exponential(t, init_value, gamma, transition_steps, staircase, end_value) for t in range(n)
  ]
  got = jax_curve(
    jaxsched.exponential_decay(
      init_value, gamma, transition_steps=transition_steps, staircase=staircase, end_value=end_value
    ),
    n,
  )
  assert_curve_close(got, want, what="exponential_decay")
