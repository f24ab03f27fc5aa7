"""Reading the canvas's drawing with the model in use, live while the person draws."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject, Qt, QTimer, Signal

from engine.inference.predict import (
    FIELD_SIZE,
    DigitDoubt,
    Predictor,
    doubt_about_digit,
    drawing_span,
    preprocess_image,
    render_strokes,
)
from gui.draw_canvas import DrawCanvas

# At most one prediction per this many milliseconds while drawing: live, yet a fast mouse
# does not queue up more work than the eye can follow.
PREDICT_INTERVAL_MS = 60


@dataclass(frozen=True)
class DrawingReading:
    """What the model made of the drawing."""

    input: np.ndarray | None = None  # the drawing as the model sees it (28x28, 0..1)
    probabilities: np.ndarray | None = None  # None: no drawing, or no model
    doubt: DigitDoubt | None = None  # why the drawing does not look like a digit
    error: str | None = None  # why it could not be read


class DrawingReader(QObject):
    """Reads the drawing on `canvas` with the model in use: at most once per
    PREDICT_INTERVAL_MS while it changes: `due` says when, and the owner reads with
    `read_now` (also at once when a stroke ends, if one is `pending`)."""

    due = Signal()  # the drawing changed: time to read it

    def __init__(self, canvas: DrawCanvas, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._canvas = canvas
        self.predictor: Predictor | None = None
        self._reads_digits = False
        self.last = DrawingReading()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(PREDICT_INTERVAL_MS)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)  # a coarse one may fire 5% early
        self._timer.timeout.connect(self.due)
        canvas.strokes_changed.connect(self._schedule)

    def set_model(self, predictor: Predictor | None, reads_digits: bool) -> None:
        """Read with `predictor`; `reads_digits`: a drawing is also judged as a digit."""
        self.predictor = predictor
        self._reads_digits = reads_digits

    def pending(self) -> bool:
        """Whether the drawing changed since the last reading (one is scheduled)."""
        return self._timer.isActive()

    def read_now(self) -> DrawingReading:
        self._timer.stop()
        strokes, widths = self._canvas.strokes(), self._canvas.widths()
        error = probabilities = doubt = None
        try:
            image = render_strokes(strokes, widths, canvas_size=(1.0, 1.0))
            digit = None if image is None else preprocess_image(image)
        except ValueError as failure:  # strokes the canvas should never hold
            digit, error = None, f"the drawing cannot be read: {failure}"
        if self.predictor is not None and digit is not None:
            try:
                probabilities = self.predictor.predict(digit)
            except (ValueError, RuntimeError) as failure:  # a model that does not fit
                error = str(failure)
            if self._reads_digits:
                doubt = doubt_about_digit(digit, drawing_span(strokes, (1.0, 1.0)))
        self.last = DrawingReading(digit, probabilities, doubt, error)
        return self.last

    def predicted_class(self) -> str | None:
        """The class the last reading found; None without a drawing or a model, or when the
        drawing is doubted."""
        reading = self.last
        if reading.probabilities is None or self.predictor is None or reading.doubt is not None:
            return None
        return self.predictor.class_names[int(np.argmax(reading.probabilities))]

    def input_size(self) -> int:
        """The side of the square image the model in use takes (28 with no model)."""
        return self.predictor.input_size if self.predictor is not None else FIELD_SIZE

    def model_view(self, digit: np.ndarray | None) -> np.ndarray | None:
        """digit (28x28, 0..1) resized as the model in use is fed it, in 0..1."""
        if digit is None or self.predictor is None or self.input_size() == FIELD_SIZE:
            return digit
        predictor = self.predictor
        try:
            fed = predictor.model_input(digit)[0, 0]
        except ValueError:
            return digit
        return (fed * predictor.std[0, 0] + predictor.mean[0, 0]).cpu().numpy()

    def _schedule(self) -> None:
        # Not restarted while running: a steady stream of changes still gets a prediction
        # every interval, and the last change is always followed by one.
        if not self._timer.isActive():
            self._timer.start()
