"""demo: the laptop-CPU run. A quadratic-activation MLP groks p=97 addition.

One-hidden-layer MLP (width 256) on one-hot a, b; 30% of the 9409 pairs for
training, full batch, AdamW (lr 1e-3, betas 0.9/0.98, weight decay 1.0), 6000
steps. Three runs trained together in one vmapped program: a constant rate
after a 10-step warmup (Power et al.), warmup + cosine, and the same constant
rate with Grokfast's EMA gradient filter. About three minutes on 2 CPU cores.
"""

from experiments.grokking.config import Config


def get_config() -> Config:
  return Config(
      model="mlp", width=256, modulus=97, train_fraction=0.3, batch_size=0,
      total_steps=6000, eval_every=100, learning_rate=1e-3, weight_decay=1.0,
      seeds=(0,),
      runs=(
          {"name": "constant", "schedule": {"type": "warmup_constant", "warmup_steps": 10}},
          {"name": "warmup_cosine",
           "schedule": {"type": "warmup_cosine", "warmup_steps": 500, "total_steps": 6000,
                        "end_value": 1e-5}},
          {"name": "constant+grokfast", "schedule": {"type": "warmup_constant", "warmup_steps": 10},
           "grokfast": {"alpha": 0.98, "lamb": 2.0}},
      ),
      checkpoint_every=1000)
