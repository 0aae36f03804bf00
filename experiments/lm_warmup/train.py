"""LM warmup study on the shared engine: model, next-token loss with z-loss, evaluation, batches.

Batches are windows of ``context + 1`` tokens at offsets drawn from the training
split by a generator seeded with ``(seed, step)``; the validation data is
``eval_windows`` fixed, evenly spaced windows of the validation split.
"""

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from experiments.common import engine
from experiments.lm_warmup import analysis
from experiments.lm_warmup import data as data_lib
from experiments.lm_warmup import model as model_lib
from experiments.lm_warmup.config import Config


def init_model(config: Config, rngs: nnx.Rngs) -> nnx.Module:
  if config.positions not in ("rope", "learned"):
    raise ValueError(f"config field positions={config.positions!r} must be rope or learned")
  if config.width % config.heads or (config.width // config.heads) % 2:
    raise ValueError(
      f"config field width={config.width} must split into heads={config.heads} "
      "heads of an even size"
    )
  return model_lib.Transformer(
    data_lib.corpus(config).vocab_size,
    config.context,
    config.width,
    config.depth,
    config.heads,
    config.qk_layernorm,
    config.positions,
    config.z_loss,
    rngs=rngs,
  )


def _cross_entropy(logits_BxLxV: jax.Array, tokens_BxL1: jax.Array) -> tuple:
  """Per-token next-token cross-entropy ``log Z - logit[target]`` and the log-partition
  ``log Z``, from one logsumexp."""
  log_z_BxL = jax.nn.logsumexp(logits_BxLxV, axis=-1)
  target_BxL = jnp.take_along_axis(logits_BxLxV, tokens_BxL1[:, 1:, None], axis=-1)[..., 0]
  return log_z_BxL - target_BxL, log_z_BxL


def loss_fn(model: nnx.Module, batch: dict) -> tuple:
  """Mean next-token cross-entropy plus ``z_loss * mean(log Z)^2`` (Wortsman et al.)."""
  tokens = batch["tokens"]
  ce_BxL, log_z_BxL = _cross_entropy(model(tokens[:, :-1]), tokens)
  ce = jnp.mean(ce_BxL)
  if not model.z_loss:  # a static number: no z term in the program when it is 0
    return ce, {"train_ce": ce}
  return ce + model.z_loss * jnp.mean(log_z_BxL**2), {"train_ce": ce}


def evaluate(model: nnx.Module, data: dict) -> dict:
  """Validation loss, the largest |attention logit| of each layer, and log Z statistics."""
  tokens = data["tokens"]
  logits_BxLxV, max_logits = model(tokens[:, :-1], attention_stats=True)
  ce_BxL, z_BxL = _cross_entropy(logits_BxLxV, tokens)
  out = {
    "val_loss": jnp.mean(ce_BxL),
    "z_mean": jnp.mean(z_BxL),
    "z_max": jnp.max(jnp.abs(z_BxL)),
    "max_attn_logit": jnp.max(max_logits),
  }
  for layer in range(max_logits.shape[0]):
    out[f"max_attn_logit_l{layer}"] = max_logits[layer]
  return out


def eval_data(config: Config, run: engine.Run) -> dict:
  del run
  val = data_lib.corpus(config).val
  starts = np.linspace(0, len(val) - config.context - 2, config.eval_windows).astype(np.int64)
  return {"tokens": data_lib.windows(val, starts, config.context + 1)}


def batches(config: Config, run: engine.Run, start: int, num_steps: int) -> dict:
  train = data_lib.corpus(config).train
  starts = np.random.default_rng([run.seed, start]).integers(
    0, len(train) - config.context - 1, (num_steps, config.batch_size)
  )
  return {"tokens": data_lib.windows(train, starts, config.context + 1)}


STUDY = engine.Study(
  name="lm_warmup",
  init_model=init_model,
  loss_fn=loss_fn,
  evaluate=evaluate,
  batches=batches,
  eval_data=eval_data,
  progress_keys=("val_loss", "max_attn_logit"),
  summarize_run=analysis.summarize_run,
  write_results=analysis.write_results,
  panels=(
    ("validation loss", ("val_loss",), True),
    ("max |attention logit|", ("max_attn_logit",), True),
    ("learning rate", ("lr",), False),
  ),
  table_keys=("val_loss", "max_attn_logit", "z_max"),
  # YNNPACK for the matrix products only; XLA's own emitters for the elementwise work and the
  # reductions around them: 1.2-1.4x less CPU time per step at widths 32-256 than the default,
  # which also hands those to YNNPACK (measured in the README's speed section).
  cpu_compiler_options={"xla_cpu_experimental_ynn_fusion_type": "LIBRARY_FUSION_TYPE_DOT"},
)


def train_and_evaluate(
  config: Config, workdir, *, resume: bool = False, progress: bool = True
) -> list:
  """Trains every run of ``config`` into ``workdir`` (see ``engine.train_and_evaluate``)."""
  return engine.train_and_evaluate(STUDY, config, workdir, resume=resume, progress=progress)
