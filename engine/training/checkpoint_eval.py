"""A saved checkpoint evaluated on its test set, as an epoch's end evaluates it.

Opening a checkpoint shows its curves; what the model answers for each test image is not in
the file, so the window (gui/checkpoint_evaluation.py) asks for it here. The dataset, the
network and the weights are set up exactly as a resumed run sets them up (`Trainer.prepare`),
and the test set goes through the same evaluation an epoch's end uses: the accuracy agrees
with the one recorded for the checkpoint's last epoch.

`doubt_training_labels` sets a checkpoint up the same way and runs its model on the training
images instead: which labels it finds least believable (engine/inference/label_doubts.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.analysis import Evaluation
from engine.control import Control
from engine.events import Event, Listener, RunStart
from engine.inference.label_doubts import LabelDoubts, class_probabilities
from engine.records.checkpoint import load_checkpoint
from engine.training.trainer import Trainer


@dataclass(frozen=True)
class CheckpointEvaluation:
    start: RunStart  # the dataset as loaded: class names, test images for thumbnails
    loss: float
    accuracy: float
    evaluation: Evaluation


def evaluate_checkpoint(path: str | Path, listener: Listener | None = None,
                        control: Control | None = None,
                        **settings: object) -> CheckpointEvaluation:
    """Evaluate the checkpoint at `path` on its dataset's test set.

    settings replace the checkpoint's own where this computer differs (data_dir,
    image_folder, device).
    The listener hears the loading (DataProgress, LogLine, RunStart). Raises what a resumed
    run reports as its failure (CheckpointError, DatasetError, ...).
    """
    checkpoint = load_checkpoint(path)
    starts: list[RunStart] = []

    def hear(event: Event) -> None:
        if isinstance(event, RunStart):
            starts.append(event)
        if listener is not None:
            listener(event)

    trainer = Trainer(checkpoint.config.replace(**settings), resume_from=path)
    try:
        # Only the test set is evaluated, once: keeping features would not save a pass.
        trainer.prepare(hear, control, keep_features=False)
        loss, accuracy, evaluation = trainer.evaluate_test_set(control)
    finally:
        trainer.release_data()
    return CheckpointEvaluation(starts[-1], loss, accuracy, evaluation)


@dataclass(frozen=True, eq=False)
class TrainingDoubts:
    """What the checkpoint's model makes of its own training images' labels."""

    doubts: LabelDoubts
    images: np.ndarray  # uint8 (N, C, H, W): the training images the rows stand for


def doubt_training_labels(path: str | Path, listener: Listener | None = None,
                          control: Control | None = None,
                          **settings: object) -> TrainingDoubts:
    """The checkpoint's model run on every training image it learned from (validation
    images included; a child run's left-out images not), as the test pass feeds images: no
    augmentation, in batches. `settings` and what it raises: as `evaluate_checkpoint`."""
    checkpoint = load_checkpoint(path)
    trainer = Trainer(checkpoint.config.replace(**settings), resume_from=path)
    try:
        # The whole network runs once on the training images below: kept features would be
        # a second pass (over the test images too).
        trainer.prepare(listener or (lambda _event: None), control, keep_features=False)
        built, data = trainer.setup, trainer.dataset
        probabilities = class_probabilities(built.model, data.train_images.to(built.device),
                                            built.pipeline, built.input_size, control)
    finally:
        trainer.release_data()
    index = (data.train_index.numpy() if data.train_index is not None
             else np.arange(len(data.train_labels)))
    doubts = LabelDoubts(train_index=index.astype(np.int64),
                         labels=data.train_labels.numpy().astype(np.int64),
                         probabilities=probabilities, class_names=data.class_names)
    return TrainingDoubts(doubts, data.train_images.numpy())
