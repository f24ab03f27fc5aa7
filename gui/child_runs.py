"""From a mistake to a better run, composed into the window: Run > Train again without them
(gui/train_again.py) and the Results tab's "Least believable" training images
(gui/least_believable.py). The Runs tab compares a ticked parent and child itself
(gui/child_comparison_view.py).

`add_child_runs(...)` is the one line the main window needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gui.least_believable import LeastBelievable
from gui.train_again import TrainAgain

if TYPE_CHECKING:
    from PySide6.QtWidgets import QMainWindow

    from gui.image_marks import ImageMarks
    from gui.log_panel import LogPanel
    from gui.results_panel import ResultsPanel
    from gui.run_controller import RunController
    from gui.settings_panel import SettingsPanel


def add_child_runs(window: QMainWindow, controller: RunController, marks: ImageMarks,
                   form: SettingsPanel, log: LogPanel, results: ResultsPanel) -> TrainAgain:
    """Add the action to the Run menu and the gallery to the Results tab."""
    again = TrainAgain(window, controller, marks, form, log)
    window.menu("Run").addSeparator()
    window.menu("Run").addAction(again.action)
    again.started.connect(lambda _config: window.tabs.setCurrentIndex(0))  # its curves
    gallery = LeastBelievable(controller, marks, form.config)
    gallery.image_chosen.connect(results.show_training_image)  # shown in the image's detail
    results.add_gallery("Least believable training images", gallery)
    return again
