"""The run folder as a record: written as the run goes, read back, listed, followed.

A run folder holds, besides `checkpoint.pt`, `config.json` and `metrics.jsonl` (one line per
epoch, written by the trainer, engine/records/run_folder.py):

- `run.jsonl`: the run's story, one JSON object a line: `begin` (time, host, process, the
  settings), `start` (device, sizes, class names), `change` (settings changed mid-run),
  `checkpoint` (after every save: the last and the best epoch's checkpoint), `end` (status,
  message, time). A run continued into its own folder appends another begin ... end.
- `batches.jsonl`: the training loss per batch, downsampled to at most about
  `MAX_BATCH_POINTS` lines a run (each line the mean, low and high of a bucket of batches),
  enough to redraw the per-batch curve.
- `meta.json`: what a person wrote about the run (a name, a note); replaced atomically.

Lines are appended and flushed as they happen (batches at least every `FLUSH_SECONDS`;
`fsync` at every epoch's end), so a crash keeps everything up to the last flush. Readers
tolerate a half-written last line (it is left for the next read: its writer may still be
finishing it) and skip a damaged line rather than fail.

Torch- and Qt-free: the CLI, the trainer and the window's background reader all use it.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine import analysis
from engine.events import (
    BatchEnd,
    CheckpointSaved,
    EpochEnd,
    RunEnd,
    RunStart,
    SettingsChanged,
)
from engine.records.atomic_files import write_text_atomic
from engine.records.run_folder import (
    BATCHES_FILE,
    CHECKPOINT_FILE,
    CONFIG_FILE,
    META_FILE,
    METRICS_FILE,
    RUN_FILE,
)

MAX_BATCH_POINTS = 5000
FLUSH_SECONDS = 0.5
STATUSES = ("running", "finished", "stopped", "diverged", "failed", "learned_nothing",
            "interrupted")


# -- writing -------------------------------------------------------------------------------


class _JsonLines:
    """An append-only JSON lines file, flushed on demand."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stream = open(path, "a", encoding="utf-8")  # noqa: SIM115 - kept open

    def write(self, record: dict) -> None:
        self._stream.write(json.dumps(record, allow_nan=True) + "\n")

    def flush(self, sync: bool = False) -> None:
        self._stream.flush()
        if sync:
            os.fsync(self._stream.fileno())

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._stream.close()


