"""Data parallelism over a ``jax.sharding.Mesh`` of every visible device."""

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

DATA_AXIS = "data"


def data_mesh() -> Mesh:
  """A one-axis mesh ("data") over all devices: 1 CPU, a GPU, or a TPU slice alike."""
  return Mesh(np.asarray(jax.devices()), (DATA_AXIS,))


def pad_to_devices(n: int, mesh: Mesh) -> int:
  """The smallest multiple of the mesh size that is >= n."""
  size = mesh.size
  return -(-n // size) * size


def examples_sharding(mesh: Mesh, ndim: int, axis: int) -> NamedSharding:
  """Shards ``axis`` (the example axis) of an ``ndim`` array over the data axis."""
  spec = [None] * ndim
  spec[axis] = DATA_AXIS
  return NamedSharding(mesh, P(*spec))


def replicated(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, P())
