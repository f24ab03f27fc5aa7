"""CIFAR-100, with its 100 fine labels or its 20 coarse ones (superclasses).

From its python version (cifar-100-python: train, test and meta, pickles read with the
numpy-only unpickler) or its binary version (cifar-100-binary: train.bin and test.bin, each
record a coarse label byte, a fine label byte and 3072 pixel bytes, with the class names in
coarse_label_names.txt and fine_label_names.txt). Both label sets come from the same files.
Class names are shown with spaces ("aquarium fish"), not the files' underscores.
"""

from __future__ import annotations

import tarfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from torchvision.datasets import CIFAR100
from torchvision.datasets.utils import check_integrity, extract_archive

from engine.catalog import DATASET_INFO, download_note
from engine.data.assemble import make_dataset
from engine.data.download import DownloadError, download, make_download_folder
from engine.data.numpy_pickle import broken, load_numpy_pickle
from engine.data.types import DatasetError, DatasetMissing, ImageDataset, ProgressFn
from engine.events import DataProgress, MissingData

TITLE = "CIFAR-100"
PYTHON_FOLDER = CIFAR100.base_folder  # "cifar-100-python"
BINARY_FOLDER = "cifar-100-binary"
PYTHON_FILES = ("train", "test")
BINARY_FILES = ("train.bin", "test.bin")
RECORD_PIXELS = 3 * 32 * 32

FINE_NAMES = (
    "apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle",
    "bottle", "bowl", "boy", "bridge", "bus", "butterfly", "camel", "can", "castle",
    "caterpillar", "cattle", "chair", "chimpanzee", "clock", "cloud", "cockroach", "couch",
    "crab", "crocodile", "cup", "dinosaur", "dolphin", "elephant", "flatfish", "forest", "fox",
    "girl", "hamster", "house", "kangaroo", "keyboard", "lamp", "lawn_mower", "leopard", "lion",
    "lizard", "lobster", "man", "maple_tree", "motorcycle", "mountain", "mouse", "mushroom",
    "oak_tree", "orange", "orchid", "otter", "palm_tree", "pear", "pickup_truck", "pine_tree",
    "plain", "plate", "poppy", "porcupine", "possum", "rabbit", "raccoon", "ray", "road",
    "rocket", "rose", "sea", "seal", "shark", "shrew", "skunk", "skyscraper", "snail", "snake",
    "spider", "squirrel", "streetcar", "sunflower", "sweet_pepper", "table", "tank",
    "telephone", "television", "tiger", "tractor", "train", "trout", "tulip", "turtle",
    "wardrobe", "whale", "willow_tree", "wolf", "woman", "worm",
)
COARSE_NAMES = (
    "aquatic_mammals", "fish", "flowers", "food_containers", "fruit_and_vegetables",
    "household_electrical_devices", "household_furniture", "insects", "large_carnivores",
    "large_man-made_outdoor_things", "large_natural_outdoor_scenes",
    "large_omnivores_and_herbivores", "medium_mammals", "non-insect_invertebrates", "people",
    "reptiles", "small_mammals", "trees", "vehicles_1", "vehicles_2",
)


@dataclass(frozen=True)
class LabelSet:
    name: str  # registry key
    kind: str  # "fine" or "coarse": the files' word for it
    names: tuple[str, ...]  # as in the files, when they do not list their own
    binary_column: int  # which label byte of a binary record

    @property
    def title(self) -> str:
        return DATASET_INFO[self.name].title


LABEL_SETS = {
    "cifar100": LabelSet("cifar100", "fine", FINE_NAMES, 1),
    "cifar100-coarse": LabelSet("cifar100-coarse", "coarse", COARSE_NAMES, 0),
}


def locate(data_dir: Path) -> list[Path]:
    """The training and test files of the first copy found (python or binary), or []."""
    for folder in (data_dir / PYTHON_FOLDER, data_dir / BINARY_FOLDER, data_dir):
        for names in (PYTHON_FILES, BINARY_FILES):
            files = [folder / name for name in names]
            if all(path.is_file() for path in files):
                return files
    return []


def load_cifar100(labels: LabelSet, data_dir: Path, progress: ProgressFn, image_size: int
                  ) -> ImageDataset:
    """Load CIFAR-100 with one label set, downloading and extracting it only if not found."""
    files = locate(data_dir) or _download(labels, data_dir, progress)
    binary = files[0].suffix == ".bin"
    parts = []
    for i, path in enumerate(files):
        progress(DataProgress(labels.name, f"Reading {path.name}", i, len(files)))
        parts.append(_read_binary(path, labels) if binary else _read_python(path, labels))
    progress(DataProgress(labels.name, "Read all files", len(files), len(files)))
    folder = files[0].parent
    names = _binary_names(folder, labels) if binary else _python_names(folder, labels)
    for path, (_, found) in zip(files, parts, strict=True):
        if found.size and found.max() >= len(names):
            raise DatasetError(broken(path, TITLE, f"it holds the {labels.kind} label "
                                      f"{found.max()}; there are {len(names)} classes"))
    return make_dataset(labels.name, parts[0], parts[1],
                        tuple(name.replace("_", " ") for name in names),
                        hflip_ok=True, is_digits=False)


