"""The run on screen, as one small model that panels subscribe to (napari's pattern).

The training session hands over engine events in bunches (gui/worker.py: batches at most
every `UPDATE_INTERVAL_S`); this model keeps what the panels show (the per-epoch history,
the run's start, its model and checkpoint) and re-emits the events as signals, a bunch's
batches as one `batches_arrived`. Each panel connects to the signals it shows in its own
module, so the main window only composes: a new panel is its own file plus one line that
connects it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, Signal

from engine.config import TrainConfig
from engine.events import (
    BatchEnd,
    DataProgress,
    EpochEnd,
    LogLine,
    RunEnd,
    RunEstimate,
    RunStart,
    SettingsChanged,
)
from engine.records.run_folder import RUN_CHECKPOINTS
from gui.errors import reported_errors

if TYPE_CHECKING:
    from engine.analysis import Evaluation
    from engine.records.checkpoint import Checkpoint
    from engine.training.checkpoint_eval import CheckpointEvaluation


@dataclass(frozen=True)
class InspectRequest:
    image: np.ndarray  # uint8, (channels, height, width), as the dataset holds it
    label: int | None  # the true class, where known
    caption: str  # where it came from, for a person ("Test image 1,234", "Your drawing")
    # Bring the Inside tab to the front: the asking panel shows nothing of the image itself
    # (a Data tab sample); the Results tab shows its picks large, and the Inside tab follows.
    open_inside: bool = False
    # Looked into with the Draw tab's model, which answered for it (an image tried there),
    # rather than the run's.
    draw_model: bool = False




@dataclass(frozen=True)
class OpenedRun:
    """An opened checkpoint as the window names it, with what its run folder recorded."""

    name: str  # the run's name (given in the Runs tab, else its folder's), else the file's
    status: str  # how the run ended ("finished", "stopped", ...), "" where not known
    epochs_planned: int  # the epochs the run was set to (0: not known)
    history: list[dict]  # the checkpoint's epoch records
    # Its run folder, whose per-batch curves follow (`show_batches`); None outside one.
    folder: Path | None = None


def run_name(checkpoint_path: str | Path) -> str:
    """What a checkpoint is called: its run folder's name for a run folder's own checkpoint,
    else its file's name."""
    path = Path(checkpoint_path)
    return path.parent.name if path.name in RUN_CHECKPOINTS and path.parent.name else path.name


def more_epochs(config: TrainConfig, epochs_done: int) -> TrainConfig:
    """The settings of a run that continues a checkpoint of `epochs_done` epochs: the form's
    Epochs are the epochs to add, the trainer counts to the total."""
    return config.replace(epochs=epochs_done + config.epochs)


