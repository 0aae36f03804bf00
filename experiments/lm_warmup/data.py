"""Offline text: the standard library's own documentation (characters) or sources (bytes).

* ``pydoc``: ``pydoc_data.topics``, the help texts shipped with every Python
  (about 465k characters, about 100 distinct), character-level.
* ``stdlib``: the standard library's ``.py`` files, byte-level (256 symbols),
  up to ``max_bytes``.

The last 10% of the text is the validation split; nothing is downloaded.
:func:`baselines` gives the cross-entropy of the unigram and bigram models of
the training split (the study's failure threshold is the unigram one).
"""

import functools
import pathlib
import sysconfig
from typing import NamedTuple

import numpy as np

CORPORA = ("pydoc", "stdlib")


class Corpus(NamedTuple):
  train: np.ndarray  # (N,) int32 token ids
  val: np.ndarray  # (M,) int32
  vocab_size: int


def _split(tokens: np.ndarray, vocab_size: int) -> Corpus:
  cut = int(0.9 * len(tokens))
  return Corpus(tokens[:cut], tokens[cut:], vocab_size)


@functools.lru_cache(maxsize=4)
def load(name: str, max_bytes: int = 32_000_000) -> Corpus:
  """The corpus called ``name`` (see the module docstring)."""
  if name == "pydoc":
    from pydoc_data.topics import topics  # pylint: disable=import-outside-toplevel

    text = "".join(topics[key] for key in sorted(topics))
    alphabet = sorted(set(text))
    index = {c: i for i, c in enumerate(alphabet)}
    return _split(np.asarray([index[c] for c in text], np.int32), len(alphabet))
  if name == "stdlib":
    root = pathlib.Path(sysconfig.get_paths()["stdlib"])
    chunks, size = [], 0
    for path in sorted(root.rglob("*.py")):
      if size >= max_bytes or "site-packages" in path.parts:
        continue
      data = path.read_bytes()[: max_bytes - size]
      chunks.append(data)
      size += len(data)
    return _split(np.frombuffer(b"".join(chunks), np.uint8).astype(np.int32), 256)
  raise ValueError(f"config field corpus={name!r} must be one of {', '.join(CORPORA)}")


def corpus(config) -> Corpus:
  """The corpus a study config names (``config.corpus``)."""
  return load(config.corpus)


def windows(tokens: np.ndarray, starts: np.ndarray, length: int) -> np.ndarray:
  """``tokens[s : s + length]`` for every start ``s``, stacked (any leading shape)."""
  return tokens[starts[..., None] + np.arange(length)]


def baselines(tokens: np.ndarray, vocab_size: int) -> dict:
  """Cross-entropies (nats per token) of count models of ``tokens``, on ``tokens`` itself.

  * ``unigram``: ``-mean_t log p(x_t)``, ``p`` the symbol frequencies (the entropy of the
    unigram distribution): what a model that ignores the context reaches at best;
  * ``bigram``: ``-mean_t log p(x_t | x_{t-1})`` over ``t >= 1``, ``p`` the maximum-likelihood
    transition frequencies: the best with one symbol of context.
  """
  tokens = np.asarray(tokens, np.int64)
  counts = np.bincount(tokens, minlength=vocab_size).astype(np.float64)
  unigram = -np.mean(np.log(counts[tokens] / len(tokens)))
  pairs = np.zeros((vocab_size, vocab_size))
  np.add.at(pairs, (tokens[:-1], tokens[1:]), 1.0)
  previous = pairs.sum(axis=1)
  bigram = -np.mean(np.log(pairs[tokens[:-1], tokens[1:]] / previous[tokens[:-1]]))
  return {"unigram": float(unigram), "bigram": float(bigram)}


@functools.lru_cache(maxsize=4)
def corpus_baselines(name: str) -> dict:
  """:func:`baselines` of corpus ``name``'s training split, with ``uniform = ln V``."""
  c = load(name)
  return {**baselines(c.train, c.vocab_size), "uniform": float(np.log(c.vocab_size))}
