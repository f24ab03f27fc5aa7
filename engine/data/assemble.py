"""Turn loaded numpy arrays into an ImageDataset: checks, tensors, normalisation stats."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from engine.data.types import DatasetError, ImageDataset
from engine.text import plural


def make_dataset(
    name: str,
    train: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    class_names: Sequence[str],
    *,
    hflip_ok: bool,
    is_digits: bool,
) -> ImageDataset:
    """Build the dataset from (uint8 images (N, C, H, W), integer labels (N,)) pairs.

    Loaders check their own files in detail; this is the last line of defence, so a
    mistake surfaces as a DatasetError here rather than as a crash mid-training.
    """
    (train_x, train_y), (test_x, test_y) = train, test
    for part, images, labels in (("training", train_x, train_y), ("test", test_x, test_y)):
        if images.dtype != np.uint8 or images.ndim != 4:
            raise DatasetError(f"The {name} {part} images are not uint8 (N, C, H, W) arrays.")
        if len(images) == 0 or len(images) != len(labels):
            raise DatasetError(
                f"The {name} {part} set has {plural(len(images), 'image')} and "
                f"{plural(len(labels), 'label')}; "
                "it needs at least one image and one label per image."
            )
        if labels.min() < 0 or labels.max() >= len(class_names):
            raise DatasetError(
                f"The {name} {part} labels run from {labels.min()} to {labels.max()}, but "
                f"there are {plural(len(class_names), 'class', 'classes')}."
            )
    if train_x.shape[1:] != test_x.shape[1:]:
        raise DatasetError(
            f"The {name} training images are {train_x.shape[1:]} (C, H, W) but the test "
            f"images are {test_x.shape[1:]}; both sets must have the same image shape."
        )
    train_images = torch.from_numpy(np.ascontiguousarray(train_x))
    mean, std = channel_mean_std(train_images)
    return ImageDataset(
        name=name,
        train_images=train_images,
        train_labels=torch.from_numpy(train_y.astype(np.int64)),
        test_images=torch.from_numpy(np.ascontiguousarray(test_x)),
        test_labels=torch.from_numpy(test_y.astype(np.int64)),
        class_names=tuple(class_names),
        mean=mean,
        std=std,
        hflip_ok=hflip_ok,
        is_digits=is_digits,
    )


def channel_mean_std(images: torch.Tensor) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and (population) std of uint8 images, on the 0..1 scale.

    Counted through a 256-bin histogram per channel: exact, and no float copy of the
    whole dataset is made.
    """
    values = torch.arange(256, dtype=torch.float64) / 255.0
    means, stds = [], []
    for channel in range(images.shape[1]):
        counts = torch.bincount(images[:, channel].reshape(-1), minlength=256).double()
        total = counts.sum()
        mean = float((counts * values).sum() / total)
        variance = max(float((counts * values**2).sum() / total) - mean**2, 0.0)
        # A constant channel has std 0; 1.0 keeps normalisation finite (it only shifts).
        stds.append(variance**0.5 if variance > 0 else 1.0)
        means.append(mean)
    return tuple(means), tuple(stds)
