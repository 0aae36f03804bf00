"""All Orbax code of the experiments: save and restore a training state.

Restores go against an abstract target (``jax.eval_shape`` of the init), so
Optax's NamedTuple states come back as NamedTuples, not dicts.
"""

import pathlib
from typing import Any, Optional

import orbax.checkpoint as ocp


class Checkpointer:
  """Saves ``{"state": pytree, "meta": json}`` every ``every`` steps under ``directory``."""

  def __init__(self, directory: pathlib.Path, every: int, max_to_keep: int = 2):
    self.every = every
    options = ocp.CheckpointManagerOptions(
      preservation_policy=ocp.checkpoint_managers.LatestN(max_to_keep),
      create=True,
      enable_async_checkpointing=True,
    )
    self._manager = ocp.CheckpointManager(pathlib.Path(directory).absolute(), options=options)

  def due(self, step: int) -> bool:
    return self.every > 0 and step % self.every == 0

  def save(self, step: int, state: Any, meta: dict, *, force: bool = False) -> None:
    if self._manager.latest_step() == step:
      return  # already saved (an interrupt right after a scheduled save)
    self._manager.save(
      step,
      args=ocp.args.Composite(state=ocp.args.StandardSave(state), meta=ocp.args.JsonSave(meta)),
      force=force,
    )

  def latest_step(self) -> Optional[int]:
    return self._manager.latest_step()

  def latest_meta(self) -> tuple[int, dict]:
    """The latest step and its metadata, without the state."""
    step = self._manager.latest_step()
    if step is None:
      raise FileNotFoundError("no checkpoint to resume from")
    restored = self._manager.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore()))
    return step, restored["meta"]

  def restore(self, abstract_state: Any, step: Optional[int] = None) -> tuple[int, Any, dict]:
    """The state at ``step`` (default: the latest) shaped like ``abstract_state``."""
    step = self._manager.latest_step() if step is None else step
    if step is None:
      raise FileNotFoundError("no checkpoint to resume from")
    restored = self._manager.restore(
      step,
      args=ocp.args.Composite(
        state=ocp.args.StandardRestore(abstract_state), meta=ocp.args.JsonRestore()
      ),
    )
    return step, restored["state"], restored["meta"]

  def close(self) -> None:
    self._manager.wait_until_finished()
    self._manager.close()