def _read_python(path: Path, labels: LabelSet) -> tuple[np.ndarray, np.ndarray]:
    contents = load_numpy_pickle(path, TITLE)
    key = f"{labels.kind}_labels"
    data = contents.get("data") if isinstance(contents, dict) else None
    found = contents.get(key) if isinstance(contents, dict) else None
    if (
        not isinstance(data, np.ndarray)
        or data.dtype != np.uint8
        or data.ndim != 2
        or data.shape[1] != RECORD_PIXELS
    ):
        raise DatasetError(broken(path, TITLE, "it holds no uint8 'data' array of 3072-pixel "
                                  "rows"))
    if not isinstance(found, list) or len(found) != len(data):
        raise DatasetError(broken(path, TITLE, f"it does not hold one '{key}' label per "
                                  f"image ({len(data):,})"))
    if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 0
               for v in found):
        raise DatasetError(broken(path, TITLE, f"its '{key}' are not all whole numbers "
                                  "from 0"))
    return data.reshape(-1, 3, 32, 32), np.array(found, dtype=np.int64)


def _read_binary(path: Path, labels: LabelSet) -> tuple[np.ndarray, np.ndarray]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DatasetError(broken(path, TITLE, f"it cannot be read ({exc})")) from exc
    record = 2 + RECORD_PIXELS
    if not raw or len(raw) % record:
        raise DatasetError(broken(path, TITLE, f"its size ({len(raw):,} bytes) is not a whole "
                                  f"number of {record}-byte records"))
    records = np.frombuffer(bytearray(raw), dtype=np.uint8).reshape(-1, record)
    return (records[:, 2:].reshape(-1, 3, 32, 32),
            records[:, labels.binary_column].astype(np.int64))


def _python_names(folder: Path, labels: LabelSet) -> tuple[str, ...]:
    meta_path = folder / CIFAR100.meta["filename"]  # meta
    if not meta_path.is_file():
        return labels.names
    meta = load_numpy_pickle(meta_path, TITLE)
    key = f"{labels.kind}_label_names"
    names = meta.get(key) if isinstance(meta, dict) else None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise DatasetError(broken(meta_path, TITLE, f"it does not list the '{key}'"))
    return _checked_names(tuple(names), labels, meta_path)


def _binary_names(folder: Path, labels: LabelSet) -> tuple[str, ...]:
    path = folder / f"{labels.kind}_label_names.txt"
    if not path.is_file():
        return labels.names
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(broken(path, TITLE, f"it cannot be read as text ({exc})")) from exc
    names = tuple(line.strip() for line in text.splitlines() if line.strip())
    return _checked_names(names, labels, path)


def _checked_names(names: tuple[str, ...], labels: LabelSet, path: Path) -> tuple[str, ...]:
    names = tuple(name.strip() for name in names)
    count = len(labels.names)
    repeated = sorted({name for name in names if names.count(name) > 1})
    if len(names) != count or repeated or not all(names):
        raise DatasetError(broken(path, TITLE, f"it does not list {count} different "
                                  f"{labels.kind} class names"))
    return names


def _download(labels: LabelSet, data_dir: Path, progress: ProgressFn) -> list[Path]:
    archive = data_dir / CIFAR100.filename
    make_download_folder(data_dir, TITLE)
    try:
        if not check_integrity(archive, CIFAR100.tgz_md5):
            download([CIFAR100.url], archive, CIFAR100.tgz_md5, labels.name, progress)
        progress(DataProgress(labels.name, f"Extracting {archive.name}", 0, 0))
        extract_archive(archive, data_dir, remove_finished=True)
    except (DownloadError, OSError, tarfile.TarError, EOFError) as exc:
        raise DatasetMissing(
            f"{download_note(labels.name)} was not found and downloading it failed (are you "
            f"offline?). Download {CIFAR100.url} yourself and either put {CIFAR100.filename} "
            f"in {data_dir}, or extract it there so that {data_dir / PYTHON_FOLDER} holds "
            f"train, test and meta. (Details: {exc})",
            MissingData(labels.title, str(data_dir), (CIFAR100.filename,), CIFAR100.url,
                        str(exc)),
        ) from exc
    files = [data_dir / PYTHON_FOLDER / name for name in PYTHON_FILES]
    if not all(path.is_file() for path in files):
        raise DatasetError(
            f"{CIFAR100.filename} did not contain the expected {PYTHON_FOLDER} folder with "
            f"train and test. Delete {data_dir / PYTHON_FOLDER} and try again."
        )
    return files
