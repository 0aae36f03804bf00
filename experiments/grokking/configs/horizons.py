"""horizons: cosine decay over 10k / 20k / 40k steps, with the weight decay coupled or constant.

With ``torch.optim.AdamW``'s coupled decay (θ ← θ − η_t(Δ + λθ)) a decaying
schedule turns the weight decay off along with the rate, so "cosine stops
grokking" cannot tell the two apart. ``weight_decay_mode: constant``
(θ ← θ − η_tΔ − ηλθ, η the peak) keeps the decay at ηλ per step whatever the
schedule does: the cosine then decays the rate alone. Each horizon H (warmup
10 steps, cosine to 1e-6 at H, then held there) both ways, beside the constant
rate, trained 40k steps; on the MLP, data and optimizer of ``seed-warmup``
(weight decay 1.0); 3 seeds; evaluated every 250 steps. The summary's
``val_acc_at_schedule_end`` is the validation accuracy at H.

Measured: as ``seed-warmup`` (0.50-0.77 ms per step, 7.8 ms at load 13); 21
runs x 40k steps, ~7-11 min, ~1.8 h at load 13.
Run: 22 min on one core of the 2-core machine, the other busy (57-62 s per run).
"""

from experiments.grokking.config import adamw
from experiments.grokking.config import Config
from experiments.grokking.config import seed_mlp

HORIZONS = (10_000, 20_000, 40_000)
MODES = ("coupled", "constant")


def _name(horizon: int, mode: str) -> str:
  return f"cosine{horizon // 1000}k wd {mode}"


def _cosine(horizon: int, mode: str) -> dict:
  return {
    "name": _name(horizon, mode),
    "schedule": {
      "type": "warmup_cosine",
      "warmup_steps": 10,
      "total_steps": horizon,
      "end_value": 1e-6,
    },
    "optimizer": [adamw(weight_decay_mode=mode)],
  }


def get_config() -> Config:
  return seed_mlp(
    total_steps=40_000,
    eval_every=250,
    seeds=tuple(range(3)),
    runs=(
      {"name": "constant", "schedule": {"type": "warmup_constant", "warmup_steps": 10}},
      *(_cosine(h, m) for h in HORIZONS for m in MODES),
    ),
    comparisons=(
      *((_name(h, "constant"), _name(h, "coupled")) for h in HORIZONS),
      *((_name(h, m), "constant") for h in HORIZONS for m in MODES),
    ),
    checkpoint_every=5000,
  )
