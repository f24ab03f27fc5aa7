"""How a run's end reaches the window: honest labels, a model kept whatever a panel does,
unexpected errors shown to the person, and no run folder left by a run that trained nothing."""

from __future__ import annotations

import sys

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from engine.config import TrainConfig
from gui.errors import ErrorReporter
from tests.gui.windows import open_window

RUN_TIMEOUT_MS = 120_000


@pytest.fixture
def window(qtbot, tmp_path, data_dir):
    window = open_window(qtbot, tmp_path)
    window.settings_panel.set_config(TrainConfig(
        arch="mlp", dataset="mnist", data_dir=str(data_dir), epochs=2, batch_size=20,
        device="cpu"))
    return window


@pytest.fixture
def reporter(window):
    reporter = ErrorReporter(window, window.log.append_text)
    reporter.install()
    yield reporter
    reporter.uninstall()
    if reporter.dialog is not None:
        reporter.dialog.close()


def train_to_the_end(qtbot, window):
    window.settings_dock.train_button.click()
    with qtbot.waitSignal(window.controller.session.finished, timeout=RUN_TIMEOUT_MS) as finished:
        pass
    return finished.args[0]


def error_dialogs() -> list[QMessageBox]:
    return [w for w in QApplication.topLevelWidgets()
            if isinstance(w, QMessageBox) and w.isVisible()
            and w.windowTitle() == "Unexpected error"]


@pytest.mark.qt_no_exception_capture
def test_a_panel_that_fails_at_the_runs_end_loses_nothing(qtbot, window, reporter,
                                                         monkeypatch):
    def broken_end_run(end):
        raise RuntimeError("the progress panel broke")

    monkeypatch.setattr(window.progress, "end_run", broken_end_run)
    end = train_to_the_end(qtbot, window)

    assert end.reason == "finished"
    # The run's model is kept, and the window is ready for the next run.
    assert window.checkpoint is not None and window.checkpoint.epoch == 2
    assert window.files.save_action.isEnabled() and window.settings_dock.train_button.isEnabled()
    assert not window.settings_dock.stop_button.isEnabled()
    assert window.status_text() == "Ready"  # not "Training on CPU" from the run
    assert window.banner.text().startswith("Finished 2 epochs")
    assert "Finished 2 epochs" in window.log.text()  # the later steps still ran
    # And the person is told, once.
    qtbot.waitUntil(lambda: len(error_dialogs()) == 1)
    assert "the progress panel broke" in error_dialogs()[0].text()
    assert "Unexpected error: RuntimeError: the progress panel broke" in window.log.text()


@pytest.mark.qt_no_exception_capture
def test_a_failing_timer_slot_is_shown_once_and_repeats_only_logged(qtbot, window, reporter):
    def tick():
        raise ValueError("the canvas's timer broke")

    for _ in range(5):
        QTimer.singleShot(0, tick)
    qtbot.waitUntil(lambda: "again (4 times since it was shown)" in window.log.text())

    assert len(error_dialogs()) == 1
    assert window.log.text().count("Unexpected error: ValueError: the canvas's timer") == 1


@pytest.mark.qt_no_exception_capture
def test_the_hook_keeps_printing_to_the_terminal(qtbot, window, reporter, capsys):
    try:
        raise KeyError("printed too")
    except KeyError:
        sys.excepthook(*sys.exc_info())
    assert "KeyError: 'printed too'" in capsys.readouterr().err
    qtbot.waitUntil(lambda: "printed too" in window.log.text())


def test_a_run_that_learned_nothing_is_labelled_in_the_window(qtbot, window, data_dir):
    window.settings_panel.set_config(window.settings_panel.config().replace(
        arch="lenet5", optimizer="sgd", lr=10.0))
    end = train_to_the_end(qtbot, window)

    assert end.reason == "learned_nothing"
    assert window.banner.kind() == "learned_nothing"
    assert window.banner.text().startswith("Learned nothing")
    assert window.progress.state_text() == "Learned nothing"
    assert window.checkpoint is not None and window.files.save_action.isEnabled()  # still kept


def test_train_then_stop_twenty_times_leaves_no_run_folders(qtbot, window, tmp_path):
    for _ in range(20):
        window.settings_dock.train_button.click()
        session = window.controller.session
        with qtbot.waitSignal(session.finished, timeout=RUN_TIMEOUT_MS) as finished:
            window.settings_dock.stop_button.click()
        assert finished.args[0].reason == "stopped"
    assert "nothing was trained yet, nothing was saved" in window.banner.text()
    assert window.banner.button("Open folder") is None  # no folder to open
    runs = tmp_path / "runs"
    assert not runs.exists() or list(runs.iterdir()) == []
    assert window.checkpoint is None and not window.files.save_action.isEnabled()
