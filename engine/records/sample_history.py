"""Every test image's answer at every epoch: the run folder's `samples.npz`.

The test pass of each epoch already computes each image's prediction (engine.analysis's
`Evaluation`); this keeps three small numbers per image and epoch: the predicted class
(int16), its probability and the true class's probability (float16), 6 bytes, so 10,000
test images cost about 60 KB an epoch. The file is an ordinary numpy `.npz` (no pickles:
loading it never runs code), rewritten atomically at every epoch's end, so a reader (the
window following a live run) sees the epochs so far, never half a file.

Torch- and Qt-free: the trainer writes it, the window reads it.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.analysis import Evaluation
from engine.records.atomic_files import write_bytes_atomic
from engine.records.run_folder import SAMPLES_FILE

FORMAT = "traindesk-samples"
FORMAT_VERSION = 1
_ARRAYS = {  # name: (dtype, dimensions)
    "epochs": (np.int32, 1), "predicted": (np.int16, 2), "confidence": (np.float16, 2),
    "true_prob": (np.float16, 2), "labels": (np.int16, 1), "test_index": (np.int32, 1),
}


class SampleHistoryError(ValueError):
    """A samples.npz cannot be read; the message says why and what to do."""


def _frozen(array: np.ndarray, dtype: type) -> np.ndarray:
    array = np.ascontiguousarray(array, dtype=dtype)
    array.setflags(write=False)
    return array


@dataclass(frozen=True, eq=False)
class SampleHistory:
    """Every test image's answer at every epoch, compact (numpy, read-only).

    Row i is the i-th test image the run was tested on (an `Evaluation`'s row i);
    `test_index[i]` is its index in the dataset's whole test set (they differ in a run
    that left test images out).
    """

    epochs: np.ndarray  # (E,) int32, the epoch numbers, increasing
    predicted: np.ndarray  # (E, N) int16, the predicted class
    confidence: np.ndarray  # (E, N) float16, the predicted class's probability
    true_prob: np.ndarray  # (E, N) float16, the true class's probability
    labels: np.ndarray  # (N,) int16
    test_index: np.ndarray  # (N,) int32, original test-set index of each row
    num_classes: int

    def __len__(self) -> int:
        """The epochs recorded."""
        return len(self.epochs)

    @property
    def images(self) -> int:
        return len(self.labels)

    @classmethod
    def start(cls, labels: np.ndarray, num_classes: int,
              test_index: np.ndarray | None = None) -> SampleHistory:
        """A history of these test images with no epoch yet; test_index None: row i is
        test image i."""
        labels = np.asarray(labels)
        n = len(labels)
        index = np.arange(n) if test_index is None else np.asarray(test_index)
        if len(index) != n:
            raise ValueError(f"{len(index)} test indices for {n} test images")
        if num_classes > np.iinfo(np.int16).max:
            raise ValueError(f"{num_classes} classes do not fit the history's int16 classes")
        empty = np.zeros((0, n))
        return cls(epochs=_frozen(np.zeros(0), np.int32),
                   predicted=_frozen(empty, np.int16), confidence=_frozen(empty, np.float16),
                   true_prob=_frozen(empty, np.float16), labels=_frozen(labels, np.int16),
                   test_index=_frozen(index, np.int32), num_classes=int(num_classes))

    def with_epoch(self, evaluation: Evaluation) -> SampleHistory:
        """A new history with `evaluation`'s epoch added (replacing it and any later epoch
        already recorded: a run continued from an earlier checkpoint repeats them)."""
        if len(evaluation) != self.images:
            raise ValueError(f"an evaluation of {len(evaluation)} images for a history of "
                             f"{self.images}")
        kept = self.up_to(evaluation.epoch - 1)

        def added(rows: np.ndarray, row: np.ndarray, dtype: type) -> np.ndarray:
            return _frozen(np.concatenate([rows, np.asarray(row, dtype=dtype)[None]]), dtype)

        return SampleHistory(
            epochs=added(kept.epochs, np.array(evaluation.epoch), np.int32),
            predicted=added(kept.predicted, evaluation.predicted, np.int16),
            confidence=added(kept.confidence, evaluation.confidence, np.float16),
            true_prob=added(kept.true_prob, evaluation.true_probs, np.float16),
            labels=self.labels, test_index=self.test_index, num_classes=self.num_classes)

    def up_to(self, epoch: int) -> SampleHistory:
        """The history of the epochs up to and including `epoch`."""
        count = int(np.searchsorted(self.epochs, epoch, side="right"))
        if count == len(self):
            return self
        return SampleHistory(
            epochs=self.epochs[:count], predicted=self.predicted[:count],
            confidence=self.confidence[:count], true_prob=self.true_prob[:count],
            labels=self.labels, test_index=self.test_index, num_classes=self.num_classes)

    def row_of(self, epoch: int) -> int:
        """The position of `epoch` in `epochs`; KeyError if it is not recorded."""
        at = int(np.searchsorted(self.epochs, epoch))
        if at >= len(self) or int(self.epochs[at]) != epoch:
            raise KeyError(f"epoch {epoch} is not in this history (recorded: "
                           f"{', '.join(str(e) for e in self.epochs) or 'none'})")
        return at

    def correct(self) -> np.ndarray:
        """(E, N) bool: whether each image was right at each epoch."""
        return self.predicted == self.labels[None, :]

    def evaluation_at(self, epoch: int) -> Evaluation:
        """The epoch's `Evaluation`, with the predicted class only (kept == 1)."""
        at = self.row_of(epoch)
        return Evaluation(
            epoch=int(epoch), num_classes=self.num_classes,
            labels=self.labels.astype(np.int64),
            top_classes=self.predicted[at].astype(np.int32)[:, None],
            top_probs=self.confidence[at].astype(np.float32)[:, None],
            true_probs=self.true_prob[at].astype(np.float32))

    def accuracy_at(self, epoch: int) -> float:
        """The epoch's test accuracy, computed as the trainer reports it (right / images)."""
        right = int(np.count_nonzero(self.predicted[self.row_of(epoch)] == self.labels))
        return float(right) / max(self.images, 1)


