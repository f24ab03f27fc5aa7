"""Small images in grids: arrays to QImages, colour maps, and a sheet of captioned tiles.

The Data tab's samples and the Inside tab's feature maps and filters are all many small
images with a caption each, under a section title. `TileSheet` paints them itself (one
widget, not one per image: hundreds of tiles stay cheap to lay out and repaint) and wraps
them to its width; clicks on a tile come back as `tile_clicked(section, tile)`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QMouseEvent, QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

# Perceptually even maps: feature maps in viridis, "where the answer rests" in inferno.
_VIRIDIS = pg.colormap.get("viridis").getLookupTable(nPts=256, alpha=False).astype(np.uint8)
_INFERNO = pg.colormap.get("inferno").getLookupTable(nPts=256, alpha=False).astype(np.uint8)
GAP = 10  # between tiles
IMAGE_GAP = 2  # between the images of one tile (an original and its augmented copy)


def qimage(pixels: np.ndarray) -> QImage:
    """uint8 (H, W) grey or (H, W, 3) RGB -> a QImage that owns its pixels."""
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    height, width = pixels.shape[:2]
    if pixels.ndim == 2:
        image = QImage(pixels.data, width, height, width, QImage.Format.Format_Grayscale8)
    else:
        image = QImage(pixels.data, width, height, 3 * width, QImage.Format.Format_RGB888)
    return image.copy()  # detached from the numpy buffer


def dataset_pixels(image: np.ndarray) -> np.ndarray:
    """A dataset image, uint8 (C, H, W) -> (H, W) grey for 1 channel, (H, W, 3) for 3 (the
    first channel, in grey, for any other count)."""
    image = np.asarray(image)
    if image.shape[0] == 3:
        return image.transpose(1, 2, 0)
    return image[0]


def unit_to_uint8(values: np.ndarray) -> np.ndarray:
    return (np.clip(values, 0.0, 1.0) * 255 + 0.5).astype(np.uint8)


def scaled(values: np.ndarray) -> np.ndarray:
    """Stretched to 0..1 over their own range (a constant array is all 0)."""
    low, high = float(values.min()), float(values.max())
    if not high > low:
        return np.zeros_like(values, dtype=np.float32)
    return ((values - low) / (high - low)).astype(np.float32)


def viridis(values: np.ndarray) -> np.ndarray:
    """0..1 values (H, W) -> (H, W, 3) uint8 in viridis."""
    return _VIRIDIS[unit_to_uint8(values)]


def inferno(values: np.ndarray) -> np.ndarray:
    return _INFERNO[unit_to_uint8(values)]


def signed_weights(weights: np.ndarray) -> np.ndarray:
    """One filter or unit's weights (C, H, W) as a picture, 0 always at the middle grey:
    in colour for 3 channels; otherwise blue (negative) to white to red (positive), over
    the channels' mean."""
    peak = float(np.abs(weights).max()) or 1.0
    if weights.shape[0] == 3:
        return unit_to_uint8(weights.transpose(1, 2, 0) / (2 * peak) + 0.5)
    values = weights.mean(axis=0) / peak  # -1..1
    red = np.where(values > 0, 1.0, 1.0 + values)
    blue = np.where(values < 0, 1.0, 1.0 - values)
    green = 1.0 - np.abs(values)
    return unit_to_uint8(np.stack([red, green, blue], axis=-1))


def heat_overlay(base: np.ndarray, heat: np.ndarray, strength: float = 0.55) -> np.ndarray:
    """A greyscale or RGB uint8 picture with a 0..1 heat map (any size) blended over it,
    both brought to the larger of their sizes."""
    size = max(base.shape[0], heat.shape[0], 96)
    rgb = base if base.ndim == 3 else np.repeat(base[:, :, None], 3, axis=2)
    rgb = _resize_nearest(rgb, size).astype(np.float32)
    warm = inferno(_resize_bilinear(heat, size)).astype(np.float32)
    weight = strength * _resize_bilinear(heat, size)[:, :, None] ** 0.5
    return (rgb * (1 - weight) + warm * weight + 0.5).astype(np.uint8)


def _resize_nearest(pixels: np.ndarray, size: int) -> np.ndarray:
    rows = np.arange(size) * pixels.shape[0] // size
    cols = np.arange(size) * pixels.shape[1] // size
    return pixels[rows][:, cols]


