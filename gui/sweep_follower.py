"""A sweep folder, read and followed off the GUI thread (engine/records/sweeps.py reads it).

The sweep may be run by this window, by the command line, or by other machines writing to
a shared folder or database: the follower does not care who. A few times a second it
checks the folder's files (sweep.json and the SQLite storage: a few `stat`s); only when
they changed, or a trial is running, does it read the study again on a background thread
(gui/background.py). The trials under way and the ticked ones are followed through their
run folders (engine/records/runs.py's RunReader reads only what was appended): the first
for their best accuracy so far, the second for their curves. Importances are computed
again only when the number of complete trials changes (Optuna's fANOVA takes a while).
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from engine.records.groups import member_dir, seeds_on_disk
from engine.records.run_folder import RUN_FILE, SWEEP_FILE, SWEEP_STORAGE_FILE
from gui.background import JobFailed, LatestJob

POLL_MS = 300
# A study in a database elsewhere (PostgreSQL, MySQL) has no file to watch: read it anyway,
# this often.
REMOTE_POLL_MS = 2000
_WATCHED = (SWEEP_FILE, SWEEP_STORAGE_FILE, f"{SWEEP_STORAGE_FILE}-wal",
            f"{SWEEP_STORAGE_FILE}-journal")


@dataclass
class SweepView:
    """The sweep as last read: its record, Optuna's importances, and per trial number the
    run records of the trials running (best so far) and ticked (curves)."""

    folder: Path
    record: Any = None  # engine.records.sweeps.SweepRecord
    importances: dict[str, float] = field(default_factory=dict)
    runs: dict[int, Any] = field(default_factory=dict)  # number -> RunRecord
    error: str | None = None
    waiting: bool = False  # sweep.json is there, its storage not yet

    @property
    def trials(self) -> list:
        return list(self.record.trials) if self.record is not None else []

    @property
    def space(self) -> list:
        return list((self.record.plan or {}).get("space", [])) if self.record else []


def trial_run_folder(run_dir: str | Path | None) -> Path | None:
    """The run folder a trial's curves are read from: its own, or for a trial with several
    seeds (a seed group) its first member's."""
    if not run_dir:
        return None
    folder = Path(run_dir)
    if (folder / RUN_FILE).exists():
        return folder
    seeds = seeds_on_disk(folder)  # in numeric order: seed-9 before seed-10
    return member_dir(folder, seeds[0]) if seeds else folder


