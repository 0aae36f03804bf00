"""Momentum schedules in real optimizer updates, against PyTorch and NumPy.

One fixed least-squares problem, ``0.5 * mean((X w - y)**2)``, is trained
``T`` steps from the same start by

* Optax: ``optax.inject_hyperparams(optax.sgd or optax.adam)`` with a jaxsched
  learning-rate schedule and a jaxsched momentum schedule, in float32, each
  update through ``jax.jit``;
* the reference: ``torch.optim.SGD`` / ``torch.optim.Adam`` driven by
  ``OneCycleLR`` / ``CyclicLR`` with ``cycle_momentum=True`` (or by seed 000's
  ``AdaptiveMomentumScheduler``, copied verbatim below), in float64;
* a plain NumPy loop of the update rule, fed the learning rates and momenta
  the reference optimizer used, also in float64.

The update rules. SGD: Optax's ``sgd(lr, momentum)`` is ``trace`` then a scale,
``b <- m_t b + g; w <- w - lr_t b`` from ``b = 0``; PyTorch's SGD with
``dampening=0, nesterov=False`` sets ``b = g`` on its first step (the same
thing) and then ``b <- m_t b + g; w <- w - lr_t b``. Identical forms, the
momentum of step t multiplying the old buffer. Adam: both compute
``m <- b1_t m + (1 - b1_t) g`` (PyTorch as ``lerp``), ``v`` likewise with b2,
and bias-correct with the *current* beta1, ``1 - b1_t ** t`` (PyTorch:
``bias_correction1 = 1 - beta1 ** step`` with the group's beta1 of this step;
Optax: ``bias_correction(mu, b1, count)`` with the injected b1), then
``w <- w - lr_t m_hat / (sqrt(v_hat) + eps)``. So they agree by design and the
Adam test compares with PyTorch directly. (With a time-varying b1 the
"unbiased" correction would be ``1 - prod_i b1_i``; neither library does that,
and the test shows the difference is detectable.)

Each test checks: the momentum (or b1) and learning rate Optax used at every
step equal PyTorch's; PyTorch's parameters equal the NumPy loop to float64
rounding (so the forms above are what PyTorch runs); Optax's parameters equal
PyTorch's within ``ATOL``; and a one-step shift of the momentum sequence moves
the parameters by far more than ``ATOL`` (so the comparison can fail).

Tolerance. Optax runs in float32: every update rounds ``w`` (|w| <= ~3 here)
and the gradient at ``eps32 = 1.2e-7`` relative. Over ``T = 40`` steps of a
stable iteration the rounding errors add at most linearly, about
``T * eps32 * max|w| ~ 1.4e-5``; measured differences are 6e-7 or below.
``ATOL = 2e-5`` sits above that bound, while a one-step timing error in the
momentum moves the parameters by 4e-4 or more here, asserted ``> 10 * ATOL``.
"""

import math
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import torch

import jaxsched

T = 40
ATOL = 2e-5  # float32 Optax vs float64 reference, see the module docstring
HYPER_ATOL = 1e-6  # a float32 schedule value vs PyTorch's float64 one (values <= 1)
SHIFT_MIN = 10 * ATOL  # how far a one-step momentum shift must move the parameters

_rng = np.random.default_rng(1234)
X = _rng.normal(size=(32, 5))
Y = X @ _rng.normal(size=5) + 0.1 * _rng.normal(size=32)
W0 = _rng.normal(size=5)


def _grad(w: np.ndarray) -> np.ndarray:
  return X.T @ (X @ w - Y) / len(Y)


# --- Optax -------------------------------------------------------------------


