"""A resume checks that the data is the one the checkpoint was trained on
(engine.data.fingerprint): renamed classes are refused, changed images are warned about."""

from __future__ import annotations

import dataclasses
import shutil

import pytest

from engine.config import TrainConfig
from engine.data.fingerprint import class_change, images_change
from engine.events import LogLine
from engine.records.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from engine.training.trainer import Trainer
from tools.sample_datasets import write_image_folder


@pytest.fixture
def trained(tmp_path):
    """A folder of cat and dog images and a 1-epoch run on it: (folder, config, checkpoint)."""
    photos = write_image_folder(tmp_path / "photos", classes=["cat", "dog"], per_class=10,
                                size=16)
    config = TrainConfig(arch="softmax", dataset="folder", data_dir=str(photos), epochs=1,
                         batch_size=8, lr=3e-3, device="cpu", seed=1, threads=1)
    end = Trainer(config, run_dir=tmp_path / "run").run(lambda e: None)
    assert end.reason == "finished", end.message
    return photos, config, end.checkpoint_path


def _resume(config, checkpoint):
    events = []
    end = Trainer(config.replace(epochs=2), resume_from=checkpoint).run(events.append)
    warnings = [e.message for e in events if isinstance(e, LogLine) and e.level == "warning"]
    return end, warnings


def test_the_checkpoint_keeps_the_classes_and_a_fingerprint_of_the_data(trained):
    _photos, _config, checkpoint = trained
    ckpt = load_checkpoint(checkpoint)  # weights_only: plain types only

    assert ckpt.class_names == ("cat", "dog")
    assert ckpt.data_fingerprint["classes"] == ["cat", "dog"]
    assert (ckpt.data_fingerprint["train"], ckpt.data_fingerprint["test"]) == (16, 4)


def test_a_renamed_class_folder_refuses_the_resume_and_says_which(trained):
    photos, config, checkpoint = trained
    (photos / "cat").rename(photos / "zebra")  # sorted: dog, zebra: the labels would swap

    end, _ = _resume(config, checkpoint)

    assert end.reason == "failed" and end.epochs_done == 0
    assert "its classes changed since it was saved: the class 'cat' is now 'zebra'" in (
        end.message)
    assert "Put the class folders back as they were, or start a new run" in end.message


def test_two_class_folders_swapping_names_refuse_the_resume(trained):
    photos, config, checkpoint = trained
    (photos / "cat").rename(photos / "tmp")
    (photos / "dog").rename(photos / "cat")
    (photos / "tmp").rename(photos / "dog")  # the same names, each on the other's images

    end, _ = _resume(config, checkpoint)

    assert end.reason == "failed" and end.epochs_done == 0
    assert ("the images of 'cat' are now under 'dog'; the images of 'dog' are now under "
            "'cat'") in end.message


def test_an_added_class_is_named_not_blamed_on_the_weights(trained):
    photos, config, checkpoint = trained
    shutil.copytree(photos / "dog", photos / "owl")

    end, _ = _resume(config, checkpoint)

    assert end.reason == "failed" and "added: 'owl'" in end.message
    assert "do not fit" not in end.message


def test_images_added_with_the_same_classes_warn_but_resume(trained, tmp_path):
    photos, config, checkpoint = trained
    more = write_image_folder(tmp_path / "more", classes=["cat", "dog"], per_class=3,
                              size=16, seed=7)
    for i in range(3):
        shutil.copy(more / "cat" / f"{i}.png", photos / "cat" / f"new-{i}.png")

    end, warnings = _resume(config, checkpoint)

    assert end.reason in ("finished", "learned_nothing") and end.epochs_done == 2
    assert any("the images changed (16 → 18 training images, 4 → 5 test images)" in w
               for w in warnings), warnings


def test_an_older_checkpoint_without_a_fingerprint_resumes_unchecked(trained, tmp_path):
    _photos, config, checkpoint = trained
    old = save_checkpoint(tmp_path / "old.pt", dataclasses.replace(
        load_checkpoint(checkpoint), data_fingerprint=None))

    end, warnings = _resume(config, old)

    assert end.reason in ("finished", "learned_nothing") and end.epochs_done == 2
    assert any("kept no fingerprint of its images" in w and "cannot be checked" in w
               for w in warnings)


def test_a_checkpoint_with_a_malformed_fingerprint_is_called_damaged(trained, tmp_path):
    _photos, _config, checkpoint = trained
    odd = save_checkpoint(tmp_path / "odd.pt", dataclasses.replace(
        load_checkpoint(checkpoint), data_fingerprint={"classes": "cat"}))

    with pytest.raises(CheckpointError, match="damaged or incomplete"):
        load_checkpoint(odd)


@pytest.mark.parametrize(("saved", "now", "said"), [
    (("a", "b"), ("a", "b"), None),
    (("cat", "dog"), ("dog", "kitten"), "the class 'cat' is now 'kitten'"),
    (("a", "b"), ("b", "a"), "the classes are in another order (was a, b; now b, a)"),
    (("a", "b", "c"), ("a", "x", "y", "z"), "added: 'x', 'y', 'z'; removed: 'b', 'c'"),
])
def test_class_changes_are_said_in_words(saved, now, said):
    assert class_change(saved, now) == said


def test_the_same_counts_with_other_labels_are_a_change():
    saved = {"train": 8, "test": 2, "image_size": 16, "labels": "a", "pixels": "p"}
    assert images_change(saved, dict(saved)) is None
    assert "other images or labels" in images_change(saved, {**saved, "labels": "b"})
    assert "other pixels" in images_change(saved, {**saved, "pixels": "q"})
