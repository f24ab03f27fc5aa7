"""TensorBoard event files written as a run goes, read back with TensorBoard's own reader."""

from __future__ import annotations

import numpy as np
import pytest

from engine.config import TrainConfig
from engine.events import EpochEnd
from engine.records.tensorboard_log import (
    CONFUSION_TAG,
    EVENT_FILE_GLOB,
    confusion_image,
)
from engine.training.trainer import Trainer
from tools.sample_datasets import write_idx_dataset


def test_a_run_writes_scalars_and_settings_that_tensorboard_reads(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    write_idx_dataset(tmp_path / "data", n_train=100, n_test=40)
    config = TrainConfig(arch="mlp", dataset="mnist", data_dir=str(tmp_path / "data"),
                         epochs=2, batch_size=20, device="cpu", seed=1, threads=1)
    events = []
    end = Trainer(config, run_dir=tmp_path / "run", tensorboard=True).run(events.append)
    assert end.reason == "finished"
    assert len(list((tmp_path / "run").glob(EVENT_FILE_GLOB))) == 1

    board = EventAccumulator(str(tmp_path / "run"))
    board.Reload()
    tags = board.Tags()
    assert {"batch/loss", "batch/lr", "epoch/test_acc", "epoch/train_loss"} <= set(
        tags["scalars"])
    assert [e.step for e in board.Scalars("batch/loss")] == list(range(1, 11))
    epochs = [e for e in events if isinstance(e, EpochEnd)]
    assert [e.value for e in board.Scalars("epoch/test_acc")] == pytest.approx(
        [e.test_acc for e in epochs])
    text = board.Tensors("config/text_summary")[0].tensor_proto.string_val[0].decode()
    assert "arch: mlp" in text
    images = board.Images(CONFUSION_TAG)
    assert [image.step for image in images] == [1, 2]  # one confusion matrix per epoch
    assert (images[0].width, images[0].height) == (320, 320)  # 10 classes, 32 px a cell


def test_the_confusion_image_colours_each_row_by_its_share():
    counts = np.array([[3, 1], [0, 4]])
    image = confusion_image(counts)
    cell = image.shape[0] // 2
    assert image.shape == (2 * cell, 2 * cell, 3) and image.dtype == np.uint8
    assert tuple(image[cell, cell]) == (8, 48, 107)  # 4 of 4: the darkest
    assert tuple(image[cell, 0]) == (247, 251, 255)  # 0 of 4: the lightest
    assert image[0, 0].sum() < image[0, cell].sum()  # 3 of 4 darker than 1 of 4


def test_a_run_that_trained_nothing_leaves_no_event_files(tmp_path):
    from engine.control import Control

    write_idx_dataset(tmp_path / "data", n_train=100, n_test=40)
    (tmp_path / "run").mkdir()
    control = Control()
    control.stop()
    config = TrainConfig(arch="mlp", dataset="mnist", data_dir=str(tmp_path / "data"),
                         epochs=1, batch_size=20, device="cpu")
    Trainer(config, run_dir=tmp_path / "run", tensorboard=True).run(lambda e: None, control)
    assert list((tmp_path / "run").glob(EVENT_FILE_GLOB)) == []
