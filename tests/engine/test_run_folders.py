"""Run folders: one run per folder, checked before training, nothing claimed that was not
saved, and nothing left behind by a run that trained nothing."""

from __future__ import annotations

import errno
import json
import os
import time
from pathlib import Path

import pytest

import engine.training.distributed as distributed_module
import engine.training.recording as recording_module
import engine.training.setup as training_setup
from engine.config import TrainConfig
from engine.control import Control
from engine.events import BatchEnd, EpochEnd, RunStart
from engine.records.checkpoint import load_checkpoint
from engine.records.run_folder import (
    RunFolderError,
    claim,
    new_run_dir,
    numbered_sibling,
    release,
    run_dir_for,
)
from engine.training.trainer import Trainer


@pytest.fixture
def config(digits_dir) -> TrainConfig:
    return TrainConfig(arch="mlp", dataset="mnist", data_dir=str(digits_dir), epochs=2,
                       batch_size=20, lr=3e-3, device="cpu", seed=1)


def run(config, **kwargs):
    events = []
    end = Trainer(config, **kwargs).run(events.append, kwargs.pop("control", None))
    return end, events


def epochs_in(folder: Path) -> list[int]:
    lines = (folder / "metrics.jsonl").read_text().splitlines()
    return [json.loads(line)["epoch"] for line in lines]


def _diverge_after(monkeypatch, batches: int) -> None:
    """The built model's training outputs turn NaN after `batches` forward passes."""
    real_build = training_setup.build_model

    def build(*args):
        model = real_build(*args)
        calls = {"n": 0}

        def hook(module, inputs, output):
            if module.training:
                calls["n"] += 1
                if calls["n"] > batches:
                    return output * float("nan")
            return output

        model.register_forward_hook(hook)
        return model

    monkeypatch.setattr(training_setup, "build_model", build)


# -- never mixed ------------------------------------------------------------------------


def test_a_folder_holding_a_run_is_refused_and_left_as_it_was(config, tmp_path):
    folder = tmp_path / "run"
    assert run(config, run_dir=folder)[0].reason == "finished"
    before = {name: (folder / name).read_bytes() for name in
              ("checkpoint.pt", "config.json", "metrics.jsonl")}

    end, events = run(config.replace(epochs=1, lr=1e-3), run_dir=folder)

    assert end.reason == "failed" and end.checkpoint_path is None
    assert "already holds a run" in end.message
    assert str(folder / "checkpoint.pt") in end.message  # how to continue it instead
    assert not [e for e in events if isinstance(e, BatchEnd)]  # refused before training
    assert {name: (folder / name).read_bytes() for name in before} == before


def test_a_folder_whose_run_saved_no_checkpoint_is_refused_without_offering_to_continue(
        config, tmp_path):
    folder = tmp_path / "run"  # what a run killed during its first epoch leaves
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "run.jsonl").write_text('{"event": "start"}\n')

    end, _ = run(config.replace(epochs=1), run_dir=folder)

    assert end.reason == "failed" and "already holds a run" in end.message
    assert "checkpoint.pt" not in end.message and "nothing to continue" in end.message
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "run.jsonl"]


def test_resuming_into_its_own_folder_continues_the_record_without_repeating_an_epoch(
        config, tmp_path, monkeypatch):
    folder = tmp_path / "run"
    control = Control()  # stopped after epoch 1, as a person's click would
    end = Trainer(config.replace(epochs=3), run_dir=folder).run(
        lambda e: control.stop() if isinstance(e, EpochEnd) else None, control)
    assert end.epochs_done == 1
    # A later epoch's line whose checkpoint never got written (the disk filled up).
    with open(folder / "metrics.jsonl", "a") as metrics:
        metrics.write(json.dumps({"epoch": 2, "test_acc": 0.5}) + "\n")

    end, _ = run(config.replace(epochs=3), run_dir=folder,
                 resume_from=folder / "checkpoint.pt")

    assert end.reason == "finished" and end.epochs_done == 3
    assert epochs_in(folder) == [1, 2, 3]
    assert json.loads((folder / "config.json").read_text())["epochs"] == 3
    assert load_checkpoint(folder / "checkpoint.pt").epoch == 3


