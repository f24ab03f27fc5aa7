"""MNIST-style datasets: IDX parsing, where the files are looked for, and damaged files."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
from torchvision.datasets import MNIST

from engine.data import DatasetError, load_dataset, mnist
from engine.data.idx import read_idx
from tools.sample_datasets import (
    IDX_FILES,
    break_idx_magic,
    cut_file,
    drop_payload_bytes,
    idx_bytes,
    learnable_images,
    write_bytes,
    write_idx,
    write_idx_dataset,
)

SYSTEM_FASHION = Path("/usr/share/datasets/fashion-mnist")


@pytest.mark.parametrize("gz", [True, False])
def test_idx_round_trip(tmp_path, gz):
    images, labels = learnable_images(30, 10, 28, seed=3)
    raw = write_idx_dataset(tmp_path, n_train=30, n_test=12, gz=gz, seed=3)
    assert (raw / (IDX_FILES["train_images"] + (".gz" if gz else ""))).is_file()

    ds = load_dataset("mnist", tmp_path)

    assert ds.train_images.dtype == torch.uint8
    assert ds.train_images.shape == (30, 1, 28, 28)
    assert ds.test_images.shape == (12, 1, 28, 28)
    assert ds.train_labels.dtype == torch.int64
    assert np.array_equal(ds.train_images[:, 0].numpy(), images[:, 0])
    assert np.array_equal(ds.train_labels.numpy(), labels)
    assert ds.class_names == tuple("0123456789")
    assert ds.is_digits and not ds.hflip_ok


def test_torchvision_reads_the_same_files_the_same_way(tmp_path):
    """torchvision's own IDX parser is an independent check of ours."""
    write_idx_dataset(tmp_path, layout="MNIST", n_train=25, n_test=10, gz=False)

    ours = load_dataset("mnist", tmp_path)
    theirs = MNIST(str(tmp_path), train=True, download=False)

    assert torch.equal(ours.train_images[:, 0], theirs.data)
    assert torch.equal(ours.train_labels, theirs.targets)


def test_fashion_mnist_in_torchvision_layout(tmp_path):
    write_idx_dataset(tmp_path, layout="FashionMNIST", n_train=20, n_test=10)

    ds = load_dataset("fashion-mnist", tmp_path)

    assert len(ds.train_labels) == 20
    assert ds.class_names[0] == "T-shirt/top" and ds.class_names[9] == "Ankle boot"
    assert ds.hflip_ok and not ds.is_digits


def test_plain_files_preferred_over_gz_in_the_same_folder(tmp_path):
    """torchvision keeps both the .gz and the extracted file in MNIST/raw."""
    write_idx_dataset(tmp_path, n_train=20, n_test=10, gz=True)
    write_idx_dataset(tmp_path, n_train=30, n_test=10, gz=False)

    assert len(load_dataset("mnist", tmp_path).train_labels) == 30


def test_search_order(tmp_path):
    # A different training-set size in each place tells which one was read.
    source = dataclasses.replace(mnist.SOURCES["mnist"], system_dirs=(tmp_path / "system",))
    data_dir = tmp_path / "data"
    places = [
        (data_dir / "MNIST" / "raw", 50),
        (data_dir / "mnist", 40),
        (data_dir, 30),
        (tmp_path / "system", 20),
    ]
    for folder, n in places:
        write_idx_dataset(folder, layout=None, n_train=n, n_test=10)

    for folder, n in places:
        files = mnist.locate(source, data_dir)
        assert [f.parent for f in files] == [folder] * 4
        ds = mnist.read_idx_dataset("mnist", files, mnist.DIGIT_NAMES, lambda e: None,
                                    is_digits=True, hflip_ok=False)
        assert len(ds.train_labels) == n
        for path in files:
            path.unlink()
    assert mnist.locate(source, data_dir) == []


def test_an_incomplete_folder_is_skipped(tmp_path):
    write_idx_dataset(tmp_path, layout=None, n_train=30, n_test=10)
    incomplete = write_idx_dataset(tmp_path, layout="MNIST", n_train=20, n_test=10)
    (incomplete / (IDX_FILES["test_labels"] + ".gz")).unlink()

    assert len(load_dataset("mnist", tmp_path).train_labels) == 30


def test_a_system_folder_is_searched_after_the_data_folder(tmp_path):
    """Debian's layout (the four .gz files in one folder) where the system keeps it, found
    without a download when the data folder has none; the data folder's own copy wins."""
    system = write_idx_dataset(tmp_path / "usr-share", layout=None, n_train=40, n_test=20)
    source = dataclasses.replace(mnist.SOURCES["fashion-mnist"], system_dirs=(system,))

    assert mnist.locate(source, tmp_path / "empty") == [
        system / (IDX_FILES[key] + ".gz")
        for key in ("train_images", "train_labels", "test_images", "test_labels")]
    ds = mnist.load_idx_source(source, tmp_path / "empty", lambda *_: None, 28)
    assert len(ds.train_labels) == 40 and len(ds.test_labels) == 20
    assert not (tmp_path / "empty").exists()  # found, not downloaded

    own = write_idx_dataset(tmp_path / "data", layout="FashionMNIST", n_train=30, n_test=10)
    assert mnist.locate(source, tmp_path / "data")[0].parent == own


