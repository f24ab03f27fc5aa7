"""Pause, resume and stop a running trainer, and ask it to change settings, from another
thread."""

from __future__ import annotations

import threading
from typing import Any


class StopRequested(Exception):
    """Raised inside the engine to unwind a run the person asked to stop."""


class Control:
    """Thread-safe run control. The trainer checks it before every batch."""

    def __init__(self) -> None:
        self._running = threading.Event()
        self._running.set()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._changes: dict[str, Any] = {}
        self._stop_after: int | None = None  # stop once this epoch has ended
        self._epochs_ended = 0
        self.stopped_by = "you"  # who asked to stop, for the run's end message

    def request_changes(self, changes: dict[str, Any]) -> None:
        """Ask for new values of settings (engine/training/changes.py says which can change); the
        trainer takes them before its next batch. A later request for a setting wins."""
        with self._lock:
            self._changes.update(changes)

    def take_changes(self) -> dict[str, Any]:
        """The changes asked for since the last call (empty if none); called by the trainer."""
        with self._lock:
            changes, self._changes = self._changes, {}
        return changes

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def stop(self, by: str = "you") -> None:
        """Stop at the next batch; `by` names who asked ("you", or a signal such as SIGTERM
        sent by a scheduler, a container or `kill`) in the run's end message."""
        self.stopped_by = by
        self._stop.set()
        self._running.set()  # wake a paused trainer so it can see the stop

    def stop_after(self, epoch: int, by: str = "you") -> None:
        """Stop once `epoch` has ended, keeping that epoch. The trainer reports each epoch's
        end (`epoch_ended`), so the run keeps exactly that epoch however late the asker
        learnt of the epochs: one that has already ended stops the run at the next batch,
        back at that epoch's end."""
        with self._lock:
            self._stop_after = epoch
            done = self._epochs_ended >= epoch
        if done:
            self.stop(by)
        else:
            self.stopped_by = by

    def run_began(self) -> None:
        """A run begins with this control: none of its epochs has ended yet. A job of
        several runs (a seed group) passes one control to each in turn, and a stop after
        epoch N is the run under way's epoch N, not the run before's (which ended later)."""
        with self._lock:
            self._epochs_ended = 0

    def epoch_ended(self, epoch: int) -> None:
        """Called by the trainer once `epoch` is trained, evaluated and saved."""
        with self._lock:
            self._epochs_ended = epoch
            due = self._stop_after is not None and epoch >= self._stop_after
        if due:
            self.stop(self.stopped_by)

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def wait_while_paused(self) -> bool:
        """Block while paused; return True if the run should go on, False if it must stop."""
        # Polls the stop flag too, so a pause() that races with a stop() cannot block forever.
        while not self._running.wait(0.1):
            if self._stop.is_set():
                return False
        return not self._stop.is_set()
