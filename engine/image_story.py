"""Each test image's story over the epochs, from its `SampleHistory`: when it was learned,
how often it was forgotten (Toneva et al., 2019, "An empirical study of example forgetting
during deep neural network learning"), or whether it was never learned.

An image is *forgotten* when it is right at one recorded epoch and wrong at the next; it is
*learned at* epoch k when it is right at k and at every recorded epoch after. Pure numpy
functions of the history, tested on crafted histories.
"""

from __future__ import annotations

import numpy as np

from engine.records.sample_history import SampleHistory
from engine.text import plural


def learned_at(history: SampleHistory) -> np.ndarray:
    """(N,) int32: the epoch from which each image is right at every later recorded epoch;
    0 when it is wrong at the last one (or nothing is recorded)."""
    return _learned_at(history.correct(), history.epochs)


def forgetting_counts(history: SampleHistory) -> np.ndarray:
    """(N,) int32: how many times each image was right at one epoch and wrong at the next."""
    return _forgetting_counts(history.correct())


def _learned_at(correct: np.ndarray, epochs: np.ndarray) -> np.ndarray:
    """`learned_at` of the (epochs, images) `correct` matrix (some of its columns)."""
    if not len(epochs):
        return np.zeros(correct.shape[1], dtype=np.int32)
    # Position of the last wrong epoch (-1: never wrong); the image is learned after it.
    wrong = ~correct
    last_wrong = np.where(wrong.any(0), len(epochs) - 1 - np.argmax(wrong[::-1], axis=0), -1)
    first_right = last_wrong + 1
    learned = epochs[np.minimum(first_right, len(epochs) - 1)].astype(np.int32)
    return np.where(first_right < len(epochs), learned, 0).astype(np.int32)


def _forgetting_counts(correct: np.ndarray) -> np.ndarray:
    return np.count_nonzero(correct[:-1] & ~correct[1:], axis=0).astype(np.int32)


def never_learned(history: SampleHistory) -> np.ndarray:
    """(N,) bool: wrong at every recorded epoch."""
    return ~history.correct().any(0)


def _last_true_prob(history: SampleHistory) -> np.ndarray:
    return (history.true_prob[-1].astype(np.float32) if len(history)
            else np.zeros(history.images, dtype=np.float32))


def learned_last(history: SampleHistory, limit: int | None = None,
                 learned: np.ndarray | None = None) -> list[int]:
    """Rows of the learned images, the latest learned first (ties: the least sure first).
    learned: `learned_at(history)`, where the caller has it already."""
    learned = learned_at(history) if learned is None else learned
    rows = np.flatnonzero(learned > 0)
    order = np.lexsort((_last_true_prob(history)[rows], -learned[rows]))
    return rows[order][:limit].tolist()


def forgotten_most(history: SampleHistory, limit: int | None = None,
                   counts: np.ndarray | None = None) -> list[int]:
    """Rows of the images forgotten at least once, most forgotten first (ties: the lower
    true-class probability at the last epoch first). counts: `forgetting_counts(history)`,
    where the caller has it already."""
    counts = forgetting_counts(history) if counts is None else counts
    rows = np.flatnonzero(counts > 0)
    order = np.lexsort((_last_true_prob(history)[rows], -counts[rows]))
    return rows[order][:limit].tolist()


def never_learned_rows(history: SampleHistory, limit: int | None = None) -> list[int]:
    """Rows of the images never right, the lowest true-class probability at the last epoch
    first (the ones the network is furthest from)."""
    rows = np.flatnonzero(never_learned(history)) if len(history) else np.zeros(0, np.int64)
    order = np.argsort(_last_true_prob(history)[rows], kind="stable")
    return rows[order][:limit].tolist()


def story_text(history: SampleHistory, row: int) -> str:
    """One image's story in a phrase: "learned at epoch 3, forgotten 1 time". Reads only
    that image's column (a gallery asks for each thumbnail it paints)."""
    if not len(history):
        return "no epoch recorded yet"
    correct = history.predicted[:, row] == history.labels[row]
    if not correct.any():
        return f"never learned in {plural(len(history), 'epoch')}"
    forgotten = int(_forgetting_counts(correct[:, None])[0])
    times = f"forgotten {plural(forgotten, 'time')}" if forgotten else "never forgotten"
    learned = int(_learned_at(correct[:, None], history.epochs)[0])
    if learned:
        return f"learned at epoch {learned}, {times}"
    last_right = int(history.epochs[np.flatnonzero(correct)[-1]])
    return f"wrong at the last epoch (last right at epoch {last_right}), {times}"
