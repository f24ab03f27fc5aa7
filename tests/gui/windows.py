"""The main window as GUI tests open it: its own settings file and runs folder, shown,
with PyTorch loaded behind it (already imported when other tests ran)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings

from gui.main_window import MainWindow
from gui.stop_question import ASK_BEFORE_STOPPING

ENGINE_TIMEOUT_MS = 60_000


def open_window(qtbot, folder: Path, settings_file: str | Path | None = None,
                ask_before_stopping: bool = False) -> MainWindow:
    """A shown MainWindow writing its runs under folder/runs, ready to train.

    Stop and close end a run without the question (gui/stop_question.py) unless
    ask_before_stopping: a modal question would hold up a test that stops a run.
    """
    settings_file = settings_file or folder / "settings.ini"
    settings = QSettings(str(settings_file), QSettings.Format.IniFormat)
    settings.setValue(ASK_BEFORE_STOPPING, ask_before_stopping)
    window = MainWindow(settings=settings, runs_dir=folder / "runs")
    # The teardown's close never asks (a question would hold the test up).
    qtbot.addWidget(window, before_close_func=lambda w: w.app_settings.setValue(
        ASK_BEFORE_STOPPING, False))
    window.show()
    qtbot.waitUntil(window.engine_ready, timeout=ENGINE_TIMEOUT_MS)
    return window
