"""Test images as small pictures: uint8 (C, H, W) arrays to QImages, and a lazy strip of them.

A strip holds only indices into the test set; a thumbnail is made when Qt first paints it
and kept in a cache shared by every strip of the run, so refilling a strip at each epoch's
end costs nothing per image.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, QSize, Qt, Signal
from PySide6.QtGui import QImage, QPainter, QPaintEvent, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QListView, QWidget

from gui.contrast import secondary_colour

THUMBNAIL_PX = 56  # a gallery thumbnail's side
GALLERY_LIMIT = 200  # thumbnails per gallery: more than anyone scrolls through

Index = QModelIndex | QPersistentModelIndex
# (caption under the thumbnail, tooltip) for a test image index
Describer = Callable[[int], tuple[str, str]]


def to_qimage(image: np.ndarray) -> QImage:
    """A QImage (its own copy) of one uint8 image (C, H, W): grey for 1 channel, else RGB."""
    channels, height, width = image.shape
    if channels < 3:
        grey = np.ascontiguousarray(image[0])
        qimage = QImage(grey.data, width, height, width, QImage.Format.Format_Grayscale8)
    else:
        rgb = np.ascontiguousarray(image[:3].transpose(1, 2, 0))
        qimage = QImage(rgb.data, width, height, 3 * width, QImage.Format.Format_RGB888)
    return qimage.copy()  # the array above is freed when this returns


def to_pixmap(image: np.ndarray, size: int) -> QPixmap:
    """The image scaled to fit size x size: pixels stay sharp when enlarged (MNIST's 28 px)."""
    qimage = to_qimage(image)
    enlarging = max(qimage.width(), qimage.height()) < size
    mode = (Qt.TransformationMode.FastTransformation if enlarging
            else Qt.TransformationMode.SmoothTransformation)
    return QPixmap.fromImage(qimage.scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio, mode))


class ThumbnailCache:
    """Thumbnails of one test set, made on first use."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._images: np.ndarray | None = None
        self._made: dict[int, QPixmap] = {}

    def set_images(self, images: np.ndarray | None) -> None:
        if images is not self._images:
            self._images = images
            self._made = {}

    @property
    def images(self) -> np.ndarray | None:
        return self._images

    def get(self, index: int) -> QPixmap | None:
        if self._images is None or not 0 <= index < len(self._images):
            return None
        if index not in self._made:
            self._made[index] = to_pixmap(self._images[index], self.size)
        return self._made[index]


class ImageStripModel(QAbstractListModel):
    """Test images by index, each with a caption; thumbnails and captions made on demand."""

    def __init__(self, cache: ThumbnailCache) -> None:
        super().__init__()
        self._cache = cache
        self._indices = np.empty(0, dtype=np.int64)
        self._describe: Describer = lambda i: ("", "")

    def set_images(self, indices: np.ndarray, describe: Describer) -> None:
        self.beginResetModel()
        self._indices = np.asarray(indices, dtype=np.int64)
        self._describe = describe
        self.endResetModel()

    def image_indices(self) -> list[int]:
        return self._indices.tolist()

    def rowCount(self, parent: Index | None = None) -> int:  # noqa: N802 - Qt's name
        return 0 if parent is not None and parent.isValid() else len(self._indices)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or not 0 <= index.row() < len(self._indices):
            return None
        image = int(self._indices[index.row()])
        if role == Qt.ItemDataRole.DisplayRole:
            return self._describe(image)[0]
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._describe(image)[1]
        if role == Qt.ItemDataRole.DecorationRole:
            return self._cache.get(image)
        if role == Qt.ItemDataRole.UserRole:
            return image
        return None


class ImageStrip(QListView):
    """A scrolling grid of thumbnails with captions; says `empty_text` when it has none."""

    image_clicked = Signal(int)  # the test image's index

    def __init__(self, cache: ThumbnailCache, empty_text: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.empty_text = empty_text
        self.strip_model = ImageStripModel(cache)
        self.setModel(self.strip_model)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(True)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setUniformItemSizes(True)
        self.setMovement(QListView.Movement.Static)
        self.setIconSize(QSize(cache.size, cache.size))
        self.setGridSize(QSize(cache.size + 44, cache.size + 56))
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.setWordWrap(False)  # one caption line per newline, each elided to fit
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setMinimumHeight(cache.size + 70)
        self.clicked.connect(self._on_clicked)

    def show_images(self, indices: np.ndarray, describe: Describer) -> None:
        """Show these test images, from the first (the previous list is gone)."""
        self.strip_model.set_images(indices, describe)
        self.scrollToTop()

    def _on_clicked(self, index: QModelIndex) -> None:
        self.image_clicked.emit(int(index.data(Qt.ItemDataRole.UserRole)))

    def click_image(self, row: int) -> None:
        """Select and click the thumbnail in `row`, as a person would."""
        index = self.strip_model.index(row)
        self.setCurrentIndex(index)
        self.clicked.emit(index)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        super().paintEvent(event)
        if self.strip_model.rowCount() == 0 and self.empty_text:
            painter = QPainter(self.viewport())
            palette = self.palette()
            painter.setPen(secondary_colour(palette.text().color(), palette.base().color()))
            painter.drawText(self.viewport().rect().adjusted(12, 0, -12, 0),
                             Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                             self.empty_text)
            painter.end()