def _train_optax(tx: optax.GradientTransformation) -> tuple[np.ndarray, list[dict]]:
  """Final params and, per step, the hyperparameters that update used."""
  x, y = jnp.asarray(X, jnp.float32), jnp.asarray(Y, jnp.float32)

  def loss(w):
    return 0.5 * jnp.mean((x @ w - y) ** 2)

  @jax.jit
  def step(w, state):
    updates, state = tx.update(jax.grad(loss)(w), state, w)
    return optax.apply_updates(w, updates), state

  w = jnp.asarray(W0, jnp.float32)
  state = tx.init(w)
  used = []
  for _ in range(T):
    w, state = step(w, state)
    # inject_hyperparams stores the values it evaluated for this update.
    used.append({k: float(v) for k, v in state.hyperparams.items()})
  return np.asarray(w, np.float64), used


# --- PyTorch -----------------------------------------------------------------


def _train_torch(
  make_optimizer: Callable[[list], torch.optim.Optimizer],
  make_scheduler: Callable[[torch.optim.Optimizer], Any],
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
  """Final params and, per step, the lr / momentum / beta1 each ``opt.step()`` used."""
  w = torch.tensor(W0, dtype=torch.float64, requires_grad=True)
  x, y = torch.tensor(X), torch.tensor(Y)
  optimizer = make_optimizer([w])
  scheduler = make_scheduler(optimizer)
  used = {"lr": [], "momentum": [], "beta1": []}
  for _ in range(T):
    group = optimizer.param_groups[0]
    used["lr"].append(group["lr"])
    used["momentum"].append(group.get("momentum", math.nan))
    used["beta1"].append(group["betas"][0] if "betas" in group else math.nan)
    optimizer.zero_grad()
    loss = 0.5 * torch.mean((x @ w - y) ** 2)
    loss.backward()
    optimizer.step()
    scheduler.step()
  return w.detach().numpy().copy(), {k: np.asarray(v) for k, v in used.items()}


# --- NumPy update rules ------------------------------------------------------


def _sgd_momentum_numpy(lrs, momenta) -> np.ndarray:
  w, buf = W0.copy(), np.zeros_like(W0)
  for lr, m in zip(lrs, momenta):
    buf = m * buf + _grad(w)
    w = w - lr * buf
  return w


def _adam_numpy(lrs, b1s, b2=0.999, eps=1e-8, bias_correction="current") -> np.ndarray:
  """Adam with a per-step b1; ``bias_correction`` "current" (1 - b1_t**t) or "product"."""
  w, m, v, prod = W0.copy(), np.zeros_like(W0), np.zeros_like(W0), 1.0
  for t, (lr, b1) in enumerate(zip(lrs, b1s), start=1):
    g = _grad(w)
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    prod *= b1
    bc1 = 1 - b1**t if bias_correction == "current" else 1 - prod
    w = w - lr * (m / bc1) / (np.sqrt(v / (1 - b2**t)) + eps)
  return w


def _shifted(values: np.ndarray) -> np.ndarray:
  """The momentum of step t + 1 used at step t (an off-by-one schedule)."""
  return np.concatenate([values[1:], values[-1:]])


def _close(a, b, atol):
  np.testing.assert_allclose(a, b, rtol=0, atol=atol)


# --- (a) one-cycle SGD momentum ----------------------------------------------

ONE_CYCLE = [
  dict(pct_start=0.3, anneal_strategy="cos", three_phase=False),
  dict(pct_start=0.25, anneal_strategy="linear", three_phase=True),
]


@pytest.mark.parametrize(
  "kw",
  ONE_CYCLE,
  ids=lambda kw: f"{kw['anneal_strategy']}-{'three' if kw['three_phase'] else 'two'}",
)
def test_one_cycle_sgd_matches_torch(kw):
  max_lr, base_m, max_m = 0.5, 0.85, 0.95
  tx = optax.inject_hyperparams(optax.sgd)(
    learning_rate=jaxsched.one_cycle(max_lr, T, **kw),
    momentum=jaxsched.one_cycle_momentum(T, base_momentum=base_m, max_momentum=max_m, **kw),
  )
  w_optax, used = _train_optax(tx)
  w_torch, ref = _train_torch(
    lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.0, nesterov=False),
    lambda o: torch.optim.lr_scheduler.OneCycleLR(
      o,
      max_lr=max_lr,
      total_steps=T,
      cycle_momentum=True,
      base_momentum=base_m,
      max_momentum=max_m,
      **kw,
    ),
  )

  _close([u["learning_rate"] for u in used], ref["lr"], HYPER_ATOL * max_lr)
  _close([u["momentum"] for u in used], ref["momentum"], HYPER_ATOL)
  assert np.ptp(ref["momentum"]) > 0.09  # the momentum really cycles
  _close(w_torch, _sgd_momentum_numpy(ref["lr"], ref["momentum"]), 1e-12)
  _close(w_optax, w_torch, ATOL)
  shifted = _sgd_momentum_numpy(ref["lr"], _shifted(ref["momentum"]))
  assert np.max(np.abs(shifted - w_torch)) > SHIFT_MIN


