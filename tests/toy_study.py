"""A small regression study for engine tests: one parameter sharded over the mesh's model axis.

``python tests/toy_study.py OUT MODEL_AXIS`` trains it and prints the kernel's sharding spec.
"""

import sys

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from experiments.common import config as config_lib
from experiments.common import engine
from experiments.common import sharding
from experiments.common.programs import compile_group


class Net(nnx.Module):
  """``tanh(x W1) w2``, W1's output axis annotated with the mesh's "model" axis."""

  def __init__(self, rngs: nnx.Rngs):
    init = nnx.with_partitioning(nnx.initializers.lecun_normal(), (None, sharding.MODEL_AXIS))
    self.hidden = nnx.Linear(4, 8, kernel_init=init, rngs=rngs)
    self.out = nnx.Linear(8, 1, rngs=rngs)

  def __call__(self, x_BxI: jax.Array) -> jax.Array:
    return self.out(jnp.tanh(self.hidden(x_BxI)))[:, 0]


X = np.random.default_rng(0).normal(size=(64, 4)).astype(np.float32)
Y = X @ np.arange(4, dtype=np.float32)


def loss_fn(model, batch):
  return jnp.mean((model(batch["x"]) - batch["y"]) ** 2), None


def evaluate(model, data):
  return {"val_loss": jnp.mean((model(data["x"]) - data["y"]) ** 2)}


def batches(config, run, start, num_steps):
  del config, run, start
  return {
    "x": np.broadcast_to(X, (num_steps,) + X.shape),
    "y": np.broadcast_to(Y, (num_steps,) + Y.shape),
  }


STUDY = engine.Study(
  "toy",
  lambda config, rngs: Net(rngs),
  loss_fn,
  evaluate,
  batches,
  lambda config, run: {"x": X, "y": Y},
)


def config(model_axis: int = 1) -> config_lib.Config:
  return config_lib.replace(
    config_lib.Config(),
    {
      "total_steps": 20,
      "eval_every": 10,
      "checkpoint_every": 0,
      "model_axis": model_axis,
      "learning_rate": 1e-2,
      "runs": ({"name": "a", "schedule": {"type": "constant"}},),
    },
  )


def kernel_spec(cfg: config_lib.Config) -> tuple:
  """The partition spec of the initialized kernel (run axis first)."""
  mesh = sharding.make_mesh(cfg.model_axis)
  with jax.set_mesh(mesh):
    (group,) = engine.group_runs(cfg)
    programs = compile_group(STUDY, group, mesh)
    numbers = jax.tree.map(jnp.asarray, group.numbers)
    state = programs.init(jnp.zeros((1,), jnp.uint32), numbers)
  return tuple(state.params["hidden"]["kernel"].sharding.spec)


if __name__ == "__main__":
  cfg = config(int(sys.argv[2]))
  engine.train_and_evaluate(STUDY, cfg, sys.argv[1], progress=False)
  print(kernel_spec(cfg))
