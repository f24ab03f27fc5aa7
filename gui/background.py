"""Work that would stall the window, done on a background thread: the latest request only.

A panel hands a function to `LatestJob.submit`; it runs on a plain Python thread (one at a
time) and its result, or its exception, comes back on the GUI thread through `done`. A
request made while one runs waits, and a newer one replaces it: while a person draws,
the feature maps follow the latest stroke instead of queueing up every intermediate one.

Each thread keeps PyTorch to one intra-op thread, as the GUI thread does
(gui/worker.py's `leave_the_cores_to_training`): the cores belong to training.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal, Slot


class JobFailed:
    """A job raised `error`; the panel says what went wrong."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def __str__(self) -> str:
        return f"{type(self.error).__name__}: {self.error}"


class LatestJob(QObject):
    """`done(tag, result)` on the GUI thread; result is a `JobFailed` when the job raised."""

    done = Signal(object, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._running: threading.Thread | None = None
        self._waiting: tuple[object, Callable[[], object]] | None = None
        self._results = _Relay()
        self._results.arrived.connect(self._on_result)

    def submit(self, tag: object, job: Callable[[], object]) -> None:
        """Run `job()` off the GUI thread; `tag` comes back with its result."""
        if self._running is not None:
            self._waiting = (tag, job)
            return
        self._start(tag, job)

    def busy(self) -> bool:
        return self._running is not None or self._waiting is not None

    def wait(self, timeout: float | None = None) -> None:
        """Block until the running job has ended (tests, closing)."""
        if self._running is not None:
            self._running.join(timeout)

    def _start(self, tag: object, job: Callable[[], object]) -> None:
        relay = self._results
        self._running = threading.Thread(target=_run, args=(tag, job, relay),
                                         name="traindesk-job", daemon=True)
        self._running.start()

    @Slot(object, object)
    def _on_result(self, tag: object, result: object) -> None:
        self._running = None
        waiting, self._waiting = self._waiting, None
        if waiting is not None:
            self._start(*waiting)
        self.done.emit(tag, result)


class _Relay(QObject):
    arrived = Signal(object, object)


def _run(tag: object, job: Callable[[], object], relay: _Relay) -> None:
    import torch  # here, not at the top: the window starts before PyTorch is loaded

    torch.set_num_threads(1)
    try:
        result: object = job()
    except Exception as error:  # noqa: BLE001 - handed to the panel, which says it
        result = JobFailed(error)
    # Queued to the GUI thread; if the panel was closed and deleted, nobody is told.
    with contextlib.suppress(RuntimeError):
        relay.arrived.emit(tag, result)

