"""Every test image's answer at every epoch for the run on screen (SampleHistory).

The window's own run builds its history as epochs end, from each epoch's `Evaluation`
(`SampleHistory.with_epoch`, a few milliseconds for 10,000 images). A run shown from a run
folder (the Runs tab, an opened checkpoint) and a resumed run read the folder's samples.npz,
and an opened run also its test images for the thumbnails, on a background thread
(gui/background.py): reading a dataset can take seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, Signal

from engine.analysis import Evaluation
from engine.events import EpochEnd, RunStart
from engine.records.sample_history import SampleHistory, load_history
from gui.background import JobFailed, LatestJob

if TYPE_CHECKING:
    from engine.config import TrainConfig


@dataclass(frozen=True)
class StoredRun:
    """What a run folder gave: its history (None: it has none), the test images in the
    history's row order (None where they could not be read, and why)."""

    history: SampleHistory | None
    images: np.ndarray | None = None
    images_problem: str = ""


def read_stored_run(folder: Path, config: TrainConfig | None) -> StoredRun:
    """The run folder's history and (given the run's settings) its test images. Runs on a
    background thread; raises SampleHistoryError for a damaged samples.npz."""
    history = load_history(folder)
    if history is None or config is None:
        return StoredRun(history)
    from engine.catalog import image_size_to_load
    from engine.data import load_dataset
    from engine.data.types import DatasetError

    try:
        data = load_dataset(config.dataset, config.source_folder(),
                            image_size=image_size_to_load(config.arch, config.image_size))
    except DatasetError as error:
        return StoredRun(history, None, str(error))
    images = data.test_images.numpy()
    if len(images) <= int(history.test_index.max(initial=-1)):
        return StoredRun(history, None, "the test set on this computer has fewer images than "
                                        "the run was tested on")
    return StoredRun(history, images[history.test_index.astype(np.int64)])


class RunSamples(QObject):
    """The history of the run on screen; `changed` when it (or its images) changed,
    `problem(text)` when a run folder's could not be read."""

    changed = Signal()
    problem = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.history: SampleHistory | None = None
        self.images: np.ndarray | None = None  # the test images, in the history's rows
        self.newest: Evaluation | None = None  # the newest live epoch's, all its classes
        self._test_index: np.ndarray | None = None
        self._wanted: object = None  # the load whose result is still wanted
        self._job = LatestJob(self)
        self._job.done.connect(self._on_loaded)

    # -- the window's own run ---------------------------------------------------------------

    def start_run(self, start: RunStart) -> None:
        """A run starts; one continuing a run folder reads the epochs done so far."""
        self.history, self.newest, self.images = None, None, start.test_images
        # A child run's test images are some of the dataset's: their original indices
        # (RunStart.test_index, which the child slice adds; None: row i is image i).
        self._test_index = start.test_index
        self._wanted = None
        if start.start_epoch > 0 and start.run_dir:
            self._load(Path(start.run_dir), None, start.start_epoch)
        self.changed.emit()

    def add_epoch(self, epoch: EpochEnd) -> None:
        evaluation = epoch.evaluation
        if evaluation is None:
            return
        if self.history is None or self.history.images != len(evaluation):
            index = self._test_index
            if index is not None and len(index) != len(evaluation):
                index = None
            self.history = SampleHistory.start(evaluation.labels, evaluation.num_classes,
                                               index)
        self.history = self.history.with_epoch(evaluation)
        self.newest = evaluation
        self.changed.emit()

    def clear(self) -> None:
        """Another run or checkpoint is on screen: nothing of this one stays."""
        self.history = self.newest = self.images = None
        self._wanted = None
        self.changed.emit()

    # -- a run folder -----------------------------------------------------------------------

    def show_folder(self, folder: Path, config: TrainConfig) -> None:
        """An opened run: read its history and test images in the background."""
        self.clear()
        self._load(folder, config, None)

    def busy(self) -> bool:
        return self._job.busy()

    def wait(self, timeout: float | None = None) -> None:
        """Block until the reading running has ended (tests)."""
        self._job.wait(timeout)

    def _load(self, folder: Path, config: TrainConfig | None, before: int | None) -> None:
        tag = (folder, before, object())  # a new object: an older load's result is unwanted
        self._wanted = tag
        self._job.submit(tag, lambda: read_stored_run(folder, config))

    def _on_loaded(self, tag: object, result: object) -> None:
        if tag is not self._wanted:
            return
        self._wanted = None
        folder, before = tag[0], tag[1]
        if isinstance(result, JobFailed):
            self.problem.emit(f"Each image's history of {folder.name} cannot be shown: "
                              f"{result.error}")
            return
        if result.history is None:
            return
        if before is None:  # an opened run
            self.history, self.images = result.history, result.images
        else:  # a resumed run: the epochs before it, then those that ended meanwhile
            history = result.history.up_to(before)
            if self.history is not None and self.history.images == history.images:
                for epoch in self.history.epochs:
                    history = history.with_epoch(self.history.evaluation_at(int(epoch)))
            self.history = history
        self.changed.emit()
        if result.images_problem:  # said after the tab is drawn, beside what it shows
            self.problem.emit(f"Its test images could not be read for the thumbnails: "
                              f"{result.images_problem}")

    # -- what the panel reads ---------------------------------------------------------------

    def epochs(self) -> list[int]:
        return [] if self.history is None else [int(e) for e in self.history.epochs]

    def evaluation_at(self, epoch: int) -> Evaluation | None:
        """The answers at `epoch`: all classes' probabilities for the newest live epoch,
        the predicted and true class's for the others."""
        if self.newest is not None and self.newest.epoch == epoch:
            return self.newest
        if self.history is None or epoch not in self.history.epochs:
            return None
        return self.history.evaluation_at(epoch)

    def original_index(self, row: int) -> int:
        """The test image's index in the whole test set (a child run left some out)."""
        return row if self.history is None else int(self.history.test_index[row])


def settings_of(run_config: TrainConfig, form: Callable[[], TrainConfig] | None) -> TrainConfig:
    """The run's settings with this computer's data folders (the form's) where known."""
    if form is None:
        return run_config
    here = form()
    return run_config.replace(data_dir=here.data_dir, image_folder=here.image_folder)
