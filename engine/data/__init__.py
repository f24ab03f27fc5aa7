"""The datasets a person can train on, and `load_dataset`, which loads (and caches) one.

    dataset = load_dataset("fashion-mnist", "~/.traindesk/data", progress=print)

Each dataset is loaded once into memory (see types.ImageDataset). Loads are cached within
the process, keyed by the source files' paths, sizes and modification times, so a second
run on the same data does not read it again, but replaced files are read afresh.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from engine.catalog import DATASET_INFO, DatasetInfo
from engine.data import cifar, cifar100, emnist, folder, mnist, stl10, svhn
from engine.data.types import DatasetError, ImageDataset, ProgressFn

__all__ = ["DATASETS", "DatasetError", "DatasetSpec", "ImageDataset", "load_dataset", "on_disk"]

CACHE_SIZE = 3  # datasets kept in memory; CIFAR-10 is ~180 MB, MNIST ~55 MB, STL-10 ~360 MB


@dataclass(frozen=True, kw_only=True)
class DatasetSpec(DatasetInfo):
    """A dataset as engine.catalog describes it (torch-free), with how it is read."""

    load: Callable[[Path, ProgressFn, int], ImageDataset]  # (data_dir, progress, image_size)
    # The files a load would read right now ([] if it would have to download them first):
    # their sizes and modification times key the cache.
    sources: Callable[[Path], list[Path]]


# How each dataset is found and read; what a person reads about it is in engine.catalog.
_LOADERS: dict[str, tuple[Callable[[Path, ProgressFn, int], ImageDataset],
                          Callable[[Path], list[Path]]]] = {
    "mnist-sample": (mnist.load_mnist_sample,
                     lambda data_dir: mnist.idx_files_in(mnist.SAMPLE_DIR)),
    "mnist": (partial(mnist.load_idx_source, mnist.SOURCES["mnist"]),
              partial(mnist.locate, mnist.SOURCES["mnist"])),
    "fashion-mnist": (partial(mnist.load_idx_source, mnist.SOURCES["fashion-mnist"]),
                      partial(mnist.locate, mnist.SOURCES["fashion-mnist"])),
    "kmnist": (partial(mnist.load_idx_source, mnist.SOURCES["kmnist"]),
               partial(mnist.locate, mnist.SOURCES["kmnist"])),
    **{name: (partial(emnist.load_emnist, split), partial(emnist.locate, split))
       for name, split in emnist.SPLITS.items()},
    "svhn": (svhn.load_svhn, svhn.locate),
    "cifar10": (cifar.load_cifar10, cifar.locate),
    **{name: (partial(cifar100.load_cifar100, labels), cifar100.locate)
       for name, labels in cifar100.LABEL_SETS.items()},
    "stl10": (stl10.load_stl10, stl10.locate),
    "folder": (folder.load_folder, folder.image_files),
}



def _spec(info: DatasetInfo) -> DatasetSpec:
    load, sources = _LOADERS[info.name]
    described = {f.name: getattr(info, f.name) for f in dataclasses.fields(DatasetInfo)}
    return DatasetSpec(**described, load=load, sources=sources)


DATASETS: dict[str, DatasetSpec] = {name: _spec(info) for name, info in DATASET_INFO.items()}

_cache: OrderedDict[Hashable, ImageDataset] = OrderedDict()
_cache_lock = threading.Lock()


def load_dataset(
    name: str,
    data_dir: str | Path,
    progress: ProgressFn | None = None,
    image_size: int = 32,
) -> ImageDataset:
    """Load the dataset called name (a key of DATASETS), from memory if already loaded.

    image_size only matters for the "folder" dataset. Raises DatasetError with a sentence
    saying what to do when the data cannot be found, downloaded or read.
    """
    spec = DATASETS.get(name)
    if spec is None:
        raise DatasetError(f"Unknown dataset '{name}'. Choose one of: {', '.join(DATASETS)}.")
    directory = Path(data_dir).expanduser().resolve()
    size = image_size if spec.uses_image_size else None
    key = (name, directory, size, _fingerprint(spec.sources(directory)))
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
        # The same data at another size (a folder for another network) or from older
        # files is dropped first: a folder at 224x224 can take gigabytes.
        for stale in [k for k in _cache if k[:2] == (name, directory)]:
            del _cache[stale]
    dataset = spec.load(directory, progress or _ignore, image_size)
    # Fingerprint again: a download has just created the files the next call will find.
    key = (name, directory, size, _fingerprint(spec.sources(directory)))
    with _cache_lock:
        _cache[key] = dataset
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return dataset


def on_disk(name: str, data_dir: str | Path) -> bool | None:
    """Whether the downloadable dataset `name` is on this computer already (in or around
    `data_dir`, where a load would find it), without reading or downloading anything: a few
    file checks. None for a dataset that is never downloaded (bundled, your own images)."""
    spec = DATASETS.get(name)
    if spec is None or not spec.downloads:
        return None
    try:
        return bool(spec.sources(Path(data_dir).expanduser().resolve()))
    except (OSError, ValueError, RuntimeError):  # an unusable folder name: not there
        return False


def _fingerprint(paths: list[Path]) -> tuple[tuple[str, int, int], ...]:
    stats = []
    for path in paths:
        try:
            stat = path.stat()
            stats.append((str(path), stat.st_size, stat.st_mtime_ns))
        except OSError:  # deleted meanwhile: the load itself will say what is missing
            stats.append((str(path), -1, -1))
    return tuple(stats)


def _ignore(_event: object) -> None:
    pass
