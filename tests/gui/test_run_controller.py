"""The run controller on its own, without a window: its states and signals, real runs on a
tiny generated dataset."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from engine.config import TrainConfig
from gui.run_controller import RunController, RunState
from gui.run_model import RunModel

RUN_TIMEOUT_MS = 120_000
S = RunState


@pytest.fixture
def settings(tmp_path):
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def controller(qtbot, tmp_path, settings):
    controller = RunController(RunModel(), settings, tmp_path / "runs")
    controller.seen = []  # (state, before) of every state_changed
    controller.state_changed.connect(lambda state, before: controller.seen.append(
        (state, before)))
    return controller


def ready(controller: RunController) -> RunController:
    controller.set_engine_ready()
    controller.seen.clear()
    return controller


def config(data_dir, **changes) -> TrainConfig:
    return TrainConfig(arch="mlp", dataset="mnist", data_dir=str(data_dir), epochs=2,
                       batch_size=20, device="cpu").replace(**changes)


def test_a_start_before_pytorch_has_loaded_is_held_then_due(qtbot, controller):
    assert controller.state is S.IDLE and not controller.engine_ready
    assert controller.start(TrainConfig()) is False  # no session before PyTorch
    assert controller.hold("some.pt")
    assert controller.state is S.WAITING and controller.session is None
    with qtbot.waitSignal(controller.start_due) as due, \
            qtbot.waitSignal(controller.engine_changed):
        controller.set_engine_ready()
    assert due.args == ["some.pt"]
    assert controller.state is S.IDLE and controller.engine_ready
    assert controller.seen == [(S.WAITING, S.IDLE), (S.IDLE, S.WAITING)]
    assert controller.hold() is False  # PyTorch is here: nothing to wait for


def test_stop_cancels_a_held_start_and_a_failed_load_drops_it(qtbot, controller):
    controller.hold()
    controller.stop()
    assert controller.state is S.IDLE
    due = []
    controller.start_due.connect(due.append)
    controller.hold()
    controller.set_engine_failed("PyTorch could not be loaded")
    assert controller.state is S.IDLE and controller.engine_error == "PyTorch could not be loaded"
    assert controller.hold() is False and due == []


def test_a_run_goes_loading_running_paused_running_then_idle(qtbot, controller, data_dir,
                                                             tmp_path):
    ready(controller)
    ended, kept = [], []
    controller.run_finished.connect(ended.append)
    controller.model_trained.connect(kept.append)
    started = []

    def pause_at_start(start) -> None:  # held there: the run cannot end meanwhile
        started.append((start, controller.state))
        controller.pause(config(data_dir, lr=0.01))

    controller.run.run_started.connect(pause_at_start)
    assert controller.start(config(data_dir))
    assert controller.state is S.LOADING and controller.session is not None
    assert controller.start(config(data_dir)) is False  # one run at a time
    asked = controller.run_dir
    assert asked is not None and asked.parent == tmp_path / "runs"
    qtbot.waitUntil(lambda: bool(started), timeout=RUN_TIMEOUT_MS)
    start, state_at_start = started[0]
    assert state_at_start is S.RUNNING and controller.device == "CPU"
    assert controller.run_dir == Path(start.run_dir) == asked  # the folder it claimed
    assert controller.state is S.PAUSED
    assert controller.config_at_pause.lr == 0.01
    assert controller.resume()
    with qtbot.waitSignal(controller.session.finished, timeout=RUN_TIMEOUT_MS):
        pass
    assert controller.state is S.IDLE and controller.session is None
    assert [end.reason for end in ended] == ["finished"]
    assert kept and controller.run.checkpoint is kept[0]
    assert controller.run.model_name == asked.name
    assert [state for state, _before in controller.seen] == [
        S.LOADING, S.RUNNING, S.PAUSED, S.RUNNING, S.IDLE]


def test_paused_while_loading_stays_paused_when_the_run_starts(qtbot, controller, data_dir):
    ready(controller)
    controller.start(config(data_dir))
    controller.pause(config(data_dir))
    qtbot.waitUntil(lambda: controller.run.start is not None, timeout=RUN_TIMEOUT_MS)
    assert controller.state is S.PAUSED
    with qtbot.waitSignal(controller.session.finished, timeout=RUN_TIMEOUT_MS) as finished:
        controller.stop()
        assert controller.state is S.STOPPING
        assert controller.pause(config(data_dir)) is False  # nothing holds a stop back
    assert finished.args[0].reason == "stopped" and controller.state is S.IDLE


def test_a_stop_planned_after_an_epoch_keeps_that_epoch(qtbot, controller, data_dir):
    ready(controller)
    controller.start(config(data_dir, epochs=5))
    controller.stop_after(2, closing=True)
    assert controller.stop_after_epoch == 2 and controller.closing
    assert controller.seen[-1] == (S.LOADING, S.LOADING)  # said, the state unchanged
    with qtbot.waitSignal(controller.session.finished, timeout=RUN_TIMEOUT_MS) as finished:
        pass
    assert finished.args[0].reason == "stopped" and finished.args[0].epochs_done == 2
    assert controller.stop_after_epoch is None


def test_the_runs_folder_and_tensorboard_choice_are_remembered(qtbot, tmp_path, settings,
                                                               monkeypatch):
    import gui.run_controller as module

    first = RunController(RunModel(), settings)
    with qtbot.waitSignal(first.runs_dir_changed) as changed:
        first.set_runs_dir(tmp_path / "elsewhere")
    assert changed.args == [tmp_path / "elsewhere"]
    monkeypatch.setattr(module, "tensorboard_installed", lambda: True)
    assert first.tensorboard  # on by default where installed
    first.set_tensorboard(False)
    again = RunController(RunModel(), settings)
    assert again.runs_dir == tmp_path / "elsewhere" and not again.tensorboard
    monkeypatch.setattr(module, "tensorboard_installed", lambda: False)
    again.set_tensorboard(True)
    assert not again.tensorboard  # never where it is not installed


class TwoRuns:
    """A job of two real runs one after another, sharing the session's control: what a seed
    group or a sweep is to the controller."""

    def __init__(self, data_dir, folder: Path, **changes) -> None:
        from engine.training.trainer import Trainer

        self.trainers = [Trainer(config(data_dir, seed=seed, **changes),
                                 run_dir=folder / f"seed-{seed}") for seed in (1, 2)]
        self.ends = []

    @property
    def epochs_done(self) -> int:
        return sum(trainer.epochs_done for trainer in self.trainers)

    def run(self, listener, control):
        from engine.events import RunEnd

        for trainer in self.trainers:
            self.ends.append(trainer.run(listener, control))
            if self.ends[-1].reason != "finished":
                break
        return RunEnd(self.ends[-1].reason, f"{len(self.ends)} runs", self.epochs_done)


def test_a_job_of_several_runs_has_the_states_of_a_run(qtbot, controller, data_dir, tmp_path):
    ready(controller)
    job = TwoRuns(data_dir, tmp_path / "group")
    ended, starts = [], []
    controller.run_finished.connect(ended.append)
    controller.run.run_started.connect(lambda start: starts.append(start.run_dir))
    controller.run.run_started.connect(lambda start: len(starts) == 2 and controller.pause(
        config(data_dir)))
    assert controller.start_job(job, config(data_dir), tmp_path / "group")
    assert controller.state is S.LOADING and controller.run_dir == tmp_path / "group"
    assert controller.start_job(job, config(data_dir)) is False  # one job at a time
    qtbot.waitUntil(lambda: controller.state is S.PAUSED, timeout=RUN_TIMEOUT_MS)
    assert controller.run_dir == tmp_path / "group" / "seed-2"  # the run under way
    assert controller.resume()
    qtbot.waitUntil(lambda: bool(ended), timeout=RUN_TIMEOUT_MS)
    assert ended[0].reason == "finished" and ended[0].message == "2 runs"
    assert ended[0].epochs_done == 4 and controller.session is None
    assert starts == [str(tmp_path / "group" / f"seed-{seed}") for seed in (1, 2)]
    assert [state for state, _before in controller.seen] == [
        S.LOADING, S.RUNNING, S.RUNNING, S.PAUSED, S.RUNNING, S.IDLE]


def test_a_job_stops_after_an_epoch_of_its_run_under_way_and_keeps_no_model(
        qtbot, controller, data_dir, tmp_path):
    ready(controller)
    job = TwoRuns(data_dir, tmp_path / "group", epochs=4)
    kept = []
    controller.model_trained.connect(kept.append)
    controller.start_job(job, config(data_dir, epochs=4))
    controller.stop_after(2)
    with qtbot.waitSignal(controller.session.finished, timeout=RUN_TIMEOUT_MS) as finished:
        pass
    assert finished.args[0].reason == "stopped" and finished.args[0].epochs_done == 2
    assert [end.epochs_done for end in job.ends] == [2]  # the second run never started
    assert kept == [] and controller.state is S.IDLE  # the job offers no `saved` model
