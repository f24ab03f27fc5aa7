"""Claiming a run folder: one folder holds one run's record, never two runs mixed.

A run folder holds `checkpoint.pt` (and `best.pt`, the best epoch's), `config.json`,
`metrics.jsonl` and the run's record (`run.jsonl`, `batches.jsonl`: engine/records/runs.py). Before
a run trains, it claims its folder:

- it creates `run.lock` there atomically (a hard link, or O_CREAT|O_EXCL: one process
  can, however many try at once), naming its process, computer and start time; a folder
  whose lock names a process that is alive is refused as "being written by process N on
  HOST", and a lock left by a process that is gone (killed, on this computer) is taken
  over, saying so;
- it refuses a folder that already holds another run (unless the run continues that
  folder's own checkpoint); creating the lock also proves the folder can be written, before
  any time is spent training.

A run's end releases its claim (`release`): the lock goes, and a folder it created and left
empty (it saved nothing) is removed again.

Torch-free, so the CLI can check a folder before it imports torch.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from engine.records.atomic_files import remove_stale_temp_files, temp_path, write_text_atomic

# The names of a run folder's own files, stated here once (engine/records/runs.py reads the record
# by them, engine/records/tensorboard_log.py writes event files with the prefix, the command
# lines and the window find checkpoints by them).
CHECKPOINT_FILE = "checkpoint.pt"  # the last epoch's: what a run continues from
BEST_FILE = "best.pt"  # the best epoch's (engine/records/runs.py says how it is chosen)
RUN_CHECKPOINTS = (CHECKPOINT_FILE, BEST_FILE)
RUN_FILE = "run.jsonl"
BATCHES_FILE = "batches.jsonl"
METRICS_FILE = "metrics.jsonl"
CONFIG_FILE = "config.json"
META_FILE = "meta.json"
RECORD_FILES = (*RUN_CHECKPOINTS, CONFIG_FILE, METRICS_FILE, RUN_FILE, BATCHES_FILE)
LOCK_FILE = "run.lock"
# Every test image's answer at every epoch (engine/records/sample_history.py), and each
# epoch's weights for small models (engine/records/epoch_checkpoints.py). Neither makes a
# folder a run's on its own: a run writes them just before its checkpoint, so a folder
# holding only these is a run that saved nothing (it is discarded as one).
SAMPLES_FILE = "samples.npz"
EPOCHS_FOLDER = "epochs"
# A seed group's folder holds this file and one run folder per member (engine/records/groups.py).
GROUP_FILE = "group.json"
RUN_FILE_NAMES = (*RECORD_FILES, META_FILE, LOCK_FILE, SAMPLES_FILE)
TENSORBOARD_PREFIX = "events.out.tfevents."
# A sweep's folder (engine/experiments/sweep.py): its plan, and by default its Optuna storage;
# each trial is a run folder in it named TRIAL_DIR_FORMAT.format(number).
SWEEP_FILE = "sweep.json"
SWEEP_STORAGE_FILE = "optuna.db"
TRIAL_DIR_FORMAT = "trial-{:04d}"
NAME_MAX_BYTES = 255  # the longest file or folder name (in bytes) nearly every file system takes
# A lock that cannot be read (its writer was killed between creating and filling it) is
# taken for a claim under way this long, then for a stale one; so is a takeover.
UNREADABLE_LOCK_SECONDS = 30.0


class RunFolderError(RuntimeError):
    """A run folder cannot be used; the message says why and what to do instead."""


@dataclass(frozen=True)
class RunFolder:
    """A claimed run folder; `created` when this run made it (and may remove it again).

    `lock` is the token in the `run.lock` this claim wrote ("" for a folder not locked), and
    `note` a sentence for the log when the claim took over a stale lock."""

    path: Path
    created: bool
    lock: str = ""
    note: str = ""

    @property
    def checkpoint(self) -> Path:
        return self.path / CHECKPOINT_FILE

    @property
    def best_checkpoint(self) -> Path:
        """The checkpoint of the best epoch so far
        (engine/records/runs.py says how it is chosen)."""
        return self.path / BEST_FILE

    def keep_as_best(self, checkpoint: Path) -> Path:
        """Make best.pt the checkpoint just saved, atomically.

        A hard link costs no disk: when checkpoint.pt is later replaced by a newer epoch,
        best.pt keeps the old file. Where links are not possible (some network and FAT
        drives) the file is copied.
        """
        best = self.best_checkpoint
        remove_stale_temp_files(best)
        temp = temp_path(best)
        try:
            try:
                os.link(checkpoint, temp)
            except OSError:
                shutil.copyfile(checkpoint, temp)
            os.replace(temp, best)
        except BaseException:
            with contextlib.suppress(OSError):
                temp.unlink()
            raise
        return best


def holds_run(path: str | Path) -> bool:
    """True if path is a folder with any file of a run record in it, or a seed group's."""
    folder = Path(path).expanduser()
    return folder.is_dir() and any((folder / name).exists()
                                   for name in (*RECORD_FILES, GROUP_FILE))


