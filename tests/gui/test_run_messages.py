"""What the window says about a run, once and short, with buttons that act: where it was
saved, a dataset that could not be downloaded, a run that will be slow (real tiny runs)."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QDesktopServices

import gui.run_banner as run_banner
from engine.config import TrainConfig
from engine.events import RunEstimate
from gui.run_status import PAUSED_STATUS
from tests.gui.windows import open_window

RUN_TIMEOUT_MS = 120_000
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


@pytest.fixture
def opened(monkeypatch):
    """Folders the window asked the desktop to open (nothing is opened for real)."""
    urls = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: urls.append(url) or True)
    return urls


@pytest.fixture
def window(qtbot, tmp_path, data_dir):
    window = open_window(qtbot, tmp_path)  # PyTorch loaded: the file passes on its own too
    window.settings_panel.set_config(TrainConfig(
        arch="mlp", dataset="mnist", data_dir=str(data_dir), epochs=2, batch_size=20,
        device="cpu"))
    return window


def train_to_the_end(qtbot, window):
    qtbot.mouseClick(window.settings_dock.train_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(window.controller.session.finished, timeout=RUN_TIMEOUT_MS) as finished:
        pass
    return finished.args[0]


def test_after_a_run_the_window_says_where_it_was_saved(qtbot, window, opened):
    end = train_to_the_end(qtbot, window)
    assert end.reason == "finished"
    run_folder = Path(end.checkpoint_path).parent
    assert window.banner.kind() == "finished"
    assert end.message in window.banner.text()
    assert f"Saved in {run_banner.display_path(run_folder)}" in window.banner.text()
    qtbot.mouseClick(window.banner.button("Open folder"), Qt.MouseButton.LeftButton)
    assert [url.toLocalFile() for url in opened] == [str(run_folder)]
    assert window.status_text() == "Ready"  # not "Training on CPU" from the run


def test_offline_mnist_is_said_once_short_with_the_folder_and_the_bundled_sample(
        qtbot, window, tmp_path, monkeypatch, opened):
    def offline(*args, **kwargs):
        raise OSError("Network is unreachable")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    empty = tmp_path / "empty-data"
    empty.mkdir()
    window.settings_panel.set_config(window.settings_panel.config().replace(
        data_dir=str(empty)))
    end = train_to_the_end(qtbot, window)
    assert end.reason == "failed" and end.missing_data is not None

    banner = window.banner.text()
    folder = empty / "MNIST" / "raw"
    assert banner.startswith("MNIST is not on this computer")
    assert str(folder) in banner and "bundled MNIST sample" in banner
    assert "http" not in banner and "Network is unreachable" not in banner  # in Details
    assert len(banner) < 300
    assert not window.banner.details_shown()
    qtbot.mouseClick(window.banner._details_button, Qt.MouseButton.LeftButton)
    assert window.banner.details_shown()
    details = window.banner.details_text()
    assert end.missing_data.source in details and "Network is unreachable" in details
    assert "train-images-idx3-ubyte.gz" in details

    # Said once: the log keeps one short line, the status bar no error at all.
    log = window.log.text()
    assert log.count("MNIST is not on this computer") == 1
    assert "http" not in log and "train-images" not in log
    assert window.status_text() == "Ready"

    # The folder button creates the folder it opens.
    folder.rmdir()
    qtbot.mouseClick(window.banner.button("Open data folder"), Qt.MouseButton.LeftButton)
    assert folder.is_dir() and [url.toLocalFile() for url in opened] == [str(folder)]

    # One click to the bundled sample: the setting changes and training starts.
    qtbot.mouseClick(window.banner.button("Use the bundled MNIST sample"),
                     Qt.MouseButton.LeftButton)
    assert window.settings_panel.config().dataset == "mnist-sample"
    assert window.controller.session is not None
    with qtbot.waitSignal(window.controller.session.finished, timeout=RUN_TIMEOUT_MS) as finished:
        window.commands.stop_training()
    assert finished.args[0].reason == "stopped"


def test_a_slow_run_waits_paused_until_the_person_chooses_to_continue(
        qtbot, window, monkeypatch):
    monkeypatch.setattr(run_banner, "LONG_RUN_SECONDS", 0.0)  # every run counts as slow
    qtbot.mouseClick(window.settings_dock.train_button, Qt.MouseButton.LeftButton)
    session = window.controller.session
    window.tabs.setCurrentWidget(window.draw)  # the person looks elsewhere meanwhile
    qtbot.waitUntil(lambda: window.banner.kind() == "question", timeout=RUN_TIMEOUT_MS)
    assert window.tabs.currentIndex() == 0 and window.banner.isVisible()
    assert window.progress.state_text() == "Paused"
    assert window.status_text() == PAUSED_STATUS
    assert window.settings_dock.pause_button.text() == "Resume"
    question = window.banner.text()
    assert question.startswith("This run will take about ") and "on the CPU" in question
    assert "fewer epochs" in question
    assert window.banner.button_texts() == ["Continue", "Stop"]
    assert "Estimated time: about" in window.log.text()
    qtbot.waitUntil(lambda: "Paused at epoch" in window.log.text(), timeout=RUN_TIMEOUT_MS)

    with qtbot.waitSignal(session.finished, timeout=RUN_TIMEOUT_MS) as finished:
        qtbot.mouseClick(window.banner.button("Continue"), Qt.MouseButton.LeftButton)
    assert finished.args[0].reason == "finished"  # nothing was lost by the pause
    assert window.plots.batch_point_count() == 20


def test_stop_in_the_slow_run_question_stops_the_run(qtbot, window, monkeypatch):
    monkeypatch.setattr(run_banner, "LONG_RUN_SECONDS", 0.0)
    qtbot.mouseClick(window.settings_dock.train_button, Qt.MouseButton.LeftButton)
    session = window.controller.session
    qtbot.waitUntil(lambda: window.banner.kind() == "question", timeout=RUN_TIMEOUT_MS)
    with qtbot.waitSignal(session.finished, timeout=RUN_TIMEOUT_MS) as finished:
        qtbot.mouseClick(window.banner.button("Stop"), Qt.MouseButton.LeftButton)
    assert finished.args[0].reason == "stopped"
    assert window.banner.kind() == "stopped"


def test_a_quick_run_is_never_interrupted(qtbot, window):
    end = train_to_the_end(qtbot, window)
    assert end.reason == "finished"
    assert "Estimated time: about" in window.log.text()
    assert "Paused" not in window.log.text()


def test_the_slow_run_question_names_the_faster_choices():
    estimate = RunEstimate(seconds_per_epoch=26 * 60, total_seconds=130 * 60, epochs=5,
                           device="CPU", faster_device="CUDA 0: NVIDIA H200")
    choices = run_banner.faster_choices(estimate, "resnet18")
    assert choices[0] == "the GPU (CUDA 0: NVIDIA H200, under Device)"
    assert "LeNet-5 (ReLU, max pooling)" in choices[1]
    assert choices[2] == "fewer epochs (about 26 min each)"
    no_gpu_small_one_epoch = RunEstimate(seconds_per_epoch=3600, total_seconds=3600, epochs=1,
                                         device="CPU")
    assert run_banner.faster_choices(no_gpu_small_one_epoch, "lenet5") == []
    assert run_banner.is_long(estimate)
    assert not run_banner.is_long(RunEstimate(30, 9 * 60, 18, "CPU"))


def test_the_status_bar_follows_the_run_and_is_never_stale(qtbot, window):
    assert window.status_text() == "Ready"
    qtbot.mouseClick(window.settings_dock.train_button, Qt.MouseButton.LeftButton)
    session = window.controller.session
    assert window.status_text() == "Loading MNIST…"
    window.commands.toggle_pause()
    assert window.status_text() == PAUSED_STATUS
    qtbot.waitUntil(lambda: "Paused at epoch 1" in window.log.text(), timeout=RUN_TIMEOUT_MS)
    assert window.status_text() == PAUSED_STATUS  # the run's start did not overwrite it
    window.commands.toggle_pause()
    assert window.status_text() == "Training on CPU"
    with qtbot.waitSignal(session.finished, timeout=RUN_TIMEOUT_MS):
        window.commands.stop_training()
        assert window.status_text() == "Stopping…"
    assert window.status_text() == "Ready"


def test_a_pause_shows_the_batch_it_paused_at_not_an_older_one(qtbot, window, monkeypatch):
    import time

    import engine.training.distributed as distributed_module
    import engine.training.loop as loop_module

    # Batches are read back only at an epoch's end or a pause, and each takes 50 ms, so the
    # pause lands mid-epoch with batches that only the pause itself reports.
    monkeypatch.setattr(distributed_module, "FLUSH_SECONDS", 1e9)
    real_step = loop_module.train_step

    def slow_step(*args, **kwargs):
        time.sleep(0.05)
        return real_step(*args, **kwargs)

    monkeypatch.setattr(loop_module, "train_step", slow_step)
    qtbot.mouseClick(window.settings_dock.train_button, Qt.MouseButton.LeftButton)
    session = window.controller.session
    qtbot.waitUntil(lambda: window.progress.state_text() == "Training", timeout=RUN_TIMEOUT_MS)
    qtbot.wait(200)
    window.commands.toggle_pause()
    qtbot.waitUntil(lambda: "Paused at epoch 1" in window.log.text(), timeout=RUN_TIMEOUT_MS)
    paused_at = int(window.log.text().split("Paused at epoch 1, batch ")[1].split(".")[0])
    assert 1 < paused_at <= 10
    assert window.progress.batch_progress() == (paused_at - 1, 10)
    assert window.plots.batch_point_count() == paused_at - 1
    assert window.progress.speed_text() == "paused"
    with qtbot.waitSignal(session.finished, timeout=RUN_TIMEOUT_MS):
        window.commands.stop_training()