class RunRecorder:
    """Writes a run's record into its folder as events arrive (a trainer listener).

    `fresh` is False when the folder already held a record this run continues (a run
    resumed into its own folder); only a fresh record is removed by `discard`.
    """

    def __init__(self, folder: str | Path, config: dict, *, start_epoch: int = 0,
                 clock: Callable[[], float] = time.time) -> None:
        self.folder = Path(folder)
        self._clock = clock
        self.fresh = not (self.folder / RUN_FILE).exists()
        self._run = _JsonLines(self.folder / RUN_FILE)
        self._batches = _JsonLines(self.folder / BATCHES_FILE)
        self._bucket: list[BatchEnd] = []
        self._bucket_size = 1
        self._last_flush = clock()
        self._run.write({"event": "begin", "time": clock(), "host": socket.gethostname(),
                         "pid": os.getpid(), "start_epoch": start_epoch, "config": config})
        self._run.flush()

    def __call__(self, event: object) -> None:
        if isinstance(event, BatchEnd):
            self._add_batch(event)
        elif isinstance(event, EpochEnd):
            self._write_bucket()
            self._batches.flush(sync=True)
            self._run.flush(sync=True)
        elif isinstance(event, RunStart):
            steps = max(1, (event.epochs - event.start_epoch) * event.batches_per_epoch)
            self._bucket_size = max(1, math.ceil(steps / MAX_BATCH_POINTS))
            self._line({"event": "start", "device": event.device,
                        "world_size": event.world_size, "epochs": event.epochs,
                        "start_epoch": event.start_epoch,
                        "batches_per_epoch": event.batches_per_epoch,
                        "train_size": event.train_size, "val_size": event.val_size,
                        "test_size": event.test_size, "num_params": event.num_params,
                        "class_names": list(event.class_names)})
        elif isinstance(event, CheckpointSaved):
            self._line({"event": "checkpoint", "epoch": event.epoch, "last": event.path,
                        "best_epoch": event.best_epoch, "best": event.best_path,
                        "best_by": event.best_by}, sync=True)
        elif isinstance(event, RunEnd):
            self._write_bucket()
            self._batches.flush(sync=True)
            self._line({"event": "end", "status": event.reason, "message": event.message,
                        "epochs_done": event.epochs_done, "checkpoint": event.checkpoint_path},
                       sync=True)
        elif isinstance(event, SettingsChanged):  # engine/training/changes.py
            self._line({"event": "change", **event.as_record()}, sync=True)

    def close(self) -> None:
        self._batches.close()
        self._run.close()

    def discard(self) -> None:
        """Remove the record this run began (it trained nothing worth keeping)."""
        self.close()
        for name in (RUN_FILE, BATCHES_FILE):
            with contextlib.suppress(OSError):
                (self.folder / name).unlink()

    def _line(self, record: dict, sync: bool = False) -> None:
        self._run.write({"event": record.pop("event"), "time": self._clock(), **record})
        self._run.flush(sync)

    def _add_batch(self, event: BatchEnd) -> None:
        self._bucket.append(event)
        if len(self._bucket) >= self._bucket_size or event.batch == event.batches_per_epoch:
            self._write_bucket()
        now = self._clock()
        if now - self._last_flush >= FLUSH_SECONDS:
            self._batches.flush()
            self._last_flush = now

    def _write_bucket(self) -> None:
        if not self._bucket:
            return
        losses = [b.loss for b in self._bucket]
        last = self._bucket[-1]
        self._batches.write({"step": last.step, "epoch": last.epoch,
                             "loss": sum(losses) / len(losses), "lo": min(losses),
                             "hi": max(losses), "lr": last.lr, "n": len(losses)})
        self._bucket = []


def write_meta(folder: str | Path, name: str | None = None, note: str | None = None) -> dict:
    """Set a run's name and/or note (None leaves one as it is); returns the new meta."""
    path = Path(folder) / META_FILE
    meta = read_json(path) or {}
    if name is not None:
        meta["name"] = name.strip()
    if note is not None:
        meta["note"] = note
    write_text_atomic(path, json.dumps(meta, indent=2))
    return meta


# -- reading -------------------------------------------------------------------------------


def read_json(path: Path) -> dict | None:
    """The JSON object in `path`; None where it is missing, unreadable or not an object."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def parse_lines(data: bytes) -> tuple[list[dict], int, int]:
    """(records, bytes consumed, damaged lines) from JSON lines.

    A last line without its newline is not consumed: its writer may still be writing it.
    """
    records: list[dict] = []
    damaged = 0
    end = data.rfind(b"\n") + 1
    for line in data[:end].splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            damaged += 1
            continue
        if isinstance(record, dict):
            records.append(record)
        else:
            damaged += 1
    return records, end, damaged


class _TailedFile:
    """The complete lines of a file appended to by another process, read incrementally.

    A file replaced (another inode, or shorter than what was read) is read again whole.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.records: list[dict] = []
        self.damaged = 0
        self._offset = 0
        self._identity: tuple[int, int] | None = None

    def poll(self) -> bool:
        """Read what was appended since the last poll; True if anything changed."""
        try:
            stat = self.path.stat()
        except OSError:
            if self._identity is None:
                return False
            self.__init__(self.path)  # removed: nothing of it is left
            return True
        identity = (stat.st_dev, stat.st_ino)
        if identity != self._identity or stat.st_size < self._offset:
            self.records, self.damaged, self._offset = [], 0, 0
            self._identity = identity
            changed = True
        else:
            changed = False
        if stat.st_size == self._offset:
            return changed
        try:
            with open(self.path, "rb") as stream:
                stream.seek(self._offset)
                data = stream.read(stat.st_size - self._offset)
        except OSError:
            return changed
        records, used, damaged = parse_lines(data)
        self._offset += used
        self.records += records
        self.damaged += damaged
        return changed or bool(records) or bool(damaged)


