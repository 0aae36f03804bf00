"""Loss-curve laws: areas, predictions, fits, the optimized schedule, a study's records.

References are NumPy loops written here from the papers' formulas (Tissue et al.
2024, Luo et al. 2025) in float64: the areas step by step, the multi-power sum
term by term, the momentum law's optimum in closed form, and a brute-force
search over WSD cooldown lengths for the multi-power law's optimum.
"""

import json

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxsched
from tests.study_records import PEAK
from tests.study_records import TOTAL
from tests.study_records import WARMUP
from tests.study_records import write_study

MPL = dict(L0=2.5, A=0.6, alpha=0.45, B=400.0, C=2.0, beta=0.6, gamma=0.65)
MOMENTUM = dict(L0=2.0, A=0.5, alpha=0.5, C=3.0, decay=0.999)
STEPS = np.arange(49, TOTAL, 50)  # the losses after updates 49, 99, ..., 999

SCHEDULES = {
  "constant": jaxsched.warmup_constant(PEAK, WARMUP),
  "cosine": jaxsched.warmup_cosine(PEAK, WARMUP, TOTAL, end_value=3e-6),
  "wsd": jaxsched.warmup_stable_decay(PEAK, WARMUP, decay_steps=200, total_steps=TOTAL),
  "step": jaxsched.multistep_decay(PEAK, [400, 700], gamma=0.3),
  "linear": jaxsched.warmup_linear(PEAK, WARMUP, TOTAL),
}


def _rates(name, n=TOTAL):
  return np.asarray(jax.jit(SCHEDULES[name])(jnp.arange(n)), np.float64)


# ----------------------------------------------------------- NumPy references


def _areas_reference(lrs, decay):
  """Tissue et al.: S1 = sum eta_i, S2 = sum m_i, m_i = decay m_{i-1} + (eta_{i-1} - eta_i),
  with the warmup (the steps up to the first maximum) left out of the drops."""
  warmup_end = int(np.argmax(lrs))
  s1, s2, m = np.zeros(len(lrs)), np.zeros(len(lrs)), 0.0
  total_1 = total_2 = 0.0
  for i, eta in enumerate(lrs):
    drop = lrs[i - 1] - eta if i > warmup_end else 0.0
    m = decay * m + drop
    total_1 += eta
    total_2 += m
    s1[i], s2[i] = total_1, total_2
  return s1, s2


def _momentum_reference(p, lrs, steps):
  s1, s2 = _areas_reference(lrs, p["decay"])
  return p["L0"] + p["A"] * s1[steps] ** -p["alpha"] - p["C"] * s2[steps]


def _multi_power_reference(p, lrs, steps):
  """Luo et al.: L0 + A (S1 + S_W)^-alpha - B sum_k (eta_{k-1} - eta_k) G(eta_k^-gamma S_k(t)),
  the sum over the updates after warmup."""
  warmup_end = int(np.argmax(lrs))
  out = []
  for t in steps:
    k = np.arange(warmup_end + 1, t + 1)
    area = np.cumsum(lrs[: t + 1][::-1])[::-1][k]  # S_k(t) = sum_{tau=k}^{t} eta_tau
    g = 1 - (p["C"] * lrs[k] ** -p["gamma"] * area + 1) ** -p["beta"]
    drop = np.sum((lrs[k - 1] - lrs[k]) * g)
    out.append(p["L0"] + p["A"] * lrs[: t + 1].sum() ** -p["alpha"] - p["B"] * drop)
  return np.asarray(out)


def _law(kind):
  return jaxsched.LossLaw(kind, MPL if kind == "multi_power" else MOMENTUM, 0.0)


def _measured(kind, names, noise, seed=0):
  """Curves drawn from a law with known parameters, times lognormal noise."""
  rng = np.random.default_rng(seed)
  law = _law(kind)
  return [
    (
      SCHEDULES[n],
      STEPS,
      np.asarray(law.predict(SCHEDULES[n], STEPS)) * np.exp(noise * rng.normal(size=STEPS.size)),
    )
    for n in names
  ]


# ------------------------------------------------------------------- lr_areas


