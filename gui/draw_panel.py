"""The "Draw" tab: draw a digit and watch the model's prediction change as you draw."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QFont, QFontMetrics, QImage, QPixmap, QResizeEvent
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from engine.checkpoint import Checkpoint, CheckpointError, load_checkpoint
from engine.predict import Predictor, preprocess_image, render_strokes
from engine.resources import RESOURCES_DIR
from gui.draw_canvas import DrawCanvas

BUNDLED_MODEL = RESOURCES_DIR / "pretrained" / "digits-lenet5.pt"
# At most one prediction per this many milliseconds while drawing: live, yet a fast mouse
# does not queue up more work than the eye can follow.
PREDICT_INTERVAL_MS = 60
PREVIEW_SCALE = 4  # the 28x28 model input shown at 112x112
BAR_COLOUR = (110, 140, 190)
TOP_BAR_COLOUR = (40, 170, 90)
NOTE_STYLE = "color: #b36b00;"
ERROR_STYLE = "color: #c0392b;"


class _SquareHolder(QWidget):
    """Keeps its one child square, as large as fits, centred."""

    def __init__(self, child: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._child = child
        child.setParent(self)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(child.minimumSize())

    def sizeHint(self) -> QSize:
        return self._child.sizeHint()

    def resizeEvent(self, event: QResizeEvent) -> None:
        side = min(self.width(), self.height())
        self._child.setGeometry((self.width() - side) // 2, (self.height() - side) // 2,
                                side, side)
        super().resizeEvent(event)


class _ProbabilityChart(pg.PlotWidget):
    """One horizontal bar per class (names down the left), the winning class in green."""

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

    def set_classes(self, names: tuple[str, ...]) -> None:
        self._names = names
        item = self.getPlotItem()
        left = item.getAxis("left")
        left.setTicks([list(enumerate(names))])
        # Sized to the longest name: pyqtgraph would drop labels wider than the axis.
        metrics = QFontMetrics(left.style["tickFont"] or self.font())
        left.setWidth(max((metrics.horizontalAdvance(n) for n in names), default=0) + 16)
        item.setYRange(-0.5, max(len(names), 1) - 0.5, padding=0.02)
        for label in self._labels:
            self.removeItem(label)
        self._labels = [pg.TextItem("", color="k", anchor=(0, 0.5)) for _ in names]
        for label in self._labels:
            self.addItem(label)
        self.show_probabilities(None)

    def show_probabilities(self, probabilities: np.ndarray | None) -> None:
        if probabilities is None:
            self._bars.setOpts(x0=[], y=[], width=[], brushes=[])
            for label in self._labels:
                label.setText("")
            return
        best = int(np.argmax(probabilities))
        brushes = [pg.mkBrush(TOP_BAR_COLOUR if i == best else BAR_COLOUR)
                   for i in range(len(probabilities))]
        self._bars.setOpts(x0=np.zeros(len(probabilities)), y=np.arange(len(probabilities)),
                           width=probabilities, brushes=brushes, pens=[None] * len(brushes))
        for i, (label, p) in enumerate(zip(self._labels, probabilities, strict=True)):
            label.setText(f"{p:.1%}" if p >= 0.01 else "")
            # Inside the bar's end when it is long, just after it otherwise.
            label.setAnchor((1, 0.5) if p > 0.8 else (0, 0.5))
            label.setPos(p - 0.01 if p > 0.8 else p + 0.01, i)


class DrawPanel(QWidget):
    """Canvas on the left; the model's prediction, its input and all class odds on the right.

    The main window calls `show_checkpoint` after a run finishes or a checkpoint is loaded.
    """

    prediction_made = Signal(object)  # np.ndarray of probabilities, or None for no drawing

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._predictor: Predictor | None = None
        self._probabilities: np.ndarray | None = None
        self._predictions_made = 0

        self.canvas = DrawCanvas()
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Wipe the canvas (Delete)")
        self.undo_button = QPushButton("Undo")
        self.undo_button.setToolTip("Remove the last stroke (Ctrl+Z)")
        self.answer_label = QLabel()
        self.answer_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.answer_label.setMinimumWidth(170)
        self.confidence_label = QLabel()
        self.confidence_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.input_view = QLabel()
        self.input_view.setFixedSize(28 * PREVIEW_SCALE, 28 * PREVIEW_SCALE)
        self.input_view.setToolTip("The drawing as the model gets it: cropped, scaled to fit "
                                   "20x20 and centred by its centre of mass in 28x28, as in "
                                   "MNIST.")
        self.chart = _ProbabilityChart()
        self.model_label = QLabel()
        self.model_label.setWordWrap(True)
        self.note_label = QLabel()
        self.note_label.setWordWrap(True)
        self.note_label.setStyleSheet(NOTE_STYLE)
        self._layout()

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(PREDICT_INTERVAL_MS)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)  # a coarse one may fire 5% early
        self._timer.timeout.connect(self._predict_now)
        self.canvas.strokes_changed.connect(self._schedule_prediction)
        self.clear_button.clicked.connect(self.canvas.clear)
        self.undo_button.clicked.connect(self.canvas.undo)
        self.set_predictor(None, "No model yet: train one, or load a checkpoint.", True)

    def _layout(self) -> None:
        buttons = QHBoxLayout()
        buttons.addWidget(self.clear_button)
        buttons.addWidget(self.undo_button)
        buttons.addStretch(1)
        left = QVBoxLayout()
        left.addWidget(_SquareHolder(self.canvas), 1)
        left.addLayout(buttons)

        input_caption = QLabel("What the model sees (28×28)")
        input_caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        answer = QGridLayout()
        answer.addWidget(self.answer_label, 0, 0)
        answer.addWidget(self.confidence_label, 1, 0)
        answer.addWidget(self.input_view, 0, 1, Qt.AlignmentFlag.AlignCenter)
        answer.addWidget(input_caption, 1, 1)
        answer.setColumnStretch(0, 1)
        right = QVBoxLayout()
        right.addLayout(answer)
        right.addWidget(self.chart, 1)
        right.addWidget(self.model_label)
        right.addWidget(self.note_label)

        columns = QHBoxLayout(self)
        columns.addLayout(left, 3)
        columns.addLayout(right, 2)

    # -- public API --------------------------------------------------------------------

    def set_predictor(self, predictor: Predictor | None, description: str,
                      is_digits: bool) -> None:
        """Predict with `predictor` from now on (None: no model), described by one line."""
        self._predictor = predictor
        self.model_label.setText(description)
        self.model_label.setStyleSheet("")
        names = predictor.class_names if predictor is not None else ()
        self.chart.set_classes(names)
        if predictor is not None and not is_digits:
            shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
            self.note_label.setText(
                f"This model was not trained on digits: it answers with its own classes "
                f"({shown}), but the canvas is meant for digits."
            )
        else:
            self.note_label.setText("")
        self.note_label.setVisible(bool(self.note_label.text()))
        self._predict_now()

    def show_checkpoint(self, ckpt: Checkpoint, description: str) -> bool:
        """Predict with the model a checkpoint holds; if it cannot, say why in the panel."""
        try:
            predictor = Predictor.from_checkpoint(ckpt)
        except (CheckpointError, ValueError) as error:
            if self._predictor is None:
                self._show_model_error(f"This model cannot predict from the canvas: {error}")
            else:  # keep the model in use, and say why the new one was not taken
                self.note_label.setText(f"{description}: this model cannot predict from the "
                                        f"canvas: {error} The model above is still in use.")
                self.note_label.setVisible(True)
            return False
        self.set_predictor(predictor, description, ckpt.is_digits)
        return True

    def load_bundled_model(self) -> bool:
        """Use the LeNet-5 shipped with the app; if it cannot be read, say why in the panel."""
        try:
            ckpt = load_checkpoint(BUNDLED_MODEL)
        except CheckpointError as error:
            self._show_model_error(f"The bundled digit model could not be loaded: {error}")
            return False
        return self.show_checkpoint(ckpt, bundled_description(ckpt))

    def _show_model_error(self, message: str) -> None:
        self.set_predictor(None, message, True)
        self.model_label.setStyleSheet(ERROR_STYLE)

    def predictor(self) -> Predictor | None:
        return self._predictor

    def predicted_class(self) -> str | None:
        if self._probabilities is None or self._predictor is None:
            return None
        return self._predictor.class_names[int(np.argmax(self._probabilities))]

    def probabilities(self) -> np.ndarray | None:
        return None if self._probabilities is None else self._probabilities.copy()

    def prediction_pending(self) -> bool:
        """Whether the drawing changed since the last prediction (one is scheduled)."""
        return self._timer.isActive()

    def predictions_made(self) -> int:
        """How many times prediction_made was emitted (the throttle keeps this low)."""
        return self._predictions_made

    # -- prediction --------------------------------------------------------------------

    def _schedule_prediction(self) -> None:
        # Not restarted while running: a steady stream of changes still gets a prediction
        # every interval, and the last change is always followed by one.
        if not self._timer.isActive():
            self._timer.start()

    def _predict_now(self) -> None:
        self._timer.stop()
        image = render_strokes(self.canvas.strokes(), self.canvas.widths(),
                               canvas_size=(1.0, 1.0))
        digit = None if image is None else preprocess_image(image)
        self._show_input(digit)
        self._probabilities = None
        error = None
        if self._predictor is not None and digit is not None:
            try:
                self._probabilities = self._predictor.predict(digit)
            except (ValueError, RuntimeError) as failure:  # a model that does not fit
                error = str(failure)
        self._show_answer(error)
        self.chart.show_probabilities(self._probabilities)
        if self._predictor is not None and error is None:
            self._predictions_made += 1
            self.prediction_made.emit(self.probabilities())

    def _show_input(self, digit: np.ndarray | None) -> None:
        pixels = np.zeros((28, 28), np.uint8) if digit is None else np.ascontiguousarray(
            np.clip(digit * 255 + 0.5, 0, 255).astype(np.uint8))
        image = QImage(pixels.tobytes(), 28, 28, 28, QImage.Format.Format_Grayscale8)
        self.input_view.setPixmap(QPixmap.fromImage(image).scaled(
            self.input_view.size(), Qt.AspectRatioMode.IgnoreAspectRatio,
            Qt.TransformationMode.FastTransformation))  # nearest neighbour: see the pixels

    def _show_answer(self, error: str | None) -> None:
        if error is not None:
            self._set_answer("?", 40, f"Prediction failed: {error}")
            self.confidence_label.setStyleSheet(ERROR_STYLE)
            return
        self.confidence_label.setStyleSheet("")
        if self._predictor is None:
            self._set_answer("No model", 20, "")
        elif self._probabilities is None:
            self._set_answer("Draw a digit", 20, "")
        else:
            name = self.predicted_class() or ""
            self._set_answer(name, 72 if len(name) <= 3 else 30,
                             f"{float(self._probabilities.max()):.1%} confident")
        self.confidence_label.setWordWrap(error is not None)

    def _set_answer(self, text: str, point_size: int, confidence: str) -> None:
        font = QFont(self.font())
        font.setPointSize(point_size)
        font.setBold(point_size > 20)
        self.answer_label.setFont(font)
        self.answer_label.setText(text)
        self.confidence_label.setText(confidence)


def bundled_description(ckpt: Checkpoint) -> str:
    """'Bundled LeNet-5 trained on real MNIST digits (test accuracy 98.9%)'."""
    accuracy = ckpt.history[-1].get("test_acc") if ckpt.history else None
    measured = f" (test accuracy {accuracy:.1%})" if isinstance(accuracy, float) else ""
    return f"Bundled LeNet-5 trained on real MNIST digits{measured}"
