"""One test image's story, under its large picture on the Results tab: a small curve of the
probability the network gave its true class at each epoch (green where it was right, red
where wrong; a line at the epoch on screen), "learned at epoch k, forgotten n times"
(engine/image_story.py), and buttons to mark it "mislabelled" or "leave out". A training
image (the "Least believable" gallery's) has no story: its marks only, and a line saying so.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QWidget

from engine.image_story import story_text
from engine.records.sample_history import SampleHistory
from gui.image_detail import RIGHT_COLOUR, WRONG_COLOUR
from gui.image_marks import LEAVE_OUT, MISLABELLED, ImageMarks
from gui.marked_strips import MARK_TIPS, MARK_TITLES
from gui.plotting import IntegerAxis

LINE_COLOUR = "#1565c0"
NO_STORY_TEXT = ("A training image has no story over the epochs: only the test images' "
                 "answers are kept at each epoch.")
CURVE_SIZE = QSize(140, 86)  # as wide as the picture above it, the marks below it


class ImageStoryView(QWidget):
    """The mark buttons, side by side; the story's curve (`plot`) and words (`text`) are
    placed by the image's detail. `show_story(history, row, epoch, original)`,
    `show_image_only(original)`, `show_training_image(original)`; `clear()`."""

    def __init__(self, marks: ImageMarks | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._marks = marks
        self._image: int | None = None  # the original index of the image shown
        self._split = "test"  # the split it belongs to
        self.text = QLabel()
        self.text.setWordWrap(True)
        bg = self.palette().color(QPalette.ColorRole.Base)
        fg = self.palette().color(QPalette.ColorRole.Text)
        self.plot = pg.PlotWidget(self, background=bg,
                                  axisItems={"bottom": IntegerAxis("bottom")})
        item = self.plot.getPlotItem()
        item.setMenuEnabled(False)
        item.hideButtons()
        item.getViewBox().setMouseEnabled(x=False, y=False)
        item.getAxis("left").setTicks([[(v, str(v)) for v in (0, 50, 100)], []])
        for side in ("left", "bottom"):
            item.getAxis(side).setTextPen(pg.mkPen(fg))
            item.getAxis(side).setPen(pg.mkPen(fg))
        self.curve = pg.PlotDataItem(pen=pg.mkPen(LINE_COLOUR, width=2), symbol="o",
                                     symbolSize=7, symbolPen=None)
        item.addItem(self.curve)
        self.now = pg.InfiniteLine(angle=90, pen=pg.mkPen(fg, style=Qt.PenStyle.DashLine))
        item.addItem(self.now)
        self.plot.setToolTip("The probability (%) the network gave this image's true class "
                             "at each epoch: green where it was right, red where wrong. The "
                             "dashed line is the epoch on screen.")
        self.plot.setFixedSize(CURVE_SIZE)
        self.buttons: dict[str, QToolButton] = {}
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        self.text.setParent(self)
        for reason in (MISLABELLED, LEAVE_OUT):
            button = QToolButton()
            button.setText(MARK_TITLES[reason])
            button.setCheckable(True)
            button.setToolTip(MARK_TIPS[reason])
            button.clicked.connect(lambda _checked=False, r=reason: self._toggle(r))
            layout.addWidget(button, 1)
            self.buttons[reason] = button
        if marks is not None:
            marks.changed.connect(self._show_marks)
        self.clear()

    def show_story(self, history: SampleHistory, row: int, epoch: int, original: int) -> None:
        """The image at `row` of the history, up to the epoch on screen (`epoch`)."""
        self._image, self._split = original, "test"
        story = history.up_to(epoch)
        probs = history.true_prob[:, row].astype(np.float32) * 100
        right = history.predicted[:, row] == history.labels[row]
        brushes = [pg.mkBrush(RIGHT_COLOUR if ok else WRONG_COLOUR) for ok in right]
        self.curve.setData(history.epochs, probs, symbolBrush=brushes)
        self.now.setValue(epoch)
        self.now.setVisible(epoch != int(history.epochs[-1]))
        first, last = int(history.epochs[0]), int(history.epochs[-1])
        self.plot.getPlotItem().getViewBox().setRange(
            xRange=(first - 0.5, max(last, first + 1) + 0.5), yRange=(-4, 108), padding=0)
        self.text.setText(f"By epoch {epoch}: {story_text(story, row)}.")
        self.plot.show()
        self._show_marks()

    def show_image_only(self, original: int) -> None:
        """An image without a recorded history (an evaluated checkpoint): its marks only."""
        self.clear()
        self._image = original
        self._show_marks()

    def show_training_image(self, original: int) -> None:
        """A training image, by its original index: its marks, and why it has no story."""
        self.clear()
        self._image, self._split = original, "train"
        self.text.setText(NO_STORY_TEXT)
        self._show_marks()

    def clear(self) -> None:
        self._image, self._split = None, "test"
        self.curve.setData([], [])
        self.text.setText("")
        self.plot.hide()
        self._show_marks()

    def _toggle(self, reason: str) -> None:
        if self._marks is not None and self._image is not None:
            self._marks.toggle(self._split, self._image, reason)

    def _show_marks(self) -> None:
        current = (self._marks.reason(self._split, self._image)
                   if self._marks is not None and self._image is not None else None)
        for reason, button in self.buttons.items():
            button.setVisible(self._marks is not None and self._image is not None)
            button.setChecked(current == reason)
