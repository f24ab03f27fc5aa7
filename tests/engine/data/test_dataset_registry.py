"""The registry, the bundled MNIST sample, the in-process cache and the normalisation stats."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from PIL import Image

from engine.data import DATASETS, DatasetError, load_dataset
from engine.data.assemble import channel_mean_std
from engine.data.mnist import SAMPLE_DIR
from tools.sample_datasets import IDX_FILES, write_idx_dataset, write_image_folder


def test_registry():
    assert list(DATASETS) == ["mnist-sample", "mnist", "fashion-mnist", "kmnist",
                              "emnist-digits", "emnist-letters", "svhn", "cifar10", "cifar100",
                              "cifar100-coarse", "stl10", "folder"]
    for name, spec in DATASETS.items():
        assert spec.name == name and spec.title and spec.description
    assert [n for n, s in DATASETS.items() if not s.downloads] == ["mnist-sample", "folder"]


def test_unknown_dataset(tmp_path):
    with pytest.raises(DatasetError, match="Unknown dataset 'imagenet'.*mnist-sample"):
        load_dataset("imagenet", tmp_path)


def test_mnist_sample_is_real_digits(tmp_path):
    ds = load_dataset("mnist-sample", tmp_path / "ignored")

    assert ds.train_images.shape == (8000, 1, 28, 28)
    assert ds.test_images.shape == (2000, 1, 28, 28)
    assert ds.class_names == tuple("0123456789")
    assert ds.is_digits and not ds.hflip_ok
    train_counts = torch.bincount(ds.train_labels, minlength=10)
    test_counts = torch.bincount(ds.test_labels, minlength=10)
    assert len(train_counts) == 10 and train_counts.min() >= 650
    assert len(test_counts) == 10 and test_counts.min() >= 150
    # MNIST's well-known statistics: mean 0.1307, std 0.3081.
    assert ds.mean[0] == pytest.approx(0.13, abs=0.01)
    assert ds.std[0] == pytest.approx(0.31, abs=0.01)
    # Digits are white ink on black: borders are background, the centre has ink.
    images = ds.train_images[:, 0].float()
    assert images[:, :, 0].mean() < 1 and images[:, 10:18, 10:18].mean() > 60
    # Ordered at random, not digit by digit.
    assert len(set(ds.train_labels[:50].tolist())) == 10
    assert not (tmp_path / "ignored").exists()


def test_mnist_sample_files_are_the_standard_names():
    assert sorted(p.name for p in SAMPLE_DIR.glob("*.gz")) == sorted(
        f"{name}.gz" for name in IDX_FILES.values()
    )
    assert (SAMPLE_DIR / "README.md").is_file()


def test_second_load_comes_from_the_cache(tmp_path):
    write_idx_dataset(tmp_path, n_train=20, n_test=10)

    first = load_dataset("mnist", tmp_path)

    assert load_dataset("mnist", str(tmp_path)) is first
    assert load_dataset("mnist", tmp_path / "MNIST" / "..", image_size=64) is first


def test_changed_files_are_read_again(tmp_path):
    raw = write_idx_dataset(tmp_path, n_train=20, n_test=10)
    first = load_dataset("mnist", tmp_path)
    write_idx_dataset(tmp_path, n_train=30, n_test=10)
    labels = raw / f"{IDX_FILES['train_labels']}.gz"
    os.utime(labels, ns=(labels.stat().st_atime_ns, labels.stat().st_mtime_ns + 10**9))

    second = load_dataset("mnist", tmp_path)

    assert second is not first and len(second.train_labels) == 30


def test_folder_cache_depends_on_image_size(tmp_path):
    write_image_folder(tmp_path, classes=2, per_class=5)

    small = load_dataset("folder", tmp_path, image_size=8)

    assert load_dataset("folder", tmp_path, image_size=8) is small
    large = load_dataset("folder", tmp_path, image_size=12)
    assert large.image_size == 12 and small.image_size == 8


def test_mean_std_match_a_direct_computation(tmp_path):
    write_image_folder(tmp_path, classes=3, per_class=5, size=10, mode="RGB")
    ds = load_dataset("folder", tmp_path, image_size=10)

    pixels = ds.train_images.double() / 255
    expected_mean = pixels.mean(dim=(0, 2, 3))
    expected_std = pixels.permute(1, 0, 2, 3).reshape(3, -1).std(dim=1, unbiased=False)

    assert ds.mean == pytest.approx(expected_mean.tolist(), abs=1e-9)
    assert ds.std == pytest.approx(expected_std.tolist(), abs=1e-9)


def test_mean_std_known_values():
    images = torch.tensor([0, 255, 0, 255], dtype=torch.uint8).reshape(4, 1, 1, 1)
    assert channel_mean_std(images) == ((0.5,), (0.5,))
    constant = torch.full((3, 2, 4, 4), 51, dtype=torch.uint8)
    mean, std = channel_mean_std(constant)
    assert mean == pytest.approx((0.2, 0.2)) and std == (1.0, 1.0)  # no division by zero


def test_stats_come_from_the_training_images_only(tmp_path):
    write_image_folder(tmp_path, classes=2, per_class=5, split=True, mode="L")
    Image.fromarray(np.full((16, 16), 255, np.uint8)).save(tmp_path / "test" / "class_0" / "0.png")

    ds = load_dataset("folder", tmp_path, image_size=16)

    train_mean = float(ds.train_images.double().mean() / 255)
    all_mean = float(torch.cat([ds.train_images, ds.test_images]).double().mean() / 255)
    assert ds.mean[0] == pytest.approx(train_mean, abs=1e-9)
    assert abs(all_mean - train_mean) > 0.01
