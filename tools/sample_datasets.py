"""Write tiny, learnable datasets in the real raw formats, for the tests and benchmarks that
load real files.

Every writer puts the files exactly where a person (or torchvision) would, so tests go through
the real loading code. "Learnable": each class is a bright block at its own place in the
image on a noisy background, so a tiny model reaches high accuracy within an epoch or two.

    raw = write_idx_dataset(tmp_path)                  # tmp_path/MNIST/raw/*.gz
    load_dataset("mnist", tmp_path)

The corrupting helpers at the bottom damage such files for error-handling tests.
"""

from __future__ import annotations

import gzip
import io
import math
import pickle
import struct
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
)


def learnable_images(
    n: int, classes: int, size: int, channels: int = 1, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (n, channels, size, size), labels int64 (n,)), classes balanced.

    Class k is a bright square in cell k of a grid laid over the image, jittered by a
    pixel or two, on a dark noisy background.
    """
    grid = math.ceil(math.sqrt(classes))
    cell = size // grid
    if cell < 2:
        raise ValueError(f"size {size} is too small for {classes} classes (need {2 * grid}+)")
    block = max(1, cell * 3 // 4)
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % classes).astype(np.int64)
    images = rng.integers(0, 64, size=(n, channels, size, size), dtype=np.uint8)
    for i, label in enumerate(labels):
        row, col = divmod(int(label), grid)
        y = row * cell + int(rng.integers(0, cell - block + 1))
        x = col * cell + int(rng.integers(0, cell - block + 1))
        images[i, :, y : y + block, x : x + block] = rng.integers(
            192, 256, size=(channels, block, block), dtype=np.uint8
        )
    return images, labels


# --- IDX (MNIST, Fashion-MNIST) -------------------------------------------------------


def idx_bytes(array: np.ndarray) -> bytes:
    """The IDX encoding of a uint8 array: magic 0x0000 08 <ndim>, big-endian dims, data."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + np.array(array.shape, dtype=">u4").tobytes()
    return header + array.tobytes()