DECAYS = np.asarray([0.0, 0.5, 0.999, 1.0])
_AREAS_OVER_DECAYS = jax.jit(jax.vmap(jaxsched.lr_areas, (None, None, 0)), static_argnums=1)


@pytest.mark.parametrize("name", ["constant", "cosine", "wsd", "step"])
def test_lr_areas_match_the_papers_loop(name):
  lrs = _rates(name)
  areas = _AREAS_OVER_DECAYS(lrs.astype(np.float32), None, DECAYS)
  chex.assert_shape((areas.s1, areas.s2), (DECAYS.size, TOTAL))
  for decay, s1_row, s2_row in zip(DECAYS, np.asarray(areas.s1), np.asarray(areas.s2)):
    s1, s2 = _areas_reference(lrs, decay)
    np.testing.assert_allclose(s1_row, s1, rtol=1e-5)
    np.testing.assert_allclose(s2_row, s2, rtol=1e-4, atol=1e-6 * max(1.0, np.abs(s2).max()))
  from_schedule = jax.jit(jaxsched.lr_areas, static_argnums=(0, 1))(SCHEDULES[name], TOTAL)
  np.testing.assert_allclose(from_schedule.s2, areas.s2[2], rtol=1e-6, atol=1e-9)


def test_lr_areas_of_an_array_jit_and_vmap():
  batch = np.stack([_rates(n) for n in ("constant", "cosine", "wsd")]).astype(np.float32)
  areas = jax.jit(jax.vmap(jaxsched.lr_areas))(batch)
  for row, lrs in zip(np.asarray(areas.s2), batch.astype(np.float64)):
    np.testing.assert_allclose(row, _areas_reference(lrs, 0.999)[1], rtol=1e-4, atol=1e-7)
  prefix = jaxsched.lr_areas(batch[1], 300)
  np.testing.assert_allclose(prefix.s1, np.cumsum(batch[1][:300]), rtol=1e-5)


def test_lr_areas_end_points_of_the_decay():
  lrs = np.asarray([0.5, 1.0, 1.0, 0.6, 0.2, 0.2])  # a warmup, then drops of 0.4 and 0.4
  peak_minus_curve = [0, 0, 0, 0.4, 0.8, 0.8]
  # decay 0: S2 is the drop so far, eta_peak - eta_t
  np.testing.assert_allclose(jaxsched.lr_areas(lrs, decay=0.0).s2, peak_minus_curve, atol=1e-7)
  # decay 1: S2 is the area between the peak and the curve
  np.testing.assert_allclose(
    jaxsched.lr_areas(lrs, decay=1.0).s2, np.cumsum(peak_minus_curve), atol=1e-7
  )


@pytest.mark.parametrize(
  "args, match",
  [
    ((jaxsched.constant(0.1),), "num_steps is required"),
    (([0.1, 0.1], 3), "beyond the 2 learning rates"),
    (([0.1, -0.1],), "update 1 is -0.1"),
    (([0.1, float("nan")],), "update 1 is nan"),
    ((np.ones((2, 2)),), "1-D array"),
    (([0.1], 1, 1.5), "decay=1.5"),
  ],
)
def test_lr_areas_bad_input(args, match):
  with pytest.raises(ValueError, match=match):
    jaxsched.lr_areas(*args)


# ------------------------------------------------------------------- predict


@pytest.mark.parametrize("name", ["constant", "cosine", "wsd", "step"])
def test_predict_matches_the_papers_formulas(name):
  lrs = _rates(name)
  for kind, reference in (
    ("momentum", _momentum_reference),
    ("multi_power", _multi_power_reference),
  ):
    law = _law(kind)
    expected = reference(law.params, lrs, STEPS)
    np.testing.assert_allclose(law.predict(SCHEDULES[name], STEPS), expected, rtol=2e-5)
    np.testing.assert_allclose(law.predict(lrs.astype(np.float32), STEPS), expected, rtol=2e-5)


