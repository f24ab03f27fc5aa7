"""Charts over classes: the confusion matrix heat map and per-class bars (pyqtgraph).

Any number of classes stays readable: class names are elided, the bottom axis writes them
upwards (long names never collide), fonts shrink as classes multiply, and below a minimum
cell size the chart grows and its scroll area scrolls instead of squeezing labels together.
Numbers in cells and next to bars are painted by one item in one pass (`PixelTexts`), and
only where they fit.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QImage,
    QPainter,
    QPalette,
    QStaticText,
    QTransform,
)
from PySide6.QtWidgets import (
    QApplication,
    QGraphicsRectItem,
    QLabel,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from engine.analysis import row_normalised

MAX_LABEL_CHARS = 16
# Row-normalised colour: white (no images) to dark blue (all of the row's images).
HEAT_COLOURS = ("#f7fbff", "#c6dbef", "#6baed6", "#2171b5", "#08306b")
LIGHT_TEXT, DARK_TEXT = QColor("#ffffff"), QColor("#1a1a1a")
BAR_COLOUR = "#4c78a8"
SELECTED_COLOUR = "#e6550d"  # orange: stands out on white and on dark blue cells


def elide(name: str, limit: int = MAX_LABEL_CHARS) -> str:
    return name if len(name) <= limit else name[:limit - 1] + "…"


def label_font(num_classes: int) -> QFont:
    """Smaller type for more classes: 9 pt up to 12 classes, 8 pt to 24, then 7 pt."""
    font = QFont()
    font.setPointSize(9 if num_classes <= 12 else 8 if num_classes <= 24 else 7)
    return font


def min_cell_pixels(font: QFont) -> int:
    """The smallest class row or column in which a label of this font does not collide."""
    return QFontMetrics(font).height() + 3


class UpwardLabelsAxis(pg.AxisItem):
    """A bottom axis whose tick labels (class names) read upwards: they cannot overlap as
    long as a class column is at least one line of text wide (see `min_cell_pixels`)."""

    def __init__(self) -> None:
        super().__init__("bottom")
        self._names: list[str] = []

    def set_names(self, names: Sequence[str], font: QFont) -> None:
        self._names = [elide(name) for name in names]
        self.setStyle(tickFont=font, tickLength=4)
        # Ticks carry the index (narrow, never dropped by pyqtgraph); drawPicture writes names.
        self.setTicks([[(i + 0.5, str(i)) for i in range(len(names))], []])
        widest = max((QFontMetrics(font).horizontalAdvance(n) for n in self._names), default=0)
        self.setHeight(widest + 14)

    def drawPicture(self, p: QPainter, axisSpec, tickSpecs, textSpecs) -> None:  # noqa: N802
        super().drawPicture(p, axisSpec, tickSpecs, [])
        p.setPen(self.textPen())
        height = QFontMetrics(p.font()).height()
        for rect, _flags, text in textSpecs:
            index = int(text)
            if not 0 <= index < len(self._names):
                continue
            p.save()
            p.translate(rect.center().x(), rect.top())
            p.rotate(-90)
            p.drawText(QRectF(-self.height(), -height / 2, self.height() - 2, height),
                       int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
                       self._names[index])
            p.restore()


class HeatCells(pg.GraphicsObject):
    """A matrix of shares (0..1) as coloured cells, cell (row r, column c) covering
    [c, c+1] x [r, r+1] in data coordinates.

    Painted from a QImage that owns its pixels: pyqtgraph's ImageItem paints from a QImage
    over a numpy buffer it manages, and crashed (a segfault in ImageItem.paint) once in a
    full test run with PySide6 6.11.
    """

    def __init__(self, colours: Sequence[str]) -> None:
        super().__init__()
        self._map = pg.ColorMap(np.linspace(0, 1, len(colours)), [QColor(c) for c in colours])
        self._image = QImage()
        self._bounds = QRectF()

    def set_shares(self, shares: np.ndarray) -> None:
        self.prepareGeometryChange()
        rows, cols = shares.shape
        rgba = self._map.map(np.clip(shares, 0.0, 1.0).ravel(), mode="byte")
        rgb = np.ascontiguousarray(rgba[:, :3].reshape(rows, cols, 3), dtype=np.uint8)
        self._image = QImage(rgb.data, cols, rows, 3 * cols,
                             QImage.Format.Format_RGB888).copy()
        self._bounds = QRectF(0, 0, cols, rows)
        self.update()

    def colour_at(self, row: int, col: int) -> QColor:
        return self._image.pixelColor(col, row)

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt's name
        return self._bounds

    def paint(self, p: QPainter, *args) -> None:
        if not self._image.isNull():
            p.drawImage(self._bounds, self._image)


class PixelTexts(pg.GraphicsObject):
    """Short texts at data positions, in a fixed pixel font, painted in one pass; left out
    when their row is too narrow for them (the hover read-out still tells).

    Built for a 37x37 confusion matrix (1,369 numbers) repainted at every epoch end:
    positions are mapped with numpy, each distinct text is laid out once (QStaticText),
    and the pen changes once per colour.
    """

    def __init__(self) -> None:
        super().__init__()
        self._texts: list[str] = []
        self._xy = np.zeros((0, 2))
        self._by_colour: dict[str, list[int]] = {}
        self._bounds = QRectF()
        self._centred = True
        self._laid_out: dict[tuple[str, int], QStaticText] = {}

    def set_texts(self, texts: list[tuple[float, float, str, QColor]], bounds: QRectF,
                  align: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignCenter) -> None:
        self.prepareGeometryChange()
        self._texts = [text for _, _, text, _ in texts]
        self._xy = np.array([(x, y) for x, y, _, _ in texts], dtype=np.float64).reshape(-1, 2)
        self._by_colour = {}
        for i, (_, _, _, colour) in enumerate(texts):
            self._by_colour.setdefault(colour.name(), []).append(i)
        self._bounds, self._centred = bounds, align == Qt.AlignmentFlag.AlignCenter
        self.update()

    def texts(self) -> list[str]:
        return list(self._texts)

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt's name
        return self._bounds

    def _static(self, text: str, pixels: int, font: QFont) -> QStaticText:
        laid_out = self._laid_out.get((text, pixels))
        if laid_out is None:
            laid_out = QStaticText(text)
            laid_out.setTextFormat(Qt.TextFormat.PlainText)
            laid_out.prepare(QTransform(), font)
            self._laid_out[(text, pixels)] = laid_out
        return laid_out

    def paint(self, p: QPainter, *args) -> None:
        if not self._texts:
            return
        t = p.transform()
        cell_w, cell_h = abs(t.m11() + t.m21()), abs(t.m12() + t.m22())
        pixels = int(max(7, min(13, cell_h * 0.6)))
        font = QFont(p.font())
        font.setPixelSize(pixels)
        metrics = QFontMetrics(font)
        if metrics.height() > cell_h:
            return
        if self._centred and metrics.horizontalAdvance(max(self._texts, key=len)) > cell_w - 2:
            return
        xs, ys = self._xy[:, 0], self._xy[:, 1]
        px = (t.m11() * xs + t.m21() * ys + t.dx()).tolist()
        py = (t.m12() * xs + t.m22() * ys + t.dy() - metrics.height() / 2).tolist()
        p.resetTransform()
        p.setFont(font)
        for colour, indices in self._by_colour.items():
            p.setPen(QColor(colour))
            for i in indices:
                laid_out = self._static(self._texts[i], pixels, font)
                x = px[i] - laid_out.size().width() / 2 if self._centred else px[i] + 3
                p.drawStaticText(QPointF(x, py[i]), laid_out)
        p.setTransform(t)


def _class_plot(left_axis: pg.AxisItem, bottom_axis: pg.AxisItem | None = None) -> pg.PlotWidget:
    palette = QApplication.palette()
    fg, bg = palette.color(QPalette.ColorRole.Text), palette.color(QPalette.ColorRole.Base)
    axes = {"left": left_axis} | ({"bottom": bottom_axis} if bottom_axis else {})
    widget = pg.PlotWidget(background=bg, axisItems=axes)
    item = widget.getPlotItem()
    item.setMenuEnabled(False)
    item.hideButtons()
    item.getViewBox().setMouseEnabled(x=False, y=False)
    for side in ("left", "bottom"):
        axis = item.getAxis(side)
        axis.setPen(pg.mkPen(fg))
        axis.setTextPen(pg.mkPen(fg))
    return widget


def _scrolling(widget: QWidget) -> QScrollArea:
    scroll = QScrollArea()
    scroll.setWidget(widget)
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QScrollArea.Shape.NoFrame)
    return scroll


class ConfusionMatrixView(QWidget):
    """Counts in cells, colour normalised per true class (row), class names on both axes,
    a read-out of the hovered cell, and `cell_clicked(true, predicted)` on a click; the
    chosen cell is outlined (`select`)."""

    cell_clicked = Signal(int, int)
    HINT = "Hover over a cell to read it; click it to list its test images below."

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._names: list[str] = []
        self._counts = np.zeros((0, 0), dtype=np.int64)
        self._bottom = UpwardLabelsAxis()
        self.plot = _class_plot(pg.AxisItem("left"), self._bottom)
        item = self.plot.getPlotItem()
        view = item.getViewBox()
        view.invertY(True)  # class 0 at the top; cells stretch with the space given
        self.cells = HeatCells(HEAT_COLOURS)
        item.addItem(self.cells)
        self.cell_texts = PixelTexts()
        item.addItem(self.cell_texts)
        # The chosen cell (its images are listed below the charts), outlined.
        self.outline = QGraphicsRectItem()
        self.outline.setPen(pg.mkPen(SELECTED_COLOUR, width=3))  # cosmetic: 3 px at any zoom
        self.outline.setZValue(10)
        self.outline.hide()
        item.addItem(self.outline, ignoreBounds=True)
        self._selected: tuple[int, int] | None = None
        self.readout = QLabel(self.HINT)
        self.readout.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(_scrolling(self.plot), 1)
        layout.addWidget(self.readout)
        scene = self.plot.scene()
        scene.sigMouseMoved.connect(self._on_mouse_moved)
        scene.sigMouseClicked.connect(self._on_mouse_clicked)

    def set_classes(self, names: Sequence[str]) -> None:
        if list(names) != self._names:
            self.select(None)  # another set of classes: the chosen cell means nothing now
        self._names = list(names)
        count = len(names)
        font = label_font(count)
        self._bottom.set_names(names, font)
        left = self.plot.getPlotItem().getAxis("left")
        left.setStyle(tickFont=font, tickLength=4)
        left.setTicks([[(i + 0.5, elide(n)) for i, n in enumerate(names)], []])
        side = max(count, 1) * min_cell_pixels(font)
        self.plot.setMinimumSize(side + 140, side + self._bottom.height() + 20)
        self.plot.getPlotItem().getViewBox().setRange(
            xRange=(0, max(count, 1)), yRange=(0, max(count, 1)), padding=0)

    def set_counts(self, counts: np.ndarray) -> None:
        """Show a confusion matrix (row = true class, column = predicted class)."""
        self._counts = counts
        share = row_normalised(counts)
        self.cells.set_shares(share)
        rows, cols = np.nonzero(counts)
        texts = [(c + 0.5, r + 0.5, str(int(counts[r, c])),
                  LIGHT_TEXT if share[r, c] > 0.5 else DARK_TEXT)
                 for r, c in zip(rows.tolist(), cols.tolist(), strict=True)]
        self.cell_texts.set_texts(texts, QRectF(0, 0, counts.shape[1], counts.shape[0]))

    def select(self, cell: tuple[int, int] | None) -> None:
        """Outline one cell (true class, predicted class), or none."""
        self._selected = cell
        if cell is not None:
            true_class, predicted = cell
            self.outline.setRect(QRectF(predicted, true_class, 1, 1))
        self.outline.setVisible(cell is not None)

    def selected_cell(self) -> tuple[int, int] | None:
        return self._selected

    def cell_at(self, scene_pos: QPointF) -> tuple[int, int] | None:
        view = self.plot.getPlotItem().getViewBox()
        if not view.sceneBoundingRect().contains(scene_pos):
            return None
        point = view.mapSceneToView(scene_pos)
        row, col = int(np.floor(point.y())), int(np.floor(point.x()))
        rows, cols = self._counts.shape
        return (row, col) if 0 <= row < rows and 0 <= col < cols else None

    def cell_scene_pos(self, true_class: int, predicted: int) -> QPointF:
        """The scene position of a cell's centre (for tests and key navigation)."""
        view = self.plot.getPlotItem().getViewBox()
        return view.mapViewToScene(QPointF(predicted + 0.5, true_class + 0.5))

    def describe(self, true_class: int, predicted: int) -> str:
        count = int(self._counts[true_class, predicted])
        total = int(self._counts[true_class].sum())
        share = f" ({count / total:.1%} of {self._names[true_class]})" if total else ""
        images = "1 image" if count == 1 else f"{count:,} images"
        return (f"True {self._names[true_class]}, predicted {self._names[predicted]}: "
                f"{images}{share}.")

    def _on_mouse_moved(self, scene_pos: QPointF) -> None:
        cell = self.cell_at(scene_pos)
        self.readout.setText(self.describe(*cell) if cell else self.HINT)

    def _on_mouse_clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        cell = self.cell_at(event.scenePos())
        if cell is not None:
            self.cell_clicked.emit(*cell)


