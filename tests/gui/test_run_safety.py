"""A run is never lost by accident: Stop, Esc, closing the window and Ctrl+Q ask first and
say what will be kept; Esc in a field is the field's; the wheel edits only a focused field."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QMessageBox,
    QScrollArea,
    QSpinBox,
)

from engine.config import TrainConfig
from gui.lr_input import LogSpinBox
from gui.run_controller import RunState
from gui.stop_question import asks_before_stopping
from tests.gui.windows import open_window

RUN_TIMEOUT_MS = 120_000


@pytest.fixture
def window(qtbot, tmp_path, data_dir):
    window = open_window(qtbot, tmp_path, ask_before_stopping=True)
    window.settings_panel.set_config(TrainConfig(
        arch="mlp", dataset="mnist", data_dir=str(data_dir), epochs=3, batch_size=20,
        device="cpu"))
    return window


def still_training(window) -> bool:
    """A run holds the window, and no stop has been asked for."""
    controller = window.controller
    return controller.session is not None and controller.state is not RunState.STOPPING


def end_the_run(qtbot, window) -> None:
    """Stop the run, unasked, and wait for its end (a test leaves no thread running)."""
    with qtbot.waitSignal(window.controller.session.finished, timeout=RUN_TIMEOUT_MS):
        window.commands.stop_training()


@pytest.fixture
def answers(monkeypatch):
    """The questions asked (title, text, informative text), each answered with the button
    named in `answers.reply` (or chosen by it from the buttons' texts, if it is a function),
    "Don't ask again" ticked if `answers.dont_ask`."""

    class Answers(list):
        reply = "Keep training"
        dont_ask = False

    asked = Answers()

    def answer(box: QMessageBox) -> int:
        asked.append((box.windowTitle(), box.text(), box.informativeText()))
        asked.buttons = [b.text() for b in box.buttons()]
        box.checkBox().setChecked(asked.dont_ask)
        reply = asked.reply(asked.buttons) if callable(asked.reply) else asked.reply
        next(b for b in box.buttons() if b.text() == reply).click()
        return 0

    monkeypatch.setattr(QMessageBox, "exec", answer)
    return asked


def pause_after_epochs(qtbot, window, epochs: int) -> None:
    """Train, and pause once `epochs` epochs have finished."""

    def pause_at(event) -> None:
        if event.epoch == epochs and window.controller.state is not RunState.PAUSED:
            window.commands.toggle_pause()

    window.run.epoch_ended.connect(pause_at)
    window.settings_dock.train_button.click()
    if epochs == 0:
        window.commands.toggle_pause()
    qtbot.waitUntil(lambda: f"Paused at epoch {epochs + 1}" in window.log.text(),
                    timeout=RUN_TIMEOUT_MS)
    window.run.epoch_ended.disconnect(pause_at)


def test_esc_in_the_learning_rate_field_of_a_paused_run_does_not_stop_it(
        qtbot, window, answers):
    pause_after_epochs(qtbot, window, 0)
    rate = window.settings_panel.findChild(LogSpinBox, "lr")
    assert rate.isEnabled()  # unlocked while paused
    window.activateWindow()
    rate.setFocus()
    qtbot.waitUntil(rate.hasFocus)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Escape)
    QApplication.processEvents()
    assert answers == [] and still_training(window)
    # Esc elsewhere in the window is Stop, and asks.
    window.settings_dock.stop_button.setFocus()
    qtbot.waitUntil(window.settings_dock.stop_button.hasFocus)
    qtbot.keyClick(window.settings_dock.stop_button, Qt.Key.Key_Escape)
    assert len(answers) == 1 and still_training(window)
    end_the_run(qtbot, window)


def test_stop_asks_and_says_the_finished_epochs_and_checkpoint_are_kept(
        qtbot, window, answers):
    pause_after_epochs(qtbot, window, 1)
    window.settings_dock.stop_button.click()
    assert still_training(window)  # "Keep training"
    title, _text, kept = answers[0]
    run_dir = window.controller.session.trainer.run_dir
    assert title == "Stop the run?"
    assert f"keeps its 1 finished epoch and its checkpoint in {run_dir}" in kept

    answers.reply = "Stop"
    session = window.controller.session
    with qtbot.waitSignal(session.finished, timeout=RUN_TIMEOUT_MS) as finished:
        window.commands.stop_action.trigger()  # Run > Stop, and Esc
    assert finished.args[0].reason == "stopped" and len(answers) == 2
    assert (run_dir / "checkpoint.pt").is_file()  # kept, as said


def test_stop_after_the_epoch_under_way_keeps_that_epoch(qtbot, window, answers, tmp_path):
    window.settings_panel.set_config(window.settings_panel.config().replace(epochs=200))
    chosen = []

    def after_the_epoch(buttons: list[str]) -> str:
        chosen.append(next(b for b in buttons if b.startswith("Stop after epoch ")))
        return chosen[-1]

    answers.reply = after_the_epoch
    with qtbot.waitSignal(window.run.run_started, timeout=RUN_TIMEOUT_MS):
        window.commands.start_training()
    session = window.controller.session
    with qtbot.waitSignal(session.finished, timeout=RUN_TIMEOUT_MS) as finished:
        window.settings_dock.stop_button.click()
        assert still_training(window)  # training on, for now
    epoch = int(chosen[0].removeprefix("Stop after epoch "))
    end = finished.args[0]
    assert end.reason == "stopped" and end.epochs_done == epoch
    assert Path(end.checkpoint_path).is_file() and window.checkpoint.epoch == epoch


def test_stop_before_the_first_epoch_ends_says_nothing_is_kept(qtbot, window, answers,
                                                               tmp_path):
    answers.reply = "Stop"
    pause_after_epochs(qtbot, window, 0)
    with qtbot.waitSignal(window.controller.session.finished, timeout=RUN_TIMEOUT_MS):
        window.settings_dock.stop_button.click()
    assert "Epoch 1 of 3 has not finished yet: stopping now keeps nothing" in answers[0][2]
    runs = tmp_path / "runs"
    assert not runs.exists() or list(runs.iterdir()) == []  # as said


@pytest.mark.parametrize("how", ["close", "ctrl_q"])
def test_closing_mid_run_asks_and_keep_training_keeps_the_window(qtbot, window, answers,
                                                                  how):
    close = window.close if how == "close" else window.quit_action.trigger
    pause_after_epochs(qtbot, window, 1)
    close()
    assert window.isVisible() and still_training(window)
    assert answers[0][0] == "Stop the run and close?"
    assert "keeps its 1 finished epoch" in answers[0][2]

    answers.reply = "Stop and close"
    with qtbot.waitSignal(window.controller.session.finished, timeout=RUN_TIMEOUT_MS) as finished:
        close()
    assert finished.args[0].reason == "stopped"
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=RUN_TIMEOUT_MS)


def test_dont_ask_again_is_remembered(qtbot, window, answers):
    answers.reply, answers.dont_ask = "Stop", True
    pause_after_epochs(qtbot, window, 0)
    with qtbot.waitSignal(window.controller.session.finished, timeout=RUN_TIMEOUT_MS):
        window.settings_dock.stop_button.click()
    assert not asks_before_stopping(window.app_settings)
    pause_after_epochs(qtbot, window, 0)
    with qtbot.waitSignal(window.controller.session.finished, timeout=RUN_TIMEOUT_MS):
        window.settings_dock.stop_button.click()
    assert len(answers) == 1  # the second stop did not ask


def wheel_down(widget) -> bool:
    """One notch of the mouse wheel, down, over the middle of widget; whether the widget
    took it (one it leaves, Qt hands to its parent: the scroll area scrolls)."""
    centre = QPointF(widget.rect().center())
    event = QWheelEvent(centre, QPointF(widget.mapToGlobal(centre.toPoint())), QPoint(0, 0),
                        QPoint(0, -120), Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)
    return event.isAccepted()


def test_the_wheel_scrolls_the_settings_past_unfocused_fields(qtbot, tmp_path):
    window = open_window(qtbot, tmp_path)
    window.resize(1024, 600)
    scroll = window.settings_dock.findChild(QScrollArea)
    qtbot.waitUntil(lambda: scroll.verticalScrollBar().maximum() > 0)
    epochs = window.settings_panel.findChild(QSpinBox, "epochs")
    optimizer = window.settings_panel.findChild(QComboBox, "optimizer")
    before = window.settings_panel.config()
    for field in (epochs, optimizer):
        assert not field.hasFocus()
        assert not wheel_down(field)  # left for the scroll area
    assert window.settings_panel.config() == before  # no field changed
    assert wheel_down(scroll.viewport())
    assert scroll.verticalScrollBar().value() > 0

    window.activateWindow()
    epochs.setFocus()
    qtbot.waitUntil(epochs.hasFocus)
    assert wheel_down(epochs)
    assert epochs.value() == before.epochs - 1  # a focused field takes the wheel


def test_closing_in_the_first_epoch_can_keep_it_then_close(qtbot, window, answers):
    window.settings_panel.set_config(window.settings_panel.config().replace(epochs=200))
    answers.reply = lambda buttons: next(b for b in buttons if b.endswith(" and close")
                                         and b.startswith("Stop after epoch "))
    with qtbot.waitSignal(window.run.run_started, timeout=RUN_TIMEOUT_MS):
        window.commands.start_training()
    with qtbot.waitSignal(window.controller.session.finished, timeout=RUN_TIMEOUT_MS) as finished:
        window.close()
        assert window.isVisible()  # until the epoch under way has ended
    assert finished.args[0].reason == "stopped" and finished.args[0].epochs_done >= 1
    assert Path(finished.args[0].checkpoint_path).is_file()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=RUN_TIMEOUT_MS)


def test_every_spin_box_and_combo_box_in_the_forms_ignores_the_wheel_until_focused(
        qtbot, window):
    """The settings, the Data, Draw and Inside tabs, the Runs tab, the LR finder's range."""
    from gui.lr_finder_dialog import LRFinderDialog

    dialog = LRFinderDialog(window.settings_panel.config(), window)  # built, not started
    qtbot.addWidget(dialog)
    fields = [f for root in (window, dialog) for kind in (QAbstractSpinBox, QComboBox)
              for f in root.findChildren(kind)]
    assert len(fields) > 20
    for field in fields:
        assert field.focusPolicy() == Qt.FocusPolicy.StrongFocus, field.objectName()
        before = field.currentIndex() if isinstance(field, QComboBox) else field.text()
        assert not wheel_down(field), field.objectName()
        after = field.currentIndex() if isinstance(field, QComboBox) else field.text()
        assert after == before, field.objectName()
