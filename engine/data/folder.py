"""A person's own images: one sub-folder per class (optionally under train/ and test/).

Class discovery is torchvision's ImageFolder (class names are the folder names, sorted);
every image is then decoded once with PIL, resized to image_size x image_size and kept in
memory like the other datasets.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageOps
from torchvision.datasets import ImageFolder
from torchvision.datasets.folder import IMG_EXTENSIONS

from engine.data.assemble import make_dataset
from engine.data.types import DatasetError, ImageDataset, ProgressFn
from engine.events import DataProgress

NAME = "folder"
TEST_FRACTION = 0.2
SPLIT_SEED = 0
GREY_MODES = {"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "F"}
PROGRESS_STEPS = 100

Samples = list[tuple[str, int]]  # (image path, class index), as ImageFolder lists them


def image_files(root: Path) -> list[Path]:
    """Every file under root that ImageFolder would treat as an image."""
    return sorted(
        path for path in root.rglob("*")
        if path.suffix.lower() in IMG_EXTENSIONS and path.is_file()
    )


def load_folder(root: Path, progress: ProgressFn, image_size: int) -> ImageDataset:
    """Load root's class folders; root/train and root/test, if both exist, are the split."""
    if not root.is_dir():
        raise DatasetError(
            f"The folder {root} does not exist. Choose a folder that holds one sub-folder "
            "of images per class."
        )
    if image_size < 1:
        raise DatasetError(f"Image size must be at least 1 pixel, not {image_size}.")
    train_dir, test_dir = root / "train", root / "test"
    if train_dir.is_dir() and test_dir.is_dir():
        class_names, train = _discover(train_dir)
        test_names, test = _discover(test_dir)
        if test_names != class_names:
            raise DatasetError(
                f"{train_dir} has the class folders {', '.join(class_names)} but {test_dir} "
                f"has {', '.join(test_names)}; both need the same class folders."
            )
    else:
        class_names, samples = _discover(root)
        train, test = stratified_split(samples, TEST_FRACTION, SPLIT_SEED)
    images = _read_images([path for path, _ in train + test], image_size, progress)
    labels = np.array([label for _, label in train + test], dtype=np.int64)
    n = len(train)
    return make_dataset(
        NAME,
        (images[:n], labels[:n]),
        (images[n:], labels[n:]),
        class_names,
        hflip_ok=True,
        is_digits=False,
    )


def _discover(root: Path) -> tuple[tuple[str, ...], Samples]:
    try:
        found = ImageFolder(str(root), allow_empty=True)
    except FileNotFoundError as exc:  # no class sub-folder at all
        raise DatasetError(
            f"{root} has no class sub-folders. Put the images of each class in their own "
            f"sub-folder (e.g. {root / 'cats'}, {root / 'dogs'}). ({exc})"
        ) from exc
    if len(found.classes) < 2:
        raise DatasetError(
            f"{root} has {len(found.classes)} class folder(s); a classifier needs at least 2 "
            "(one sub-folder of images per class)."
        )
    counts = np.bincount(np.array(found.targets, dtype=np.int64), minlength=len(found.classes))
    empty = [name for name, count in zip(found.classes, counts, strict=True) if count == 0]
    if empty:
        raise DatasetError(
            f"These class folders in {root} hold no images: {', '.join(empty)}. Add images "
            f"({', '.join(IMG_EXTENSIONS)}) or remove the folders."
        )
    return tuple(found.classes), list(found.samples)


def stratified_split(samples: Samples, test_fraction: float, seed: int) -> tuple[Samples, Samples]:
    """Hold out about test_fraction of each class (at least one image where a class has 2+)."""
    rng = np.random.default_rng(seed)
    labels = np.array([label for _, label in samples])
    train_idx, test_idx = [], []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        n_test = min(len(members) - 1, max(1, round(len(members) * test_fraction)))
        test_idx.extend(members[:n_test])
        train_idx.extend(members[n_test:])
    return [samples[i] for i in sorted(train_idx)], [samples[i] for i in sorted(test_idx)]


def _read_images(paths: list[str], size: int, progress: ProgressFn) -> np.ndarray:
    """(N, C, size, size) uint8; C is 1 if every image is greyscale, else 3."""
    images = np.empty((len(paths), size, size, 3), dtype=np.uint8)
    all_grey = True
    step = max(1, len(paths) // PROGRESS_STEPS)
    for i, path in enumerate(paths):
        if i % step == 0:
            progress(DataProgress(NAME, "Loading images", i, len(paths)))
        pixels, grey = _read_image(Path(path), size)
        images[i] = pixels[..., np.newaxis] if grey else pixels
        all_grey = all_grey and grey
    progress(DataProgress(NAME, "Loaded all images", len(paths), len(paths)))
    images = images.transpose(0, 3, 1, 2)
    return np.ascontiguousarray(images[:, :1] if all_grey else images)


def _read_image(path: Path, size: int) -> tuple[np.ndarray, bool]:
    try:
        with Image.open(path) as image:
            grey = image.mode in GREY_MODES
            mode = "L" if grey else "RGB"
            image.draft(mode, (size, size))  # JPEGs decode straight at a smaller scale
            image = ImageOps.exif_transpose(image).convert(mode)
            return np.asarray(image.resize((size, size), Image.Resampling.BILINEAR)), grey
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise DatasetError(
            f"Cannot read the image {path} ({exc}). Delete or replace it, then load again."
        ) from exc
