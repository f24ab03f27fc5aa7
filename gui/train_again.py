"""Run > Train again without them: a child run of the run on screen without its marked images.

The child has its parent's settings and seed (the settings its checkpoint recorded), and
leaves out the images marked "mislabelled" or "leave out" in the galleries
(gui/image_marks.py), with those its parent left out already; its config records them and
names the parent's run folder (engine/config.py's LINEAGE_FIELDS), so the Runs tab can
compare the two and the child, continued, still leaves them out.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMainWindow

from engine.config import TrainConfig
from engine.records.runs import is_run_folder
from engine.text import plural
from gui.image_marks import ImageMarks
from gui.log_panel import LogPanel
from gui.run_controller import RunController, RunState
from gui.settings_panel import SettingsPanel

ACTION_TIP = ("Train the run on screen again, with the same settings and seed, leaving out "
              "the images you marked \"mislabelled\" or \"leave out\" (right-click a "
              "thumbnail to mark it); the new run is its child, and ticking both in the Runs "
              "tab shows what changed")


def child_config(parent: TrainConfig, train: tuple[int, ...], test: tuple[int, ...],
                 parent_folder: str) -> TrainConfig:
    """The parent's settings and seed, leaving out the marked images by original index
    (and what the parent left out itself), one run whatever Seeds said."""
    return parent.replace(
        leave_out=tuple(sorted(set(parent.leave_out) | set(train))),
        leave_out_test=tuple(sorted(set(parent.leave_out_test) | set(test))),
        parent=parent_folder, seeds=1)


def run_folder_of(checkpoint_path: str | Path) -> str:
    """The run folder a checkpoint was saved in; the file itself when it is in none."""
    path = Path(checkpoint_path)
    return str(path.parent if is_run_folder(path.parent) else path)


class TrainAgain(QObject):
    """The action, on while images are marked and a run could start; `started` once the
    child has started."""

    started = Signal(object)  # TrainConfig: the child's

    def __init__(self, window: QMainWindow, controller: RunController, marks: ImageMarks,
                 form: SettingsPanel, log: LogPanel) -> None:
        super().__init__(window)
        self._controller, self._marks, self._form, self._log = controller, marks, form, log
        self.action = QAction("Train &again without them", window)
        self.action.setToolTip(ACTION_TIP)
        self.action.setStatusTip(ACTION_TIP)
        self.action.triggered.connect(lambda _checked=False: self.start())
        marks.changed.connect(self.refresh)
        controller.state_changed.connect(self.refresh)
        controller.engine_changed.connect(self.refresh)
        controller.run.model_changed.connect(self.refresh)
        self.refresh()

    def config(self) -> TrainConfig | None:
        """The child's settings; None without marks or a checkpoint on screen."""
        run = self._controller.run
        if self._marks.count() == 0 or run.checkpoint is None or run.checkpoint_path is None:
            return None
        return child_config(run.checkpoint.config, self._marks.indices("train"),
                            self._marks.indices("test"), run_folder_of(run.checkpoint_path))

    def refresh(self, *_args: object) -> None:
        controller = self._controller
        self.action.setEnabled(self.config() is not None and controller.engine_ready
                               and controller.state is RunState.IDLE)
        count = self._marks.count()
        self.action.setText(f"Train &again without them ({count})" if count
                            else "Train &again without them")

    def start(self) -> bool:
        """Start the child run; False when it cannot start (nothing marked, a run going)."""
        config = self.config()
        if config is None or not self.action.isEnabled():
            return False
        train, test = self._marks.indices("train"), self._marks.indices("test")
        self._form.set_config(config)  # the settings it trains with, on screen
        if not self._controller.start(config):
            return False
        self._log.append_text(
            f"Training again without {plural(len(train), 'marked training image')} and "
            f"{plural(len(test), 'marked test image')}: a child of {Path(config.parent).name}"
            f" with its settings and seed…")
        self.started.emit(config)
        return True