def test_resuming_into_a_new_folder_writes_the_whole_record_there(config, tmp_path):
    run(config.replace(epochs=1), run_dir=tmp_path / "a")
    end, _ = run(config, run_dir=tmp_path / "b", resume_from=tmp_path / "a" / "checkpoint.pt")
    assert end.reason == "finished"
    assert epochs_in(tmp_path / "b") == [1, 2]
    assert epochs_in(tmp_path / "a") == [1]


def test_the_run_start_names_the_folder_the_run_claimed(config, tmp_path):
    _, events = run(config.replace(epochs=1), run_dir=tmp_path / "a")
    [start] = [e for e in events if isinstance(e, RunStart)]
    assert start.run_dir == str(tmp_path / "a")
    _, events = run(config.replace(epochs=1))
    [start] = [e for e in events if isinstance(e, RunStart)]
    assert start.run_dir is None


def test_numbered_sibling_is_the_first_free_name(tmp_path):
    assert numbered_sibling(tmp_path / "run") == tmp_path / "run"
    (tmp_path / "run").mkdir()
    (tmp_path / "run-2").write_text("a file counts as taken")
    assert numbered_sibling(tmp_path / "run") == tmp_path / "run-3"


def test_new_run_dirs_are_named_for_the_run_and_never_shared(tmp_path):
    first = new_run_dir(tmp_path, "lenet5", "mnist")
    assert first.parent == tmp_path and first.name.endswith("-lenet5-mnist")
    taken = set(tmp_path.iterdir())
    second = new_run_dir(tmp_path, "lenet5", "mnist")  # within the same second, or not
    assert second != first and second not in taken
    assert first.is_dir() and second.is_dir()  # reserved: made at once, never handed out twice


def test_continuing_a_run_folder_s_own_checkpoint_goes_on_in_that_folder(config, tmp_path):
    Trainer(config, run_dir=tmp_path / "run").run(lambda event: None)
    own = tmp_path / "run" / "checkpoint.pt"
    assert run_dir_for(tmp_path, "mlp", "mnist", own) == tmp_path / "run"
    elsewhere = tmp_path / "copy.pt"
    elsewhere.write_bytes(own.read_bytes())  # a copy outside a run folder: a new run
    new = run_dir_for(tmp_path, "mlp", "mnist", elsewhere)
    assert new.parent == tmp_path and new.name.endswith("-mlp-mnist")
    another = run_dir_for(tmp_path, "mlp", "mnist", None)  # reserved: never the same one
    assert "-mlp-mnist" in another.name and another != new and another.is_dir()


# -- checked before training; no claimed save that did not happen ------------------------


def _unwritable(tmp_path: Path, kind: str) -> Path:
    if kind == "file":
        (tmp_path / "a-file").write_text("x")
        return tmp_path / "a-file"
    if kind == "inside a file":
        (tmp_path / "a-file").write_text("x")
        return tmp_path / "a-file" / "run"
    if kind == "/dev/null":
        return Path("/dev/null")
    return Path("/proc/traindesk-run")


@pytest.mark.parametrize("kind", ["file", "inside a file", "/dev/null", "/proc"])
def test_a_run_folder_that_cannot_be_written_fails_before_training(config, tmp_path, kind):
    folder = _unwritable(tmp_path, kind)
    end, events = run(config, run_dir=folder)
    assert end.reason == "failed" and end.checkpoint_path is None
    assert not [e for e in events if isinstance(e, (RunStart, BatchEnd))]
    assert str(folder) in end.message
    assert "is a file" in end.message or "cannot be written" in end.message
    assert "kept" not in end.message


def test_claim_leaves_no_probe_file_and_release_removes_only_what_it_made(tmp_path):
    made = claim(tmp_path / "new")
    assert made.created and [p.name for p in made.path.iterdir()] == ["run.lock"]  # only
    assert release(made) and not made.path.exists()

    existing = tmp_path / "mine"
    existing.mkdir()
    kept = claim(existing)
    assert not kept.created and not release(kept) and existing.is_dir()
    assert list(existing.iterdir()) == []  # the lock went with the claim

    note = tmp_path / "note.txt"
    note.write_text("x")
    with pytest.raises(RunFolderError, match="is a file"):
        claim(note)


