"""Claiming a run folder: one writer at a time (a lock naming its process and computer),
stale locks taken over, names a file system cannot hold and broken links explained."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.fault_kit import claim_race
from engine.config import TrainConfig
from engine.events import LogLine
from engine.records import run_folder
from engine.records.run_folder import LOCK_FILE, RunFolderError, claim, release
from engine.training.trainer import Trainer


@pytest.fixture
def config(digits_dir) -> TrainConfig:
    return TrainConfig(arch="softmax", dataset="mnist", data_dir=str(digits_dir), epochs=1,
                       batch_size=20, device="cpu", seed=1)


def write_lock(folder: Path, pid: int, host: str | None = None,
               started: float | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lock = folder / LOCK_FILE
    lock.write_text(json.dumps({"pid": pid, "host": host or socket.gethostname(),
                                "started": time.time() if started is None else started,
                                "token": "theirs"}))
    return lock


def a_finished_process_id() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_of_processes_claiming_one_folder_at_the_same_moment_exactly_one_wins(tmp_path):
    folder = tmp_path / "run"
    answers = claim_race(folder, processes=4)  # real processes, released at one moment

    winners = [pid for what, pid, _ in answers if what == "claimed"]
    assert len(winners) == 1, answers
    host = socket.gethostname()
    for what, _, message in answers:
        if what == "refused":
            assert f"being written by process {winners[0]} on {host}" in message
            assert "delete" not in message
    assert not (folder / LOCK_FILE).exists()  # the winner's release removed it


def test_without_hard_links_the_lock_is_made_with_o_excl_all_the_same(tmp_path, monkeypatch):
    def no_links(source, target):
        raise OSError(1, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)  # some network and FAT drives
    claimed = claim(tmp_path / "run")
    lock = json.loads((tmp_path / "run" / LOCK_FILE).read_text())
    assert (lock["pid"], lock["host"]) == (os.getpid(), socket.gethostname())
    with pytest.raises(RunFolderError, match=f"being written by process {os.getpid()}"):
        claim(tmp_path / "run")
    release(claimed)
    assert not (tmp_path / "run").exists()  # made by the claim, left empty: gone, lock and all


def test_a_folder_whose_run_is_alive_is_refused_by_name_and_left_alone(config, tmp_path):
    folder = tmp_path / "run"
    lock = write_lock(folder, os.getppid())  # a live process: the one that started pytest
    events = []
    end = Trainer(config, run_dir=folder).run(events.append)

    assert end.reason == "failed"
    assert f"being written by process {os.getppid()} on {socket.gethostname()}" in end.message
    assert "delete" not in end.message
    assert lock.exists() and os.listdir(folder) == [LOCK_FILE]  # nothing of ours in it


def test_a_stale_lock_is_taken_over_and_said(config, tmp_path):
    folder = tmp_path / "run"
    dead = a_finished_process_id()
    write_lock(folder, dead)
    events = []
    end = Trainer(config, run_dir=folder).run(events.append)

    assert end.reason in ("finished", "learned_nothing"), end.message
    notes = [e.message for e in events if isinstance(e, LogLine) and "Took over" in e.message]
    assert len(notes) == 1 and f"process {dead} on {socket.gethostname()}" in notes[0]
    assert "no longer running" in notes[0]
    assert not (folder / LOCK_FILE).exists()  # released at the run's end


def test_a_process_number_reused_since_the_lock_counts_as_gone(tmp_path):
    folder = tmp_path / "run"
    write_lock(folder, os.getpid(), started=1_000_000.0)  # 1970: this process came later
    claimed = claim(folder)
    assert "Took over" in claimed.note
    release(claimed)


def test_another_computer_s_lock_is_refused_with_how_to_clear_it(tmp_path):
    folder = tmp_path / "run"
    lock = write_lock(folder, 4242, host="gpu-node-7")
    with pytest.raises(RunFolderError) as refused:
        claim(folder)
    message = str(refused.value)
    assert "being written by process 4242 on gpu-node-7" in message
    assert f"delete {lock}" in message


def test_the_lock_goes_when_a_run_ends_in_any_way(config, tmp_path):
    finished = tmp_path / "finished"
    Trainer(config, run_dir=finished).run(lambda e: None)
    assert (finished / "checkpoint.pt").exists() and not (finished / LOCK_FILE).exists()

    from engine.control import Control

    control = Control()
    control.stop()
    stopped = tmp_path / "stopped"
    Trainer(config, run_dir=stopped).run(lambda e: None, control)
    assert not stopped.exists()  # made by the run, left empty: removed, lock and all

    failing = tmp_path / "failing"
    failing.mkdir()
    end = Trainer(config.replace(dataset="folder", data_dir=str(tmp_path / "none")),
                  run_dir=failing).run(lambda e: None)
    assert end.reason == "failed" and os.listdir(failing) == []


def test_a_reserved_new_folder_is_never_shared_and_goes_if_never_claimed(tmp_path):
    first = run_folder.reserve(tmp_path / "run")
    second = run_folder.reserve(tmp_path / "run")
    assert (first, second) == (tmp_path / "run", tmp_path / "run-2") and second.is_dir()
    claimed = claim(first)
    assert claimed.created and release(claimed) and not first.exists()
    run_folder.unreserve(second)
    assert not second.exists()


def test_an_invalid_setting_removes_the_folder_reserved_for_the_run(config, tmp_path):
    folder = run_folder.run_dir_for(tmp_path, "softmax", "mnist", None)
    assert folder.is_dir()
    end = Trainer(config.replace(lr=-1.0), run_dir=folder).run(lambda e: None)
    assert end.reason == "failed" and not folder.exists()


# -- names and links ---------------------------------------------------------------------------


def test_a_name_over_255_bytes_is_explained_not_a_traceback(config, tmp_path):
    folder = tmp_path / ("r" * 300)
    with pytest.raises(RunFolderError, match="300 bytes long.*at most 255 bytes"):
        claim(folder)
    end = Trainer(config, run_dir=folder).run(lambda e: None)
    assert end.reason == "failed" and "choose a shorter name" in end.message
    # bytes, not characters: 100 three-byte characters are 300 bytes
    assert "300 bytes" in run_folder.name_problem(tmp_path / ("€" * 100))
    assert run_folder.name_problem(tmp_path / ("€" * 85)) is None


def test_a_broken_link_as_run_folder_says_where_it_points(tmp_path):
    link = tmp_path / "runs-link"
    target = tmp_path / "unmounted" / "runs"
    link.symlink_to(target)
    with pytest.raises(RunFolderError) as refused:
        claim(link)
    message = str(refused.value)
    assert "is a broken link" in message and str(target) in message
    assert "File exists" not in message
    assert link.is_symlink() and not target.exists()
