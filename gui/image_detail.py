"""The Results tab's one image large, with the probability the model gave its most probable
classes as bars (right answer green, wrong answer red), and room for its story
(gui/image_story_view.py). A test image, or a training image from the "Least believable"
gallery (gui/training_image.py): its label's bar green, the likeliest class's red."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from engine import analysis
from engine.analysis import Evaluation
from gui.class_charts import BAR_COLOUR, PixelTexts, elide
from gui.thumbnails import to_pixmap

if TYPE_CHECKING:
    from gui.training_image import TrainingImage

LARGE_PX = 140
SHOWN_PROBABILITIES = 10
RIGHT_COLOUR, WRONG_COLOUR = "#2e7d32", "#c62828"


class ImageDetail(QWidget):
    """One image large, with its most probable classes as bars."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.picture = QLabel()
        self.picture.setFixedSize(LARGE_PX, LARGE_PX)
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.caption = QLabel("Click a thumbnail to see it here with the probability the "
                              "model gave each class.")
        self.caption.setWordWrap(True)
        self.caption.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._axis = pg.AxisItem("left")
        bg = self.palette().color(QPalette.ColorRole.Base)
        self.plot = pg.PlotWidget(background=bg, axisItems={"left": self._axis})
        item = self.plot.getPlotItem()
        item.setMenuEnabled(False)
        item.hideButtons()
        item.getViewBox().setMouseEnabled(x=False, y=False)
        item.getViewBox().invertY(True)
        item.getAxis("bottom").setTicks([[(v, str(v)) for v in range(0, 101, 25)], []])
        item.setLabel("bottom", "probability (%)")
        fg = self.palette().color(QPalette.ColorRole.Text)
        for side in ("left", "bottom"):
            item.getAxis(side).setTextPen(pg.mkPen(fg))
            item.getAxis(side).setPen(pg.mkPen(fg))
        self.bars = pg.BarGraphItem(x0=[], y=[], height=0.7, width=[], pen=pg.mkPen(None))
        item.addItem(self.bars)
        self.values = PixelTexts()
        item.addItem(self.values)
        self.plot.setMinimumSize(220, 150)
        self.plot.hide()  # until an image is shown
        side = self._side = QVBoxLayout()
        side.addWidget(self.picture)
        side.addStretch(1)
        text = self._text = QVBoxLayout()
        text.addWidget(self.caption)
        text.addWidget(self.plot, 1)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(side)
        layout.addLayout(text, 1)
        self.shown: list[tuple[int, float]] = []

    def add_story(self, curve: QWidget, words: QWidget, marks: QWidget) -> None:
        """Room for the image's story (gui/image_story_view.py): its curve and marks under
        the picture, its words under the caption."""
        self._side.insertWidget(1, curve)
        self._side.insertWidget(2, marks)
        self._text.insertWidget(1, words)

    def show_image(self, image: np.ndarray, index: int, evaluation: Evaluation,
                   names: list[str]) -> None:
        self.picture.setPixmap(to_pixmap(image, LARGE_PX))
        true_class, predicted = int(evaluation.labels[index]), int(evaluation.predicted[index])
        verdict = "right" if true_class == predicted else "wrong"
        shown, rest = analysis.image_probabilities(evaluation, index, SHOWN_PROBABILITIES)
        self.shown = shown
        others = len(names) - len(shown)
        rest_text = (f" The other {others} classes share {rest:.1%}." if others > 0 else "")
        self.caption.setText(
            f"<b>Test image {index + 1:,}</b> ({verdict}): true <b>{names[true_class]}</b>, "
            f"predicted <b>{names[predicted]}</b> at {evaluation.confidence[index]:.1%}. "
            f"After epoch {evaluation.epoch}.{rest_text}")
        self._draw_bars(shown, true_class, predicted, names)

    def show_training_image(self, shown: TrainingImage) -> None:
        """A training image: why its label is doubted, and the run's model's probabilities."""
        names = list(shown.doubts.class_names)
        self.picture.setPixmap(to_pixmap(shown.image, LARGE_PX))
        classes, rest = shown.top_classes(SHOWN_PROBABILITIES)
        self.shown = classes
        others = len(names) - len(classes)
        rest_text = (f" The other {others} classes share {rest:.1%}." if others > 0 else "")
        self.caption.setText(f"<b>{shown.title}</b>: {shown.reason()}. The probabilities the "
                             f"run's model gives it.{rest_text}")
        self._draw_bars(classes, shown.label, shown.likeliest, names)

    def _draw_bars(self, shown: list[tuple[int, float]], true_class: int, predicted: int,
                   names: list[str]) -> None:
        ys = np.arange(len(shown)) + 0.5
        widths = [p * 100 for _, p in shown]
        brushes = [pg.mkBrush(RIGHT_COLOUR if c == true_class else
                              WRONG_COLOUR if c == predicted else BAR_COLOUR)
                   for c, _ in shown]
        self.bars.setOpts(x0=np.zeros(len(shown)), y=ys, width=widths, brushes=brushes)
        self.plot.show()
        self._axis.setTicks([[(y, elide(names[c])) for y, (c, _) in zip(ys, shown,
                                                                          strict=True)], []])
        fg = self.palette().color(QPalette.ColorRole.Text)
        self.values.set_texts([(w, y, f"{w:.1f}%", fg) for w, y in zip(widths, ys, strict=True)],
                              QRectF(0, 0, 125, len(shown)), Qt.AlignmentFlag.AlignLeft)
        self.plot.getPlotItem().getViewBox().setRange(xRange=(0, 125),
                                                      yRange=(0, len(shown)), padding=0)

    def clear(self) -> None:
        self.picture.clear()
        self.shown = []
        self.caption.setText("Click a thumbnail to see it here with the probability the model "
                             "gave each class.")
        self.bars.setOpts(x0=[], y=[], width=[])
        self.values.set_texts([], QRectF())
        self.plot.hide()