def test_a_save_that_fails_says_what_was_and_was_not_saved(config, tmp_path, monkeypatch):
    real_save = recording_module.save_checkpoint
    saves = {"n": 0}

    def full_disk_on_the_second_save(path, ckpt):
        saves["n"] += 1
        if saves["n"] == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(path, ckpt)

    monkeypatch.setattr(recording_module, "save_checkpoint", full_disk_on_the_second_save)
    trainer = Trainer(config.replace(epochs=3), run_dir=tmp_path / "run")
    end = trainer.run(lambda e: None)

    assert end.reason == "failed" and end.epochs_done == 2
    assert "No space left on device" in end.message
    assert "after epoch 2 was kept but not saved" in end.message
    assert "holds the model after epoch 1" in end.message
    assert end.checkpoint_path is None  # the model kept is not in any file
    assert load_checkpoint(tmp_path / "run" / "checkpoint.pt").epoch == 1


def test_a_first_save_that_fails_says_nothing_was_saved(config, tmp_path, monkeypatch):
    def full_disk(path, ckpt):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(recording_module, "save_checkpoint", full_disk)
    end, _ = run(config, run_dir=tmp_path / "run")
    assert end.reason == "failed" and end.checkpoint_path is None
    assert "nothing was saved" in end.message
    assert "last good epoch were kept" not in end.message


# -- nothing left by a run that trained nothing ------------------------------------------


def test_a_stop_before_the_first_epoch_ends_leaves_nothing(config, tmp_path, monkeypatch):
    monkeypatch.setattr(distributed_module, "FLUSH_SECONDS", 0.0)
    control = Control()
    folder = tmp_path / "runs" / "run"
    end = Trainer(config, run_dir=folder).run(
        lambda e: control.stop() if isinstance(e, BatchEnd) and e.step == 3 else None, control)

    assert end.reason == "stopped" and end.epochs_done == 0
    assert end.message == ("Stopped before the first epoch ended: nothing was trained yet, "
                           "nothing was saved.")
    assert end.checkpoint_path is None
    assert not folder.exists()
    assert (tmp_path / "runs").is_dir()  # only the folder the run made is removed


def test_a_stop_before_the_first_epoch_keeps_a_folder_the_person_made(config, tmp_path,
                                                                       monkeypatch):
    monkeypatch.setattr(distributed_module, "FLUSH_SECONDS", 0.0)
    folder = tmp_path / "chosen"
    folder.mkdir()
    control = Control()
    Trainer(config, run_dir=folder).run(
        lambda e: control.stop() if isinstance(e, BatchEnd) else None, control)
    assert folder.is_dir() and list(folder.iterdir()) == []


def test_a_resumed_run_stopped_before_its_first_new_epoch_saves_nothing(config, tmp_path,
                                                                        monkeypatch):
    run(config.replace(epochs=1), run_dir=tmp_path / "a")
    original = (tmp_path / "a" / "checkpoint.pt").read_bytes()
    monkeypatch.setattr(distributed_module, "FLUSH_SECONDS", 0.0)
    control = Control()
    end = Trainer(config.replace(epochs=3), run_dir=tmp_path / "b",
                  resume_from=tmp_path / "a" / "checkpoint.pt").run(
        lambda e: control.stop() if isinstance(e, BatchEnd) else None, control)
    assert end.reason == "stopped" and end.epochs_done == 1
    assert "nothing new was trained, nothing was saved" in end.message
    assert not (tmp_path / "b").exists()
    assert (tmp_path / "a" / "checkpoint.pt").read_bytes() == original


# -- the saved state is the last good one, with the settings that produced it ------------


def test_a_divergence_in_the_first_epoch_saves_nothing(config, tmp_path, monkeypatch):
    _diverge_after(monkeypatch, batches=3)
    trainer = Trainer(config, run_dir=tmp_path / "run")
    end = trainer.run(lambda e: None)
    assert end.reason == "diverged" and end.epochs_done == 0
    assert "nothing was saved" in end.message and "kept" not in end.message
    assert end.checkpoint_path is None and trainer.saved is None
    assert not (tmp_path / "run").exists()


def test_a_resumed_run_that_diverges_keeps_the_checkpoint_with_its_own_settings(
        config, tmp_path, monkeypatch):
    folder = tmp_path / "run"
    run(config.replace(epochs=1), run_dir=folder)
    _diverge_after(monkeypatch, batches=3)
    diverging = config.replace(epochs=3, lr=0.5, optimizer="sgd")
    trainer = Trainer(diverging, run_dir=folder, resume_from=folder / "checkpoint.pt")
    end = trainer.run(lambda e: None)

    assert end.reason == "diverged" and end.epochs_done == 1
    saved = load_checkpoint(folder / "checkpoint.pt")
    assert (saved.epoch, saved.config.lr, saved.config.optimizer) == (1, 3e-3, "adam")
    assert (trainer.saved.config.lr, trainer.saved.config.optimizer) == (3e-3, "adam")
    assert epochs_in(folder) == [1]


