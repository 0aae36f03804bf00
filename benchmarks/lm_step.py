"""The LM warmup study's train step, JAX vs PyTorch eager, and its LR grid's execution modes.

The JAX side is the study's own program, compiled by the engine
(:class:`benchmarks.programs.StudyGroup`): the pre-LN RoPE transformer, clip 1,
AdamW (0.9, 0.95) with independent weight decay, warmup + cosine, ``steps``
updates per call in one scan. The PyTorch twin
(:func:`benchmarks.torch_twins.lm_twin`) computes the same model the same way
from the JAX run's weights, so the first loss agrees, with ``clip_grad_norm_``
and ``torch.optim.AdamW`` (coupled decay; the update arithmetic is the same
size).

The sweep rows time the LR grid of one model shape (one group of the study)
under the engine's execution modes, each call the engine's chunk (``steps``
updates, then the evaluation); at width 64, the study's main shape, with the
engine's ``auto`` beside them (:func:`benchmarks.execution.entries`).
"""

import time

import torch

from benchmarks import execution
from benchmarks import timing
from benchmarks import torch_twins
from benchmarks.programs import StudyGroup
from experiments.common import config as config_lib
from experiments.lm_warmup import configs
from experiments.lm_warmup import train

SETTINGS = {
  "full": {"widths": (32, 64, 128), "steps": 20, "repeats": 5, "sweep": 7, "auto_width": 64},
  # --quick leaves the execution modes out here (compiling the LM three more times is most
  # of its time): the grokking MLP's rows run the same code, auto included, for less.
  "quick": {"widths": (32,), "steps": 2, "repeats": 1, "sweep": 0, "auto_width": None},
}
LRS = (3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1)


def study_config(width: int, steps: int, lrs):
  """The study's ``cpu`` preset with one run per LR at ``width`` (seed 0, no warmup),
  ``steps`` updates per call (``eval_every``): one group."""
  return config_lib.replace(
    configs.get("cpu"),
    {
      "total_steps": steps,
      "eval_every": steps,
      "checkpoint_every": 0,
      "seeds": (0,),
      "runs": tuple(configs.grid(lrs, (0,), steps, width=width)),
    },
  )


def run(quick: bool) -> list:
  settings = SETTINGS["quick" if quick else "full"]
  steps, repeats = settings["steps"], settings["repeats"]
  entries = []
  for width in settings["widths"]:
    group = StudyGroup(train.STUDY, study_config(width, steps, (1e-3,)))
    config = group.config
    twin = torch_twins.lm_twin(config, group.params(0))
    tokens = group.host_batches[0]["tokens"]
    with torch.no_grad():  # before the timed calls train the twin
      torch_loss = float(torch_twins.lm_loss(twin, torch.as_tensor(tokens[0]).long()))
    weight_decay = config.optimizer[-1]["weight_decay"]
    print(f"  width {width}: JAX vs PyTorch eager", flush=True)
    t = timing.alternate(
      {
        "jax": group.vmapped,
        "torch": torch_twins.lm_trainer(twin, tokens, lr=1e-3, weight_decay=weight_decay),
      },
      repeats=repeats,
    )
    work = (
      f"{steps} AdamW steps per call, width {width}, depth {config.depth}, context "
      f"{config.context}, batch {config.batch_size}"
    )
    entries.append(
      timing.entry(
        "lm_step",
        f"width{width}/jax_vs_torch_eager",
        ours="the study's compile_group(...).train",
        baseline="PyTorch eager twin",
        ours_t=t["jax"],
        baseline_t=t["torch"],
        work=work,
        initial_loss={"jax": group.first_loss(), "torch": torch_loss},
        steps_per_s={"ours": steps / t["jax"].median_s, "baseline": steps / t["torch"].median_s},
      )
    )
    runs = settings["sweep"]
    if not runs:
      continue
    entries += execution.entries(
      "lm_step",
      f"width{width}",
      train.STUDY,
      study_config(width, steps, LRS[:runs]),
      auto=width == settings["auto_width"],
      evaluate=True,
      repeats=repeats,
      work=f"{runs} LRs x ({work}) and an evaluation of {config.eval_windows} windows per call",
    )
  return entries


if __name__ == "__main__":
  began = time.perf_counter()
  for e in run(quick=False):
    print(e["name"], e["ratio"], e.get("initial_loss"))
  print(f"{time.perf_counter() - began:.0f} s")