@dataclass
class RunRecord:
    """A run as its folder tells it. Times are seconds since the epoch (time.time())."""

    folder: Path
    name: str
    note: str
    config: dict
    status: str
    message: str
    device: str
    started: float | None
    ended: float | None
    updated: float  # the newest file's modification time
    epochs_planned: int
    history: list[dict]
    changes: list[dict]
    checkpoint: Path | None  # the last epoch's checkpoint
    best_checkpoint: Path | None  # the best epoch's, where one is kept
    best_epoch: int | None
    best_by: str  # "val_acc" with a validation split, else "test_acc"
    host: str
    damaged_lines: int = 0
    world_size: int = 1  # processes that trained it together (torchrun), as last started
    batches: dict[str, list[float]] = field(default_factory=dict)  # step, loss, lo, hi, lr

    @property
    def run_id(self) -> str:
        return str(self.folder)

    @property
    def arch(self) -> str:
        return str(self.config.get("arch", ""))

    @property
    def dataset(self) -> str:
        return str(self.config.get("dataset", ""))

    @property
    def epochs_done(self) -> int:
        return int(self.history[-1]["epoch"]) if self.history else 0

    @property
    def best_test_acc(self) -> float | None:
        accs = [r["test_acc"] for r in self.history if _finite(r.get("test_acc"))]
        return max(accs) if accs else None

    @property
    def duration(self) -> float | None:
        if self.started is None:
            return None
        return max(0.0, (self.ended if self.ended is not None else self.updated) - self.started)


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def best_epoch(history: list[dict]) -> tuple[int | None, str]:
    """The best epoch (engine.analysis: validation accuracy where every epoch has one, else
    test accuracy, when that figure is optimistic: the test set chose it) and its key."""
    return analysis.best_epoch(history), f"{analysis.held_out_split(history)}_acc"


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


class RunReader:
    """Follows one run folder: each `poll()` reads only what was appended since the last.

    Works for a folder another process (or another computer, through a synced drive) is
    still writing; `record()` is the run as known after the last poll.
    """

    def __init__(self, folder: str | Path, with_batches: bool = True) -> None:
        self.folder = Path(folder)
        self.with_batches = with_batches
        self._run = _TailedFile(self.folder / RUN_FILE)
        self._metrics = _TailedFile(self.folder / METRICS_FILE)
        self._batches = _TailedFile(self.folder / BATCHES_FILE) if with_batches else None
        self._config_mtime: float | None = None
        self._config: dict = {}
        self._meta_mtime: float | None = None
        self._meta: dict = {}
        self._updated = 0.0

    def poll(self) -> bool:
        """Read what changed; True if anything did."""
        changed = self._run.poll()
        changed = self._metrics.poll() or changed
        if self._batches is not None:
            changed = self._batches.poll() or changed
        for name, attr in ((CONFIG_FILE, "_config"), (META_FILE, "_meta")):
            path = self.folder / name
            try:
                mtime = path.stat().st_mtime
            except OSError:
                mtime = None
            if mtime != getattr(self, attr + "_mtime"):
                setattr(self, attr + "_mtime", mtime)
                setattr(self, attr, (read_json(path) or {}) if mtime is not None else {})
                changed = True
        newest = max((t for t in (self._config_mtime, self._meta_mtime,
                                  _mtime(self._run.path), _mtime(self._metrics.path)) if t),
                     default=0.0)
        self._updated = max(self._updated, newest)
        return changed

    def record(self) -> RunRecord:
        lines = self._run.records
        begin_at = [i for i, r in enumerate(lines) if r.get("event") == "begin"]
        first = lines[begin_at[0]] if begin_at else {}
        last_begin = lines[begin_at[-1]] if begin_at else {}
        end = next((r for r in reversed(lines[begin_at[-1] if begin_at else 0:])
                    if r.get("event") == "end"), None)
        starts = [r for r in lines if r.get("event") == "start"]
        saves = [r for r in lines if r.get("event") == "checkpoint"]
        config = self._config or dict(last_begin.get("config") or {})
        history = _by_epoch(self._metrics.records)
        best, best_by = best_epoch(history)
        ended = None
        if end is not None:
            status, message, ended = str(end.get("status", "failed")), str(
                end.get("message", "")), end.get("time")
        elif not last_begin:  # a folder from before run records: metrics and a checkpoint
            status = "finished" if history or self._has_checkpoint() else "failed"
            message = ""
        elif (last_begin.get("host") == socket.gethostname()
              and not _process_alive(int(last_begin.get("pid", -1)))):
            status = "interrupted"
            message = ("The process writing this run ended without saying how (killed, or "
                       "the computer stopped); what it wrote until then is kept.")
        else:
            status, message = "running", ""
        checkpoint = self.folder / CHECKPOINT_FILE if self._has_checkpoint() else None
        best_path = None
        if saves and saves[-1].get("best"):
            best_path = _resolve(self.folder, saves[-1]["best"])
        elif best is not None and history and best == history[-1]["epoch"]:
            best_path = checkpoint
        return RunRecord(
            folder=self.folder, name=str(self._meta.get("name") or self.folder.name),
            note=str(self._meta.get("note") or ""), config=config, status=status,
            message=message, device=str(starts[-1].get("device", "")) if starts else "",
            started=first.get("time"), ended=ended, updated=self._updated,
            epochs_planned=int((starts[-1] if starts else {}).get(
                "epochs", config.get("epochs", 0)) or 0),
            history=history,
            changes=[r for r in lines if r.get("event") == "change"],
            checkpoint=checkpoint, best_checkpoint=best_path, best_epoch=best, best_by=best_by,
            host=str(last_begin.get("host", "")),
            world_size=_whole_number((starts[-1] if starts else {}).get("world_size"), 1),
            damaged_lines=self._run.damaged + self._metrics.damaged + (
                self._batches.damaged if self._batches else 0),
            batches=self._batch_columns())

    def _has_checkpoint(self) -> bool:
        return (self.folder / CHECKPOINT_FILE).exists()

    def _batch_columns(self) -> dict[str, list[float]]:
        if self._batches is None:
            return {}
        # A run continued after a stop repeats the steps after its checkpoint: the later
        # line for a step wins, and the curve keeps going forward.
        kept: list[dict] = []
        for line in self._batches.records:
            step = line.get("step")
            if not _finite(step):
                continue
            while kept and kept[-1]["step"] >= step:
                kept.pop()
            kept.append(line)
        return {name: [float(r.get(name, math.nan)) for r in kept]
                for name in ("step", "loss", "lo", "hi", "lr")}


