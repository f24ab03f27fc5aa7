"""File > Export model…: enabled once there is a model, exports off the GUI thread."""

from __future__ import annotations

import dataclasses
import json
import threading

import pytest
import torch
from PySide6.QtWidgets import QFileDialog, QMessageBox

import gui.model_export
from engine.resources import RESOURCES_DIR
from gui.model_export import export_doubt
from tests.gui.windows import open_window

BUNDLED = RESOURCES_DIR / "pretrained" / "digits-lenet5.pt"
# TorchScript is deprecated in PyTorch 2.14 in favour of torch.export; still supported.
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:FutureWarning")


@pytest.fixture
def window(qtbot, tmp_path):
    window = open_window(qtbot, tmp_path)
    return window


def file_menu_texts(window):
    [file_menu] = [a.menu() for a in window.menuBar().actions() if a.text() == "&File"]
    return [a.text() for a in file_menu.actions()]


def test_the_action_is_in_the_file_menu_and_waits_for_a_model(window):
    action = window.export_model_action
    assert "Export &model…" in file_menu_texts(window)
    assert not action.isEnabled()
    assert window.files.open_checkpoint(str(BUNDLED))
    assert action.isEnabled()


def test_exporting_runs_off_the_gui_thread_and_says_where_the_file_went(qtbot, window,
                                                                       tmp_path, monkeypatch):
    import engine.inference.export

    threads = []
    real = engine.inference.export.export_model

    def recording(*args):
        threads.append(threading.current_thread())
        return real(*args)

    monkeypatch.setattr(engine.inference.export, "export_model", recording)
    assert window.files.open_checkpoint(str(BUNDLED))
    action = window.export_model_action
    target = tmp_path / "out" / "digits.pt"
    with qtbot.waitSignal(action.finished, timeout=60_000) as done:
        assert action.export_to(target, "torchscript")
        assert not action.isEnabled()  # one export at a time
    result = done.args[0]
    assert threads and threads[0] is not threading.main_thread()
    assert result.path == target and target.exists()
    assert torch.jit.load(str(target))(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
    assert json.loads((tmp_path / "out" / "digits.pt.json").read_text())["class_names"][0] == "0"
    message = window.statusBar().currentMessage()
    assert f"Exported the model of digits-lenet5.pt to {target}" in message
    assert "digits.pt.json" in message
    assert action.isEnabled()


def test_a_failed_export_is_explained_and_the_action_comes_back(qtbot, window, tmp_path,
                                                                 monkeypatch):
    shown = []
    monkeypatch.setattr(QMessageBox, "warning",
                        lambda _parent, title, text: shown.append((title, text)))
    assert window.files.open_checkpoint(str(BUNDLED))
    blocker = tmp_path / "file"
    blocker.write_text("")
    action = window.export_model_action
    with qtbot.waitSignal(action.finished, timeout=60_000):
        assert action.export_to(blocker / "m.pt", "torchscript")
    [(title, text)] = shown
    assert title == "Cannot export the model" and "Could not write" in text
    assert action.isEnabled()


def checkpoint_like(epoch: int, test_acc: float = 0.1, assumed: str = ""):
    from engine.records.checkpoint import load_checkpoint

    return dataclasses.replace(load_checkpoint(BUNDLED), epoch=epoch, assumed=assumed,
                               history=[{"epoch": epoch, "test_acc": test_acc}] if epoch else [])


@pytest.mark.parametrize(("status", "epoch", "assumed", "says"), [
    ("learned_nothing", 3, "", "The run R learned nothing: its model (test accuracy 10.0%) "
                               "does no better than guessing."),
    ("failed", 2, "", "The run R failed; this is its model after epoch 2."),
    ("diverged", 1, "", "The run R diverged; this is its model after epoch 1, before the "
                        "loss blew up."),
    ("", 0, "", "R has no finished epoch: its model has not been trained."),
    ("", 0, "Assumed MNIST.", "R has no finished epoch on record: it holds bare weights, and "
                              "what they were trained on is assumed. Assumed MNIST."),
    ("finished", 3, "", ""),
    ("stopped", 2, "", ""),
])
def test_a_model_that_may_not_be_worth_exporting_is_doubted(status, epoch, assumed, says):
    assert export_doubt(checkpoint_like(epoch, assumed=assumed), "R", status) == says


def test_export_names_the_run_and_asks_before_exporting_a_run_that_learned_nothing(
        window, monkeypatch):
    asked, dialogs = [], []
    answer = [False]
    monkeypatch.setattr(gui.model_export, "ask_to_go_on",
                        lambda _parent, title, text: asked.append((title, text)) or answer[0])
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda _parent, title, suggested, _filters: dialogs.append(
                            (title, suggested)) or ("", ""))
    action = window.export_model_action
    window.run.keep_model(checkpoint_like(3),
                          "/runs/20261207-1200-lenet5-relu-mnist-sample/checkpoint.pt",
                          "learned_nothing")
    assert not action.ask_and_export()
    [(title, text)] = asked
    assert title == "Export the model of 20261207-1200-lenet5-relu-mnist-sample?"
    assert "learned nothing" in text and text.endswith("Export it anyway?")
    assert dialogs == []  # declined: no file dialog
    answer[0] = True
    assert not action.ask_and_export()  # the file dialog, cancelled
    [(title, suggested)] = dialogs
    assert title == "Export the model of 20261207-1200-lenet5-relu-mnist-sample"
    assert suggested.endswith("/20261207-1200-lenet5-relu-mnist-sample.pt")

    asked.clear()
    window.run.keep_model(checkpoint_like(3, 0.99), "/somewhere/my model.pt", "finished")
    assert not action.ask_and_export()
    assert asked == []  # a run that trained: no question
    assert dialogs[-1][0] == "Export the model of my model.pt"
    assert dialogs[-1][1].endswith("/my-model-lenet5-relu-mnist-sample.pt")
