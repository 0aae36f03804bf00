"""Weight averaging: EMA decays, averaging weights, SWALR, and the averages in the optimizer state.

References, run live: timm's ``ModelEmaV3`` (``timm/utils/model_ema.py``,
loaded from the installed file: it imports only torch), PyTorch's
``AveragedModel`` and ``SWALR``. Levanter is not installed (it needs equinox,
haliax and draccus); its ``EmaDecaySqrtModelAveraging`` is written out in
NumPy below from its source.
"""

import importlib.metadata
import importlib.util
import math
import pathlib

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import orbax.checkpoint as ocp
import pytest
import torch
from curves import assert_curve_close
from curves import jax_curve

import jaxsched


def _load_timm_model_ema():
  path = importlib.metadata.distribution("timm").locate_file("timm/utils/model_ema.py")
  spec = importlib.util.spec_from_file_location("timm_model_ema", path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


TIMM = _load_timm_model_ema()
N = 400

TIMM_CONFIGS = {
  "defaults": dict(),
  "after_step": dict(decay=0.999, update_after_step=7),
  "warmup": dict(decay=0.9999, use_warmup=True),
  "warmup_3_4": dict(decay=0.999, use_warmup=True, warmup_power=0.75, update_after_step=3),
  "warmup_gamma_min": dict(
    decay=0.99, min_decay=0.5, use_warmup=True, warmup_gamma=10.0, warmup_power=1.0
  ),
  "min_above_decay": dict(decay=0.9, min_decay=0.95, use_warmup=True),
}


@pytest.mark.parametrize("name", list(TIMM_CONFIGS))
def test_timm_ema_decay_is_model_ema_v3_get_decay_at_step_t_plus_1(name):
  kw = TIMM_CONFIGS[name]
  ema = TIMM.ModelEmaV3(torch.nn.Linear(2, 1), **kw)
  # timm's train.py: num_updates += 1; model_ema.update(model, step=num_updates)
  want = np.array([ema.get_decay(t + 1) for t in range(N)])
  got = jax_curve(jaxsched.timm_ema_decay(**kw), N)
  assert_curve_close(got, want, what=f"timm_ema_decay {name}")
  assert got[0] == 0.0  # the first update copies the model


def _mlp_params(rng):
  return {"w": rng.normal(size=(3, 4)).astype(np.float32), "b": np.zeros(3, np.float32)}


def _data():
  rng = np.random.default_rng(1)
  return rng.normal(size=(16, 4)).astype(np.float32), rng.normal(size=(16, 3)).astype(np.float32)


def _module(p):
  """A torch Linear(4, 3) holding the parameters ``p``."""
  module = torch.nn.Linear(4, 3)
  with torch.no_grad():
    module.weight.copy_(torch.tensor(np.asarray(p["w"], np.float32)))
    module.bias.copy_(torch.tensor(np.asarray(p["b"], np.float32)))
  return module


def _numpy(module):
  return {"w": module.weight.detach().numpy().copy(), "b": module.bias.detach().numpy().copy()}


def _torch_trajectory(params0, steps):
  """The parameters after each update of plain SGD (lr 0.1) in torch."""
  x, y = (torch.tensor(a) for a in _data())
  model = _module(params0)
  opt = torch.optim.SGD(model.parameters(), lr=0.1)
  out = []
  for _ in range(steps):
    opt.zero_grad()
    torch.mean((model(x) - y) ** 2).backward()
    opt.step()
    out.append(_numpy(model))
  return out


def _stack(seq):
  return {k: np.stack([s[k] for s in seq]) for k in ("w", "b")}


def _jax_sgd_run(tx_average, params0, steps):
  """The same SGD in JAX with ``tx_average`` chained last; the average after every update."""
  x, y = (jnp.asarray(a) for a in _data())
  tx = optax.chain(optax.sgd(0.1), tx_average)
  loss = lambda p: jnp.mean((x @ p["w"].T + p["b"][None, :] - y) ** 2)

  def step(carry, _):
    params, state = carry
    updates, state = tx.update(jax.grad(loss)(params), state, params)
    params = optax.apply_updates(params, updates)
    return (params, state), state[1]

  params = jax.tree.map(jnp.asarray, params0)
  _, states = jax.jit(lambda p: jax.lax.scan(step, (p, tx.init(p)), None, length=steps))(params)
  return states


@pytest.mark.parametrize("name", ["warmup", "warmup_gamma_min", "after_step"])
def test_ema_params_with_timm_decay_equals_model_ema_v3(name):
  kw = TIMM_CONFIGS[name]
  params0 = _mlp_params(np.random.default_rng(0))
  ema = TIMM.ModelEmaV3(_module(params0), **kw)
  want = []
  for t, params in enumerate(_torch_trajectory(params0, 60)):
    ema.update(_module(params), step=t + 1)  # as timm's train.py: step=num_updates
    want.append(_numpy(ema.module))
  states = _jax_sgd_run(jaxsched.ema_params(jaxsched.timm_ema_decay(**kw)), params0, 60)
  assert isinstance(states, jaxsched.EmaParamsState)
  got = jax.tree.map(np.asarray, states.ema_params)
  chex.assert_trees_all_close(got, _stack(want), rtol=1e-5, atol=1e-6)


def _averaged_model(params0, steps, start=0, **kwargs):
  """torch AveragedModel.update_parameters after each update from ``start``."""
  swa = torch.optim.swa_utils.AveragedModel(_module(params0), **kwargs)
  want = []
  for t, params in enumerate(_torch_trajectory(params0, steps)):
    if t >= start:
      swa.update_parameters(_module(params))
      want.append(_numpy(swa.module))
  return _stack(want)


def test_ema_params_equals_torch_averaged_model_ema():
  # AveragedModel's first update copies the model, then decays by 0.95: the
  # decay schedule 0, 0.95, 0.95, ... (jaxsched.timm_ema_decay without warmup).
  params0 = _mlp_params(np.random.default_rng(2))
  multi_avg_fn = torch.optim.swa_utils.get_ema_multi_avg_fn(0.95)
  want = _averaged_model(params0, 50, multi_avg_fn=multi_avg_fn)
  states = _jax_sgd_run(jaxsched.ema_params(jaxsched.timm_ema_decay(decay=0.95)), params0, 50)
  chex.assert_trees_all_close(
    jax.tree.map(np.asarray, states.ema_params), want, rtol=1e-5, atol=1e-6
  )


def test_average_params_equals_swa_averaged_model_from_a_start_step():
  params0 = _mlp_params(np.random.default_rng(3))
  start = 20
  want = _averaged_model(params0, 60, start=start)
  # Weight 0 before the start, 1 from it.
  weight = jaxsched.constant_factor(1.0, factor=0.0, total_steps=start)
  states = _jax_sgd_run(jaxsched.average_params(weight), params0, 60)
  got = jax.tree.map(lambda v: np.asarray(v)[start:], states.average_params)
  chex.assert_trees_all_close(got, want, rtol=1e-5, atol=1e-6)
  before = jax.tree.map(lambda v: np.asarray(v)[:start], states.average_params)
  for key in ("w", "b"):  # the average holds the initial parameters until the start
    np.testing.assert_array_equal(before[key], np.broadcast_to(params0[key], before[key].shape))


# --------------------------------------------------------------------------
# Levanter's EmaDecaySqrtModelAveraging, from src/levanter/optim/model_averaging.py:
#   _raw_weight(step): 1 - beta if step < switch_step else
#                      1 - sqrt(clip((step - switch_step) / decay_steps, 0, 1))
#   update(new_model, step): tot += w; alpha = 0 if tot == 0 else w / tot
#                            model = optax.incremental_update(new_model, model, alpha)
# called by TrainerState.take_step with the step before its increment.


def _levanter_weight(step, beta, switch_step, decay_steps):
  if step < switch_step:
    return 1.0 - beta
  frac = min(max((step - switch_step) / decay_steps, 0.0), 1.0)
  return 1.0 - math.sqrt(frac)


LEVANTER = [(0.999, 30, 40), (0.9, 0, 25), (0.5, 10, 1)]


@pytest.mark.parametrize("beta,switch_step,decay_steps", LEVANTER)
def test_ema_sqrt_weight_is_levanter_raw_weight(beta, switch_step, decay_steps):
  want = np.array([_levanter_weight(t, beta, switch_step, decay_steps) for t in range(N)])
  got = jax_curve(jaxsched.ema_sqrt_weight(beta, switch_step, decay_steps), N)
  assert_curve_close(got, want, what="ema_sqrt_weight")


@pytest.mark.parametrize("beta,switch_step,decay_steps", LEVANTER[:2])
def test_average_params_with_ema_sqrt_weight_is_levanter_averaging(beta, switch_step, decay_steps):
  params0 = _mlp_params(np.random.default_rng(4))
  steps = 90
  model = {k: v.astype(np.float64) for k, v in params0.items()}
  tot, want = 0.0, []
  for t, new in enumerate(_torch_trajectory(params0, steps)):
    w = _levanter_weight(t, beta, switch_step, decay_steps)
    tot += w
    alpha = 0.0 if tot == 0.0 else w / tot
    model = {k: alpha * new[k] + (1.0 - alpha) * model[k] for k in model}
    want.append(model)
  states = _jax_sgd_run(
    jaxsched.average_params(jaxsched.ema_sqrt_weight(beta, switch_step, decay_steps)),
    params0,
    steps,
  )
  for key in ("w", "b"):
    np.testing.assert_allclose(
      np.asarray(states.average_params[key]),
      np.stack([m[key] for m in want]),
      rtol=1e-5,
      atol=1e-6,
    )
  # Past switch_step + decay_steps the weight is 0: the average is frozen.
  frozen = states.average_params["w"][switch_step + decay_steps :]
  np.testing.assert_array_equal(np.asarray(frozen), np.asarray(frozen[:1]).repeat(len(frozen), 0))


# --------------------------------------------------------------------------
# SWALR.


def _torch_swalr(init, end, anneal, strategy, n, warm_steps=0):
  """The rates of SWALR after 0..n-1 steps, started after ``warm_steps`` of a cosine schedule."""
  opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=init)
  if warm_steps:
    first = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=50, eta_min=0.001)
    for _ in range(warm_steps):
      opt.step()
      first.step()
  start = opt.param_groups[0]["lr"]
  swa = torch.optim.swa_utils.SWALR(opt, swa_lr=end, anneal_epochs=anneal, anneal_strategy=strategy)
  rates = []
  for _ in range(n):
    rates.append(opt.param_groups[0]["lr"])
    opt.step()
    swa.step()
  return start, np.array(rates)