def test_multi_power_long_curve_in_blocks():
  # 256 points x 6000 updates is past the 2**20 elements summed at once: the sum runs in blocks.
  total = 6000
  lrs = np.asarray(jaxsched.warmup_cosine(PEAK, 100, total)(jnp.arange(total)), np.float64)
  steps = np.linspace(100, total - 1, 256).astype(int)
  assert steps.size * total > 2**20
  law = _law("multi_power")
  np.testing.assert_allclose(
    law.predict(lrs.astype(np.float32), steps),
    _multi_power_reference(law.params, lrs, steps),
    rtol=2e-5,
  )


def test_multi_power_rate_of_zero_is_the_limit():
  law = _law("multi_power")
  to_zero = np.concatenate([np.full(500, PEAK), np.zeros(500)])  # nothing moves after the drop
  tiny = np.concatenate([np.full(500, PEAK), np.full(500, 1e-30)])
  np.testing.assert_allclose(law.predict(to_zero, STEPS), law.predict(tiny, STEPS), rtol=1e-6)
  restart = to_zero.copy()
  restart[700:] = PEAK  # a rate of 0, then a positive one: G = 1 for the drop to 0
  assert np.all(np.isfinite(law.predict(restart, STEPS)))


def test_predict_jits_and_vmaps_over_schedules():
  batch = jnp.asarray(np.stack([_rates(n) for n in SCHEDULES]), jnp.float32)
  for kind in ("momentum", "multi_power"):
    law = _law(kind)
    each = np.stack([law.predict(lrs, STEPS) for lrs in batch])
    together = jax.jit(jax.vmap(lambda lrs, law=law: law.predict(lrs, STEPS)))(batch)
    chex.assert_shape(together, (len(SCHEDULES), STEPS.size))
    np.testing.assert_allclose(together, each, rtol=1e-6)
    # A traced peak value: the law's loss as a function of the schedule's hyperparameter.
    final = jax.jit(
      jax.vmap(
        lambda p, law=law: law.predict(
          jaxsched.warmup_cosine(p, WARMUP, TOTAL)(jnp.arange(TOTAL)), TOTAL - 1
        )
      )
    )(jnp.asarray([1e-4, 3e-4]))
    chex.assert_shape(final, (2,))
    assert float(final[1]) < float(final[0])  # a larger rate goes further in these laws


def test_predict_bad_input():
  law = _law("momentum")
  with pytest.raises(ValueError, match="beyond the learning-rate curve"):
    law.predict(np.full(10, PEAK), [5, 10])
  with pytest.raises(ValueError, match="sum to 0"):
    law.predict(SCHEDULES["linear"], [0, 10])  # the warmup from 0: no area after update 0
  with pytest.raises(ValueError, match="kind="):
    jaxsched.LossLaw("power", MOMENTUM, 0.0).predict(SCHEDULES["constant"], [10])


def test_law_json_round_trip():
  law = _law("multi_power")
  again = jaxsched.LossLaw.from_json(law.to_json())
  assert again == law
  with pytest.raises(ValueError, match="has the parameters"):
    jaxsched.LossLaw.from_json(json.dumps({"kind": "momentum", "params": {"L0": 1.0}}))
  with pytest.raises(ValueError, match="kind="):
    jaxsched.LossLaw.from_json(json.dumps({"kind": "chinchilla", "params": {}}))


# ----------------------------------------------------------------------- fit


def test_momentum_fit_recovers_the_parameters_and_predicts_held_out_schedules():
  law = jaxsched.fit_loss_law(_measured("momentum", ["constant", "cosine"], 1e-3))
  assert law.kind == "momentum"
  for name in ("L0", "A", "alpha", "C"):
    np.testing.assert_allclose(law.params[name], MOMENTUM[name], rtol=0.03, err_msg=name)
  assert law.params["decay"] == 0.999
  assert 5e-4 < law.residual < 2e-3  # the noise's 1e-3 RMS, fitted, not memorized
  truth = _law("momentum")
  for name in ("wsd", "step", "linear"):
    np.testing.assert_allclose(
      law.predict(SCHEDULES[name], STEPS), truth.predict(SCHEDULES[name], STEPS), rtol=3e-3
    )


