"""The whole window, driven like a person would: real runs on tiny generated datasets."""

from __future__ import annotations

import csv
import urllib.request

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QLabel, QMessageBox

from engine.config import TrainConfig
from engine.records.checkpoint import load_checkpoint
from gui.draw_panel import BUNDLED_MODEL
from gui.help_dialogs import shortcut_rows
from gui.main_window import MainWindow
from tests.gui.windows import open_window

RUN_TIMEOUT_MS = 120_000


@pytest.fixture
def settings_file(tmp_path):
    return str(tmp_path / "settings.ini")


@pytest.fixture
def make_window(qtbot, tmp_path, settings_file):
    def make() -> MainWindow:
        return open_window(qtbot, tmp_path, settings_file)

    return make


@pytest.fixture
def window(make_window, data_dir):
    window = make_window()
    window.settings_panel.set_config(small_config(data_dir))
    return window


def small_config(data_dir, **changes) -> TrainConfig:
    return TrainConfig(arch="mlp", dataset="mnist", data_dir=str(data_dir), epochs=2,
                       batch_size=20, device="cpu").replace(**changes)


def click(qtbot, button):
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def start_paused(qtbot, window):
    """Click Train and pause at once, so the run is reliably mid-way for the test."""
    click(qtbot, window.settings_dock.train_button)
    window.commands.toggle_pause()
    qtbot.waitUntil(lambda: "Paused at epoch 1" in window.log.text(), timeout=RUN_TIMEOUT_MS)


def test_train_runs_to_the_end_and_every_panel_shows_it(qtbot, window):
    assert window.settings_dock.train_button.isEnabled()
    assert not window.settings_dock.stop_button.isEnabled()
    click(qtbot, window.settings_dock.train_button)
    assert not window.settings_dock.train_button.isEnabled()
    assert window.settings_dock.stop_button.isEnabled()
    with qtbot.waitSignal(window.controller.session.finished, timeout=RUN_TIMEOUT_MS) as finished:
        pass
    end = finished.args[0]
    assert end.reason == "finished"

    # 200 images / 20 per batch = 10 batches, for 2 epochs.
    assert window.plots.batch_point_count() == 20
    assert window.plots.epoch_point_count() == 2
    history = window.checkpoint.history
    assert [record["epoch"] for record in history] == [1, 2]
    assert window.history == history
    assert f"{history[-1]['test_acc']:.1%}" in window.progress.final_accuracy_text()
    assert "Finished 2 epochs" in window.log.text()
    # The buttons follow the run state; the model reached the draw tab.
    assert window.settings_dock.train_button.isEnabled()
    assert not window.settings_dock.stop_button.isEnabled()
    assert not window.settings_dock.pause_button.isEnabled()
    assert window.files.save_action.isEnabled() and window.files.export_action.isEnabled()
    # The run's model is listed in the Draw tab; it replaces the demo model only if it
    # scored at least as well, and the log says which.
    picker = window.draw.model_picker
    assert picker.count() == 2
    assert picker.itemText(1).endswith(
        f": Multilayer perceptron on MNIST — {history[-1]['test_acc']:.1%}")
    demo = load_checkpoint(BUNDLED_MODEL).history[-1]["test_acc"]
    taken = history[-1]["test_acc"] >= demo
    assert picker.currentIndex() == (1 if taken else 0)
    assert ("now in use" if taken else f"Still reading with Demo model ({demo:.1%})") in (
        window.log.text())


def test_a_second_run_after_a_finished_one_works(qtbot, window):
    for _ in range(2):
        click(qtbot, window.settings_dock.train_button)
        with qtbot.waitSignal(window.controller.session.finished,
                              timeout=RUN_TIMEOUT_MS) as finished:
            pass
        assert finished.args[0].reason == "finished"
        assert window.plots.batch_point_count() == 20


def test_pause_holds_the_run_and_resume_finishes_it(qtbot, window):
    start_paused(qtbot, window)
    assert window.settings_dock.pause_button.text() == "Resume"
    assert window.progress.state_text() == "Paused"
    assert window.plots.batch_point_count() == 0  # nothing ran while paused
    session = window.controller.session
    click(qtbot, window.settings_dock.pause_button)
    assert window.settings_dock.pause_button.text() == "Pause"
    with qtbot.waitSignal(session.finished, timeout=RUN_TIMEOUT_MS) as finished:
        pass
    assert finished.args[0].reason == "finished"
    assert window.plots.batch_point_count() == 20


