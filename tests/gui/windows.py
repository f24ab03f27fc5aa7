"""The main window as GUI tests open it: its own settings file and runs folder, shown,
with PyTorch loaded behind it (already imported when other tests ran)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings

from gui.main_window import MainWindow

ENGINE_TIMEOUT_MS = 60_000


def open_window(qtbot, folder: Path, settings_file: str | Path | None = None) -> MainWindow:
    """A shown MainWindow writing its runs under folder/runs, ready to train."""
    settings_file = settings_file or folder / "settings.ini"
    settings = QSettings(str(settings_file), QSettings.Format.IniFormat)
    window = MainWindow(settings=settings, runs_dir=folder / "runs")
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(window.engine_ready, timeout=ENGINE_TIMEOUT_MS)
    return window