# --- (b) one-cycle Adam b1 ---------------------------------------------------


def test_one_cycle_adam_b1_matches_torch():
  max_lr, base_m, max_m = 0.05, 0.85, 0.95
  kw = dict(pct_start=0.3, anneal_strategy="cos")
  tx = optax.inject_hyperparams(optax.adam)(
    learning_rate=jaxsched.one_cycle(max_lr, T, **kw),
    b1=jaxsched.one_cycle_momentum(T, base_momentum=base_m, max_momentum=max_m, **kw),
    b2=0.999,
    eps=1e-8,
  )
  w_optax, used = _train_optax(tx)
  w_torch, ref = _train_torch(
    lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.9, 0.999), eps=1e-8),
    lambda o: torch.optim.lr_scheduler.OneCycleLR(
      o,
      max_lr=max_lr,
      total_steps=T,
      cycle_momentum=True,
      base_momentum=base_m,
      max_momentum=max_m,
      **kw,
    ),
  )

  _close([u["learning_rate"] for u in used], ref["lr"], HYPER_ATOL * max_lr)
  _close([u["b1"] for u in used], ref["beta1"], HYPER_ATOL)
  assert np.ptp(ref["beta1"]) > 0.09
  # PyTorch is the NumPy recurrence with the current beta1 in the bias correction.
  _close(w_torch, _adam_numpy(ref["lr"], ref["beta1"]), 1e-12)
  _close(w_optax, w_torch, ATOL)
  assert np.max(np.abs(_adam_numpy(ref["lr"], _shifted(ref["beta1"])) - w_torch)) > SHIFT_MIN
  product = _adam_numpy(ref["lr"], ref["beta1"], bias_correction="product")
  assert np.max(np.abs(product - w_torch)) > SHIFT_MIN


# --- (c) cyclic SGD momentum -------------------------------------------------

CYCLIC = [
  dict(step_size_up=5, step_size_down=3, mode="triangular"),
  dict(step_size_up=4, step_size_down=None, mode="triangular2"),
  dict(step_size_up=6, step_size_down=4, mode="exp_range", gamma=0.97),
]


@pytest.mark.parametrize("kw", CYCLIC, ids=lambda kw: kw["mode"])
def test_cyclic_sgd_momentum_matches_torch(kw):
  base_lr, max_lr, base_m, max_m = 0.05, 0.4, 0.8, 0.95
  tx = optax.inject_hyperparams(optax.sgd)(
    learning_rate=jaxsched.cyclic(base_lr, max_lr, **kw),
    momentum=jaxsched.cyclic_momentum(base_m, max_m, **kw),
  )
  w_optax, used = _train_optax(tx)
  w_torch, ref = _train_torch(
    lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
    lambda o: torch.optim.lr_scheduler.CyclicLR(
      o,
      base_lr=base_lr,
      max_lr=max_lr,
      cycle_momentum=True,
      base_momentum=base_m,
      max_momentum=max_m,
      **kw,
    ),
  )

  _close([u["learning_rate"] for u in used], ref["lr"], HYPER_ATOL * max_lr)
  _close([u["momentum"] for u in used], ref["momentum"], HYPER_ATOL)
  assert np.ptp(ref["momentum"]) > 0.05
  _close(w_torch, _sgd_momentum_numpy(ref["lr"], ref["momentum"]), 1e-12)
  _close(w_optax, w_torch, ATOL)
  shifted = _sgd_momentum_numpy(ref["lr"], _shifted(ref["momentum"]))
  assert np.max(np.abs(shifted - w_torch)) > SHIFT_MIN