def test_a_resumed_run_that_diverges_later_saves_its_last_good_epoch_with_its_settings(
        config, tmp_path, monkeypatch):
    folder = tmp_path / "My Run"  # the message quotes the path as it is, capitals and all
    run(config.replace(epochs=1), run_dir=folder)
    _diverge_after(monkeypatch, batches=13)  # epoch 2 (10 batches) completes
    changed = config.replace(epochs=3, lr=1e-3)
    end, _ = run(changed, run_dir=folder, resume_from=folder / "checkpoint.pt")

    assert end.reason == "diverged" and end.epochs_done == 2
    assert f"saved in {folder / 'checkpoint.pt'}" in end.message
    saved = load_checkpoint(end.checkpoint_path)
    assert (saved.epoch, saved.config.lr) == (2, 1e-3)
    assert epochs_in(folder) == [1, 2]


def test_a_run_removes_temp_files_that_killed_writes_left_in_its_folder(config, tmp_path):
    folder = tmp_path / "run"
    run(config.replace(epochs=1), run_dir=folder)
    an_hour_ago = time.time() - 3600
    for name in (".config.json.dead0001.tmp", ".metrics.jsonl.dead0002.tmp",
                 ".checkpoint.pt.dead0003.tmp", ".samples.npz.dead0004.tmp"):
        (folder / name).write_text("half written")
        os.utime(folder / name, (an_hour_ago, an_hour_ago))

    run(config.replace(epochs=2), run_dir=folder, resume_from=folder / "checkpoint.pt")

    left = set(os.listdir(folder))
    assert not [name for name in left if name.endswith(".tmp")]
    # What remains is the run's record (engine/records/runs.py; TensorBoard's files when installed).
    # Each test image's history and each epoch's weights too (engine/records/sample_history.py,
    # engine/records/epoch_checkpoints.py).
    record = {"checkpoint.pt", "config.json", "metrics.jsonl", "run.jsonl", "batches.jsonl",
              "samples.npz", "epochs"}
    assert record <= left
    # best.pt too, where the resumed epoch was the best so far (engine/records/runs.py).
    assert all(name.startswith("events.out.tfevents.") for name in left - record - {"best.pt"})


def test_a_read_only_folder_is_found_by_the_probe_and_left_in_place(config, tmp_path,
                                                                   monkeypatch):
    """Root ignores permission bits, so the read-only disk is simulated at the probe."""
    import engine.records.run_folder as run_folder_module

    def read_only(path, mode="r", *args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system", str(path))

    folder = tmp_path / "mounted"
    folder.mkdir()
    monkeypatch.setattr(run_folder_module, "open", read_only, raising=False)
    end, events = run(config, run_dir=folder)

    assert end.reason == "failed"
    assert "cannot be written (Read-only file system)" in end.message
    assert not [e for e in events if isinstance(e, RunStart)]
    assert folder.is_dir()  # the person's folder stays


def test_best_pt_keeps_the_best_epochs_checkpoint_at_no_disk_cost(tmp_path, monkeypatch):
    from engine.records.run_folder import RunFolder

    folder = RunFolder(tmp_path, created=False)
    folder.checkpoint.write_bytes(b"epoch 2")
    best = folder.keep_as_best(folder.checkpoint)
    assert best == tmp_path / "best.pt" and os.path.samefile(best, folder.checkpoint)  # a link
    newer = tmp_path / "next.tmp"
    newer.write_bytes(b"epoch 3")
    os.replace(newer, folder.checkpoint)  # as save_checkpoint replaces it
    assert best.read_bytes() == b"epoch 2" and folder.checkpoint.read_bytes() == b"epoch 3"

    def no_links(source, target):
        raise OSError(1, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)  # a drive without hard links: a copy
    folder.keep_as_best(folder.checkpoint)
    assert best.read_bytes() == b"epoch 3" and not os.path.samefile(best, folder.checkpoint)
    assert not [name for name in os.listdir(tmp_path) if name.endswith(".tmp")]