@pytest.mark.parametrize("strategy", ["cos", "linear"])
@pytest.mark.parametrize("anneal", [0, 1, 5, 10, 37])
def test_swa_lr_equals_torch_swalr(strategy, anneal):
  start, want = _torch_swalr(0.1, 0.02, anneal, strategy, 80)
  assert start == 0.1
  got = jax_curve(jaxsched.swa_lr(0.1, 0.02, anneal_steps=anneal, anneal_strategy=strategy), 80)
  assert_curve_close(got, want, what=f"swa_lr {strategy} {anneal}")


@pytest.mark.parametrize("strategy", ["cos", "linear"])
def test_swa_lr_starts_from_the_rate_another_scheduler_left(strategy):
  # SWALR built after 30 steps of CosineAnnealingLR anneals from that rate;
  # an SWA rate above it anneals upwards.
  for end in (0.0005, 0.05):
    start, want = _torch_swalr(0.1, end, 15, strategy, 40, warm_steps=30)
    cosine = jaxsched.cosine_annealing(0.1, t_max=50, eta_min=0.001)
    assert abs(float(cosine(30)) - start) <= 1e-7
    whole = jaxsched.sequential(
      [cosine, jaxsched.swa_lr(cosine(30), end, 15, strategy)], boundaries=[30]
    )
    got = jax_curve(whole, 70)[30:]
    assert_curve_close(got, want, what=f"cosine then swa_lr to {end}")


