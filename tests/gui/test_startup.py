"""The window comes up before PyTorch has loaded, and everything that needs it waits."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QGroupBox

from engine.config import TrainConfig
from gui.engine_loader import EngineLoader
from gui.main_window import MainWindow
from tools.sample_datasets import write_idx_dataset

REPO = Path(__file__).resolve().parents[2]
RUN_TIMEOUT_MS = 120_000


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("startup-data")
    write_idx_dataset(root, n_train=100, n_test=40)
    return root


def small_config(data_dir) -> TrainConfig:
    return TrainConfig(arch="mlp", dataset="mnist", data_dir=str(data_dir), epochs=1,
                       batch_size=20, device="cpu")


def offscreen_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return dict(os.environ, QT_QPA_PLATFORM="offscreen", HOME=str(tmp_path),
                XDG_CONFIG_HOME=str(tmp_path / "config"), **extra)


def test_python_main_py_paints_its_window_before_importing_torch(tmp_path):
    env = offscreen_env(tmp_path, TRAINDESK_FIRST_PAINT_T0=str(time.time()))
    result = subprocess.run([sys.executable, "main.py"], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    report = dict(item.split("=") for item in result.stdout.split())
    assert report["torch_imported"] == "False"
    assert float(report["first_paint_s"]) > 0


def test_the_window_s_modules_import_no_heavy_library(tmp_path):
    """What the window imports before its first paint: none of the libraries that take
    seconds to import or fill memory (scipy's import alone also stalled the first run's
    start for ~220 ms); each is imported where it is used."""
    heavy = ("torch", "scipy", "optuna", "sqlalchemy", "tensorboard")
    code = ("import sys, gui.main_window; "
            f"print(','.join(m for m in {heavy!r} if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=offscreen_env(tmp_path),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


# A fresh process (PyTorch not imported): Train is clicked before the window has even been
# painted, so before the loading has started; the run must start once PyTorch has loaded.
TRAIN_BEFORE_TORCH = """
import json, sys
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication
from engine.config import TrainConfig
from gui.main_window import MainWindow
args = json.loads(sys.argv[1])
app = QApplication([])
window = MainWindow(settings=QSettings(args["settings"], QSettings.Format.IniFormat),
                    runs_dir=args["runs"])
window.settings_panel.set_config(TrainConfig(**args["config"]))
window.show()
seen = {"torch_at_click": "torch" in sys.modules, "status_at_click": None, "end": None}
window.settings_dock.train_button.click()
seen["status_at_click"] = window.status_text()
seen["session_at_click"] = window.controller.session is not None
seen["train_enabled_at_click"] = window.settings_dock.train_button.isEnabled()
seen["stop_enabled_at_click"] = window.settings_dock.stop_button.isEnabled()

def watch():
    if window.controller.session is not None and seen["end"] is None:
        window.controller.session.finished.connect(
            lambda end: (seen.update(end=end.reason), app.quit()))
        return
    QTimer.singleShot(20, watch)

