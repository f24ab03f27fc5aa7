"""The Results tab's offer for an opened checkpoint: evaluate it on its test set.

A checkpoint keeps the training curves, not the model's answer for each test image. The
button loads the checkpoint's dataset and runs the engine's own end-of-epoch evaluation
(engine/training/checkpoint_eval.py) on a background thread (gui/background.py): the window stays
responsive, and the answers reach the run model (`show_evaluation`), which the Results tab
follows like any epoch's end.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

from engine.catalog import dataset_title
from engine.config import TrainConfig
from gui.background import JobFailed, LatestJob
from gui.contrast import make_secondary

if TYPE_CHECKING:
    from engine.records.checkpoint import Checkpoint
    from gui.run_model import RunModel

BUTTON_TEXT = "Evaluate on the test set"


class EvaluateCheckpoint(QWidget):
    """The button and what it is doing; `settings()` gives the form's settings, whose data
    folder and device (this computer's) replace those the checkpoint recorded."""

    finished = Signal()  # an evaluation ended (shown, failed, or no longer wanted)

    def __init__(self, run: RunModel, settings: Callable[[], TrainConfig],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._run, self._settings = run, settings
        self._job = LatestJob(self)
        self._job.done.connect(self._on_done)
        self.button = QPushButton(BUTTON_TEXT)
        self.button.setToolTip("Load the checkpoint's test set and see what the model answers "
                               "for each image (in the background)")
        self.button.clicked.connect(self.evaluate)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        make_secondary(self.status)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.button, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(self.status)

    def evaluate(self) -> bool:
        """Start evaluating the checkpoint on screen; False when there is none, or one is
        being evaluated already."""
        checkpoint, path = self._run.checkpoint, self._run.checkpoint_path
        if checkpoint is None or path is None or self._job.busy():
            return False
        from engine.training.checkpoint_eval import evaluate_checkpoint  # imports PyTorch

        form = self._settings()
        self._job.submit(checkpoint, partial(evaluate_checkpoint, path, device=form.device,
                                             data_dir=form.data_dir,
                                             image_folder=form.image_folder))
        self.button.setEnabled(False)
        self.status.setText(f"Evaluating on the test set of "
                            f"{dataset_title(checkpoint.config.dataset)} (loading it first)…")
        return True

    def busy(self) -> bool:
        return self._job.busy()

    def wait(self, timeout: float | None = None) -> None:
        """Block until the evaluation running has ended (tests, closing)."""
        self._job.wait(timeout)

    def reset(self) -> None:
        """Another run or checkpoint is on screen: nothing said about the last one stays."""
        self.status.clear()
        self.button.setEnabled(not self._job.busy())

    def _on_done(self, checkpoint: Checkpoint, result: object) -> None:
        self.button.setEnabled(True)
        if checkpoint is not self._run.checkpoint or self._run.start is not None:
            self.status.clear()  # another model is on screen, or a run has started
        elif isinstance(result, JobFailed):
            error = result.error
            why = str(error) if type(error).__module__.startswith("engine") else str(result)
            self.status.setText(f"Could not evaluate the checkpoint: {why}")
        else:
            self.status.clear()
            self._run.show_evaluation(result)
        self.finished.emit()
