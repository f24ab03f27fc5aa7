"""EMNIST's letters and digits splits: IDX files like MNIST's, shipped in one zip of splits.

Two quirks of the format: each image is stored transposed (column by column), so it is
turned back on reading; and the letters' labels run from 1 to 26 (0 is unused), so they are
shifted to 0..25. The 26 letter classes each hold a capital and a small letter.

Where the files are looked for, in order: torchvision's layout (data/EMNIST/raw, where
torchvision unpacks everything), the zip's own gzip/ folder unpacked there or in the data
folder, data/emnist, and the data folder itself; plain or .gz. Failing that, the split's 4
files are extracted from gzip.zip (data/EMNIST/raw or the data folder), which is downloaded
first if it is not there. The zip is kept: the other split comes from it too.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from torchvision.datasets import EMNIST
from torchvision.datasets.utils import check_integrity

from engine.catalog import DATASET_INFO, download_note
from engine.data.assemble import make_dataset
from engine.data.download import DownloadError, download, extract_members, make_download_folder
from engine.data.idx import read_idx
from engine.data.mnist import DIGIT_NAMES, idx_files_in
from engine.data.types import DatasetError, DatasetMissing, ImageDataset, ProgressFn
from engine.events import DataProgress, MissingData
from engine.text import plural

ZIP_NAME = Path(EMNIST.url).name  # gzip.zip
ZIP_FOLDER = "gzip"  # the folder inside the zip


@dataclass(frozen=True)
class Split:
    name: str  # registry key
    split: str  # EMNIST's name for it, part of each file name
    class_names: tuple[str, ...]
    first_label: int  # the label the first class has in the files
    is_digits: bool

    @property
    def files(self) -> tuple[str, ...]:
        """The 4 IDX files (train images, train labels, test images, test labels)."""
        stem = f"emnist-{self.split}"
        return (f"{stem}-train-images-idx3-ubyte", f"{stem}-train-labels-idx1-ubyte",
                f"{stem}-test-images-idx3-ubyte", f"{stem}-test-labels-idx1-ubyte")

    @property
    def title(self) -> str:
        return DATASET_INFO[self.name].title


SPLITS = {
    "emnist-digits": Split("emnist-digits", "digits", DIGIT_NAMES, 0, is_digits=True),
    "emnist-letters": Split(
        "emnist-letters", "letters",
        tuple(f"{upper}/{lower}" for upper, lower in zip(
            string.ascii_uppercase, string.ascii_lowercase, strict=True)),
        1, is_digits=False),
}


def raw_dir(data_dir: Path) -> Path:
    """Where torchvision (and this module) put EMNIST's files."""
    return data_dir / EMNIST.__name__ / "raw"


def _search_dirs(data_dir: Path) -> list[Path]:
    raw = raw_dir(data_dir)
    return [raw, raw / ZIP_FOLDER, data_dir / ZIP_FOLDER, data_dir / "emnist", data_dir]


def _zip_in(data_dir: Path) -> Path | None:
    for folder in (raw_dir(data_dir), data_dir):
        if (folder / ZIP_NAME).is_file():
            return folder / ZIP_NAME
    return None


def locate(split: Split, data_dir: Path) -> list[Path]:
    """The split's 4 files from the first folder that has them all; else [the zip] if it is
    here to extract them from; else []."""
    for folder in _search_dirs(data_dir):
        files = idx_files_in(folder, split.files)
        if files:
            return files
    archive = _zip_in(data_dir)
    return [archive] if archive is not None else []


def load_emnist(split: Split, data_dir: Path, progress: ProgressFn, image_size: int
                ) -> ImageDataset:
    """Load one EMNIST split, extracting (and first downloading) it only if it is not here."""
    files = locate(split, data_dir)
    if len(files) != len(split.files):
        files = _extract(split, files[0] if files else _download(split, data_dir, progress),
                         data_dir, progress)
    arrays = []
    for i, (path, ndim) in enumerate(zip(files, (3, 1, 3, 1), strict=True)):
        progress(DataProgress(split.name, f"Reading {path.name}", i, len(files)))
        arrays.append(read_idx(path, ndim))
    progress(DataProgress(split.name, "Read all files", len(files), len(files)))
    train = _images_and_labels(split, files[0], arrays[0], files[1], arrays[1])
    test = _images_and_labels(split, files[2], arrays[2], files[3], arrays[3])
    # Mirrored letters and digits are other characters (or none): no flips.
    return make_dataset(split.name, train, test, split.class_names, hflip_ok=False,
                        is_digits=split.is_digits)


def _images_and_labels(split: Split, images_path: Path, images: np.ndarray,
                       labels_path: Path, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if len(images) != len(labels):
        raise DatasetError(
            f"{images_path} holds {plural(len(images), 'image')} but {labels_path} holds "
            f"{plural(len(labels), 'label')}; one of them is corrupt or from another split: "
            "delete both and extract or download them again."
        )
    first, last = split.first_label, split.first_label + len(split.class_names) - 1
    if len(labels) and (labels.min() < first or labels.max() > last):
        raise DatasetError(
            f"{labels_path} holds labels from {labels.min()} to {labels.max()}, but "
            f"{split.title} labels run from {first} to {last}; the file is corrupt or from "
            "another split: delete it and extract or download it again."
        )
    # Stored transposed: swap each image's rows and columns back.
    upright = np.ascontiguousarray(images.transpose(0, 2, 1))[:, np.newaxis]
    return upright, labels.astype(np.int64) - first


def _extract(split: Split, archive: Path, data_dir: Path, progress: ProgressFn) -> list[Path]:
    folder = raw_dir(data_dir)
    make_download_folder(folder, split.title)
    wanted = {f"{ZIP_FOLDER}/{name}.gz": folder / f"{name}.gz" for name in split.files}
    extract_members(archive, wanted, split.name, "EMNIST", progress)
    return list(wanted.values())


def _download(split: Split, data_dir: Path, progress: ProgressFn) -> Path:
    folder = raw_dir(data_dir)
    archive = folder / ZIP_NAME
    make_download_folder(folder, split.title)
    try:
        if not check_integrity(archive, EMNIST.md5):
            download([EMNIST.url], archive, EMNIST.md5, split.name, progress)
    except DownloadError as exc:
        raise DatasetMissing(
            f"{download_note(split.name)} was not found and downloading it failed (are you "
            f"offline?). Download {EMNIST.url} yourself and put {ZIP_NAME} in {folder} (the "
            f"{split.split} files are taken from it), or put these files from its "
            f"{ZIP_FOLDER}/ folder there: {', '.join(f'{n}.gz' for n in split.files)}. "
            f"(Details: {exc})",
            MissingData(split.title, str(folder), (ZIP_NAME,), EMNIST.url, str(exc)),
        ) from exc
    return archive
