"""The Draw and Inside tabs' epoch slider: the run's network after any epoch, read in the
background and kept, live and for an opened run folder."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.events import CheckpointSaved, RunStart
from engine.models.architectures import build_model
from engine.records.checkpoint import Checkpoint, load_checkpoint
from engine.records.epoch_checkpoints import save_epoch_checkpoint
from gui import draw_panel
from gui.draw_panel import DrawPanel
from gui.epoch_networks import NONE_KEPT_NOTE, OVER_LIMIT_NOTE, EpochNetworks
from gui.inside_panel import InsidePanel
from gui.run_model import InspectRequest, OpenedRun, RunModel
from tools.digit_strokes import all_drawings, place

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")
TIMEOUT_MS = 30_000


def epoch_checkpoint(epoch: int) -> Checkpoint:
    """Epoch 1: an untrained LeNet-5; later epochs: the bundled demo model's weights."""
    demo = load_checkpoint(draw_panel.BUNDLED_MODEL)
    state = demo.model_state
    if epoch == 1:
        torch.manual_seed(0)
        state = build_model(demo.config.arch, demo.in_channels, len(demo.class_names),
                            demo.input_size).state_dict()
    history = [{"epoch": e, "test_acc": 0.1 * e} for e in range(1, epoch + 1)]
    return dataclasses.replace(demo, model_state=state, epoch=epoch, history=history,
                               optimizer_state=None, scheduler_state=None, scaler_state=None)


def start(folder: Path, keeps: bool = True, start_epoch: int = 0) -> RunStart:
    return RunStart(arch="lenet5", dataset="mnist-sample", device="CPU", epochs=3,
                    start_epoch=start_epoch, batches_per_epoch=1, train_size=1, val_size=0,
                    test_size=1, num_params=1, class_names=tuple("0123456789"),
                    input_shape=(1, 28, 28), run_dir=str(folder), keeps_epochs=keeps)


def end_epoch(run: RunModel, folder: Path, epoch: int) -> None:
    """What the trainer does at an epoch's end: the epoch's file, then CheckpointSaved."""
    save_epoch_checkpoint(folder, epoch_checkpoint(epoch))
    run.feed([CheckpointSaved(epoch, str(folder / "checkpoint.pt"), epoch, None, "test_acc")])


def seven() -> list:
    [(_, _, drawing)] = [d for d in all_drawings() if d[:2] == (7, "plain")]
    return place(drawing, (0.5, 0.5), 0.8)


@pytest.fixture
def parts(qtbot):
    draw = DrawPanel()
    run = RunModel()
    epochs = EpochNetworks(run, draw)
    draw.follow_epochs(epochs)
    inside = InsidePanel(draw, run, epochs)
    for widget in (draw, inside):
        qtbot.addWidget(widget)
        widget.resize(1000, 700)
        widget.show()
    assert draw.load_bundled_model()
    return draw, run, epochs, inside


def read(qtbot, epochs: EpochNetworks, epoch: int) -> None:
    epochs.choose(epoch)
    qtbot.waitUntil(lambda: epochs.network is not None and epochs.network.epoch == epoch,
                    timeout=TIMEOUT_MS)


def test_a_live_run_offers_each_epoch_as_it_ends_and_the_drawing_is_read_by_it(
        qtbot, parts, tmp_path):
    draw, run, epochs, inside = parts
    draw.canvas.set_strokes(seven())
    draw.predict_if_pending()
    demo_reading = draw.probabilities()
    run.begin()
    run.feed([start(tmp_path)])
    assert draw.epoch_bar.isVisible() and epochs.epochs == []
    assert not draw.epoch_bar.use_box.isEnabled()

    end_epoch(run, tmp_path, 1)
    assert epochs.epochs == [1] and draw.epoch_bar.slider.epoch() == 1
    assert epochs.network is None  # the list's model reads until a person chooses an epoch
    read(qtbot, epochs, 1)
    untrained = epoch_checkpoint(1)
    from engine.inference.predict import Predictor
    expected = Predictor.from_checkpoint(untrained).predict(draw.current_input())
    np.testing.assert_allclose(draw.probabilities(), expected, rtol=1e-5, atol=1e-6)
    assert not np.allclose(draw.probabilities(), demo_reading)
    assert draw.epoch_bar.use_box.isChecked() and inside.epoch_bar.use_box.isChecked()
    assert draw.epoch_bar.state_label.text() == "test accuracy 10.0%"

    # On the newest epoch, the choice follows the run.
    end_epoch(run, tmp_path, 2)
    qtbot.waitUntil(lambda: epochs.network.epoch == 2, timeout=TIMEOUT_MS)
    assert inside.epoch_bar.slider.epoch() == 2 == draw.epoch_bar.slider.epoch()
    np.testing.assert_allclose(draw.probabilities(), demo_reading, rtol=1e-5, atol=1e-6)

    # Choosing a model in the list reads with it again.
    draw.model_picker.activated.emit(0)
    assert epochs.chosen is None and draw.epoch_network() is None
    assert not draw.epoch_bar.use_box.isChecked()
    np.testing.assert_allclose(draw.probabilities(), demo_reading, rtol=1e-5, atol=1e-6)


