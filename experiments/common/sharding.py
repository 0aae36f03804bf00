"""The device mesh, data placement and multi-process start-up, on JAX's own runtime.

The mesh has two named axes: ``data`` (examples are split over it) and
``model`` (a study shards a parameter over it by annotating it with
``nnx.with_partitioning(init, (..., "model"))``; the engine creates the model
inside ``jax.set_mesh(mesh)``, so the annotation places it; unannotated
parameters are replicated). The same code runs on one CPU, 8 forced host devices, a GPU, a TPU
slice, or several processes started with :func:`initialize`.
"""

from typing import Any, Callable, Optional

import jax
import numpy as np
from jax.sharding import Mesh
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

DATA_AXIS = "data"
MODEL_AXIS = "model"


def initialize(coordinator: Optional[str], num_processes: int, process_id: int) -> None:
  """Joins a multi-process run (``jax.distributed.initialize``); a no-op for one process.

  On CPU the processes exchange collectives through gloo. Call before any other JAX
  computation.
  """
  if num_processes <= 1:
    return
  if not coordinator:
    raise ValueError("--coordinator HOST:PORT is needed with --num-processes > 1")
  if not 0 <= process_id < num_processes:
    raise ValueError(f"--process-id={process_id} must be in [0, {num_processes - 1}]")
  jax.config.update("jax_cpu_collectives_implementation", "gloo")
  jax.distributed.initialize(
    coordinator_address=coordinator, num_processes=num_processes, process_id=process_id
  )


def is_writer() -> bool:
  """True in the process that writes the outputs (process 0)."""
  return jax.process_index() == 0


def make_mesh(model_axis: int = 1) -> Mesh:
  """A ``(data, model)`` mesh over every device of every process."""
  devices = np.asarray(jax.devices())
  if devices.size % model_axis:
    raise ValueError(f"model_axis={model_axis} must divide the {devices.size} devices")
  return Mesh(devices.reshape(-1, model_axis), (DATA_AXIS, MODEL_AXIS))


def data_size(mesh: Mesh) -> int:
  return mesh.shape[DATA_AXIS]


def replicated(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, P())


def examples_sharding(mesh: Mesh, ndim: int, axis: int) -> NamedSharding:
  """Shards ``axis`` (the example axis) of an ``ndim`` array over the data axis."""
  spec = [None] * ndim
  spec[axis] = DATA_AXIS
  return NamedSharding(mesh, P(*spec))


def pad_examples(examples: dict, weight_key: str) -> dict:
  """Every array padded with zeros on axis 0 to a multiple of the device count, plus
  ``weight_key``: 1 for a real example, 0 for padding, so any data axis splits it evenly."""
  n = len(next(iter(examples.values())))
  pad = -n % jax.device_count()
  out = {k: np.pad(v, [(0, pad)] + [(0, 0)] * (np.ndim(v) - 1)) for k, v in examples.items()}
  out[weight_key] = np.pad(np.ones(n, np.float32), (0, pad))
  return out


def put(host: np.ndarray, sharding: NamedSharding) -> jax.Array:
  """A global array from a host array that every process holds in full."""
  host = np.asarray(host)
  return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])


def put_examples(tree: Any, mesh: Mesh, axis: int) -> Any:
  """Every leaf placed with its ``axis`` split over the data axis.

  Raises:
    ValueError: when a leaf's example axis does not divide over the data axis.
  """

  def place(path, leaf):
    leaf = np.asarray(leaf)
    if leaf.shape[axis] % data_size(mesh):
      raise ValueError(
        f"{jax.tree_util.keystr(path)} has {leaf.shape[axis]} examples, which do not split "
        f"over the {data_size(mesh)} devices of the data axis: give the study a batch size "
        "that is a multiple of it"
      )
    return put(leaf, examples_sharding(mesh, leaf.ndim, axis))

  return jax.tree_util.tree_map_with_path(place, tree)


def local(x: jax.Array) -> np.ndarray:
  """A replicated global array as a host array (works in every process)."""
  return np.asarray(x.addressable_data(0)) if isinstance(x, jax.Array) else np.asarray(x)


def replicate_outputs(fn: Callable, mesh: Mesh) -> Callable:
  """``fn`` with its ``(state, metrics)`` metrics constrained to be replicated."""

  def wrapped(*args):
    state, metrics = fn(*args)
    return state, jax.lax.with_sharding_constraint(metrics, replicated(mesh))

  return wrapped