@pytest.mark.skipif(not SYSTEM_FASHION.is_dir(), reason=(
    "needs the real Fashion-MNIST from Debian's package: apt-get install "
    "dataset-fashion-mnist (.ci/run installs it)"))
def test_system_fashion_mnist(tmp_path):
    ds = load_dataset("fashion-mnist", tmp_path / "empty")

    assert ds.train_images.shape == (60000, 1, 28, 28)
    assert ds.test_images.shape == (10000, 1, 28, 28)
    assert torch.bincount(ds.train_labels).tolist() == [6000] * 10
    assert torch.bincount(ds.test_labels).tolist() == [1000] * 10
    # Fashion-MNIST's published normalisation constants.
    assert ds.mean[0] == pytest.approx(0.2860, abs=1e-4)
    assert ds.std[0] == pytest.approx(0.3530, abs=1e-4)
    assert not (tmp_path / "empty").exists()  # found, not downloaded


# --- damaged files -------------------------------------------------------------------


def _raw(tmp_path: Path, gz: bool = True) -> Path:
    return write_idx_dataset(tmp_path, n_train=20, n_test=10, gz=gz)


def _expect_broken(tmp_path: Path, damaged: Path, *words: str) -> None:
    with pytest.raises(DatasetError) as caught:
        load_dataset("mnist", tmp_path)
    message = str(caught.value)
    assert str(damaged) in message
    assert "delete" in message
    for word in words:
        assert word in message


def test_cut_gzip(tmp_path):
    damaged = cut_file(_raw(tmp_path) / (IDX_FILES["train_images"] + ".gz"))
    _expect_broken(tmp_path, damaged, "cannot be read")


def test_not_gzip_at_all(tmp_path):
    damaged = _raw(tmp_path) / (IDX_FILES["test_images"] + ".gz")
    damaged.write_bytes(b"<html>404 Not Found</html>")
    _expect_broken(tmp_path, damaged, "cannot be read")


@pytest.mark.parametrize("gz", [True, False])
def test_data_shorter_than_the_header_says(tmp_path, gz):
    name = IDX_FILES["train_images"] + (".gz" if gz else "")
    damaged = drop_payload_bytes(_raw(tmp_path, gz) / name, count=5)
    _expect_broken(tmp_path, damaged, f"{20 * 28 * 28:,} bytes")


def test_data_longer_than_the_header_says(tmp_path):
    damaged = _raw(tmp_path, gz=False) / IDX_FILES["test_labels"]
    damaged.write_bytes(damaged.read_bytes() + b"\0")
    _expect_broken(tmp_path, damaged, "more")


def test_bad_magic(tmp_path):
    damaged = break_idx_magic(_raw(tmp_path) / (IDX_FILES["train_labels"] + ".gz"))
    _expect_broken(tmp_path, damaged, "IDX header")


def test_labels_file_where_images_belong(tmp_path):
    raw = _raw(tmp_path, gz=False)
    damaged = raw / IDX_FILES["train_images"]
    damaged.write_bytes((raw / IDX_FILES["train_labels"]).read_bytes())
    _expect_broken(tmp_path, damaged, "1-d data")


def test_empty_file(tmp_path):
    damaged = _raw(tmp_path, gz=False) / IDX_FILES["test_images"]
    damaged.write_bytes(b"")
    _expect_broken(tmp_path, damaged)


def test_image_and_label_counts_differ(tmp_path):
    raw = _raw(tmp_path, gz=False)
    damaged = write_idx(raw / IDX_FILES["train_labels"], np.zeros(19, dtype=np.uint8))
    _expect_broken(tmp_path, damaged, "20 images", "19 labels")


def test_label_out_of_range(tmp_path):
    raw = _raw(tmp_path, gz=False)
    damaged = write_idx(raw / IDX_FILES["test_labels"], np.full(10, 10, dtype=np.uint8))
    _expect_broken(tmp_path, damaged, "label 10")


def test_huge_promised_size_does_not_allocate_it(tmp_path):
    """A header claiming 4 billion images must fail on the short data, not on memory."""
    path = tmp_path / "lies.gz"
    write_bytes(path, idx_bytes(np.zeros((1, 28, 28), np.uint8))[:4] + b"\xff\xff\xff\xff"
                + np.array([28, 28], ">u4").tobytes() + bytes(100))
    with pytest.raises(DatasetError, match="promises"):
        read_idx(path, ndim=3)


@pytest.mark.parametrize(("dims", "data_bytes"), [
    ((2**31, 2**31, 4), 0),        # 2**64 bytes wraps to 0 in int64
    ((2**16, 2**16, 2**32 - 1), 16),  # wraps to a negative size
])
def test_a_header_whose_sizes_overflow_is_named(tmp_path, dims, data_bytes):
    path = tmp_path / "overflow"
    write_bytes(path, bytes([0, 0, 0x08, 3]) + np.array(dims, ">u4").tobytes()
                + bytes(data_bytes))
    with pytest.raises(DatasetError, match="not a valid IDX file") as caught:
        read_idx(path, ndim=3)
    promised = f"{dims[0] * dims[1] * dims[2]:,}"
    assert f"promises {promised} bytes" in str(caught.value)
