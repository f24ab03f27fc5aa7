"""A square canvas to draw on with a mouse or a pen, kept as vector strokes.

Strokes are stored as polylines normalised to the canvas side (0..1 on both axes), so the
canvas's size and the screen's device pixel ratio don't change what the model is given.
White ink on black, like MNIST.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QKeyEvent,
    QKeySequence,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QTabletEvent,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

# Pen width on screen as a fraction of the canvas side: a digit drawn across most of the
# canvas then has strokes about as thick, relative to its size, as an MNIST digit's.
PEN_WIDTH = 0.045
# Points closer than this (fraction of the side) to the previous one add nothing visible.
MIN_STEP = 0.002
BACKGROUND = QColor(0, 0, 0)
INK = QColor(255, 255, 255)
HINT = QColor(110, 110, 110)


def _finite(pos: QPointF) -> bool:
    return math.isfinite(pos.x()) and math.isfinite(pos.y())


def pressure_to_width(pressure: float) -> float:
    """A pen's pressure (0..1) as a width factor: light 0.5x, normal (0.5) 1x, hard 1.5x.
    A pressure that is not a number (a broken driver) gets the normal width."""
    if not math.isfinite(pressure):
        return 1.0
    return 0.5 + min(max(pressure, 0.0), 1.0)


class DrawCanvas(QWidget):
    """Draw with the left mouse button or a tablet pen; Ctrl+Z undoes, Delete clears."""

    strokes_changed = Signal()
    stroke_ended = Signal()  # the pen or the mouse button was lifted

    def __init__(self, parent: QWidget | None = None, hint: str = "Draw a digit here") -> None:
        super().__init__(parent)
        self._strokes: list[list[tuple[float, float]]] = []
        self._widths: list[float] = []
        self._pressures: list[float] = []  # of the stroke being drawn with a pen
        self._drawing = False
        self._hint = hint
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(160, 160)
        self.setToolTip("Draw with the mouse or a pen. Ctrl+Z undoes a stroke, Delete clears.")

    # -- public API --------------------------------------------------------------------

    def strokes(self) -> list[np.ndarray]:
        """Each stroke as an (N, 2) array of (x, y) in 0..1 of the canvas side (beyond 0..1
        where a drag left the canvas)."""
        return [np.array(s, dtype=np.float64).reshape(-1, 2) for s in self._strokes]

    def widths(self) -> list[float]:
        """Each stroke's width factor (1.0 for the mouse; from the pressure for a pen)."""
        return list(self._widths)

    def is_empty(self) -> bool:
        return not self._strokes

    def clear(self) -> None:
        self._drawing = False
        if self._strokes:
            self._strokes.clear()
            self._widths.clear()
            self._changed()

    def undo(self) -> None:
        """Remove the last stroke (the one being drawn, if the pen is still down)."""
        self._drawing = False
        if self._strokes:
            self._strokes.pop()
            self._widths.pop()
            self._changed()

    def set_strokes(self, strokes: Sequence[Sequence[Sequence[float]]],
                    widths: Sequence[float] | None = None) -> None:
        """Replace the drawing by strokes given as (x, y) points in 0..1 of the side."""
        new = [[(float(x), float(y)) for x, y in stroke] for stroke in strokes]
        if any(not stroke for stroke in new):
            raise ValueError("Every stroke needs at least one point.")
        if not all(math.isfinite(v) for stroke in new for point in stroke for v in point):
            raise ValueError("Every point must be a pair of finite numbers (no NaN or "
                             "infinity).")
        if widths is not None and len(widths) != len(new):
            raise ValueError(f"Got {len(widths)} widths for {len(new)} strokes; give one "
                             "width factor per stroke, or none.")
        if widths is not None and not all(math.isfinite(w) and w > 0 for w in widths):
            raise ValueError("Width factors must be positive numbers (1.0 = the normal pen).")
        self._drawing = False
        self._strokes = new
        self._widths = [float(w) for w in widths] if widths is not None else [1.0] * len(new)
        self._changed()

    # -- drawing -----------------------------------------------------------------------

    def _side(self) -> float:
        return float(max(1, min(self.width(), self.height())))

    def _normalised(self, pos: QPointF) -> tuple[float, float]:
        # Not clamped: a drag that leaves the canvas and comes back stays one stroke, and
        # render_strokes drops the ink beyond the edge, which the person never saw.
        side = self._side()
        return (pos.x() / side, pos.y() / side)

    def _begin(self, pos: QPointF, pressure: float | None) -> None:
        if not _finite(pos):  # a broken device's event: nothing to draw
            return
        self._drawing = True
        self._pressures = [] if pressure is None else [pressure]
        self._strokes.append([self._normalised(pos)])
        self._widths.append(1.0 if pressure is None else pressure_to_width(pressure))
        self._changed()

    def _extend(self, pos: QPointF, pressure: float | None) -> None:
        if not self._drawing or not _finite(pos):
            return
        point = self._normalised(pos)
        last = self._strokes[-1][-1]
        if abs(point[0] - last[0]) + abs(point[1] - last[1]) < MIN_STEP:
            return
        self._strokes[-1].append(point)
        if pressure is not None:
            # The mean pressure of the stroke, so the tail's lift-off doesn't thin it.
            self._pressures.append(pressure)
            self._widths[-1] = pressure_to_width(sum(self._pressures) / len(self._pressures))
        self._changed()

    def _changed(self) -> None:
        self.update()
        self.strokes_changed.emit()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._begin(event.position(), None)
        else:
            super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        self._extend(event.position(), None)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._extend(event.position(), None)
            self._end_stroke()
        else:
            super().mouseReleaseEvent(event)

    def tabletEvent(self, event: QTabletEvent) -> None:
        # Accepted, so Qt does not also synthesise mouse events for the pen.
        kind = event.type()
        if kind == QTabletEvent.Type.TabletPress:
            self._begin(event.position(), event.pressure())
        elif kind == QTabletEvent.Type.TabletMove:
            self._extend(event.position(), event.pressure())
        elif kind == QTabletEvent.Type.TabletRelease:
            self._end_stroke()
        event.accept()

    def _end_stroke(self) -> None:
        was_drawing, self._drawing = self._drawing, False
        if was_drawing:
            self.stroke_ended.emit()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.matches(QKeySequence.StandardKey.Undo):
            self.undo()
        elif event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.clear()
        else:
            super().keyPressEvent(event)

    # -- painting ----------------------------------------------------------------------

    def sizeHint(self) -> QSize:
        return QSize(400, 400)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), BACKGROUND)
        side = self._side()
        if not self._strokes and self._hint:
            painter.setPen(HINT)
            font = painter.font()
            font.setPointSizeF(max(9.0, side / 28))
            painter.setFont(font)
            painter.drawText(QRectF(0, 0, side, side), Qt.AlignmentFlag.AlignCenter, self._hint)
        for points, width in zip(self._strokes, self._widths, strict=True):
            pen = QPen(INK, PEN_WIDTH * side * width, Qt.PenStyle.SolidLine,
                       Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin)
            painter.setPen(pen)
            scaled = [QPointF(x * side, y * side) for x, y in points]
            if len(scaled) == 1:
                painter.drawPoint(scaled[0])
            else:
                # Straight, anti-aliased segments from each mouse position to the next, with
                # round joins: one unbroken line however far apart the events of a fast
                # stroke are, and the very line engine.inference.predict.render_strokes gives the
                # model (a smoothed curve would cut the corners the model still gets).
                painter.drawPolyline(scaled)
        painter.end()
