"""The 'folder' dataset: a person's own class sub-folders of images."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from engine.data import DatasetError, load_dataset
from engine.data.folder import load_folder
from tests.datasets import write_image_folder


def _ignore(_event):
    pass


def test_split_is_stratified_and_repeatable(tmp_path):
    write_image_folder(tmp_path, classes=["cat", "dog", "owl"], per_class=10, size=16)

    ds = load_dataset("folder", tmp_path, image_size=16)
    again = load_folder(tmp_path, _ignore, 16)

    assert ds.class_names == ("cat", "dog", "owl")
    assert torch.bincount(ds.train_labels).tolist() == [8, 8, 8]
    assert torch.bincount(ds.test_labels).tolist() == [2, 2, 2]
    assert torch.equal(ds.test_images, again.test_images)
    assert torch.equal(ds.train_labels, again.train_labels)
    # No image is in both sets.
    train_rows = {bytes(image.numpy()) for image in ds.train_images}
    assert not any(bytes(image.numpy()) in train_rows for image in ds.test_images)
    assert ds.hflip_ok and not ds.is_digits


def test_train_and_test_folders_are_the_split(tmp_path):
    write_image_folder(tmp_path, classes=2, per_class=5, test_per_class=3, split=True)

    ds = load_dataset("folder", tmp_path, image_size=16)

    assert torch.bincount(ds.train_labels).tolist() == [5, 5]
    assert torch.bincount(ds.test_labels).tolist() == [3, 3]


def test_train_and_test_must_have_the_same_classes(tmp_path):
    write_image_folder(tmp_path / "train", classes=["a", "b"], per_class=3)
    write_image_folder(tmp_path / "test", classes=["a", "c"], per_class=3)

    with pytest.raises(DatasetError, match="same class folders"):
        load_dataset("folder", tmp_path)


def test_rgb_images_keep_their_pixels_at_their_own_size(tmp_path):
    write_image_folder(tmp_path, classes=2, per_class=5, size=16, mode="RGB")
    image = np.asarray(Image.open(tmp_path / "class_0" / "0.png"))

    ds = load_folder(tmp_path, _ignore, 16)

    assert ds.train_images.shape[1:] == (3, 16, 16)
    stored = np.concatenate([ds.train_images.numpy(), ds.test_images.numpy()])
    assert any(np.array_equal(row.transpose(1, 2, 0), image) for row in stored)


def test_greyscale_folder_gives_one_channel_resized(tmp_path):
    write_image_folder(tmp_path, classes=3, per_class=5, size=16, mode="L")

    ds = load_dataset("folder", tmp_path, image_size=24)

    assert ds.train_images.shape[1:] == (1, 24, 24)
    assert ds.test_images.shape[1:] == (1, 24, 24)
    assert len(ds.mean) == 1


def test_one_colour_image_makes_the_dataset_colour(tmp_path):
    write_image_folder(tmp_path, classes=2, per_class=5, size=16, mode="L")
    photo = Image.new("RGB", (40, 30), (200, 10, 10))
    photo.save(tmp_path / "class_1" / "photo.jpg")

    ds = load_dataset("folder", tmp_path, image_size=12)

    assert ds.train_images.shape[1:] == (3, 12, 12)
    images = torch.cat([ds.train_images, ds.test_images])
    red = [img for img in images if img[0].float().mean() > 150]
    assert len(red) == 1 and red[0][1].float().mean() < 40  # the JPEG, resized, still red
    greys = [img for img in images if img[0].float().mean() <= 150]
    assert all(torch.equal(img[0], img[1]) and torch.equal(img[1], img[2]) for img in greys)


def test_progress_counts_images(tmp_path):
    write_image_folder(tmp_path, classes=2, per_class=6)
    events = []

    load_dataset("folder", tmp_path, progress=events.append, image_size=8)

    assert events[0].done == 0 and events[-1].done == events[-1].total == 12
    assert all(e.dataset == "folder" for e in events)


def test_unreadable_image_is_named(tmp_path):
    write_image_folder(tmp_path, classes=2, per_class=4)
    broken = tmp_path / "class_1" / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n this is not really a png")

    with pytest.raises(DatasetError) as caught:
        load_dataset("folder", tmp_path)
    assert str(broken) in str(caught.value) and "Delete or replace" in str(caught.value)


def test_truncated_image_is_named(tmp_path):
    write_image_folder(tmp_path, classes=2, per_class=4, size=32)
    image = tmp_path / "class_0" / "1.png"
    image.write_bytes(image.read_bytes()[:200])

    with pytest.raises(DatasetError, match="1.png"):
        load_dataset("folder", tmp_path)


def test_files_that_are_not_images_are_ignored(tmp_path):
    write_image_folder(tmp_path, classes=2, per_class=4)
    (tmp_path / "class_0" / "notes.txt").write_text("taken on a sunny day")

    assert len(load_dataset("folder", tmp_path).train_labels) + 2 == 8


def test_one_class_is_not_enough(tmp_path):
    write_image_folder(tmp_path, classes=1, per_class=4)

    with pytest.raises(DatasetError, match="at least 2"):
        load_dataset("folder", tmp_path)


def test_empty_class_folder_is_named(tmp_path):
    write_image_folder(tmp_path, classes=["a", "b"], per_class=4)
    (tmp_path / "zebra").mkdir()

    with pytest.raises(DatasetError, match="hold no images: zebra"):
        load_dataset("folder", tmp_path)


def test_folder_without_class_folders(tmp_path):
    Image.new("L", (8, 8)).save(tmp_path / "loose.png")

    with pytest.raises(DatasetError, match="no class sub-folders"):
        load_dataset("folder", tmp_path)


def test_missing_folder(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        load_dataset("folder", tmp_path / "nowhere")