# --------------------------------------------------------------------------
# The transformations: updates pass through, MultiSteps, orbax, dtypes, errors.


def test_updates_pass_through_unchanged():
  params = {"a": jnp.arange(3.0)}
  updates = {"a": jnp.array([0.5, -1.0, 2.0])}
  for tx in (
    jaxsched.ema_params(0.9),
    jaxsched.average_params(jaxsched.ema_sqrt_weight(0.9, 2, 3)),
  ):
    out, _ = tx.update(updates, tx.init(params), params)
    chex.assert_trees_all_equal(out, updates)


def test_constant_decay_uses_one_minus_decay_in_float64():
  # 1 - float32(0.9999) is 1.0000000000287557e-4 * (1 + 1.3e-4); the rate here is 1e-4.
  tx = jaxsched.ema_params(0.9999)
  state = tx.init(jnp.zeros(1))
  _, state = tx.update(jnp.ones(1), state, jnp.zeros(1))
  np.testing.assert_allclose(float(state.ema_params[0]), 1e-4, rtol=1e-7)


def test_average_moves_once_per_real_update_inside_multisteps():
  params = jnp.zeros(2)
  inner = optax.chain(optax.sgd(1.0), jaxsched.average_params())
  tx = optax.MultiSteps(inner, every_k_schedule=3)
  state = tx.init(params)
  for _ in range(9):
    updates, state = tx.update(jnp.full(2, -1.0), state, params)
    params = optax.apply_updates(params, updates)
  # three real updates, to params 1, 2, 3: the mean is 2
  np.testing.assert_allclose(np.asarray(optax.tree.get(state, "average_params")), [2.0, 2.0])
  assert int(optax.tree.get(state, "average_params_count")) == 3