# -- the file ---------------------------------------------------------------------------------


def samples_path(folder: Path) -> Path:
    return Path(folder) / SAMPLES_FILE


def save_history(folder: Path, history: SampleHistory) -> None:
    """Write the history to the run folder's samples.npz, atomically."""
    buffer = io.BytesIO()
    np.savez(buffer, format=np.array(FORMAT), format_version=np.array(FORMAT_VERSION),
             num_classes=np.array(history.num_classes),
             **{name: getattr(history, name) for name in _ARRAYS})
    write_bytes_atomic(samples_path(folder), buffer.getbuffer())


def load_history(folder: Path) -> SampleHistory | None:
    """The run folder's history; None where it has none (a run from before histories, or
    one that finished no epoch). Raises `SampleHistoryError` for a damaged or foreign file."""
    path = samples_path(folder)
    try:
        with np.load(path, allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in stored.files}
    except FileNotFoundError:
        return None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as error:
        raise _damaged(path, f"it cannot be read ({type(error).__name__})") from error
    return _checked(path, arrays)


def _checked(path: Path, arrays: dict[str, np.ndarray]) -> SampleHistory:
    if str(arrays.get("format", "")) != FORMAT:
        raise SampleHistoryError(
            f"'{path}' is not a TrainDesk sample history (a samples.npz written by a run). "
            f"Move it out of the run folder; the run's history is written there as "
            f"{SAMPLES_FILE}.")
    version = arrays.get("format_version")
    if version is None or version.ndim or int(version) > FORMAT_VERSION:
        raise SampleHistoryError(
            f"The sample history '{path}' was written by a newer TrainDesk (format "
            f"{version}; this version reads up to {FORMAT_VERSION}). Update TrainDesk to "
            "see each image's history; the run's checkpoints and curves open as they are.")
    missing = [name for name in (*_ARRAYS, "num_classes") if name not in arrays]
    if missing:
        raise _damaged(path, "it lacks " + ", ".join(missing))
    for name, (dtype, dims) in _ARRAYS.items():
        if arrays[name].dtype != dtype or arrays[name].ndim != dims:
            raise _damaged(path, f"'{name}' is not stored as expected")
    epochs, n = len(arrays["epochs"]), len(arrays["labels"])
    shapes_fit = (all(arrays[name].shape == (epochs, n)
                      for name in ("predicted", "confidence", "true_prob"))
                  and arrays["test_index"].shape == (n,))
    if not shapes_fit or np.any(np.diff(arrays["epochs"]) <= 0):
        raise _damaged(path, "its epochs and images do not add up")
    return SampleHistory(num_classes=int(arrays["num_classes"]),
                         **{name: _frozen(arrays[name], dtype)
                            for name, (dtype, _) in _ARRAYS.items()})


def _damaged(path: Path, what: str) -> SampleHistoryError:
    return SampleHistoryError(
        f"The sample history '{path}' is damaged: {what}. Each image's history cannot be "
        "shown for this run; delete the file to stop this message (the run's checkpoints, "
        "curves and record are not affected), or restore an intact copy.")