def _resize_bilinear(values: np.ndarray, size: int) -> np.ndarray:
    def coords(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        pos = np.clip((np.arange(size) + 0.5) * n / size - 0.5, 0, n - 1)
        low = np.floor(pos).astype(int)
        return low, np.minimum(low + 1, n - 1), pos - low

    r0, r1, fr = coords(values.shape[0])
    c0, c1, fc = coords(values.shape[1])
    top = values[r0][:, c0] * (1 - fc) + values[r0][:, c1] * fc
    bottom = values[r1][:, c0] * (1 - fc) + values[r1][:, c1] * fc
    return (top * (1 - fr[:, None]) + bottom * fr[:, None]).astype(np.float32)


@dataclass
class Tile:
    images: list[QImage]  # side by side
    caption: str = ""
    tooltip: str = ""


@dataclass
class Section:
    title: str
    tiles: list[Tile] = field(default_factory=list)
    note: str = ""  # a line under the title (e.g. "16 of 64 maps shown")
    tile_size: int | None = None  # pixels per image side; None: the sheet's own


class TileSheet(QWidget):
    """Sections of captioned tiles, wrapped to the width; put it in a QScrollArea."""

    tile_clicked = Signal(int, int)  # section index, tile index

    def __init__(self, tile_size: int = 48, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._tile_size = tile_size
        self._sections: list[Section] = []
        self._rects: list[tuple[int, int, QRect]] = []  # (section, tile, where)
        self._titles: list[tuple[QRect, Section]] = []
        self._clickable = False
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Minimum)
        self.setMouseTracking(True)

    def set_sections(self, sections: Sequence[Section], tile_size: int | None = None) -> None:
        self._sections = list(sections)
        if tile_size is not None:
            self._tile_size = tile_size
        self._relayout()
        self.update()

    def sections(self) -> list[Section]:
        return list(self._sections)

    def set_clickable(self, clickable: bool) -> None:
        self._clickable = clickable
        self.setCursor(Qt.CursorShape.PointingHandCursor if clickable
                       else Qt.CursorShape.ArrowCursor)

    def tile_rect(self, section: int, tile: int) -> QRect:
        for s, t, rect in self._rects:
            if (s, t) == (section, tile):
                return QRect(rect)
        raise IndexError(f"No tile {tile} in section {section}.")

    def sizeHint(self) -> QSize:
        return QSize(8 * (self._tile_size + GAP), max(self.minimumHeight(), 40))

    # -- layout ----------------------------------------------------------------------------

    def _caption_height(self) -> int:
        return self.fontMetrics().height() + 2

    def _relayout(self) -> None:
        width = max(self.width(), self._tile_size + 2 * GAP)
        line = self.fontMetrics().height()
        y = 0
        self._rects, self._titles = [], []
        for s, section in enumerate(self._sections):
            if section.title or section.note:
                lines = (1 if section.title else 0) + (1 if section.note else 0)
                self._titles.append((QRect(0, y, width, lines * line + 4), section))
                y += lines * line + 6
            size = section.tile_size or self._tile_size
            captions = any(tile.caption for tile in section.tiles)
            # One width for every tile of a section, wide enough for most captions (up to
            # about two tiles; longer ones are shortened in the middle, whole on hover).
            caption_width = min(max((self.fontMetrics().horizontalAdvance(tile.caption) + 4
                                     for tile in section.tiles), default=0), 2 * size + 16)
            x, row_height = 0, 0
            for t, tile in enumerate(section.tiles):
                count = max(1, len(tile.images))
                w = max(count * size + (count - 1) * IMAGE_GAP, caption_width)
                h = size + (self._caption_height() if captions else 0)
                if x > 0 and x + w > width:
                    x, y = 0, y + row_height + GAP
                self._rects.append((s, t, QRect(x, y, w, h)))
                x += w + GAP
                row_height = max(row_height, h)
            y += row_height + 2 * GAP
        if self.minimumHeight() != y:
            self.setMinimumHeight(y)

    def resizeEvent(self, event) -> None:  # noqa: ANN001 - Qt's signature
        self._relayout()
        super().resizeEvent(event)

    # -- painting --------------------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        clip = event.rect()
        text = self.palette().color(QPalette.ColorRole.WindowText)
        bold = QFont(self.font())
        bold.setBold(True)
        line = self.fontMetrics().height()
        for rect, section in self._titles:
            if not rect.intersects(clip):
                continue
            y = rect.top()
            if section.title:
                painter.setFont(bold)
                painter.setPen(text)
                painter.drawText(QRect(0, y, rect.width(), line),
                                 Qt.AlignmentFlag.AlignLeft, section.title)
                y += line
            if section.note:
                painter.setFont(self.font())
                painter.setPen(QColor(90, 90, 90))
                painter.drawText(QRect(0, y, rect.width(), line),
                                 Qt.AlignmentFlag.AlignLeft, section.note)
        painter.setFont(self.font())
        caption_pen = text
        for s, t, rect in self._rects:
            if not rect.intersects(clip):
                continue
            section = self._sections[s]
            tile = section.tiles[t]
            size = section.tile_size or self._tile_size
            count = len(tile.images)
            x = rect.left() + (rect.width() - count * size - (count - 1) * IMAGE_GAP) // 2
            for image in tile.images:
                target = QRect(x, rect.top(), size, size)
                painter.drawImage(target, image)  # nearest neighbour: see the pixels
                x += size + IMAGE_GAP
            if tile.caption:
                painter.setPen(caption_pen)
                caption_rect = QRect(rect.left(), rect.top() + size, rect.width(),
                                     self._caption_height())
                shown = self.fontMetrics().elidedText(tile.caption,
                                                      Qt.TextElideMode.ElideMiddle,
                                                      rect.width())
                painter.drawText(caption_rect, Qt.AlignmentFlag.AlignHCenter, shown)

    # -- mouse -----------------------------------------------------------------------------

    def _tile_at(self, x: int, y: int) -> tuple[int, int] | None:
        for s, t, rect in self._rects:
            if rect.contains(x, y):
                return s, t
        return None

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        hit = self._tile_at(int(event.position().x()), int(event.position().y()))
        if hit is None:
            QToolTip.hideText()
        else:
            tile = self._sections[hit[0]].tiles[hit[1]]
            tip = tile.tooltip or tile.caption
            if tip:
                QToolTip.showText(event.globalPosition().toPoint(), tip, self)
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._clickable and event.button() == Qt.MouseButton.LeftButton:
            hit = self._tile_at(int(event.position().x()), int(event.position().y()))
            if hit is not None:
                self.tile_clicked.emit(*hit)
                return
        super().mouseReleaseEvent(event)
