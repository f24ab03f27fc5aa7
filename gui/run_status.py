"""The status bar's standing text: always what the run controller is doing now (Loading
PyTorch, Ready, Loading the data, Training on ..., Paused, Stopping), never a message left
over from an earlier state. Temporary messages ("Saved ...") show over it and time out."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QStatusBar

from engine.catalog import dataset_title
from gui.run_controller import RunController, RunState

PAUSED_STATUS = "Paused: change the unlocked settings if you like, then Resume"


def status_line(controller: RunController) -> str:
    state = controller.state
    if state is RunState.IDLE:
        if controller.engine_error:
            return controller.engine_error
        return "Ready" if controller.engine_ready else "Loading PyTorch…"
    if state is RunState.WAITING:
        return "Loading PyTorch… training starts as soon as it has loaded."
    if state is RunState.LOADING:
        return f"Loading {dataset_title(controller.config.dataset)}…"
    if state is RunState.PAUSED:
        return PAUSED_STATUS
    closing = controller.closing
    if state is RunState.STOPPING:
        return "Stopping the run before closing…" if closing else "Stopping…"
    if controller.stop_after_epoch is not None:
        return (f"Stopping once epoch {controller.stop_after_epoch} has ended"
                + (", then closing…" if closing else "…"))
    return f"Training on {controller.device}"


class RunStatus(QLabel):
    """The standing text, in the status bar, following the controller."""

    def __init__(self, controller: RunController, status_bar: QStatusBar) -> None:
        super().__init__()
        self._controller, self._bar = controller, status_bar
        status_bar.addWidget(self, 1)  # hidden while a temporary message shows
        controller.state_changed.connect(self.refresh)
        controller.engine_changed.connect(self.refresh)
        self.refresh()

    def refresh(self, *_args: object) -> None:
        self._bar.clearMessage()
        self.setText(status_line(self._controller))
