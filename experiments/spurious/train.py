"""Spurious-correlation study on the shared engine: model, ERM/group DRO loss, evaluation, batches.

Group DRO is Sagawa et al. (2020), Algorithm 1, on each minibatch: with the
group losses ``l_g`` (mean loss of the batch's examples of group ``g``, 0 for
an absent group) plus the adjustment ``C / sqrt(n_g)``,

  q <- q * exp(eta_q * l_g),  q <- q / sum(q),  loss = sum_g q_g l_g,

``q`` updated before the loss is taken and held as per-run model state
(``model.GroupWeights``), so it is vmapped, checkpointed and logged (``q_g*``).
ERM is the mean loss over the batch's examples.
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
from experiments.spurious.config import METHODS


def init_model(config: Config, rngs: nnx.Rngs) -> nnx.Module:
  train = data_lib.splits(config)["train"]
  counts = np.bincount(train.g, minlength=data_lib.NUM_GROUPS[config.dataset])
  adjustment = config.group_adjustment / np.sqrt(np.maximum(counts, 1))
  return model_lib.MLP(train.x.shape[1], config.width, jnp.asarray(adjustment), rngs=rngs)


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
  ones_B = jnp.ones_like(losses_B)
  group_losses_G, _ = _group_means(losses_B, batch["g"], ones_B, model.q[...].shape[0])
  group_losses_G = group_losses_G + model.adjustment[...]
  robust = batch["group_dro"][0] > 0
  q_G = jnp.where(
    robust, group_dro_weights(model.q[...], group_losses_G, batch["eta_q"][0]), model.q[...]
  )
  model.q[...] = q_G
  return jnp.where(robust, jnp.sum(q_G * group_losses_G), jnp.mean(losses_B)), None


def _split_metrics(
  model: nnx.Module, split: dict, prefix: str, per_group: bool, train_share_G: jax.Array
) -> dict:
  logits_BxC = model(split["x"])
  losses_B = optax.softmax_cross_entropy_with_integer_labels(logits_BxC, split["y"])
  correct_B = (jnp.argmax(logits_BxC, -1) == split["y"]).astype(jnp.float32)
  w_B = split["w"]
  groups = model.q[...].shape[0]
  acc_G, counts_G = _group_means(correct_B, split["g"], w_B, groups)
  loss_G, _ = _group_means(losses_B, split["g"], w_B, groups)
  present_G = counts_G > 0
  out = {
    f"{prefix}_acc": jnp.sum(w_B * correct_B) / jnp.sum(w_B),
    f"{prefix}_loss": jnp.sum(w_B * losses_B) / jnp.sum(w_B),
    f"{prefix}_balanced_acc": jnp.sum(jnp.where(present_G, acc_G, 0.0)) / jnp.sum(present_G),
    f"{prefix}_worst_acc": jnp.min(jnp.where(present_G, acc_G, 1.0)),
    # Weighted as the training set mixes the groups (Sagawa et al.'s "average accuracy").
    f"{prefix}_train_weighted_acc": jnp.sum(train_share_G * acc_G),
  }
  if per_group:
    for g in range(groups):
      out[f"{prefix}_acc_g{g}"] = acc_G[g]
      out[f"{prefix}_loss_g{g}"] = loss_G[g]
  return out


def evaluate(model: nnx.Module, data: dict) -> dict:
  """Average (over examples, and weighted by the training groups' shares), group-balanced and
  worst-group accuracy of every split; per group on val/test; q."""
  metrics = {}
  groups = model.q[...].shape[0]
  train = data["train"]
  _, counts_G = _group_means(train["w"], train["g"], train["w"], groups)
  train_share_G = counts_G / jnp.sum(counts_G)
  for name, split in data.items():
    prefix = "randomized_test" if name == "randomized" else name
    metrics.update(_split_metrics(model, split, prefix, name in ("val", "test"), train_share_G))
  for g in range(model.q[...].shape[0]):
    metrics[f"q_g{g}"] = model.q[...][g]
  return metrics


def eval_data(config: Config, run: engine.Run) -> dict:
  """Every split, padded with zero-weight examples to a multiple of the device count."""
  del run
  return {
    name: sharding.pad_examples({"x": split.x, "y": split.y, "g": split.g}, "w")
    for name, split in data_lib.splits(config).items()
  }


def run_method(run: engine.Run) -> tuple:
  """The run's ``(method, eta_q)``, checked."""
  method = run.config.get("method", "erm")
  eta_q = run.config.get("eta_q", 0.1)
  if method not in METHODS:
    raise ValueError(
      f"config field runs[{run.spec!r}].method={method!r} must be one of {', '.join(METHODS)}"
    )
  if isinstance(eta_q, bool) or not isinstance(eta_q, (int, float)) or not 0 <= eta_q <= 100:
    raise ValueError(
      f"config field runs[{run.spec!r}].eta_q={eta_q!r} must be a number in [0, 100]"
    )
  return method, float(eta_q)


def batches(config: Config, run: engine.Run, start: int, num_steps: int) -> dict:
  """Minibatches drawn with replacement, seeded by ``(seed, step)``; the method rides along."""
  method, eta_q = run_method(run)
  train = data_lib.splits(config)["train"]
  positions = np.random.default_rng([run.seed, start]).integers(
    0, len(train.y), (num_steps, config.batch_size)
  )
  shape = positions.shape
  return {
    "x": train.x[positions],
    "y": train.y[positions],
    "g": train.g[positions],
    "group_dro": np.full(shape, method == "group_dro", np.float32),
    "eta_q": np.full(shape, eta_q, np.float32),
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
  table_keys=("train_acc", "test_acc", "test_worst_acc", "val_worst_acc"),
)


def train_and_evaluate(
  config: Config, workdir, *, resume: bool = False, progress: bool = True
) -> list:
  """Trains every run of ``config`` into ``workdir`` (see ``engine.train_and_evaluate``)."""
  return engine.train_and_evaluate(STUDY, config, workdir, resume=resume, progress=progress)
