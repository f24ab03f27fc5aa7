"""File > Export model…: the model on screen to TorchScript or ONNX (engine.export).

An export builds the network, traces or exports it, writes it and loads it back to check
it: tens of milliseconds for LeNet-5, seconds for ResNet-18 to ONNX. So it runs on a plain
background thread, as gui/engine_loader.py imports PyTorch; the result comes back to the GUI
thread as a signal, and the status bar (or a message box, for a failure) says it.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMessageBox

if TYPE_CHECKING:  # PyTorch loads behind the window: imported when an export starts
    from engine.checkpoint import Checkpoint
    from engine.export import ExportResult

FILTERS = {"torchscript": "TorchScript (*.pt)", "onnx": "ONNX (*.onnx)"}


class ExportModelAction(QAction):
    """The menu action; `finished(result_or_error)` follows every export it starts
    (an ExportResult, or the message saying why it failed)."""

    finished = Signal(object)

    def __init__(self, window: QMainWindow, checkpoint: Callable[[], Checkpoint | None],
                 folder: Callable[[], Path]) -> None:
        super().__init__("Export &model…", window)
        self._window = window
        self._checkpoint = checkpoint
        self._folder = folder
        self._available = False
        self._thread: threading.Thread | None = None
        self.setStatusTip("Save the model as TorchScript or ONNX, with its class names and "
                          "normalisation, to run it outside TrainDesk.")
        self.triggered.connect(lambda _checked=False: self.ask_and_export())
        self.finished.connect(self._report)
        self.setEnabled(False)

    def set_available(self, available: bool) -> None:
        """Whether there is a model to export (the window knows)."""
        self._available = available
        self.setEnabled(available and not self.busy())

    def busy(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wait(self, timeout: float | None = None) -> None:
        """Block until the export in progress has finished (for closing and tests)."""
        if self._thread is not None:
            self._thread.join(timeout)

    def ask_and_export(self) -> bool:
        ckpt = self._checkpoint()
        if ckpt is None or self.busy():
            return False
        suggested = self._folder() / f"{ckpt.config.arch}-{ckpt.config.dataset}.pt"
        path, chosen = QFileDialog.getSaveFileName(
            self._window, "Export model", str(suggested), ";;".join(FILTERS.values()))
        if not path:
            return False
        fmt = "onnx" if chosen == FILTERS["onnx"] or path.lower().endswith(".onnx") \
            else "torchscript"
        return self.export_to(path, fmt)

    def export_to(self, path: str | Path, fmt: str) -> bool:
        """Start exporting the window's model to `path` in `fmt`; False when none or busy."""
        ckpt = self._checkpoint()
        if ckpt is None or self.busy():
            return False
        self.setEnabled(False)
        self._window.statusBar().showMessage(f"Exporting the model to {Path(path).name}…")
        self._thread = threading.Thread(target=self._export, args=(ckpt, Path(path), fmt),
                                        name="export-model")
        self._thread.start()
        return True

    def _export(self, ckpt: Checkpoint, path: Path, fmt: str) -> None:
        from engine.export import ExportError, export_model

        try:
            outcome: object = export_model(ckpt, path, fmt)
        except ExportError as error:
            outcome = str(error)
        except Exception as error:  # noqa: BLE001 - a failure is said, never a crash
            outcome = f"The export failed: {type(error).__name__}: {error}"
        # Queued to the GUI thread; if the window was closed meanwhile, nobody is told.
        with contextlib.suppress(RuntimeError):
            self.finished.emit(outcome)

    def _report(self, outcome: ExportResult | str) -> None:
        self.setEnabled(self._available)
        if isinstance(outcome, str):
            self._window.statusBar().clearMessage()
            QMessageBox.warning(self._window, "Cannot export the model", outcome)
            return
        self._window.statusBar().showMessage(
            f"Exported the model to {outcome.path} ({_size(outcome.bytes)}), described in "
            f"{outcome.sidecar.name}", 10000)


def _size(count: int) -> str:
    return f"{count / 1e6:.1f} MB" if count >= 1e6 else f"{max(1, round(count / 1e3))} kB"