def write_bytes(path: Path, data: bytes) -> Path:
    """Write data, gzip-compressed (reproducibly, mtime 0) when the name ends in .gz."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data, mtime=0) if path.suffix == ".gz" else data)
    return path


def write_idx(path: Path, array: np.ndarray) -> Path:
    return write_bytes(path, idx_bytes(array))


def idx_dir(root: Path, layout: str | None) -> Path:
    """root/<layout>/raw (torchvision's layout, e.g. "MNIST", "FashionMNIST"), or root."""
    return root / layout / "raw" if layout else root


def write_idx_dataset(
    root: Path,
    layout: str | None = "MNIST",
    n_train: int = 200,
    n_test: int = 50,
    classes: int = 10,
    size: int = 28,
    seed: int = 0,
    gz: bool = True,
) -> Path:
    """Write the 4 standard IDX files into idx_dir(root, layout); return that folder."""
    folder = idx_dir(root, layout)
    suffix = ".gz" if gz else ""
    train_x, train_y = learnable_images(n_train, classes, size, seed=seed)
    test_x, test_y = learnable_images(n_test, classes, size, seed=seed + 1)
    arrays = {
        "train_images": train_x[:, 0],
        "train_labels": train_y,
        "test_images": test_x[:, 0],
        "test_labels": test_y,
    }
    for key, array in arrays.items():
        write_idx(folder / (IDX_FILES[key] + suffix), array)
    return folder


# --- CIFAR-10 -----------------------------------------------------------------------


class _Python2Pickler(pickle._Pickler):
    """Pickles bytes as a Python 2 str (BINSTRING), as CIFAR-10's batches were written.

    Python 3's protocol 2 would instead call _codecs.encode, which the real files never do.
    """

    dispatch = pickle._Pickler.dispatch.copy()

    def _save_python2_str(self, obj: bytes) -> None:
        self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = _save_python2_str


def python2_pickle(obj: object) -> bytes:
    """obj pickled the way Python 2 with numpy 1.x pickled CIFAR-10 (protocol 2)."""
    out = io.BytesIO()
    _Python2Pickler(out, protocol=2).dump(obj)
    # numpy 2 calls the module numpy._core; the files name it numpy.core.
    return out.getvalue().replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")


def write_cifar_batches(
    root: Path, n_per_batch: int = 40, n_test: int = 50, seed: int = 0
) -> Path:
    """Write CIFAR-10's python version into root/cifar-10-batches-py; return that folder.

    Like the real files: dicts pickled by Python 2 holding a uint8 (N, 3072) array.
    """
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    batches = {f"data_batch_{i}": n_per_batch for i in range(1, 6)} | {"test_batch": n_test}
    for i, (name, n) in enumerate(batches.items()):
        images, labels = learnable_images(n, 10, 32, channels=3, seed=seed + i)
        batch = {
            "batch_label": name,
            "labels": [int(v) for v in labels],
            "data": images.reshape(n, 3072),
            "filenames": [f"{name}_{j}.png" for j in range(n)],
        }
        (folder / name).write_bytes(python2_pickle(batch))
    meta = {"label_names": list(CIFAR10_CLASSES), "num_cases_per_batch": n_per_batch,
            "num_vis": 3072}
    (folder / "batches.meta").write_bytes(python2_pickle(meta))
    return folder


def write_cifar_binary(
    root: Path, n_per_batch: int = 40, n_test: int = 50, seed: int = 0
) -> Path:
    """Write CIFAR-10's binary version into root/cifar-10-batches-bin; return that folder.

    Each record is 1 label byte then 3072 pixel bytes (red plane, green, blue).
    """
    folder = root / "cifar-10-batches-bin"
    folder.mkdir(parents=True, exist_ok=True)
    batches = {f"data_batch_{i}.bin": n_per_batch for i in range(1, 6)} | {"test_batch.bin": n_test}
    for i, (name, n) in enumerate(batches.items()):
        images, labels = learnable_images(n, 10, 32, channels=3, seed=seed + i)
        records = np.concatenate(
            [labels.astype(np.uint8)[:, None], images.reshape(n, 3072)], axis=1
        )
        (folder / name).write_bytes(records.tobytes())
    (folder / "batches.meta.txt").write_text("\n".join(CIFAR10_CLASSES) + "\n\n")
    return folder


# --- image folders ------------------------------------------------------------------


def write_image_folder(
    root: Path,
    classes: int | Sequence[str] = 3,
    per_class: int = 10,
    size: int = 16,
    mode: str = "RGB",
    split: bool = False,
    test_per_class: int = 4,
    ext: str = "png",
    seed: int = 0,
) -> Path:
    """Write root/<class>/<i>.<ext> (or root/train/<class>/..., root/test/<class>/...).

    mode is a PIL mode: "RGB", or "L" for greyscale. Returns root.
    """
    names = [f"class_{k}" for k in range(classes)] if isinstance(classes, int) else list(classes)
    channels = 3 if mode == "RGB" else 1
    parts = {"train": per_class, "test": test_per_class} if split else {"": per_class}
    for part_index, (part, count) in enumerate(parts.items()):
        images, labels = learnable_images(
            count * len(names), len(names), size, channels=channels, seed=seed + part_index
        )
        counters = [0] * len(names)
        for image, label in zip(images, labels, strict=True):
            folder = root / part / names[label]
            folder.mkdir(parents=True, exist_ok=True)
            pixels = image.transpose(1, 2, 0) if channels == 3 else image[0]
            Image.fromarray(pixels, mode=mode).save(folder / f"{counters[label]}.{ext}")
            counters[label] += 1
    return root


# --- damaging files for error tests -------------------------------------------------


def read_payload(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if path.suffix == ".gz" else data


def cut_file(path: Path, keep: float = 0.5) -> Path:
    """Keep only the first fraction of the file's bytes (a broken download; bad gzip)."""
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def drop_payload_bytes(path: Path, count: int = 1) -> Path:
    """Remove the last count bytes of the (decompressed) content: a valid gzip, short data."""
    return write_bytes(path, read_payload(path)[:-count])


def break_idx_magic(path: Path) -> Path:
    """Make the first 4 bytes something no IDX file starts with."""
    return write_bytes(path, b"\x12\x34\x56\x78" + read_payload(path)[4:])


# --- EMNIST ---------------------------------------------------------------------------


def emnist_file_names(split: str) -> list[str]:
    stem = f"emnist-{split}"
    return [f"{stem}-train-images-idx3-ubyte", f"{stem}-train-labels-idx1-ubyte",
            f"{stem}-test-images-idx3-ubyte", f"{stem}-test-labels-idx1-ubyte"]


def emnist_arrays(split: str, n_train: int = 60, n_test: int = 26, seed: int = 0
                  ) -> dict[str, np.ndarray]:
    """Upright images and 0-based labels, then the 4 files' contents as EMNIST stores them:
    each image transposed, letters labelled 1..26."""
    classes, first = (26, 1) if split == "letters" else (10, 0)
    train_x, train_y = learnable_images(n_train, classes, 28, seed=seed)
    test_x, test_y = learnable_images(n_test, classes, 28, seed=seed + 1)
    names = emnist_file_names(split)
    return {
        "train_x": train_x, "train_y": train_y, "test_x": test_x, "test_y": test_y,
        names[0]: train_x[:, 0].transpose(0, 2, 1), names[1]: (train_y + first),
        names[2]: test_x[:, 0].transpose(0, 2, 1), names[3]: (test_y + first),
    }


def write_emnist(folder: Path, split: str, gz: bool = True, **kwargs) -> dict[str, np.ndarray]:
    """Write one split's 4 files into folder (e.g. root/EMNIST/raw); return emnist_arrays."""
    arrays = emnist_arrays(split, **kwargs)
    for name in emnist_file_names(split):
        write_idx(folder / (name + (".gz" if gz else "")), arrays[name])
    return arrays


def write_emnist_zip(path: Path, splits: Sequence[str] = ("letters", "digits"),
                     **kwargs) -> dict[str, dict[str, np.ndarray]]:
    """Write EMNIST's gzip.zip (gzip/emnist-<split>-...-ubyte.gz members) at path."""
    import zipfile

    path.parent.mkdir(parents=True, exist_ok=True)
    written = {}
    with zipfile.ZipFile(path, "w") as zipped:
        for split in splits:
            arrays = emnist_arrays(split, **kwargs)
            for name in emnist_file_names(split):
                zipped.writestr(f"gzip/{name}.gz",
                                gzip.compress(idx_bytes(arrays[name]), mtime=0))
            written[split] = arrays
    return written


# --- SVHN ---------------------------------------------------------------------------


def write_svhn(folder: Path, n_train: int = 50, n_test: int = 20, seed: int = 0
               ) -> dict[str, np.ndarray]:
    """Write train_32x32.mat and test_32x32.mat (MATLAB 5 files, as SVHN's are) in folder:
    X is (32, 32, 3, N) uint8, y is (N, 1) with the digit 0 labelled 10. Returns the
    images (N, 3, 32, 32) and 0..9 labels."""
    from scipy.io import savemat

    folder.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for part, n, offset in (("train", n_train, 0), ("test", n_test, 1)):
        images, labels = learnable_images(n, 10, 32, channels=3, seed=seed + offset)
        stored = np.where(labels == 0, 10, labels).astype(np.uint8)[:, None]
        savemat(folder / f"{part}_32x32.mat", {"X": images.transpose(2, 3, 1, 0), "y": stored})
        arrays[f"{part}_x"], arrays[f"{part}_y"] = images, labels
    return arrays


# --- CIFAR-100 ------------------------------------------------------------------------


def cifar100_names(kind: str) -> list[str]:
    """Made-up class names in the files' style (underscores for spaces)."""
    count = 100 if kind == "fine" else 20
    return [f"{kind}_class_{i:03d}" for i in range(count)]


def cifar100_arrays(n_train: int = 60, n_test: int = 40, seed: int = 0
                    ) -> dict[str, np.ndarray]:
    """Images with fine labels (learnable per coarse class) and coarse labels = fine // 5."""
    arrays = {}
    for part, n, offset in (("train", n_train, 0), ("test", n_test, 1)):
        images, coarse = learnable_images(n, 20, 32, channels=3, seed=seed + offset)
        fine = coarse * 5 + np.arange(n) % 5
        arrays[f"{part}_x"], arrays[f"{part}_fine"], arrays[f"{part}_coarse"] = (
            images, fine.astype(np.int64), coarse)
    return arrays


def write_cifar100(root: Path, binary: bool = False, **kwargs) -> dict[str, np.ndarray]:
    """Write CIFAR-100's python version (root/cifar-100-python: train, test, meta, pickled
    by Python 2) or its binary version (root/cifar-100-binary: train.bin, test.bin, records
    of coarse label, fine label, 3072 pixels; *_label_names.txt). Returns cifar100_arrays."""
    arrays = cifar100_arrays(**kwargs)
    folder = root / ("cifar-100-binary" if binary else "cifar-100-python")
    folder.mkdir(parents=True, exist_ok=True)
    for part in ("train", "test"):
        images = arrays[f"{part}_x"]
        n = len(images)
        fine, coarse = arrays[f"{part}_fine"], arrays[f"{part}_coarse"]
        if binary:
            records = np.concatenate([coarse.astype(np.uint8)[:, None],
                                      fine.astype(np.uint8)[:, None],
                                      images.reshape(n, 3072)], axis=1)
            (folder / f"{part}.bin").write_bytes(records.tobytes())
        else:
            batch = {"filenames": [f"{part}_{j}.png" for j in range(n)], "batch_label": part,
                     "fine_labels": [int(v) for v in fine],
                     "coarse_labels": [int(v) for v in coarse],
                     "data": images.reshape(n, 3072)}
            (folder / part).write_bytes(python2_pickle(batch))
    if binary:
        for kind in ("fine", "coarse"):
            (folder / f"{kind}_label_names.txt").write_text("\n".join(cifar100_names(kind))
                                                             + "\n")
    else:
        meta = {"fine_label_names": cifar100_names("fine"),
                "coarse_label_names": cifar100_names("coarse")}
        (folder / "meta").write_bytes(python2_pickle(meta))
    return arrays


# --- STL-10 -------------------------------------------------------------------------

STL10_CLASSES = ("airplane", "bird", "car", "cat", "deer", "dog", "horse", "monkey", "ship",
                 "truck")


def write_stl10(root: Path, n_train: int = 20, n_test: int = 10, n_unlabeled: int = 3,
                seed: int = 0) -> dict[str, np.ndarray]:
    """Write STL-10's binary version into root/stl10_binary: *_X.bin hold each image channel
    by channel, column by column; *_y.bin one label byte 1..10 per image; class_names.txt;
    unlabeled_X.bin. Returns the upright images (N, 3, 96, 96) and 0-based labels."""
    folder = root / "stl10_binary"
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for part, n, offset in (("train", n_train, 0), ("test", n_test, 1)):
        images, labels = learnable_images(n, 10, 96, channels=3, seed=seed + offset)
        (folder / f"{part}_X.bin").write_bytes(images.transpose(0, 1, 3, 2).tobytes())
        (folder / f"{part}_y.bin").write_bytes((labels + 1).astype(np.uint8).tobytes())
        arrays[f"{part}_x"], arrays[f"{part}_y"] = images, labels
    unlabeled, _ = learnable_images(n_unlabeled, 10, 96, channels=3, seed=seed + 2)
    (folder / "unlabeled_X.bin").write_bytes(unlabeled.tobytes())
    (folder / "class_names.txt").write_text("\n".join(STL10_CLASSES) + "\n")
    return arrays


def tar_folder(folder: Path, archive: Path) -> Path:
    """folder as a .tar.gz at archive, its name the top folder inside (like the real ones)."""
    import tarfile

    archive.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname=folder.name)
    return archive
