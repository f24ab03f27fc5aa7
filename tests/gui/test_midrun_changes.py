"""The window: pause, change a setting, resume (a labelled marker, a log line, kept with the
checkpoint); and continuing a stopped run (the same curves, numbering and run folder)."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

import engine.training.distributed as distributed_module
from engine.config import TrainConfig, config_fields
from engine.events import BatchEnd, EpochEnd
from engine.training.changes import CHANGEABLE
from gui.lr_input import LogSpinBox
from gui.worker import TrainingWorker
from tests.gui.windows import open_window

RUN_TIMEOUT_MS = 120_000

PLAIN_COLLECT = TrainingWorker._collect

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


@pytest.fixture
def window(qtbot, tmp_path, data_dir):
    window = open_window(qtbot, tmp_path)
    # 200 images in batches of 20: 10 batches an epoch.
    window.settings_panel.set_config(TrainConfig(
        arch="mlp", dataset="mnist", data_dir=str(data_dir), epochs=2, batch_size=20,
        lr=3e-3, device="cpu", threads=1))
    return window


def engine_acts_at(monkeypatch, step: int | None = None, epoch: int | None = None,
                   action: str = "pause") -> None:
    """Make the run pause or stop right after a given step or epoch, from the training
    thread: as a click arriving at that moment would, without racing a quick run."""
    monkeypatch.setattr(distributed_module, "FLUSH_SECONDS", 0.0)  # report every batch
    collect = TrainingWorker._collect

    def collect_and_act(worker, event):
        collect(worker, event)
        if ((isinstance(event, BatchEnd) and event.step == step)
                or (isinstance(event, EpochEnd) and event.epoch == epoch)):
            getattr(worker.control, action)()

    monkeypatch.setattr(TrainingWorker, "_collect", collect_and_act)


def test_pause_change_the_rate_resume_marks_the_plots_and_says_it(qtbot, window,
                                                                   monkeypatch):
    engine_acts_at(monkeypatch, step=3)
    qtbot.mouseClick(window.settings_dock.train_button, Qt.MouseButton.LeftButton)
    session = window.controller.session
    qtbot.waitUntil(lambda: "Paused at epoch 1, batch 4" in window.log.text(),
                    timeout=RUN_TIMEOUT_MS)
    window.commands.toggle_pause()  # the person's Pause, as the run holds
    assert window.settings_dock.pause_button.text() == "Resume"

    # While paused only the settings a run can take mid-way are unlocked.
    form = window.settings_panel
    assert sorted(form.unlocked_fields()) == sorted(CHANGEABLE)
    assert not form.findChild(QWidget, "arch").isEnabledTo(window)
    lr_box = form.findChild(LogSpinBox, "lr")
    assert lr_box.isEnabledTo(window)
    lr_box.setValue(3e-4)

    with qtbot.waitSignal(session.finished, timeout=RUN_TIMEOUT_MS) as finished:
        qtbot.mouseClick(window.settings_dock.pause_button, Qt.MouseButton.LeftButton)  # Resume
    assert finished.args[0].reason == "finished"

    label = "lr 0.003 → 0.0003"
    assert "Changed at epoch 1, batch 4: " + label in window.log.text()
    assert window.plots.markers.shown("loss") == [(3.5, label)]
    assert window.plots.markers.shown("lr") == [(3.5, label)]
    assert window.plots.markers.shown("accuracy") == [(pytest.approx(0.3), label)]
    rates = window.plots.series()["lr"]
    assert list(rates[:3]) == [3e-3] * 3 and set(rates[3:]) == {3e-4}
    assert sorted(form.unlocked_fields()) == sorted(f.name for f in config_fields())  # all again

    # Reopened later, the checkpoint shows the same marker on its curves.
    window.files.open_checkpoint(window.run.checkpoint_path)
    assert window.plots.epoch_point_count() == 2
    assert window.plots.markers.shown("accuracy") == [(pytest.approx(0.3), label)]
    assert window.plots.markers.shown("epoch_loss") == [(pytest.approx(0.3), label)]
    # Its run folder holds the per-batch curves: they come back, with the marker on them.
    qtbot.waitUntil(lambda: window.plots.batch_point_count() == len(rates), timeout=10_000)
    assert list(window.plots.series()["lr"]) == list(rates)
    assert window.plots.markers.shown("loss") == [(3.5, label)]
    assert window.plots.markers.shown("lr") == [(3.5, label)]


def test_an_invalid_change_keeps_the_run_paused_and_says_why(qtbot, window, monkeypatch):
    engine_acts_at(monkeypatch, step=3)
    qtbot.mouseClick(window.settings_dock.train_button, Qt.MouseButton.LeftButton)
    session = window.controller.session
    qtbot.waitUntil(lambda: "Paused at epoch 1, batch 4" in window.log.text(),
                    timeout=RUN_TIMEOUT_MS)
    window.commands.toggle_pause()
    window.settings_panel.findChild(LogSpinBox, "lr").setValue(50.0)
    window.commands.toggle_pause()
    assert window.settings_dock.pause_button.text() == "Resume" and session.control.paused
    assert window.banner.kind() == "failed"
    assert "Cannot resume with this change: Learning rate must be" in window.banner.text()

    window.settings_panel.findChild(LogSpinBox, "lr").setValue(1e-3)
    with qtbot.waitSignal(session.finished, timeout=RUN_TIMEOUT_MS):
        window.commands.toggle_pause()
        assert window.banner.kind() == ""
    assert window.plots.markers.shown("lr")[0][1] == "lr 0.003 → 0.001"


def test_continuing_a_stopped_run_keeps_its_curves_numbering_and_folder(qtbot, window,
                                                                        monkeypatch, tmp_path):
    engine_acts_at(monkeypatch, step=15, action="stop")  # mid-way through epoch 2
    qtbot.mouseClick(window.settings_dock.train_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(window.controller.session.finished, timeout=RUN_TIMEOUT_MS) as finished:
        pass
    assert finished.args[0].reason == "stopped" and finished.args[0].epochs_done == 1
    first_losses = window.plots.series()["loss"][:10].copy()

    # Two more epochs, continued from the checkpoint of epoch 1: three in all.
    monkeypatch.setattr(TrainingWorker, "_collect", PLAIN_COLLECT)  # no stop this time
    window.settings_panel.set_config(window.settings_panel.config().replace(epochs=2))
    window.commands.resume_action.trigger()
    session = window.controller.session
    # While it loads, the curves of the run it continues stay on screen.
    assert window.plots.epoch_point_count() == 1
    with qtbot.waitSignal(session.finished, timeout=RUN_TIMEOUT_MS) as finished:
        pass
    assert finished.args[0].reason == "finished"

    series = window.plots.series()
    # Batches 1-10 are the first run's; its unfinished epoch 2 (11-15) was trained again.
    assert list(series["step"]) == list(range(1, 31))
    assert list(series["loss"][:10]) == list(first_losses)
    assert list(series["epoch"]) == [1, 2, 3]
    assert window.progress.epoch_text().startswith("Epoch 3 / 3")
    assert "Resumed after epoch 1" in window.log.text()
    # The run folder goes on: one folder, its record holds all three epochs.
    folders = list((tmp_path / "runs").iterdir())
    assert len(folders) == 1
    lines = (folders[0] / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [1, 2, 3]