def held_run_advice(path: str | Path, resume_flag: str = "") -> str:
    """What to do about a folder that holds another run (a sentence without its full stop):
    continue it from its checkpoint, or, where that run saved none (stopped or killed before
    its first epoch ended), know that there is nothing to continue."""
    checkpoint = Path(path).expanduser() / CHECKPOINT_FILE
    if (Path(path).expanduser() / GROUP_FILE).is_file():
        return "It holds a seed group: choose a new folder"
    if checkpoint.is_file():
        return f"Continue that run with {resume_flag}{checkpoint}, or choose a new folder"
    return ("That run saved no checkpoint (it was stopped or killed before its first epoch "
            "ended), so there is nothing to continue: delete the folder, or choose a new one")


def continues_own_run(path: str | Path, resume_from: str | Path | None) -> bool:
    """True if resume_from is the checkpoint inside the run folder path."""
    if resume_from is None:
        return False
    own = Path(path).expanduser() / CHECKPOINT_FILE
    try:
        return os.path.samefile(own, Path(resume_from).expanduser())
    except OSError:
        return False


def numbered_sibling(path: str | Path) -> Path:
    """path itself if it does not exist yet, else the first free `<path>-2`, `<path>-3`, …"""
    path = Path(path).expanduser()
    candidate, n = path, 1
    while candidate.exists() or candidate.is_symlink():
        n += 1
        candidate = path.with_name(f"{path.name}-{n}")
    return candidate


# Folders `reserve` made for a run of this process that has not claimed them yet.
_reserved: set[Path] = set()


def reserve(path: str | Path) -> Path:
    """Create path, or the first free `<path>-2`, `<path>-3`, … that can be created, and
    return it: mkdir is atomic, so two runs naming a new folder at the same moment get two.
    The run that claims it counts it as created by itself (and removes it if it saves
    nothing); `unreserve` removes one that is never claimed."""
    path = Path(path).expanduser()
    while True:
        candidate = numbered_sibling(path)
        try:
            candidate.mkdir(parents=True)
        except FileExistsError:
            continue  # another run took it in between: the next number
        except OSError:
            return candidate  # the claim says why it cannot be made
        _reserved.add(candidate)
        return candidate


def unreserve(path: str | Path) -> None:
    """Remove a folder `reserve` made that no run claimed (the run ended before it began)."""
    path = Path(path).expanduser()
    if path in _reserved:
        _reserved.discard(path)
        with contextlib.suppress(OSError):
            path.rmdir()


def new_run_dir(runs_dir: str | Path, arch: str, dataset: str, seeds: int = 1) -> Path:
    """A new folder under `runs_dir`, named for the time, network and dataset (numbered
    when that name is taken), created and reserved for the run (`reserve`); for a seed
    group of `seeds` > 1 runs, the group's folder, named so with `-seeds<K>` after it."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    group = f"-seeds{seeds}" if seeds > 1 else ""
    return reserve(Path(runs_dir) / f"{stamp}-{arch}-{dataset}{group}")


def run_dir_for(runs_dir: str | Path, arch: str, dataset: str,
                resume_from: str | Path | None) -> Path:
    """The folder of the checkpoint continued, so that its record goes on; else a new one
    under `runs_dir`, reserved (`new_run_dir`)."""
    if resume_from is not None:
        own = Path(resume_from).expanduser().parent
        if continues_own_run(own, resume_from):
            return own
    return new_run_dir(runs_dir, arch, dataset)


# -- names a folder cannot have ---------------------------------------------------------------


def name_problem(path: str | Path) -> str | None:
    """Why path cannot be a file or folder name on this system, or None: a name in it over
    255 bytes (the limit of nearly every file system), said before any system call fails
    with "File name too long"."""
    for part in Path(path).parts:
        size = len(os.fsencode(part))
        if size > NAME_MAX_BYTES:
            shown = part if len(part) <= 40 else f"{part[:20]}…{part[-12:]}"
            return (f"the name '{shown}' in it is {size} bytes long, and file systems take "
                    f"names of at most {NAME_MAX_BYTES} bytes: choose a shorter name")
    return None


def broken_link_problem(path: str | Path) -> str | None:
    """Why path, a link that leads nowhere, cannot be used as a folder; None otherwise."""
    path = Path(path).expanduser()
    try:
        if not path.is_symlink() or path.exists():
            return None
        target = os.readlink(path)
    except OSError:
        return None
    return (f"{path} is a broken link: it points to {target}, which does not exist. Create "
            f"that folder, remove the link, or choose another folder")


def is_run_file_name(name: str) -> bool:
    """Whether a file of this name would be taken for one of a run folder's own files."""
    return name in RUN_FILE_NAMES or name.startswith(TENSORBOARD_PREFIX)


