"""CIFAR-10 from its python version (pickled batches) or its binary version.

The python batches are pickles, read with engine.data.numpy_pickle's unpickler, which
refuses anything but numpy arrays.
"""

from __future__ import annotations

import tarfile
from pathlib import Path

import numpy as np
from torchvision.datasets import CIFAR10
from torchvision.datasets.utils import check_integrity, extract_archive

from engine.catalog import download_note
from engine.data.assemble import make_dataset
from engine.data.download import DownloadError, download, make_download_folder
from engine.data.numpy_pickle import broken, load_numpy_pickle
from engine.data.types import DatasetError, DatasetMissing, ImageDataset, ProgressFn
from engine.events import DataProgress, MissingData

NAME = "cifar10"
PYTHON_FOLDER = CIFAR10.base_folder  # "cifar-10-batches-py", torchvision's layout
BINARY_FOLDER = "cifar-10-batches-bin"
BATCHES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
CLASS_NAMES = (
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
)
RECORD_PIXELS = 3 * 32 * 32

def python_batches_in(folder: Path) -> list[Path]:
    files = [folder / name for name in BATCHES]
    return files if all(path.is_file() for path in files) else []


def binary_batches_in(folder: Path) -> list[Path]:
    files = [folder / f"{name}.bin" for name in BATCHES]
    return files if all(path.is_file() for path in files) else []


def locate(data_dir: Path) -> list[Path]:
    """The 6 batch files (5 training, then the test batch) of the first copy found, or []."""
    for folder in (data_dir / PYTHON_FOLDER, data_dir / BINARY_FOLDER, data_dir):
        files = python_batches_in(folder) or binary_batches_in(folder)
        if files:
            return files
    return []


def load_cifar10(data_dir: Path, progress: ProgressFn, image_size: int) -> ImageDataset:
    """Load CIFAR-10 from data_dir, downloading and extracting it only if none is found."""
    files = locate(data_dir) or _download(data_dir, progress)
    binary = files[0].suffix == ".bin"
    parts = []
    for i, path in enumerate(files):
        progress(DataProgress(NAME, f"Reading {path.name}", i, len(files)))
        parts.append(_read_binary_batch(path) if binary else _read_python_batch(path))
    progress(DataProgress(NAME, "Read all batches", len(files), len(files)))
    folder = files[0].parent
    class_names = _binary_class_names(folder) if binary else _python_class_names(folder)
    *train, test = parts
    return make_dataset(
        NAME, _join(train), _join([test]), class_names, hflip_ok=True, is_digits=False
    )


