"""Randomly damaged files of the datasets added with torchvision's sources (SVHN's .mat,
CIFAR-100's pickles and records, STL-10's binaries and archive, EMNIST's gzip files and zip),
each loaded in a child: a sentence or a load, never a crash or a hang."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from bench.fault_kit import damage, in_child, load_and_describe
from tools.sample_datasets import (
    emnist_file_names,
    tar_folder,
    write_cifar100,
    write_emnist,
    write_emnist_zip,
    write_stl10,
    write_svhn,
)


def _svhn(root: Path) -> Path:
    write_svhn(root / "svhn", n_train=20, n_test=8)
    return root / "svhn" / "train_32x32.mat"


def _cifar100_pickle(root: Path) -> Path:
    write_cifar100(root, n_train=20, n_test=10)
    return root / "cifar-100-python" / "train"


def _cifar100_meta(root: Path) -> Path:
    write_cifar100(root, n_train=20, n_test=10)
    return root / "cifar-100-python" / "meta"


def _cifar100_binary(root: Path) -> Path:
    write_cifar100(root, binary=True, n_train=20, n_test=10)
    return root / "cifar-100-binary" / "test.bin"


def _stl10_images(root: Path) -> Path:
    write_stl10(root, n_train=6, n_test=4)
    return root / "stl10_binary" / "train_X.bin"


def _stl10_archive(root: Path) -> Path:
    write_stl10(root / "made", n_train=6, n_test=4)
    return tar_folder(root / "made" / "stl10_binary", root / "stl10_binary.tar.gz")


def _emnist_gz(root: Path) -> Path:
    write_emnist(root / "EMNIST" / "raw", "letters")
    return root / "EMNIST" / "raw" / f"{emnist_file_names('letters')[0]}.gz"


def _emnist_zip(root: Path) -> Path:
    write_emnist_zip(root / "gzip.zip")
    return root / "gzip.zip"


CASES = {
    "svhn .mat": ("svhn", _svhn),
    "cifar-100 pickle": ("cifar100", _cifar100_pickle),
    "cifar-100 meta": ("cifar100-coarse", _cifar100_meta),
    "cifar-100 records": ("cifar100", _cifar100_binary),
    "stl-10 images": ("stl10", _stl10_images),
    "stl-10 archive": ("stl10", _stl10_archive),
    "emnist gzip file": ("emnist-letters", _emnist_gz),
    "emnist zip": ("emnist-digits", _emnist_zip),
}


@pytest.mark.parametrize("case", list(CASES))
def test_damaged_files_get_a_sentence_or_load(tmp_path, case):
    name, write = CASES[case]
    rng = random.Random(case)
    answers = []
    for attempt in range(6):
        folder = tmp_path / f"attempt-{attempt}"
        path = write(folder)
        path.write_bytes(damage(path.read_bytes(), rng))
        outcome, result = in_child(load_and_describe, name, str(folder))
        answers.append(f"{outcome}: {result}")
        assert outcome == "ok", answers[-1]  # not raised, not died, not hung
        assert result.startswith(("error: ", "loaded: ")), result
    assert any(answer.startswith("ok: error: ") for answer in answers), answers
