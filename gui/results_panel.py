"""The Results tab: what the model gets right and wrong, per class and per test image.

Filled at every epoch end from the epoch's `Evaluation` (engine/analysis.py), during a run
and after it: the confusion matrix, per-class accuracy, the most confident mistakes, the
least confident right answers (gui/results_galleries.py), one image large with its class
probabilities (gui/image_detail.py), and a training-health sentence. The numpy work per
epoch is a few milliseconds for 10,000 test images and thumbnails are made only when painted
(gui/thumbnails.py); while the tab is hidden an epoch's results are only stored, and drawn
when the tab is shown.

Every epoch's answers are kept (gui/run_samples.py), so an epoch slider shows the tab at any
epoch, each image's story over the epochs (gui/image_story_view.py), and the galleries of
the images learned last, forgotten most and never learned (gui/story_galleries.py). Every
gallery's thumbnails can be marked "mislabelled" or "leave out" (gui/marked_strips.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from engine import analysis
from engine.analysis import Evaluation
from engine.events import EpochEnd, RunStart
from gui.checkpoint_evaluation import EvaluateCheckpoint
from gui.class_charts import ClassAccuracyBars, ConfusionMatrixView
from gui.contrast import make_secondary
from gui.epoch_slider import EpochSlider
from gui.health_note import HealthNoteLabel
from gui.image_detail import ImageDetail
from gui.image_story_view import ImageStoryView
from gui.results_galleries import ResultsGalleries
from gui.run_model import InspectRequest, OpenedRun
from gui.run_samples import RunSamples, settings_of
from gui.thumbnails import THUMBNAIL_PX, ThumbnailCache

if TYPE_CHECKING:
    from engine.config import TrainConfig
    from engine.records.checkpoint import Checkpoint
    from engine.records.sample_history import SampleHistory
    from engine.training.checkpoint_eval import CheckpointEvaluation
    from gui.image_marks import ImageMarks
    from gui.run_model import RunModel
    from gui.training_image import TrainingImage

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
        self._selected: int | None = None  # the test image shown large
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
        self.note = HealthNoteLabel()
        self.summary = QLabel()
        make_secondary(self.summary)

        self.confusion = ConfusionMatrixView()
        self.confusion.cell_clicked.connect(self.select_cell)
        self.per_class = ClassAccuracyBars()
        self.worst_first = QCheckBox("Worst first")
        self.worst_first.setToolTip("Sort the classes by accuracy, worst at the top")
        self.worst_first.toggled.connect(self.per_class.set_worst_first)
        self.strips = ResultsGalleries(self._cache, marks, self.samples.original_index)
        self.strips.image_clicked.connect(self.show_image)
        self.mistakes, self.borderline = self.strips.mistakes, self.strips.borderline
        self.cell_strip = self.strips.cell_strip
        self.learned_last, self.forgotten, self.never_learned = self.strips.stories.strips
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
        self.strips.add_gallery(title, widget)

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
        self.strips.cell = self._selected = None
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
        self.strips.cell = self._selected = None
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
        self.strips.cell = self._selected = None
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
        self.confusion.select((true_class, predicted))
        self.strips.show_cell((true_class, predicted), self._evaluation, self._names)

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

    def show_training_image(self, shown: TrainingImage) -> None:
        """Show one training image large (the least believable gallery's): no story."""
        self._selected = None  # another epoch on screen leaves it there
        self.detail.show_training_image(shown)
        self.story.show_training_image(shown.index)

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
        wrong = self.strips.fill(evaluation, self._story_history(), self._names)
        total = len(evaluation)
        best = analysis.best_epoch(self._history)
        self.summary.setText(
            f"After epoch {evaluation.epoch}: {total - wrong:,} of {total:,} test images "
            f"right ({(total - wrong) / max(total, 1):.1%}), {wrong:,} wrong"
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

    def _show_story(self) -> None:
        history, index = self._story_history(), self._selected
        if index is None:
            self.story.clear()
        elif history is None:
            self.story.show_image_only(self.samples.original_index(index))
        else:
            self.story.show_story(self.samples.history, index, int(history.epochs[-1]),
                                  self.samples.original_index(index))

    def _show_message(self, text: str) -> None:
        self._problem = ""
        self.message.setText(text)
        if self.evaluate_box is not None:
            self.evaluate_box.hide()
        self.pages.setCurrentIndex(0)
        self.detail.clear()
        self.story.clear()
        self.strips.clear(self._names)

    def _show_note(self) -> None:
        self.note.show_health(self._history, len(self._names))

    def note_text(self) -> str:
        """The health sentence on screen ("" when there is none)."""
        return self.note.text_shown()
