"""Live parity with ``torch.optim.lr_scheduler``, value for value.

Every reference curve here is produced by running the real PyTorch scheduler:
an SGD (or Adam) optimizer over one dummy parameter, reading
``optimizer.param_groups[0]["lr"]`` (and the momentum) right before each
``optimizer.step()``, then calling ``scheduler.step()``. That is exactly the
step convention of jaxsched: ``sched(t)`` is the rate of update number ``t``,
i.e. the rate in effect after ``t`` calls of ``scheduler.step()``. The jaxsched
side is always evaluated as ``jax.jit(sched)(jnp.arange(n))``.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from curves import assert_curve_close
from curves import jax_curve
from torch.optim import lr_scheduler

import jaxsched


def _torch_curve(make_scheduler, n, *, lr=1.0, optimizer="sgd", momentum=0.0):
  """Runs a PyTorch scheduler for n updates of a dummy parameter.

  Args:
    make_scheduler: ``optimizer -> scheduler``.
    n: number of optimizer updates to record.
    lr: the optimizer's initial learning rate (the schedulers' base lr).
    optimizer: "sgd" or "adam".
    momentum: SGD momentum (must be > 0 for schedulers that cycle momentum).

  Returns:
    (lrs, momenta): float64 arrays of length n; entry t is what the optimizer
    uses for its update t (read before the (t+1)-th ``optimizer.step()``).
    Momentum is SGD's ``momentum`` or Adam's ``betas[0]``.
  """
  param = torch.nn.Parameter(torch.zeros(()))
  if optimizer == "adam":
    opt = torch.optim.Adam([param], lr=lr, betas=(0.9, 0.999))
  else:
    opt = torch.optim.SGD([param], lr=lr, momentum=momentum)
  scheduler = make_scheduler(opt)
  lrs, momenta = [], []
  for t in range(n):
    group = opt.param_groups[0]
    lrs.append(float(group["lr"]))
    momenta.append(float(group["betas"][0] if "betas" in group else group["momentum"]))
    param.grad = torch.ones(())
    opt.step()  # Before scheduler.step(), as PyTorch asks (no warning).
    if t + 1 < n:  # OneCycleLR raises when stepped past total_steps.
      scheduler.step()
  return np.asarray(lrs), np.asarray(momenta)


# ---------------------------------------------------------------- ConstantLR


@pytest.mark.parametrize(
  "init_value,factor,total_steps,n",
  [
    pytest.param(0.1, 1 / 3, 5, 12, id="default-factor"),
    pytest.param(1.0, 0.5, 1, 6, id="total1"),
    pytest.param(0.05, 0.25, 7, 20, id="total7"),
    pytest.param(0.2, 1.0, 4, 8, id="factor1"),
    pytest.param(0.3, 0.1, 13, 40, id="total13"),
  ],
)
def test_constant_factor_matches_constant_lr(init_value, factor, total_steps, n):
  want, _ = _torch_curve(
    lambda opt: lr_scheduler.ConstantLR(opt, factor=factor, total_iters=total_steps),
    n,
    lr=init_value,
  )
  got = jax_curve(jaxsched.constant_factor(init_value, factor=factor, total_steps=total_steps), n)
  assert_curve_close(got, want, what="constant_factor")


def test_constant_factor_zero_total_steps_matches_torch_closed_form():
  # With total_iters=0 PyTorch's chainable ConstantLR.step() applies the factor
  # at epoch 0 and never lifts it again (it only undoes it when
  # last_epoch == total_iters, which is epoch 0, handled first). Its own closed
  # form and its docs say "factor until total_iters", i.e. never. The closed
  # form is the documented behaviour, so that is the reference here.
  init_value, factor, n = 0.1, 0.5, 6
  param = torch.nn.Parameter(torch.zeros(()))
  opt = torch.optim.SGD([param], lr=init_value)
  sched = lr_scheduler.ConstantLR(opt, factor=factor, total_iters=0)
  want = []
  for t in range(n):
    sched.last_epoch = t
    want.append(float(sched._get_closed_form_lr()[0]))
  got = jax_curve(jaxsched.constant_factor(init_value, factor=factor, total_steps=0), n)
  assert_curve_close(got, np.asarray(want), what="constant_factor total_steps=0")


# ------------------------------------------------------------------ LinearLR


@pytest.mark.parametrize(
  "init_value,start_factor,end_factor,total_steps,n",
  [
    pytest.param(0.1, 1 / 3, 1.0, 5, 12, id="default-factors"),
    pytest.param(1.0, 0.5, 0.1, 10, 15, id="decreasing"),
    pytest.param(0.05, 0.25, 1.0, 1, 5, id="total1"),
    pytest.param(0.2, 1.0, 0.0, 7, 12, id="to-zero"),
    pytest.param(0.3, 0.01, 0.7, 37, 50, id="total37"),
  ],
)
def test_linear_factor_matches_linear_lr(init_value, start_factor, end_factor, total_steps, n):
  want, _ = _torch_curve(
    lambda opt: lr_scheduler.LinearLR(
      opt, start_factor=start_factor, end_factor=end_factor, total_iters=total_steps
    ),
    n,
    lr=init_value,
  )
  got = jax_curve(
    jaxsched.linear_factor(
      init_value, start_factor=start_factor, end_factor=end_factor, total_steps=total_steps
    ),
    n,
  )
  assert_curve_close(got, want, what="linear_factor")


# -------------------------------------------------------------------- StepLR


@pytest.mark.parametrize(
  "init_value,step_size,gamma,n",
  [
    pytest.param(0.1, 3, 0.1, 20, id="size3-n20"),
    pytest.param(1.0, 7, 0.5, 50, id="size7-n50"),
    pytest.param(0.05, 1, 0.9, 30, id="size1"),
    pytest.param(0.5, 30, 0.3, 100, id="size30-n100"),
  ],
)
def test_step_decay_matches_step_lr(init_value, step_size, gamma, n):
  want, _ = _torch_curve(
    lambda opt: lr_scheduler.StepLR(opt, step_size=step_size, gamma=gamma), n, lr=init_value
  )
  got = jax_curve(jaxsched.step_decay(init_value, step_size, gamma=gamma), n)
  assert_curve_close(got, want, what="step_decay")


# --------------------------------------------------------------- MultiStepLR


@pytest.mark.parametrize(
  "init_value,milestones,gamma,n",
  [
    pytest.param(0.1, [5, 12], 0.1, 20, id="sorted"),
    pytest.param(1.0, [4, 4, 9], 0.5, 15, id="duplicate"),
    pytest.param(0.1, [12, 3, 7], 0.5, 20, id="unsorted"),
    pytest.param(0.2, [9, 2, 9, 5], 0.7, 15, id="unsorted-duplicate"),
    pytest.param(0.1, [3, 50], 0.1, 20, id="milestone-past-n"),
    pytest.param(0.1, [1], 0.1, 5, id="milestone1"),
  ],
)
def test_multistep_decay_matches_multistep_lr(init_value, milestones, gamma, n):
  want, _ = _torch_curve(
    lambda opt: lr_scheduler.MultiStepLR(opt, milestones=milestones, gamma=gamma), n, lr=init_value
  )
  got = jax_curve(jaxsched.multistep_decay(init_value, milestones, gamma=gamma), n)
  assert_curve_close(got, want, what="multistep_decay")


# ------------------------------------------------------------- ExponentialLR


@pytest.mark.parametrize(
  "init_value,gamma,n",
  [
    pytest.param(0.1, 0.9, 60, id="g0.9"),
    pytest.param(1.0, 0.5, 40, id="g0.5-to-tiny"),
    pytest.param(0.01, 0.99, 400, id="g0.99-n400"),
    pytest.param(0.3, 1.0, 10, id="g1"),
  ],
)
def test_exponential_decay_matches_exponential_lr(init_value, gamma, n):
  want, _ = _torch_curve(lambda opt: lr_scheduler.ExponentialLR(opt, gamma=gamma), n, lr=init_value)
  got = jax_curve(jaxsched.exponential_decay(init_value, gamma, transition_steps=1), n)
  assert_curve_close(got, want, what="exponential_decay")


# -------------------------------------------------------------- PolynomialLR


@pytest.mark.parametrize(
  "init_value,total_steps,power,n",
  [
    pytest.param(0.1, 10, 1.0, 15, id="T10-p1"),
    pytest.param(1.0, 7, 2.0, 12, id="T7-p2"),
    pytest.param(0.05, 1, 1.0, 4, id="T1"),
    pytest.param(0.2, 33, 0.5, 40, id="T33-p0.5"),
    pytest.param(1.0, 100, 3.0, 120, id="T100-p3"),
  ],
)
def test_polynomial_decay_matches_polynomial_lr(init_value, total_steps, power, n):
  want, _ = _torch_curve(
    lambda opt: lr_scheduler.PolynomialLR(opt, total_iters=total_steps, power=power),
    n,
    lr=init_value,
  )
  got = jax_curve(jaxsched.polynomial_decay(init_value, total_steps, power=power, end_value=0.0), n)
  assert_curve_close(got, want, what="polynomial_decay")


# --------------------------------------------------------- CosineAnnealingLR


@pytest.mark.parametrize(
  "init_value,t_max,eta_min,n",
  [
    # n ~ 3 * t_max: past t_max PyTorch's cosine keeps going (it rises back to
    # init_value at 2 * t_max), which the closed form must reproduce.
    pytest.param(0.1, 10, 0.0, 30, id="tmax10"),
    pytest.param(1.0, 7, 0.01, 22, id="tmax7-etamin"),
    pytest.param(0.5, 1, 0.0, 6, id="tmax1"),
    pytest.param(1.0, 2, 0.1, 9, id="tmax2-etamin"),
    pytest.param(0.1, 100, 0.001, 300, id="tmax100-n300"),
  ],
)
def test_cosine_annealing_matches_cosine_annealing_lr(init_value, t_max, eta_min, n):
  want, _ = _torch_curve(
    lambda opt: lr_scheduler.CosineAnnealingLR(opt, T_max=t_max, eta_min=eta_min), n, lr=init_value
  )
  got = jax_curve(jaxsched.cosine_annealing(init_value, t_max, eta_min=eta_min), n)
  assert_curve_close(got, want, what="cosine_annealing")


# ----------------------------------------------- CosineAnnealingWarmRestarts


@pytest.mark.parametrize(
  "init_value,t_0,t_mult,eta_min,n",
  [
    pytest.param(0.1, 1, 1, 0.0, 10, id="t0=1-mult1"),
    pytest.param(0.1, 1, 2, 0.0, 40, id="t0=1-mult2"),
    pytest.param(0.1, 1, 3, 0.0, 50, id="t0=1-mult3"),
    pytest.param(1.0, 5, 1, 0.01, 30, id="t0=5-mult1-etamin"),
    pytest.param(0.1, 10, 1, 0.0, 35, id="t0=10-mult1"),
    pytest.param(1.0, 7, 2, 0.0, 100, id="t0=7-mult2"),
    pytest.param(0.5, 3, 3, 0.05, 130, id="t0=3-mult3-etamin"),
    pytest.param(1.0, 4, 3, 0.0, 200, id="t0=4-mult3"),
  ],
)
def test_cosine_warm_restarts_matches_torch(init_value, t_0, t_mult, eta_min, n):
  want, _ = _torch_curve(
    lambda opt: lr_scheduler.CosineAnnealingWarmRestarts(
      opt, T_0=t_0, T_mult=t_mult, eta_min=eta_min
    ),
    n,
    lr=init_value,
  )
  got = jax_curve(jaxsched.cosine_warm_restarts(init_value, t_0, t_mult=t_mult, eta_min=eta_min), n)
  assert_curve_close(got, want, what="cosine_warm_restarts")


# ------------------------------------------------------------------ CyclicLR

_CYCLES = [
  pytest.param(4, None, "triangular", 1.0, 30, id="triangular-up4"),
  pytest.param(3, 5, "triangular", 1.0, 40, id="triangular-up3-down5"),
  pytest.param(1, 1, "triangular", 1.0, 10, id="triangular-up1-down1"),
  pytest.param(4, None, "triangular2", 1.0, 60, id="triangular2-up4"),
  pytest.param(5, 2, "triangular2", 1.0, 50, id="triangular2-up5-down2"),
  pytest.param(7, 13, "triangular2", 1.0, 200, id="triangular2-up7-down13"),
  pytest.param(5, None, "exp_range", 0.97, 60, id="exp_range-up5"),
  pytest.param(3, 7, "exp_range", 0.99, 80, id="exp_range-up3-down7"),
]


@pytest.mark.parametrize("step_size_up,step_size_down,mode,gamma,n", _CYCLES)
def test_cyclic_matches_cyclic_lr(step_size_up, step_size_down, mode, gamma, n):
  base_lr, max_lr = 0.001, 0.006
  want, _ = _torch_curve(
    lambda opt: lr_scheduler.CyclicLR(
      opt,
      base_lr=base_lr,
      max_lr=max_lr,
      step_size_up=step_size_up,
      step_size_down=step_size_down,
      mode=mode,
      gamma=gamma,
      cycle_momentum=False,
    ),
    n,
    lr=base_lr,
  )
  got = jax_curve(
    jaxsched.cyclic(
      base_lr,
      max_lr,
      step_size_up=step_size_up,
      step_size_down=step_size_down,
      mode=mode,
      gamma=gamma,
    ),
    n,
  )
  assert_curve_close(got, want, what="cyclic")


@pytest.mark.parametrize(
  "base_momentum,max_momentum",
  [
    pytest.param(0.8, 0.9, id="m0.8-0.9"),
    pytest.param(0.7, 0.99, id="m0.7-0.99"),
  ],
)
@pytest.mark.parametrize("step_size_up,step_size_down,mode,gamma,n", _CYCLES[1::2])
def test_cyclic_momentum_matches_cyclic_lr_momentum(
  base_momentum, max_momentum, step_size_up, step_size_down, mode, gamma, n
):
  _, want = _torch_curve(
    lambda opt: lr_scheduler.CyclicLR(
      opt,
      base_lr=0.01,
      max_lr=0.1,
      step_size_up=step_size_up,
      step_size_down=step_size_down,
      mode=mode,
      gamma=gamma,
      cycle_momentum=True,
      base_momentum=base_momentum,
      max_momentum=max_momentum,
    ),
    n,
    lr=0.01,
    momentum=0.9,
  )
  got = jax_curve(
    jaxsched.cyclic_momentum(
      base_momentum=base_momentum,
      max_momentum=max_momentum,
      step_size_up=step_size_up,
      step_size_down=step_size_down,
      mode=mode,
      gamma=gamma,
    ),
    n,
  )
  assert_curve_close(got, want, what="cyclic_momentum")


# ---------------------------------------------------------------- OneCycleLR

# Sizes avoid pct_start * total_steps == 1 (and, for three phases, a middle or
# last phase of zero length): PyTorch divides 0 / 0 there and raises.
_ONE_CYCLES = [
  pytest.param(0.1, 100, 0.3, "cos", False, 25.0, 1e4, id="T100-cos"),
  pytest.param(0.01, 37, 0.25, "linear", False, 10.0, 100.0, id="T37-linear-divs"),
  pytest.param(1.0, 9, 0.3, "cos", True, 25.0, 1e4, id="T9-cos-3phase"),
  pytest.param(0.5, 51, 0.2, "linear", True, 25.0, 1e4, id="T51-linear-3phase"),
  pytest.param(0.1, 101, 0.3, "cos", True, 4.0, 1e3, id="T101-cos-3phase"),
  pytest.param(0.1, 5, 0.5, "linear", False, 25.0, 1e4, id="T5-linear"),
  pytest.param(0.1, 3, 0.3, "cos", False, 25.0, 1e4, id="T3-cos"),
  pytest.param(1.0, 2, 0.3, "cos", False, 25.0, 1e4, id="T2-cos"),
  pytest.param(0.3, 1, 0.3, "linear", False, 25.0, 1e4, id="T1-linear"),
  pytest.param(0.2, 400, 0.45, "cos", False, 5.0, 50.0, id="T400-cos"),
  # pct_start anywhere in [0, 1], as torch accepts: three phases above 0.5 end in the second.
  pytest.param(0.1, 40, 0.7, "cos", True, 25.0, 1e4, id="T40-cos-3phase-late"),
  pytest.param(0.1, 33, 1.0, "linear", True, 10.0, 100.0, id="T33-linear-3phase-pct1"),
  pytest.param(0.1, 21, 0.52, "cos", True, 25.0, 1e4, id="T21-cos-3phase-just-late"),
  pytest.param(0.1, 20, 0.0, "cos", False, 25.0, 1e4, id="T20-cos-pct0"),
  pytest.param(0.1, 20, 1.0, "linear", False, 25.0, 1e4, id="T20-linear-pct1"),
]


@pytest.mark.parametrize(
  "max_lr,total_steps,pct_start,anneal_strategy,three_phase,div_factor,final_div_factor",
  _ONE_CYCLES,
)
def test_one_cycle_matches_one_cycle_lr(
  max_lr, total_steps, pct_start, anneal_strategy, three_phase, div_factor, final_div_factor
):
  kwargs = dict(
    pct_start=pct_start,
    anneal_strategy=anneal_strategy,
    three_phase=three_phase,
    div_factor=div_factor,
    final_div_factor=final_div_factor,
  )
  # OneCycleLR is defined on steps [0, total_steps) only.
  want, _ = _torch_curve(
    lambda opt: lr_scheduler.OneCycleLR(
      opt, max_lr=max_lr, total_steps=total_steps, cycle_momentum=False, **kwargs
    ),
    total_steps,
    lr=max_lr,
  )
  got = jax_curve(jaxsched.one_cycle(max_lr, total_steps, **kwargs), total_steps)
  assert_curve_close(got, want, what="one_cycle")


@pytest.mark.parametrize(
  "max_lr,total_steps,pct_start,anneal_strategy,three_phase,div_factor,final_div_factor",
  _ONE_CYCLES[:4],
)
def test_one_cycle_holds_final_value_after_total_steps(
  max_lr, total_steps, pct_start, anneal_strategy, three_phase, div_factor, final_div_factor
):
  # PyTorch raises past total_steps; the documented behaviour is to hold
  # max_lr / div_factor / final_div_factor from step total_steps - 1 on.
  sched = jaxsched.one_cycle(
    max_lr,
    total_steps,
    pct_start=pct_start,
    anneal_strategy=anneal_strategy,
    three_phase=three_phase,
    div_factor=div_factor,
    final_div_factor=final_div_factor,
  )
  steps = np.array(
    [total_steps - 1, total_steps, total_steps + 1, total_steps + 1000, 10**6, 2**31 - 1],
    dtype=np.int32,
  )
  got = np.asarray(jax.jit(sched)(jnp.asarray(steps)))
  final = max_lr / div_factor / final_div_factor
  assert_curve_close(got, np.full(steps.shape, final), what="one_cycle hold", steps=steps)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize(
  "total_steps,base_momentum,max_momentum,pct_start,anneal_strategy,three_phase",
  [
    pytest.param(100, 0.85, 0.95, 0.3, "cos", False, id="T100-cos"),
    pytest.param(37, 0.8, 0.9, 0.25, "linear", True, id="T37-linear-3phase"),
    pytest.param(9, 0.85, 0.95, 0.3, "cos", True, id="T9-cos-3phase"),
    pytest.param(5, 0.9, 0.99, 0.5, "linear", False, id="T5-linear"),
  ],
)
def test_one_cycle_momentum_matches_one_cycle_lr_momentum(
  optimizer, total_steps, base_momentum, max_momentum, pct_start, anneal_strategy, three_phase
):
  kwargs = dict(pct_start=pct_start, anneal_strategy=anneal_strategy, three_phase=three_phase)
  _, want = _torch_curve(
    lambda opt: lr_scheduler.OneCycleLR(
      opt,
      max_lr=0.1,
      total_steps=total_steps,
      cycle_momentum=True,
      base_momentum=base_momentum,
      max_momentum=max_momentum,
      **kwargs,
    ),
    total_steps,
    lr=0.1,
    optimizer=optimizer,
    momentum=0.9,
  )
  got = jax_curve(
    jaxsched.one_cycle_momentum(
      total_steps, base_momentum=base_momentum, max_momentum=max_momentum, **kwargs
    ),
    total_steps,
  )
  assert_curve_close(got, want, what=f"one_cycle_momentum ({optimizer})")


# --------------------------------------------------------------- SequentialLR

_SEQUENTIAL = [
  pytest.param(
    0.1,
    lambda opt: [
      lr_scheduler.LinearLR(opt, start_factor=0.1, total_iters=5),
      lr_scheduler.CosineAnnealingLR(opt, T_max=20),
    ],
    lambda lr: [
      jaxsched.linear_factor(lr, start_factor=0.1, end_factor=1.0, total_steps=5),
      jaxsched.cosine_annealing(lr, 20),
    ],
    [5],
    40,
    id="linear-then-cosine",
  ),
  pytest.param(
    0.05,
    lambda opt: [
      lr_scheduler.ConstantLR(opt, factor=0.5, total_iters=3),
      lr_scheduler.ExponentialLR(opt, gamma=0.9),
    ],
    lambda lr: [
      jaxsched.constant_factor(lr, factor=0.5, total_steps=3),
      jaxsched.exponential_decay(lr, 0.9),
    ],
    [7],
    25,
    id="constant-then-exponential",
  ),
  pytest.param(
    1.0,
    lambda opt: [
      lr_scheduler.LinearLR(opt, start_factor=0.25, total_iters=4),
      lr_scheduler.ExponentialLR(opt, gamma=0.9),
      lr_scheduler.CosineAnnealingLR(opt, T_max=15, eta_min=0.001),
    ],
    lambda lr: [
      jaxsched.linear_factor(lr, start_factor=0.25, end_factor=1.0, total_steps=4),
      jaxsched.exponential_decay(lr, 0.9),
      jaxsched.cosine_annealing(lr, 15, eta_min=0.001),
    ],
    [4, 12],
    40,
    id="linear-exponential-cosine",
  ),
  pytest.param(
    0.2,
    lambda opt: [
      lr_scheduler.StepLR(opt, step_size=3, gamma=0.5),
      lr_scheduler.PolynomialLR(opt, total_iters=10, power=2.0),
      lr_scheduler.MultiStepLR(opt, milestones=[2, 5], gamma=0.1),
    ],
    lambda lr: [
      jaxsched.step_decay(lr, 3, gamma=0.5),
      jaxsched.polynomial_decay(lr, 10, power=2.0),
      jaxsched.multistep_decay(lr, [2, 5], gamma=0.1),
    ],
    [6, 20],
    35,
    id="step-polynomial-multistep",
  ),
]


@pytest.mark.parametrize("lr,torch_parts,jax_parts,boundaries,n", _SEQUENTIAL)
def test_sequential_matches_sequential_lr(lr, torch_parts, jax_parts, boundaries, n):
  want, _ = _torch_curve(
    lambda opt: lr_scheduler.SequentialLR(opt, torch_parts(opt), milestones=boundaries), n, lr=lr
  )
  got = jax_curve(jaxsched.sequential(jax_parts(lr), boundaries), n)
  assert_curve_close(got, want, what="sequential")


# ----------------------------------------------------------- ChainedScheduler

_CHAINED = [
  pytest.param(
    0.1,
    lambda opt: [
      lr_scheduler.ConstantLR(opt, factor=0.5, total_iters=3),
      lr_scheduler.ExponentialLR(opt, gamma=0.9),
    ],
    lambda: [
      jaxsched.constant_factor(1.0, factor=0.5, total_steps=3),
      jaxsched.exponential_decay(1.0, gamma=0.9),
    ],
    20,
    id="constant-exponential",
  ),
  pytest.param(
    1.0,
    lambda opt: [
      lr_scheduler.LinearLR(opt, start_factor=0.2, total_iters=6),
      lr_scheduler.StepLR(opt, step_size=4, gamma=0.5),
    ],
    lambda: [
      jaxsched.linear_factor(1.0, start_factor=0.2, end_factor=1.0, total_steps=6),
      jaxsched.step_decay(1.0, 4, gamma=0.5),
    ],
    20,
    id="linear-step",
  ),
  pytest.param(
    0.05,
    lambda opt: [
      lr_scheduler.ConstantLR(opt, factor=0.5, total_iters=3),
      lr_scheduler.LinearLR(opt, start_factor=0.25, total_iters=8),
      lr_scheduler.MultiStepLR(opt, milestones=[5, 9, 9], gamma=0.3),
    ],
    lambda: [
      jaxsched.constant_factor(1.0, factor=0.5, total_steps=3),
      jaxsched.linear_factor(1.0, start_factor=0.25, end_factor=1.0, total_steps=8),
      jaxsched.multistep_decay(1.0, [5, 9, 9], gamma=0.3),
    ],
    20,
    id="constant-linear-multistep",
  ),
  pytest.param(
    1.0,
    lambda opt: [
      lr_scheduler.PolynomialLR(opt, total_iters=10, power=2.0),
      lr_scheduler.ExponentialLR(opt, gamma=0.95),
    ],
    lambda: [
      jaxsched.polynomial_decay(1.0, 10, power=2.0),
      jaxsched.exponential_decay(1.0, gamma=0.95),
    ],
    15,
    id="polynomial-exponential",
  ),
]


@pytest.mark.parametrize("lr,torch_parts,jax_parts,n", _CHAINED)
def test_chained_matches_chained_scheduler(lr, torch_parts, jax_parts, n):
  want, _ = _torch_curve(
    lambda opt: lr_scheduler.ChainedScheduler(torch_parts(opt), optimizer=opt), n, lr=lr
  )
  got = jax_curve(jaxsched.chained(lr, *jax_parts()), n)
  assert_curve_close(got, want, what="chained")


def test_torch_helper_reads_the_rate_of_each_update():
  # Guards the harness itself: with StepLR(step_size=1, gamma=0.5) update t
  # must use lr * 0.5**t, starting with the unscaled rate at update 0.
  lrs, _ = _torch_curve(lambda opt: lr_scheduler.StepLR(opt, step_size=1, gamma=0.5), 4, lr=0.8)
  np.testing.assert_allclose(lrs, [0.8 * 0.5**t for t in range(4)], rtol=1e-12)
