"""Start the TrainDesk window.

Nothing imported here loads PyTorch: the window is shown first and PyTorch loads behind it
(see gui/main_window.py). Set TRAINDESK_FIRST_PAINT_T0 to a `time.time()` taken before the
process started and the app prints how long it took to paint the window, and whether PyTorch
was imported by then, and exits (bench/startup.py and the tests use it).
"""

from __future__ import annotations

import os
import sys
import time

from pyqtgraph.util.garbage_collector import GarbageCollector
from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from engine.resources import RESOURCES_DIR
from gui.errors import ErrorReporter
from gui.main_window import MainWindow
from gui.platform_check import xcb_problem

FIRST_PAINT_ENV = "TRAINDESK_FIRST_PAINT_T0"


def run_app(argv: list[str]) -> int:
    problem = xcb_problem()
    if problem:  # say what to install, rather than let Qt abort with a list of plugins
        print(problem, file=sys.stderr)
        return 1
    app = QApplication.instance() or QApplication([sys.argv[0], *argv])
    app.setOrganizationName("TrainDesk")
    app.setApplicationName("TrainDesk")
    app.setStyle("Fusion")
    app.setWindowIcon(QIcon(str(RESOURCES_DIR / "icon.svg")))
    # Python's cycle collector runs on whichever thread allocates; on a worker thread it can
    # free Qt objects there and deadlock with the GUI thread (GIL against Qt's mutex). It
    # runs on the GUI thread only, once a second (pyqtgraph's remedy).
    collector = GarbageCollector(interval=1.0)  # noqa: F841 - kept alive by this frame
    window = MainWindow()
    ErrorReporter(window, window.log.append_text).install()
    if FIRST_PAINT_ENV in os.environ:
        probe = _FirstPaintReport(float(os.environ[FIRST_PAINT_ENV]), window)
        window.installEventFilter(probe)
    window.show()
    return app.exec()


class _FirstPaintReport(QObject):
    """Prints "first_paint_s=<seconds since t0> torch_imported=<bool>" and exits."""

    def __init__(self, t0: float, parent: QObject) -> None:
        super().__init__(parent)
        self._t0 = t0

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.Paint:
            elapsed = time.time() - self._t0
            print(f"first_paint_s={elapsed:.3f} torch_imported={'torch' in sys.modules}",
                  flush=True)
            # At once, without waiting for the PyTorch import this paint has just started.
            os._exit(0)
        return False
