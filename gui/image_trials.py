"""The Draw tab's page for a person's own images: opened, pasted or dropped.

The image in view is shown large exactly as the model gets it (its input tensor,
de-normalised, at its own size, enlarged pixel for pixel); several images at once are listed
in a small table (thumbnail, file, answer, confidence, second choice), and a click on a row
shows that image; "Save as CSV…" writes the table with `traindesk predict`'s columns
(engine/inference/prediction_csv.py). Decoding and predicting run off the GUI thread
(`LatestJob`), a batch at a time through the command's own path
(engine.inference.image_trial.try_images), so that the rows fill in batch by batch under a
progress bar; a model chosen meanwhile predicts them all again.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PySide6.QtCore import QMimeData, QRect, QSize, Qt, QUrl, Signal
from PySide6.QtGui import QIcon, QImage, QPainter, QPaintEvent, QPalette, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.inference.image_files import find_images
from engine.inference.image_input import ImageSource, InputRecipe
from engine.inference.image_trial import THUMBNAIL_SIDE, ImageFailure, ImageTrial, try_images
from engine.inference.predict import Predictor
from engine.inference.prediction_csv import DEFAULT_TOP_K, PredictionCsv
from gui.background import JobFailed, LatestJob
from gui.image_tiles import qimage
from gui.probability_text import format_probability

Sources = list[tuple[str, ImageSource]]  # (name a person reads, file path or pixels)
Result = ImageTrial | ImageFailure
# Tried from one drop or folder: the rest are left out, and the page says so (each keeps
# its input as the model saw it: 1,000 ResNet inputs take 150 MB). `traindesk predict`
# takes any number.
MAX_IMAGES = 1000
# Images read in one background job: the rows fill in this many at a time.
BATCH = 16
COLUMNS = ("", "File", "Answer", "Confidence", "Second choice")
ERROR_STYLE = "color: #b03020;"


def sources_from_mime(mime: QMimeData) -> tuple[Sources, int]:
    """The images a drop or the clipboard carries, and how many were left out (beyond
    MAX_IMAGES): local files (a folder stands for the images in it and its sub-folders),
    else the picture itself, else file paths or file:// addresses given as text."""
    paths = [url.toLocalFile() for url in mime.urls() if url.isLocalFile()]
    if not paths and mime.hasImage():
        pixels = qimage_pixels(QImage(mime.imageData()))
        return ([("the pasted image", pixels)] if pixels is not None else []), 0
    if not paths and mime.hasText():
        paths = _paths_in_text(mime.text())
    return sources_from_paths(paths)


def sources_from_paths(paths: Sequence[str | Path]) -> tuple[Sources, int]:
    """The images these files and folders hold (engine.inference.image_files), at most
    MAX_IMAGES, and how many more were left out."""
    found = find_images(paths)
    return ([(image.name, image.path) for image in found[:MAX_IMAGES]],
            max(0, len(found) - MAX_IMAGES))


def qimage_pixels(image: QImage) -> np.ndarray | None:
    """A QImage as uint8 (H, W, 3) RGB, or (H, W, 4) RGBA when it has transparency."""
    if image.isNull():
        return None
    alpha = image.hasAlphaChannel()
    image = image.convertToFormat(QImage.Format.Format_RGBA8888 if alpha
                                  else QImage.Format.Format_RGB888)
    channels = 4 if alpha else 3
    rows = np.frombuffer(image.constBits(), dtype=np.uint8,
                         count=image.bytesPerLine() * image.height())
    rows = rows.reshape(image.height(), image.bytesPerLine())
    return rows[:, : image.width() * channels].reshape(
        image.height(), image.width(), channels).copy()


def _paths_in_text(text: str) -> list[str]:
    """file:// addresses and paths of existing files, one a line (as file managers copy
    them); any other text gives none."""
    found = []
    for line in text.splitlines()[: MAX_IMAGES + 1]:
        line = line.strip()
        if line.startswith("file://"):
            found.append(QUrl(line).toLocalFile())
            continue
        try:
            if line and Path(line).expanduser().is_file():
                found.append(str(Path(line).expanduser()))
        except (OSError, ValueError):  # no path: too long, or holding a NUL
            continue
    return found


