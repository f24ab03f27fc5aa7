"""Unexpected errors are shown to the person, not only printed to a terminal they cannot see.

Qt calls `sys.excepthook` for an exception that escapes a slot or a timer's callback, and
carries on. `ErrorReporter.install()` makes that hook log the error in the window and show
it in a dialog: one dialog at a time, and an error already shown goes only to the log (a
slot that fails on every timer tick must not bury the window in dialogs). The previous hook
still runs, so the traceback also reaches the terminal.
"""

from __future__ import annotations

import contextlib
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QMessageBox, QWidget

ExceptHook = Callable[[type[BaseException], BaseException, TracebackType | None], None]


@contextmanager
def reported_errors() -> Iterator[None]:
    """Run a block whose failure must not stop what follows: the error goes to the hook."""
    try:
        yield
    except Exception:  # noqa: BLE001 - reported, then the caller carries on
        sys.excepthook(*sys.exc_info())


class ErrorReporter(QObject):
    """Shows unexpected exceptions in `parent`'s log (`log`) and in a dialog."""

    _reported = Signal(str, str, str)  # signature, one-line summary, traceback text

    def __init__(self, parent: QWidget, log: Callable[[str, str], None]) -> None:
        super().__init__(parent)
        self._window = parent
        self._log = log
        self._shown: set[str] = set()
        self._repeats: dict[str, int] = {}
        self.dialog: QMessageBox | None = None
        self._previous: ExceptHook | None = None
        # Queued to the GUI thread when the hook runs on another thread.
        self._reported.connect(self._show)

    def install(self) -> None:
        self._previous = sys.excepthook
        sys.excepthook = self.hook

    def uninstall(self) -> None:
        if self._previous is not None and sys.excepthook == self.hook:
            sys.excepthook = self._previous
        self._previous = None

    def hook(self, kind: type[BaseException], error: BaseException,
             tb: TracebackType | None) -> None:
        if self._previous is not None:
            self._previous(kind, error, tb)
        frames = traceback.extract_tb(tb)
        where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else ""
        summary = f"{kind.__name__}: {error}"
        details = "".join(traceback.format_exception(kind, error, tb)).rstrip()
        with contextlib.suppress(RuntimeError):  # the window is gone: the terminal has it
            self._reported.emit(f"{kind.__name__}@{where}", summary, details)

    @Slot(str, str, str)
    def _show(self, signature: str, summary: str, details: str) -> None:
        if signature in self._shown:
            self._repeats[signature] = self._repeats.get(signature, 0) + 1
            self._log(f"The same unexpected error again ({self._repeats[signature]} times "
                      f"since it was shown): {summary}", "error")
            return
        self._shown.add(signature)
        self._log(f"Unexpected error: {summary}\n{details}", "error")
        if self.dialog is not None and self.dialog.isVisible():
            return  # one dialog at a time; the log has this one
        self.dialog = QMessageBox(QMessageBox.Icon.Critical, "Unexpected error",
                                  f"Something went wrong inside TrainDesk: {summary}\n\n"
                                  "The window carries on; the details are in the log.",
                                  QMessageBox.StandardButton.Ok, self._window)
        self.dialog.setDetailedText(details)
        self.dialog.open()  # not modal to the event loop: training events keep coming