def test_stop_mid_run_then_start_again(qtbot, window):
    start_paused(qtbot, window)
    session = window.controller.session
    with qtbot.waitSignal(session.finished, timeout=RUN_TIMEOUT_MS) as finished:
        click(qtbot, window.settings_dock.stop_button)
    assert finished.args[0].reason == "stopped"
    assert "Stopped" in window.banner.text() and window.banner.kind() == "stopped"
    assert window.settings_dock.train_button.isEnabled()
    assert not window.settings_dock.stop_button.isEnabled()

    click(qtbot, window.settings_dock.train_button)
    with qtbot.waitSignal(window.controller.session.finished, timeout=RUN_TIMEOUT_MS) as finished:
        pass
    assert finished.args[0].reason == "finished"
    assert window.banner.kind() == "finished" and "Stopped" not in window.banner.text()


def test_closing_mid_run_stops_the_run_then_closes(qtbot, window):
    start_paused(qtbot, window)
    session = window.controller.session
    with qtbot.waitSignal(session.finished, timeout=RUN_TIMEOUT_MS) as finished:
        window.close()  # does not block the GUI: the window closes once the run has ended
    assert finished.args[0].reason == "stopped"
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=RUN_TIMEOUT_MS)
    assert not session.is_running() and window.controller.session is None
    # The autouse fixture in tests/conftest.py also fails the test on a thread left running.


def test_stop_while_paused_leaves_a_clean_idle_window(qtbot, window):
    start_paused(qtbot, window)
    session = window.controller.session
    with qtbot.waitSignal(session.finished, timeout=RUN_TIMEOUT_MS):
        click(qtbot, window.settings_dock.stop_button)
        # While stopping, nothing may re-enable pause (a pause would hold the stop back).
        window.commands.refresh()
        assert not window.settings_dock.pause_button.isEnabled()
        assert not window.settings_dock.stop_button.isEnabled()
    assert window.settings_dock.pause_button.text() == "Pause"
    assert window.settings_dock.train_button.isEnabled()


def test_junk_window_state_in_the_settings_file_does_not_stop_the_app(qtbot, settings_file,
                                                                       make_window):
    junk = QSettings(settings_file, QSettings.Format.IniFormat)
    junk.setValue("window/geometry", "junk")
    junk.setValue("window/state", [1, 2])
    junk.sync()
    window = make_window()
    assert window.isVisible()


def test_a_failed_export_is_explained(qtbot, window, tmp_path, monkeypatch):
    click(qtbot, window.settings_dock.train_button)
    with qtbot.waitSignal(window.controller.session.finished, timeout=RUN_TIMEOUT_MS):
        pass
    warnings = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *args: warnings.append(args[2]))
    assert not window.files.export_metrics(str(tmp_path / "no-such-folder" / "metrics.csv"))
    assert warnings and "no-such-folder" in warnings[0]


