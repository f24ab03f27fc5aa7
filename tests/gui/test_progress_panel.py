"""The progress panel: labels, bars, elapsed time and ETA from an injected clock (no sleeping)."""

from __future__ import annotations

import dataclasses

import pytest
from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication

from engine.events import BatchEnd, DataProgress, EpochEnd, RunEnd, RunStart
from gui.progress_panel import ProgressPanel, format_duration

# Qt's offscreen platform warns on every shown window; that warning says nothing about us.
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def run_start(epochs: int = 3, batches_per_epoch: int = 100, start_epoch: int = 0) -> RunStart:
    return RunStart(
        arch="resnet18", dataset="cifar10", device="CUDA 0: NVIDIA H100", epochs=epochs,
        start_epoch=start_epoch, batches_per_epoch=batches_per_epoch, train_size=50_000,
        val_size=0, test_size=10_000, num_params=11_173_962, class_names=tuple("abcdefghij"),
        input_shape=(3, 32, 32),
    )


def batch_end(epoch: int, batch: int, batches_per_epoch: int = 100, start_epoch: int = 0):
    step = (epoch - 1) * batches_per_epoch + batch
    return BatchEnd(epoch=epoch, batch=batch, batches_per_epoch=batches_per_epoch, step=step,
                    loss=0.5, accuracy=0.8125, examples_per_sec=12_345.6, lr=0.1)


def epoch_end(epoch: int = 1, val_acc: float | None = None) -> EpochEnd:
    return EpochEnd(epoch=epoch, epochs=3, train_loss=0.3, train_acc=0.9734,
                    val_loss=None if val_acc is None else 0.35, val_acc=val_acc,
                    test_loss=0.4, test_acc=0.9612, lr=0.1, seconds=30.0)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def panel(qtbot, clock) -> ProgressPanel:
    widget = ProgressPanel(clock=clock)
    qtbot.addWidget(widget)
    return widget


def test_format_duration_is_h_mm_ss():
    assert format_duration(0) == "0:00:00"
    assert format_duration(59.6) == "0:01:00"
    assert format_duration(3725) == "1:02:05"
    assert format_duration(36_000) == "10:00:00"
    assert format_duration(-3) == "0:00:00"


def test_idle_panel_says_so(panel):
    assert panel.state_text() == "Idle"
    assert panel.eta_text() == "—"
    assert panel.final_accuracy_text() == "Train —   Test —"
    assert panel.batch_progress() == (0, 1)


def test_batches_move_the_labels_the_bar_and_the_eta(panel, clock):
    panel.start_run(run_start(epochs=3, batches_per_epoch=100))
    assert panel.state_text() == "Training"
    assert panel.epoch_text() == "Epoch 1 / 3"
    assert panel.elapsed_text() == "0:00:00"
    assert panel.eta_text() == "—"  # nothing to average yet

    clock.advance(10)
    panel.update_batch(batch_end(1, 10))
    assert panel.batch_progress() == (10, 100)
    assert panel.elapsed_text() == "0:00:10"
    assert panel.eta_text() == format_duration(1.0 * 290)  # 1 s a batch, 290 batches left

    clock.advance(4)  # between batches the ETA counts down
    panel.refresh_times()
    assert panel.eta_text() == format_duration(290 - 4)
    assert panel.elapsed_text() == "0:00:14"

    clock.advance(136)
    panel.update_batch(batch_end(2, 50))
    assert panel.epoch_text() == "Epoch 2 / 3"
    assert panel.batch_progress() == (50, 100)
    assert panel.eta_text() == format_duration(150 / 150 * 150)  # 150 done in 150 s, 150 left


def test_paused_time_counts_neither_in_elapsed_nor_in_eta(panel, clock):
    panel.start_run(run_start(epochs=1, batches_per_epoch=100))
    clock.advance(20)
    panel.update_batch(batch_end(1, 10))  # 2 s a batch
    panel.set_state("paused")
    assert panel.state_text() == "Paused"
    assert panel.speed_text() == "paused"
    clock.advance(3600)  # an hour at lunch
    panel.refresh_times()
    assert panel.elapsed_text() == "0:00:20"
    assert panel.eta_text() == format_duration(2 * 90)

    panel.set_state("training")
    clock.advance(20)
    panel.update_batch(batch_end(1, 20))
    assert panel.elapsed_text() == "0:00:40"
    assert panel.eta_text() == format_duration(2 * 80)


