"""The Draw tab's left side: the canvas, or the images tried on the model, and the ways a
person's images come in: Open images…, Open folder…, Ctrl+V, and files dropped on the tab.

The pages only open images: the tab (gui/draw_panel.py) tries them with its model.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QSize, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QKeySequence, QResizeEvent, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QHBoxLayout,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine.inference.image_files import IMAGE_SUFFIXES
from engine.inference.image_input import READABLE
from gui.draw_canvas import DrawCanvas
from gui.image_trials import MAX_IMAGES, ImageTrialsPage, sources_from_mime, sources_from_paths

# Ctrl+O opens a checkpoint (the window's File menu); images have their own keys.
OPEN_IMAGES_KEYS = "Ctrl+Shift+O"
IMAGE_FILTER = (f"Images ({' '.join('*' + suffix for suffix in IMAGE_SUFFIXES)});;"
                "All files (*)")


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


class DrawingPage(QWidget):
    """The canvas, square and as large as fits, with Clear, Undo, Open images… and Open
    folder… below."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.canvas = DrawCanvas(hint="Draw a digit here\nor drop an image")
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Wipe the canvas (Delete)")
        self.undo_button = QPushButton("Undo")
        self.undo_button.setToolTip("Remove the last stroke (Ctrl+Z)")
        self.open_images_button = QPushButton("Open images…")
        self.open_images_button.setToolTip(
            f"Try the model on your own images ({OPEN_IMAGES_KEYS}); you can also paste one "
            "(Ctrl+V) or drop files onto this tab.")
        # A folder icon rather than words: a fifth worded button would widen the Draw tab
        # beyond a 1024-pixel screen.
        self.open_folder_button = QToolButton()
        self.open_folder_button.setIcon(
            self.style().standardIcon(QStyle.StandardPixmap.SP_DirOpenIcon))
        self.open_folder_button.setAccessibleName("Open folder…")
        self.open_folder_button.setToolTip(
            f"Open folder…: try the model on every image in a folder and its sub-folders (at "
            f"most {MAX_IMAGES}); the table can be saved as CSV.")
        self.clear_button.clicked.connect(self.canvas.clear)
        self.undo_button.clicked.connect(self.canvas.undo)
        buttons = QHBoxLayout()
        buttons.addWidget(self.clear_button)
        buttons.addWidget(self.undo_button)
        buttons.addStretch(1)
        buttons.addWidget(self.open_images_button)
        buttons.addWidget(self.open_folder_button)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(_SquareHolder(self.canvas), 1)
        column.addLayout(buttons)


class DrawPages(QStackedWidget):
    """The drawing page, or the images page; both pages' open buttons, and `tab`'s keys and
    drops, open images. `opened` hands on what was opened; `nothing_opened` says why
    nothing was."""

    opened = Signal(object, int)  # Sources, and how many images were left out
    nothing_opened = Signal(str)

    def __init__(self, tab: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.drawing = DrawingPage()
        self.images = ImageTrialsPage()
        self.images.open_button.setToolTip(self.drawing.open_images_button.toolTip())
        self.images.open_folder_button.setToolTip(self.drawing.open_folder_button.toolTip())
        self.addWidget(self.drawing)
        self.addWidget(self.images)
        for button in (self.drawing.open_images_button, self.images.open_button):
            button.clicked.connect(self.open_images)
        for button in (self.drawing.open_folder_button, self.images.open_folder_button):
            button.clicked.connect(self.open_image_folder)
        # Only while the tab is shown (a hidden widget's shortcuts are off); a text field
        # with the focus keeps Ctrl+V for itself.
        QShortcut(QKeySequence(OPEN_IMAGES_KEYS), tab, self.open_images)
        QShortcut(QKeySequence(QKeySequence.StandardKey.Paste), tab, self.paste_image)
        tab.setAcceptDrops(True)
        tab.installEventFilter(self)

    def showing_images(self) -> bool:
        return self.currentWidget() is self.images

    def open_images(self) -> None:
        """Ask for image files to try the model on."""
        paths, _ = QFileDialog.getOpenFileNames(self, "Open images to try the model on", "",
                                                IMAGE_FILTER)
        if paths:
            self.opened.emit([(Path(p).name, Path(p)) for p in paths[:MAX_IMAGES]],
                             max(0, len(paths) - MAX_IMAGES))

    def open_image_folder(self) -> None:
        """Ask for a folder, to try the model on every image in it and its sub-folders."""
        folder = QFileDialog.getExistingDirectory(self, "Open a folder of images to try the "
                                                  "model on")
        if not folder:
            return
        sources, left_out = sources_from_paths([folder])
        if sources:
            self.opened.emit(sources, left_out)
        else:
            self.nothing_opened.emit(f"No {READABLE} files in {folder} or its sub-folders: "
                                     "choose another folder.")

    def paste_image(self) -> None:
        """Open the clipboard's image (a picture, or copied image files)."""
        sources, left_out = sources_from_mime(QApplication.clipboard().mimeData())
        if sources:
            self.opened.emit(sources, left_out)
        else:
            self.nothing_opened.emit(f"The clipboard holds no image: copy a picture or a "
                                     f"{READABLE} file, then paste it here (Ctrl+V).")

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        """Images dragged onto the tab: taken if they hold files or a picture."""
        if isinstance(event, QDragEnterEvent):
            mime = event.mimeData()
            if mime.hasUrls() or mime.hasImage():
                event.acceptProposedAction()
            return True
        if isinstance(event, QDropEvent) and event.type() == QEvent.Type.Drop:
            sources, left_out = sources_from_mime(event.mimeData())
            if sources:
                event.acceptProposedAction()
                self.opened.emit(sources, left_out)
            return True
        return super().eventFilter(watched, event)
