"""smoke: seconds-long runs for the tests and the CLI check (digits, 4 epochs, 1 seed)."""

from experiments.spurious.config import Config
from experiments.spurious.configs import run
from experiments.spurious.configs import schedules

EPOCHS, STEPS_PER_EPOCH = 4, 9  # 1117 training images / batch 128


def get_config() -> Config:
  grid = schedules(EPOCHS, STEPS_PER_EPOCH, warmup_epochs=1)
  return Config(
    dataset="digits",
    width=64,
    batch_size=128,
    total_steps=EPOCHS * STEPS_PER_EPOCH,
    eval_every=STEPS_PER_EPOCH,
    checkpoint_every=0,
    seeds=(0,),
    runs=(
      run("erm/constant", grid["constant-1e-2"]),
      run("erm_reweighted/constant", grid["constant-1e-2"], "erm_reweighted"),
      run("dro/constant", grid["constant-1e-2"], "group_dro", 0.1),
      run("dro/3phase", grid["3phase"], "group_dro", 1.0),
    ),
  )
