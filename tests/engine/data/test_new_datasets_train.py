"""A short run on each dataset added with torchvision's sources, from tiny real-format
files: the trainer gets the shapes, classes and validation split right, and learns."""

from __future__ import annotations

import pytest

from engine.catalog import DATASET_INFO
from engine.config import TrainConfig
from engine.events import EpochEnd, RunEnd, RunStart
from engine.training.trainer import Trainer
from tools.sample_datasets import (
    write_cifar100,
    write_emnist,
    write_idx_dataset,
    write_stl10,
    write_svhn,
)

WRITERS = {
    "kmnist": lambda root: write_idx_dataset(root, layout="KMNIST", n_train=200, n_test=50),
    "emnist-letters": lambda root: write_emnist(root / "EMNIST" / "raw", "letters",
                                                n_train=312, n_test=52),
    "svhn": lambda root: write_svhn(root / "svhn", n_train=200, n_test=50),
    "cifar100-coarse": lambda root: write_cifar100(root, n_train=400, n_test=100),
    "stl10": lambda root: write_stl10(root, n_train=100, n_test=40),
}


@pytest.mark.parametrize("dataset", list(WRITERS))
def test_a_short_run(tmp_path, dataset):
    WRITERS[dataset](tmp_path)
    config = TrainConfig(arch="mlp", dataset=dataset, data_dir=str(tmp_path), epochs=3,
                         batch_size=32, lr=3e-3, val_split=0.2, device="cpu", threads=1,
                         image_size=32)
    events = []

    end = Trainer(config).run(events.append)

    assert isinstance(end, RunEnd) and end.reason == "finished", end.message
    [start] = [e for e in events if isinstance(e, RunStart)]
    channels, _, classes = DATASET_INFO[dataset].known_shape
    assert len(start.class_names) == classes
    assert start.input_shape == (channels, 32, 32)
    assert start.val_size == round(start.train_size / 4)  # 20% held out of the whole
    last = [e for e in events if isinstance(e, EpochEnd)][-1]
    assert last.test_acc > 2 / classes  # learns: well above chance
