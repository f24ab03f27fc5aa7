"""TrainConfig.problems(): every bad value is named with what is wrong, before a run starts."""

from __future__ import annotations

import pytest

from engine.config import DEFAULT_DATA_DIR, MAX_SEED, TrainConfig, folders_apart


def test_a_file_given_as_the_image_folder_is_called_a_file(tmp_path):
    note = tmp_path / "passwd"
    note.write_text("root:x:0:0")
    problem = TrainConfig(dataset="folder", data_dir=str(note)).problems()["data_dir"]
    assert "is a file, not a folder" in problem and "does not exist" not in problem
    missing = TrainConfig(dataset="folder", data_dir=str(tmp_path / "nowhere")).problems()
    assert "does not exist" in missing["data_dir"]
    assert "data_dir" not in TrainConfig(dataset="folder", data_dir=str(tmp_path)).problems()


def test_a_name_that_cannot_be_a_path_is_explained():
    problem = TrainConfig(dataset="folder",
                          data_dir="~no-such-user-td/images").problems()["data_dir"]
    assert "not a usable folder name" in problem


@pytest.mark.parametrize("seed", [-1, MAX_SEED + 1, 2**63, 2**64])
def test_seeds_outside_the_generators_range_are_refused(seed):
    assert "from 0 to 4294967295" in TrainConfig(seed=seed).problems()["seed"]


def test_the_largest_seed_trains(tmp_path):
    from engine.training.trainer import Trainer
    from tools.sample_datasets import write_idx_dataset

    write_idx_dataset(tmp_path, n_train=40, n_test=20)
    config = TrainConfig(arch="mlp", dataset="mnist", data_dir=str(tmp_path), epochs=1,
                         batch_size=20, device="cpu", seed=MAX_SEED)
    assert TrainConfig.problems(config) == {}
    assert Trainer(config).run(lambda e: None).reason in ("finished", "learned_nothing")


@pytest.mark.parametrize(("field", "value"), [
    ("epochs", 2**63), ("batch_size", 2**40), ("image_size", 2**31), ("epochs", 0),
])
def test_every_whole_number_setting_has_a_range(field, value):
    assert field in TrainConfig().replace(**{field: value}).problems()


def test_your_own_images_have_a_folder_apart_from_the_download_folder(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    config = TrainConfig(dataset="folder", data_dir="~/downloads", image_folder=str(photos))
    assert config.source_folder() == str(photos) and config.problems() == {}
    # Switching to a built-in dataset reads (and downloads into) the data folder only.
    assert config.replace(dataset="mnist").source_folder() == "~/downloads"
    missing = config.replace(image_folder=str(tmp_path / "nowhere")).problems()
    assert list(missing) == ["image_folder"] and "does not exist" in missing["image_folder"]
    # An image folder that is not needed is not checked for existence.
    assert config.replace(dataset="mnist", image_folder=str(tmp_path / "nowhere")).problems() == {}


def test_without_an_image_folder_the_data_folder_holds_the_images_as_before(tmp_path):
    old = TrainConfig(dataset="folder", data_dir=str(tmp_path))
    assert old.source_folder() == str(tmp_path) and old.problems() == {}
    apart = folders_apart(old)
    assert (apart.image_folder, apart.data_dir) == (str(tmp_path), DEFAULT_DATA_DIR)
    assert apart.source_folder() == str(tmp_path)
    assert folders_apart(old.replace(dataset="mnist")) == old.replace(dataset="mnist")
