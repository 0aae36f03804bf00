"""The LM study's loss-law validation: the ``law`` preset, and the summary built from records."""

import json
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

import jaxsched
from experiments.common import config as config_lib
from experiments.common import engine
from experiments.lm_warmup import configs
from experiments.lm_warmup import law as law_study
from experiments.lm_warmup import train
from tests import study_records

REQUIRED = (
  "schedule",
  "kind",
  "fit_on",
  "held_out",
  "final_loss_actual",
  "final_loss_predicted",
  "final_rel_error",
  "curve_mape",
)
# A multi-power law with the scales of a small LM's validation curve (nats per character).
TRUTH = jaxsched.LossLaw(
  "multi_power",
  dict(L0=1.2, A=0.5, alpha=0.5, B=300.0, C=2.0, beta=0.6, gamma=0.5),
  0.0,
)


def test_law_preset_validates():
  config = configs.get("law")
  engine.check(train.STUDY, config)
  schedules = {law_study.split_name(r["name"])[1] for r in config.runs}
  assert set(law_study.FIT_ON) <= schedules
  assert {"wsd10-linear", "wsd10-1-sqrt", "wsd20-linear", "wsd20-1-sqrt", "linear", "step"} <= (
    schedules
  )
  assert config.total_steps >= 3000 and len(config.seeds) >= 2


def test_law_preset_schedules_share_warmup_and_peak():
  config = configs.get("law")
  peaks, warmups = set(), set()
  for run in config.runs:
    sched = jaxsched.resolve_config(run["schedule"], learning_rate=run["learning_rate"]).build()
    rates = np.asarray(jax.jit(sched)(jnp.arange(400)))
    peaks.add(round(float(rates.max()), 9))
    warmups.add(law_study.warmup_end(rates))
    assert float(sched(config.total_steps - 1)) <= rates.max()
  assert peaks == {configs.law.PEAK} and warmups == {configs.law.WARMUP}


def test_split_name_and_warmup_end():
  assert law_study.split_name("width=128/wsd10-1-sqrt") == (128, "wsd10-1-sqrt")
  assert law_study.split_name("cosine") == (None, "cosine")
  rates = np.concatenate([np.linspace(0.0, 1.0, 11)[1:], np.full(5, 1.0), [0.5]])
  assert law_study.warmup_end(rates) == 9
  assert law_study.warmup_end(np.asarray([2.0, 1.0])) == 0


def test_compare_is_a_paired_t_interval():
  optimized, cosine = [1.20, 1.25, 1.22], [1.23, 1.26, 1.27]
  out = law_study.compare(optimized, cosine)
  diff = np.subtract(optimized, cosine)
  half = stats.t.ppf(0.975, 2) * diff.std(ddof=1) / np.sqrt(3)
  assert out["interval95"] == pytest.approx([diff.mean() - half, diff.mean() + half])
  assert out["below_cosine_every_seed"] and out["seeds"] == 3
  assert law_study.compare([1.0], [1.1])["interval95"] is None


def _records(tmp_path):
  total, warmup = study_records.TOTAL, study_records.WARMUP
  runs = {f"width=64/{k}": v for k, v in study_records.RUNS.items()}
  results = tmp_path / "law"
  study_records.write_study(results, TRUTH, runs=runs)
  optimized = jaxsched.piecewise_linear(
    [0, warmup, 800, total - 1], [0.0, study_records.PEAK, study_records.PEAK, 0.0]
  )
  spec = {"type": "piecewise_linear", "boundaries": [0, warmup, 800, total - 1]}
  spec["values"] = [0.0, study_records.PEAK, study_records.PEAK, 0.0]
  assert float(optimized(900)) == pytest.approx(float(jaxsched.from_config(spec)(900)))
  study_records.write_study(tmp_path / "opt", TRUTH, runs={"width=64/optimized": spec})
  return results, tmp_path / "opt"