class ClassAccuracyBars(QWidget):
    """Horizontal bars of each class's test accuracy, in class order or worst first."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._names: list[str] = []
        self._accuracy = np.zeros(0)
        self._ticks: list = []
        self.worst_first = False
        self._left = pg.AxisItem("left")
        self.plot = _class_plot(self._left)
        item = self.plot.getPlotItem()
        item.getViewBox().invertY(True)
        item.setLabel("bottom", "test accuracy (%)")
        item.getAxis("bottom").setTicks([[(v, str(v)) for v in range(0, 101, 25)], []])
        item.showGrid(x=True, alpha=0.2)
        self.bars = pg.BarGraphItem(x0=[], y=[], height=0.7, width=[],
                                    brush=pg.mkBrush(BAR_COLOUR), pen=pg.mkPen(None))
        item.addItem(self.bars)
        self.values = PixelTexts()
        item.addItem(self.values)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(_scrolling(self.plot))

    def set_classes(self, names: Sequence[str]) -> None:
        self._names = list(names)
        font = label_font(len(names))
        self._left.setStyle(tickFont=font, tickLength=4)
        self.plot.setMinimumHeight(max(len(names), 1) * min_cell_pixels(font) + 50)

    def set_worst_first(self, worst_first: bool) -> None:
        self.worst_first = worst_first
        self._redraw()

    def set_accuracy(self, accuracy: np.ndarray) -> None:
        self._accuracy = accuracy
        self._redraw()

    def order(self) -> list[int]:
        """The classes from top to bottom as drawn."""
        if not self.worst_first:
            return list(range(len(self._accuracy)))
        filled = np.where(np.isnan(self._accuracy), np.inf, self._accuracy)
        return np.argsort(filled, kind="stable").tolist()

    def _redraw(self) -> None:
        order = self.order()
        count = len(order)
        acc = np.nan_to_num(self._accuracy[order] * 100) if count else np.zeros(0)
        ys = np.arange(count) + 0.5
        self.bars.setOpts(x0=np.zeros(count), y=ys, width=acc, height=0.7)
        ticks = [[(y, elide(self._names[c])) for y, c in zip(ys.tolist(), order, strict=True)],
                 []]
        if ticks != self._ticks:  # the axis redraws its labels only when they change
            self._ticks = ticks
            self._left.setTicks(ticks)
        fg = self.palette().color(QPalette.ColorRole.Text)
        texts = [(a, y, "no images" if np.isnan(self._accuracy[c]) else f"{a:.1f}%", fg)
                 for a, y, c in zip(acc.tolist(), ys.tolist(), order, strict=True)]
        self.values.set_texts(texts, QRectF(0, 0, 125, max(count, 1)),
                              Qt.AlignmentFlag.AlignLeft)
        self.plot.getPlotItem().getViewBox().setRange(
            xRange=(0, 125), yRange=(0, max(count, 1)), padding=0)
