"""paper: Power et al. (2022), over 3 seeds, with and without gradient clipping.

The 2-layer decoder transformer (width 128, 4 heads, MLP 512, LayerNorm), p=97
addition with half the pairs for training (Power et al. sweep the fraction;
their Figure 1 curves use 50%), minibatches of 512 drawn with replacement,
AdamW lr 1e-3, betas 0.9/0.98, weight decay 1 (coupled, as ``torch.optim.AdamW``),
a 10-step linear warmup, then constant: the paper's recipe. Power et al. train
1e5 steps; addition at 50% generalizes within ~2.5k steps here, so 10k steps
hold the timing question and several of the collapses the earlier one-seed run
showed (at 2.5k and 8.75k of 20k steps).

The second run adds ``clip_by_global_norm(1.0)`` before AdamW: the "slingshot"
reading (Thilak et al., 2022) ties the collapses to spikes of the last layer's
gradient once the training loss is tiny; a clipped gradient bounds the update
that a spike can feed into Adam's moments. Typical gradient norms between the
spikes were 0.1-1 in the earlier run, spikes 5-50, so a norm of 1 clips only
the spikes.

Evaluated every 50 steps (the resolution of every step count; a collapse
recovered within 250-750 steps before). Measured before the run: one step
(train + evaluation every 50) took 270 ms wall, 78 ms process CPU on the
2-core machine under load ~13 (other jobs); 35 ms on the idle machine before
(20k steps in 11 min 53 s). 6 runs x 10k steps: ~35 min idle, up to ~4.5 h
at that load.
Run: 78 min (one core, the other busy, for 53 min of it; both after).
"""

from experiments.grokking.config import adamw
from experiments.grokking.config import Config

_CONSTANT = {"type": "warmup_constant", "warmup_steps": 10}


def get_config() -> Config:
  return Config(
    model="power",
    width=128,
    modulus=97,
    train_fraction=0.5,
    batch_size=512,
    total_steps=10_000,
    eval_every=50,
    learning_rate=1e-3,
    seeds=(0, 1, 2),
    runs=(
      {"name": "warmup10+constant", "schedule": _CONSTANT},
      {
        "name": "warmup10+constant+clip1",
        "schedule": _CONSTANT,
        "optimizer": [{"type": "clip_by_global_norm", "max_norm": 1.0}, adamw()],
      },
    ),
    comparisons=(("warmup10+constant+clip1", "warmup10+constant"),),
    checkpoint_every=1000,
  )