def test_accumulator_dtype():
  params = {"w": jnp.ones(3, jnp.bfloat16)}
  state = jaxsched.ema_params(0.99, accumulator_dtype=jnp.float32).init(params)
  assert state.ema_params["w"].dtype == jnp.float32
  assert state.ema_params_count.dtype == jnp.int32
  state = jaxsched.average_params().init(params)
  assert state.average_params["w"].dtype == jnp.bfloat16
  assert state.average_params_weight_sum.dtype == jnp.float32


@pytest.mark.parametrize(
  "make,state_type",
  [
    (
      lambda: jaxsched.ema_params(jaxsched.timm_ema_decay(0.9, use_warmup=True)),
      jaxsched.EmaParamsState,
    ),
    (
      lambda: jaxsched.average_params(jaxsched.ema_sqrt_weight(0.9, 5, 10)),
      jaxsched.AverageParamsState,
    ),
  ],
  ids=["ema_params", "average_params"],
)
def test_orbax_round_trip_resumes_bit_for_bit(make, state_type, tmp_path: pathlib.Path):
  def run(tx, params, state, steps):
    @jax.jit
    def step(params, state):
      grads = jax.grad(lambda p: jnp.sum((p["w"] - 1.0) ** 2))(params)
      updates, state = tx.update(grads, state, params)
      return optax.apply_updates(params, updates), state

    for _ in range(steps):
      params, state = step(params, state)
    return params, state

  build = lambda: optax.chain(optax.adam(0.1), make())
  params0 = {"w": jnp.arange(3.0)}
  tx = build()
  full = run(tx, params0, tx.init(params0), 16)
  half = run(tx, params0, tx.init(params0), 8)
  with ocp.CheckpointManager(tmp_path, options=ocp.CheckpointManagerOptions(create=True)) as mgr:
    mgr.save(8, args=ocp.args.Composite(state=ocp.args.StandardSave(half)))
    mgr.wait_until_finished()
  fresh = build()
  abstract = jax.eval_shape(lambda: (params0, fresh.init(params0)))
  with ocp.CheckpointManager(tmp_path) as mgr:
    restored = mgr.restore(8, args=ocp.args.Composite(state=ocp.args.StandardRestore(abstract)))
  params, state = restored["state"]
  assert isinstance(state[1], state_type)
  resumed = run(fresh, params, state, 8)
  chex.assert_trees_all_equal(resumed, full)


