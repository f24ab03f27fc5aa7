"""SVHN from its MATLAB .mat files, read through scipy; the digit 0 is labelled 10 there."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.io import savemat
from torchvision.datasets import SVHN
from torchvision.datasets.utils import calculate_md5

from engine.data import DatasetError, load_dataset
from tools.sample_datasets import write_svhn


def test_svhn_images_and_labels(tmp_path):
    arrays = write_svhn(tmp_path / "svhn", n_train=40, n_test=15)

    ds = load_dataset("svhn", tmp_path)

    assert ds.train_images.shape == (40, 3, 32, 32) and ds.train_images.dtype == torch.uint8
    assert np.array_equal(ds.train_images.numpy(), arrays["train_x"])
    assert np.array_equal(ds.test_images.numpy(), arrays["test_x"])
    assert np.array_equal(ds.train_labels.numpy(), arrays["train_y"])
    assert 0 in ds.train_labels.tolist()  # stored as 10
    assert ds.class_names == tuple("0123456789")
    assert not ds.hflip_ok and not ds.is_digits
    assert len(ds.mean) == 3


def test_torchvision_reads_the_same_files_the_same_way(tmp_path, monkeypatch):
    """torchvision's SVHN reader is an independent check of the format and of ours."""
    write_svhn(tmp_path, n_train=12, n_test=6)
    path = tmp_path / "train_32x32.mat"
    url, name, _ = SVHN.split_list["train"]
    monkeypatch.setitem(SVHN.split_list, "train", [url, name, calculate_md5(str(path))])

    ours = load_dataset("svhn", tmp_path)
    theirs = SVHN(str(tmp_path), split="train", download=False)

    assert np.array_equal(ours.train_images.numpy(), theirs.data)
    assert np.array_equal(ours.train_labels.numpy(), theirs.labels)


@pytest.mark.parametrize("folder", ["SVHN", "."])
def test_other_places_the_files_are_looked_for(tmp_path, folder):
    write_svhn(tmp_path / folder, n_train=10, n_test=5)

    assert len(load_dataset("svhn", tmp_path).train_labels) == 10


def test_a_file_that_is_not_a_mat_file(tmp_path):
    write_svhn(tmp_path / "svhn")
    (tmp_path / "svhn" / "test_32x32.mat").write_bytes(b"<html>Not found</html>")

    with pytest.raises(DatasetError, match="test_32x32.mat.*cannot be read as a .mat file"):
        load_dataset("svhn", tmp_path)


def test_a_cut_short_mat_file(tmp_path):
    write_svhn(tmp_path / "svhn")
    path = tmp_path / "svhn" / "train_32x32.mat"
    path.write_bytes(path.read_bytes()[:3000])

    with pytest.raises(DatasetError, match="train_32x32.mat.*delete it"):
        load_dataset("svhn", tmp_path)


@pytest.mark.parametrize(("contents", "complaint"), [
    ({"X": np.zeros((32, 32, 3, 4), np.float64), "y": np.ones((4, 1))}, "no uint8 X"),
    ({"X": np.zeros((32, 32, 3, 4), np.uint8), "y": np.ones((3, 1))}, "one label y per image"),
    ({"X": np.zeros((32, 32, 3, 4), np.uint8), "y": np.zeros((4, 1))}, "from 0 to 0"),
    ({"X": np.zeros((32, 32, 3, 4), np.uint8)}, "one label y per image"),
])
def test_wrong_contents(tmp_path, contents, complaint):
    write_svhn(tmp_path / "svhn")
    savemat(tmp_path / "svhn" / "train_32x32.mat", contents)

    with pytest.raises(DatasetError, match=complaint):
        load_dataset("svhn", tmp_path)