def _whole_number(value: Any, default: int) -> int:
    """value if it is a whole number of at least 1 (a damaged record's is not), else default."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 \
        else default


def _by_epoch(records: Iterable[dict]) -> list[dict]:
    epochs: dict[int, dict] = {}
    for record in records:
        if isinstance(record.get("epoch"), int):
            epochs[record["epoch"]] = record
    return [epochs[e] for e in sorted(epochs)]


def _resolve(folder: Path, path: str) -> Path:
    """A recorded checkpoint path, found in this folder if the folder has moved (a synced
    drive mounted elsewhere)."""
    recorded = Path(path)
    return recorded if recorded.exists() else folder / recorded.name


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def read_run(folder: str | Path, with_batches: bool = True) -> RunRecord:
    reader = RunReader(folder, with_batches)
    reader.poll()
    return reader.record()


def is_run_folder(path: Path) -> bool:
    return any((path / name).is_file() for name in (RUN_FILE, METRICS_FILE, CHECKPOINT_FILE))


def list_runs(runs_dir: str | Path) -> list[RunRecord]:
    """Every run folder directly inside runs_dir (without per-batch data), newest first."""
    root = Path(runs_dir).expanduser()
    try:
        entries = [entry for entry in os.scandir(root) if entry.is_dir()]
    except OSError:
        return []
    records = [read_run(entry.path, with_batches=False) for entry in entries
               if is_run_folder(Path(entry.path))]
    records.sort(key=lambda r: r.started or r.updated, reverse=True)
    return records


def delete_run(folder: str | Path) -> None:
    """Remove a run folder and everything in it (the caller has asked the person)."""
    import shutil

    folder = Path(folder)
    if not is_run_folder(folder):
        raise ValueError(f"{folder} does not look like a run folder; it was left as it is.")
    shutil.rmtree(folder)
