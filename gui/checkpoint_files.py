"""File > Open checkpoint, Save checkpoint and Export metrics, for the run on screen.

Opening a checkpoint only tells the run model (gui/run_model.py `show_opened`): the panels
that show it (settings form, plots, progress, banner, Draw tab) follow from there. The
per-batch curves of its run folder follow from a background thread (up to 5,000 lines of
`batches.jsonl`, about 50 ms to read), through `show_batches`.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMessageBox

from engine.catalog import arch_title, dataset_title
from engine.records.run_folder import RUN_CHECKPOINTS
from engine.records.runs import is_run_folder, read_run
from engine.text import plural
from gui.background import JobFailed, LatestJob
from gui.log_panel import LogPanel
from gui.run_controller import RunController, RunState
from gui.run_model import OpenedRun, RunModel
from gui.window_actions import window_action

if TYPE_CHECKING:
    from engine.records.checkpoint import Checkpoint


class CheckpointFiles(QObject):
    """The three file actions, added to `window` with their shortcuts (Ctrl+O/S/E)."""

    checkpoint_saved = Signal(str)  # the path: the model on screen now lives there

    def __init__(self, window: QMainWindow, run: RunModel, log: LogPanel,
                 runs_dir: Callable[[], Path]) -> None:
        super().__init__(window)
        self._window, self._run, self._log, self._runs_dir = window, run, log, runs_dir
        self._curves = LatestJob(self)  # reads an opened run's per-batch curves
        self._curves.done.connect(self._on_curves)
        self._curves_for: str | None = None  # the checkpoint whose curves are awaited
        run.run_beginning.connect(lambda _continuing: self._forget_curves())
        self.open_action = window_action(window, "&Open checkpoint…", "Ctrl+O",
                                         self.open_checkpoint)
        self.save_action = window_action(window, "&Save checkpoint…", "Ctrl+S",
                                         self.save_checkpoint_as)
        self.export_action = window_action(window, "&Export metrics…", "Ctrl+E",
                                           self.export_metrics)

    def follow(self, controller: RunController) -> None:
        """Open only while no run holds the window and PyTorch has loaded; Save and Export
        while there is a model and a history to write."""
        def update(*_args: object) -> None:
            self.open_action.setEnabled(controller.state is RunState.IDLE
                                        and controller.engine_ready)
            self.save_action.setEnabled(self._run.checkpoint is not None)
            self.export_action.setEnabled(bool(self._run.history))

        controller.state_changed.connect(update)
        controller.engine_changed.connect(update)
        self._run.model_changed.connect(update)
        update()

    def _say(self, text: str) -> None:
        self._window.statusBar().showMessage(text, 5000)

    def open_checkpoint(self, path: str | None = None) -> bool:
        """Show a checkpoint's model, settings and history (a dialog when `path` is None)."""
        if not self.open_action.isEnabled():
            return False
        from engine.records.checkpoint import CheckpointError, load_checkpoint

        if path is None:
            path, _ = QFileDialog.getOpenFileName(self._window, "Open checkpoint",
                                                  str(self._runs_dir()),
                                                  "Checkpoints (*.pt);;All files (*)")
            if not path:
                return False
        try:
            ckpt = load_checkpoint(path)
        except CheckpointError as error:
            QMessageBox.warning(self._window, "Cannot open checkpoint", str(error))
            self._log.append_text(f"Could not open {path}: {error}", "error")
            return False
        opened = opened_run(ckpt, Path(path))
        self._run.show_opened(ckpt, str(path), opened)
        self._curves_for = None
        if opened.folder is not None:
            steps = ckpt.history[-1].get("steps") if ckpt.history else None
            self._curves_for = str(path)
            self._curves.submit(str(path), lambda: batch_curves(opened.folder, steps))
        self._log.append_text(f"Opened {path}: {arch_title(ckpt.config.arch)} on "
                              f"{dataset_title(ckpt.config.dataset)}, "
                              f"{plural(ckpt.epoch, 'epoch')}.")
        if ckpt.assumed:  # bare weights: say what was guessed about them
            self._log.append_text(ckpt.assumed, "warning")
        self._say(f"Opened {Path(path).name}")
        return True

    def _forget_curves(self) -> None:
        """A run is starting: curves still being read would land on its plots."""
        self._curves_for = None

    def _on_curves(self, path: str, columns: object) -> None:
        if path != self._curves_for:
            return  # another checkpoint or a run is on screen now
        self._curves_for = None
        if isinstance(columns, JobFailed):
            self._log.append_text(f"Could not read the per-batch curves of {path}: "
                                  f"{columns}", "warning")
            return
        self._run.show_batches(columns)

    def save_checkpoint_as(self, path: str | None = None) -> bool:
        checkpoint = self._run.checkpoint
        if checkpoint is None:
            return False
        from engine.records.checkpoint import save_checkpoint

        if path is None:
            suggested = str(self._runs_dir() / f"{checkpoint.config.arch}.pt")
            path, _ = QFileDialog.getSaveFileName(self._window, "Save checkpoint", suggested,
                                                  "Checkpoints (*.pt)")
            if not path:
                return False
        try:
            save_checkpoint(path, checkpoint)
        except OSError as error:
            QMessageBox.warning(self._window, "Cannot save checkpoint", str(error))
            return False
        self._run.checkpoint_path = str(path)
        self._say(f"Saved {path}")
        self.checkpoint_saved.emit(str(path))
        return True

    def export_metrics(self, path: str | None = None) -> bool:
        """Write the per-epoch metrics of the run on screen to a CSV file."""
        history = self._run.history
        if not history:
            return False
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self._window, "Export metrics",
                                                  str(self._runs_dir() / "metrics.csv"),
                                                  "CSV (*.csv)")
            if not path:
                return False
        try:
            with open(path, "w", newline="") as out:
                # Every column of every record: a run continued from an older checkpoint
                # has records with more of them than its first.
                columns = list(dict.fromkeys(key for record in history for key in record))
                writer = csv.DictWriter(out, fieldnames=columns)
                writer.writeheader()
                writer.writerows(history)
        except OSError as error:
            QMessageBox.warning(self._window, "Cannot export metrics", str(error))
            return False
        self._say(f"Exported metrics to {path}")
        return True


def opened_run(checkpoint: Checkpoint, path: Path) -> OpenedRun:
    """The checkpoint as the window names it, with how its run ended where its run folder
    says (a few small files: its per-batch curves are read apart, `batch_curves`); a
    checkpoint outside a run folder is named by its file."""
    folder = path.parent
    if path.name not in RUN_CHECKPOINTS or not is_run_folder(folder):
        return OpenedRun(path.name, "", checkpoint.config.epochs, list(checkpoint.history))
    record = read_run(folder, with_batches=False)
    # How the run ended describes this checkpoint only when it holds the run's last epoch.
    status = record.status if checkpoint.epoch == record.epochs_done else ""
    return OpenedRun(record.name, status, record.epochs_planned or checkpoint.config.epochs,
                     list(checkpoint.history), folder)


def batch_curves(folder: Path, last_step: object = None) -> dict[str, list[float]]:
    """The per-batch columns (step, loss, lr, ...) a run folder recorded, up to `last_step`
    where that is known (a best.pt: not the later epochs'); {} where there are none."""
    batches = read_run(folder).batches
    if isinstance(last_step, int) and last_step > 0 and batches.get("step"):
        kept = sum(1 for step in batches["step"] if step <= last_step)
        batches = {name: values[:kept] for name, values in batches.items()}
    return batches
