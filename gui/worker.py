"""Runs `Trainer.run` on a QThread and hands its events to the GUI, throttled.

The engine may report thousands of batches a second; the GUI gets them as lists of events,
batches at most every `UPDATE_INTERVAL_S` (plus a list at once at each epoch end, log line
and run end, so nothing important waits). Two redraws a second still look live, and the
drawing is what the window costs training: on a 2-core machine the Training tab's redraws
at 5 a second took the window from about 102% of headless speed (that tab hidden) to 88-97%;
at 2 a second it trains at 96% (bench/gui_overhead.py, medians of paired runs). Widgets
are never touched from the training thread: signals crossing threads are queued to the GUI
thread by Qt.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import torch
from PySide6.QtCore import QObject, QThread, QThreadPool, Signal, Slot

from engine.config import TrainConfig
from engine.control import Control
from engine.events import BatchEnd, DataProgress, Event, RunEnd
from engine.lr_finder.search import LRTestStep
from engine.training.trainer import Trainer

UPDATE_INTERVAL_S = 0.5


def leave_the_cores_to_training() -> None:
    """Call on the GUI thread before it does any tensor work.

    PyTorch's OpenMP runtime (libgomp) stops spin-waiting between parallel regions once it
    manages more threads than there are CPUs: a GUI thread with a multi-threaded pool of its
    own (from predicting a drawing, or a model summary) made training ~45% slower on a
    2-core machine. Qt's global thread pool, used for parts of painting (image conversion
    and scaling), likewise ran threads beside the training threads at every repaint. So the
    GUI keeps one thread for each (its tensor and image work is small), and the training
    thread sets its own count (engine/runtime/cpu.py; bench/gui_overhead.py measures the effect).
    """
    torch.set_num_threads(1)
    QThreadPool.globalInstance().setMaxThreadCount(1)


# Events that are throttled; anything else (epoch end, log line, run start) flushes at once.
_THROTTLED = (BatchEnd, DataProgress, LRTestStep)


class TrainingWorker(QObject):
    """Lives on the training thread; its `run` slot runs the trainer (or another job, see
    `WorkerSession`) to the end."""

    events = Signal(list)  # list[Event], in the order the engine reported them
    done = Signal(object)  # RunEnd (or the job's own end)

    def __init__(self, trainer: Trainer, control: Control,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.trainer = trainer
        self.control = control
        self._clock = clock
        self._pending: list[Event] = []
        self._last_emit = float("-inf")

    @Slot()
    def run(self) -> None:
        try:
            end = self.trainer.run(self._collect, self.control)
        except Exception as error:  # noqa: BLE001 - the GUI must always hear that it ended
            end = RunEnd("failed", f"Training failed: {type(error).__name__}: {error}",
                         self.trainer.epochs_done)
        self._emit_pending()
        self.done.emit(end)

    def _collect(self, event: Event) -> None:
        if isinstance(event, RunEnd):
            return  # delivered by `done`, after the last events
        # Runs on the training thread, like _emit_pending: no lock needed.
        if isinstance(event, DataProgress) and self._pending and isinstance(
                self._pending[-1], DataProgress):
            self._pending[-1] = event  # only the latest progress matters
        else:
            self._pending.append(event)
        last_of_epoch = isinstance(event, BatchEnd) and event.batch == event.batches_per_epoch
        if last_of_epoch or not isinstance(event, _THROTTLED) or (
                self._clock() - self._last_emit >= UPDATE_INTERVAL_S):
            # An epoch's last batch goes at once: evaluation follows, with no events for a
            # while, and the progress bar should not sit short of the end meanwhile.
            self._emit_pending()

    def _emit_pending(self) -> None:
        batch, self._pending = self._pending, []
        if batch:
            self._last_emit = self._clock()
            self.events.emit(batch)


class WorkerSession(QObject):
    """A job on its own QThread (the training thread), owned by the GUI thread.

    The job is anything with `run(listener, control) -> end` and `epochs_done` (a `Trainer`,
    a seed group, a sweep, the LR finder); it checks the session's `control` between batches,
    and a job of several runs hands it to each of them, so pause, resume, stop and stop after
    an epoch reach whichever run is under way. Emits `events` (throttled lists of engine
    events) and `finished(end)` once the thread has been joined, so a new session can start
    from the `finished` handler.
    """

    events = Signal(list)
    finished = Signal(object)

    def __init__(self, job, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.control = Control()
        self.job = job
        self.end = None
        self._thread = QThread(self)
        self._thread.setObjectName("training")
        self._worker = TrainingWorker(job, self.control)
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.run)
        self._worker.events.connect(self.events)
        self._worker.done.connect(self._on_done)
        self._thread.finished.connect(self._on_thread_finished)

    def start(self) -> None:
        self._thread.start()

    def is_running(self) -> bool:
        return self._thread.isRunning()

    def stop(self) -> None:
        self.control.stop()

    def pause(self) -> None:
        self.control.pause()

    def resume(self, changes: dict | None = None) -> None:
        """Go on; with `changes` (engine/training/changes.py), the trainer applies them first."""
        if changes:
            self.control.request_changes(changes)
        self.control.resume()

    @Slot(object)
    def _on_done(self, end: object) -> None:
        self.end = end
        self._thread.quit()

    @Slot()
    def _on_thread_finished(self) -> None:
        # Dropping the worker frees it and its trainer reference (deleteLater would never run:
        # the worker lives on the thread that has just finished).
        self._worker = None
        if self.end is not None:
            self.finished.emit(self.end)


class TrainingSession(WorkerSession):
    """One training run on its own QThread; `finished` carries its `RunEnd`."""

    def __init__(self, config: TrainConfig, run_dir: str | Path | None = None,
                 resume_from: str | Path | None = None, parent: QObject | None = None,
                 tensorboard: bool | None = None) -> None:
        trainer = Trainer(config, run_dir=run_dir, resume_from=resume_from,
                          tensorboard=tensorboard)
        super().__init__(trainer, parent)
        self.trainer = trainer
        self.end: RunEnd | None = None
