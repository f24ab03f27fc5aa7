"""SVHN (Street View House Numbers, cropped digits) from its two MATLAB .mat files.

train_32x32.mat and test_32x32.mat each hold X, the images as a (32, 32, 3, N) uint8 array,
and y, the labels (N, 1), where the digit 0 is labelled 10. They are read with scipy, which
reads .mat files without running anything in them. The 531,131 "extra" images are not used.

Looked for in data/svhn, data/SVHN and the data folder itself (torchvision keeps them in the
folder it is given); downloaded into data/svhn.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from torchvision.datasets import SVHN
from torchvision.datasets.utils import check_integrity

from engine.catalog import dataset_title, download_note
from engine.data.assemble import make_dataset
from engine.data.download import DownloadError, download, make_download_folder
from engine.data.mnist import DIGIT_NAMES
from engine.data.types import DatasetError, DatasetMissing, ImageDataset, ProgressFn
from engine.events import DataProgress, MissingData

NAME = "svhn"
# (url, file name, md5) of the training and the test file, from torchvision.
PARTS = (SVHN.split_list["train"], SVHN.split_list["test"])
FILES = tuple(filename for _, filename, _ in PARTS)


def download_dir(data_dir: Path) -> Path:
    return data_dir / "svhn"


def locate(data_dir: Path) -> list[Path]:
    """The training and test files from the first folder that has both, or []."""
    for folder in (download_dir(data_dir), data_dir / "SVHN", data_dir):
        files = [folder / filename for filename in FILES]
        if all(path.is_file() for path in files):
            return files
    return []


def load_svhn(data_dir: Path, progress: ProgressFn, image_size: int) -> ImageDataset:
    """Load SVHN from data_dir, downloading the two files only if they are not there."""
    files = locate(data_dir) or _download(data_dir, progress)
    parts = []
    for i, path in enumerate(files):
        progress(DataProgress(NAME, f"Reading {path.name}", i, len(files)))
        parts.append(read_svhn_mat(path))
    progress(DataProgress(NAME, "Read all files", len(files), len(files)))
    # A mirrored digit is not a digit; these are photos, not MNIST-style ink.
    return make_dataset(NAME, parts[0], parts[1], DIGIT_NAMES, hflip_ok=False,
                        is_digits=False)


def read_svhn_mat(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 images (N, 3, 32, 32), labels 0..9 (N,)) from one SVHN .mat file."""
    from scipy.io import loadmat  # only here: scipy takes a moment to import

    try:
        contents = loadmat(path, variable_names=("X", "y"))
    except NotImplementedError as exc:  # a MATLAB v7.3 (HDF5) file
        raise DatasetError(_broken(path, f"it is a .mat version scipy cannot read ({exc})")
                           ) from exc
    except Exception as exc:  # scipy raises many kinds on damaged bytes
        raise DatasetError(_broken(path, f"it cannot be read as a .mat file ({exc})")) from exc
    images, labels = contents.get("X"), contents.get("y")
    if (
        not isinstance(images, np.ndarray)
        or images.dtype != np.uint8
        or images.ndim != 4
        or images.shape[2] != 3
    ):
        raise DatasetError(_broken(path, "it holds no uint8 X array of colour images "
                                   "(height, width, 3, count)"))
    if not isinstance(labels, np.ndarray) or labels.size != images.shape[3]:
        raise DatasetError(_broken(path, f"it does not hold one label y per image "
                                   f"({images.shape[3]:,})"))
    if not np.issubdtype(labels.dtype, np.number):
        raise DatasetError(_broken(path, "its labels y are not numbers"))
    labels = labels.reshape(-1)
    if labels.size and (labels.min() < 1 or labels.max() > 10 or
                        not np.array_equal(labels, np.round(labels))):
        raise DatasetError(_broken(path, f"its labels run from {labels.min():g} to "
                                   f"{labels.max():g}; SVHN's are whole numbers 1 to 10"))
    # (H, W, C, N) -> (N, C, H, W); the digit 0 is labelled 10.
    return (np.ascontiguousarray(images.transpose(3, 2, 0, 1)),
            labels.astype(np.int64) % 10)


def _download(data_dir: Path, progress: ProgressFn) -> list[Path]:
    folder = download_dir(data_dir)
    make_download_folder(folder, "SVHN")
    try:
        for url, filename, md5 in PARTS:
            if not check_integrity(folder / filename, md5):
                download([url], folder / filename, md5, NAME, progress)
    except DownloadError as exc:
        source = PARTS[0][0].rsplit("/", 1)[0] + "/"
        raise DatasetMissing(
            f"{download_note(NAME)} was not found and downloading it failed (are you "
            f"offline?). Download these files yourself from {source} and put them in "
            f"{folder}: {', '.join(FILES)}. (Details: {exc})",
            MissingData(dataset_title(NAME), str(folder), FILES, source, str(exc)),
        ) from exc
    return [folder / filename for filename in FILES]


def _broken(path: Path, reason: str) -> str:
    return (
        f"The SVHN file {path} is unusable: {reason}. It is probably corrupt or incompletely "
        "downloaded: delete it and download it again."
    )