def test_summary_and_files_from_synthetic_records(tmp_path):
  results, optimized = _records(tmp_path)
  out = tmp_path / "out"
  rows = law_study.write(out, results, optimized, iterations=30, num_knots=4)
  assert {(r["schedule"], r["kind"]) for r in rows} == {
    (s, k) for s in ("constant", "cosine", "wsd", "optimized") for k in law_study.KINDS
  }
  for row in rows:
    assert set(REQUIRED) <= set(row)
    assert row["fit_on"] == ["constant", "cosine"]
    assert row["held_out"] == (row["schedule"] not in ("constant", "cosine"))
    assert row["seeds"] == 2
    # offsets 0 and 0.02 over the two seeds: the mean is the law's value + 0.01
    finals = row["final_loss_per_seed"]
    assert finals[1] - finals[0] == pytest.approx(0.02, abs=1e-6)
    assert row["final_loss_actual"] == pytest.approx(np.mean(finals), rel=1e-6)
    assert row["final_rel_error"] == pytest.approx(
      (row["final_loss_predicted"] - row["final_loss_actual"]) / row["final_loss_actual"]
    )
    assert row["curve_from_step"] == study_records.WARMUP
  for row in rows:  # the generating law, refitted: within the offset's 1%
    if row["kind"] == "multi_power":
      assert abs(row["final_rel_error"]) < 0.01, row
  assert json.loads((out / "summary.json").read_text()) == json.loads(json.dumps(rows))
  laws = json.loads((out / "laws.json").read_text())
  by = laws["64"]["optimized"]["by"]
  assert by in law_study.KINDS
  assert {r["optimized_by"] for r in rows if r["schedule"] == "optimized"} == {by}
  assert json.loads((out / "comparison.json").read_text())["64"]["seeds"] == 2
  for kind in law_study.KINDS:
    assert (out / f"law_{kind}_width64.png").stat().st_size > 0
  assert (out / "final_errors.png").stat().st_size > 0
  assert "| 64 | optimized |" in (out / "results.md").read_text()
  # The optimized schedule, written as a run spec, trains over the preset (--config FILE).
  loaded = config_lib.load_file(configs.get("law"), out / "optimized_config.json")
  (spec,) = loaded.runs
  assert spec["name"] == "width=64/optimized" and spec["schedule"]["type"] == "piecewise_linear"
  assert spec["schedule"] == laws["64"]["optimized"]["config"]
  config_lib.validate(loaded)
  with pytest.raises(SystemExit) as exit_info:
    law_study.main(["--results", str(tmp_path / "missing"), "--out", str(out)])
  assert exit_info.value.code == 2


def test_law_wide_is_the_law_preset_at_width_128():
  law, wide = configs.get("law"), configs.get("law-wide")
  assert [r["width"] for r in wide.runs] == [128] * len(law.runs)
  assert [r["schedule"] for r in wide.runs] == [r["schedule"] for r in law.runs]
  assert [law_study.split_name(r["name"]) for r in wide.runs] == [
    (128, law_study.split_name(r["name"])[1]) for r in law.runs
  ]
  assert config_lib.replace(wide, {"runs": law.runs}) == law
  engine.check(train.STUDY, wide)


def test_summary_over_two_folders_fits_each_width_from_its_own(tmp_path):
  wide = jaxsched.LossLaw("multi_power", {**TRUTH.params, "L0": 1.0}, 0.0)
  study_records.write_study(
    tmp_path / "law64", TRUTH, runs={f"width=64/{k}": v for k, v in study_records.RUNS.items()}
  )
  study_records.write_study(
    tmp_path / "law128", wide, runs={f"width=128/{k}": v for k, v in study_records.RUNS.items()}
  )
  folders = [tmp_path / "law64", tmp_path / "law128"]
  rows, laws, runs, _ = law_study.summarize(folders, iterations=30, num_knots=4)
  assert set(laws) == {64, 128}
  assert [r["name"] for r in runs] == ["width=64/optimized", "width=128/optimized"]
  for width in (64, 128):
    mine = [r for r in rows if r["width"] == width and r["kind"] == "multi_power"]
    assert {r["schedule"] for r in mine} == {"constant", "cosine", "wsd"}
    assert all(abs(r["final_rel_error"]) < 0.01 for r in mine), mine
  # each width's curves come from its own folder: the two laws' L0 are 0.2 apart
  finals = {
    w: [r["final_loss_actual"] for r in rows if r["width"] == w and r["kind"] == "momentum"]
    for w in (64, 128)
  }
  assert np.subtract(finals[64], finals[128]) == pytest.approx(0.2, abs=1e-5)
  shutil.copytree(tmp_path / "law64", tmp_path / "again")
  with pytest.raises(ValueError, match="more than one folder"):
    law_study.summarize([tmp_path / "law64", tmp_path / "again"], iterations=5, num_knots=4)