class SweepReading:
    """What the background job keeps between reads (one job at a time touches it)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.stamp: tuple | None = None
        self.view = SweepView(folder)
        self.readers: dict[int, Any] = {}  # number -> RunReader
        self.complete = -1

    def files_stamp(self) -> tuple:
        stamp = []
        for name in _WATCHED:
            try:
                stat = os.stat(self.folder / name)
            except OSError:
                stamp.append(None)
            else:
                stamp.append((stat.st_mtime_ns, stat.st_size))
        return tuple(stamp)

    def read(self, ticked: frozenset[int], force: bool) -> SweepView | None:
        """The sweep read again, or None where nothing changed."""
        from engine.records import runs, sweeps

        stamp = self.files_stamp()
        remote = self.view.record is not None and (self.view.record.plan or {}).get("storage")
        if not (force or remote or stamp != self.stamp or ticked - set(self.readers)):
            # The study is as it was (reading it costs ~40 ms: not a few times a second
            # beside training); only the runs followed may have moved on.
            return self._runs_moved(ticked)
        self.stamp = stamp
        if stamp[0] is not None and stamp[1] is None and not _storage_elsewhere(self.folder):
            # Not yet: opening a SQLite file that does not exist would create it, under
            # the feet of the worker about to.
            self.view = SweepView(self.folder, waiting=True)
            return self.view
        try:
            record = sweeps.read_sweep(self.folder)
        except Exception as error:  # noqa: BLE001 - a folder being written, a bad URL: said
            self.view = SweepView(self.folder, error=f"{type(error).__name__}: {error}")
            return self.view
        complete = sum(1 for t in record.trials if t.state == "complete")
        importances = self.view.importances
        if complete != self.complete:
            self.complete = complete
            importances = sweeps.importances(record) if complete >= 2 else {}
        followed = {t.number: t for t in record.trials
                    if t.run_dir and (t.state == "running" or t.number in ticked)}
        for number in list(self.readers):
            if number not in followed:
                del self.readers[number]
        for number, trial in followed.items():
            with_batches = number in ticked
            reader = self.readers.get(number)
            if reader is None or (with_batches and not reader.with_batches):
                folder = trial_run_folder(trial.run_dir)
                self.readers[number] = runs.RunReader(folder, with_batches)
        self.view = SweepView(self.folder, record, dict(importances))
        self._runs_moved(ticked)
        return self.view

    def _runs_moved(self, ticked: frozenset[int]) -> SweepView | None:
        """The view with the followed runs read on (the trials under way, the ticked
        ones), or None where none has moved."""
        moved = {number: reader.record() for number, reader in self.readers.items()
                 if reader.poll() or number not in self.view.runs}
        if not moved:
            return None
        self.view = dataclasses.replace(self.view, runs={**self.view.runs, **moved})
        return self.view


class SweepFollower(QObject):
    """Follows one sweep folder; `changed(SweepView)` on the GUI thread when it changed."""

    changed = Signal(object)
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._job = LatestJob(self)
        self._job.done.connect(self._on_done)
        self._reading: SweepReading | None = None
        self._ticked: frozenset[int] = frozenset()
        self._force = False
        self._active = True
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self.poll)
        self.view: SweepView | None = None

    @property
    def folder(self) -> Path | None:
        return self._reading.folder if self._reading is not None else None

    def follow(self, folder: str | Path | None) -> None:
        """Follow this sweep folder from now on (None: none)."""
        self._reading = SweepReading(Path(folder)) if folder is not None else None
        self.view = None
        if self._reading is None:
            self._timer.stop()
            return
        self._force = True
        if self._active:
            self._timer.start()
            self.poll()

    def set_active(self, on: bool) -> None:
        """Poll only while the sweep is on screen (the tab shown); a read catches up at once
        when it shows again."""
        self._active = on
        if on and self._reading is not None:
            self._timer.start()
            self.poll()
        else:
            self._timer.stop()

    def set_ticked(self, numbers: set[int]) -> None:
        """Trials whose curves are wanted (read with their batches)."""
        self._ticked = frozenset(numbers)
        self.poll()

    def poll(self) -> None:
        """Read the sweep again if its files changed (skipped while a read is going)."""
        reading = self._reading
        if reading is None or self._job.busy():
            return
        ticked, force, self._force = self._ticked, self._force, False
        self._job.submit(reading, lambda: reading.read(ticked, force))

    def wait(self, timeout: float | None = None) -> None:
        """Block until the read going has ended (tests, closing)."""
        self._job.wait(timeout)

    def _on_done(self, reading: SweepReading, result: object) -> None:
        if reading is not self._reading:
            return  # a folder followed before
        if isinstance(result, JobFailed):
            self.failed.emit(str(result))
            return
        if result is None:
            return
        view: SweepView = result
        remote = view.record is not None and (view.record.plan or {}).get("storage")
        self._timer.setInterval(REMOTE_POLL_MS if remote else POLL_MS)
        self.view = view
        self.changed.emit(view)


def _storage_elsewhere(folder: Path) -> bool:
    """Whether the sweep's storage is a database URL rather than the folder's optuna.db."""
    from engine.records import sweeps

    try:
        return bool(sweeps.read_plan(folder).get("storage"))
    except (OSError, ValueError):
        return False


def best_so_far(run: Any) -> float | None:
    """A running trial's best test accuracy so far (a fraction), from its run record."""
    value = getattr(run, "best_test_acc", None)
    return value if value is not None and math.isfinite(value) else None
