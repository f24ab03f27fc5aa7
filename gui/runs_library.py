"""The runs folder, read and followed off the GUI thread (engine/records/runs.py does the reading).

One background thread reads: the first listing, then each `scan` reads only what changed
(new folders, and what was appended to the runs that are still running or are overlaid on
the plots). A scan happens when the file system watcher reports a change (at once, on a
local disk), and on a slow timer as a fallback for drives that report nothing (network
shares, synced folders): every `ACTIVE_POLL_MS` while a run is running, `IDLE_POLL_MS`
otherwise. A scan of an idle folder is one directory listing and one `stat` per run
(bench/runs_idle_cpu.py).
The timers stop while the window is hidden or minimised, and a scan catches up when it shows.
"""

from __future__ import annotations

import contextlib
import os
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from PySide6.QtCore import QEvent, QFileSystemWatcher, QObject, QTimer, Signal

from engine.records import groups, runs
from engine.records.run_folder import GROUP_FILE

ACTIVE_POLL_MS = 1000
IDLE_POLL_MS = 5000
DEBOUNCE_MS = 150


class _Reading:
    """What the background thread keeps between scans (touched only on that thread)."""

    def __init__(self, runs_dir: Path) -> None:
        self.runs_dir = runs_dir
        self.readers: dict[str, runs.RunReader] = {}
        # Runs that have ended, with their record file's (mtime, size): read again only when
        # that changes (continued elsewhere, renamed) or when asked.
        self.done: dict[str, tuple[int, int] | None] = {}
        # Seed group folders: (status, group.json's (mtime, size)) when last read.
        self.groups: dict[str, tuple[str, tuple[int, int] | None]] = {}

    def scan(self, overlaid: frozenset[str], reread: frozenset[str], full: bool
             ) -> tuple[list[runs.RunRecord | groups.GroupRecord], list[str]]:
        """(records that changed, folders that are gone). A seed group's folder gives its
        `GroupRecord` and its members' run records (read as any run), the group read again
        whenever a member changed, its group.json changed, or it is still running."""
        names = _subfolders(self.runs_dir)
        # A member of a group still there is the group's scan's to drop.
        gone = [folder for folder in self.readers if folder not in names
                and not _inside(folder, names)]
        gone += [folder for folder in self.groups if folder not in names]
        for folder in gone:
            self.readers.pop(folder, None)
            self.done.pop(folder, None)
            self.groups.pop(folder, None)
        changed: list[runs.RunRecord | groups.GroupRecord] = []
        for folder in sorted(names):
            asked = full or folder in reread
            if folder in self.groups or groups.is_group_folder(folder):
                changed += self._scan_group(folder, overlaid, reread, asked, gone)
                continue
            record = self._scan_run(folder, overlaid, asked)
            if record is not None:
                changed.append(record)
        return changed, gone

    def _scan_run(self, folder: str, overlaid: frozenset[str], asked: bool
                  ) -> runs.RunRecord | None:
        """The run's record where it changed (or was asked for), else None."""
        reader = self.readers.get(folder)
        if reader is None or (folder in overlaid and not reader.with_batches):
            if not runs.is_run_folder(Path(folder)):
                return None
            reader = self.readers[folder] = runs.RunReader(folder, folder in overlaid)
            self.done.pop(folder, None)
        elif folder in self.done and not asked and self.done[folder] == _stamp(folder):
            return None
        if not (reader.poll() or asked or folder in self.done):
            return None
        record = reader.record()
        if record.status == "running":
            self.done.pop(folder, None)
        else:
            self.done[folder] = _stamp(folder)
        return record

    def _scan_group(self, folder: str, overlaid: frozenset[str], reread: frozenset[str],
                    asked: bool, gone: list[str]) -> list[runs.RunRecord | groups.GroupRecord]:
        members = _subfolders(Path(folder))
        for member in [m for m in self.readers if Path(m).parent == Path(folder)]:
            if member not in members:
                gone.append(member)
                self.readers.pop(member)
                self.done.pop(member, None)
        changed: list[runs.RunRecord | groups.GroupRecord] = []
        for member in sorted(members):
            record = self._scan_run(member, overlaid, asked or member in reread)
            if record is not None:
                changed.append(record)
        before = self.groups.get(folder)
        stamp = _stamp(folder, GROUP_FILE)
        if changed or asked or before is None or before[1] != stamp or before[0] == "running":
            group = groups.read_group(folder)
            self.groups[folder] = (group.status, stamp)
            changed.append(group)
        return changed


def _subfolders(folder: Path) -> set[str]:
    try:
        return {entry.path for entry in os.scandir(folder) if entry.is_dir()}
    except OSError:
        return set()


def _inside(folder: str, names: set[str]) -> bool:
    """Whether folder is a member of one of the group folders `names` lists."""
    return str(Path(folder).parent) in names


def _stamp(folder: str, name: str = runs.RUN_FILE) -> tuple[int, int] | None:
    try:
        stat = os.stat(os.path.join(folder, name))
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


