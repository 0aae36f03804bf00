"""Section 3: what a schedule or plateau transformation adds to a jitted Adam step.

A small plain-JAX MLP trained with Adam; each timed call runs ``steps`` updates
inside one ``lax.scan`` (so dispatch noise is amortised). Four optimizers, timed
round-robin in one process: constant LR (the baseline), Adam with
``jaxsched.warmup_cosine``, Adam chained with ``jaxsched.reduce_on_plateau`` and
with ``optax.contrib.reduce_on_plateau`` (both fed the training loss every step).
"""

import jax
import jax.numpy as jnp
import optax

import jaxsched
from benchmarks import timing

LR = 1e-3


def _mlp_init(key, sizes):
  params = []
  for k, (n_in, n_out) in zip(jax.random.split(key, len(sizes) - 1), zip(sizes[:-1], sizes[1:])):
    params.append(
      {"w": jax.random.normal(k, (n_in, n_out)) / jnp.sqrt(n_in), "b": jnp.zeros((n_out,))}
    )
  return params


def _mlp_loss(params, x_BxI, y_B):
  h = x_BxI
  for layer in params[:-1]:
    h = jax.nn.relu(h @ layer["w"] + layer["b"])
  logits_BxC = h @ params[-1]["w"] + params[-1]["b"]
  return optax.softmax_cross_entropy_with_integer_labels(logits_BxC, y_B).mean()


def optimizers(total_steps: int) -> dict:
  """name -> (optimizer, description). Every one is a chain taking ``value=``."""
  return {
    "constant": (optax.chain(optax.adam(LR)), "optax.adam(1e-3)"),
    "warmup_cosine": (
      optax.chain(optax.adam(jaxsched.warmup_cosine(LR, total_steps // 10, total_steps))),
      "optax.adam(jaxsched.warmup_cosine(...))",
    ),
    "jaxsched_plateau": (
      optax.chain(optax.adam(LR), jaxsched.reduce_on_plateau(factor=0.5, patience=10)),
      "chain(adam, jaxsched.reduce_on_plateau)",
    ),
    "optax_plateau": (
      optax.chain(optax.adam(LR), optax.contrib.reduce_on_plateau(factor=0.5, patience=10)),
      "chain(adam, optax.contrib.reduce_on_plateau)",
    ),
  }


def _scanned(tx, steps):
  @jax.jit
  def run(params, opt_state, x, y):
    def step(carry, _):
      params, opt_state = carry
      loss, grads = jax.value_and_grad(_mlp_loss)(params, x, y)
      updates, opt_state = tx.update(grads, opt_state, params, value=loss)
      return (optax.apply_updates(params, updates), opt_state), loss

    (params, opt_state), losses = jax.lax.scan(step, (params, opt_state), None, length=steps)
    return params, opt_state, losses

  return run


def run(quick: bool) -> list:
  sizes = (32, 128, 128, 10)
  batch = 128
  steps, repeats = (20, 2) if quick else (500, 15)
  kx, ky, kp = jax.random.split(jax.random.PRNGKey(0), 3)
  x = jax.random.normal(kx, (batch, sizes[0]))
  y = jax.random.randint(ky, (batch,), 0, sizes[-1])
  params = _mlp_init(kp, sizes)
  txs = optimizers(10_000)
  sides = {}
  for name, (tx, _) in txs.items():
    fn, opt_state = _scanned(tx, steps), tx.init(params)
    sides[name] = lambda fn=fn, opt_state=opt_state: fn(params, opt_state, x, y)
  t = timing.alternate(sides, repeats=repeats, number=1, warmup=2)
  work = (
    f"{steps} Adam steps of an MLP {'-'.join(map(str, sizes))} (batch {batch}) "
    "in one lax.scan per call"
  )
  entries = []
  for name, target in (
    ("warmup_cosine", ("ratio", "<=", 1.05)),
    ("jaxsched_plateau", None),
    ("optax_plateau", None),
  ):
    entries.append(
      timing.entry(
        "train_step",
        f"adam_step/{name}_vs_constant",
        ours=txs[name][1],
        baseline=txs["constant"][1],
        ours_t=t[name],
        baseline_t=t["constant"],
        work=work,
        target=target,
      )
    )
  entries.append(
    timing.entry(
      "train_step",
      "adam_step/jaxsched_plateau_vs_optax_plateau",
      ours=txs["jaxsched_plateau"][1],
      baseline=txs["optax_plateau"][1],
      ours_t=t["jaxsched_plateau"],
      baseline_t=t["optax_plateau"],
      work=work,
      target=("ratio", "<=", 1.0),
    )
  )
  return entries
