"""File > Export model…: the model on screen to TorchScript or ONNX (engine.inference.export).

The dialog names the run whose model it exports (the model on screen may be an earlier
run's: a run that fails before its first epoch keeps none), and a model that may not be
worth exporting (its run learned nothing, failed or diverged, or it has no finished epoch)
is exported only after a question that says why.

An export builds the network, traces or exports it, writes it and loads it back to check
it: tens of milliseconds for LeNet-5, seconds for ResNet-18 to ONNX. So it runs on a plain
background thread, as gui/engine_loader.py imports PyTorch; the result comes back to the GUI
thread as a signal, and the status bar (or a message box, for a failure) says it.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMessageBox, QWidget

if TYPE_CHECKING:  # PyTorch loads behind the window: imported when an export starts
    from engine.inference.export import ExportResult
    from engine.records.checkpoint import Checkpoint
    from gui.run_model import RunModel

FILTERS = {"torchscript": "TorchScript (*.pt)", "onnx": "ONNX (*.onnx)"}


class ExportModelAction(QAction):
    """The menu action; `finished(result_or_error)` follows every export it starts
    (an ExportResult, or the message saying why it failed)."""

    finished = Signal(object)

    def __init__(self, window: QMainWindow, run: RunModel, folder: Callable[[], Path]) -> None:
        super().__init__("Export &model…", window)
        self._window = window
        self._run = run
        self._folder = folder
        self._available = False
        self._thread: threading.Thread | None = None
        self._exporting = ""  # the name of the model being exported
        self.setStatusTip("Save the model as TorchScript or ONNX, with its class names and "
                          "normalisation, to run it outside TrainDesk.")
        self.triggered.connect(lambda _checked=False: self.ask_and_export())
        self.finished.connect(self._report)
        self.setEnabled(False)
        run.model_changed.connect(lambda _ckpt: self.set_available(run.checkpoint is not None))

    def set_available(self, available: bool) -> None:
        """Whether there is a model to export (the run model says)."""
        self._available = available
        self.setEnabled(available and not self.busy())

    def busy(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wait(self, timeout: float | None = None) -> None:
        """Block until the export in progress has finished (for closing and tests)."""
        if self._thread is not None:
            self._thread.join(timeout)

    def ask_and_export(self) -> bool:
        ckpt = self._run.checkpoint
        if ckpt is None or self.busy():
            return False
        name = self._run.model_name or "the model on screen"
        doubt = export_doubt(ckpt, name, self._run.model_status)
        if doubt and not ask_to_go_on(self._window, f"Export the model of {name}?",
                                      f"{doubt}\n\nExport it anyway?"):
            return False
        suggested = self._folder() / suggested_file_name(name, ckpt)
        path, chosen = QFileDialog.getSaveFileName(
            self._window, f"Export the model of {name}", str(suggested),
            ";;".join(FILTERS.values()))
        if not path:
            return False
        fmt = "onnx" if chosen == FILTERS["onnx"] or path.lower().endswith(".onnx") \
            else "torchscript"
        return self.export_to(path, fmt)

    def export_to(self, path: str | Path, fmt: str) -> bool:
        """Start exporting the window's model to `path` in `fmt`; False when none or busy."""
        ckpt = self._run.checkpoint
        if ckpt is None or self.busy():
            return False
        self.setEnabled(False)
        self._window.statusBar().showMessage(f"Exporting the model to {Path(path).name}…")
        self._exporting = self._run.model_name  # named when it is done
        self._thread = threading.Thread(target=self._export, args=(ckpt, Path(path), fmt),
                                        name="export-model")
        self._thread.start()
        return True

    def _export(self, ckpt: Checkpoint, path: Path, fmt: str) -> None:
        from engine.inference.export import ExportError, export_model

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
        of = f" of {self._exporting}" if self._exporting else ""
        self._window.statusBar().showMessage(
            f"Exported the model{of} to {outcome.path} ({_size(outcome.bytes)}), described in "
            f"{outcome.sidecar.name}", 10000)


def export_doubt(checkpoint: Checkpoint, name: str, status: str) -> str:
    """Why exporting this model may be a mistake, in a sentence ("" when there is no doubt):
    `status` is how the run that made it ended (RunEnd.reason)."""
    after = f"its model after epoch {checkpoint.epoch}"
    if checkpoint.epoch == 0:
        if checkpoint.assumed:
            return (f"{name} has no finished epoch on record: it holds bare weights, and "
                    f"what they were trained on is assumed. {checkpoint.assumed}")
        return f"{name} has no finished epoch: its model has not been trained."
    if status == "learned_nothing":
        test = checkpoint.history[-1].get("test_acc") if checkpoint.history else None
        figure = f" (test accuracy {test:.1%})" if isinstance(test, float) else ""
        return (f"The run {name} learned nothing: its model{figure} does no better than "
                "guessing.")
    if status == "failed":
        return f"The run {name} failed; this is {after}."
    if status == "diverged":
        return f"The run {name} diverged; this is {after}, before the loss blew up."
    return ""


def suggested_file_name(name: str, checkpoint: Checkpoint) -> str:
    """The run's name as a file name, with the network and dataset where it lacks them."""
    stem = re.sub(r"[^\w.-]+", "-", Path(name).stem if name.endswith(".pt") else name)
    stem = stem.strip("-.") or "model"
    arch, dataset = checkpoint.config.arch, checkpoint.config.dataset
    if arch not in stem:
        stem += f"-{arch}-{dataset}"
    return f"{stem}.pt"


def ask_to_go_on(parent: QWidget, title: str, text: str) -> bool:
    """Ask with "Export anyway" and Cancel (Cancel is the default); True to go on."""
    box = QMessageBox(QMessageBox.Icon.Warning, title, text, parent=parent)
    go_on = box.addButton("Export anyway", QMessageBox.ButtonRole.AcceptRole)
    box.setDefaultButton(box.addButton(QMessageBox.StandardButton.Cancel))
    box.exec()
    return box.clickedButton() is go_on


def _size(count: int) -> str:
    return f"{count / 1e6:.1f} MB" if count >= 1e6 else f"{max(1, round(count / 1e3))} kB"
