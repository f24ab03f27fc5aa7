"""Work that would stall the window, done on a background thread: the latest request only.

A panel hands a function to `LatestJob.submit`; it runs on a plain Python thread (one at a
time) and its result, or its exception, comes back on the GUI thread through `done`. A
request made while one runs waits, and a newer one replaces it: while a person draws,
the feature maps follow the latest stroke instead of queueing up every intermediate one.

Each thread keeps PyTorch to one intra-op thread, as the GUI thread does
(gui/worker.py's `leave_the_cores_to_training`): the cores belong to training.

When the application quits, the jobs still running are stopped (those given a `cancel`) and
waited for (`finish_jobs`): a thread still inside PyTorch while the interpreter shuts down
aborts the process ("terminate called without an active exception"), as quitting right
after a run did while the least believable training images were being found.
"""

from __future__ import annotations

import contextlib
import threading
import time
import weakref
from collections.abc import Callable

from PySide6.QtCore import QCoreApplication, QObject, Signal, Slot

QUIT_WAIT_SECONDS = 10.0  # at most this long, in all, for the running jobs at quit
_JOBS: weakref.WeakSet[LatestJob] = weakref.WeakSet()


class JobFailed:
    """A job raised `error`; the panel says what went wrong."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def __str__(self) -> str:
        return f"{type(self.error).__name__}: {self.error}"


class LatestJob(QObject):
    """`done(tag, result)` on the GUI thread; result is a `JobFailed` when the job raised."""

    done = Signal(object, object)

    def __init__(self, parent: QObject | None = None,
                 cancel: Callable[[], None] | None = None) -> None:
        """cancel: asks the running job to end early (it then ends as it does when stopped):
        called when the application quits."""
        super().__init__(parent)
        self._cancel = cancel
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

    def _stop_for_quit(self) -> threading.Thread | None:
        """Drop the waiting job, ask the running one to end; the thread to wait for."""
        self._waiting = None
        running = self._running
        if running is not None and self._cancel is not None:
            self._cancel()
        return running

    def _start(self, tag: object, job: Callable[[], object]) -> None:
        _watch_quit(self)
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


def finish_jobs(timeout: float = QUIT_WAIT_SECONDS) -> None:
    """Stop the running jobs that can be stopped and wait (at most `timeout` in all) for
    every running job's thread to end."""
    threads = [thread for job in list(_JOBS) if (thread := job._stop_for_quit()) is not None]
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))


def _watch_quit(job: LatestJob) -> None:
    """Remember `job` for `finish_jobs`, which runs once as the application quits."""
    app = QCoreApplication.instance()
    if app is not None and not app.property("traindesk_finishes_jobs"):
        app.aboutToQuit.connect(finish_jobs)
        app.setProperty("traindesk_finishes_jobs", True)
    _JOBS.add(job)


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