def _join(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    images = np.concatenate([images for images, _ in parts]).reshape(-1, 3, 32, 32)
    return images, np.concatenate([labels for _, labels in parts])


def _unpickle(path: Path) -> object:
    return load_numpy_pickle(path, "CIFAR-10")


def _read_python_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    batch = _unpickle(path)
    data = batch.get("data") if isinstance(batch, dict) else None
    labels = batch.get("labels") if isinstance(batch, dict) else None
    if (
        not isinstance(data, np.ndarray)
        or data.dtype != np.uint8
        or data.ndim != 2
        or data.shape[1] != RECORD_PIXELS
    ):
        raise DatasetError(_broken(path, "it holds no uint8 'data' array of 3072-pixel rows"))
    if not isinstance(labels, list) or len(labels) != len(data):
        raise DatasetError(_broken(path, f"it does not hold one label per image ({len(data)})"))
    # Checked one by one: numpy would silently truncate 1.7 to 1 and read True as 1.
    odd = next((label for label in labels if isinstance(label, bool)
                or not isinstance(label, (int, np.integer))), None)
    if odd is not None:
        raise DatasetError(_broken(path, f"its labels are not all whole numbers ({odd!r})"))
    try:
        label_array = np.array(labels, dtype=np.int64)
    except (TypeError, ValueError, OverflowError) as exc:
        raise DatasetError(_broken(path, "its labels are not whole numbers")) from exc
    return data, _checked_labels(label_array, path)


def _read_binary_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DatasetError(_broken(path, f"it cannot be read ({exc})")) from exc
    record = 1 + RECORD_PIXELS
    if not raw or len(raw) % record:
        raise DatasetError(
            _broken(path, f"its size ({len(raw):,} bytes) is not a whole number of "
                    f"{record}-byte records")
        )
    records = np.frombuffer(bytearray(raw), dtype=np.uint8).reshape(-1, record)
    return records[:, 1:], _checked_labels(records[:, 0].astype(np.int64), path)


def _checked_labels(labels: np.ndarray, path: Path) -> np.ndarray:
    if labels.size and (labels.min() < 0 or labels.max() >= len(CLASS_NAMES)):
        raise DatasetError(
            _broken(path, f"it holds the label {labels.max()}; CIFAR-10 has 10 classes")
        )
    return labels


def _python_class_names(folder: Path) -> tuple[str, ...]:
    meta_path = folder / CIFAR10.meta["filename"]  # batches.meta
    if not meta_path.is_file():
        return CLASS_NAMES
    meta = _unpickle(meta_path)
    names = meta.get(CIFAR10.meta["key"]) if isinstance(meta, dict) else None
    if (
        not isinstance(names, list)
        or len(names) != len(CLASS_NAMES)
        or not all(isinstance(n, str) for n in names)
    ):
        raise DatasetError(_broken(meta_path, "it does not list the 10 class names"))
    return _checked_names(tuple(names), meta_path)


def _binary_class_names(folder: Path) -> tuple[str, ...]:
    meta_path = folder / "batches.meta.txt"
    if not meta_path.is_file():
        return CLASS_NAMES
    try:
        text = meta_path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DatasetError(_broken(meta_path, f"it is not UTF-8 text ({exc.reason} at byte "
                                   f"{exc.start})")) from exc
    except OSError as exc:
        raise DatasetError(_broken(meta_path, f"it cannot be read ({exc})")) from exc
    names = tuple(line.strip() for line in text.splitlines() if line.strip())
    if len(names) != len(CLASS_NAMES):
        raise DatasetError(_broken(meta_path, "it does not list the 10 class names"))
    return _checked_names(names, meta_path)


def _checked_names(names: tuple[str, ...], meta_path: Path) -> tuple[str, ...]:
    """Names that tell the 10 classes apart: no blank name, no name twice."""
    names = tuple(name.strip() for name in names)
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated or not all(names):
        what = (f"it names {', '.join(repr(n) for n in repeated)} more than once" if repeated
                else "it has a blank class name")
        raise DatasetError(_broken(meta_path, f"{what}; the 10 classes need 10 different names"))
    return names


def _download(data_dir: Path, progress: ProgressFn) -> list[Path]:
    archive = data_dir / CIFAR10.filename
    make_download_folder(data_dir, "CIFAR-10")
    try:
        if not check_integrity(archive, CIFAR10.tgz_md5):
            download([CIFAR10.url], archive, CIFAR10.tgz_md5, NAME, progress)
        progress(DataProgress(NAME, f"Extracting {archive.name}", 0, 0))
        extract_archive(archive, data_dir, remove_finished=True)
    except (DownloadError, OSError, tarfile.TarError) as exc:
        raise DatasetMissing(
            f"{download_note(NAME)} was not found and downloading it failed (are you "
            f"offline?). Download {CIFAR10.url} yourself and either put {CIFAR10.filename} "
            f"in {data_dir}, or extract it there so that {data_dir / PYTHON_FOLDER} holds "
            f"{', '.join(BATCHES)} and batches.meta. (Details: {exc})",
            MissingData("CIFAR-10", str(data_dir), (CIFAR10.filename,), CIFAR10.url, str(exc)),
        ) from exc
    files = python_batches_in(data_dir / PYTHON_FOLDER)
    if not files:
        raise DatasetError(
            f"{CIFAR10.filename} did not contain the expected {PYTHON_FOLDER} folder. Delete "
            f"{data_dir / PYTHON_FOLDER} and try again."
        )
    return files


def _broken(path: Path, reason: str) -> str:
    return broken(path, "CIFAR-10", reason)