# -- the lock -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Writer:
    """Who holds a run folder's lock: process `pid` on `host`, since `started` (time.time)."""

    pid: int
    host: str
    started: float
    token: str = ""

    def describe(self) -> str:
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.started))
        return f"process {self.pid} on {self.host} (since {since})"


def _read_lock(lock: Path) -> Writer | None:
    """The lock's writer; None if the lock cannot be read or parsed (raises
    FileNotFoundError or NotADirectoryError if there is none)."""
    try:
        data = json.loads(lock.read_text(encoding="utf-8"))
        return Writer(int(data["pid"]), str(data["host"]), float(data["started"]),
                      str(data.get("token", "")))
    except (FileNotFoundError, NotADirectoryError):
        raise
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _process_start_time(pid: int) -> float | None:
    """When process pid started (time.time), where the system says (Linux's /proc)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        ticks = int(stat[stat.rindex(")") + 2:].split()[19])  # field 22: starttime
        boot = next(float(line.split()[1]) for line in
                    Path("/proc/stat").read_text().splitlines() if line.startswith("btime "))
        return boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def _alive(writer: Writer) -> bool:
    """Whether the lock's process may still be writing: False only when it surely is not
    (on this computer, no such process, or one started after the lock: its number reused)."""
    if writer.host != socket.gethostname():
        return True  # another computer's process cannot be asked
    try:
        os.kill(writer.pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process: it exists
        pass
    started = _process_start_time(writer.pid)
    return started is None or started <= writer.started + 5.0


def _age(path: Path) -> float:
    try:
        return time.time() - path.stat().st_mtime
    except OSError:
        return 0.0


def writer_of(path: str | Path) -> Writer | None:
    """The process writing the run folder path now, if any (a stale lock names none)."""
    lock = Path(path).expanduser() / LOCK_FILE
    try:
        writer = _read_lock(lock)
    except (FileNotFoundError, NotADirectoryError):
        return None
    if writer is None:  # being written this moment, or left unfilled by a killed claim
        return (Writer(0, socket.gethostname(), time.time())
                if _age(lock) < UNREADABLE_LOCK_SECONDS else None)
    return writer if _alive(writer) else None


def busy_message(path: str | Path, writer: Writer) -> str:
    """The sentence for a folder another run is writing."""
    folder = Path(path).expanduser()
    who = writer.describe() if writer.pid else "another process, claiming it right now"
    text = (f"The run folder {folder} is being written by {who}: runs are never mixed in "
            "one folder. Wait for that run to end (or stop it), or choose another folder.")
    if writer.host != socket.gethostname():
        text += (f" If that run is no longer running ({writer.host} stopped), delete "
                 f"{folder / LOCK_FILE}.")
    return text


def _take_lock(folder: Path) -> tuple[str, str]:
    """Create the folder's lock for this process: (its token, a note if a stale lock was
    taken over). Raises RunFolderError for a folder being written, OSError if it cannot
    be written."""
    lock = folder / LOCK_FILE
    note = ""
    for _ in range(5):
        token = secrets.token_hex(8)
        if _create_lock(lock, json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                          "started": time.time(), "token": token})):
            return token, note
        writer = writer_of(folder)
        if writer is not None:
            raise RunFolderError(busy_message(folder, writer))
        gone = _read_lock_quietly(lock)
        if _remove_stale(lock):
            note = ("Took over the run folder " + str(folder) + ": its lock named "
                    + (gone.describe() if gone else "a process") + ", which is no longer "
                    "running (it was killed, or its computer stopped).")
    raise RunFolderError(busy_message(folder, writer_of(folder) or Writer(
        0, socket.gethostname(), time.time())))


def _create_lock(lock: Path, content: str) -> bool:
    """Create the lock with its content, atomically; False if it exists already.

    The content goes to a temporary file first, which is then hard-linked as the lock:
    link() fails if the lock exists, as O_CREAT|O_EXCL does, and a lock is never seen
    empty. Where hard links are not possible (some network and FAT drives), the lock is
    created with O_CREAT|O_EXCL and then filled.
    """
    temp = temp_path(lock)
    try:
        with open(temp, "x", encoding="utf-8") as stream:
            stream.write(content)
        try:
            os.link(temp, lock)
            remove_stale_temp_files(lock)  # of claims killed while they made theirs
            return True
        except FileExistsError:
            return False
        except OSError:
            pass  # no hard links here
        try:
            stream = open(lock, "x", encoding="utf-8")  # noqa: SIM115 - O_CREAT | O_EXCL
        except FileExistsError:
            return False
        try:
            with stream:
                stream.write(content)
        except BaseException:
            with contextlib.suppress(OSError):
                lock.unlink()
            raise
        return True
    finally:
        with contextlib.suppress(OSError):
            temp.unlink()


def _read_lock_quietly(lock: Path) -> Writer | None:
    try:
        return _read_lock(lock)
    except (FileNotFoundError, NotADirectoryError):
        return None


def _remove_stale(lock: Path) -> bool:
    """Remove a stale lock, one process at a time: a takeover is itself claimed with
    O_EXCL, and the lock is checked again under it (another may have taken it over since)."""
    guard = lock.with_name(lock.name + ".takeover")
    try:
        with open(guard, "x"):
            pass
    except FileExistsError:
        if _age(guard) > UNREADABLE_LOCK_SECONDS:  # a takeover that was killed
            with contextlib.suppress(OSError):
                guard.unlink()
        return False
    try:
        if writer_of(lock.parent) is None:
            with contextlib.suppress(FileNotFoundError):
                lock.unlink()
            return True
        return False
    finally:
        with contextlib.suppress(OSError):
            guard.unlink()


def _unlock(folder: RunFolder) -> None:
    """Remove the folder's lock if it is still this claim's."""
    if not folder.lock:
        return
    lock = folder.path / LOCK_FILE
    writer = _read_lock_quietly(lock)
    if writer is not None and writer.token == folder.lock:
        with contextlib.suppress(OSError):
            lock.unlink()


# -- claiming -----------------------------------------------------------------------------------


def path_problem(path: str | Path) -> str | None:
    """Why path cannot be a run folder, found without touching it (a name too long, a
    broken link, a file), or None."""
    folder = Path(path).expanduser()
    problem = name_problem(folder)
    if problem:
        return f"The run folder {folder} cannot be made: {problem}."
    problem = broken_link_problem(folder)
    if problem:
        return f"The run folder {problem}."
    if folder.exists() and not folder.is_dir():
        return (f"The run folder {folder} is a file, not a folder. Choose a folder for the "
                "run (a new one is created if it does not exist).")
    return None


def claim(path: str | Path, resume_from: str | Path | None = None) -> RunFolder:
    """Make path this run's folder: lock it, refuse another run's folder, prove it writable.

    Raises `RunFolderError` with a sentence saying what is wrong and what to do.
    """
    folder = Path(path).expanduser()
    problem = path_problem(folder)
    if problem:
        raise RunFolderError(problem)
    writer = writer_of(folder)
    if writer is not None:
        raise RunFolderError(busy_message(folder, writer))
    created = folder in _reserved or not folder.exists()
    _reserved.discard(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        token, note = _take_lock(folder)  # writing the lock proves the folder writable
    except OSError as error:
        if created:
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise RunFolderError(
            f"The run folder {folder} cannot be written ({error.strerror or error}). "
            "Choose a folder you can write to; nothing was trained.") from error
    claimed = RunFolder(folder, created, token, note)
    # Checked under the lock: a run that ended a moment ago may have filled the folder.
    if holds_run(folder) and not continues_own_run(folder, resume_from):
        release(claimed)
        raise RunFolderError(
            f"The run folder {folder} already holds a run, and runs are never mixed in one "
            f"folder. {held_run_advice(folder)}.")
    return claimed


def release(folder: RunFolder) -> bool:
    """End the claim: remove the lock, and the folder if this run created it and left
    nothing in it; True if the folder was removed."""
    _unlock(folder)
    if not folder.created:
        return False
    try:
        folder.path.rmdir()  # only succeeds on an empty folder
    except OSError:
        return False
    return True


def write_config(folder: RunFolder, config: dict) -> None:
    write_text_atomic(folder.path / CONFIG_FILE, json.dumps(config, indent=2))


def write_metrics(folder: RunFolder, records: list[dict]) -> None:
    """Replace metrics.jsonl with these records: a resumed run's record starts clean."""
    write_text_atomic(folder.path / METRICS_FILE,
                      "".join(json.dumps(record) + "\n" for record in records))


def append_metrics(folder: RunFolder, record: dict) -> None:
    with open(folder.path / METRICS_FILE, "a", encoding="utf-8") as metrics:
        metrics.write(json.dumps(record) + "\n")
