"""Asking before a run is ended by Stop, Esc, closing the window or Ctrl+Q.

The question says what stopping keeps, from what the window knows of the run: the epochs
finished (each one's checkpoint is already in the run folder), or, before the first epoch
of the run has ended, that nothing will be kept. A "Don't ask again" box turns the
question off (remembered in the app's settings, like the rest of them).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QCheckBox, QMessageBox, QWidget

from engine.events import RunStart
from engine.text import plural

ASK_BEFORE_STOPPING = "ask/before_stopping_a_run"


def asks_before_stopping(settings: QSettings) -> bool:
    return str(settings.value(ASK_BEFORE_STOPPING, True)).lower() not in ("false", "0")


def stop_consequence(start: RunStart | None, epochs_done: int, run_dir: str | Path | None,
                     resume_from: str | Path | None) -> str:
    """What stopping now keeps, in a sentence or two.

    start: the run's start (None while its data still loads); epochs_done: epochs in the
    run's record so far, those of the checkpoint it continues included.
    """
    before = start.start_epoch if start is not None else None
    if start is None and resume_from is None:
        return ("The run has not started training yet: stopping now keeps nothing (no run "
                "folder is left).")
    if start is None or epochs_done <= (before or 0):
        if resume_from is not None:
            return (f"No new epoch has finished yet: stopping now keeps nothing new; "
                    f"{resume_from} stays as it was.")
        return (f"Epoch 1 of {start.epochs} has not finished yet: stopping now keeps "
                "nothing (no model, no run folder). Let it finish to keep a model.")
    where = f" in {run_dir}" if run_dir is not None else ""
    return (f"The run keeps its {plural(epochs_done, 'finished epoch')} and its "
            f"checkpoint{where}; only the epoch under way (epoch {epochs_done + 1}) is lost. "
            "Continue from checkpoint goes on from there.")


def confirm_stop(parent: QWidget, settings: QSettings, consequence: str,
                 closing: bool = False) -> bool:
    """Ask whether to end the run (closing: and close the window); True to go ahead."""
    if not asks_before_stopping(settings):
        return True
    box = QMessageBox(QMessageBox.Icon.Question,
                      "Stop the run and close?" if closing else "Stop the run?",
                      "A run is training. Stop it and close TrainDesk?" if closing
                      else "Stop the run now?", QMessageBox.StandardButton.NoButton, parent)
    box.setInformativeText(consequence)
    stop = box.addButton("Stop and close" if closing else "Stop",
                         QMessageBox.ButtonRole.DestructiveRole)
    keep = box.addButton("Keep training", QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(keep)
    box.setEscapeButton(keep)
    dont_ask = QCheckBox("Don't ask again")  # held here: the box does not own it
    box.setCheckBox(dont_ask)
    box.exec()
    answer = box.clickedButton() is stop
    if answer and dont_ask.isChecked():
        settings.setValue(ASK_BEFORE_STOPPING, False)
    box.deleteLater()
    return answer
