"""A run folder's record (metrics.jsonl, the runs listing) never claims an epoch its
checkpoint lacks: not when the run is killed between the two writes, not on a full disk."""

from __future__ import annotations

import errno
import json
import subprocess
import sys
from pathlib import Path

import pytest

import engine.training.recording as recording_module
from engine.config import TrainConfig
from engine.records import runs
from engine.records.checkpoint import load_checkpoint
from engine.training.trainer import Trainer

REPO = Path(__file__).resolve().parents[2]

# A run of 3 epochs killed outright (os._exit: no cleanup, as kill -9) at a point of its
# second epoch's save: before the checkpoint is written, or after it, before the record line.
KILLED_RUN = """
import os, sys
import engine.records.run_folder, engine.training.recording
from engine.config import TrainConfig
from engine.training.trainer import Trainer

data_dir, run_dir, where = sys.argv[1:4]
saves = []
real_save = engine.training.recording.save_checkpoint
real_append = engine.records.run_folder.append_metrics

def save(path, ckpt):
    saves.append(ckpt.epoch)
    if where == "before the checkpoint" and ckpt.epoch == 2:
        os._exit(9)
    return real_save(path, ckpt)

def append(folder, record):
    if where == "after the checkpoint" and record["epoch"] == 2:
        os._exit(9)
    return real_append(folder, record)

engine.training.recording.save_checkpoint = save
engine.records.run_folder.append_metrics = append
config = TrainConfig(arch="softmax", dataset="mnist", data_dir=data_dir, epochs=3,
                     batch_size=20, device="cpu", threads=1)
Trainer(config, run_dir=run_dir, tensorboard=False).run(lambda event: None)
"""


def metrics_epochs(folder: Path) -> list[int]:
    return [json.loads(line)["epoch"]
            for line in (folder / "metrics.jsonl").read_text().splitlines() if line.strip()]


@pytest.mark.parametrize("where", ["before the checkpoint", "after the checkpoint"])
def test_a_run_killed_between_checkpoint_and_record_never_claims_an_unsaved_epoch(
        digits_dir, tmp_path, where):
    folder = tmp_path / "run"
    killed = subprocess.run([sys.executable, "-c", KILLED_RUN, str(digits_dir), str(folder),
                             where], cwd=REPO, capture_output=True, text=True, timeout=180)
    assert killed.returncode == 9, killed.stderr

    saved = load_checkpoint(folder / "checkpoint.pt").epoch
    assert saved == (1 if where == "before the checkpoint" else 2)
    assert metrics_epochs(folder) == [1]  # nothing beyond what the checkpoint holds
    listed = runs.read_run(folder)
    assert listed.epochs_done <= saved and listed.status == "interrupted"

    # Continued from the checkpoint, the record is written again to match it.
    config = TrainConfig(arch="softmax", dataset="mnist", data_dir=str(digits_dir), epochs=3,
                         batch_size=20, device="cpu", threads=1)
    end = Trainer(config, run_dir=folder, resume_from=folder / "checkpoint.pt",
                  tensorboard=False).run(lambda event: None)
    assert end.epochs_done == 3, end.message
    assert metrics_epochs(folder) == [1, 2, 3] == [r["epoch"] for r in
                                                    runs.read_run(folder).history]


def test_a_full_disk_leaves_no_record_of_the_unsaved_epoch_and_says_so(digits_dir, tmp_path,
                                                                        monkeypatch):
    real_save = recording_module.save_checkpoint

    def full_on_the_second_save(path, ckpt):
        if ckpt.epoch == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(path, ckpt)

    monkeypatch.setattr(recording_module, "save_checkpoint", full_on_the_second_save)
    folder = tmp_path / "run"
    config = TrainConfig(arch="softmax", dataset="mnist", data_dir=str(digits_dir), epochs=3,
                         batch_size=20, device="cpu")
    end = Trainer(config, run_dir=folder, tensorboard=False).run(lambda event: None)

    assert end.reason == "failed"
    assert f"The disk holding the run folder {folder} is full" in end.message
    assert "The model after epoch 2 was kept but not saved" in end.message
    assert f"{folder / 'checkpoint.pt'} holds the model after epoch 1" in end.message
    assert load_checkpoint(folder / "checkpoint.pt").epoch == 1
    assert metrics_epochs(folder) == [1]
    assert runs.read_run(folder).epochs_done == 1


def test_a_record_that_fails_after_the_checkpoint_is_saved_says_the_checkpoint_is_saved(
        digits_dir, tmp_path, monkeypatch):
    import engine.records.run_folder as run_folder_module

    real_append = run_folder_module.append_metrics

    def full_for_the_record(folder, record):
        if record["epoch"] == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_append(folder, record)

    monkeypatch.setattr(run_folder_module, "append_metrics", full_for_the_record)
    folder = tmp_path / "run"
    config = TrainConfig(arch="softmax", dataset="mnist", data_dir=str(digits_dir), epochs=3,
                         batch_size=20, device="cpu")
    end = Trainer(config, run_dir=folder, tensorboard=False).run(lambda event: None)

    assert end.reason == "failed" and "is full" in end.message
    assert f"after epoch 2 was kept and saved in {folder / 'checkpoint.pt'}" in end.message
    assert end.checkpoint_path == str(folder / "checkpoint.pt")
    assert load_checkpoint(folder / "checkpoint.pt").epoch == 2 and metrics_epochs(folder) == [1]
