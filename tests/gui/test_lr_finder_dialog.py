"""The learning-rate finder in the window: the button, the test on the training thread, the
curve with its suggestions, "Use", Stop, and closing mid-test."""

from __future__ import annotations

import math
import time

import pytest
from PySide6.QtCore import QObject, QThread

from engine.config import TrainConfig
from engine.lr_finder.lr_range import lr_range, lr_text
from engine.lr_finder.search import LRFinder
from engine.training import loop as loop_module
from gui.lr_finder_dialog import LRFinderDialog
from gui.lr_input import LogSpinBox
from tests.gui.windows import open_window

TEST_TIMEOUT_MS = 60_000


@pytest.fixture
def window(qtbot, tmp_path, data_dir):
    window = open_window(qtbot, tmp_path)
    window.settings_panel.set_config(TrainConfig(
        arch="mlp", dataset="mnist", data_dir=str(data_dir), epochs=1, batch_size=20,
        optimizer="sgd", lr=0.5, device="cpu", threads=1))
    return window


@pytest.fixture
def slow_steps(monkeypatch):
    """Each batch takes a little longer, so a test is still running when it is stopped."""
    real_step = loop_module.train_step

    def slow_step(*args, **kwargs):
        time.sleep(0.02)
        return real_step(*args, **kwargs)

    monkeypatch.setattr(loop_module, "train_step", slow_step)


def points_drawn(dialog) -> int:
    xs = dialog.plot.smooth_curve.getData()[0]
    return 0 if xs is None else len(xs)


def run_test(qtbot, window):
    window.lr_finder.click()
    dialog = window.lr_finder.dialog
    with qtbot.waitSignal(dialog.test_finished, timeout=TEST_TIMEOUT_MS) as finished:
        pass
    return dialog, finished.args[0]


def test_find_runs_on_the_training_thread_shows_the_curve_and_use_sets_the_field(
        qtbot, window, monkeypatch):
    threads = []
    real_run = LRFinder.run

    def run(self, listener, control=None):
        threads.append(QThread.currentThread().objectName())
        return real_run(self, listener, control)

    monkeypatch.setattr(LRFinder, "run", run)
    assert window.lr_finder.isEnabled()
    dialog, end = run_test(qtbot, window)
    assert threads == ["training"]
    assert end.reason == "finished", end.message
    result = end.result
    xs, ys = dialog.plot.smooth_curve.getData()
    assert len(xs) == len(result.lrs) >= 10
    assert list(ys) == pytest.approx(result.smoothed)
    # The x axis is logarithmic: pyqtgraph keeps log10 of the rates it draws.
    assert dialog.plot.getPlotItem().ctrl.logXCheck.isChecked()
    suggested = dialog.plot.markers["suggested"]
    assert result.suggested is not None
    assert suggested.isVisible() and suggested.value() == pytest.approx(
        math.log10(result.suggested))
    assert dialog.plot.markers["lowest"].isVisible()
    checked = dialog.plot.check_points.getData()[0]
    assert len(checked) == len([c for c in result.checks if not c.blew_up]) >= 1
    word = "suggested" if result.sure else "unsure"
    assert dialog.use_button.text() == f"Use {lr_text(result.suggested)} ({word})"
    assert dialog.use_button.isDefault() is result.sure
    assert lr_text(result.suggested) in dialog.status.text()
    dialog.grab().save("/tmp/lrfind-test-dialog.png")

    assert f"Learning-rate test: {end.message}" in window.log.text()
    dialog.use_button.click()
    assert window.settings_panel.config().lr == result.suggested
    assert not dialog.isVisible()
    assert lr_text(result.suggested) in window.status_text()


def _ended(sure: bool):
    from engine.lr_finder.search import LRTestEnd, LRTestResult, RateCheck, choose

    rates = lr_range(1e-7, 10, 100)[:90]
    curve = [2.3 - 0.01 * i for i in range(90)]
    fell = 0.6 if sure else 0.02
    checks = (RateCheck(0.03, 50, 2.3 - fell), RateCheck(0.01, 50, 2.3 - fell / 2))
    suggested, unsure = choose(list(checks), untrained_loss=2.3)
    result = LRTestResult(lrs=tuple(rates), losses=tuple(curve), smoothed=tuple(curve),
                          start_lr=1e-7, end_lr=10, steps=100, exploded_at=rates[-1],
                          min_loss_lr=0.1, checks=checks, suggested=suggested,
                          unsure=unsure)
    return LRTestEnd("finished", result.summary(), result)


@pytest.mark.parametrize("sure", [True, False])
def test_only_a_sure_suggestion_is_preselected_and_an_unsure_one_says_so(qtbot, window, sure):
    """The dialog preselected the steepest descent whatever the curve: Enter took 0.2, at
    which the classic LeNet-5 learns nothing. An unsure rate is offered, never preselected."""
    dialog = LRFinderDialog(window.settings_panel.config(), window)
    qtbot.addWidget(dialog)
    dialog.show()
    end = _ended(sure)
    dialog.session = QObject()  # as if a test had run: its end arrives
    dialog._on_finished(end)
    button = dialog.use_button
    assert button.isVisible() and lr_text(end.result.suggested) in button.text()
    assert button.isDefault() is sure
    assert dialog.close_button.isDefault() is not sure
    assert ("unsure" in button.text()) is not sure
    assert ("Not sure: no rate checked lowered the loss clearly" in dialog.status.text()) \
        is not sure
    if not sure:
        assert "Not sure" in button.toolTip()
        dialog.grab().save("/tmp/lrfind-unsure-dialog.png")


