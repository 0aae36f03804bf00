"""Offline data with a spurious cue: patched digits, a procedural image proxy of Waterbirds, LMS-5.

Every split is drawn from the run's seed (data seed = run seed), so the spread
over seeds includes the spread over splits. Groups are ``g = 2 y + a`` (label
``y``, spurious attribute ``a``); validation and test hold the four groups in
equal numbers (``val_per_group``, ``test_per_group``), as Sagawa et al. built
Waterbirds' validation and test sets.

**digits** (scikit-learn's bundled ``load_digits``, 1797 8x8 images): label
``y = digit >= 5``; ``a`` = a bright 2x2 patch in the top-left corner (a cue no
digit has). Validation and test take ``2 * per_group`` images of each class
(half of them patched); the rest (1117 images at 85 per group) is the training
split, where the patch agrees with the label (``a = y``) for ``agreement`` of
the images (0.95).

**shapes** (generated, Waterbirds' design on 32x32 colour images): the label is
the foreground object's shape family, a bird-like silhouette (``y = 0``: an
elliptic body, a round head, a beak and a forked tail) or a boat-like one
(``y = 1``: a hull, a mast and a sail), drawn at a random position, scale,
rotation, mirror image and colour (the same colour law for both); the
attribute is the background: "land" (``a = 0``: low-frequency green and brown
noise with blotches) or "water" (``a = 1``: blue horizontal waves). In training
``a = y`` for ``agreement`` of the images, with exact group sizes (95%: 47.5%,
2.5%, 2.5%, 47.5%). Two probe data sets isolate each cue, balanced and with the
same split sizes: ``shapes_background`` (background alone, ``y = a``) and
``shapes_shape`` (the object on a flat grey background, ``a = y``). Pixels are
``uint8`` (the model scales them), so many seeds' splits fit in memory.

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

DATASETS = ("digits", "shapes", "shapes_background", "shapes_shape", "lms5")
SHAPES = ("shapes", "shapes_background", "shapes_shape")
SPLITS = ("train", "val", "test")


def num_groups(dataset: str) -> int:
  """Groups of ``dataset``: ``2 y + a`` (4), or the two classes of lms5."""
  return 2 if dataset == "lms5" else 4


class Split(NamedTuple):
  x: np.ndarray  # (N, D) float32, or (N, H, W, 3) uint8 images
  y: np.ndarray  # (N,) int32
  g: np.ndarray  # (N,) int32 group


def _check_agreement(name: str, agreement: float) -> None:
  if not 0.5 <= agreement <= 1.0:
    raise ValueError(f"{name}: agreement={agreement} must be in [0.5, 1]")


def _check_per_group(name: str, **sizes: int) -> None:
  for key, value in sizes.items():
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
      raise ValueError(f"{name}: {key}={value!r} must be an integer >= 1")


def group_counts(n: int, agreement: float) -> np.ndarray:
  """Exact training group sizes ``(n_g0, n_g1, n_g2, n_g3)`` for ``n`` images, classes balanced,
  the attribute agreeing with the label for ``agreement`` of them."""
  minority = int(round(n * (1.0 - agreement) / 2))
  majority_0 = n // 2 - minority
  majority_1 = n - n // 2 - minority
  return np.array([majority_0, minority, minority, majority_1])


# ------------------------------------------------------------------------------------ digits


def _patch(images: np.ndarray, a: np.ndarray) -> np.ndarray:
  """8x8 images in [0, 1] with the top-left 2x2 patch set to 1 where ``a``."""
  images = images.reshape(-1, 8, 8).copy()
  images[a.astype(bool), :2, :2] = 1.0
  return images.reshape(-1, 64)


def _balanced_groups(x: np.ndarray, y: np.ndarray, idx_by_class: list, per_group: int) -> Split:
  xs, ys, gs = [], [], []
  for label, idx in enumerate(idx_by_class):
    for a, part in ((0, idx[:per_group]), (1, idx[per_group:])):
      xs.append(_patch(x[part], np.full(len(part), a)))
      ys.append(np.full(len(part), label))
      gs.append(np.full(len(part), 2 * label + a))
  return Split(
    np.concatenate(xs).astype(np.float32),
    np.concatenate(ys).astype(np.int32),
    np.concatenate(gs).astype(np.int32),
  )


@functools.lru_cache(maxsize=1)
def _load_digits() -> tuple:
  from sklearn.datasets import load_digits  # pylint: disable=import-outside-toplevel

  bunch = load_digits()
  return (bunch.data / 16.0).astype(np.float32), (bunch.target >= 5).astype(np.int32)


def digits(
  seed: int = 0, agreement: float = 0.95, val_per_group: int = 85, test_per_group: int = 85
) -> dict:
  """``{"train", "val", "test"}`` splits of the patched digits, drawn from ``seed``."""
  _check_agreement("digits", agreement)
  _check_per_group("digits", val_per_group=val_per_group, test_per_group=test_per_group)
  x, y = _load_digits()
  rng = np.random.default_rng(seed)
  val_idx, test_idx, train_idx = [], [], []
  for label in (0, 1):
    idx = rng.permutation(np.flatnonzero(y == label))
    need = 2 * (val_per_group + test_per_group)
    if need >= len(idx):
      raise ValueError(
        f"digits: val_per_group={val_per_group} and test_per_group={test_per_group} leave no "
        f"training images of class {label} ({len(idx)} images)"
      )
    val_idx.append(idx[: 2 * val_per_group])
    test_idx.append(idx[2 * val_per_group : need])
    train_idx.append(idx[need:])
  train = rng.permutation(np.concatenate(train_idx))
  a = np.where(rng.random(len(train)) < agreement, y[train], 1 - y[train])
  return {
    "train": Split(_patch(x[train], a), y[train], (2 * y[train] + a).astype(np.int32)),
    "val": _balanced_groups(x, y, val_idx, val_per_group),
    "test": _balanced_groups(x, y, test_idx, test_per_group),
  }


# ------------------------------------------------------------------------------------ shapes

_LAND_COLORS = np.array(  # RGB in [0, 1]: grass, moss, olive, soil, bark
  [
    [0.30, 0.55, 0.20],
    [0.20, 0.42, 0.18],
    [0.45, 0.50, 0.22],
    [0.50, 0.38, 0.22],
    [0.38, 0.28, 0.18],
  ]
)
_WATER_COLORS = np.array(  # deep, sea, lake, lagoon
  [[0.10, 0.22, 0.55], [0.15, 0.35, 0.70], [0.20, 0.45, 0.75], [0.15, 0.50, 0.65]]
)


def _smooth_noise(rng: np.random.Generator, n: int, size: int, cells: int) -> np.ndarray:
  """``(n, size, size)`` noise in [0, 1]: a ``cells x cells`` random grid, bilinearly upsampled."""
  grid = rng.random((n, cells + 1, cells + 1), np.float32)
  t = np.linspace(0, cells, size, endpoint=False) + cells / size / 2
  i = np.minimum(t.astype(int), cells - 1)
  f = (t - i).astype(np.float32)
  rows = grid[:, i, :] * (1 - f)[None, :, None] + grid[:, i + 1, :] * f[None, :, None]
  return rows[:, :, i] * (1 - f)[None, None, :] + rows[:, :, i + 1] * f[None, None, :]


def _land(rng: np.random.Generator, n: int, size: int) -> np.ndarray:
  """``(n, size, size, 3)`` land: two of the land colours mixed by coarse noise and blotches."""
  base = _LAND_COLORS[rng.integers(0, len(_LAND_COLORS), n)].astype(np.float32)
  other = _LAND_COLORS[rng.integers(0, len(_LAND_COLORS), n)].astype(np.float32)
  coarse = _smooth_noise(rng, n, size, 3)
  blotch = (_smooth_noise(rng, n, size, 6) > 0.6).astype(np.float32)
  mix = np.clip(0.6 * coarse + 0.5 * blotch, 0, 1)[..., None]
  land = base[:, None, None, :] * (1 - mix) + other[:, None, None, :] * mix
  return land * (0.8 + 0.4 * _smooth_noise(rng, n, size, 8))[..., None]


def _water(rng: np.random.Generator, n: int, size: int) -> np.ndarray:
  """``(n, size, size, 3)`` water: a blue, modulated by horizontal waves of random frequency,
  phase and wobble, with glints on the crests."""
  base = _WATER_COLORS[rng.integers(0, len(_WATER_COLORS), n)].astype(np.float32)
  v, u = np.meshgrid(np.arange(size) / size, np.arange(size) / size, indexing="ij")
  freq = rng.uniform(3, 7, n)[:, None, None]
  phase = rng.uniform(0, 2 * np.pi, n)[:, None, None]
  wobble = rng.uniform(0.3, 1.0, n)[:, None, None] * np.sin(
    2 * np.pi * rng.uniform(1, 3, n)[:, None, None] * u[None] + phase
  )
  waves = (0.5 + 0.5 * np.sin(2 * np.pi * freq * v[None] + wobble + phase)).astype(np.float32)
  return base[:, None, None, :] * (0.75 + 0.45 * waves[..., None]) + 0.08 * waves[..., None] ** 8


def _backgrounds(rng: np.random.Generator, a: np.ndarray, size: int) -> np.ndarray:
  """``(n, size, size, 3)`` float backgrounds: land where ``a == 0``, water where ``a == 1``,
  plus pixel noise."""
  out = np.empty((len(a), size, size, 3), np.float32)
  out[a == 0] = _land(rng, int(np.sum(a == 0)), size)
  out[a == 1] = _water(rng, int(np.sum(a == 1)), size)
  return out + rng.normal(0, 0.03, out.shape).astype(np.float32)


def _inside(px: np.ndarray, py: np.ndarray, corners: tuple) -> np.ndarray:
  """Points inside the convex polygon ``corners`` (counter-clockwise ``(x, y)`` pairs)."""
  inside = np.ones(px.shape, bool)
  for (x0, y0), (x1, y1) in zip(corners, corners[1:] + corners[:1]):
    inside &= (x1 - x0) * (py - y0) - (y1 - y0) * (px - x0) >= 0
  return inside


def _bird(px: np.ndarray, py: np.ndarray) -> np.ndarray:
  """A bird in unit coordinates (x right, y up; about [-1, 1]^2): body, head, beak, forked tail."""
  body = (px / 0.62) ** 2 + (py / 0.30) ** 2 <= 1
  head = (px - 0.58) ** 2 + (py - 0.28) ** 2 <= 0.21**2
  beak = _inside(px, py, ((0.74, 0.20), (1.02, 0.28), (0.74, 0.36)))
  tail_up = _inside(px, py, ((-0.50, 0.0), (-0.95, 0.30), (-0.85, 0.36), (-0.40, 0.10)))
  tail_down = _inside(px, py, ((-0.40, -0.10), (-0.85, -0.36), (-0.95, -0.30), (-0.50, 0.0)))
  return body | head | beak | tail_up | tail_down


def _boat(px: np.ndarray, py: np.ndarray) -> np.ndarray:
  """A boat in unit coordinates: trapezoid hull, mast, triangular sail."""
  hull = _inside(px, py, ((-0.65, -0.55), (0.65, -0.55), (0.95, -0.25), (-0.95, -0.25)))
  mast = (np.abs(px + 0.05) <= 0.05) & (py >= -0.25) & (py <= 0.85)
  sail = _inside(px, py, ((0.05, -0.15), (0.70, -0.15), (0.05, 0.80)))
  return hull | mast | sail


_CANONICAL, _EXTENT = 512, 1.1  # the shapes drawn once on a 512x512 grid over [-1.1, 1.1]^2


@functools.lru_cache(maxsize=1)
def _canonical_masks() -> np.ndarray:
  """``(2, 512, 512)`` bool: the bird (0) and the boat (1) in unit coordinates, row = y."""
  t = ((np.arange(_CANONICAL) + 0.5) / _CANONICAL * 2 - 1) * _EXTENT
  py, px = np.meshgrid(t, t, indexing="ij")
  return np.stack([_bird(px, py), _boat(px, py)])


def _objects(rng: np.random.Generator, y: np.ndarray, size: int) -> tuple:
  """``(alpha (n, size, size), colour (n, 3))``: each image's object mask and colour, the mask
  looked up in the canonical masks through each image's inverse pose (anti-aliased by 2x2
  samples per pixel up to 32x32 images). Pose: centre within the middle of the image, scale
  0.28-0.40 of the image, rotation within +-20 degrees, mirrored half the time; colour uniform in
  hue, saturation 0.5-1, value 0.55-1, the same law for both classes."""
  supersample = 2 if size <= 32 else 1
  n, fine = len(y), size * supersample
  centre = rng.uniform(0.35, 0.65, (n, 2)) * size
  scale = rng.uniform(0.28, 0.40, n) * size
  angle = np.deg2rad(rng.uniform(-20, 20, n))
  mirror = np.where(rng.random(n) < 0.5, -1.0, 1.0)
  coords = (np.arange(fine) + 0.5) / supersample
  gy, gx = np.meshgrid(coords, coords, indexing="ij")
  dx = ((gx[None] - centre[:, 0, None, None]) / scale[:, None, None]).astype(np.float32)
  dy = (-(gy[None] - centre[:, 1, None, None]) / scale[:, None, None]).astype(np.float32)
  cos = np.cos(angle)[:, None, None].astype(np.float32)
  sin = np.sin(angle)[:, None, None].astype(np.float32)
  px = (cos * dx + sin * dy) * mirror[:, None, None]
  py = -sin * dx + cos * dy
  scale_to_grid = np.float32(_CANONICAL / (2 * _EXTENT))
  col = ((px + np.float32(_EXTENT)) * scale_to_grid).astype(np.int32)
  row = ((py + np.float32(_EXTENT)) * scale_to_grid).astype(np.int32)
  inside = (col >= 0) & (col < _CANONICAL) & (row >= 0) & (row < _CANONICAL)
  flat = (y[:, None, None] * _CANONICAL + np.clip(row, 0, _CANONICAL - 1)) * _CANONICAL
  flat += np.clip(col, 0, _CANONICAL - 1)
  mask = (np.take(_canonical_masks().reshape(-1), flat) & inside).astype(np.float32)
  alpha = mask.reshape(n, size, supersample, size, supersample).mean(axis=(2, 4))
  hue, saturation, value = rng.random(n), rng.uniform(0.5, 1.0, n), rng.uniform(0.55, 1.0, n)
  k = (np.array([5.0, 3.0, 1.0])[None, :] + hue[:, None] * 6) % 6
  colour = value[:, None] * (1 - saturation[:, None] * np.clip(np.minimum(k, 4 - k), 0, 1))
  return alpha, colour


def render(
  rng: np.random.Generator, y: np.ndarray, a: np.ndarray, size: int, kind: str = "shapes"
) -> np.ndarray:
  """``(n, size, size, 3)`` uint8 images: object ``y`` on background ``a`` (``shapes``), the
  background alone (``shapes_background``) or the object on flat grey (``shapes_shape``)."""
  backgrounds = _backgrounds(rng, a, size)
  alpha, colour = _objects(rng, y, size)
  if kind == "shapes_background":
    alpha = np.zeros_like(alpha)
  if kind == "shapes_shape":
    backgrounds = np.full_like(backgrounds, 0.5)
  images = backgrounds * (1 - alpha[..., None]) + colour[:, None, None, :] * alpha[..., None]
  return np.clip(np.round(images * 255), 0, 255).astype(np.uint8)


def samples(seed: int = 0, per_group: int = 8, image_size: int = 32) -> tuple:
  """``(images (4, per_group, size, size, 3) uint8, group names)``: examples of each group of
  ``shapes`` for a figure, drawn as the splits are."""
  rng = np.random.default_rng([seed, len(SHAPES)])
  g = np.repeat(np.arange(4), per_group)
  images = render(rng, g // 2, g % 2, image_size)
  names = ("bird on land", "bird on water", "boat on land", "boat on water")
  return images.reshape(4, per_group, image_size, image_size, 3), names


def _shapes_split(rng: np.random.Generator, counts: np.ndarray, size: int, kind: str) -> Split:
  g = rng.permutation(np.repeat(np.arange(4), counts)).astype(np.int32)
  y, a = g // 2, g % 2
  if kind == "shapes_background":
    y = a  # the background is the label
  elif kind == "shapes_shape":
    a = y  # no background cue at all
  g = (2 * y + a).astype(np.int32)
  return Split(render(rng, y, a, size, kind), y.astype(np.int32), g)


def shapes(
  seed: int = 0,
  kind: str = "shapes",
  train_size: int = 2000,
  val_per_group: int = 100,
  test_per_group: int = 300,
  image_size: int = 32,
  agreement: float = 0.95,
) -> dict:
  """``{"train", "val", "test"}`` splits of the generated bird/boat images, drawn from
  ``seed`` (see the module docstring). The probes (``kind`` ``shapes_background`` or
  ``shapes_shape``) are balanced in every split: each cue alone, nothing spurious."""
  if kind not in SHAPES:
    raise ValueError(f"shapes: kind={kind!r} must be one of {', '.join(SHAPES)}")
  _check_agreement("shapes", agreement)
  _check_per_group(
    "shapes", train_size=train_size, val_per_group=val_per_group, test_per_group=test_per_group
  )
  if image_size < 16:
    raise ValueError(f"shapes: image_size={image_size} must be >= 16")
  counts = group_counts(train_size, agreement if kind == "shapes" else 0.5)
  if counts.min() < 1:
    raise ValueError(
      f"shapes: train_size={train_size} at agreement={agreement} leaves a group empty"
    )
  rng = np.random.default_rng([seed, SHAPES.index(kind)])
  return {
    "train": _shapes_split(rng, counts, image_size, kind),
    "val": _shapes_split(rng, np.full(4, val_per_group), image_size, kind),
    "test": _shapes_split(rng, np.full(4, test_per_group), image_size, kind),
  }


# -------------------------------------------------------------------------------------- lms5


def _lms5_points(rng: np.random.Generator, n: int, slabs: int, margin: float) -> Split:
  y = rng.permutation(np.arange(n) % 2).astype(np.int32)  # the classes in equal numbers
  linear = (2 * y - 1) * rng.uniform(margin, 1.0, n)
  centers = np.where(
    y[:, None] == 0, rng.choice([-1.0, 0.0, 1.0], (n, slabs)), rng.choice([-0.5, 0.5], (n, slabs))
  )
  slab = centers + rng.uniform(-0.1, 0.1, (n, slabs))
  x = np.concatenate([linear[:, None], slab], axis=1).astype(np.float32)
  return Split(x, y, y.copy())


def lms5(
  seed: int = 0, num_train: int = 2000, num_eval: int = 1000, slabs: int = 4, margin: float = 0.1
) -> dict:
  """LMS-5 splits drawn from ``seed``, plus ``randomized``: the test set with coordinate 0
  shuffled."""
  if num_train < 2 or num_eval < 2 or slabs < 1:
    raise ValueError(
      f"lms5: num_train={num_train}, num_eval={num_eval} must be >= 2 and slabs={slabs} >= 1"
    )
  rng = np.random.default_rng(seed)
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


# ----------------------------------------------------------------------------------- by config


def load(config, seed: int) -> dict:
  """The splits of ``config.dataset`` for data seed ``seed``."""
  return _load(
    config.dataset,
    seed,
    config.agreement,
    config.val_per_group,
    config.test_per_group,
    config.train_size,
    config.image_size,
    config.lms5_points,
  )


@functools.lru_cache(maxsize=64)
def _load(
  dataset: str,
  seed: int,
  agreement: float,
  val_per_group: int,
  test_per_group: int,
  train_size: int,
  image_size: int,
  lms5_points: int,
) -> dict:
  if dataset == "digits":
    return digits(seed, agreement, val_per_group, test_per_group)
  if dataset in SHAPES:
    return shapes(seed, dataset, train_size, val_per_group, test_per_group, image_size, agreement)
  if dataset == "lms5":
    return lms5(seed, num_train=lms5_points)
  raise ValueError(f"config field dataset={dataset!r} must be one of {', '.join(DATASETS)}")


def num_train(config) -> int:
  """Training examples of ``config.dataset`` (the same for every seed), without drawing them."""
  if config.dataset == "digits":
    return len(_load_digits()[1]) - 4 * (config.val_per_group + config.test_per_group)
  if config.dataset in SHAPES:
    return config.train_size
  return config.lms5_points


def balanced_probabilities(g: np.ndarray, groups: int) -> np.ndarray:
  """Each example's probability under Sagawa et al.'s group-balanced sampler: ``1 / (G n_g)``
  for its group ``g`` of ``n_g`` examples among the ``G`` groups present, so each group is drawn
  equally often and each example within its group uniformly (their ``WeightedRandomSampler``
  with weights ``N / n_g``, drawn with replacement)."""
  counts = np.bincount(g, minlength=groups).astype(np.float64)
  present = np.count_nonzero(counts)
  return 1.0 / (present * counts[g])
