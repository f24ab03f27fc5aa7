"""Claiming a run folder: one folder holds one run's record, never two runs mixed.

A run folder holds `checkpoint.pt` (and `best.pt`, the best epoch's), `config.json`,
`metrics.jsonl` and the run's record (`run.jsonl`, `batches.jsonl`: engine/runs.py). Before
a run trains,
it claims its folder: the folder is refused if it already holds another run (unless the run
continues that folder's own checkpoint), and it is created and written to once, so a folder
that cannot be written is found before any time is spent training. A run that ends without
saving anything releases its claim: a folder it created is removed again.

Torch-free, so the CLI can check a folder before it imports torch.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from engine.atomic_files import remove_stale_temp_files, temp_path, write_text_atomic

RECORD_FILES = ("checkpoint.pt", "best.pt", "config.json", "metrics.jsonl", "run.jsonl",
                "batches.jsonl")


class RunFolderError(RuntimeError):
    """A run folder cannot be used; the message says why and what to do instead."""


@dataclass(frozen=True)
class RunFolder:
    """A claimed run folder; `created` when this run made it (and may remove it again)."""

    path: Path
    created: bool

    @property
    def checkpoint(self) -> Path:
        return self.path / "checkpoint.pt"

    @property
    def best_checkpoint(self) -> Path:
        """The checkpoint of the best epoch so far (engine/runs.py says how it is chosen)."""
        return self.path / "best.pt"

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
    """True if path is a folder with any file of a run record in it."""
    folder = Path(path).expanduser()
    return folder.is_dir() and any((folder / name).exists() for name in RECORD_FILES)


def held_run_advice(path: str | Path, resume_flag: str = "") -> str:
    """What to do about a folder that holds another run (a sentence without its full stop):
    continue it from its checkpoint, or, where that run saved none (stopped or killed before
    its first epoch ended), know that there is nothing to continue."""
    checkpoint = Path(path).expanduser() / "checkpoint.pt"
    if checkpoint.is_file():
        return f"Continue that run with {resume_flag}{checkpoint}, or choose a new folder"
    return ("That run saved no checkpoint (it was stopped or killed before its first epoch "
            "ended), so there is nothing to continue: delete the folder, or choose a new one")


def continues_own_run(path: str | Path, resume_from: str | Path | None) -> bool:
    """True if resume_from is the checkpoint inside the run folder path."""
    if resume_from is None:
        return False
    own = Path(path).expanduser() / "checkpoint.pt"
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


def new_run_dir(runs_dir: str | Path, arch: str, dataset: str) -> Path:
    """A new folder under `runs_dir`, named for the time, network and dataset: two runs
    started in the same second get two."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return numbered_sibling(Path(runs_dir) / f"{stamp}-{arch}-{dataset}")


def run_dir_for(runs_dir: str | Path, arch: str, dataset: str,
                resume_from: str | Path | None) -> Path:
    """The folder of the checkpoint continued, so that its record goes on; else a new one."""
    if resume_from is not None and continues_own_run(Path(resume_from).parent, resume_from):
        return Path(resume_from).parent
    return new_run_dir(runs_dir, arch, dataset)


def claim(path: str | Path, resume_from: str | Path | None = None) -> RunFolder:
    """Make path this run's folder: refuse another run's folder, create it, prove it writable.

    Raises `RunFolderError` with a sentence saying what is wrong and what to do.
    """
    folder = Path(path).expanduser()
    if folder.exists() and not folder.is_dir():
        raise RunFolderError(
            f"The run folder {folder} is a file, not a folder. Choose a folder for the run "
            "(a new one is created if it does not exist).")
    if holds_run(folder) and not continues_own_run(folder, resume_from):
        raise RunFolderError(
            f"The run folder {folder} already holds a run, and runs are never mixed in one "
            f"folder. {held_run_advice(folder)}.")
    created = not folder.exists()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-test-{secrets.token_hex(4)}"
        with open(probe, "xb") as stream:
            stream.write(b"traindesk")
        probe.unlink()
    except OSError as error:
        if created:
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise RunFolderError(
            f"The run folder {folder} cannot be written ({error.strerror or error}). "
            "Choose a folder you can write to; nothing was trained.") from error
    return RunFolder(folder, created)


def release(folder: RunFolder) -> bool:
    """Remove the folder if this run created it and left nothing in it; True if removed."""
    if not folder.created:
        return False
    try:
        folder.path.rmdir()  # only succeeds on an empty folder
    except OSError:
        return False
    return True


def write_config(folder: RunFolder, config: dict) -> None:
    write_text_atomic(folder.path / "config.json", json.dumps(config, indent=2))


def write_metrics(folder: RunFolder, records: list[dict]) -> None:
    """Replace metrics.jsonl with these records: a resumed run's record starts clean."""
    write_text_atomic(folder.path / "metrics.jsonl",
                      "".join(json.dumps(record) + "\n" for record in records))


def append_metrics(folder: RunFolder, record: dict) -> None:
    with open(folder.path / "metrics.jsonl", "a", encoding="utf-8") as metrics:
        metrics.write(json.dumps(record) + "\n")
