"""The in-memory form every dataset is loaded into, and the error loaders raise."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from engine.events import DataProgress, MissingData

ProgressFn = Callable[[DataProgress], None]


class DatasetError(RuntimeError):
    """A dataset cannot be loaded; the message says which files are needed and where."""


class DatasetMissing(DatasetError):
    """The dataset is not here and could not be downloaded; `missing` says what is needed."""

    def __init__(self, message: str, missing: MissingData) -> None:
        super().__init__(message)
        self.missing = missing


@dataclass(frozen=True)
class ImageDataset:
    """A whole dataset held in memory as compact uint8 tensors.

    Batches are sliced from these tensors and normalised/resized/augmented on the training
    device (see engine.data.pipeline), so there is no per-sample work in the hot loop.
    """

    name: str
    train_images: torch.Tensor  # uint8 (N, C, H, W)
    train_labels: torch.Tensor  # int64 (N,)
    test_images: torch.Tensor  # uint8 (M, C, H, W)
    test_labels: torch.Tensor  # int64 (M,)
    class_names: tuple[str, ...]
    mean: tuple[float, ...]  # per channel, on the 0..1 scale
    std: tuple[float, ...]
    hflip_ok: bool  # horizontal flips keep the label (not for digits or letters)
    is_digits: bool  # handwritten digits 0-9, white ink on black, MNIST style
    # What a person should know about how the files were read (files skipped, copies left
    # out of the test set): the trainer logs each as a warning.
    notes: tuple[str, ...] = ()
    # The original dataset indices (int64) of the rows kept when some images were left out
    # (a child run: engine.config's leave_out); None: every image, in the original order.
    train_index: torch.Tensor | None = None
    test_index: torch.Tensor | None = None

    @property
    def channels(self) -> int:
        return int(self.train_images.shape[1])

    @property
    def image_size(self) -> int:
        return int(self.train_images.shape[2])

    @property
    def num_classes(self) -> int:
        return len(self.class_names)
