"""File > Open checkpoint restores the whole run: every curve its folder holds, a header that
names it, and an offer to evaluate it on its test set (off the GUI thread)."""

from __future__ import annotations

import urllib.request

import pytest
from PySide6.QtCore import Qt

from engine.config import TrainConfig
from tests.gui.windows import open_window

RUN_TIMEOUT_MS = 120_000


@pytest.fixture
def window(qtbot, tmp_path):
    return open_window(qtbot, tmp_path)


def train(qtbot, window, data_dir, **changes):
    window.settings_panel.set_config(TrainConfig(
        arch="mlp", dataset="mnist", data_dir=str(data_dir), epochs=2, batch_size=20,
        device="cpu").replace(**changes))
    window.commands.start_training()
    with qtbot.waitSignal(window.controller.session.finished, timeout=RUN_TIMEOUT_MS) as finished:
        pass
    return finished.args[0]


def test_open_checkpoint_restores_every_curve_names_the_run_and_evaluates_it(
        qtbot, window, data_dir):
    end = train(qtbot, window, data_dir)
    path = end.checkpoint_path
    test_acc = window.history[-1]["test_acc"]
    trained = window.plots.series()
    window.commands.start_training()  # a second run on screen, so the opened one must replace it
    with qtbot.waitSignal(window.controller.session.finished, timeout=RUN_TIMEOUT_MS):
        pass

    assert window.files.open_checkpoint(path)
    # The per-batch loss and learning rate come back from the run folder, not just epochs
    # (read on a background thread).
    qtbot.waitUntil(lambda: window.plots.batch_point_count() > 0, timeout=RUN_TIMEOUT_MS)
    opened = window.plots.series()
    assert window.plots.batch_point_count() == 20 and window.plots.epoch_point_count() == 2
    assert list(opened["step"]) == list(trained["step"])
    assert list(opened["lr"]) == pytest.approx(list(trained["lr"]))
    assert window.plots.hint_text("loss") == "" and window.plots.hint_text("lr") == ""
    # The header names the run and says how it ended.
    folder_name = end.checkpoint_path.split("/")[-2]
    assert window.progress.state_text() == "Finished"
    assert window.progress.epoch_text() == "Epoch 2 / 2"
    assert window.progress.bar_text() == (
        f"Opened: {folder_name} — 2 epochs, Test {test_acc:.1%}")

    # Results: no answers yet, and a button that gets them without blocking the window.
    results = window.results
    box = results.evaluate_box
    assert results.pages.currentIndex() == 0 and box.isVisibleTo(results)
    window.tabs.setCurrentWidget(results)
    with qtbot.waitSignal(window.run.checkpoint_evaluated, timeout=RUN_TIMEOUT_MS) as done:
        qtbot.mouseClick(box.button, Qt.MouseButton.LeftButton)
        assert not box.button.isEnabled() and "Evaluating" in box.status.text()
    evaluation = done.args[0].evaluation
    assert evaluation.epoch == 2 and len(evaluation) == 50
    assert done.args[0].accuracy == pytest.approx(test_acc)
    assert results.pages.currentIndex() == 1
    assert results.summary.text().startswith("After epoch 2: ")
    assert f"({test_acc:.1%})" in results.summary.text()
    assert window.run.evaluation is evaluation


def test_an_evaluation_that_cannot_load_its_data_says_why(qtbot, window, data_dir, tmp_path,
                                                          monkeypatch):
    def offline(*args, **kwargs):
        raise OSError("Network is unreachable")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    end = train(qtbot, window, data_dir, epochs=1)
    assert window.files.open_checkpoint(end.checkpoint_path)
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    window.settings_panel.set_config(window.settings_panel.config().replace(
        data_dir=str(empty)))
    box = window.results.evaluate_box
    with qtbot.waitSignal(box.finished, timeout=RUN_TIMEOUT_MS):
        assert box.evaluate()
    assert box.status.text().startswith("Could not evaluate the checkpoint: ")
    assert "MNIST" in box.status.text()
    assert box.button.isEnabled() and window.results.pages.currentIndex() == 0
