"""gpu: the ``shapes`` grid at 64x64, 10 seeds, for one H200, about 10 minutes; not run yet.

``shapes``' parts without the probes (15 specs x 10 seeds = 150 runs): 64x64 images, 4000
training images (100 in each minority group), 100 per group in validation and 500 in test,
the CNN at 32-64-128 channels (94k parameters), batch 128 (32 steps per epoch), 40 epochs,
peak rate 0.05 (``shapes``' rate, not tuned at this size), evaluated every epoch.

Expected cost (not measured: no accelerator was lent to this study): one image through the CNN
is 10.3M multiply-adds (20.6 MFLOP: the three convolutions at 32x32, 16x16 and 8x8 outputs);
training 128 x 3 x 20.6 MFLOP x 32 steps = 253 GFLOP per epoch and run, evaluation 6400 images
x 20.6 MFLOP = 132 GFLOP; 40 epochs x 150 runs = 2.3 PFLOP, about 4 minutes at 10 TFLOP/s
sustained (the engine's ``auto`` execution vmaps each group's runs), plus the images'
generation on the host (about 10 s per seed on one core) and compilation.
"""

from experiments.common import config as config_lib
from experiments.spurious.configs import shapes

EPOCHS, STEPS_PER_EPOCH = 40, 32  # 4000 training images / batch 128


def get_config():
  return config_lib.replace(
    shapes.get_config(),
    {
      "image_size": 64,
      "train_size": 4000,
      "val_per_group": 100,
      "test_per_group": 500,
      "channels": 32,
      "batch_size": 128,
      "total_steps": EPOCHS * STEPS_PER_EPOCH,
      "eval_every": STEPS_PER_EPOCH,
      "checkpoint_every": 10 * STEPS_PER_EPOCH,
      "execution": "auto",
      "seeds": tuple(range(10)),
      "runs": shapes.grid(EPOCHS, STEPS_PER_EPOCH, shapes.PEAK, probes=False),
    },
  )
