"""smoke: seconds-long runs for the tests and the CLI check (digits, 4 epochs, 1 seed)."""

from experiments.spurious.config import Config
from experiments.spurious.configs import run
from experiments.spurious.configs import schedules

_EPOCHS, _STEPS_PER_EPOCH = 4, 17  # 1079 training images / batch 64


def get_config() -> Config:
  grid = schedules(_EPOCHS, _STEPS_PER_EPOCH, warmup_epochs=1)
  return Config(
    dataset="digits",
    width=64,
    batch_size=64,
    total_steps=_EPOCHS * _STEPS_PER_EPOCH,
    eval_every=_STEPS_PER_EPOCH,
    checkpoint_every=0,
    seeds=(0,),
    runs=(
      run("erm/constant", grid["constant-1e-2"]),
      run("dro/constant", grid["constant-1e-2"], "group_dro", 0.1),
      run("dro/3phase", grid["3phase"], "group_dro", 1.0),
    ),
  )
