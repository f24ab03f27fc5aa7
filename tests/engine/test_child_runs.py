"""A child run ("Train again without them"): its config records the images it leaves out and
its parent, and it trains and tests on exactly the images left."""

from __future__ import annotations

import json

import pytest
import torch

from engine.cli.train import build_parser
from engine.cli.train import main as train_main
from engine.config import LINEAGE_FIELDS, TrainConfig, config_fields, with_lineage
from engine.data import load_dataset
from engine.data.leave_out import leave_out
from engine.data.types import DatasetError
from engine.events import LogLine, RunStart
from engine.experiments.search_space import SearchError, parse_search, searchable_fields
from engine.records.checkpoint import load_checkpoint
from engine.records.sample_history import load_history
from engine.training.trainer import Trainer

LEFT_OUT = (0, 5, 7, 199)
LEFT_OUT_TEST = (1, 2)


def _child(digits_dir, **settings) -> TrainConfig:
    return TrainConfig(arch="softmax", dataset="mnist", data_dir=str(digits_dir), epochs=1,
                       batch_size=32, device="cpu", seed=3, threads=1,
                       leave_out=LEFT_OUT, leave_out_test=LEFT_OUT_TEST,
                       parent="/runs/parent-run").replace(**settings)


def test_the_config_keeps_the_left_out_images_and_the_parent_through_json():
    config = TrainConfig(leave_out=(3, 1, 4), leave_out_test=(9,), parent="/runs/p")

    again = TrainConfig.from_dict(json.loads(json.dumps(config.to_dict())))

    assert again == config and again.leave_out == (3, 1, 4)
    assert TrainConfig.from_dict(TrainConfig().to_dict()).leave_out == ()


def test_negative_or_non_whole_indices_are_problems():
    problems = TrainConfig(leave_out=(2, -1), leave_out_test=(1.5,)).problems()

    assert "whole numbers from 0" in problems["leave_out"]
    assert "whole numbers from 0" in problems["leave_out_test"]
    assert TrainConfig(leave_out=(0, 7)).problems() == {}


def test_the_lineage_is_in_no_form_flag_or_sweep():
    names = {f.name for f in config_fields()}
    flags = build_parser().format_help()

    for name in LINEAGE_FIELDS:
        assert name not in names and name not in searchable_fields()
        assert "--" + name.replace("_", "-") not in flags
        with pytest.raises(SearchError):
            parse_search(f"{name}=1,2")


def test_a_continued_child_keeps_its_left_out_images_and_parent():
    child = TrainConfig(leave_out=(1, 2), leave_out_test=(5,), parent="/runs/p", seed=4)
    form = TrainConfig(epochs=9)  # the form knows nothing of them

    continued = with_lineage(form, child)

    assert (continued.leave_out, continued.leave_out_test, continued.parent) == (
        (1, 2), (5,), "/runs/p")
    assert continued.epochs == 9 and continued.seed == 0  # the form's own settings stay


def test_leaving_out_keeps_every_other_image_in_order_with_its_original_index(digits_dir):
    data = load_dataset("mnist", str(digits_dir))

    child = leave_out(data, LEFT_OUT, LEFT_OUT_TEST)

    kept = [i for i in range(200) if i not in LEFT_OUT]
    assert child.train_index.tolist() == kept and child.train_index.dtype == torch.int64
    assert torch.equal(child.train_images, data.train_images[kept])
    assert torch.equal(child.train_labels, data.train_labels[kept])
    assert child.test_index.tolist() == [i for i in range(60) if i not in LEFT_OUT_TEST]
    grandchild = leave_out(child, (6,), ())  # original indices, whatever was left out before
    assert 6 not in grandchild.train_index.tolist() and len(grandchild.train_labels) == 195


def test_a_child_run_trains_and_tests_on_exactly_the_images_left(digits_dir, tmp_path):
    events = []

    trainer = Trainer(_child(digits_dir, val_split=0.1), run_dir=tmp_path / "child")
    end = trainer.run(events.append)

    assert end.reason == "finished", end.message
    start = next(e for e in events if isinstance(e, RunStart))
    assert start.train_size + start.val_size == 200 - len(LEFT_OUT)
    assert start.val_size == round(196 * 0.1)  # the split of the images left, seeded
    assert start.test_size == 60 - len(LEFT_OUT_TEST)
    logged = [e.message for e in events if isinstance(e, LogLine)]
    assert ("Leaving out 4 training images and 2 test images marked in run parent-run."
            in logged)
    kept = set(trainer.dataset.train_index.tolist())
    assert kept.isdisjoint(LEFT_OUT) and len(kept) == 196
    saved = load_checkpoint(tmp_path / "child" / "checkpoint.pt").config
    assert (saved.leave_out, saved.leave_out_test, saved.parent) == (
        LEFT_OUT, LEFT_OUT_TEST, "/runs/parent-run")
    history = load_history(tmp_path / "child")  # each test image by its original index
    assert history.test_index.tolist() == [i for i in range(60) if i not in LEFT_OUT_TEST]


def test_a_child_continued_from_its_checkpoint_still_leaves_them_out(digits_dir, tmp_path):
    Trainer(_child(digits_dir), run_dir=tmp_path / "child").run(lambda e: None)
    resumed = load_checkpoint(tmp_path / "child" / "checkpoint.pt")
    events = []

    end = Trainer(with_lineage(_child(digits_dir, leave_out=(), leave_out_test=(), parent="",
                                      epochs=2), resumed.config),
                  resume_from=tmp_path / "child" / "checkpoint.pt").run(events.append)

    assert end.reason == "finished", end.message
    start = next(e for e in events if isinstance(e, RunStart))
    assert (start.train_size, start.test_size) == (196, 58)


def test_the_command_line_continues_a_child_without_its_images(digits_dir, tmp_path, capsys):
    Trainer(_child(digits_dir), run_dir=tmp_path / "child").run(lambda e: None)

    assert train_main(["--resume", str(tmp_path / "child" / "checkpoint.pt"), "--epochs", "2",
                       "--run-dir", str(tmp_path / "more")]) == 0

    config = load_checkpoint(tmp_path / "more" / "checkpoint.pt").config
    assert (config.leave_out, config.leave_out_test) == (LEFT_OUT, LEFT_OUT_TEST)
    assert "Leaving out 4 training images and 2 test images" in capsys.readouterr().err


def test_an_index_past_the_dataset_fails_the_run_saying_what_to_do(digits_dir):
    end = Trainer(_child(digits_dir, leave_out=(3, 250))).run(lambda e: None)

    assert end.reason == "failed"
    assert "leaves out training image 250, but the dataset has only 200 training images" in (
        end.message)
    assert "Mark them again" in end.message
    with pytest.raises(DatasetError):
        leave_out(load_dataset("mnist", str(digits_dir)), (), (60,))