QTimer.singleShot(0, watch)
QTimer.singleShot(120_000, app.quit)
app.exec()
seen["epochs_in_log"] = "Finished 1 epoch" in window.log.text()
print(json.dumps(seen))
"""


def test_train_clicked_before_torch_has_loaded_starts_once_it_has(tmp_path, data_dir):
    args = {"settings": str(tmp_path / "settings.ini"), "runs": str(tmp_path / "runs"),
            "config": small_config(data_dir).to_dict()}
    result = subprocess.run([sys.executable, "-c", TRAIN_BEFORE_TORCH, json.dumps(args)],
                            cwd=REPO, env=offscreen_env(tmp_path), capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.splitlines()[-1])
    assert seen["torch_at_click"] is False
    assert seen["session_at_click"] is False  # held, not started and not refused
    assert seen["status_at_click"].startswith("Loading PyTorch…")
    assert not seen["train_enabled_at_click"] and seen["stop_enabled_at_click"]
    assert seen["end"] == "finished" and seen["epochs_in_log"]


@pytest.fixture
def loading_window(qtbot, tmp_path, monkeypatch, data_dir):
    """A window whose PyTorch is 'still loading' until the test emits `loaded` itself."""
    monkeypatch.setattr(EngineLoader, "already_loaded", staticmethod(lambda: False))
    monkeypatch.setattr(EngineLoader, "start", lambda self: None)
    window = MainWindow(settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat),
                        runs_dir=tmp_path / "runs")
    qtbot.addWidget(window)
    window.show()
    window.settings_panel.set_config(small_config(data_dir))
    return window


def test_while_loading_the_form_is_usable_and_torch_needing_parts_wait(loading_window):
    window = loading_window
    assert window.status_text() == "Loading PyTorch…"
    assert window.settings_panel.isEnabled() and window.settings_panel.is_valid()
    assert window.settings_dock.train_button.isEnabled()
    assert "as soon as it has loaded" in window.settings_dock.train_button.toolTip()
    assert not window.files.open_action.isEnabled()
    assert not window.commands.resume_action.isEnabled()
    assert window.summary is None and window.draw is None
    assert "once PyTorch has loaded" in window.tabs.widget(2).message.text()
    window.engine_loader.loaded.emit()
    assert window.status_text() == "Ready"
    assert window.files.open_action.isEnabled()
    assert window.tabs.widget(2) is not None and window.draw is not None
    assert window.draw.predictor() is not None  # the bundled digit model
    assert window.summary.summary() is not None  # the chosen network's layers


def test_a_held_start_runs_when_torch_has_loaded(qtbot, loading_window):
    window = loading_window
    qtbot.mouseClick(window.settings_dock.train_button, Qt.MouseButton.LeftButton)
    assert window.controller.session is None and not window.settings_dock.train_button.isEnabled()
    assert not window.settings_panel.findChild(QGroupBox).isEnabled()  # the form is locked
    window.engine_loader.loaded.emit()
    assert window.controller.session is not None
    with qtbot.waitSignal(window.controller.session.finished, timeout=RUN_TIMEOUT_MS) as finished:
        pass
    assert finished.args[0].reason == "finished"


def test_stop_cancels_a_held_start(qtbot, loading_window):
    window = loading_window
    qtbot.mouseClick(window.settings_dock.train_button, Qt.MouseButton.LeftButton)
    assert window.settings_dock.stop_button.isEnabled()
    qtbot.mouseClick(window.settings_dock.stop_button, Qt.MouseButton.LeftButton)
    assert window.settings_dock.train_button.isEnabled()
    assert not window.settings_dock.stop_button.isEnabled()
    window.engine_loader.loaded.emit()
    assert window.controller.session is None  # cancelled: loading does not start it after all


def test_a_broken_torch_install_is_said_and_train_is_off(loading_window):
    window = loading_window
    window.engine_loader.failed.emit("ImportError: libtorch_cpu.so: cannot open shared object")
    message = window.status_text()
    assert message.startswith("PyTorch could not be loaded (ImportError") and "pip" in message
    assert not window.settings_dock.train_button.isEnabled()
    assert "could not be loaded" in window.log.text()


# A fresh process: the window loads PyTorch behind itself, then the objects alive by then
# are out of the garbage collector's reach (a full collection walking them stalled a run's
# event loop ~200 ms).
FROZEN_AFTER_LOADING = """
import gc, json, sys
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication
from gui.main_window import MainWindow
args = json.loads(sys.argv[1])
app = QApplication([])
window = MainWindow(settings=QSettings(args["settings"], QSettings.Format.IniFormat),
                    runs_dir=args["runs"])
window.show()
frozen_before = gc.get_freeze_count()
while not window.engine_ready():
    app.processEvents()
print(json.dumps({"before": frozen_before, "frozen": gc.get_freeze_count(),
                  "tracked": len(gc.get_objects())}))
"""


def test_once_pytorch_has_loaded_its_objects_are_out_of_the_collectors_reach(tmp_path):
    args = {"settings": str(tmp_path / "settings.ini"), "runs": str(tmp_path / "runs")}
    result = subprocess.run([sys.executable, "-c", FROZEN_AFTER_LOADING, json.dumps(args)],
                            cwd=REPO, env=offscreen_env(tmp_path), capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.splitlines()[-1])
    assert seen["before"] == 0  # not before PyTorch: its objects are what matters
    assert seen["frozen"] > 100_000 and seen["frozen"] > 10 * seen["tracked"]