class RunModel(QObject):
    """What the window shows about the current (or last, or opened) run."""

    # A run is about to load (True: it continues the run on screen). Nothing said about an
    # earlier run may stay on screen beside it, even if this one fails before it starts.
    run_beginning = Signal(bool)
    run_started = Signal(object)  # RunStart (a resumed run carries its earlier history)
    batches_arrived = Signal(list)  # list[BatchEnd], in order, bunched (see module doc)
    epoch_ended = Signal(object)  # EpochEnd
    estimate_made = Signal(object)  # RunEstimate
    log_line = Signal(object)  # LogLine
    data_progress = Signal(object)  # DataProgress
    run_ended = Signal(object)  # RunEnd, after the last batches and epochs
    history_replaced = Signal(list)  # a new run began ([]) or a checkpoint was opened
    settings_changed = Signal(object)  # SettingsChanged, mid-run
    # The mid-run changes on screen were replaced (list of SettingsChanged), after
    # history_replaced: a new run ([]) or an opened checkpoint's.
    changes_replaced = Signal(list)
    model_changed = Signal(object)  # the Checkpoint now kept for saving and continuing
    checkpoint_opened = Signal(object, str)  # (Checkpoint, path): opened, now on screen
    run_opened = Signal(object)  # OpenedRun, right after checkpoint_opened
    # The opened run's per-batch columns from its folder (engine/records/runs.py: step, loss, lr...)
    batches_restored = Signal(dict)
    # CheckpointEvaluation: the opened checkpoint's answers for its test set
    checkpoint_evaluated = Signal(object)
    # An event of a job of several runs (a seed group's, a sweep's: engine/events.py) that
    # is not one run's: its panels (gui/group_run.py) take it from here.
    job_event = Signal(object)
    # A person picked one image to look into (a Data grid cell, a mistake, a drawing):
    # an `InspectRequest` for the panels that show what the network sees.
    inspect_requested = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.history: list[dict] = []  # per-epoch records (EpochEnd.as_record())
        self.start: RunStart | None = None  # also holds the test images (thumbnails)
        self.evaluation: Evaluation | None = None  # the latest epoch's, per test image
        self.changes: list[SettingsChanged] = []  # settings changed mid-run, in order
        self.checkpoint: Checkpoint | None = None
        self.checkpoint_path: str | None = None  # where `checkpoint` lives on disk
        self.model_name = ""  # what the kept model is called: its run's name, else its file's
        self.model_status = ""  # how the run that made it ended (RunEnd.reason; "" unknown)

    # -- a run ---------------------------------------------------------------------------

    def begin(self, continuing: bool = False) -> None:
        """A run is starting. A new one: nothing of the previous one stays on screen. One
        continuing the run on screen keeps it there: its start says where it goes on."""
        self.start = None
        self.run_beginning.emit(continuing)
        if continuing:
            return
        self.history = []
        self.evaluation = None
        self.changes = []
        self.history_replaced.emit([])
        self.changes_replaced.emit([])

    def feed(self, events: list) -> None:
        """Take a bunch of engine events from the training session, in the engine's order."""
        batches: list[BatchEnd] = []
        for event in events:
            if isinstance(event, BatchEnd):
                batches.append(event)
                continue
            self._send(batches)  # keep the order: batches before a later epoch end
            batches = []
            with reported_errors():  # a panel that fails must not swallow later events
                self._emit(event)
        self._send(batches)

    def _send(self, batches: list[BatchEnd]) -> None:
        if batches:
            with reported_errors():
                self.batches_arrived.emit(batches)

    def end(self, end: RunEnd) -> None:
        self.run_ended.emit(end)

    def _emit(self, event: object) -> None:
        if isinstance(event, RunStart):
            self.start = event
            self.history = list(event.history)
            self.evaluation = None
            self.changes = [SettingsChanged.from_record(r) for r in event.changes]
            self.run_started.emit(event)
        elif isinstance(event, EpochEnd):
            self.history.append(event.as_record())
            if event.evaluation is not None:
                self.evaluation = event.evaluation
            self.epoch_ended.emit(event)
        elif isinstance(event, SettingsChanged):
            self.changes.append(event)
            self.settings_changed.emit(event)
        elif isinstance(event, RunEstimate):
            self.estimate_made.emit(event)
        elif isinstance(event, LogLine):
            self.log_line.emit(event)
        elif isinstance(event, DataProgress):
            self.data_progress.emit(event)
        else:
            self.job_event.emit(event)

    # -- the model kept --------------------------------------------------------------------

    def keep_model(self, checkpoint: Checkpoint, path: str | None, status: str = "",
                   name: str | None = None) -> None:
        """Keep a model for saving, continuing and exporting: `status` says how the run that
        made it ended, `name` what to call it (default: its run folder's name or file's)."""
        self.checkpoint, self.checkpoint_path = checkpoint, path
        self.model_name = name or (run_name(path) if path is not None else "")
        self.model_status = status
        self.model_changed.emit(checkpoint)

    def show_opened(self, checkpoint: Checkpoint, path: str,
                    opened: OpenedRun | None = None) -> None:
        """A checkpoint was opened: its model, its history and (`opened`) what its run folder
        recorded are what the window shows."""
        self.start = None
        self.history = list(checkpoint.history)
        self.evaluation = None  # a checkpoint keeps no per-image results
        self.changes = [SettingsChanged.from_record(r) for r in checkpoint.changes]
        self.history_replaced.emit(self.history)
        self.changes_replaced.emit(list(self.changes))
        opened = opened or OpenedRun(Path(path).name, "", 0, self.history)
        self.keep_model(checkpoint, path, opened.status, opened.name)
        self.checkpoint_opened.emit(checkpoint, path)
        self.run_opened.emit(opened)

    def show_batches(self, columns: dict[str, list[float]]) -> None:
        """The per-batch curves the opened checkpoint's run folder recorded."""
        self.batches_restored.emit(columns)

    def show_evaluation(self, result: CheckpointEvaluation) -> None:
        """The opened checkpoint's answers for its test set, as an epoch's end gives them."""
        self.evaluation = result.evaluation
        self.checkpoint_evaluated.emit(result)
