"""shapes: the image proxy of Waterbirds, 17 specs x 5 seeds (85 runs); about an hour on 2 cores.

Generated bird/boat images on land/water backgrounds (``data.shapes``: 32x32, 2000 training
images at 95% agreement, so 50 in each minority group; 100 per group in validation, 300 in
test; drawn from each seed), the CNN of ``model.CNN`` (16-32-64 channels, 3x3 stride 2, global
average pooling; 24k parameters), batch 64 (32 steps per epoch), 30 epochs, evaluated every
epoch. SGD with momentum 0.9 and weight decay 1e-4.

The seeds' rates were set for fine-tuning a pretrained ResNet-50; this network is trained from
scratch, and in a pilot (seed 0, not committed) it learned the shape alone (``shapes_shape``)
to 87% test accuracy in 20 epochs at 1e-2 and to 100% in 10 at 5e-2, and at 1e-2 ERM,
reweighted ERM and group DRO on ``shapes`` had learned little beyond the background by epoch 30.
So the seeds' schedule shapes run here at the peak rate 0.05:

* ``main``: constant 0.05, the 3 methods;
* ``sched``: seed 001's warmup + cosine (warmup 10% of training, 3 epochs, as the seed's
  "10% of total training typically") and seed 000's 3-phase (0.05, 0.005, cosine to 5e-5), the 3
  methods;
* ``wd``: weight decay at shrink per step 1e-5 (Sagawa et al.'s strong L2: LR 1e-5 x 1), 1e-4
  and 1e-3 at LR 0.05 (weight decay 2e-4, 2e-3, 2e-2), ERM and group DRO;
* ``probe``: ERM at constant 0.05 on the background alone (``shapes_background``, label = the
  background) and on the object alone on flat grey (``shapes_shape``): which cue the network
  learns faster.

Timing (measured): 1.2 s per epoch and run, so 36 s per run of 30 epochs (sequential, the
machine under a load average of about 10 from other jobs), plus about 30 s of compilation per
program and 8 s to generate one seed's images. The committed run took 30 min with other jobs
running (load average 5.3 at the start, 3.0 at the end).
"""

from experiments.spurious.config import Config
from experiments.spurious.config import sgd
from experiments.spurious.configs import constant
from experiments.spurious.configs import METHODS
from experiments.spurious.configs import run
from experiments.spurious.configs import three_phase
from experiments.spurious.configs import warmup

EPOCHS, STEPS_PER_EPOCH, PEAK = 30, 32, 0.05  # 2000 training images / batch 64


def grid(
  epochs: int = EPOCHS, steps_per_epoch: int = STEPS_PER_EPOCH, peak: float = PEAK, probes=True
) -> tuple:
  """The runs of the parts above, for ``epochs`` of ``steps_per_epoch`` at ``peak`` (the
  ``probe`` part when ``probes``)."""
  total = epochs * steps_per_epoch
  schedules = {
    "warmup+cosine": warmup(round(0.1 * epochs) * steps_per_epoch, total, peak, cosine=True),
    "3phase": three_phase(total, high=peak),
  }
  runs = [run(f"main/{m}/constant", constant(peak), m) for m in METHODS]
  for name, schedule in schedules.items():
    runs += [run(f"sched/{m}/{name}", schedule, m) for m in METHODS]
  for m in ("erm", "group_dro"):
    for shrink in (1e-5, 1e-4, 1e-3):
      wd = shrink / peak
      runs.append(run(f"wd/{m}/shrink{shrink:g}", constant(peak), m, optimizer=sgd(wd)))
  for probe in ("shapes_background", "shapes_shape") if probes else ():
    runs.append(run(f"probe/{probe}", constant(peak), "erm", dataset=probe))
  return tuple(runs)


def get_config() -> Config:
  return Config(
    dataset="shapes",
    train_size=2000,
    val_per_group=100,
    test_per_group=300,
    image_size=32,
    channels=16,
    batch_size=64,
    learning_rate=PEAK,
    total_steps=EPOCHS * STEPS_PER_EPOCH,
    eval_every=STEPS_PER_EPOCH,
    checkpoint_every=10 * STEPS_PER_EPOCH,
    execution="sequential",
    seeds=(0, 1, 2, 3, 4),
    runs=grid(),
  )
