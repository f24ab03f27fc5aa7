"""The Results tab's "Least believable" gallery: training images whose labels the model doubts.

After a run ends (and for an opened checkpoint, at a click), the model is run on every
training image it learned from, in the background (engine/training/checkpoint_eval.py's
`doubt_training_labels`), and the images it finds least believable are shown, ranked by
their label's loss or by the confident-learning rule (engine/inference/label_doubts.py).
Each thumbnail can be marked "mislabelled" or "leave out" (gui/marked_strips.py, split
"train", by original index) for Run > Train again without them. A click on one sends it
(gui/training_image.py) to the image's detail (`image_chosen`) and to the Inside tab.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from engine.control import Control
from engine.text import plural
from gui.background import JobFailed, LatestJob
from gui.contrast import make_secondary
from gui.image_marks import ImageMarks
from gui.marked_strips import MarkedStrip
from gui.run_model import InspectRequest
from gui.thumbnails import GALLERY_LIMIT, THUMBNAIL_PX, ThumbnailCache
from gui.training_image import TrainingImage

if TYPE_CHECKING:
    from engine.config import TrainConfig
    from engine.training.checkpoint_eval import TrainingDoubts
    from gui.run_controller import RunController

RANKINGS = ("Highest loss", "Confident learning")
EMPTY_TEXT = ("When a run ends, the training images whose labels its model finds least "
              "believable are listed here: right-click one to mark it.")
BUTTON_TIP = ("Run the model on every training image it learned from (no augmentation, in "
              "the background) and list those whose labels it doubts most")
RANKING_TIP = ("Highest loss: the images whose own label the model finds least likely.\n"
               "Confident learning (Northcutt et al.): the images whose label's probability "
               "is far below its class's average while another class is likelier, measured "
               "against that class's own average.")


class LeastBelievable(QWidget):
    """The gallery; `settings()` gives the form's settings, whose data folder and device
    (this computer's) replace those the checkpoint recorded. `image_chosen(TrainingImage)`
    when a thumbnail is clicked."""

    image_chosen = Signal(object)

    def __init__(self, controller: RunController, marks: ImageMarks,
                 settings: Callable[[], TrainConfig], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._run, self._settings = controller.run, settings
        self._control = Control()
        self._job = LatestJob(self, cancel=lambda: self._control.stop())
        self._job.done.connect(self._on_done)
        self._found: TrainingDoubts | None = None
        self._cache = ThumbnailCache(THUMBNAIL_PX)
        self.button = QPushButton("Find them")
        self.button.setToolTip(BUTTON_TIP)
        self.button.clicked.connect(self.find)
        self.ranking = QComboBox()
        self.ranking.addItems(RANKINGS)
        self.ranking.setToolTip(RANKING_TIP)
        self.ranking.currentIndexChanged.connect(lambda _i: self._show())
        self.status = QLabel()
        self.status.setWordWrap(True)
        make_secondary(self.status)
        self.strip = MarkedStrip(self._cache, EMPTY_TEXT, marks, "train", self._original)
        self.strip.image_clicked.connect(self._choose)
        top = QHBoxLayout()
        top.addWidget(self.ranking)
        top.addWidget(self.status, 1)
        top.addWidget(self.button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(top)
        layout.addWidget(self.strip, 1)
        controller.model_trained.connect(lambda _checkpoint: self.find())
        self._run.run_beginning.connect(lambda _continuing: self.clear())
        self._run.checkpoint_opened.connect(lambda _checkpoint, _path: self.clear())
        self.clear()

    def find(self) -> bool:
        """Rank the training images of the model on screen; False when there is none."""
        path = self._run.checkpoint_path
        if path is None or self._run.checkpoint is None:
            return False
        from engine.training.checkpoint_eval import doubt_training_labels  # imports PyTorch

        form = self._settings()
        self._control = Control()
        self._job.submit(path, partial(doubt_training_labels, path, control=self._control,
                                       device=form.device, data_dir=form.data_dir,
                                       image_folder=form.image_folder))
        self.button.setEnabled(False)
        self.status.setText("Running the model on its training images…")
        return True

    def clear(self) -> None:
        """Nothing shown (another run is on screen); a search under way is stopped."""
        self._control.stop()
        self._found = None
        self._cache.set_images(None)
        self.strip.show_images(np.empty(0, dtype=np.int64), lambda _row: ("", ""))
        self.status.setText("")
        self.button.setEnabled(True)

    def busy(self) -> bool:
        return self._job.busy()

    def wait(self, timeout: float | None = None) -> None:
        """Block until the search running has ended (tests, closing)."""
        self._job.wait(timeout)

    def rows(self) -> list[int]:
        """The rows (of the model's training images) shown, in the chosen ranking."""
        if self._found is None:
            return []
        doubts = self._found.doubts
        if self.ranking.currentIndex() == 0:
            return doubts.highest_loss(GALLERY_LIMIT)
        return doubts.confident_learning(GALLERY_LIMIT)

    def _on_done(self, path: str, result: object) -> None:
        self.button.setEnabled(True)
        if path != self._run.checkpoint_path:
            return  # another model is on screen now
        if isinstance(result, JobFailed):
            stopped = type(result.error).__name__ == "StopRequested"
            self.status.setText("" if stopped else
                                f"The training images could not be ranked: {result.error}")
            return
        self._found = result
        self._cache.set_images(result.images)
        self._show()

    def _show(self) -> None:
        if self._found is None:
            return
        rows = self.rows()
        doubts = self._found.doubts
        suspects = int(doubts.suspected.sum())
        self.status.setText(
            f"{plural(len(doubts.labels), 'training image')}: the "
            f"{plural(len(rows), 'least believable label')} first; confident learning "
            f"suspects {plural(suspects, 'label')}. Right-click an image to mark it.")
        self.strip.show_images(np.asarray(rows, dtype=np.int64), self._describe)

    def _choose(self, row: int) -> None:
        if self._found is None:
            return
        shown = TrainingImage(self._found.images[row], self._original(row), row,
                              self._found.doubts)
        self.image_chosen.emit(shown)
        self._run.inspect_requested.emit(InspectRequest(
            image=shown.image, label=shown.label, caption=shown.title))

    def _original(self, row: int) -> int:
        return int(self._found.doubts.train_index[row]) if self._found is not None else row

    def _describe(self, row: int) -> tuple[str, str]:
        doubts = self._found.doubts
        label = doubts.class_names[int(doubts.labels[row])]
        caption = f"label {label}\nloss {doubts.loss[row]:.2f}"
        return caption, (f"Training image {self._original(row) + 1:,}: "
                         f"{doubts.reason(row)}.")