def test_moving_the_slider_off_the_newest_epoch_chooses_it_in_both_tabs(qtbot, parts,
                                                                         tmp_path):
    draw, run, epochs, inside = parts
    run.feed([start(tmp_path)])
    for epoch in (1, 2, 3):
        end_epoch(run, tmp_path, epoch)
    assert epochs.chosen is None
    inside.epoch_bar.slider.slider.setValue(0)  # what a drag to the left end does
    assert epochs.chosen == 1 and draw.epoch_bar.slider.epoch() == 1
    qtbot.waitUntil(lambda: draw.epoch_network() is not None, timeout=TIMEOUT_MS)
    # Read ahead: the next epochs are in memory before the slider reaches them.
    qtbot.waitUntil(lambda: epochs.cached_epochs() == [1, 2, 3], timeout=TIMEOUT_MS)
    draw.epoch_bar.slider.slider.setValue(2)
    assert draw.epoch_network().epoch == 3  # no reading needed: at once
    draw.epoch_bar.use_box.click()
    assert epochs.chosen is None and draw.epoch_network() is None


def test_the_inside_tab_looks_into_the_chosen_epoch(qtbot, parts, tmp_path):
    draw, run, epochs, inside = parts
    run.feed([start(tmp_path)])
    end_epoch(run, tmp_path, 1)
    draw.canvas.set_strokes(seven())
    read(qtbot, epochs, 1)
    qtbot.waitUntil(lambda: not draw.prediction_pending() and not inside.busy()
                    and inside.seen is not None, timeout=TIMEOUT_MS)
    assert f"epoch 1 of {tmp_path.name}" in inside.source_label.text()
    np.testing.assert_allclose(inside.seen.insight.probabilities, draw.probabilities(),
                               rtol=1e-4, atol=1e-5)

    image = (np.random.default_rng(0).random((1, 28, 28)) * 255).astype(np.uint8)
    inside.inspect(InspectRequest(image, 3, "Test image 4"))
    qtbot.waitUntil(lambda: not inside.busy() and inside.seen is not None
                    and "Test image 4" in inside.source_label.text(), timeout=TIMEOUT_MS)
    assert "epoch 1" in inside.source_label.text()


def test_an_opened_run_folder_offers_its_epochs_or_says_why_not(qtbot, parts, tmp_path):
    draw, run, epochs, _ = parts
    for epoch in (1, 2):
        save_epoch_checkpoint(tmp_path, epoch_checkpoint(epoch))
    opened = epoch_checkpoint(2)
    run.show_opened(opened, str(tmp_path / "checkpoint.pt"),
                    OpenedRun("run", "finished", 2, opened.history, tmp_path))
    assert epochs.epochs == [1, 2] and draw.epoch_bar.pages.currentIndex() == 0
    read(qtbot, epochs, 1)

    older = tmp_path / "older"  # a small model's run made before epochs were kept
    older.mkdir()
    run.show_opened(opened, str(older / "checkpoint.pt"),
                    OpenedRun("older", "finished", 2, opened.history, older))
    assert epochs.epochs == [] and epochs.network is None and draw.epoch_network() is None
    assert draw.epoch_bar.note_label.text() == NONE_KEPT_NOTE
    assert draw.epoch_bar.pages.currentWidget() is draw.epoch_bar.note_label

    run.show_opened(opened, "elsewhere.pt")  # outside a run folder: no slider
    assert not draw.epoch_bar.isVisible()