class RunsLibrary(QObject):
    """Lists and follows the run folders in one runs folder, on a background thread."""

    # list[RunRecord | GroupRecord]: new or updated runs and seed groups (a group's members
    # are runs whose folder is inside the group's)
    records_changed = Signal(list)
    records_removed = Signal(list)  # list[str]: folders no longer there
    directory_changed = Signal(str)  # a new runs folder: everything was read afresh
    _scanned = Signal(object, object, object)  # (generation, changed, gone), to the GUI thread

    def __init__(self, runs_dir: str | Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="runs-reader")
        self._pending: Future | None = None
        self._again = False  # a scan was asked for while one was going
        self._overlaid: set[str] = set()
        self._reread: set[str] = set()
        self._running: set[str] = set()
        self._generation = 0
        self._paused = True
        self._full = True
        self._watcher = QFileSystemWatcher(self)
        self._watcher.directoryChanged.connect(self._on_fs_change)
        self._watcher.fileChanged.connect(self._on_fs_change)
        self._poll = QTimer(self)
        self._poll.timeout.connect(self.scan)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self.scan)
        self._scanned.connect(self._on_scanned)
        self.set_runs_dir(runs_dir)

    @property
    def runs_dir(self) -> Path:
        return self._dir

    def set_runs_dir(self, runs_dir: str | Path) -> None:
        self._dir = Path(runs_dir).expanduser()
        self._generation += 1
        self._reading = _Reading(self._dir)
        self._running.clear()
        self._full = True
        self._rewatch()
        self.directory_changed.emit(str(self._dir))
        if not self._paused:
            self.scan()

    def set_overlaid(self, folders: set[str]) -> None:
        """The runs whose per-batch data are wanted (their curves are on the plots)."""
        added = set(folders) - self._overlaid
        self._overlaid = set(folders)
        self._reread |= added
        self._rewatch()
        if added:
            self.scan()

    def reread(self, folder: str) -> None:
        """Read one run again soon (its name or note was edited, its run on screen ended)."""
        self._reread.add(folder)
        self._soon()

    def rescan(self) -> None:
        """Read every run again (Refresh)."""
        self._full = True
        self.scan()

    # -- running -----------------------------------------------------------------------

    def resume(self) -> None:
        """Start following (the window is on screen)."""
        if self._paused:
            self._paused = False
            self._rewatch()
            self.scan()
            self._schedule_poll()

    def pause(self) -> None:
        """Stop every timer and watch (the window is hidden); a later resume catches up."""
        self._paused = True
        self._poll.stop()
        self._debounce.stop()
        with contextlib.suppress(RuntimeError):
            paths = self._watcher.directories() + self._watcher.files()
            if paths:
                self._watcher.removePaths(paths)

    def shutdown(self) -> None:
        self.pause()
        self._executor.shutdown(wait=True, cancel_futures=True)

    def follow_window(self, window: QObject) -> None:
        """Follow while `window` is shown; pause while it is hidden, minimised or closed."""
        window.installEventFilter(self)
        executor = self._executor  # not self: called once the window (and this) are gone
        window.destroyed.connect(lambda *_: executor.shutdown(wait=False, cancel_futures=True))
        if getattr(window, "isVisible", lambda: False)():
            self.resume()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.Show:
            self.resume()
        elif event.type() == QEvent.Type.Hide:
            self.pause()
        return False

    def scan(self) -> None:
        if self._paused:
            return
        if self._pending is not None:
            self._again = True
            return
        overlaid, reread, full = frozenset(self._overlaid), frozenset(self._reread), self._full
        self._reread.clear()
        self._full = False
        reading, generation = self._reading, self._generation

        def job() -> None:
            changed, gone = reading.scan(overlaid, reread, full)
            with contextlib.suppress(RuntimeError):  # the window was closed meanwhile
                self._scanned.emit(generation, changed, gone)

        try:
            self._pending = self._executor.submit(job)
        except RuntimeError:  # shut down
            self._pending = None

    def _on_scanned(self, generation: int, changed: list, gone: list) -> None:
        self._pending = None
        if generation == self._generation:
            for record in changed:
                if record.status == "running":
                    self._running.add(record.run_id)
                else:
                    self._running.discard(record.run_id)
            self._running -= set(gone)
            if gone:
                self.records_removed.emit(gone)
            if changed:
                self.records_changed.emit(changed)
            self._rewatch()
            self._schedule_poll()
        if self._again:
            self._again = False
            self.scan()

    def _schedule_poll(self) -> None:
        if self._paused:
            return
        interval = ACTIVE_POLL_MS if self._running else IDLE_POLL_MS
        if not self._poll.isActive() or self._poll.interval() != interval:
            self._poll.start(interval)

    def _on_fs_change(self, _path: str) -> None:
        self._soon()

    def _soon(self) -> None:
        """Scan shortly: changes that come in a burst (a writer's flushes) make one scan."""
        if not self._paused and not self._debounce.isActive():
            self._debounce.start()

    def _rewatch(self) -> None:
        """Watch the runs folder, and the record files of running and overlaid runs."""
        if self._paused:
            return
        wanted = [str(self._dir)] if self._dir.is_dir() else []
        for folder in self._running | self._overlaid:
            # Per-batch data are read only for runs on the plots: a running run's batch file
            # grows many times a second, and each change would start a scan for nothing.
            names = (runs.RUN_FILE, runs.METRICS_FILE) + (
                (runs.BATCHES_FILE,) if folder in self._overlaid else ())
            wanted += [str(Path(folder) / name) for name in names
                       if (Path(folder) / name).exists()]
        current = set(self._watcher.directories() + self._watcher.files())
        stale = [p for p in current if p not in wanted]
        fresh = [p for p in wanted if p not in current]
        if stale:
            self._watcher.removePaths(stale)
        if fresh:
            self._watcher.addPaths(fresh)
