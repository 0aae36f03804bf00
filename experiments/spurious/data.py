"""Offline data with a spurious cue: scikit-learn's digits with a corner patch, and LMS-5.

**digits** (scikit-learn's bundled ``load_digits``, 1797 8x8 images): label
``y = digit >= 5``; attribute ``a`` = a bright 2x2 patch in the top-left
corner (a cue no digit has). Group ``g = 2 y + a``. In training the patch
agrees with the label (``a = y``) for ``agreement`` of the examples (0.95), so
the patch alone predicts 95% of the training labels; validation and test hold
the four groups in equal numbers, where the patch predicts nothing. The split
of images is fixed (data seed 0) so every run sees the same data.

**lms5** (Shah et al. 2020, "The Pitfalls of Simplicity Bias"): coordinate 0
is linear (``x_0 = (2y - 1) * U(margin, 1)``), coordinates ``1..k`` are 5-slab
(``y = 0`` on slabs at -1, 0, 1 and ``y = 1`` at -0.5, 0.5, each slab of width
``2 * 0.1``), all fully predictive. The test set is also given with coordinate
0 randomized (``randomized``): a network that learned only the linear
coordinate scores 50% there, one that learned the slabs scores high. Groups
are the two classes.
"""

import functools
from typing import NamedTuple

import numpy as np

DATASETS = ("digits", "lms5")
NUM_GROUPS = {"digits": 4, "lms5": 2}
SPLITS = ("train", "val", "test")


class Split(NamedTuple):
  x: np.ndarray  # (N, D) float32
  y: np.ndarray  # (N,) int32
  g: np.ndarray  # (N,) int32 group


def _patch(images: np.ndarray, a: np.ndarray) -> np.ndarray:
  """8x8 images in [0, 1] with the top-left 2x2 patch set to 1 where ``a``."""
  images = images.reshape(-1, 8, 8).copy()
  images[a.astype(bool), :2, :2] = 1.0
  return images.reshape(-1, 64)


def _balanced(rng: np.random.Generator, x: np.ndarray, y: np.ndarray) -> Split:
  """Each class split in halves with and without the patch, every group the same size."""
  per_group = min(np.bincount(y, minlength=2)) // 2
  xs, ys, gs = [], [], []
  for label in (0, 1):
    idx = rng.permutation(np.flatnonzero(y == label))[: 2 * per_group]
    for a, part in ((0, idx[:per_group]), (1, idx[per_group:])):
      xs.append(_patch(x[part], np.full(len(part), a)))
      ys.append(np.full(len(part), label))
      gs.append(np.full(len(part), 2 * label + a))
  return Split(
    np.concatenate(xs).astype(np.float32),
    np.concatenate(ys).astype(np.int32),
    np.concatenate(gs).astype(np.int32),
  )


def digits(agreement: float = 0.95, val_fraction: float = 0.2, test_fraction: float = 0.2) -> dict:
  """``{"train", "val", "test"}`` splits of the patched digits (see the module docstring)."""
  if not 0.5 <= agreement <= 1.0:
    raise ValueError(f"agreement={agreement} must be in [0.5, 1]")
  from sklearn.datasets import load_digits  # pylint: disable=import-outside-toplevel

  bunch = load_digits()
  x = (bunch.data / 16.0).astype(np.float32)
  y = (bunch.target >= 5).astype(np.int32)
  rng = np.random.default_rng(0)
  order = rng.permutation(len(y))
  n_val, n_test = int(val_fraction * len(y)), int(test_fraction * len(y))
  val, test, train = np.split(order, [n_val, n_val + n_test])
  a = np.where(rng.random(len(train)) < agreement, y[train], 1 - y[train])
  splits = {"train": Split(_patch(x[train], a), y[train], (2 * y[train] + a).astype(np.int32))}
  splits["val"] = _balanced(rng, x[val], y[val])
  splits["test"] = _balanced(rng, x[test], y[test])
  return splits


def _lms5_points(rng: np.random.Generator, n: int, slabs: int, margin: float) -> Split:
  y = rng.integers(0, 2, n).astype(np.int32)
  linear = (2 * y - 1) * rng.uniform(margin, 1.0, n)
  centers = np.where(
    y[:, None] == 0, rng.choice([-1.0, 0.0, 1.0], (n, slabs)), rng.choice([-0.5, 0.5], (n, slabs))
  )
  slab = centers + rng.uniform(-0.1, 0.1, (n, slabs))
  x = np.concatenate([linear[:, None], slab], axis=1).astype(np.float32)
  return Split(x, y, y.copy())


def lms5(num_train: int = 2000, num_eval: int = 1000, slabs: int = 4, margin: float = 0.1) -> dict:
  """LMS-5 splits, plus ``randomized``: the test set with coordinate 0 shuffled."""
  if num_train < 2 or num_eval < 2 or slabs < 1:
    raise ValueError(
      f"lms5: num_train={num_train}, num_eval={num_eval} must be >= 2 and slabs={slabs} >= 1"
    )
  rng = np.random.default_rng(0)
  splits = {
    "train": _lms5_points(rng, num_train, slabs, margin),
    "val": _lms5_points(rng, num_eval, slabs, margin),
    "test": _lms5_points(rng, num_eval, slabs, margin),
  }
  test = splits["test"]
  x = test.x.copy()
  x[:, 0] = rng.permutation(x[:, 0])
  splits["randomized"] = Split(x, test.y, test.g)
  return splits


def load(name: str) -> dict:
  """The splits of dataset ``name``."""
  if name == "digits":
    return digits()
  if name == "lms5":
    return lms5()
  raise ValueError(f"config field dataset={name!r} must be one of {', '.join(DATASETS)}")


@functools.lru_cache(maxsize=8)
def _splits(dataset: str, lms5_points: int) -> dict:
  if dataset == "lms5":
    return lms5(num_train=lms5_points)
  return load(dataset)


def splits(config) -> dict:
  """The splits of ``config.dataset`` (``lms5`` with ``config.lms5_points`` training points)."""
  return _splits(config.dataset, config.lms5_points)
