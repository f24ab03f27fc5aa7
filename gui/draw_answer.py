"""The Draw tab's answer: the class read, how confident, what the model sees, and every
class's probability as a bar (`ProbabilityChart`)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontMetrics, QImage, QPixmap
from PySide6.QtWidgets import QGridLayout, QLabel, QVBoxLayout, QWidget

from engine.inference.image_trial import ImageFailure, ImageTrial
from engine.inference.predict import FIELD_SIZE, DigitDoubt
from gui.probability_text import format_probability

PREVIEW_SCALE = 4  # the 28x28 model input shown at 112x112
INPUT_TIP = ("The drawing as the model gets it: cropped, scaled to fit 20x20 and centred by "
             "its centre of mass in 28x28, as in MNIST")
BAR_COLOUR = (110, 140, 190)
TOP_BAR_COLOUR = (40, 170, 90)
DOUBTED_BAR_COLOUR = (200, 200, 200)  # no class stands out when the drawing is no digit
ERROR_STYLE = "color: #b03020;"  # 4.5:1 on a white or light grey window (WCAG AA)


class AnswerPane(QWidget):
    """The answer in large type, its confidence (or why there is none), the input as the
    model sees it beside them, and the bars below."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.answer_label = QLabel()
        self.answer_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.answer_label.setMinimumWidth(170)
        self.confidence_label = QLabel()
        self.confidence_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.confidence_label.setMaximumWidth(260)
        self.input_view = QLabel()
        self.input_view.setFixedSize(28 * PREVIEW_SCALE, 28 * PREVIEW_SCALE)
        self.input_view.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.input_view.setToolTip(f"{INPUT_TIP}.")
        self.input_caption = QLabel("What the model sees (28×28)")
        self.input_caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.input_caption.setWordWrap(True)  # narrow windows: two lines, not a wider tab
        self.chart = ProbabilityChart()
        answer = QGridLayout()
        answer.addWidget(self.answer_label, 0, 0)
        answer.addWidget(self.confidence_label, 1, 0)
        answer.addWidget(self.input_view, 0, 1, Qt.AlignmentFlag.AlignCenter)
        answer.addWidget(self.input_caption, 1, 1)
        answer.setColumnStretch(0, 1)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(answer)
        column.addWidget(self.chart, 1)

    def show_input_view(self, shown: bool) -> None:
        """Show the model's view of the drawing (hidden while images are tried)."""
        self.input_view.setVisible(shown)
        self.input_caption.setVisible(shown)

    def show_input(self, seen: np.ndarray | None, size: int) -> None:
        """The drawing as the model gets it (`size` square, 0..1, before normalisation)."""
        self.input_caption.setText(f"What the model sees ({size}×{size})")
        resized = f", then resized to {size}x{size} for this model" if size != FIELD_SIZE else ""
        self.input_view.setToolTip(f"{INPUT_TIP}{resized}.")
        pixels = np.zeros((size, size), np.uint8) if seen is None else np.ascontiguousarray(
            np.clip(seen * 255 + 0.5, 0, 255).astype(np.uint8))
        image = QImage(pixels.tobytes(), size, size, size, QImage.Format.Format_Grayscale8)
        # Whole pixels (nearest neighbour, an integer scale) where they fit the box; a
        # large input (224x224) is scaled down to it smoothly.
        box = self.input_view.width()
        side = size * (box // size) if size <= box else box
        self.input_view.setPixmap(QPixmap.fromImage(image).scaled(
            side, side, Qt.AspectRatioMode.IgnoreAspectRatio,
            Qt.TransformationMode.FastTransformation if size <= box
            else Qt.TransformationMode.SmoothTransformation))

    def show_answer(self, class_names: tuple[str, ...] | None, probabilities: np.ndarray | None,
                    doubt: DigitDoubt | None, error: str | None) -> None:
        """The answer for the drawing: the class read (`class_names` None: no model), a
        doubt that it is a digit, or why the prediction failed. The bars are left as they
        are (see `chart`)."""
        self.confidence_label.setWordWrap(error is not None or doubt is not None)
        if error is not None:
            self.set_answer("?", 40, f"Prediction failed: {error}")
            self.confidence_label.setStyleSheet(ERROR_STYLE)
            return
        self.confidence_label.setStyleSheet("")
        if class_names is None:
            self.set_answer("No model", 20, "")
        elif probabilities is None:
            self.set_answer("Draw a digit", 20, "")
        elif doubt is not None:
            self.set_answer("Not a digit?", 20, doubt.message)
        else:
            name = class_names[int(np.argmax(probabilities))]
            self.set_answer(name, 72 if len(name) <= 3 else 30,
                            f"{format_probability(float(probabilities.max()))} confident")

    def show_trial(self, result: ImageTrial | ImageFailure | None,
                   class_names: tuple[str, ...] | None, busy: bool) -> None:
        """The answer and bars for an image tried (None: none in view, or still `busy`)."""
        self.confidence_label.setWordWrap(True)
        self.confidence_label.setStyleSheet("")
        if result is None:
            self.set_answer("Reading…" if busy else "", 20, "")
            self.chart.show_probabilities(None)
        elif isinstance(result, ImageFailure):
            self.set_answer("?", 40, result.message)
            self.confidence_label.setStyleSheet(ERROR_STYLE)
            self.chart.show_probabilities(None)
        elif class_names is not None:
            best = result.ranked(1)[0]
            name = class_names[best]
            confidence = f"{format_probability(float(result.probabilities[best]))} confident"
            self.set_answer(name, 72 if len(name) <= 3 else 30,
                            f"{confidence}. {result.note}" if result.note else confidence)
            self.chart.show_probabilities(result.probabilities, greyed=bool(result.note))

    def set_answer(self, text: str, point_size: int, confidence: str) -> None:
        font = QFont(self.font())
        font.setBold(point_size > 20)
        # As large as asked, but never wider than the label: "automobile" must not be cut.
        room = max(self.answer_label.width(), self.answer_label.minimumWidth()) - 8
        font.setPointSize(point_size)
        while point_size > 12 and QFontMetrics(font).horizontalAdvance(text) > room:
            point_size -= 2
            font.setPointSize(point_size)
        self.answer_label.setFont(font)
        self.answer_label.setText(text)
        self.confidence_label.setText(confidence)


class ProbabilityChart(pg.PlotWidget):
    """One horizontal bar per class (names down the left), the winning class in green.

    With more classes than rows fit the chart's height (EMNIST's 26 letters, CIFAR-100's 100),
    the 10 most probable are shown, most probable first, and one grey bar holds what the
    other classes share.
    """

    MAX_ROWS = 12  # one row per class up to here: each a line of text high, even at 220 px
    TOP_ROWS = 10

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, background="w")
        self.setMinimumHeight(220)
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        item = self.getPlotItem()
        item.invertY(True)  # the first class on top
        item.showGrid(x=True, y=False, alpha=0.25)
        item.setXRange(0, 1.1, padding=0.0)  # room for the "100%" tick label
        item.getAxis("bottom").setTicks([[(v, f"{v:.0%}") for v in (0.25, 0.5, 0.75, 1)]])
        for name in ("left", "bottom"):
            item.getAxis(name).setTextPen("k")
            item.getAxis(name).setPen("k")
        self._bars = pg.BarGraphItem(x0=[], y=[], height=0.7, width=[])
        self.addItem(self._bars)
        self._labels: list[pg.TextItem] = []
        self._names: tuple[str, ...] = ()
        self._built_for: tuple[str, ...] | None = None  # the classes the rows are drawn for

    def set_classes(self, names: tuple[str, ...]) -> None:
        """Rows for these classes, their bars empty. Rebuilding the rows takes ~20 ms: the
        same classes again (a step of the epoch slider) only empty the bars."""
        if tuple(names) == self._built_for:
            self.show_probabilities(None)
            return
        self._names = self._built_for = tuple(names)
        item = self.getPlotItem()
        left = item.getAxis("left")
        rows = self._rows()
        left.setTicks([list(enumerate(names))] if rows == len(names) else [[]])
        # Sized to the longest name: pyqtgraph would drop labels wider than the axis.
        metrics = QFontMetrics(left.style["tickFont"] or self.font())
        widest = [*names, self._others_name()] if rows < len(names) else names
        left.setWidth(max((metrics.horizontalAdvance(n) for n in widest), default=0) + 16)
        item.setYRange(-0.5, max(rows, 1) - 0.5, padding=0.02)
        for label in self._labels:
            self.removeItem(label)
        self._labels = [pg.TextItem("", color="k", anchor=(0, 0.5)) for _ in range(rows)]
        for label in self._labels:
            self.addItem(label)
        self.show_probabilities(None)

    def _rows(self) -> int:
        """Rows drawn: one per class, or the top classes and one for all the others."""
        many = len(self._names) > self.MAX_ROWS
        return self.TOP_ROWS + 1 if many else len(self._names)

    def _others_name(self) -> str:
        return f"{len(self._names) - self.TOP_ROWS} others"

    def show_probabilities(self, probabilities: np.ndarray | None, greyed: bool = False) -> None:
        """One bar per class; `greyed`: all in grey, no winner (the drawing is no digit)."""
        if probabilities is None:
            self._bars.setOpts(x0=[], y=[], width=[], brushes=[])
            for label in self._labels:
                label.setText("")
            if self._rows() < len(self._names):
                self.getPlotItem().getAxis("left").setTicks([[]])
            return
        best = int(np.argmax(probabilities))
        colours = [DOUBTED_BAR_COLOUR if greyed else TOP_BAR_COLOUR if i == best
                   else BAR_COLOUR for i in range(len(probabilities))]
        if self._rows() < len(probabilities):
            top = np.argsort(-probabilities, kind="stable")[:self.TOP_ROWS]
            rest = float(probabilities.sum() - probabilities[top].sum())
            self.getPlotItem().getAxis("left").setTicks([
                [(row, self._names[i]) for row, i in enumerate(top)]
                + [(self.TOP_ROWS, self._others_name())]])
            colours = [colours[i] for i in top] + [DOUBTED_BAR_COLOUR]
            probabilities = np.append(probabilities[top], max(rest, 0.0))
        brushes = [pg.mkBrush(colour) for colour in colours]
        self._bars.setOpts(x0=np.zeros(len(probabilities)), y=np.arange(len(probabilities)),
                           width=probabilities, brushes=brushes, pens=[None] * len(brushes))
        for i, (label, p) in enumerate(zip(self._labels, probabilities, strict=True)):
            label.setText(format_probability(p) if p >= 0.01 else "")
            label.setColor("#444444" if greyed else "k")
            # Inside the bar's end when it is long, just after it otherwise.
            label.setAnchor((1, 0.5) if p > 0.8 else (0, 0.5))
            label.setPos(p - 0.01 if p > 0.8 else p + 0.01, i)
