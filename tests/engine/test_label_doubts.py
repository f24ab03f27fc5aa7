"""The training images a model finds least believable: by loss and by confident learning."""

from __future__ import annotations

import numpy as np

from engine.config import TrainConfig
from engine.inference.label_doubts import LabelDoubts
from engine.training.checkpoint_eval import doubt_training_labels
from engine.training.trainer import Trainer
from tools.sample_datasets import IDX_FILES, learnable_images, write_idx

FLIPPED = (3, 17, 40, 88, 131, 202, 260, 333)


def _doubts(probabilities, labels) -> LabelDoubts:
    probabilities = np.asarray(probabilities, dtype=np.float32)
    return LabelDoubts(train_index=np.arange(len(labels)), labels=np.asarray(labels),
                       probabilities=probabilities, class_names=("a", "b", "c"))


def test_confident_learning_suspects_a_label_far_below_its_class_average_another_class_beats():
    doubts = _doubts([[0.9, 0.05, 0.05],   # a, sure
                      [0.8, 0.1, 0.1],     # a
                      [0.1, 0.85, 0.05],   # b
                      [0.2, 0.7, 0.1],     # b
                      [0.15, 0.8, 0.05],   # labelled a, far below a's average; b likelier
                      [0.3, 0.35, 0.35]],  # labelled c: unsure, but c is at its average
                     [0, 0, 1, 1, 0, 2])

    assert np.allclose(doubts.thresholds, [(0.9 + 0.8 + 0.15) / 3, 0.775, 0.35])
    assert doubts.suspected.tolist() == [False, False, False, False, True, False]
    assert doubts.confident_learning(10) == [4]
    assert doubts.highest_loss(2) == [4, 5]
    assert doubts.reason(4) == "labelled a (15%; its class averages 62%), looks like b (80%)"


def test_suspects_are_ranked_by_their_labels_probability_lowest_first():
    doubts = _doubts([[0.9, 0.1, 0.0], [0.9, 0.1, 0.0], [0.1, 0.9, 0.0],
                      [0.2, 0.8, 0.0], [0.05, 0.95, 0.0]], [0, 0, 1, 0, 0])

    assert doubts.confident_learning(10) == [4, 3]
    assert doubts.confident_learning(1) == [4]
    unsure = _doubts([[0.9, 0.1, 0.0], [0.9, 0.1, 0.0], [0.1, 0.9, 0.0], [0.4, 0.6, 0.0]],
                     [0, 0, 1, 0])
    assert unsure.confident_learning(10) == []  # 0.4 is not far below a's average, 0.73


def _digits_with_flipped_labels(root):
    """400 learnable training images of 4 classes, the FLIPPED ones labelled one class on."""
    images, labels = learnable_images(400, 4, 16, seed=5)
    flipped = labels.copy()
    flipped[list(FLIPPED)] = (labels[list(FLIPPED)] + 1) % 4
    test_images, test_labels = learnable_images(40, 4, 16, seed=6)
    folder = root / "MNIST" / "raw"
    for key, array in {"train_images": images[:, 0], "train_labels": flipped,
                       "test_images": test_images[:, 0], "test_labels": test_labels}.items():
        write_idx(folder / (IDX_FILES[key] + ".gz"), array)
    return root


def test_a_trained_model_finds_the_deliberately_flipped_labels(tmp_path):
    root = _digits_with_flipped_labels(tmp_path / "data")
    config = TrainConfig(arch="softmax", dataset="mnist", data_dir=str(root), epochs=3,
                         batch_size=32, lr=0.01, device="cpu", seed=0, threads=1)
    end = Trainer(config, run_dir=tmp_path / "run").run(lambda e: None)
    assert end.reason == "finished", end.message

    found = doubt_training_labels(end.checkpoint_path)

    doubts = found.doubts
    assert len(doubts.labels) == 400 and found.images.shape == (400, 1, 16, 16)
    top = {int(doubts.train_index[r]) for r in doubts.highest_loss(len(FLIPPED))}
    assert top == set(FLIPPED)
    suspects = {int(doubts.train_index[r]) for r in doubts.confident_learning(50)}
    assert set(FLIPPED) <= suspects and len(suspects) <= 2 * len(FLIPPED)


def test_a_child_runs_doubts_name_its_images_by_their_original_index(tmp_path):
    root = _digits_with_flipped_labels(tmp_path / "data")
    config = TrainConfig(arch="softmax", dataset="mnist", data_dir=str(root), epochs=3,
                         batch_size=32, lr=0.01, device="cpu", seed=0, threads=1,
                         leave_out=FLIPPED[:4])
    end = Trainer(config, run_dir=tmp_path / "run").run(lambda e: None)

    doubts = doubt_training_labels(end.checkpoint_path).doubts

    assert len(doubts.labels) == 400 - 4
    assert set(doubts.train_index.tolist()) == set(range(400)) - set(FLIPPED[:4])
    top = {int(doubts.train_index[r]) for r in doubts.highest_loss(4)}
    assert top == set(FLIPPED[4:])