def test_multi_power_fit_predicts_held_out_schedules():
  law = jaxsched.fit_loss_law(
    _measured("multi_power", ["constant", "cosine"], 1e-3), kind="multi_power"
  )
  assert set(law.params) == set(MPL)
  # B, C, beta and gamma trade off against each other on two curves; the power law does not.
  for name in ("L0", "A", "alpha"):
    np.testing.assert_allclose(law.params[name], MPL[name], rtol=0.02, err_msg=name)
  truth = _law("multi_power")
  for name in ("wsd", "step", "linear"):
    np.testing.assert_allclose(
      law.predict(SCHEDULES[name], STEPS), truth.predict(SCHEDULES[name], STEPS), rtol=1e-2
    )


def test_evaluate_law_measures_held_out_errors():
  truth = _law("momentum")
  curves = _measured("momentum", ["wsd", "step"], 0.0)
  scale = np.linspace(1.0, 1.02, STEPS.size)  # the second curve drifts 2% above the law
  curves[1] = (curves[1][0], curves[1][1], curves[1][2] * scale)
  exact, drifting = jaxsched.evaluate_law(truth, curves)
  assert exact.final_step == TOTAL - 1
  assert abs(exact.final_rel_error) < 1e-6 and exact.curve_mape < 1e-6
  np.testing.assert_allclose(drifting.final_rel_error, 1 / 1.02 - 1, rtol=1e-4)
  np.testing.assert_allclose(drifting.curve_mape, np.mean(1 - 1 / scale), rtol=1e-4)
  np.testing.assert_allclose(
    drifting.final_loss_predicted,
    exact.final_loss_predicted * 0 + truth.predict(SCHEDULES["step"], TOTAL - 1),
    rtol=1e-6,
  )


@pytest.mark.parametrize(
  "curves, kwargs, match",
  [
    ([(SCHEDULES["constant"], [10, 20], [3.0])], {}, "2 steps and 1 losses"),
    ([(SCHEDULES["constant"], [10, 20, 30], [3.0, float("nan"), 2.0])], {}, "step 20 is nan"),
    ([(SCHEDULES["constant"], [10, 20, 30], [3.0, np.inf, 2.0])], {}, "step 20 is inf"),
    ([(SCHEDULES["constant"], [10, 20, 30], [3.0, 0.0, 2.0])], {}, "step 20 is 0.0"),
    ([(SCHEDULES["constant"], [10, 20, 30], [3.0, 2.5, 2.0])], {}, "3 measured points for the 4"),
    (
      [(SCHEDULES["constant"], STEPS[:6], np.ones(6))],
      {"kind": "multi_power"},
      "6 measured points for the 7",
    ),
    ([(np.full(100, -PEAK), STEPS[:1], [3.0])], {}, "every rate must be finite and >= 0"),
    (
      [(np.full(100, PEAK), [50, 99, 100, 150, 200], np.ones(5))],
      {},
      "beyond the learning-rate curve",
    ),
    ([(SCHEDULES["linear"], [0, 10, 20, 30, 40], np.ones(5))], {}, "sum to 0"),
    (
      [(SCHEDULES["constant"], STEPS, np.ones(STEPS.size))],
      {"kind": "chinchilla"},
      "kind='chinchilla'",
    ),
    ([(SCHEDULES["constant"], STEPS)], {}, "triple"),
    ([], {}, "no curves"),
    ([(SCHEDULES["constant"], STEPS, np.ones(STEPS.size))], {"decay": 2.0}, "decay=2.0"),
  ],
)
def test_fit_bad_input(curves, kwargs, match):
  with pytest.raises(ValueError, match=match):
    jaxsched.fit_loss_law(curves, **kwargs)


# ------------------------------------------------------------ optimize_schedule


def test_optimized_schedule_reaches_the_momentum_laws_closed_form_optimum():
  # With decay = 1, S2(T) = T * peak - S1(T) for a curve that starts at its peak, so the final
  # loss L0 + A S1^-alpha - C (T peak - S1) is lowest at S1* = (alpha A / C)^(1 / (1 + alpha)).
  total, peak, target = 1000, 1e-3, 0.5  # the constant schedule's area is 1.0
  a, alpha = 1.0, 0.5
  c = alpha * a / target ** (1 + alpha)
  law = jaxsched.LossLaw("momentum", dict(L0=2.0, A=a, alpha=alpha, C=c, decay=1.0), 0.0)
  best = jaxsched.optimize_schedule(law, total, peak, iterations=300)
  optimum = 2.0 + a * target**-alpha - c * (total * peak - target)
  np.testing.assert_allclose(best.final_loss, optimum, rtol=1e-5)
  lrs = np.asarray(best.schedule(jnp.arange(total)), np.float64)
  np.testing.assert_allclose(lrs.sum(), target, rtol=1e-3)
  np.testing.assert_allclose(
    best.final_loss, _momentum_reference(law.params, lrs, [total - 1])[0], rtol=1e-5
  )