def test_keyboard_shortcuts_drive_the_run(qtbot, window):
    qtbot.keyClick(window, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert window.controller.session is not None
    session = window.controller.session
    qtbot.keyClick(window, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: "Paused at epoch 1" in window.log.text(), timeout=RUN_TIMEOUT_MS)
    with qtbot.waitSignal(session.finished, timeout=RUN_TIMEOUT_MS) as finished:
        qtbot.keyClick(window, Qt.Key.Key_Escape)
    assert finished.args[0].reason == "stopped"


def test_an_invalid_learning_rate_is_explained_and_train_is_refused(qtbot, window, data_dir):
    window.settings_panel.set_config(small_config(data_dir, lr=50.0))
    assert not window.settings_dock.train_button.isEnabled()
    assert not window.commands.train_action.isEnabled()
    error = window.settings_panel.findChild(QLabel, "lr_error")
    assert error is not None and "Learning rate must be" in error.text()
    assert window.commands.start_training() is False
    assert window.controller.session is None


def test_an_offline_download_failure_says_what_to_do_and_the_window_stays_usable(
        qtbot, window, tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise OSError("Network is unreachable")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    empty = tmp_path / "empty-data"
    empty.mkdir()
    window.settings_panel.set_config(small_config(empty))
    click(qtbot, window.settings_dock.train_button)
    with qtbot.waitSignal(window.controller.session.finished, timeout=RUN_TIMEOUT_MS) as finished:
        pass
    end = finished.args[0]
    assert end.reason == "failed"
    assert window.progress.state_text() == "Failed"
    assert window.settings_dock.train_button.isEnabled()  # usable: fix the settings and train again


def test_settings_come_back_on_the_next_launch(qtbot, make_window, data_dir):
    first = make_window()
    chosen = small_config(data_dir, arch="lenet5-relu", epochs=7, lr=2e-4, optimizer="sgd")
    first.settings_panel.set_config(chosen)
    first.close()
    second = make_window()
    assert second.settings_panel.config() == chosen


def test_save_open_and_export(qtbot, window, tmp_path, monkeypatch):
    click(qtbot, window.settings_dock.train_button)
    with qtbot.waitSignal(window.controller.session.finished, timeout=RUN_TIMEOUT_MS):
        pass
    saved = tmp_path / "model.pt"
    assert window.files.save_checkpoint_as(str(saved))
    exported = tmp_path / "metrics.csv"
    assert window.files.export_metrics(str(exported))
    rows = list(csv.DictReader(exported.open()))
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    assert float(rows[-1]["test_acc"]) == pytest.approx(window.history[-1]["test_acc"])

    window.plots.clear()
    assert window.files.open_checkpoint(str(saved))
    assert window.plots.epoch_point_count() == 2
    assert window.draw.model_picker.currentText().startswith("model.pt: Multilayer")
    assert "model.pt: Multilayer perceptron on MNIST, 2 epochs." in window.log.text()
    assert "Starting Multilayer perceptron on MNIST…" in window.log.text()

    warnings = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *args: warnings.append(args[2]))
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint at all")
    assert not window.files.open_checkpoint(str(junk))
    assert warnings and "junk.pt" in warnings[0]
    assert window.draw.model_picker.currentText().startswith("model.pt: ")  # kept


def test_continue_from_checkpoint_extends_the_history(qtbot, window, data_dir):
    click(qtbot, window.settings_dock.train_button)
    with qtbot.waitSignal(window.controller.session.finished, timeout=RUN_TIMEOUT_MS):
        pass
    note = window.settings_panel.findChild(QLabel, "epochs_note")
    assert "Continue from checkpoint: 2 more (epochs 3–4)" in note.text()
    window.settings_panel.set_config(small_config(data_dir, epochs=1))  # one more epoch
    headers = []  # the header as the continued run starts (the panel has heard it first)
    window.run.run_started.connect(lambda _start: headers.append(window.progress.epoch_text()))
    window.commands.resume_training()
    assert window.settings_panel.label_text("epochs") == "More epochs"
    assert note.text() == "This run trains epoch 3, after the checkpoint's 2 epochs."
    with qtbot.waitSignal(window.controller.session.finished, timeout=RUN_TIMEOUT_MS) as finished:
        pass
    assert headers == ["Epoch 3 / 3"]
    assert finished.args[0].reason == "finished"
    assert window.settings_panel.label_text("epochs") == "Epochs"
    assert [record["epoch"] for record in window.history] == [1, 2, 3]
    assert window.plots.epoch_point_count() == 3
    # The run goes on on screen: its 20 earlier batches stay, the new epoch's 10 follow.
    assert list(window.plots.series()["step"]) == list(range(1, 31))


def test_the_model_tab_follows_the_chosen_architecture_before_any_run(qtbot, window, data_dir):
    window.settings_panel.set_config(small_config(data_dir, arch="lenet5"))
    assert window.summary.summary().total_params == 61_706
    window.settings_panel.set_config(small_config(data_dir, arch="resnet18"))
    assert window.summary.summary().total_params > 11_000_000


def test_a_model_trained_on_something_other_than_digits_leaves_the_draw_tab_alone(
        qtbot, make_window, tmp_path):
    from tools.sample_datasets import write_cifar_batches

    write_cifar_batches(tmp_path / "cifar", n_per_batch=8, n_test=10)
    window = make_window()
    before = window.draw.model_picker.currentText()
    window.settings_panel.set_config(TrainConfig(arch="softmax", dataset="cifar10",
                                                 data_dir=str(tmp_path / "cifar"), epochs=1,
                                                 batch_size=8, device="cpu"))
    click(qtbot, window.settings_dock.train_button)
    with qtbot.waitSignal(window.controller.session.finished, timeout=RUN_TIMEOUT_MS) as finished:
        pass
    assert finished.args[0].reason == "finished"
    assert window.draw.model_picker.currentText() == before
    assert window.draw.model_picker.count() == 1  # only digit models are listed
    assert "keeps its digit model" in window.log.text()


def test_help_lists_every_shortcut_the_window_has(window):
    rows = dict(shortcut_rows(window))
    for action in (window.files.open_action, window.files.save_action,
                   window.files.export_action, window.commands.train_action,
                   window.commands.stop_action):
        name = action.text().replace("&", "").rstrip("…")
        assert rows[name] == action.shortcut().toString()
    tabs = [window.tabs.tabText(i) for i in range(window.tabs.count())]
    for index, name in enumerate(tabs):  # every tab, the Runs tab (added last) too
        assert rows[f"{name} tab"] == f"Ctrl+{index + 1}"
    assert rows["Undo the last stroke"] == "Ctrl+Z"


def test_opening_a_checkpoint_replaces_the_run_on_screen(qtbot, window, data_dir):
    window.banner.show_refusal("Cannot train: an earlier message")
    assert window.files.open_checkpoint(str(BUNDLED_MODEL))
    assert window.banner.isHidden()
    assert window.settings_panel.config().arch == load_checkpoint(BUNDLED_MODEL).config.arch
    assert window.run.checkpoint_path == str(BUNDLED_MODEL)
    assert window.commands.resume_action.isEnabled() and window.files.save_action.isEnabled()