# --- (d) adaptive momentum vs seed 000 ---------------------------------------


class AdaptiveMomentumScheduler:
  """Seed 000's class (/work/shared/seeds/000_*.txt), verbatim but for the 2-space indent."""

  def __init__(self, optimizer, lr_scheduler, max_momentum=0.95, min_momentum=0.85):
    self.optimizer = optimizer
    self.lr_scheduler = lr_scheduler
    self.max_momentum = max_momentum
    self.min_momentum = min_momentum
    self.initial_lr = optimizer.param_groups[0]["lr"]

  def step(self):
    # Step the LR scheduler
    self.lr_scheduler.step()

    # Adjust momentum inversely to learning rate
    current_lr = self.optimizer.param_groups[0]["lr"]
    lr_ratio = current_lr / self.initial_lr

    # Higher LR -> Lower momentum, Lower LR -> Higher momentum
    momentum = self.max_momentum - (self.max_momentum - self.min_momentum) * lr_ratio
    momentum = max(min(momentum, self.max_momentum), self.min_momentum)

    # Update momentum (for SGD optimizers)
    for param_group in self.optimizer.param_groups:
      if "momentum" in param_group:
        param_group["momentum"] = momentum


ADAPTIVE = {
  # The rate falls from the reference: momentum climbs from min towards max.
  "cosine_annealing": (
    lambda: jaxsched.cosine_annealing(0.3, t_max=T, eta_min=0.003),
    lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=T, eta_min=0.003),
  ),
  # The rate climbs 25x above the reference (clipped at min), then falls
  # far below it (momentum back up to max).
  "one_cycle": (
    lambda: jaxsched.one_cycle(0.5, T, pct_start=0.3),
    lambda o: torch.optim.lr_scheduler.OneCycleLR(
      o, max_lr=0.5, total_steps=T, pct_start=0.3, cycle_momentum=False
    ),
  ),
}


@pytest.mark.parametrize("name", list(ADAPTIVE))
def test_adaptive_momentum_matches_seed(name):
  make_lr, make_torch_lr = ADAPTIVE[name]
  max_m, min_m = 0.95, 0.85
  # The seed sets the momentum only in step(), after the first update; that
  # update runs with the optimizer's own momentum. Its rule at the initial
  # rate (lr_ratio = 1) gives min_momentum, so the SGD is built with that.
  seed = {}

  def make_scheduler(optimizer):
    seed["obj"] = AdaptiveMomentumScheduler(optimizer, make_torch_lr(optimizer), max_m, min_m)
    return seed["obj"]

  w_torch, ref = _train_torch(lambda p: torch.optim.SGD(p, lr=0.3, momentum=min_m), make_scheduler)
  reference_lr = seed["obj"].initial_lr  # the seed's initial_lr: the rate at step 0

  lr = make_lr()
  tx = optax.inject_hyperparams(optax.sgd)(
    learning_rate=lr, momentum=jaxsched.adaptive_momentum(lr, reference_lr, max_m, min_m)
  )
  w_optax, used = _train_optax(tx)

  _close([u["learning_rate"] for u in used], ref["lr"], HYPER_ATOL * max(ref["lr"]))
  _close([u["momentum"] for u in used], ref["momentum"], HYPER_ATOL)
  assert np.ptp(ref["momentum"]) > 0.05  # the momentum really moves
  w_numpy = _sgd_momentum_numpy(ref["lr"], ref["momentum"])
  _close(w_torch, w_numpy, 1e-12)
  _close(w_optax, w_numpy, ATOL)
  shifted = _sgd_momentum_numpy(ref["lr"], _shifted(ref["momentum"]))
  assert np.max(np.abs(shifted - w_numpy)) > SHIFT_MIN
