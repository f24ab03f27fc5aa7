"""Start the TrainDesk window."""

from __future__ import annotations

import sys

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from engine.resources import RESOURCES_DIR
from gui.errors import ErrorReporter
from gui.main_window import MainWindow


def run_app(argv: list[str]) -> int:
    app = QApplication.instance() or QApplication([sys.argv[0], *argv])
    app.setOrganizationName("TrainDesk")
    app.setApplicationName("TrainDesk")
    app.setStyle("Fusion")
    app.setWindowIcon(QIcon(str(RESOURCES_DIR / "icon.svg")))
    window = MainWindow()
    ErrorReporter(window, window.log.append_text).install()
    window.show()
    return app.exec()
