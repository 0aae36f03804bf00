"""The grokking study on the shared engine: its model, loss, evaluation and batches.

Examples are ``{"inputs": (B, 2) pairs, "targets": (B,), "weights": (B,)}``;
weights are 0 on the padding that lets a full batch split evenly over any
number of devices. Each seed has its own split (``data.split``) and
initialization. Minibatches (``batch_size > 0``) are drawn with replacement
from the training split by a NumPy generator seeded with ``(seed, step)``, so
a resumed run draws the same batches.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from experiments.common import engine
from experiments.common import sharding
from experiments.grokking import analysis
from experiments.grokking import data as data_lib
from experiments.grokking import model as model_lib
from experiments.grokking.config import Config


def init_model(config: Config, rngs: nnx.Rngs) -> nnx.Module:
  return model_lib.build(config.model, config.modulus, width=config.width, rngs=rngs)


def _loss_and_accuracy(model: nnx.Module, examples: dict) -> tuple:
  logits_BxP = model(examples["inputs"])
  losses_B = optax.softmax_cross_entropy_with_integer_labels(logits_BxP, examples["targets"])
  weights_B = examples["weights"]
  total = jnp.sum(weights_B)
  correct_B = jnp.argmax(logits_BxP, -1) == examples["targets"]
  return jnp.sum(weights_B * losses_B) / total, jnp.sum(weights_B * correct_B) / total


def loss_fn(model: nnx.Module, batch: dict) -> tuple:
  loss, _ = _loss_and_accuracy(model, batch)
  return loss, None


def evaluate(model: nnx.Module, data: dict) -> dict:
  """Loss and accuracy on the whole training and validation splits."""
  train_loss, train_acc = _loss_and_accuracy(model, data["train"])
  val_loss, val_acc = _loss_and_accuracy(model, data["val"])
  return {
    "train_loss": train_loss,
    "train_acc": train_acc,
    "val_loss": val_loss,
    "val_acc": val_acc,
  }


@functools.lru_cache(maxsize=64)
def _splits(operation: str, modulus: int, train_fraction: float, seed: int) -> dict:
  """The seed's training and validation examples, padded for any device count."""
  table = data_lib.table(operation, modulus)
  split = data_lib.split(len(table.targets), train_fraction, seed)
  return {
    name: sharding.pad_examples(
      {"inputs": table.inputs[idx], "targets": table.targets[idx]}, "weights"
    )
    for name, idx in (("train", split.train), ("val", split.val))
  }


def eval_data(config: Config, run: engine.Run) -> dict:
  return _splits(config.operation, config.modulus, config.train_fraction, run.seed)


def batches(config: Config, run: engine.Run, start: int, num_steps: int) -> dict:
  """The run's batches for steps ``start .. start + num_steps - 1``, stacked."""
  train = eval_data(config, run)["train"]
  if not config.batch_size:
    return jax.tree.map(lambda x: np.broadcast_to(x, (num_steps,) + x.shape), train)
  n_train = int(train["weights"].sum())
  positions = np.random.default_rng([run.seed, start]).integers(
    0, n_train, (num_steps, config.batch_size)
  )
  return {
    "inputs": train["inputs"][positions],
    "targets": train["targets"][positions],
    "weights": np.ones(positions.shape, np.float32),
  }


STUDY = engine.Study(
  name="grokking",
  init_model=init_model,
  loss_fn=loss_fn,
  evaluate=evaluate,
  batches=batches,
  eval_data=eval_data,
  progress_keys=("train_acc", "val_acc"),
  summarize_run=analysis.summarize_run,
  write_results=analysis.write_results,
  panels=(
    ("accuracy", ("train_acc", "val_acc"), False),
    ("loss", ("train_loss", "val_loss"), True),
    ("learning rate", ("lr",), False),
  ),
)


def train_and_evaluate(
  config: Config, workdir, *, resume: bool = False, progress: bool = True
) -> list:
  """Trains every run of ``config`` into ``workdir`` (see ``engine.train_and_evaluate``)."""
  return engine.train_and_evaluate(STUDY, config, workdir, resume=resume, progress=progress)