def test_stop_ends_the_test_and_keeps_the_curve_so_far(qtbot, window, slow_steps):
    window.lr_finder.click()
    dialog = window.lr_finder.dialog
    qtbot.waitUntil(lambda: points_drawn(dialog) >= 3,
                    timeout=TEST_TIMEOUT_MS)
    assert dialog.stop_button.isEnabled() and not dialog.again_button.isEnabled()
    with qtbot.waitSignal(dialog.test_finished, timeout=TEST_TIMEOUT_MS) as finished:
        dialog.stop_button.click()
    end = finished.args[0]
    assert end.reason == "stopped"
    assert "Stopped by you after" in dialog.status.text()
    assert points_drawn(dialog) == len(end.result.lrs) < 100
    assert dialog.again_button.isEnabled() and dialog.isVisible()


def test_closing_the_dialog_mid_test_stops_it_then_closes(qtbot, window, slow_steps):
    window.lr_finder.click()
    dialog = window.lr_finder.dialog
    qtbot.waitUntil(lambda: points_drawn(dialog) >= 1,
                    timeout=TEST_TIMEOUT_MS)
    dialog.close()
    assert dialog.isVisible()  # until the test has ended: never a thread left running
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=TEST_TIMEOUT_MS)
    assert not dialog.is_running()
    assert window.settings_panel.config().lr == 0.5  # nothing used


def test_closing_the_window_mid_test_stops_it_then_closes_the_window(qtbot, window,
                                                                      slow_steps):
    window.lr_finder.click()
    dialog = window.lr_finder.dialog
    qtbot.waitUntil(lambda: points_drawn(dialog) >= 1,
                    timeout=TEST_TIMEOUT_MS)
    window.close()
    assert window.isVisible()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=TEST_TIMEOUT_MS)
    assert not dialog.is_running() and not dialog.isVisible()


def test_the_button_waits_for_valid_settings_but_not_for_a_valid_rate(qtbot, window,
                                                                      tmp_path):
    form = window.settings_panel
    form.findChild(LogSpinBox, "lr").lineEdit().setText("fast")
    assert "lr" in form.problems()
    assert window.lr_finder.isEnabled()  # the rate is what the test is for
    form.set_config(form.config().replace(lr=0.5, dataset="folder",
                                          image_folder=str(tmp_path / "missing")))
    assert "image_folder" in form.problems()
    assert not window.lr_finder.isEnabled()
    assert "Fix the settings first" in window.lr_finder.toolTip()
    assert window.lr_finder.open_test() is None
    assert "Cannot find a learning rate" in window.status_text()


def test_the_button_stays_off_while_a_paused_run_unlocks_the_rate(qtbot, window, slow_steps):
    with qtbot.waitSignal(window.run.run_started, timeout=TEST_TIMEOUT_MS):
        window.settings_dock.train_button.click()
    session = window.controller.session
    window.commands.toggle_pause()
    assert window.settings_panel.findChild(LogSpinBox, "lr").isEnabled()
    assert not window.lr_finder.isEnabled()
    assert window.lr_finder.open_test() is None
    with qtbot.waitSignal(session.finished, timeout=TEST_TIMEOUT_MS):
        window.commands.stop_training()
    qtbot.waitUntil(window.lr_finder.isEnabled, timeout=TEST_TIMEOUT_MS)


def test_the_dialog_closes_with_the_window(qtbot, window):
    dialog, _end = run_test(qtbot, window)
    assert dialog.isVisible()
    window.close()
    assert not dialog.isVisible() and not window.isVisible()


def _steps(lrs, losses, steps=100):
    from engine.lr_finder.search import LRTestStep

    return [LRTestStep(i + 1, steps, lr, loss, loss) for i, (lr, loss) in
            enumerate(zip(lrs, losses, strict=True))]


def test_the_live_plot_follows_the_curve_as_it_comes(qtbot):
    """The view grows with the rates tried and fits the losses seen, batch after batch
    (it stayed on the whole planned range, the curve a short line at its left edge)."""
    dialog = LRFinderDialog(TrainConfig(arch="mlp", dataset="mnist"))
    qtbot.addWidget(dialog)
    rates = lr_range(1e-7, 10, 100)
    dialog._on_events(_steps(rates[:20], [2.3 - 0.001 * i for i in range(20)]))
    (x_low, x_high), (y_low, y_high) = dialog.plot.getPlotItem().viewRange()
    assert x_low <= -7 and math.log10(rates[19]) <= x_high < -4  # not out to 10
    assert y_low <= 2.3 - 0.019 and 2.3 <= y_high < 2.4  # the small fall fills the plot
    dialog._on_events(_steps(rates[20:70], [2.28 - 0.03 * i for i in range(50)]))
    (_, x_high_later), (y_low_later, _) = dialog.plot.getPlotItem().viewRange()
    assert math.log10(rates[69]) <= x_high_later and x_high_later > x_high
    assert y_low_later <= 2.28 - 0.03 * 49 < y_low
