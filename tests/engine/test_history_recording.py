"""A run's history in its folder: samples.npz matches every epoch's reported test accuracy
exactly, epochs/ holds a checkpoint per epoch that reproduces it, both are written before
the epoch's CheckpointSaved and continued on resume, and neither makes a folder a run."""

from __future__ import annotations

import errno
import shutil

import numpy as np
import pytest

import engine.records.epoch_checkpoints as epoch_checkpoints_module
import engine.training.recording as recording_module
from engine.analysis import Evaluation
from engine.config import TrainConfig
from engine.events import CheckpointSaved, EpochEnd, LogLine, RunStart
from engine.records import run_folder, runs
from engine.records.epoch_checkpoints import (
    epoch_checkpoint_path,
    load_epoch_checkpoint,
    saved_epochs,
)
from engine.records.sample_history import load_history, samples_path, save_history
from engine.training.checkpoint_eval import evaluate_checkpoint
from engine.training.trainer import Trainer


def small_config(digits_dir, **changes) -> TrainConfig:
    """A run whose test accuracy changes from epoch to epoch (22%, 77%, 98%)."""
    return TrainConfig(arch="mlp", dataset="mnist", data_dir=str(digits_dir), epochs=3,
                       batch_size=20, optimizer="sgd", lr=3e-3, device="cpu", seed=3,
                       threads=1).replace(**changes)


def train(config, folder, **kwargs):
    events = []
    end = Trainer(config, run_dir=folder, tensorboard=False, **kwargs).run(events.append)
    assert end.reason in ("finished", "learned_nothing"), end.message
    return events


def of(events, kind):
    return [event for event in events if isinstance(event, kind)]


@pytest.fixture(scope="module")
def finished(digits_dir, tmp_path_factory):
    """A 3-epoch run's folder, and its events with what the folder held at each
    CheckpointSaved."""
    folder = tmp_path_factory.mktemp("runs") / "run"
    events, seen_at_save = [], {}

    def listen(event):
        events.append(event)
        if isinstance(event, CheckpointSaved):
            history = load_history(folder)
            seen_at_save[event.epoch] = (len(history), saved_epochs(folder))

    Trainer(small_config(digits_dir), run_dir=folder, tensorboard=False).run(listen)
    return folder, events, seen_at_save


def copy_of(folder, tmp_path):
    return shutil.copytree(folder, tmp_path / "copy")


def test_the_history_matches_each_epoch_s_reported_test_accuracy_exactly(finished):
    folder, events, _ = finished
    history = load_history(folder)
    ends = of(events, EpochEnd)
    assert history.epochs.tolist() == [1, 2, 3] and history.predicted.shape == (3, 60)
    for end in ends:
        assert history.accuracy_at(end.epoch) == end.test_acc
        kept = history.evaluation_at(end.epoch)
        assert np.array_equal(kept.predicted, end.evaluation.predicted)
        assert np.allclose(kept.true_probs, end.evaluation.true_probs, atol=1e-3)
    assert history.test_index.tolist() == list(range(60))


def test_history_and_epoch_are_written_before_the_epoch_s_checkpoint_saved(finished):
    _, _, seen_at_save = finished
    assert seen_at_save == {1: (1, [1]), 2: (2, [1, 2]), 3: (3, [1, 2, 3])}


def test_each_epoch_s_checkpoint_loads_and_reproduces_that_epoch_s_test_accuracy(finished):
    folder, events, _ = finished
    assert of(events, RunStart)[0].keeps_epochs
    assert saved_epochs(folder) == [1, 2, 3]
    for end in of(events, EpochEnd):
        checkpoint = load_epoch_checkpoint(folder, end.epoch)
        assert checkpoint.epoch == end.epoch and checkpoint.optimizer_state is None
        assert evaluate_checkpoint(epoch_checkpoint_path(folder, end.epoch)).accuracy \
            == end.test_acc


