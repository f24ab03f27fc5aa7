"""A child run's dataset: the loaded dataset without the images its parent's marks leave out.

"Train again without them" records the marked images' ORIGINAL indices (rows of the dataset
as loaded, the training set before the validation split) in the child's config; the rows
kept are recorded on the dataset (`ImageDataset.train_index` / `test_index`), so that every
later step (the per-image history, the galleries' marks, the parent-child comparison) can
name an image by its index in the dataset as loaded.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import torch

from engine.data.types import DatasetError, ImageDataset
from engine.text import plural


def leave_out(data: ImageDataset, train: Sequence[int], test: Sequence[int],
              marked_in: str = "") -> ImageDataset:
    """`data` without the training images at original indices `train` and the test images
    at `test`. Raises `DatasetError` when an index lies past the dataset (its images
    changed since they were marked in run `marked_in`)."""
    train_kept = _kept(data.train_index, len(data.train_labels), train, "training",
                       marked_in)
    test_kept = _kept(data.test_index, len(data.test_labels), test, "test", marked_in)
    return dataclasses.replace(
        data,
        train_images=data.train_images[train_kept], train_labels=data.train_labels[train_kept],
        test_images=data.test_images[test_kept], test_labels=data.test_labels[test_kept],
        train_index=_original(data.train_index, train_kept),
        test_index=_original(data.test_index, test_kept))


def leave_out_sentence(train: int, test: int, parent: str) -> str:
    """The log line a child run starts with: what it leaves out, and whose marks they were."""
    where = f" marked in run {parent}" if parent else ""
    return (f"Leaving out {plural(train, 'training image')} and "
            f"{plural(test, 'test image')}{where}.")


def _kept(index: torch.Tensor | None, rows: int, left_out: Sequence[int], split: str,
          marked_in: str) -> torch.Tensor:
    """The rows (positions in the tensors) that stay: those whose original index is not
    in `left_out`."""
    original = index if index is not None else torch.arange(rows)
    last = int(original.max()) if rows else -1
    beyond = [i for i in left_out if i > last]
    if beyond:
        where = f" in run {marked_in}" if marked_in else ""
        raise DatasetError(
            f"This run leaves out {split} image {beyond[0]}, but the dataset has only "
            f"{plural(last + 1, f'{split} image')} now: it changed since the images were "
            f"marked{where}. Mark them again on a run of the dataset as it is now, or start "
            "a run from the settings form (which leaves nothing out).")
    dropped = torch.zeros(last + 1, dtype=torch.bool)
    dropped[torch.as_tensor(list(left_out), dtype=torch.int64)] = True
    return torch.nonzero(~dropped[original]).flatten()


def _original(index: torch.Tensor | None, kept: torch.Tensor) -> torch.Tensor:
    return (index[kept] if index is not None else kept).to(torch.int64)
