"""The Results tab: what the model gets right and wrong, per class and per test image.

Filled at every epoch end from the epoch's `Evaluation` (engine/analysis.py), during a run
and after it: the confusion matrix, per-class accuracy, the most confident mistakes, the
least confident right answers, one image large with its class probabilities, and a
training-health sentence. The numpy work per epoch is a few milliseconds for 10,000 test
images and thumbnails are made only when painted (gui/thumbnails.py); while the tab is
hidden an epoch's results are only stored, and drawn when the tab is shown.

Every epoch's answers are kept (gui/run_samples.py), so an epoch slider shows the tab at any
epoch, each image's story over the epochs (gui/image_story_view.py), and the galleries of
the images learned last, forgotten most and never learned (gui/story_galleries.py). Every
gallery's thumbnails can be marked "mislabelled" or "leave out" (gui/marked_strips.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, QSignalBlocker, Qt
from PySide6.QtGui import QColor, QPalette, QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from engine import analysis
from engine.analysis import Evaluation, HealthNote
from engine.events import EpochEnd, RunStart
from gui.checkpoint_evaluation import EvaluateCheckpoint
from gui.class_charts import BAR_COLOUR, ClassAccuracyBars, ConfusionMatrixView, PixelTexts, elide
from gui.contrast import make_secondary
from gui.epoch_slider import EpochSlider
from gui.image_story_view import ImageStoryView
from gui.marked_strips import MarkedStrip
from gui.run_model import InspectRequest, OpenedRun
from gui.run_samples import RunSamples, settings_of
from gui.story_galleries import StoryGalleries
from gui.thumbnails import ThumbnailCache, to_pixmap

if TYPE_CHECKING:
    from engine.config import TrainConfig
    from engine.records.checkpoint import Checkpoint
    from engine.records.sample_history import SampleHistory
    from engine.training.checkpoint_eval import CheckpointEvaluation
    from gui.image_marks import ImageMarks
    from gui.run_model import RunModel

GALLERY_LIMIT = 200  # thumbnails per strip: more than anyone scrolls through
THUMBNAIL_PX = 56
LARGE_PX = 140
SHOWN_PROBABILITIES = 10
RIGHT_COLOUR, WRONG_COLOUR = "#2e7d32", "#c62828"
NOTE_COLOURS = {  # health kind -> the note's left border
    "diverging": "#c62828", "lr_too_high": "#c62828", "overfitting": "#8a5300",
    "lr_too_low": "#8a5300", "plateaued": "#1565c0", "improving": "#2e7d32",
    "steady": "#6c757d",
}
IDLE_TEXT = ("After each epoch of a run, this tab shows which classes the model confuses, the "
             "test images it gets wrong and how sure it was, and how training is going.\n"
             "Click Train to start.")
NO_EVALUATION_TEXT = ("This checkpoint holds the training curves, not the model's answer for "
                      "each test image. Evaluate it on its test set to see them here, or "
                      "continue training from it (Run > Continue from checkpoint).")


def _card(title: str, body: QWidget, *extra: QWidget) -> QWidget:
    card = QWidget()
    layout = QVBoxLayout(card)
    layout.setContentsMargins(2, 2, 2, 2)
    layout.setSpacing(2)
    head = QHBoxLayout()
    label = QLabel(f"<b>{title}</b>")
    label.setWordWrap(True)  # two lines in a narrow window, rather than a wider tab
    head.addWidget(label, 1)
    for widget in extra:
        head.addWidget(widget)
    layout.addLayout(head)
    layout.addWidget(body, 1)
    return card


class ImageDetail(QWidget):
    """One test image large, with its most probable classes as bars."""

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


class ResultsPanel(QWidget):
    """The Results tab; `follow(run)` keeps it on the run on screen (gui/run_model.py).
    Given the window's `marks`, its thumbnails can be marked."""

    def __init__(self, marks: ImageMarks | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._run: RunModel | None = None
        self._settings: Callable[[], TrainConfig] | None = None
        self._problem = ""  # what could not be read of the run folder shown
        self._marks = marks
        self._names: list[str] = []
        self._history: list[dict] = []
        self._evaluation: Evaluation | None = None
        self._drawn: Evaluation | None = None  # what the charts show (None: stale or empty)
        self._cell: tuple[int, int] | None = None
        self._selected: int | None = None  # the test image shown large
        self._mistake_count = 0
        self._note_kind = ""
        self._cache = ThumbnailCache(THUMBNAIL_PX)
        self.samples = RunSamples(self)  # every epoch's answers: the slider's epochs
        self.samples.changed.connect(self._on_samples)
        self.samples.problem.connect(self._say_problem)
        self.epoch_slider = EpochSlider()
        self.epoch_slider.epochChanged.connect(self.show_epoch)

        self.message = QLabel(IDLE_TEXT)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        make_secondary(self.message)
        self.evaluate_box: EvaluateCheckpoint | None = None  # given the settings (follow)
        self._intro = QVBoxLayout()  # the message, and the offer to evaluate a checkpoint
        self._intro.addStretch(1)
        self._intro.addWidget(self.message)
        self._intro.addStretch(1)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.summary = QLabel()
        make_secondary(self.summary)

        self.confusion = ConfusionMatrixView()
        self.confusion.cell_clicked.connect(self.select_cell)
        self.per_class = ClassAccuracyBars()
        self.worst_first = QCheckBox("Worst first")
        self.worst_first.setToolTip("Sort the classes by accuracy, worst at the top")
        self.worst_first.toggled.connect(self.per_class.set_worst_first)
        def strip(empty_text: str) -> MarkedStrip:
            made = MarkedStrip(self._cache, empty_text, marks, "test",
                               self.samples.original_index)
            made.image_clicked.connect(self.show_image)
            return made

        self.mistakes = strip("No mistakes: every test image is right.")
        self.borderline = strip("No right answers yet.")
        self.cell_strip = strip("Click a cell of the confusion matrix to list its test images "
                                "here.")
        self.stories = StoryGalleries(self._cache, marks, self.samples.original_index)
        self.story_strips = self.stories.strips
        self.learned_last, self.forgotten, self.never_learned = self.story_strips
        for gallery in self.story_strips:
            gallery.image_clicked.connect(self.show_image)
        self.strips = QTabWidget()
        self.strips.setDocumentMode(True)
        for gallery in (self.mistakes, self.borderline, self.cell_strip, *self.story_strips):
            self.strips.addTab(gallery, "")
        self.detail = ImageDetail()
        self.story = ImageStoryView(marks)

        charts = QSplitter(Qt.Orientation.Horizontal)
        charts.addWidget(_card("Confusion matrix: rows are the true classes, columns the "
                               "predicted ones", self.confusion))
        charts.addWidget(_card("Accuracy per class", self.per_class, self.worst_first))
        charts.setSizes([600, 400])
        self.detail.add_story(self.story.plot, self.story.text, self.story)
        images = QSplitter(Qt.Orientation.Horizontal)
        images.addWidget(self.strips)
        images.addWidget(self.detail)
        images.setSizes([600, 400])
        parts = QSplitter(Qt.Orientation.Vertical)
        parts.addWidget(charts)
        parts.addWidget(images)
        parts.setSizes([600, 400])
        content = QWidget()
        content_layout = QVBoxLayout(content)
        content_layout.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()  # one line: the charts keep their height
        top.addWidget(self.summary)
        top.addWidget(self.epoch_slider, 1)
        self.epoch_slider.setMaximumHeight(self.summary.sizeHint().height())
        content_layout.addLayout(top)
        content_layout.addWidget(parts, 1)
        self.pages = QStackedWidget()
        intro = QWidget()
        intro.setLayout(self._intro)
        self.pages.addWidget(intro)
        self.pages.addWidget(content)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.note)
        layout.addWidget(self.pages, 1)
        self._update_strip_titles()
        self._show_note()

    # -- following a run ------------------------------------------------------------------

    @classmethod
    def following(cls, run: RunModel, settings: Callable[[], TrainConfig] | None = None,
                  marks: ImageMarks | None = None) -> ResultsPanel:
        panel = cls(marks)
        panel.follow(run, settings)
        return panel

    def add_gallery(self, title: str, widget: QWidget) -> None:
        """Another gallery beside the test images' (e.g. the least believable training
        images), as a tab of its own."""
        self.strips.addTab(widget, title)

    def follow(self, run: RunModel, settings: Callable[[], TrainConfig] | None = None) -> None:
        """Show the run on screen; given the settings form's `settings` (its data folder and
        device), an opened checkpoint can be evaluated here (gui/checkpoint_evaluation.py)."""
        self._run, self._settings = run, settings
        if self._marks is not None:  # the marks belong to the run on screen
            run.run_beginning.connect(lambda continuing: continuing or self._marks.clear())
            run.checkpoint_opened.connect(lambda _checkpoint, _path: self._marks.clear())
        run.run_started.connect(self.start_run)
        run.run_opened.connect(self._on_run_opened)
        run.epoch_ended.connect(self.add_epoch)
        run.history_replaced.connect(self.show_history)
        run.model_changed.connect(self._on_model_changed)
        run.checkpoint_opened.connect(lambda _checkpoint, _path: self._offer_evaluation())
        run.checkpoint_evaluated.connect(self.show_evaluation)
        if settings is not None:
            self.evaluate_box = EvaluateCheckpoint(run, settings)
            self.evaluate_box.hide()
            self._intro.insertWidget(2, self.evaluate_box)

    def start_run(self, start: RunStart) -> None:
        self._set_classes(start.class_names)
        self._cache.set_images(start.test_images)
        self.samples.start_run(start)
        self._history = list(start.history)
        self._evaluation = None
        self._cell = self._selected = None
        self.confusion.select(None)
        self._drawn = None
        self._show_message(f"Results appear here when epoch {start.start_epoch + 1} ends.")
        self._show_note()

    def add_epoch(self, epoch: EpochEnd) -> None:
        self._history = [r for r in self._history if r["epoch"] != epoch.epoch]
        self._history.append(epoch.as_record())
        self._show_note()
        self.samples.add_epoch(epoch)  # shown through _on_samples, at the slider's epoch

    def show_history(self, history: list[dict]) -> None:
        """A new run began ([]) or a checkpoint was opened (its history, no evaluation)."""
        self._history = list(history)
        self._evaluation = self._drawn = None
        self._cell = self._selected = None
        self.confusion.select(None)
        self._cache.set_images(None)
        self.samples.clear()
        self._show_message(NO_EVALUATION_TEXT if history else IDLE_TEXT)
        self._show_note()

    def _offer_evaluation(self) -> None:
        """An opened checkpoint: say what it lacks, and offer to evaluate it."""
        self._show_message(NO_EVALUATION_TEXT)
        if self.evaluate_box is not None:
            self.evaluate_box.reset()
            self.evaluate_box.show()

    def show_evaluation(self, result: CheckpointEvaluation) -> None:
        """The opened checkpoint's answers for its test set: shown as an epoch's end is."""
        self._set_classes(result.start.class_names)
        self._cache.set_images(result.start.test_images)
        self._evaluation = result.evaluation
        self._drawn = None
        self._cell = self._selected = None
        self._show_note()
        if self.isVisible():
            self._draw()

    def _on_run_opened(self, opened: OpenedRun) -> None:
        """A run folder's checkpoint: its every epoch's answers, read in the background."""
        checkpoint = self._run.checkpoint if self._run is not None else None
        if opened.folder is not None and checkpoint is not None:
            self.samples.show_folder(opened.folder,
                                     settings_of(checkpoint.config, self._settings))

    def _on_samples(self) -> None:
        """The history changed (an epoch ended, a run folder's was read): the slider's
        epochs, and the tab at the slider's epoch."""
        if self.samples.images is not None:
            self._cache.set_images(self.samples.images)
        with QSignalBlocker(self.epoch_slider):
            self.epoch_slider.set_epochs(self.samples.epochs())
        self.show_epoch(self.epoch_slider.epoch())

    def show_epoch(self, epoch: int | None) -> None:
        """Show the tab as it was at the end of `epoch` (one the slider offers)."""
        evaluation = self.samples.evaluation_at(epoch) if epoch is not None else None
        if evaluation is None:
            return
        self._evaluation = evaluation
        if self.isVisible():
            self._draw()

    def _say_problem(self, text: str) -> None:
        """A run folder's history or test images could not be read: said where it shows."""
        self._problem = text
        if self.pages.currentIndex() == 0:
            self.message.setText(f"{self.message.text()}\n\n{text}")
        else:
            self.summary.setText(f"{self.summary.text()} {text}")

    def _on_model_changed(self, checkpoint: Checkpoint) -> None:
        if self._evaluation is None and checkpoint is not None:
            self._set_classes(checkpoint.class_names)  # the note needs the class count
            self._show_note()

    # -- what a person does -------------------------------------------------------------

    def select_cell(self, true_class: int, predicted: int) -> None:
        """List the test images of one confusion-matrix cell (most confident first)."""
        self._cell = (true_class, predicted)
        self.confusion.select(self._cell)
        self._fill_cell_strip()
        self.strips.setCurrentWidget(self.cell_strip)

    def show_image(self, index: int) -> None:
        """Show one test image large, and ask the Inside tab to look into it."""
        evaluation, images = self._evaluation, self._cache.images
        if evaluation is None or images is None:
            return
        self._selected = index
        self.detail.show_image(images[index], index, evaluation, self._names)
        self._show_story()
        if self._run is not None:
            self._run.inspect_requested.emit(InspectRequest(
                image=images[index], label=int(evaluation.labels[index]),
                caption=f"Test image {index + 1:,}"))

    # -- drawing ----------------------------------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        if self._evaluation is not None and self._drawn is not self._evaluation:
            self._draw()

    def _set_classes(self, names: tuple[str, ...] | list[str]) -> None:
        if list(names) != self._names:
            self._names = list(names)
            self.confusion.set_classes(self._names)
            self.per_class.set_classes(self._names)

    def _draw(self) -> None:
        evaluation = self._evaluation
        self._drawn = evaluation
        counts = analysis.confusion_matrix(evaluation.labels, evaluation.predicted,
                                           evaluation.num_classes)
        self.confusion.set_counts(counts)
        self.per_class.set_accuracy(analysis.per_class_accuracy(counts))
        wrong = analysis.most_confident_mistakes(evaluation)
        right = analysis.least_confident_right(evaluation, GALLERY_LIMIT)
        self.mistakes.show_images(wrong[:GALLERY_LIMIT], self._describe)
        self.borderline.show_images(right, self._describe)
        self._fill_cell_strip()
        self._fill_story_strips()
        self._update_strip_titles(len(wrong))
        total = len(evaluation)
        best = analysis.best_epoch(self._history)
        self.summary.setText(
            f"After epoch {evaluation.epoch}: {total - len(wrong):,} of {total:,} test images "
            f"right ({(total - len(wrong)) / max(total, 1):.1%}), {len(wrong):,} wrong"
            + (f"; best epoch so far: {best}" if best is not None else "") + "."
            + (f" {self._problem}" if self._problem else ""))
        if self._selected is not None:  # the same image, with this epoch's probabilities
            self.detail.show_image(self._cache.images[self._selected], self._selected,
                                   evaluation, self._names)
            self._show_story()
        self.pages.setCurrentIndex(1)

    def _story_history(self) -> SampleHistory | None:
        """The history up to the epoch on screen (None: no history of it)."""
        history, evaluation = self.samples.history, self._evaluation
        if history is None or evaluation is None or evaluation.epoch not in history.epochs \
                or len(history.labels) != len(evaluation):
            return None
        return history.up_to(evaluation.epoch)

    def _fill_story_strips(self) -> None:
        self.stories.fill(self._story_history(), self._evaluation, self._names)
        self._update_strip_titles()

    def _show_story(self) -> None:
        history, index = self._story_history(), self._selected
        if index is None:
            self.story.clear()
        elif history is None:
            self.story.show_image_only(self.samples.original_index(index))
        else:
            self.story.show_story(self.samples.history, index, int(history.epochs[-1]),
                                  self.samples.original_index(index))

    def _fill_cell_strip(self) -> None:
        if self._cell is None or self._evaluation is None:
            self.cell_strip.show_images(np.empty(0, dtype=np.int64), self._describe)
        else:
            images = analysis.cell_images(self._evaluation, *self._cell)
            self.cell_strip.show_images(images[:GALLERY_LIMIT], self._describe)
        self._update_strip_titles()

    def _update_strip_titles(self, mistakes: int | None = None) -> None:
        if mistakes is not None:
            self._mistake_count = mistakes
        self.strips.setTabText(0, f"Confident mistakes ({self._mistake_count:,})")
        self.strips.setTabText(1, "Least confident right")
        if self._cell is None:
            self.strips.setTabText(2, "Cell")
        else:
            t, p = self._cell
            self.strips.setTabText(2, f"{elide(self._names[t], 12)} → "
                                      f"{elide(self._names[p], 12)} "
                                      f"({self.cell_strip.strip_model.rowCount():,})")
        for tab, (title, tip) in enumerate(self.stories.titles(), start=3):
            self.strips.setTabText(tab, title)
            self.strips.setTabToolTip(tab, tip)
        self.strips.setTabToolTip(0, "Wrongly classified test images, the most confidently "
                                     "wrong first")
        self.strips.setTabToolTip(1, "Rightly classified test images the model was least "
                                     "sure of (the borderline ones)")
        self.strips.setTabToolTip(2, "The test images of the confusion-matrix cell clicked: "
                                     "true class → predicted class")

    def _describe(self, index: int) -> tuple[str, str]:
        evaluation = self._evaluation
        true_class, predicted = int(evaluation.labels[index]), int(evaluation.predicted[index])
        confidence = float(evaluation.confidence[index])
        names = self._names
        caption = f"{elide(names[true_class], 12)}\n"
        if true_class != predicted:
            caption += f"→ {elide(names[predicted], 10)}\n"
        caption += f"{confidence:.0%}"
        tooltip = (f"Test image {index + 1:,}: true {names[true_class]}, predicted "
                   f"{names[predicted]} at {confidence:.1%}")
        return caption, tooltip

    def _show_message(self, text: str) -> None:
        self._problem = ""
        self.message.setText(text)
        if self.evaluate_box is not None:
            self.evaluate_box.hide()
        self.pages.setCurrentIndex(0)
        self.detail.clear()
        self.story.clear()
        for strip in (self.mistakes, self.borderline, self.cell_strip):
            strip.show_images(np.empty(0, dtype=np.int64), self._describe)
        self.stories.fill(None, None, self._names)
        self._update_strip_titles(0)

    def _show_note(self) -> None:
        note = (analysis.training_health(self._history, len(self._names))
                if self._history and self._names else None)
        self.note.setVisible(note is not None)
        if note is not None:
            self._paint_note(note)

    def _paint_note(self, note: HealthNote) -> None:
        if note.kind != self._note_kind:  # a style sheet is costly to apply: only on change
            self._note_kind = note.kind
            colour = QColor(NOTE_COLOURS.get(note.kind, "#6c757d"))
            self.note.setStyleSheet(f"QLabel {{ border-left: 4px solid {colour.name()}; "
                                    "padding: 4px 8px; }")
        self.note.setText(note.sentence)

    def note_text(self) -> str:
        """The health sentence on screen ("" when there is none)."""
        return "" if self.note.isHidden() else self.note.text()
