"""STL-10's labelled images (96x96, stored column by column), and extracting only them from
its archive."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torchvision.datasets import STL10

from engine.data import DatasetError, load_dataset
from tools.sample_datasets import STL10_CLASSES, tar_folder, write_stl10


def test_labelled_images_upright(tmp_path):
    arrays = write_stl10(tmp_path, n_train=20, n_test=10)

    ds = load_dataset("stl10", tmp_path)

    assert ds.train_images.shape == (20, 3, 96, 96) and ds.train_images.dtype == torch.uint8
    assert np.array_equal(ds.train_images.numpy(), arrays["train_x"])
    assert np.array_equal(ds.test_images.numpy(), arrays["test_x"])
    assert np.array_equal(ds.train_labels.numpy(), arrays["train_y"])  # stored as 1..10
    assert ds.class_names == STL10_CLASSES
    assert ds.hflip_ok and not ds.is_digits


def test_torchvision_reads_the_same_files_the_same_way(tmp_path, monkeypatch):
    write_stl10(tmp_path, n_train=10, n_test=5)
    monkeypatch.setattr(STL10, "_check_integrity", lambda self: True)

    ours = load_dataset("stl10", tmp_path)
    theirs = STL10(str(tmp_path), split="train", download=False)

    assert np.array_equal(ours.train_images.numpy(), theirs.data)
    assert np.array_equal(ours.train_labels.numpy(), theirs.labels)


def test_only_the_labelled_files_are_extracted_from_the_archive(tmp_path):
    arrays = write_stl10(tmp_path / "made", n_train=10, n_test=5)
    archive = tar_folder(tmp_path / "made" / "stl10_binary", tmp_path / "data" / STL10.filename)
    events = []

    ds = load_dataset("stl10", tmp_path / "data", progress=events.append)

    assert np.array_equal(ds.test_images.numpy(), arrays["test_x"])
    folder = tmp_path / "data" / "stl10_binary"
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["train_X.bin", "train_y.bin", "test_X.bin", "test_y.bin", "class_names.txt"])
    assert not archive.exists()  # the unlabelled images are not kept
    assert any(e.message == f"Extracting {STL10.filename}" for e in events)


def test_a_damaged_archive(tmp_path):
    write_stl10(tmp_path / "made", n_train=10, n_test=5)
    archive = tar_folder(tmp_path / "made" / "stl10_binary", tmp_path / "data" / STL10.filename)
    archive.write_bytes(archive.read_bytes()[:2000])

    with pytest.raises(DatasetError, match="STL-10 archive .* cannot be read.*Delete it"):
        load_dataset("stl10", tmp_path / "data")
    assert not (tmp_path / "data" / "stl10_binary" / "test_y.bin").exists()


def test_images_cut_short(tmp_path):
    write_stl10(tmp_path, n_train=10, n_test=5)
    path = tmp_path / "stl10_binary" / "test_X.bin"
    path.write_bytes(path.read_bytes()[:-100])

    with pytest.raises(DatasetError, match="test_X.bin.*27648-byte images"):
        load_dataset("stl10", tmp_path)


def test_labels_out_of_range(tmp_path):
    write_stl10(tmp_path, n_train=10, n_test=5)
    (tmp_path / "stl10_binary" / "train_y.bin").write_bytes(bytes(range(10)))

    with pytest.raises(DatasetError, match="train_y.bin.*from 0 to 9; STL-10's run from 1"):
        load_dataset("stl10", tmp_path)


def test_labels_and_images_that_do_not_pair_up(tmp_path):
    write_stl10(tmp_path, n_train=10, n_test=5)
    (tmp_path / "stl10_binary" / "test_y.bin").write_bytes(bytes([1, 2, 3]))

    with pytest.raises(DatasetError, match="holds 5 images but .* holds 3 labels"):
        load_dataset("stl10", tmp_path)
