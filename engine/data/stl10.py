"""STL-10's labelled images: 96x96 colour photos from its binary version.

stl10_binary/ holds train_X.bin and test_X.bin (uint8 pixels, each image stored channel by
channel and column by column, so it is transposed on reading), train_y.bin and test_y.bin
(one label byte per image, 1 to 10) and class_names.txt. The archive also holds 100,000
unlabelled images (2.5 GB), which supervised training has no use for: only the labelled
files are extracted, and the archive is deleted once they are.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from torchvision.datasets import STL10
from torchvision.datasets.utils import check_integrity

from engine.catalog import dataset_title, download_note
from engine.data.assemble import make_dataset
from engine.data.download import DownloadError, download, extract_members, make_download_folder
from engine.data.numpy_pickle import broken
from engine.data.types import DatasetError, DatasetMissing, ImageDataset, ProgressFn
from engine.events import DataProgress, MissingData

NAME = "stl10"
TITLE = "STL-10"
FOLDER = STL10.base_folder  # "stl10_binary"
SIZE = 96
IMAGE_BYTES = 3 * SIZE * SIZE
FILES = ("train_X.bin", "train_y.bin", "test_X.bin", "test_y.bin")
NAMES_FILE = STL10.class_names_file  # class_names.txt
CLASS_NAMES = ("airplane", "bird", "car", "cat", "deer", "dog", "horse", "monkey", "ship",
               "truck")


def locate(data_dir: Path) -> list[Path]:
    """The 4 labelled files from stl10_binary/ or the data folder; else [the archive] if it
    is here to extract them from; else []."""
    for folder in (data_dir / FOLDER, data_dir):
        files = [folder / name for name in FILES]
        if all(path.is_file() for path in files):
            return files
    archive = data_dir / STL10.filename
    return [archive] if archive.is_file() else []


def load_stl10(data_dir: Path, progress: ProgressFn, image_size: int) -> ImageDataset:
    """Load STL-10's labelled images, extracting (and first downloading) them if needed."""
    files = locate(data_dir)
    if len(files) != len(FILES):
        files = _extract(files[0] if files else _download(data_dir, progress), data_dir,
                         progress)
    arrays = []
    for i, path in enumerate(files):
        progress(DataProgress(NAME, f"Reading {path.name}", i, len(files)))
        arrays.append(_read_bytes(path))
    progress(DataProgress(NAME, "Read all files", len(files), len(files)))
    train = _images_and_labels(files[0], arrays[0], files[1], arrays[1])
    test = _images_and_labels(files[2], arrays[2], files[3], arrays[3])
    return make_dataset(NAME, train, test, _class_names(files[0].parent), hflip_ok=True,
                        is_digits=False)


def _read_bytes(path: Path) -> np.ndarray:
    try:
        return np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        raise DatasetError(broken(path, TITLE, f"it cannot be read ({exc})")) from exc


def _images_and_labels(images_path: Path, pixels: np.ndarray, labels_path: Path,
                       labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if not pixels.size or pixels.size % IMAGE_BYTES:
        raise DatasetError(broken(images_path, TITLE, f"its size ({pixels.size:,} bytes) is "
                                  f"not a whole number of {IMAGE_BYTES}-byte images"))
    count = pixels.size // IMAGE_BYTES
    if labels.size != count:
        raise DatasetError(
            f"{images_path} holds {count:,} images but {labels_path} holds {labels.size:,} "
            "labels; one of them is corrupt: delete both and extract or download them again."
        )
    if labels.min() < 1 or labels.max() > len(CLASS_NAMES):
        raise DatasetError(broken(labels_path, TITLE, f"its labels run from {labels.min()} "
                                  f"to {labels.max()}; STL-10's run from 1 to 10"))
    # Stored column by column: swap each image's rows and columns back.
    images = pixels.reshape(count, 3, SIZE, SIZE).transpose(0, 1, 3, 2)
    return np.ascontiguousarray(images), labels.astype(np.int64) - 1


def _class_names(folder: Path) -> tuple[str, ...]:
    path = folder / NAMES_FILE
    if not path.is_file():
        return CLASS_NAMES
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(broken(path, TITLE, f"it cannot be read as text ({exc})")) from exc
    names = tuple(line.strip() for line in text.splitlines() if line.strip())
    if len(names) != len(CLASS_NAMES) or len(set(names)) != len(names):
        raise DatasetError(broken(path, TITLE, "it does not list 10 different class names"))
    return names


def _extract(archive: Path, data_dir: Path, progress: ProgressFn) -> list[Path]:
    folder = data_dir / FOLDER
    make_download_folder(folder, TITLE)
    wanted = {f"{FOLDER}/{name}": folder / name for name in FILES}
    names_member = {f"{FOLDER}/{NAMES_FILE}": folder / NAMES_FILE}
    extract_members(archive, wanted | names_member, NAME, TITLE, progress)
    archive.unlink(missing_ok=True)  # 2.5 GB whose labelled part is now extracted
    return list(wanted.values())


def _download(data_dir: Path, progress: ProgressFn) -> Path:
    archive = data_dir / STL10.filename
    make_download_folder(data_dir, TITLE)
    try:
        if not check_integrity(archive, STL10.tgz_md5):
            download([STL10.url], archive, STL10.tgz_md5, NAME, progress)
    except DownloadError as exc:
        raise DatasetMissing(
            f"{download_note(NAME)} was not found and downloading it failed (are you "
            f"offline?). Download {STL10.url} yourself and put {STL10.filename} in "
            f"{data_dir} (its labelled images are extracted from it), or extract "
            f"{', '.join(FILES)} and {NAMES_FILE} into {data_dir / FOLDER}. (Details: {exc})",
            MissingData(dataset_title(NAME), str(data_dir), (STL10.filename,), STL10.url,
                        str(exc)),
        ) from exc
    return archive
