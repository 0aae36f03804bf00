"""Resuming with the right learning rate: the failures users report, against PyTorch run live.

Each test is one reported failure: transformers #34053 (a resumed linear schedule
repeats a rate), #27749 (a resumed cosine does not anneal as the run did),
PyTorch #60265 (a CosineAnnealingLR rebuilt with ``last_epoch`` jumps) and
#68978 (warmup cannot precede ReduceLROnPlateau in a SequentialLR). The
reference is always the uninterrupted PyTorch run.
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import torch
from curves import assert_curve_close
from torch.optim import lr_scheduler as L
from transformers import optimization as hf

import jaxsched


def _optimizer(lr):
  return torch.optim.SGD([torch.nn.Parameter(torch.zeros(()))], lr=lr)


def _rates(scheduler, n):
  """The rate of each of n updates: read, then step (as a training loop does)."""
  out = []
  for _ in range(n):
    out.append(scheduler.optimizer.param_groups[0]["lr"])
    scheduler.optimizer.step()
    scheduler.step()
  return np.asarray(out)


@pytest.mark.parametrize("name,warmup", [("linear", 0), ("cosine", 3), ("cosine_with_restarts", 2)])
def test_resumed_transformers_schedule_repeats_no_rate(name, warmup):
  """#34053 / #27749: update t after a resume uses the uninterrupted run's rate of update t."""
  total, saved_at = 10, 5
  uninterrupted = _rates(hf.get_scheduler(name, _optimizer(1e-5), warmup, total), total)
  run = hf.get_scheduler(name, _optimizer(1e-5), warmup, total)
  _rates(run, saved_at)
  state = run.state_dict()  # a LambdaLR saves its step, not its function
  assert state["last_epoch"] == saved_at
  with pytest.raises(ValueError, match="build it again"):
    jaxsched.from_torch(state, scheduler_class="LambdaLR")
  lr = jaxsched.get_scheduler(name, 1e-5, warmup, total)
  # A fresh Optax state counts from 0: evaluate the schedule from the saved step.
  tx = optax.sgd(lambda count: lr(count + state["last_epoch"]))
  params = jnp.zeros(())
  opt_state = tx.init(params)
  got = []
  for _ in range(total - saved_at):
    got.append(float(jaxsched.current_learning_rate(opt_state, lambda c: lr(c + saved_at))))
    updates, opt_state = tx.update(jnp.ones(()), opt_state, params)
    # SGD's update is -lr * grad: the rate the update used.
    assert float(-updates) == pytest.approx(got[-1], rel=1e-6, abs=1e-12)
  assert_curve_close(np.asarray(got), uninterrupted[saved_at:], what=f"resumed {name}")
  if name == "linear":  # no rate used twice
    assert np.all(np.diff(got) < 0)


def test_cosine_annealing_from_its_state_dict_is_continuous():
  """#60265: resumed from its state_dict, without rebuilding the scheduler at an epoch."""
  full = _rates(L.CosineAnnealingLR(_optimizer(1e-3), T_max=100), 100)
  run = L.CosineAnnealingLR(_optimizer(1e-3), T_max=100)
  _rates(run, 45)
  state = run.state_dict()
  converted = jaxsched.from_torch(state, scheduler_class="CosineAnnealingLR")
  got = np.asarray(jax.jit(converted)(jnp.arange(state["last_epoch"], 100)))
  assert_curve_close(got, full[45:], what="resumed cosine")


def test_warmup_then_reduce_on_plateau_matches_torch():
  """#68978: warmup for W updates, then ReduceLROnPlateau on every later loss."""
  warmup, peak = 6, 0.1
  rng = np.random.default_rng(0)
  losses = np.concatenate([np.full(warmup, 9.0), 5.0 - np.cumsum(rng.uniform(-0.2, 0.3, 40))])
  # PyTorch: a LinearLR warmup stepped for W updates, then the plateau stepped with each loss.
  opt = _optimizer(peak)
  warm = L.LinearLR(opt, start_factor=0.1, total_iters=warmup)
  plateau = L.ReduceLROnPlateau(opt, factor=0.5, patience=2, threshold=0.01)
  want = []
  for t, loss in enumerate(losses):
    if t < warmup:
      want.append(opt.param_groups[0]["lr"])
      warm.step()
    else:
      plateau.step(loss)  # the loss of this update decides its rate, as value= does
      want.append(opt.param_groups[0]["lr"])
  # jaxsched: the warmup as the optimizer's schedule, the plateau observing after it.
  schedule = jaxsched.linear_factor(peak, start_factor=0.1, total_steps=warmup)
  tx = optax.chain(
    optax.sgd(schedule), jaxsched.reduce_on_plateau(factor=0.5, patience=2, threshold=0.01)
  )
  params = jnp.zeros(())
  update = jax.jit(tx.update)
  opt_state = tx.init(params)
  got = []
  for t, loss in enumerate(losses):
    updates, opt_state = update(
      jnp.ones(()), opt_state, params, value=jnp.float32(loss), observe=jnp.bool_(t >= warmup)
    )
    got.append(-float(updates))
  assert len(set(want[warmup:])) > 2  # the plateau reduced the rate after the warmup
  assert_curve_close(np.asarray(got), np.asarray(want), what="warmup then plateau")
  # Without observe=, the warmup's flat losses would count as a plateau and cut the warmup short.
  eager = optax.chain(optax.sgd(schedule), jaxsched.reduce_on_plateau(factor=0.5, patience=2))
  state = eager.init(params)
  for loss in losses[:warmup]:
    updates, state = eager.update(jnp.ones(()), state, params, value=jnp.float32(loss))
  assert -float(updates) < float(schedule(warmup - 1)) * 0.6