BAD = [
  (jaxsched.timm_ema_decay, dict(decay=1.5), r"timm_ema_decay: decay=1.5 must be .* in \[0, 1\]"),
  (jaxsched.timm_ema_decay, dict(min_decay=-0.1), "min_decay=-0.1"),
  (jaxsched.timm_ema_decay, dict(update_after_step=-1), "update_after_step=-1"),
  (jaxsched.timm_ema_decay, dict(use_warmup=1), "use_warmup=1 must be True or False"),
  (jaxsched.timm_ema_decay, dict(warmup_gamma=0.0), r"warmup_gamma=0.0 must be .* \(0, inf\)"),
  (jaxsched.timm_ema_decay, dict(warmup_power=-1.0), "warmup_power=-1.0"),
  (jaxsched.ema_sqrt_weight, dict(beta=1.1), "ema_sqrt_weight: beta=1.1"),
  (jaxsched.ema_sqrt_weight, dict(switch_step=-5), "switch_step=-5"),
  (jaxsched.ema_sqrt_weight, dict(decay_steps=0), r"decay_steps=0 must be .* steps in \[1"),
  (jaxsched.swa_lr, dict(init_value=-1.0, end_value=0.1), "swa_lr: init_value=-1.0"),
  (jaxsched.swa_lr, dict(init_value=0.1, end_value=float("nan")), "end_value=nan"),
  (jaxsched.swa_lr, dict(init_value=0.1, end_value=0.1, anneal_steps=1.5), "anneal_steps=1.5"),
  (
    jaxsched.swa_lr,
    dict(init_value=0.1, end_value=0.1, anneal_strategy="cosine"),
    "anneal_strategy=",
  ),
  (jaxsched.ema_params, dict(decay=1.01), "ema_params: decay=1.01"),
  (jaxsched.average_params, dict(weight=-1.0), "average_params: weight=-1.0"),
]


@pytest.mark.parametrize("factory,kwargs,match", BAD)
def test_bad_input_raises_value_error_naming_the_argument(factory, kwargs, match):
  with pytest.raises(ValueError, match=match):
    factory(**kwargs)


def test_update_without_params_raises():
  for tx in (jaxsched.ema_params(0.9), jaxsched.average_params()):
    with pytest.raises(ValueError, match="update needs params"):
      tx.update(jnp.ones(1), tx.init(jnp.zeros(1)))


@pytest.mark.parametrize("strategy", ["cos", "linear"])
@pytest.mark.parametrize("anneal,stepped", [(10, 0), (10, 4), (10, 25), (0, 3), (1, 2)])
def test_from_torch_converts_swalr_at_any_step(strategy, anneal, stepped):
  # A fresh SWALR, one in the middle of its annealing and one past it (it was the
  # optimizer's first scheduler): sched(t) is the rate at last_epoch == t.
  opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
  swa = torch.optim.swa_utils.SWALR(
    opt, swa_lr=0.01, anneal_epochs=anneal, anneal_strategy=strategy
  )
  rates = [opt.param_groups[0]["lr"]]
  for _ in range(stepped):
    opt.step()
    swa.step()
    rates.append(opt.param_groups[0]["lr"])
  sched = jaxsched.from_torch(swa)
  for _ in range(40 - stepped):
    opt.step()
    swa.step()
    rates.append(opt.param_groups[0]["lr"])
  assert_curve_close(jax_curve(sched, len(rates)), np.array(rates), what="from_torch(SWALR)")


def test_from_torch_swalr_after_another_scheduler_recovers_its_start_rate():
  opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
  first = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=50)
  for _ in range(20):
    opt.step()
    first.step()
  swa = torch.optim.swa_utils.SWALR(opt, swa_lr=0.005, anneal_epochs=15)
  rates = [opt.param_groups[0]["lr"]]
  for _ in range(6):
    opt.step()
    swa.step()
    rates.append(opt.param_groups[0]["lr"])
  sched = jaxsched.from_torch(swa)  # mid-annealing: start rate recovered, not initial_lr 0.1
  for _ in range(20):
    opt.step()
    swa.step()
    rates.append(opt.param_groups[0]["lr"])
  assert rates[0] < 0.09
  assert_curve_close(jax_curve(sched, len(rates)), np.array(rates), what="from_torch(SWALR)")


def test_from_torch_refuses_swalr_inside_a_sequential_lr():
  opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
  parts = [
    torch.optim.lr_scheduler.ConstantLR(opt, factor=1.0, total_iters=1),
    torch.optim.swa_utils.SWALR(opt, swa_lr=0.01, anneal_epochs=5),
  ]
  seq = torch.optim.lr_scheduler.SequentialLR(opt, parts, milestones=[10])
  with pytest.raises(ValueError, match="SWALR at SequentialLR"):
    jaxsched.from_torch(seq)
