"""cpu: LR sensitivity against warmup on character-level pydoc text, widths 32-128, 2 seeds.

Context 64, batch 32, 300 steps, evaluated every 50; Wortsman et al.'s 7-point
LR grid; AdamW betas 0.9/0.95, clip 1, independent weight decay 1e-4; linear
warmup then cosine to 1e-5. Rows:

* widths 32 and 64 (2 layers) at warmups 0, 40 (= 2 / (1 - beta2), Ma &
  Yarats's untuned warmup) and 150 steps (half the run);
* width 128 at warmups 0 and 150;
* qk-layernorm at width 64, warmups 0 and 150;
* warmup shape at width 64 and 150 steps: cosine and exponential;
* z-loss 1e-4 at width 64 without warmup;
* the seeds' coupled weight decay 0.1 at width 64 and 150 steps;
* seed 000's warmup restarts (``warmup_cosine_restarts``, 2 cycles) at width 64.

About 30 minutes on the 2-core CPU.
"""

from experiments.lm_warmup.config import adamw
from experiments.lm_warmup.config import CLIP
from experiments.lm_warmup.config import Config
from experiments.lm_warmup.configs import grid

STEPS = 300
LRS = (3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1)


def get_config() -> Config:
  runs = (
    grid(LRS, (0, 40, 150), STEPS, width=32)
    + grid(LRS, (0, 40, 150), STEPS, width=64)
    + grid(LRS, (0, 150), STEPS, width=128)
    + grid(LRS, (0, 150), STEPS, width=64, qk_layernorm=True)
    + grid(LRS, (150,), STEPS, kind="cosine", width=64)
    + grid(LRS, (150,), STEPS, kind="exponential", width=64)
    + grid(LRS, (0,), STEPS, width=64, z_loss=1e-4)
    + grid(
      LRS, (150,), STEPS, width=64, tag="coupled-wd0.1", optimizer=[CLIP, adamw(0.1, "coupled")]
    )
  )
  runs += [
    {
      "name": f"restarts/width=64/lr{lr:g}",
      "width": 64,
      "learning_rate": lr,
      "schedule": {
        "type": "warmup_cosine_restarts",
        "warmup_steps": 40,
        "total_steps": STEPS,
        "num_cycles": 2,
      },
    }
    for lr in LRS
  ]
  return Config(
    corpus="pydoc",
    context=64,
    depth=2,
    heads=4,
    batch_size=32,
    total_steps=STEPS,
    eval_every=50,
    checkpoint_every=150,
    eval_windows=64,
    seeds=(0, 1),
    runs=tuple(runs),
  )