def test_a_run_that_keeps_no_epochs_says_so(parts, tmp_path):
    draw, run, epochs, inside = parts
    run.feed([start(tmp_path, keeps=False)])
    for bar in (draw.epoch_bar, inside.epoch_bar):
        assert bar.isVisible() and bar.note_label.text() == OVER_LIMIT_NOTE
    assert OVER_LIMIT_NOTE == "Only the best and last epochs are kept for models over 20 MB."


def test_a_run_continued_from_an_earlier_epoch_forgets_the_later_networks(qtbot, parts,
                                                                          tmp_path):
    _, run, epochs, _ = parts
    run.feed([start(tmp_path)])
    for epoch in (1, 2):
        end_epoch(run, tmp_path, epoch)
    read(qtbot, epochs, 2)
    run.begin(continuing=True)
    run.feed([start(tmp_path, start_epoch=1)])
    assert 2 not in epochs.cached_epochs()


def test_a_model_trained_meanwhile_is_listed_and_the_chosen_epoch_still_reads(qtbot, parts,
                                                                              tmp_path):
    draw, run, epochs, _ = parts
    run.feed([start(tmp_path)])
    end_epoch(run, tmp_path, 1)
    read(qtbot, epochs, 1)
    trained = dataclasses.replace(epoch_checkpoint(2), history=[{"epoch": 2, "test_acc": 1.0}])
    assert draw.add_trained_model(trained)
    assert draw.epoch_network().epoch == 1 and draw.predictor() is epochs.network.predictor
    assert draw.choices().in_use().origin == "trained"  # read once the box is unticked
    assert "reads with the network after epoch 1 until you untick" in draw.news_label.text()
    draw.epoch_bar.use_box.click()
    assert draw.predictor() is draw.model_picker.predictor(draw.choices().current)


def test_the_windows_run_offers_its_epochs_on_the_draw_and_inside_tabs(qtbot, tmp_path,
                                                                       data_dir):
    from engine.config import TrainConfig
    from tests.gui.windows import open_window

    window = open_window(qtbot, tmp_path)
    window.settings_panel.set_config(TrainConfig(
        arch="lenet5", dataset="mnist", data_dir=str(data_dir), epochs=2, batch_size=50,
        device="cpu"))
    window.settings_dock.train_button.click()
    with qtbot.waitSignal(window.controller.run_finished, timeout=120_000):
        pass
    inside = window.findChild(InsidePanel)
    networks = window.draw.epoch_bar.networks
    assert networks.folder == window.controller.run_dir and networks.epochs == [1, 2]
    window.tabs.setCurrentWidget(window.pytorch.inside_tab)
    inside.epoch_bar.slider.set_epoch(1)
    qtbot.waitUntil(lambda: window.draw.epoch_network() is not None, timeout=TIMEOUT_MS)
    assert window.draw.epoch_network().epoch == 1
    assert window.draw.epoch_bar.slider.epoch() == 1


def test_a_damaged_epoch_file_is_said_and_the_network_shown_stays(qtbot, parts, tmp_path):
    draw, run, epochs, _ = parts
    run.feed([start(tmp_path)])
    for epoch in (1, 2):
        end_epoch(run, tmp_path, epoch)
    epoch_file = tmp_path / "epochs" / "epoch-0002.pt"
    epoch_file.write_bytes(epoch_file.read_bytes()[:200])
    read(qtbot, epochs, 1)
    epochs.wait()  # the read-ahead of epoch 2 fails quietly: nobody chose it yet
    qtbot.wait(50)
    assert epochs.error == ""
    epochs.choose(2)
    qtbot.waitUntil(lambda: bool(epochs.error), timeout=TIMEOUT_MS)
    assert draw.epoch_bar.state_label.text() == "could not be read"
    assert "epoch 2" in draw.epoch_bar.state_label.toolTip()
    assert draw.epoch_network().epoch == 1


def test_only_the_latest_networks_are_kept(qtbot, parts, tmp_path, monkeypatch):
    from gui import epoch_networks

    monkeypatch.setattr(epoch_networks, "MAX_CACHED", 2)
    _, run, epochs, _ = parts
    run.feed([start(tmp_path)])
    for epoch in (1, 2, 3):
        end_epoch(run, tmp_path, epoch)
    for epoch in (1, 2, 3):
        read(qtbot, epochs, epoch)
        epochs.wait()
        qtbot.wait(20)
    assert len(epochs.cached_epochs()) == 2 and 3 in epochs.cached_epochs()
