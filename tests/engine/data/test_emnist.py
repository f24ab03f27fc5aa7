"""Kuzushiji-MNIST and EMNIST (letters, digits): IDX files, EMNIST's transposed images and
1-based letter labels, and the split's files taken from EMNIST's zip."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torchvision.datasets import KMNIST

from engine.data import DatasetError, load_dataset
from tools.sample_datasets import (
    emnist_file_names,
    learnable_images,
    write_emnist,
    write_emnist_zip,
    write_idx,
    write_idx_dataset,
)


def test_kmnist_in_torchvision_layout(tmp_path):
    write_idx_dataset(tmp_path, layout="KMNIST", n_train=30, n_test=10, seed=4)
    images, labels = learnable_images(30, 10, 28, seed=4)

    ds = load_dataset("kmnist", tmp_path)

    assert np.array_equal(ds.train_images.numpy(), images)
    assert np.array_equal(ds.train_labels.numpy(), labels)
    assert ds.class_names == tuple(KMNIST.classes) == ("o", "ki", "su", "tsu", "na", "ha",
                                                       "ma", "ya", "re", "wo")
    assert not ds.hflip_ok and not ds.is_digits


@pytest.mark.parametrize("gz", [True, False])
def test_emnist_letters_are_upright_with_labels_from_0(tmp_path, gz):
    arrays = write_emnist(tmp_path / "EMNIST" / "raw", "letters", gz=gz, n_train=52)

    ds = load_dataset("emnist-letters", tmp_path)

    assert ds.train_images.shape == (52, 1, 28, 28) and ds.train_images.dtype == torch.uint8
    # The files hold each image transposed; the dataset holds it as drawn.
    assert np.array_equal(ds.train_images.numpy(), arrays["train_x"])
    assert np.array_equal(ds.test_images.numpy(), arrays["test_x"])
    # The files label a..z as 1..26.
    assert np.array_equal(ds.train_labels.numpy(), arrays["train_y"])
    assert ds.train_labels.min() == 0 and ds.train_labels.max() == 25
    assert len(ds.class_names) == 26 and ds.class_names[:3] == ("A/a", "B/b", "C/c")
    assert not ds.hflip_ok and not ds.is_digits


def test_emnist_digits_are_digits(tmp_path):
    arrays = write_emnist(tmp_path / "emnist", "digits")

    ds = load_dataset("emnist-digits", tmp_path)

    assert np.array_equal(ds.train_images.numpy(), arrays["train_x"])
    assert np.array_equal(ds.test_labels.numpy(), arrays["test_y"])
    assert ds.class_names == tuple("0123456789")
    assert ds.is_digits and not ds.hflip_ok


def test_a_split_is_taken_from_the_zip_which_is_kept(tmp_path):
    archive = tmp_path / "gzip.zip"
    written = write_emnist_zip(archive)

    letters = load_dataset("emnist-letters", tmp_path)
    digits = load_dataset("emnist-digits", tmp_path)

    assert np.array_equal(letters.train_images.numpy(), written["letters"]["train_x"])
    assert np.array_equal(digits.test_labels.numpy(), written["digits"]["test_y"])
    raw = tmp_path / "EMNIST" / "raw"
    assert sorted(p.name for p in raw.iterdir()) == sorted(
        f"{name}.gz" for split in ("letters", "digits") for name in emnist_file_names(split))
    assert archive.is_file()


def test_a_zip_without_the_split_says_so(tmp_path):
    write_emnist_zip(tmp_path / "EMNIST" / "raw" / "gzip.zip", splits=("digits",))

    with pytest.raises(DatasetError, match="does not contain gzip/emnist-letters-train"):
        load_dataset("emnist-letters", tmp_path)


def test_a_damaged_zip_says_delete_it(tmp_path):
    archive = tmp_path / "gzip.zip"
    write_emnist_zip(archive)
    archive.write_bytes(archive.read_bytes()[:200])

    with pytest.raises(DatasetError, match="gzip.zip.*(cannot be read|does not contain)"):
        load_dataset("emnist-digits", tmp_path)


def test_a_letter_label_0_is_refused(tmp_path):
    folder = tmp_path / "EMNIST" / "raw"
    write_emnist(folder, "letters")
    labels_file = folder / f"{emnist_file_names('letters')[1]}.gz"
    write_idx(labels_file, np.zeros(60, np.uint8))

    with pytest.raises(DatasetError, match=r"labels from 0 to 0.*from 1 to 26"):
        load_dataset("emnist-letters", tmp_path)


def test_images_and_labels_must_pair_up(tmp_path):
    folder = tmp_path / "EMNIST" / "raw"
    write_emnist(folder, "digits")
    write_idx(folder / f"{emnist_file_names('digits')[3]}.gz", np.ones(5, np.uint8))

    with pytest.raises(DatasetError, match="holds 26 images but .* holds 5 labels"):
        load_dataset("emnist-digits", tmp_path)
