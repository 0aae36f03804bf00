"""cpu: the digits grid, 63 specs x 10 seeds (630 runs); 1-1.5 hours on 2 shared cores.

Patched digits (1117 training images, 85 per group in validation and test, the split drawn from
each seed), MLP 64-128-128-2 (25k parameters), batch 128 (Sagawa et al.'s; 9 steps per epoch),
300 epochs (the seeds'), evaluated every epoch (early stopping over all 300). SGD with momentum
0.9 and weight decay 1e-4 (seed 000's, and Sagawa et al.'s standard) unless a part says
otherwise. Methods: ERM (uniform batches), ERM on group-balanced batches (``erm_reweighted``) and
group DRO with group-balanced batches and eta_q 0.01 (Sagawa et al.'s).

Parts (the first word of each spec's name):

* ``main``: the 3 methods under the seeds' schedules (``configs.schedules``): constant 1e-3
  and 1e-2, seed 001's warmup + cosine, seed 000's 3-phase, warmup + 3-phase.
* ``lr``: constant-rate sweeps per optimizer for ERM and group DRO: SGD 1e-3 .. 1e-1 (with
  ``main``'s 1e-3 and 1e-2), AdamW (decoupled weight decay 1e-4) 1e-4 .. 1e-2.
* ``warmup``: at seed 001's target 1e-3, linear warmups of 10, 30 and 60 epochs then constant,
  and of 0 (cosine alone), 30 and 60 then cosine (``main`` holds 0 + constant and 10 + cosine),
  for ERM and group DRO.
* ``wd``: weight decay at matched shrink per step (LR x weight decay): at LR 1e-2, 1e-5 .. 1e-1
  (shrink 1e-7 .. 1e-3, with ``main``'s 1e-4), the 3 methods; for ERM and group DRO also at LR
  1e-3, 1e-2 and 1e-1 (shrink 1e-5, 1e-4; ``main``'s 1e-4 is 1e-7), and Sagawa et al.'s
  strong-L2 pair verbatim, LR 1e-5 and weight decay 1 (shrink 1e-5).
* ``sampler``: group DRO on uniform batches (this study's former method) at constant 1e-3 and
  1e-2: the sampler's share of group DRO's gain.

Timing (measured): one run of 300 epochs took 6-12 s (sequential, the machine under a load
average of 8-15 from other jobs; about 2 s alone), so 630 runs take 1-1.5 hours here. The
committed run took 1 h 08 min with other jobs running (load average 0.4 at the start, 5.3 at
the end, up to about 11 in between).
"""

from experiments.spurious.config import adamw
from experiments.spurious.config import Config
from experiments.spurious.config import sgd
from experiments.spurious.configs import constant
from experiments.spurious.configs import METHODS
from experiments.spurious.configs import run
from experiments.spurious.configs import schedules
from experiments.spurious.configs import warmup

EPOCHS, STEPS_PER_EPOCH = 300, 9  # 1117 training images / batch 128
PAIR = ("erm", "group_dro")


def grid(epochs: int = EPOCHS, steps_per_epoch: int = STEPS_PER_EPOCH) -> tuple:
  """The runs of the parts above, for ``epochs`` of ``steps_per_epoch``."""
  total = epochs * steps_per_epoch
  runs = []
  for name, schedule in schedules(epochs, steps_per_epoch).items():
    runs += [run(f"main/{m}/{name}", schedule, m) for m in METHODS]
  for m in PAIR:
    runs += [run(f"lr/{m}/sgd-{lr:g}", constant(lr), m) for lr in (3e-3, 3e-2, 1e-1)]
    runs += [
      run(f"lr/{m}/adamw-{lr:g}", constant(lr), m, optimizer=adamw())
      for lr in (1e-4, 3e-4, 1e-3, 3e-3, 1e-2)
    ]
  for m in PAIR:
    for w in (10, 30, 60):
      runs.append(
        run(f"warmup/{m}/w{w}+constant", warmup(w * steps_per_epoch, total, 1e-3, False), m)
      )
    for w in (0, 30, 60):
      runs.append(run(f"warmup/{m}/w{w}+cosine", warmup(w * steps_per_epoch, total, 1e-3, True), m))
  for m in METHODS:
    for wd in (1e-5, 1e-3, 1e-2, 1e-1):
      runs.append(run(f"wd/{m}/lr0.01-wd{wd:g}", constant(1e-2), m, optimizer=sgd(wd)))
  for m in PAIR:
    for lr, wd in ((1e-3, 1e-2), (1e-3, 1e-1), (1e-5, 1.0)):
      runs.append(run(f"wd/{m}/lr{lr:g}-wd{wd:g}", constant(lr), m, optimizer=sgd(wd)))
  for lr in (1e-3, 1e-2):
    runs.append(
      run(f"sampler/group_dro/uniform-{lr:g}", constant(lr), "group_dro", sampler="uniform")
    )
  return tuple(runs)


def get_config() -> Config:
  return Config(
    dataset="digits",
    width=128,
    batch_size=128,
    total_steps=EPOCHS * STEPS_PER_EPOCH,
    eval_every=STEPS_PER_EPOCH,
    checkpoint_every=100 * STEPS_PER_EPOCH,
    execution="sequential",
    seeds=tuple(range(10)),
    runs=grid(),
  )
