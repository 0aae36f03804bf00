"""Modular arithmetic tables of Power et al. (2022): ``a op b mod p``.

Every pair ``(a, b)`` of the operation's domain is one example; the split into
training and validation sets is a seeded permutation, so no pair is in both.
Tokens: ``0 .. p-1`` are the numbers, ``p`` is the operator, ``p + 1`` is ``=``.
"""

from typing import NamedTuple

import numpy as np

OPERATIONS = ("add", "sub", "mul", "div")


class Table(NamedTuple):
  """All examples of one operation."""

  inputs: np.ndarray  # (N, 2) int32: a, b
  targets: np.ndarray  # (N,) int32: a op b mod p
  modulus: int


class Split(NamedTuple):
  """Indices into a :class:`Table` for training and validation."""

  train: np.ndarray  # (n_train,) int32
  val: np.ndarray  # (N - n_train,) int32


def table(operation: str, modulus: int) -> Table:
  """Every example of ``a op b mod p``; division uses the modular inverse.

  For "div" the divisor ranges over ``1 .. p-1`` (``a / b = a * b^(p-2) mod
  p``, p prime), as in Power et al.; the other operations take all pairs.
  """
  if operation not in OPERATIONS:
    raise ValueError(f"operation={operation!r} must be one of {OPERATIONS}")
  if modulus < 2 or any(modulus % k == 0 for k in range(2, int(modulus**0.5) + 1)):
    raise ValueError(f"modulus={modulus} must be a prime (division needs inverses)")
  a, b = np.meshgrid(np.arange(modulus), np.arange(modulus), indexing="ij")
  a, b = a.ravel(), b.ravel()
  if operation == "div":
    keep = b != 0
    a, b = a[keep], b[keep]
    targets = a * np.array([pow(int(x), modulus - 2, modulus) for x in b]) % modulus
  elif operation == "add":
    targets = (a + b) % modulus
  elif operation == "sub":
    targets = (a - b) % modulus
  else:
    targets = (a * b) % modulus
  return Table(np.stack([a, b], axis=1).astype(np.int32), targets.astype(np.int32), modulus)


def split(num_examples: int, train_fraction: float, seed: int) -> Split:
  """A seeded split: ``round(train_fraction * N)`` training examples, the rest validation."""
  if not 0.0 < train_fraction < 1.0:
    raise ValueError(f"train_fraction={train_fraction} must be in (0, 1)")
  order = np.random.default_rng(seed).permutation(num_examples).astype(np.int32)
  n_train = int(round(train_fraction * num_examples))
  return Split(train=np.sort(order[:n_train]), val=np.sort(order[n_train:]))


def sequences(inputs: np.ndarray, modulus: int, with_operator: bool) -> np.ndarray:
  """Token sequences ``a op b =`` (or ``a b =``) for the transformer models."""
  a, b = inputs[..., 0], inputs[..., 1]
  eq = np.full_like(a, modulus + 1)
  parts = [a, np.full_like(a, modulus), b, eq] if with_operator else [a, b, eq]
  return np.stack(parts, axis=-1).astype(np.int32)
