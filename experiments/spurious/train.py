"""Spurious-correlation study on the shared engine: model, ERM/group DRO loss, evaluation, batches.

Group DRO is Sagawa et al. (2020), Algorithm 1, on each minibatch, as their
``loss.py`` computes it: with the group losses ``l_g`` (mean loss of the
batch's examples of group ``g``, 0 for a group absent from the batch) plus the
adjustment ``C / sqrt(n_g)``,

  q <- q * exp(eta_q * l_g),  q <- q / sum(q),  loss = sum_g q_g l_g,

``q`` updated before the loss is taken and held as per-run model state
(``model.GroupWeights``), so it is vmapped, checkpointed and logged (``q_g*``).
ERM (and ``erm_reweighted``, ERM on group-balanced batches) is the mean loss
over the batch's examples. Batches are drawn with replacement, uniformly or
group-balanced (``data.balanced_probabilities``), from the run's own split
(data seed = run seed).
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from experiments.common import engine
from experiments.common import sharding
from experiments.spurious import analysis
from experiments.spurious import data as data_lib
from experiments.spurious import model as model_lib
from experiments.spurious.config import Config
from experiments.spurious.config import run_settings


def init_model(config: Config, rngs: nnx.Rngs) -> nnx.Module:
  groups = data_lib.num_groups(config.dataset)
  if config.dataset in data_lib.SHAPES:
    return model_lib.CNN(config.channels, groups, rngs=rngs)
  features = data_lib.load(config, 0)["train"].x.shape[1]  # the same for every seed
  return model_lib.MLP(features, config.width, groups, rngs=rngs)


def _group_means(
  values_B: jax.Array, groups_B: jax.Array, weights_B: jax.Array, num_groups: int
) -> tuple:
  """Per-group weighted means of ``values`` and the groups' weights (0 when absent)."""
  member_BxG = jax.nn.one_hot(groups_B, num_groups) * weights_B[:, None]
  counts_G = jnp.sum(member_BxG, axis=0)
  return jnp.sum(member_BxG * values_B[:, None], axis=0) / jnp.maximum(counts_G, 1.0), counts_G


def group_dro_weights(q_G: jax.Array, group_losses_G: jax.Array, eta_q: jax.Array) -> jax.Array:
  """One step of Sagawa et al.'s exponentiated-gradient update of ``q``."""
  q_G = q_G * jnp.exp(eta_q * jax.lax.stop_gradient(group_losses_G))
  return q_G / jnp.sum(q_G)


def loss_fn(model: nnx.Module, batch: dict) -> tuple:
  losses_B = optax.softmax_cross_entropy_with_integer_labels(model(batch["x"]), batch["y"])
  groups = model.q[...].shape[0]
  group_losses_G, _ = _group_means(losses_B, batch["g"], jnp.ones_like(losses_B), groups)
  group_losses_G = group_losses_G + batch["adjustment"][0]
  robust = batch["group_dro"][0] > 0
  q_G = jnp.where(
    robust, group_dro_weights(model.q[...], group_losses_G, batch["eta_q"][0]), model.q[...]
  )
  model.q[...] = q_G
  return jnp.where(robust, jnp.sum(q_G * group_losses_G), jnp.mean(losses_B)), None


EVAL_CHUNK = 64  # images per forward pass in evaluation (faster than larger chunks on CPU: cache)


def _logits(model: nnx.Module, x: jax.Array) -> jax.Array:
  """The model's logits on ``x``; images in chunks of ``EVAL_CHUNK``, vectors in one pass."""
  if x.ndim < 4 or x.shape[0] <= EVAL_CHUNK:
    return model(x)
  return jax.lax.map(lambda one: model(one[None])[0], x, batch_size=EVAL_CHUNK)


