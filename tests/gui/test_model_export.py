"""File > Export model…: enabled once there is a model, exports off the GUI thread."""

from __future__ import annotations

import json
import threading

import pytest
import torch
from PySide6.QtWidgets import QMessageBox

from engine.resources import RESOURCES_DIR
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
    import engine.export

    threads = []
    real = engine.export.export_model

    def recording(*args):
        threads.append(threading.current_thread())
        return real(*args)

    monkeypatch.setattr(engine.export, "export_model", recording)
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
    assert f"Exported the model to {target}" in message and "digits.pt.json" in message
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