def test_an_epoch_not_kept_is_refused_with_what_to_open_instead(finished):
    folder, _, _ = finished
    with pytest.raises(Exception, match="Epoch 7's weights are not kept .* best.pt"):
        load_epoch_checkpoint(folder, 7)


def test_a_resumed_run_continues_the_history_and_the_epochs(finished, digits_dir, tmp_path):
    folder = copy_of(finished[0], tmp_path)
    before = load_history(folder)
    events = train(small_config(digits_dir, epochs=4), folder,
                   resume_from=folder / "checkpoint.pt")
    history = load_history(folder)
    assert history.epochs.tolist() == [1, 2, 3, 4]
    assert np.array_equal(history.predicted[:3], before.predicted)
    assert history.accuracy_at(4) == of(events, EpochEnd)[0].test_acc
    assert saved_epochs(folder) == [1, 2, 3, 4]


def test_a_run_killed_after_its_history_before_its_checkpoint_is_continued_cleanly(
        finished, digits_dir, tmp_path):
    """A kill between the history's write and the checkpoint's leaves them an epoch ahead:
    the continued run cuts them back to the checkpoint's epoch."""
    folder = copy_of(finished[0], tmp_path)
    history = load_history(folder)
    ahead = history.evaluation_at(3)
    for epoch in (4, 5):
        history = history.with_epoch(Evaluation(epoch, 10, ahead.labels, ahead.top_classes,
                                                ahead.top_probs, ahead.true_probs))
        shutil.copyfile(epoch_checkpoint_path(folder, 3), epoch_checkpoint_path(folder, epoch))
    save_history(folder, history)

    events = train(small_config(digits_dir, epochs=4), folder,
                   resume_from=folder / "checkpoint.pt")
    history = load_history(folder)
    assert history.epochs.tolist() == [1, 2, 3, 4]
    assert history.accuracy_at(4) == of(events, EpochEnd)[0].test_acc
    assert saved_epochs(folder) == [1, 2, 3, 4]  # epoch 5's leftover is gone


def test_a_run_resumed_into_a_new_folder_carries_the_history_up_to_its_checkpoint(
        finished, digits_dir, tmp_path):
    source = finished[0]
    folder = tmp_path / "continued"
    train(small_config(digits_dir, epochs=4), folder, resume_from=source / "best.pt")
    best = runs.read_run(source).best_epoch
    history = load_history(folder)
    assert history.epochs.tolist() == [*range(1, best + 1), 4]
    assert np.array_equal(history.predicted[:best], load_history(source).predicted[:best])
    assert saved_epochs(folder) == [4]  # the weights of earlier epochs stay where they are


def test_a_run_resumed_from_an_epoch_s_checkpoint_carries_the_history_up_to_it(
        finished, digits_dir, tmp_path):
    source = finished[0]
    folder = tmp_path / "from-epoch-1"
    events = train(small_config(digits_dir, epochs=2), folder,
                   resume_from=epoch_checkpoint_path(source, 1))
    history = load_history(folder)
    assert history.epochs.tolist() == [1, 2]
    assert np.array_equal(history.predicted[0], load_history(source).predicted[0])
    assert history.accuracy_at(2) == of(events, EpochEnd)[0].test_acc


def test_a_damaged_history_is_said_and_begun_again_when_the_run_continues(
        finished, digits_dir, tmp_path):
    folder = copy_of(finished[0], tmp_path)
    samples_path(folder).write_bytes(b"PK\x03\x04 cut off")
    events = train(small_config(digits_dir, epochs=4), folder,
                   resume_from=folder / "checkpoint.pt")
    warnings = [e.message for e in of(events, LogLine) if e.level == "warning"]
    assert any(m.startswith("Each image's history starts again at epoch 4: The sample "
                            "history") and "is damaged" in m for m in warnings)
    assert load_history(folder).epochs.tolist() == [4]


