"""The 'folder' dataset: a person's own class sub-folders of images."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from engine.data import DatasetError, load_dataset
from engine.data.folder import load_folder
from tools.sample_datasets import write_image_folder

REPO = Path(__file__).resolve().parents[3]


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


def test_transparent_images_are_stored_as_they_look_on_white(tmp_path):
    """As an image tried on the model is read (engine/inference/image_modes.py): a transparent PNG's
    hidden pixels (black here) must not become its background."""
    write_image_folder(tmp_path, classes=2, per_class=5, size=16, mode="RGB")
    Image.new("RGBA", (16, 16), (0, 0, 0, 0)).save(tmp_path / "class_0" / "rgba.png")
    Image.new("P", (16, 16), 0).save(tmp_path / "class_0" / "palette.png", transparency=0)
    half = Image.new("RGBA", (16, 16), (0, 0, 0, 0))
    half.paste((200, 0, 0, 255), (0, 0, 8, 16))  # left half opaque red, right transparent
    half.save(tmp_path / "class_1" / "half.png")

    ds = load_folder(tmp_path, _ignore, 16)

    stored = torch.cat([ds.train_images, ds.test_images])
    white = [img for img in stored if bool((img == 255).all())]
    assert len(white) == 2  # the fully transparent RGBA and palette images
    halves = [img for img in stored if img[0, :, :8].float().mean() == 200
              and bool((img[:, :, 8:] == 255).all())]
    assert len(halves) == 1 and bool((halves[0][1:, :, :8] == 0).all())


def test_sixteen_bit_greys_are_scaled_not_clipped(tmp_path):
    write_image_folder(tmp_path, classes=2, per_class=5, size=16, mode="L")
    dark = np.full((16, 16), 16384, dtype=np.uint16)  # a quarter of 16 bits' range
    Image.fromarray(dark).save(tmp_path / "class_0" / "deep.png")

    ds = load_folder(tmp_path, _ignore, 16)

    stored = torch.cat([ds.train_images, ds.test_images])
    assert any(bool((img == 64).all()) for img in stored)  # 16384 / 65535 * 255, not 255


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

    with pytest.raises(DatasetError, match="has 1 class folder; a classifier needs at least 2"):
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


# -- what real folders hold: links, hidden files, copies --------------------------------


def _pixels_digests(images: torch.Tensor) -> set[bytes]:
    return {hashlib.sha256(image.numpy().tobytes()).digest() for image in images}


def test_a_link_loop_loads_at_once_and_is_counted(tmp_path):
    """`a/loop -> ..` made os.walk(followlinks=True) run forever; run in a child process
    so that a regression fails on the timeout instead of hanging the suite."""
    write_image_folder(tmp_path, classes=["a", "b"], per_class=5)
    os.symlink("..", tmp_path / "a" / "loop")
    code = ("import sys; from pathlib import Path; from engine.data.folder import load_folder;"
            "ds = load_folder(Path(sys.argv[1]), lambda e: None, 8);"
            "print(len(ds.train_labels) + len(ds.test_labels)); print(ds.notes)")
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path)], cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    count, notes = result.stdout.splitlines()
    assert count == "10"
    assert "Did not follow 1 folder link" in notes and "a/loop" in notes


def test_a_link_to_its_own_folder_counts_each_image_once(tmp_path):
    write_image_folder(tmp_path, classes=["a", "b"], per_class=6)
    os.symlink(tmp_path / "a", tmp_path / "a" / "self")

    ds = load_folder(tmp_path, _ignore, 8)

    assert len(ds.train_labels) + len(ds.test_labels) == 12
    assert not _pixels_digests(ds.train_images) & _pixels_digests(ds.test_images)
    assert any("Did not follow 1 folder link" in note and "a/self" in note for note in ds.notes)


def test_a_link_into_another_class_does_not_relabel_its_images(tmp_path):
    write_image_folder(tmp_path, classes=["a", "b"], per_class=6)
    os.symlink(tmp_path / "b", tmp_path / "a" / "more")

    ds = load_folder(tmp_path, _ignore, 8)

    labels = torch.cat([ds.train_labels, ds.test_labels])
    assert torch.bincount(labels).tolist() == [6, 6]


def test_a_file_reached_twice_through_links_is_read_once(tmp_path):
    write_image_folder(tmp_path, classes=["a", "b"], per_class=6)
    os.symlink(tmp_path / "a" / "0.png", tmp_path / "b" / "borrowed.png")

    ds = load_folder(tmp_path, _ignore, 8)

    assert len(ds.train_labels) + len(ds.test_labels) == 12
    assert any("Read 1 file reached twice through links only once" in n for n in ds.notes)


def test_hidden_and_system_files_are_skipped_with_a_count(tmp_path):
    write_image_folder(tmp_path, classes=["a", "b"], per_class=5)
    (tmp_path / "a" / "._0.png").write_bytes(b"\x00\x05\x16\x07 AppleDouble resource fork")
    (tmp_path / "a" / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (tmp_path / "b" / "Thumbs.db").write_bytes(b"\xd0\xcf\x11\xe0")
    (tmp_path / "b" / "desktop.ini").write_text("[.ShellClassInfo]")
    (tmp_path / "__MACOSX" / "a").mkdir(parents=True)
    (tmp_path / "__MACOSX" / "a" / "._1.png").write_bytes(b"\x00\x05\x16\x07")

    ds = load_folder(tmp_path, _ignore, 8)

    assert ds.class_names == ("a", "b")
    assert len(ds.train_labels) + len(ds.test_labels) == 10
    assert any(note.startswith("Skipped 4 hidden or system files") for note in ds.notes)


def test_test_images_that_copy_training_images_are_left_out_and_counted(tmp_path):
    write_image_folder(tmp_path, classes=["a", "b"], per_class=8, split=True, test_per_class=4)
    for name in ("0.png", "1.png"):  # the same bytes under another name, in the test set
        shutil.copy(tmp_path / "train" / "a" / name, tmp_path / "test" / "a" / f"copy-{name}")
    shutil.copy(tmp_path / "train" / "b" / "3.png", tmp_path / "test" / "b" / "copy.png")

    ds = load_folder(tmp_path, _ignore, 8)

    assert len(ds.train_labels) == 16 and len(ds.test_labels) == 8
    assert any(note.startswith("Left 3 test images out of the test set") for note in ds.notes)
    assert not _pixels_digests(ds.train_images) & _pixels_digests(ds.test_images)


def test_copies_in_one_folder_never_straddle_the_split(tmp_path):
    write_image_folder(tmp_path, classes=["a", "b"], per_class=10)
    for i in range(10):
        shutil.copy(tmp_path / "a" / f"{i}.png", tmp_path / "a" / f"again-{i}.png")

    ds = load_folder(tmp_path, _ignore, 8)

    assert not _pixels_digests(ds.train_images) & _pixels_digests(ds.test_images)
    assert any("out of the test set" in note for note in ds.notes)


def test_every_test_image_a_copy_is_refused(tmp_path):
    write_image_folder(tmp_path, classes=["a", "b"], per_class=3, split=True, test_per_class=1)
    shutil.rmtree(tmp_path / "test")
    shutil.copytree(tmp_path / "train", tmp_path / "test")

    with pytest.raises(DatasetError, match="Every test image .* is an exact copy"):
        load_folder(tmp_path, _ignore, 8)


def test_one_image_per_class_says_there_are_no_test_images_not_copies(tmp_path):
    write_image_folder(tmp_path, classes=["a", "b"], per_class=1)

    with pytest.raises(DatasetError) as raised:
        load_folder(tmp_path, _ignore, 8)

    message = str(raised.value)
    assert message.startswith("No test images: every class")
    assert "at least 2 images" in message and "Add more images per class" in message
    assert "copy" not in message


def test_a_class_with_one_image_is_named_as_untested(tmp_path):
    write_image_folder(tmp_path, classes=["a", "b", "c"], per_class=5)
    for extra in ("1.png", "2.png", "3.png", "4.png"):
        (tmp_path / "c" / extra).unlink()

    ds = load_folder(tmp_path, _ignore, 8)

    assert torch.bincount(ds.test_labels, minlength=3).tolist() == [1, 1, 0]
    assert any(note.startswith("1 class (c) has only one image") for note in ds.notes)
    assert not any("copy" in note or "out of the test set" in note for note in ds.notes)


def test_a_file_given_as_the_folder_is_called_a_file(tmp_path):
    note = tmp_path / "passwd"
    note.write_text("root:x:0:0")
    with pytest.raises(DatasetError, match="is a file, not a folder"):
        load_dataset("folder", note)


def test_the_trainer_logs_the_notes_as_warnings(tmp_path):
    from engine.config import TrainConfig
    from engine.events import LogLine
    from engine.training.trainer import Trainer

    write_image_folder(tmp_path, classes=["a", "b"], per_class=6)
    (tmp_path / "a" / "._0.png").write_bytes(b"\x00\x05\x16\x07")
    events = []
    Trainer(TrainConfig(arch="mlp", dataset="folder", data_dir=str(tmp_path), epochs=1,
                        image_size=8, batch_size=4, device="cpu")).run(events.append)
    warnings = [e.message for e in events if isinstance(e, LogLine) and e.level == "warning"]
    assert any(w.startswith("Skipped 1 hidden or system file (._0.png)") for w in warnings)
