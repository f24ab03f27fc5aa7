"""CIFAR-100 with fine (100) or coarse (20) labels, from its python and binary versions."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest
import torch
from torchvision.datasets import CIFAR100

from engine.data import DatasetError, load_dataset
from engine.data.cifar100 import COARSE_NAMES, FINE_NAMES
from tools.sample_datasets import cifar100_names, python2_pickle, write_cifar100


@pytest.mark.parametrize("binary", [False, True])
def test_fine_and_coarse_labels(tmp_path, binary):
    arrays = write_cifar100(tmp_path, binary=binary, n_train=60, n_test=40)

    fine = load_dataset("cifar100", tmp_path)
    coarse = load_dataset("cifar100-coarse", tmp_path)

    for ds in (fine, coarse):
        assert ds.train_images.shape == (60, 3, 32, 32) and ds.train_images.dtype == torch.uint8
        assert np.array_equal(ds.train_images.numpy(), arrays["train_x"])
        assert np.array_equal(ds.test_images.numpy(), arrays["test_x"])
        assert ds.hflip_ok and not ds.is_digits
    assert np.array_equal(fine.train_labels.numpy(), arrays["train_fine"])
    assert np.array_equal(coarse.test_labels.numpy(), arrays["test_coarse"])
    # The files' names, with spaces for underscores.
    assert fine.class_names == tuple(n.replace("_", " ") for n in cifar100_names("fine"))
    assert coarse.class_names[:2] == ("coarse class 000", "coarse class 001")
    assert len(fine.class_names) == 100 and len(coarse.class_names) == 20


def test_torchvision_reads_the_same_files_the_same_way(tmp_path, monkeypatch):
    write_cifar100(tmp_path, n_train=20, n_test=10)
    monkeypatch.setattr(CIFAR100, "_check_integrity", lambda self: True)
    monkeypatch.setattr(CIFAR100, "_load_meta", lambda self: None)

    ours = load_dataset("cifar100", tmp_path)
    theirs = CIFAR100(str(tmp_path), train=True, download=False)

    assert np.array_equal(ours.train_images.numpy(), theirs.data.transpose(0, 3, 1, 2))
    assert ours.train_labels.tolist() == theirs.targets


def test_without_the_names_file_the_real_names_are_used(tmp_path):
    write_cifar100(tmp_path, n_train=20, n_test=10)
    (tmp_path / "cifar-100-python" / "meta").unlink()

    assert load_dataset("cifar100", tmp_path).class_names[:2] == ("apple", "aquarium fish")
    assert load_dataset("cifar100-coarse", tmp_path).class_names[-1] == "vehicles 2"
    assert len(FINE_NAMES) == len(set(FINE_NAMES)) == 100 and len(COARSE_NAMES) == 20


def test_a_hostile_pickle_is_refused_before_it_runs(tmp_path):
    folder = tmp_path / "cifar-100-python"
    write_cifar100(tmp_path, n_train=10, n_test=10)
    marker = tmp_path / "ran"

    class Hostile:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    (folder / "test").write_bytes(pickle.dumps(Hostile(), protocol=2))

    with pytest.raises(DatasetError, match="Refused to load .*test.*CIFAR-100"):
        load_dataset("cifar100", tmp_path)
    assert not marker.exists()


def test_a_label_beyond_the_classes(tmp_path):
    write_cifar100(tmp_path, binary=True, n_train=10, n_test=10)
    path = tmp_path / "cifar-100-binary" / "test.bin"
    records = bytearray(path.read_bytes())
    records[1] = 150  # the first record's fine label
    path.write_bytes(bytes(records))

    with pytest.raises(DatasetError, match="test.bin.*fine label 150; there are 100 classes"):
        load_dataset("cifar100", tmp_path)


def test_missing_coarse_labels_say_so(tmp_path):
    folder = tmp_path / "cifar-100-python"
    write_cifar100(tmp_path, n_train=10, n_test=10)
    batch = {"data": np.zeros((10, 3072), np.uint8), "fine_labels": [0] * 10}
    (folder / "train").write_bytes(python2_pickle(batch))

    assert len(load_dataset("cifar100", tmp_path).train_labels) == 10
    with pytest.raises(DatasetError, match="'coarse_labels' label per image"):
        load_dataset("cifar100-coarse", tmp_path)


def test_a_names_file_with_too_few_names(tmp_path):
    write_cifar100(tmp_path, binary=True, n_train=10, n_test=10)
    (tmp_path / "cifar-100-binary" / "coarse_label_names.txt").write_text("fish\nflowers\n")

    with pytest.raises(DatasetError, match="does not list 20 different coarse class names"):
        load_dataset("cifar100-coarse", tmp_path)


def test_a_truncated_binary_file(tmp_path):
    write_cifar100(tmp_path, binary=True, n_train=10, n_test=10)
    path = tmp_path / "cifar-100-binary" / "train.bin"
    path.write_bytes(path.read_bytes()[:-7])

    with pytest.raises(DatasetError, match="train.bin.*3074-byte records"):
        load_dataset("cifar100", tmp_path)