def _split_metrics(model: nnx.Module, split: dict, prefix: str, train_share_G: jax.Array) -> dict:
  """Accuracy over the split's examples and of its worst group; on ``val`` and ``test`` each
  group's accuracy; on ``test`` also each group's size and the accuracy weighted by the
  training split's group shares (Sagawa et al.'s "average accuracy")."""
  logits_BxC = _logits(model, split["x"])
  correct_B = (jnp.argmax(logits_BxC, -1) == split["y"]).astype(jnp.float32)
  w_B = split["w"]
  groups = model.q[...].shape[0]
  acc_G, counts_G = _group_means(correct_B, split["g"], w_B, groups)
  present_G = counts_G > 0
  out = {
    f"{prefix}_acc": jnp.sum(w_B * correct_B) / jnp.sum(w_B),
    f"{prefix}_worst_acc": jnp.min(jnp.where(present_G, acc_G, 1.0)),
  }
  if prefix in ("val", "test"):
    for g in range(groups):
      out[f"{prefix}_acc_g{g}"] = acc_G[g]
  if prefix == "test":
    out["test_train_weighted_acc"] = jnp.sum(train_share_G * acc_G)
    for g in range(groups):
      out[f"test_n_g{g}"] = counts_G[g]
  return out


def evaluate(model: nnx.Module, data: dict) -> dict:
  """Average and worst-group accuracy of every split, per group on val/test, q."""
  metrics = {}
  groups = model.q[...].shape[0]
  train = data["train"]
  _, counts_G = _group_means(train["w"], train["g"], train["w"], groups)
  train_share_G = counts_G / jnp.sum(counts_G)
  for name, split in data.items():
    prefix = "randomized_test" if name == "randomized" else name
    metrics.update(_split_metrics(model, split, prefix, train_share_G))
  for g in range(groups):
    metrics[f"q_g{g}"] = model.q[...][g]
  return metrics


def eval_data(config: Config, run: engine.Run) -> dict:
  """Every split of the run's data seed, padded with zero-weight examples to a multiple of the
  device count."""
  return {
    name: sharding.pad_examples({"x": split.x, "y": split.y, "g": split.g}, "w")
    for name, split in data_lib.load(config, run.seed).items()
  }


def batches(config: Config, run: engine.Run, start: int, num_steps: int) -> dict:
  """Minibatches drawn with replacement by the run's sampler, seeded by ``(seed, step)``; the
  method, ``eta_q`` and the group adjustment ride along."""
  method, eta_q, sampler = run_settings(config, run.config)
  train = data_lib.load(config, run.seed)["train"]
  groups = data_lib.num_groups(config.dataset)
  rng = np.random.default_rng([run.seed, start])
  shape = (num_steps, config.batch_size)
  if sampler == "uniform":
    positions = rng.integers(0, len(train.y), shape)
  else:
    positions = rng.choice(len(train.y), shape, p=data_lib.balanced_probabilities(train.g, groups))
  counts = np.bincount(train.g, minlength=groups)
  adjustment = config.group_adjustment / np.sqrt(np.maximum(counts, 1))
  return {
    "x": train.x[positions],
    "y": train.y[positions],
    "g": train.g[positions],
    "group_dro": np.full(shape, method == "group_dro", np.float32),
    "eta_q": np.full(shape, eta_q, np.float32),
    "adjustment": np.broadcast_to(adjustment.astype(np.float32), shape + (groups,)),
  }


STUDY = engine.Study(
  name="spurious",
  init_model=init_model,
  loss_fn=loss_fn,
  evaluate=evaluate,
  batches=batches,
  eval_data=eval_data,
  progress_keys=("test_acc", "test_worst_acc"),
  summarize_run=analysis.summarize_run,
  write_results=analysis.write_results,
  panels=(
    ("test accuracy", ("test_acc", "test_worst_acc"), False),
    ("learning rate", ("lr",), False),
  ),
  table_keys=("train_acc", "train_worst_acc", "test_acc", "test_worst_acc", "val_worst_acc"),
)


def train_and_evaluate(
  config: Config, workdir, *, resume: bool = False, progress: bool = True
) -> list:
  """Trains every run of ``config`` into ``workdir`` (see ``engine.train_and_evaluate``)."""
  return engine.train_and_evaluate(STUDY, config, workdir, resume=resume, progress=progress)