def test_a_resumed_run_counts_only_its_own_batches(panel, clock):
    panel.start_run(run_start(epochs=5, batches_per_epoch=100, start_epoch=3))
    assert panel.epoch_text() == "Epoch 4 / 5"
    clock.advance(50)
    panel.update_batch(batch_end(4, 50))
    assert panel.eta_text() == format_duration(150)  # 1 s a batch, 200 - 50 left


def test_the_tick_runs_only_while_a_shown_run_is_active(panel, qtbot):
    panel.start_run(run_start())
    assert not panel.is_ticking()  # not on screen: nothing to refresh
    panel.show()
    qtbot.waitExposed(panel)
    assert panel.is_ticking()
    panel.set_state("paused")
    assert not panel.is_ticking()
    panel.set_state("training")
    assert panel.is_ticking()
    panel.hide()
    assert not panel.is_ticking()
    panel.show()
    assert panel.is_ticking()
    panel.end_run(RunEnd("finished", "Training finished.", epochs_done=3))
    assert not panel.is_ticking()


def test_the_tick_stops_when_the_window_closes_mid_run(panel, qtbot):
    panel.show()
    qtbot.waitExposed(panel)
    panel.start_run(run_start())
    assert panel.is_ticking()
    panel.close()
    QApplication.processEvents()
    assert not panel.is_ticking()


def test_epoch_results_show_in_the_accuracy_label(panel):
    panel.start_run(run_start())
    panel.update_epoch(epoch_end())
    assert panel.final_accuracy_text() == "Train 97.3%   Test 96.1%"
    panel.update_epoch(epoch_end(2, val_acc=0.955))
    assert panel.final_accuracy_text() == "Train 97.3%   Val 95.5%   Test 96.1%"


@pytest.mark.parametrize(
    ("reason", "state", "message"),
    [
        ("finished", "Finished", "Finished 3 epochs; saved to run.pt."),
        ("stopped", "Stopped", "Stopped after epoch 1 as asked; the last weights were kept."),
        ("diverged", "Diverged",
         "The loss became NaN at step 212. Try a lower learning rate (e.g. 0.01)."),
        ("failed", "Failed", "Out of GPU memory. Try a smaller batch size."),
    ],
)
def test_end_run_says_how_the_run_ended(panel, clock, reason, state, message):
    panel.start_run(run_start(epochs=3, batches_per_epoch=100))
    clock.advance(30)
    panel.update_batch(batch_end(1, 30))
    panel.end_run(RunEnd(reason, message, epochs_done=1))
    clock.advance(100)
    panel.refresh_times()
    assert panel.state_text() == state
    assert panel.elapsed_text() == "0:00:30"  # frozen at the end
    assert panel.eta_text() == "—"
    assert panel.batch_progress()[0] == (100 if reason == "finished" else 30)


