"""MNIST, Fashion-MNIST, Kuzushiji-MNIST and the bundled MNIST sample: 4 IDX files each.

The raw files are looked for before anything is downloaded: in torchvision's layout (so an
existing torchvision download is reused), in a folder named after the dataset, in the data
folder itself, and in system locations such as Debian's dataset-fashion-mnist package.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from torchvision.datasets import KMNIST, MNIST, FashionMNIST
from torchvision.datasets.utils import check_integrity

from engine.catalog import download_note
from engine.data.assemble import make_dataset
from engine.data.download import DownloadError, download, make_download_folder
from engine.data.idx import read_idx
from engine.data.types import DatasetError, DatasetMissing, ImageDataset, ProgressFn
from engine.events import DataProgress, MissingData
from engine.resources import RESOURCES_DIR
from engine.text import plural

IDX_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
DIGIT_NAMES = tuple(str(d) for d in range(10))
SAMPLE_DIR = RESOURCES_DIR / "mnist-sample"


@dataclass(frozen=True)
class IdxSource:
    """Where one IDX dataset may be found and how to download it."""

    name: str
    title: str
    torchvision_class: type  # supplies the folder name, mirrors and md5s
    class_names: tuple[str, ...]
    is_digits: bool
    system_dirs: tuple[Path, ...] = ()
    hflip_ok: bool = True  # a mirrored shoe is still a shoe; a mirrored character is not

    def download_dir(self, data_dir: Path) -> Path:
        return data_dir / self.torchvision_class.__name__ / "raw"

    def search_dirs(self, data_dir: Path) -> list[Path]:
        return [self.download_dir(data_dir), data_dir / self.name, data_dir, *self.system_dirs]


SOURCES = {
    "mnist": IdxSource("mnist", "MNIST", MNIST, DIGIT_NAMES, is_digits=True, hflip_ok=False),
    "fashion-mnist": IdxSource(
        "fashion-mnist",
        "Fashion-MNIST",
        FashionMNIST,
        tuple(FashionMNIST.classes),
        is_digits=False,
        system_dirs=(Path("/usr/share/datasets/fashion-mnist"),),
    ),
    # torchvision's romanised names: one cursive hiragana character for each row of the
    # table (o, ki, su...), readable in any font.
    "kmnist": IdxSource("kmnist", "Kuzushiji-MNIST", KMNIST, tuple(KMNIST.classes),
                        is_digits=False, hflip_ok=False),
}


def idx_files_in(folder: Path, names: tuple[str, ...] = IDX_FILES) -> list[Path]:
    """The IDX files called names in folder (each plain or .gz, plain preferred), or [] if
    any is missing."""
    found = []
    for base in names:
        candidates = [folder / base, folder / f"{base}.gz"]
        existing = [path for path in candidates if path.is_file()]
        if not existing:
            return []
        found.append(existing[0])
    return found


def locate(source: IdxSource, data_dir: Path) -> list[Path]:
    """The 4 files from the first search folder that has them all, or [] if none does."""
    for folder in source.search_dirs(data_dir):
        files = idx_files_in(folder)
        if files:
            return files
    return []


def load_idx_source(
    source: IdxSource, data_dir: Path, progress: ProgressFn, image_size: int
) -> ImageDataset:
    """Load an IDX dataset (MNIST...), downloading the raw files only if none are found."""
    files = locate(source, data_dir) or _download(source, data_dir, progress)
    return read_idx_dataset(
        source.name, files, source.class_names, progress, is_digits=source.is_digits,
        hflip_ok=source.hflip_ok,
    )


def load_mnist_sample(data_dir: Path, progress: ProgressFn, image_size: int) -> ImageDataset:
    """The bundled real MNIST digits; data_dir is not used."""
    files = idx_files_in(SAMPLE_DIR)
    if not files:
        raise DatasetError(
            f"The bundled MNIST sample is missing from {SAMPLE_DIR}. Reinstall TrainDesk, or "
            "rebuild it with `python tools/build_mnist_sample.py`."
        )
    return read_idx_dataset("mnist-sample", files, DIGIT_NAMES, progress, is_digits=True,
                            hflip_ok=False)


def read_idx_dataset(
    name: str, files: list[Path], class_names: tuple[str, ...], progress: ProgressFn,
    *, is_digits: bool, hflip_ok: bool,
) -> ImageDataset:
    """Read the 4 IDX files (train images, train labels, test images, test labels)."""
    arrays = []
    for i, (path, ndim) in enumerate(zip(files, (3, 1, 3, 1), strict=True)):
        progress(DataProgress(name, f"Reading {path.name}", i, len(files)))
        arrays.append(read_idx(path, ndim))
    progress(DataProgress(name, "Read all files", len(files), len(files)))
    train_x, train_y, test_x, test_y = arrays
    for images_path, images, labels_path, labels in (
        (files[0], train_x, files[1], train_y),
        (files[2], test_x, files[3], test_y),
    ):
        if len(images) != len(labels):
            raise DatasetError(
                f"{images_path} holds {plural(len(images), 'image')} but {labels_path} holds "
                f"{plural(len(labels), 'label')}; one of them is corrupt or from another dataset: "
                "delete both and download them again."
            )
        if labels.max(initial=0) >= len(class_names):
            raise DatasetError(
                f"{labels_path} holds the label {labels.max()}, but {name} has "
                f"{plural(len(class_names), 'class', 'classes')}; the file is corrupt or from "
                "another dataset: delete it and download it again."
            )
    return make_dataset(
        name,
        (train_x[:, np.newaxis], train_y),
        (test_x[:, np.newaxis], test_y),
        class_names,
        hflip_ok=hflip_ok,
        is_digits=is_digits,
    )


def _download(source: IdxSource, data_dir: Path, progress: ProgressFn) -> list[Path]:
    tv_class = source.torchvision_class
    folder = source.download_dir(data_dir)
    names = [filename for filename, _ in tv_class.resources]
    make_download_folder(folder, source.title)
    try:
        for filename, md5 in tv_class.resources:
            if not check_integrity(folder / filename, md5):
                urls = [mirror + filename for mirror in tv_class.mirrors]
                download(urls, folder / filename, md5, source.name, progress)
    except DownloadError as exc:
        raise DatasetMissing(
            f"{download_note(source.name)} was not found and downloading it failed (are you "
            "offline?). "
            f"Download these files yourself from {tv_class.mirrors[0]} and put them in "
            f"{folder}: {', '.join(names)}. Or train on the bundled 'mnist-sample' digits, "
            f"which need no download. (Details: {exc})",
            MissingData(source.title, str(folder), tuple(names), tv_class.mirrors[0], str(exc)),
        ) from exc
    return idx_files_in(folder)

