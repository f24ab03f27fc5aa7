"""CIFAR-10 from its python (pickled) and binary versions, and refusing hostile pickles."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest
import torch

from engine.data import DatasetError, load_dataset
from tools.sample_datasets import (
    CIFAR10_CLASSES,
    cut_file,
    learnable_images,
    python2_pickle,
    write_cifar_batches,
    write_cifar_binary,
)


def test_python_batches(tmp_path):
    write_cifar_batches(tmp_path, n_per_batch=8, n_test=6, seed=5)
    expected = [learnable_images(8, 10, 32, channels=3, seed=5 + i) for i in range(5)]
    test_images, test_labels = learnable_images(6, 10, 32, channels=3, seed=5 + 5)

    ds = load_dataset("cifar10", tmp_path)

    assert ds.train_images.shape == (40, 3, 32, 32) and ds.train_images.dtype == torch.uint8
    assert np.array_equal(ds.train_images.numpy(), np.concatenate([x for x, _ in expected]))
    assert np.array_equal(ds.train_labels.numpy(), np.concatenate([y for _, y in expected]))
    assert np.array_equal(ds.test_images.numpy(), test_images)
    assert np.array_equal(ds.test_labels.numpy(), test_labels)
    assert ds.class_names == CIFAR10_CLASSES
    assert ds.hflip_ok and not ds.is_digits
    assert len(ds.mean) == len(ds.std) == 3


def test_class_names_come_from_batches_meta(tmp_path):
    folder = write_cifar_batches(tmp_path, n_per_batch=4, n_test=4)
    names = [f"thing {i}" for i in range(10)]
    (folder / "batches.meta").write_bytes(python2_pickle({"label_names": names}))

    assert load_dataset("cifar10", tmp_path).class_names == tuple(names)


def test_numpy2_pickles_load_too(tmp_path):
    """A batch re-saved by numpy 2 names numpy._core instead of numpy.core."""
    folder = write_cifar_batches(tmp_path, n_per_batch=4, n_test=4)
    batch = pickle.loads((folder / "test_batch").read_bytes(), encoding="latin1")
    (folder / "test_batch").write_bytes(pickle.dumps(batch, protocol=4))
    assert b"numpy._core.multiarray" in (folder / "test_batch").read_bytes()

    assert np.array_equal(load_dataset("cifar10", tmp_path).test_images.reshape(4, -1).numpy(),
                          batch["data"])


class _RunsCommand:
    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


def test_a_pickle_that_would_run_code_is_refused(tmp_path):
    folder = write_cifar_batches(tmp_path, n_per_batch=4, n_test=4)
    marker = tmp_path / "the-pickle-ran"
    batch = pickle.loads((folder / "data_batch_3").read_bytes(), encoding="latin1")
    batch["labels"] = _RunsCommand(f"touch {marker}")
    hostile = pickle.dumps(batch, protocol=2)
    # The payload is real: an ordinary unpickler runs it.
    pickle.loads(hostile)
    assert marker.exists()
    marker.unlink()
    (folder / "data_batch_3").write_bytes(hostile)

    with pytest.raises(DatasetError) as caught:
        load_dataset("cifar10", tmp_path)

    assert not marker.exists()
    message = str(caught.value)
    assert "data_batch_3" in message and f"{os.system.__module__}.system" in message
    assert "Refused" in message


@pytest.mark.parametrize(
    ("batch", "complaint"),
    [
        ({"data": np.zeros((4, 100), np.uint8), "labels": [0] * 4}, "3072-pixel rows"),
        ({"data": np.zeros((4, 3072), np.float32), "labels": [0] * 4}, "uint8"),
        ({"data": np.zeros((4, 3072), np.uint8), "labels": [0] * 3}, "one label per image"),
        ({"data": np.zeros((4, 3072), np.uint8), "labels": ["a"] * 4}, "whole numbers"),
        ({"data": np.zeros((4, 3072), np.uint8), "labels": [0, 1, 2, 10]}, "label 10"),
        ([1, 2, 3], "uint8"),
    ],
)
def test_malformed_batch(tmp_path, batch, complaint):
    folder = write_cifar_batches(tmp_path, n_per_batch=4, n_test=4)
    (folder / "data_batch_1").write_bytes(python2_pickle(batch))

    with pytest.raises(DatasetError, match=complaint) as caught:
        load_dataset("cifar10", tmp_path)
    assert "data_batch_1" in str(caught.value) and "delete it" in str(caught.value)


def test_truncated_batch(tmp_path):
    folder = write_cifar_batches(tmp_path, n_per_batch=4, n_test=4)
    cut_file(folder / "data_batch_2", keep=0.7)

    with pytest.raises(DatasetError, match="data_batch_2.*cannot be unpickled"):
        load_dataset("cifar10", tmp_path)


def test_binary_version(tmp_path):
    write_cifar_binary(tmp_path, n_per_batch=6, n_test=5, seed=2)
    expected = [learnable_images(6, 10, 32, channels=3, seed=2 + i) for i in range(5)]

    ds = load_dataset("cifar10", tmp_path)

    assert ds.train_images.shape == (30, 3, 32, 32) and ds.test_images.shape == (5, 3, 32, 32)
    assert np.array_equal(ds.train_images.numpy(), np.concatenate([x for x, _ in expected]))
    assert np.array_equal(ds.train_labels.numpy(), np.concatenate([y for _, y in expected]))
    assert ds.class_names == CIFAR10_CLASSES


def test_python_version_preferred_over_binary(tmp_path):
    write_cifar_binary(tmp_path, n_per_batch=6, n_test=5)
    write_cifar_batches(tmp_path, n_per_batch=4, n_test=4)

    assert len(load_dataset("cifar10", tmp_path).train_labels) == 20


def test_binary_batch_of_the_wrong_size(tmp_path):
    folder = write_cifar_binary(tmp_path, n_per_batch=6, n_test=5)
    cut_file(folder / "test_batch.bin", keep=0.5)

    with pytest.raises(DatasetError, match="test_batch.bin.*3073-byte records"):
        load_dataset("cifar10", tmp_path)


def test_binary_label_out_of_range(tmp_path):
    folder = write_cifar_binary(tmp_path, n_per_batch=6, n_test=5)
    records = bytearray((folder / "data_batch_5.bin").read_bytes())
    records[3073 * 2] = 200
    (folder / "data_batch_5.bin").write_bytes(bytes(records))

    with pytest.raises(DatasetError, match="data_batch_5.bin.*label 200"):
        load_dataset("cifar10", tmp_path)


@pytest.mark.parametrize("labels", [[0, 1.7, 2, 3], [0, 1, 2.0, 3], [True, 1, 2, 3]])
def test_labels_that_are_not_whole_numbers_are_refused_not_truncated(tmp_path, labels):
    folder = write_cifar_batches(tmp_path, n_per_batch=4, n_test=4)
    batch = {"data": np.zeros((4, 3072), np.uint8), "labels": labels}
    (folder / "data_batch_3").write_bytes(python2_pickle(batch))

    with pytest.raises(DatasetError, match="data_batch_3.*not all whole numbers"):
        load_dataset("cifar10", tmp_path)


def test_ten_identical_class_names_are_refused(tmp_path):
    folder = write_cifar_batches(tmp_path, n_per_batch=4, n_test=4)
    (folder / "batches.meta").write_bytes(python2_pickle({"label_names": ["cat"] * 10}))

    with pytest.raises(DatasetError, match="names 'cat' more than once"):
        load_dataset("cifar10", tmp_path)


def test_repeated_or_blank_names_in_the_binary_meta_are_refused(tmp_path):
    folder = write_cifar_binary(tmp_path, n_per_batch=6, n_test=5)
    names = list(CIFAR10_CLASSES)
    (folder / "batches.meta.txt").write_text("\n".join(names[:9] + ["dog"]))
    with pytest.raises(DatasetError, match="batches.meta.txt.*'dog' more than once"):
        load_dataset("cifar10", tmp_path)


def test_a_meta_file_that_is_not_utf8_is_named(tmp_path):
    folder = write_cifar_binary(tmp_path, n_per_batch=6, n_test=5)
    (folder / "batches.meta.txt").write_bytes("\n".join(CIFAR10_CLASSES).encode("utf-16"))

    with pytest.raises(DatasetError, match="batches.meta.txt.*not UTF-8 text"):
        load_dataset("cifar10", tmp_path)