def test_a_model_over_the_limit_keeps_no_epochs_and_says_so_once(digits_dir, tmp_path,
                                                                   monkeypatch):
    monkeypatch.setattr(epoch_checkpoints_module, "EPOCH_LIMIT_BYTES", 1000)
    folder = tmp_path / "run"
    events = train(small_config(digits_dir, epochs=2), folder)
    notes = [e.message for e in of(events, LogLine)
             if "only best.pt and checkpoint.pt are kept, not every epoch" in e.message]
    assert len(notes) == 1 and notes[0].startswith("Multilayer perceptron's weights are ")
    assert not of(events, RunStart)[0].keeps_epochs
    assert saved_epochs(folder) == [] and not (folder / "epochs").exists()
    assert len(load_history(folder)) == 2  # the history is kept whatever the model's size


def test_a_run_without_a_folder_keeps_nothing(digits_dir):
    events = []
    Trainer(small_config(digits_dir, epochs=1), tensorboard=False).run(events.append)
    assert not of(events, RunStart)[0].keeps_epochs


def test_a_folder_holding_only_a_history_is_not_a_run(finished, tmp_path):
    runs_dir = tmp_path / "runs"
    folder = runs_dir / "leftover"
    (folder / "epochs").mkdir(parents=True)
    shutil.copyfile(samples_path(finished[0]), samples_path(folder))
    shutil.copyfile(epoch_checkpoint_path(finished[0], 1), epoch_checkpoint_path(folder, 1))
    assert not run_folder.holds_run(folder) and not runs.is_run_folder(folder)
    assert runs.list_runs(runs_dir) == []
    claimed = run_folder.claim(folder)  # a new run may use it
    run_folder.release(claimed)


def test_a_fresh_run_in_such_a_folder_leaves_no_stale_epochs(finished, digits_dir, tmp_path):
    folder = tmp_path / "leftover"
    (folder / "epochs").mkdir(parents=True)
    for epoch in (1, 2, 3):
        shutil.copyfile(epoch_checkpoint_path(finished[0], 1),
                        epoch_checkpoint_path(folder, epoch))
    train(small_config(digits_dir, epochs=1), folder)
    assert saved_epochs(folder) == [1] and load_history(folder).epochs.tolist() == [1]


def test_a_first_save_that_fails_leaves_no_history_behind(digits_dir, tmp_path, monkeypatch):
    def full_disk(path, ckpt):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(recording_module, "save_checkpoint", full_disk)
    folder = tmp_path / "run"
    end = Trainer(small_config(digits_dir, epochs=2), run_dir=folder,
                  tensorboard=False).run(lambda event: None)
    assert end.reason == "failed"
    assert not samples_path(folder).exists() and not (folder / "epochs").exists()


def test_deleting_a_run_deletes_its_history_and_epochs(finished, tmp_path):
    folder = copy_of(finished[0], tmp_path)
    runs.delete_run(folder)
    assert not folder.exists()


@pytest.mark.slow
def test_three_lenet5_epochs_on_the_bundled_sample_leave_a_history_and_three_epochs(tmp_path):
    """The issue's measure of done: an epochs x 2,000 history, and one loadable checkpoint
    per epoch that reproduces that epoch's test accuracy."""
    folder = tmp_path / "run"
    config = TrainConfig(arch="lenet5", dataset="mnist-sample", epochs=3, device="cpu",
                         threads=1)
    events = train(config, folder)
    history = load_history(folder)
    assert history.predicted.shape == (3, 2000) and saved_epochs(folder) == [1, 2, 3]
    ends = of(events, EpochEnd)
    assert [history.accuracy_at(end.epoch) for end in ends] == [end.test_acc for end in ends]
    assert all(load_epoch_checkpoint(folder, end.epoch).epoch == end.epoch for end in ends)
    # The first epoch's, the furthest from the final model (every epoch's: the test above).
    assert evaluate_checkpoint(epoch_checkpoint_path(folder, 1)).accuracy == ends[0].test_acc
