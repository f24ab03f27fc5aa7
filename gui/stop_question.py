"""Asking before a run is ended by Stop, Esc, closing the window or Ctrl+Q.

The question says what stopping keeps, from what the window knows of the run: the epochs
finished (each one's checkpoint is already in the run folder), or, before the first epoch
of the run has ended, that nothing will be kept. Besides Stop, it offers to stop once the
epoch under way has ended (its model is then kept too). A "Don't ask again" box turns the
question off (remembered in the app's settings, like the rest of them).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QCheckBox, QMessageBox, QWidget

from engine.events import RunStart
from engine.text import plural

ASK_BEFORE_STOPPING = "ask/before_stopping_a_run"
STOP_NOW, STOP_AFTER_EPOCH, KEEP_TRAINING = "now", "after_epoch", "keep"


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
                 closing: bool = False, epoch_under_way: int | None = None) -> str:
    """Ask whether to end the run (closing: and close the window): STOP_NOW, STOP_AFTER_EPOCH
    (offered with the epoch under way, so that it is kept) or KEEP_TRAINING."""
    if not asks_before_stopping(settings):
        return STOP_NOW
    box = QMessageBox(QMessageBox.Icon.Question,
                      "Stop the run and close?" if closing else "Stop the run?",
                      "A run is training. Stop it and close TrainDesk?" if closing
                      else "Stop the run now?", QMessageBox.StandardButton.NoButton, parent)
    box.setInformativeText(consequence)
    buttons = {STOP_NOW: box.addButton("Stop and close" if closing else "Stop",
                                       QMessageBox.ButtonRole.DestructiveRole)}
    if epoch_under_way is not None:
        then = " and close" if closing else ""
        buttons[STOP_AFTER_EPOCH] = box.addButton(f"Stop after epoch {epoch_under_way}{then}",
                                                  QMessageBox.ButtonRole.AcceptRole)
    keep = box.addButton("Keep training", QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(keep)
    box.setEscapeButton(keep)
    dont_ask = QCheckBox("Don't ask again")  # held here: the box does not own it
    box.setCheckBox(dont_ask)
    box.exec()
    answer = next((choice for choice, button in buttons.items()
                   if box.clickedButton() is button), KEEP_TRAINING)
    if answer == STOP_NOW and dont_ask.isChecked():
        settings.setValue(ASK_BEFORE_STOPPING, False)
    box.deleteLater()
    return answer
