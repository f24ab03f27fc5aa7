"""The Results tab's galleries of test images, as tabs: the most confident mistakes, the
least confident right answers, the images of the confusion-matrix cell clicked, and the
stories' galleries (gui/story_galleries.py); other parts of the window may add their own tab
(`add_gallery`). Filled at the epoch on screen; every thumbnail can be marked
(gui/marked_strips.py).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QTabWidget, QWidget

from engine import analysis
from engine.analysis import Evaluation
from engine.records.sample_history import SampleHistory
from gui.class_charts import elide
from gui.image_marks import ImageMarks
from gui.marked_strips import MarkedStrip
from gui.story_galleries import StoryGalleries
from gui.thumbnails import GALLERY_LIMIT, ThumbnailCache

TIPS = (
    "Wrongly classified test images, the most confidently wrong first",
    "Rightly classified test images the model was least sure of (the borderline ones)",
    "The test images of the confusion-matrix cell clicked: true class → predicted class",
)


class ResultsGalleries(QTabWidget):
    """The galleries' tabs; `image_clicked(index)` when a thumbnail is clicked. `cell` is
    the confusion-matrix cell (true class, predicted) listed in the cell's tab."""

    image_clicked = Signal(int)

    def __init__(self, cache: ThumbnailCache, marks: ImageMarks | None,
                 original: Callable[[int], int], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setDocumentMode(True)
        self.cell: tuple[int, int] | None = None
        self._evaluation: Evaluation | None = None
        self._names: list[str] = []
        self._mistake_count = 0

        def strip(empty_text: str) -> MarkedStrip:
            made = MarkedStrip(cache, empty_text, marks, "test", original)
            made.image_clicked.connect(self.image_clicked)
            return made

        self.mistakes = strip("No mistakes: every test image is right.")
        self.borderline = strip("No right answers yet.")
        self.cell_strip = strip("Click a cell of the confusion matrix to list its test images "
                                "here.")
        self.stories = StoryGalleries(cache, marks, original)
        for gallery in self.stories.strips:
            gallery.image_clicked.connect(self.image_clicked)
        for gallery in (self.mistakes, self.borderline, self.cell_strip, *self.stories.strips):
            self.addTab(gallery, "")
        self._update_titles()

    def add_gallery(self, title: str, widget: QWidget) -> None:
        """Another gallery beside the test images' (e.g. the least believable training
        images), as a tab of its own."""
        self.addTab(widget, title)

    def fill(self, evaluation: Evaluation, history: SampleHistory | None,
             names: list[str]) -> int:
        """Show the galleries at `evaluation`'s epoch (`history`: the stories up to it, None
        without them); returns the number of mistakes."""
        self._evaluation, self._names = evaluation, names
        wrong = analysis.most_confident_mistakes(evaluation)
        right = analysis.least_confident_right(evaluation, GALLERY_LIMIT)
        self.mistakes.show_images(wrong[:GALLERY_LIMIT], self._describe)
        self.borderline.show_images(right, self._describe)
        self._fill_cell_strip()
        self.stories.fill(history, evaluation, names)
        self._update_titles(len(wrong))
        return len(wrong)

    def show_cell(self, cell: tuple[int, int], evaluation: Evaluation | None,
                  names: list[str]) -> None:
        """List the test images of one confusion-matrix cell at `evaluation` (most confident
        first), on top."""
        self.cell, self._evaluation, self._names = cell, evaluation, names
        self._fill_cell_strip()
        self.setCurrentWidget(self.cell_strip)

    def clear(self, names: list[str]) -> None:
        """Empty galleries (no epoch to show)."""
        self._evaluation, self._names = None, names
        for strip in (self.mistakes, self.borderline, self.cell_strip):
            strip.show_images(np.empty(0, dtype=np.int64), self._describe)
        self.stories.fill(None, None, names)
        self._update_titles(0)

    def _fill_cell_strip(self) -> None:
        if self.cell is None or self._evaluation is None:
            self.cell_strip.show_images(np.empty(0, dtype=np.int64), self._describe)
        else:
            images = analysis.cell_images(self._evaluation, *self.cell)
            self.cell_strip.show_images(images[:GALLERY_LIMIT], self._describe)
        self._update_titles()

    def _update_titles(self, mistakes: int | None = None) -> None:
        if mistakes is not None:
            self._mistake_count = mistakes
        self.setTabText(0, f"Confident mistakes ({self._mistake_count:,})")
        self.setTabText(1, "Least confident right")
        if self.cell is None:
            self.setTabText(2, "Cell")
        else:
            t, p = self.cell
            self.setTabText(2, f"{elide(self._names[t], 12)} → {elide(self._names[p], 12)} "
                               f"({self.cell_strip.strip_model.rowCount():,})")
        for tab, (title, tip) in enumerate(self.stories.titles(), start=3):
            self.setTabText(tab, title)
            self.setTabToolTip(tab, tip)
        for tab, tip in enumerate(TIPS):
            self.setTabToolTip(tab, tip)

    def _describe(self, index: int) -> tuple[str, str]:
        evaluation = self._evaluation
        true_class, predicted = int(evaluation.labels[index]), int(evaluation.predicted[index])
        confidence = float(evaluation.confidence[index])
        names = self._names
        caption = f"{elide(names[true_class], 12)}\n"
        if true_class != predicted:
            caption += f"→ {elide(names[predicted], 10)}\n"
        caption += f"{confidence:.0%}"
        tooltip = (f"Test image {index + 1:,}: true {names[true_class]}, predicted "
                   f"{names[predicted]} at {confidence:.1%}")
        return caption, tooltip