def test_data_progress_shows_while_loading_and_hides_after(panel):
    panel.set_state("loading")
    assert panel.state_text() == "Loading data"
    assert not panel.data_progress_visible()
    panel.show_data_progress(DataProgress("cifar10", "Downloading", done=85, total=170))
    assert panel.data_progress_visible()
    assert panel._data_label.text() == "CIFAR-10: Downloading"  # the title, not the id
    assert panel.data_progress() == (500, 1000)
    panel.show_data_progress(DataProgress("folder", "Reading images", done=12, total=0))
    assert panel.data_progress()[1] == 0  # indeterminate
    big = 5 * 2**32  # byte counts beyond a 32-bit int still fit
    panel.show_data_progress(DataProgress("imagenet", "Downloading", done=big // 4, total=big))
    assert panel.data_progress() == (250, 1000)
    panel.start_run(run_start())
    assert not panel.data_progress_visible()


def test_bad_calls_are_refused_with_a_reason(panel):
    with pytest.raises(ValueError, match="Unknown progress state 'running'"):
        panel.set_state("running")
    with pytest.raises(RuntimeError, match="needs start_run"):
        panel.update_batch(batch_end(1, 1))


def test_a_run_that_fails_while_loading_data_says_why(panel):
    panel.set_state("loading")
    panel.show_data_progress(DataProgress("mnist", "Downloading", done=10, total=100))
    panel.end_run(RunEnd("failed", "Could not download MNIST: no network. Pick mnist-sample.",
                         epochs_done=0))
    assert panel.state_text() == "Failed"
    assert not panel.data_progress_visible()
    assert panel.elapsed_text() == "—"


def test_batches_that_ran_before_a_pause_show_the_state_at_the_pause(panel, clock):
    panel.start_run(run_start(epochs=1, batches_per_epoch=100))
    clock.advance(10)
    panel.update_batch(batch_end(1, 10))
    panel.set_state("paused")
    # The batches run between the last update and the pause arrive once paused.
    panel.update_batch(batch_end(1, 13))
    clock.advance(600)
    panel.refresh_times()
    assert panel.batch_progress() == (13, 100)
    assert panel.speed_text() == "paused"
    assert panel.elapsed_text() == "0:00:10"
    eta = panel.eta_text()
    clock.advance(600)
    panel.refresh_times()
    assert panel.eta_text() == eta  # frozen while paused
    panel.set_state("training")
    assert panel.speed_text() == "12,346 examples/s"


def test_captions_are_dimmed_but_meet_wcag_aa(panel):
    from PySide6.QtGui import QPalette
    from PySide6.QtWidgets import QLabel

    from gui.contrast import AA_NORMAL_TEXT, contrast_ratio

    captions = [label for label in panel.findChildren(QLabel)
                if label.text() in ("Speed", "Elapsed", "Time left", "Device")]
    assert len(captions) == 4
    for label in captions:
        palette = label.palette()
        text = palette.color(QPalette.ColorRole.WindowText)
        background = palette.color(QPalette.ColorRole.Window)
        assert text != panel.palette().color(QPalette.ColorRole.WindowText)  # dimmed
        assert contrast_ratio(text, background) >= AA_NORMAL_TEXT


class LayoutRequests(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt's name
        self.count += event.type() == QEvent.Type.LayoutRequest
        return False


def test_batches_repaint_the_figures_without_laying_out_the_window_again(panel, clock, qtbot):
    """A new figure that asked for a new layout made the tab widget repaint the whole tab,
    several times a second during a run (GUI-thread time taken from training)."""
    panel.show()
    panel.start_run(run_start(epochs=3, batches_per_epoch=1000))
    panel.set_state("training")
    QApplication.processEvents()
    requests = LayoutRequests()
    panel.installEventFilter(requests)
    for n, (speed, accuracy) in enumerate([(9.5, 0.1), (812.0, 0.5), (12_345.6, 0.875),
                                           (1_234_567.0, 1.0)], start=1):
        clock.advance(3725)  # the elapsed time and ETA gain digits too
        panel.update_batch(dataclasses.replace(batch_end(1, n, 1000), accuracy=accuracy,
                                               examples_per_sec=speed))
        QApplication.processEvents()
    assert panel.speed_text() == "1,234,567 examples/s" and requests.count == 0


@pytest.mark.parametrize("continuing", [False, True])
def test_a_run_that_fails_before_it_starts_shows_nothing_of_the_previous_run(panel, continuing):
    from gui.run_model import RunModel

    run = RunModel()
    panel.follow(run)
    run.begin()
    run.feed([run_start(epochs=3), batch_end(3, 100), epoch_end(3)])
    run.end(RunEnd("finished", "Finished 3 epochs.", epochs_done=3))
    assert panel.epoch_text() == "Epoch 3 / 3" and "96.1%" in panel.final_accuracy_text()

    run.begin(continuing=continuing)  # e.g. pretrained weights that cannot be had offline
    assert panel.state_text() == "Loading data" and panel.epoch_text() == "Epoch —"
    run.end(RunEnd("failed", "The ResNet-18 weights are not on this computer.", epochs_done=0))
    assert panel.state_text() == "Failed"
    assert "3" not in panel.epoch_text() and "%" not in panel.final_accuracy_text()
    assert panel.batch_progress() == (0, 1)