def test_optimized_schedule_beats_every_wsd_cooldown_under_the_multi_power_law():
  law = _law("multi_power")
  best = jaxsched.optimize_schedule(law, TOTAL, PEAK, WARMUP, num_knots=16, iterations=300)
  lrs = np.asarray(best.schedule(jnp.arange(TOTAL)), np.float64)
  np.testing.assert_allclose(lrs[:WARMUP], PEAK * np.arange(WARMUP) / WARMUP, rtol=1e-5, atol=1e-12)
  assert (
    np.all(np.diff(lrs[WARMUP:]) <= 1e-12) and lrs.min() >= 0 and lrs.max() <= PEAK * (1 + 1e-6)
  )
  np.testing.assert_allclose(
    best.final_loss, _multi_power_reference(law.params, lrs, [TOTAL - 1])[0], rtol=2e-5
  )
  brute = min(
    _multi_power_reference(
      law.params,
      np.asarray(
        jaxsched.warmup_stable_decay(
          PEAK, WARMUP, decay_steps=d, total_steps=TOTAL, decay_kind=kind
        )(jnp.arange(TOTAL)),
        np.float64,
      ),
      [TOTAL - 1],
    )[0]
    for kind in ("linear", "1-sqrt", "cosine")
    for d in range(25, TOTAL - WARMUP + 1, 25)
  )
  assert best.final_loss <= brute + 1e-5, (best.final_loss, brute)
  assert (
    lrs[TOTAL // 2] == PEAK * 1.0 or lrs[TOTAL // 2] > 0.95 * PEAK
  )  # it ends like WSD: stable, then a decay
  cfg = best.config
  assert cfg["type"] == "piecewise_linear" and cfg["boundaries"][:2] == [0, WARMUP]
  np.testing.assert_allclose(
    jaxsched.piecewise_linear(cfg["boundaries"], cfg["values"])(jnp.arange(TOTAL)), lrs, rtol=1e-6
  )


@pytest.mark.parametrize(
  "kwargs, match",
  [
    (dict(total_steps=1, peak_value=PEAK), "total_steps=1"),
    (dict(total_steps=100, peak_value=0.0), "peak_value=0.0"),
    (dict(total_steps=100, peak_value=PEAK, end_value=PEAK), "end_value"),
    (
      dict(total_steps=100, peak_value=PEAK, warmup_steps=90, num_knots=16),
      "warmup_steps=90 \\+ num_knots=16",
    ),
    (dict(total_steps=100, peak_value=PEAK, num_knots=0), "num_knots=0"),
  ],
)
def test_optimize_schedule_bad_input(kwargs, match):
  with pytest.raises(ValueError, match=match):
    jaxsched.optimize_schedule(_law("momentum"), **kwargs)
  with pytest.raises(ValueError, match="must be a LossLaw"):
    jaxsched.optimize_schedule({"kind": "momentum"}, 100, PEAK)


# -------------------------------------------------------------- load_curves


def test_load_curves_rebuilds_the_schedules_and_averages_seeds(tmp_path):
  law = _law("momentum")
  path = write_study(tmp_path, law)
  curves = jaxsched.load_curves(path, ["cosine", "wsd/seed1"])
  assert list(curves) == ["cosine", "wsd/seed1"]
  sched, steps, losses = curves["cosine"]
  np.testing.assert_array_equal(steps, np.arange(49, TOTAL, 50))  # logged step 50 is update 49
  np.testing.assert_allclose(
    losses, np.asarray(law.predict(SCHEDULES["cosine"], steps)) + 0.01, rtol=1e-6
  )
  np.testing.assert_allclose(sched(jnp.arange(TOTAL)), _rates("cosine"), rtol=1e-6)
  np.testing.assert_allclose(
    curves["wsd/seed1"][2], np.asarray(law.predict(SCHEDULES["wsd"], steps)) + 0.02, rtol=1e-6
  )
  per_seed = jaxsched.load_curves(tmp_path, ["constant"], average_seeds=False)
  assert list(per_seed) == ["constant/seed0", "constant/seed1"]
  # the thin validation: fit on two, predict the third
  fitted = jaxsched.load_curves(path, ["constant", "cosine", "wsd"])
  law = jaxsched.fit_loss_law([fitted["constant"], fitted["cosine"]])
  (error,) = jaxsched.evaluate_law(law, [fitted["wsd"]])
  assert error.final_step == TOTAL - 1 and error.curve_mape < 5e-3


def test_load_curves_bad_records(tmp_path):
  path = write_study(tmp_path, _law("momentum"), seeds=(0,))
  with pytest.raises(ValueError, match="no run 'linear'"):
    jaxsched.load_curves(path, ["linear"])
  with pytest.raises(ValueError, match="no row of .* has 'train_loss'"):
    jaxsched.load_curves(path, metric="train_loss")
  rows = [json.loads(line) for line in path.read_text().splitlines()]
  rows[3]["lr"] *= 0.5  # an optimizer that halved the rate: no schedule describes the run
  path.write_text("\n".join(json.dumps(r) for r in rows))
  with pytest.raises(ValueError, match="the optimizer changed the rate"):
    jaxsched.load_curves(path, ["constant"])
  rows[3]["lr"] *= 2.0
  rows[5].update(diverged=True, val_loss=None, diverged_at_step=260)
  path.write_text("\n".join(json.dumps(r) for r in rows))
  with pytest.raises(ValueError, match="diverged at step 260"):
    jaxsched.load_curves(path, ["constant"])
  (tmp_path / "config.json").unlink()
  with pytest.raises(ValueError, match="config.json not found"):
    jaxsched.load_curves(path)


# ---------------------------------------------------------- piecewise_linear


def test_piecewise_linear_matches_np_interp():
  rng = np.random.default_rng(0)
  steps = np.arange(-3, 700)
  for _ in range(5):
    boundaries = np.sort(rng.choice(600, size=rng.integers(1, 8), replace=False))
    values = rng.uniform(0, 1, boundaries.size) * (rng.uniform(size=boundaries.size) > 0.3)
    sched = jax.jit(jaxsched.piecewise_linear(boundaries.tolist(), values.tolist()))
    expected = np.interp(np.maximum(steps, 0), boundaries, values)
    np.testing.assert_allclose(sched(steps), expected, rtol=1e-6, atol=1e-7)


def test_piecewise_linear_traced_values_and_huge_steps():
  values = jnp.asarray([[0.0, 1.0, 0.5], [0.0, 2.0, 1.0]])
  steps = jnp.asarray([5, 2**30, 2**31 - 1])
  out = jax.jit(jax.vmap(lambda v: jaxsched.piecewise_linear([0, 10, 2**31 - 1], v)(steps)))(values)
  exact = np.interp([5, 2**30, 2**31 - 1], [0, 10, 2**31 - 1], [0.0, 1.0, 0.5])
  np.testing.assert_allclose(out[0], exact, rtol=1e-6)
  np.testing.assert_allclose(out[1], 2 * exact, rtol=1e-6)


@pytest.mark.parametrize(
  "boundaries, values, match",
  [
    ([0, 10], [1.0], "2 entries and values 1"),
    ([], [], "at least one number"),
    ([0, 10, 10], [1.0, 0.5, 0.1], "strictly increasing"),
    ([0, -10], [1.0, 0.5], "boundaries="),
    ([0, 10.5], [1.0, 0.5], "integer number of steps"),
    ([0, 10], [1.0, -0.5], "values="),
    ([0, 10], [1.0, float("inf")], "values="),
  ],
)
def test_piecewise_linear_bad_input(boundaries, values, match):
  with pytest.raises(ValueError, match=match):
    jaxsched.piecewise_linear(boundaries, values)