class PixelView(QWidget):
    """An image enlarged pixel for pixel (nearest neighbour): whole multiples of its size
    where two or more fit, else as large as fits (smoothed where that is smaller)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._image: QImage | None = None
        self.setMinimumSize(160, 160)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_pixels(self, pixels: np.ndarray | None) -> None:
        self._image = None if pixels is None else qimage(pixels)
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(280, 280)

    def image_rect(self) -> QRect:
        """Where the image is painted (empty when there is none)."""
        if self._image is None:
            return QRect()
        side = min(self.width(), self.height())
        size = max(self._image.width(), self._image.height())
        scale = side // size if side >= 2 * size else side / size
        width, height = int(self._image.width() * scale), int(self._image.height() * scale)
        return QRect((self.width() - width) // 2, (self.height() - height) // 2, width, height)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().color(QPalette.ColorRole.Window))
        if self._image is not None:
            target = self.image_rect()
            # Enlarged: each pixel a sharp square. Shrunk (a 224x224 input in a small
            # window): smoothed, or whole rows and columns would vanish.
            if target.width() < self._image.width():
                painter.drawImage(target.topLeft(), self._image.scaled(
                    target.size(), Qt.AspectRatioMode.IgnoreAspectRatio,
                    Qt.TransformationMode.SmoothTransformation))
            else:
                painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
                painter.drawImage(target, self._image)
        painter.end()


class ImageTrialsPage(QWidget):
    """The image in view as the model sees it, and the table of every image tried.

    `trial_selected` carries the `ImageTrial` or `ImageFailure` in view (None for none), for
    the Draw tab's answer and bars; `back_requested` returns to the canvas.
    """

    trial_selected = Signal(object)
    back_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._predictor: Predictor | None = None
        self._recipe: InputRecipe | None = None
        self._sources: Sources = []
        self._left_out = 0
        self._results: list[Result | None] = []  # None: not read yet
        self._generation = 0  # results of an older request (or model) are dropped
        self._job = LatestJob(self)
        self._job.done.connect(self._on_done)

        self.view = PixelView()
        self.view.setToolTip("The image exactly as the model gets it: its input, at its own "
                             "size and colours, each pixel enlarged.")
        self.caption = QLabel()
        self.caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.caption.setWordWrap(True)
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setIconSize(QSize(THUMBNAIL_SIDE, THUMBNAIL_SIDE))
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(THUMBNAIL_SIDE + 6)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.setColumnWidth(0, THUMBNAIL_SIDE + 8)
        self.table.hide()
        self.progress = QProgressBar()
        self.progress.setFormat("%v of %m images")
        self.progress.hide()
        self.open_button = QPushButton("Open images…")
        self.open_folder_button = QPushButton("Open folder…")
        self.save_button = QPushButton("Save as CSV…")
        self.save_button.setToolTip(
            "Save the table as a CSV file: each image's path, its likeliest classes with "
            "their probabilities, and why an image could not be read (the columns of "
            "`traindesk predict`).")
        self.save_button.setEnabled(False)
        self.save_button.clicked.connect(self.save_csv)
        self.back_button = QPushButton("Back to drawing")
        self.back_button.setToolTip("Draw a digit again")
        self.back_button.clicked.connect(self.back_requested)
        self.table.currentCellChanged.connect(lambda row, *_: self._show_row(row))
        self._layout()

    def _layout(self) -> None:
        # Two rows, so the Draw tab still fits a 1024-pixel-wide screen.
        buttons, opening = QHBoxLayout(), QHBoxLayout()
        buttons.addWidget(self.back_button)
        buttons.addStretch(1)
        buttons.addWidget(self.save_button)
        opening.addWidget(self.open_button)
        opening.addWidget(self.open_folder_button)
        opening.addStretch(1)
        whole = QVBoxLayout(self)
        whole.setContentsMargins(0, 0, 0, 0)
        whole.addWidget(self.view, 2)
        whole.addWidget(self.caption)
        whole.addWidget(self.status_label)
        whole.addWidget(self.progress)
        whole.addWidget(self.table, 3)
        whole.addLayout(opening)
        whole.addLayout(buttons)

    # -- public API --------------------------------------------------------------------

    def set_model(self, predictor: Predictor | None, recipe: InputRecipe | None) -> None:
        """Predict with this model from now on (the images on the page again, too)."""
        self._predictor, self._recipe = predictor, recipe
        if self._sources:  # the same image stays in view
            self._start(self._sources, self._left_out, max(self.table.currentRow(), 0))

    def try_sources(self, sources: Sources, left_out: int = 0) -> None:
        """Predict these images (replacing those on the page), one after another: each
        row fills in as its image is read."""
        self._start(sources, left_out, 0)

    def _start(self, sources: Sources, left_out: int, row_in_view: int) -> None:
        self._sources, self._left_out = list(sources), left_out
        self._results = [None] * len(self._sources)
        self._generation += 1
        self.table.blockSignals(True)
        self.table.setRowCount(len(self._sources))
        for row in range(len(self._sources)):
            self._fill_row(row)
        self.table.blockSignals(False)
        self.table.setVisible(len(self._sources) > 1)
        if len(self._sources) > 1:
            self.select(min(row_in_view, len(self._sources) - 1))
        if self._predictor is None or self._recipe is None:
            self.progress.hide()
            self.save_button.setEnabled(False)
            self._say("No model to read the images with: train one, or open a checkpoint.",
                      error=True)
        else:
            self._read(0)
        self._show_row(self.table.currentRow() if len(self._sources) > 1 else 0)

    def results(self) -> list[Result]:
        """The answers so far, in the order of the images."""
        return [result for result in self._results if result is not None]

    def current(self) -> Result | None:
        """The answer for the image in view (None while it is being read)."""
        row = self.table.currentRow() if len(self._results) > 1 else 0
        return self._results[row] if 0 <= row < len(self._results) else None

    def busy(self) -> bool:
        return self._job.busy()

    def wait(self, timeout: float | None = None) -> None:
        """Block until the running job has ended (tests, closing)."""
        self._job.wait(timeout)

    def select(self, row: int) -> None:
        self.table.setCurrentCell(row, 1)

    def csv_path(self, index: int) -> str:
        """The path column of image `index`: its file's path, else its name."""
        name, source = self._sources[index]
        return str(source) if isinstance(source, (str, Path)) else name

    def write_csv(self, path: str | Path) -> int:
        """Write the table with `traindesk predict`'s columns; returns the rows written."""
        names = self._predictor.class_names if self._predictor is not None else ()
        with open(path, "w", newline="", encoding="utf-8") as stream:
            table = PredictionCsv(stream, names, DEFAULT_TOP_K)
            for index, result in enumerate(self._results):
                if result is not None:
                    table.add(self.csv_path(index), result)
        return table.rows

    def save_csv(self) -> None:
        """Ask where, then write the table there (a few hundred short lines: at once)."""
        path, _ = QFileDialog.getSaveFileName(self, "Save the predictions as CSV",
                                              "predictions.csv", "CSV files (*.csv)")
        if not path:
            return
        try:
            rows = self.write_csv(path)
        except OSError as error:
            self._say(f"Could not save {path}: {error.strerror or error}. Choose another "
                      "folder.", error=True)
            return
        self._say(f"Saved {rows} rows to {path}.")

    # -- work --------------------------------------------------------------------------

    def _read(self, index: int) -> None:
        """Read and predict the batch from image `index` off the GUI thread; the next batch
        follows its answers."""
        count = len(self._sources)
        self.progress.setVisible(count > 1 and index < count)
        self.save_button.setEnabled(index >= count and count > 0)
        if index >= count:
            self._say(self._summary())
            return
        predictor, recipe = self._predictor, self._recipe
        assert predictor is not None and recipe is not None
        batch = self._sources[index:index + BATCH]
        self.progress.setRange(0, count)
        self.progress.setValue(index)
        if count == 1:
            self._say("Reading…")
        elif len(batch) == 1:
            self._say(f"Reading image {index + 1} of {count}…")
        else:
            self._say(f"Reading images {index + 1}–{index + len(batch)} of {count}…")
        # A request made while an older one runs waits for it (LatestJob); the older
        # answers are then dropped by their generation.
        self._job.submit((self._generation, index),
                         lambda: try_images(predictor, recipe, batch, BATCH))

    def _on_done(self, tag: object, results: object) -> None:
        generation, start = tag  # as _read submitted it
        if generation != self._generation:
            return  # an older request, or a model no longer in use
        batch = self._sources[start:start + BATCH]
        if isinstance(results, JobFailed):
            results = [ImageFailure(name, f"{name} could not be tried: {results}")
                       for name, _ in batch]
        assert isinstance(results, list) and len(results) == len(batch)
        in_view = self.table.currentRow() if len(self._results) > 1 else 0
        for index, result in enumerate(results, start):
            self._results[index] = result
            self._fill_row(index)
            if index == in_view:
                self._show_row(index)
        self._read(start + len(batch))

    def _summary(self) -> str:
        failed = sum(isinstance(r, ImageFailure) for r in self._results)
        parts = []
        if len(self._results) > 1:
            parts.append(f"{len(self._results)} images; click a row to see it large.")
        if failed and len(self._results) > 1:
            parts.append(f"{failed} could not be read (see their rows).")
        if self._left_out:
            parts.append(f"{self._left_out} more were left out: at most {MAX_IMAGES} at "
                         "once.")
        return " ".join(parts)

    # -- display -----------------------------------------------------------------------

    def _say(self, text: str, error: bool = False) -> None:
        self.status_label.setText(text)
        self.status_label.setStyleSheet(ERROR_STYLE if error else "")
        self.status_label.setVisible(bool(text))

    def _fill_row(self, row: int) -> None:
        result = self._results[row]
        if result is None:
            cells = [QTableWidgetItem(), QTableWidgetItem(self._sources[row][0]),
                     QTableWidgetItem("Reading…"), QTableWidgetItem(""), QTableWidgetItem("")]
            tip = self._sources[row][0]
        else:
            names = self._predictor.class_names if self._predictor is not None else ()
            cells = self._row_cells(result, names)
            tip = (result.message if isinstance(result, ImageFailure)
                   else result.note or result.name)
        for column, item in enumerate(cells):
            item.setToolTip(tip)
            self.table.setItem(row, column, item)

    @staticmethod
    def _row_cells(result: Result, names: Sequence[str]) -> list[QTableWidgetItem]:
        picture = QTableWidgetItem()
        if isinstance(result, ImageFailure):
            return [picture, QTableWidgetItem(result.name),
                    QTableWidgetItem("Cannot read"), QTableWidgetItem(""),
                    QTableWidgetItem("")]
        picture.setIcon(QIcon(QPixmap.fromImage(qimage(result.thumbnail))))
        first, second = (result.ranked(2) + [None])[:2]
        doubt = " (doubtful)" if result.note else ""  # the row's tooltip says why
        return [picture, QTableWidgetItem(result.name),
                QTableWidgetItem(names[first] + doubt),
                QTableWidgetItem(format_probability(float(result.probabilities[first]))),
                QTableWidgetItem("" if second is None else
                                 f"{names[second]} "
                                 f"({format_probability(float(result.probabilities[second]))})")]

    def _show_row(self, row: int) -> None:
        result = self._results[row] if 0 <= row < len(self._results) else None
        if result is None:
            self.view.set_pixels(None)
            self.caption.setText("")
        elif isinstance(result, ImageTrial) and self._recipe is not None:
            self.view.set_pixels(result.seen)
            self.caption.setText(f"{result.name} as the model sees it "
                                 f"({self._recipe.describe()}, each pixel enlarged)")
            self.caption.setStyleSheet("")
        else:
            self.view.set_pixels(None)
            self.caption.setText(result.message)
            self.caption.setStyleSheet(ERROR_STYLE)
        self.trial_selected.emit(result)
