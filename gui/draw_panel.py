"""The "Draw" tab: draw a digit and watch the model's prediction change as you draw."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSignalBlocker, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QDragEnterEvent,
    QDropEvent,
    QFont,
    QFontMetrics,
    QImage,
    QKeySequence,
    QPixmap,
    QResizeEvent,
    QShortcut,
)
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from engine.inference.image_input import IMAGE_SUFFIXES, READABLE, InputRecipe
from engine.inference.image_trial import ImageFailure, ImageTrial
from engine.inference.predict import (
    FIELD_SIZE,
    DigitDoubt,
    Predictor,
    doubt_about_digit,
    drawing_span,
    preprocess_image,
    render_strokes,
)
from engine.records.checkpoint import Checkpoint, CheckpointError, load_checkpoint
from engine.resources import RESOURCES_DIR
from gui.draw_canvas import DrawCanvas
from gui.draw_models import ModelChoice, ModelChoices, choice_for
from gui.image_trials import MAX_IMAGES, ImageTrialsPage, Sources, sources_from_mime
from gui.probability_text import format_probability

BUNDLED_MODEL = RESOURCES_DIR / "pretrained" / "digits-lenet5.pt"
# At most one prediction per this many milliseconds while drawing: live, yet a fast mouse
# does not queue up more work than the eye can follow.
PREDICT_INTERVAL_MS = 60
PREVIEW_SCALE = 4  # the 28x28 model input shown at 112x112
INPUT_TIP = ("The drawing as the model gets it: cropped, scaled to fit 20x20 and centred by "
             "its centre of mass in 28x28, as in MNIST")
BAR_COLOUR = (110, 140, 190)
TOP_BAR_COLOUR = (40, 170, 90)
DOUBTED_BAR_COLOUR = (200, 200, 200)  # no class stands out when the drawing is no digit
# Text colours with at least 4.5:1 contrast on a white or light grey window (WCAG AA).
NOTE_STYLE = "color: #8a5300;"
ERROR_STYLE = "color: #b03020;"
NEWS_STYLE = "color: #1f4e8c;"
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


class _ProbabilityChart(pg.PlotWidget):
    """One horizontal bar per class (names down the left), the winning class in green.

    With more classes than rows fit the chart's height (EMNIST's 26 letters, CIFAR-100's 100),
    the 10 most probable are shown, most probable first, and one grey bar holds what the
    other classes share.
    """

    MAX_ROWS = 12  # one row per class up to here: each a line of text high, even at 220 px
    TOP_ROWS = 10

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
        rows = self._rows()
        left.setTicks([list(enumerate(names))] if rows == len(names) else [[]])
        # Sized to the longest name: pyqtgraph would drop labels wider than the axis.
        metrics = QFontMetrics(left.style["tickFont"] or self.font())
        widest = [*names, self._others_name()] if rows < len(names) else names
        left.setWidth(max((metrics.horizontalAdvance(n) for n in widest), default=0) + 16)
        item.setYRange(-0.5, max(rows, 1) - 0.5, padding=0.02)
        for label in self._labels:
            self.removeItem(label)
        self._labels = [pg.TextItem("", color="k", anchor=(0, 0.5)) for _ in range(rows)]
        for label in self._labels:
            self.addItem(label)
        self.show_probabilities(None)

    def _rows(self) -> int:
        """Rows drawn: one per class, or the top classes and one for all the others."""
        many = len(self._names) > self.MAX_ROWS
        return self.TOP_ROWS + 1 if many else len(self._names)

    def _others_name(self) -> str:
        return f"{len(self._names) - self.TOP_ROWS} others"

    def show_probabilities(self, probabilities: np.ndarray | None, greyed: bool = False) -> None:
        """One bar per class; `greyed`: all in grey, no winner (the drawing is no digit)."""
        if probabilities is None:
            self._bars.setOpts(x0=[], y=[], width=[], brushes=[])
            for label in self._labels:
                label.setText("")
            if self._rows() < len(self._names):
                self.getPlotItem().getAxis("left").setTicks([[]])
            return
        best = int(np.argmax(probabilities))
        colours = [DOUBTED_BAR_COLOUR if greyed else TOP_BAR_COLOUR if i == best
                   else BAR_COLOUR for i in range(len(probabilities))]
        if self._rows() < len(probabilities):
            top = np.argsort(-probabilities, kind="stable")[:self.TOP_ROWS]
            rest = float(probabilities.sum() - probabilities[top].sum())
            self.getPlotItem().getAxis("left").setTicks([
                [(row, self._names[i]) for row, i in enumerate(top)]
                + [(self.TOP_ROWS, self._others_name())]])
            colours = [colours[i] for i in top] + [DOUBTED_BAR_COLOUR]
            probabilities = np.append(probabilities[top], max(rest, 0.0))
        brushes = [pg.mkBrush(colour) for colour in colours]
        self._bars.setOpts(x0=np.zeros(len(probabilities)), y=np.arange(len(probabilities)),
                           width=probabilities, brushes=brushes, pens=[None] * len(brushes))
        for i, (label, p) in enumerate(zip(self._labels, probabilities, strict=True)):
            label.setText(format_probability(p) if p >= 0.01 else "")
            label.setColor("#444444" if greyed else "k")
            # Inside the bar's end when it is long, just after it otherwise.
            label.setAnchor((1, 0.5) if p > 0.8 else (0, 0.5))
            label.setPos(p - 0.01 if p > 0.8 else p + 0.01, i)


class DrawPanel(QWidget):
    """Canvas on the left; the model picker, the prediction, its input and all class odds on
    the right.

    The main window hands it each digit model a run trains (`add_trained_model`) and each
    checkpoint opened (`add_opened_model`); the picker lists them with the bundled demo
    model. `news` carries a one-line message for the log when a new model is listed.

    Images opened, pasted (Ctrl+V) or dropped replace the canvas with the images page
    (`gui.image_trials`), each read with the model's own preprocessing; the answer and bars
    then follow the image in view, until "Back to drawing". `prediction_made` and
    `input_changed` always speak of the drawing (the Inside tab follows it).
    """

    prediction_made = Signal(object)  # np.ndarray of probabilities, or None for no drawing
    # The drawing as the model sees it (28x28 float, 0..1), or None for an empty canvas:
    # after every prediction, and when the model in use changes (the Inside tab follows).
    input_changed = Signal(object)
    news = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._choices = ModelChoices()
        self._predictors: list[Predictor] = []  # one per entry of self._choices
        self._recipes: list[InputRecipe] = []  # how each model reads an image file
        self._predictor: Predictor | None = None
        self._probabilities: np.ndarray | None = None
        self._doubt: DigitDoubt | None = None
        self._input: np.ndarray | None = None  # the drawing as the model sees it
        self._predictions_made = 0

        self.canvas = DrawCanvas(hint="Draw a digit here\nor drop an image")
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Wipe the canvas (Delete)")
        self.undo_button = QPushButton("Undo")
        self.undo_button.setToolTip("Remove the last stroke (Ctrl+Z)")
        self.open_images_button = QPushButton("Open images…")
        self.open_images_button.setToolTip(
            f"Try the model on your own images ({OPEN_IMAGES_KEYS}); you can also paste one "
            "(Ctrl+V) or drop files onto this tab.")
        self.images = ImageTrialsPage()
        self.images.open_button.setToolTip(self.open_images_button.toolTip())
        self.pages = QStackedWidget()  # the canvas, or the images tried
        self.model_picker = QComboBox()
        self.model_picker.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.model_picker.setMinimumContentsLength(16)  # long names are elided, not widened
        self.model_picker.setSizePolicy(QSizePolicy.Policy.Expanding,
                                        QSizePolicy.Policy.Fixed)
        self.model_picker.setToolTip("The model that reads your drawing: the bundled demo, "
                                     "models trained since TrainDesk started, and opened "
                                     "checkpoints, with their test accuracy.")
        self.news_label = QLabel()
        self.news_label.setWordWrap(True)
        self.news_label.setStyleSheet(NEWS_STYLE)
        self.news_label.hide()
        self.answer_label = QLabel()
        self.answer_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.answer_label.setMinimumWidth(170)
        self.confidence_label = QLabel()
        self.confidence_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.confidence_label.setMaximumWidth(260)
        self.input_view = QLabel()
        self.input_view.setFixedSize(28 * PREVIEW_SCALE, 28 * PREVIEW_SCALE)
        self.input_view.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.input_view.setToolTip(f"{INPUT_TIP}.")
        self.chart = _ProbabilityChart()
        self.model_label = QLabel()  # what is wrong with the model, when something is
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
        self.canvas.stroke_ended.connect(self.predict_if_pending)
        self.clear_button.clicked.connect(self.canvas.clear)
        self.undo_button.clicked.connect(self.canvas.undo)
        self.open_images_button.clicked.connect(self.open_images)
        self.images.open_button.clicked.connect(self.open_images)
        self.images.trial_selected.connect(self._show_trial)
        self.images.back_requested.connect(self.show_canvas)
        # Only while the tab is shown (a hidden widget's shortcuts are off); a text field
        # with the focus keeps Ctrl+V for itself.
        QShortcut(QKeySequence(OPEN_IMAGES_KEYS), self, self.open_images)
        QShortcut(QKeySequence(QKeySequence.StandardKey.Paste), self, self.paste_image)
        self.setAcceptDrops(True)
        self.model_picker.currentIndexChanged.connect(self._use_choice)
        self._set_predictor(None, False)
        self._show_model_problem("No model yet: train one, or open a checkpoint.", error=False)

    def _layout(self) -> None:
        buttons = QHBoxLayout()
        buttons.addWidget(self.clear_button)
        buttons.addWidget(self.undo_button)
        buttons.addStretch(1)
        buttons.addWidget(self.open_images_button)
        drawing = QWidget()
        left = QVBoxLayout(drawing)
        left.setContentsMargins(0, 0, 0, 0)
        left.addWidget(_SquareHolder(self.canvas), 1)
        left.addLayout(buttons)
        self.pages.addWidget(drawing)
        self.pages.addWidget(self.images)

        picker = QHBoxLayout()
        picker_caption = QLabel("&Model:")
        picker_caption.setBuddy(self.model_picker)
        picker.addWidget(picker_caption)
        picker.addWidget(self.model_picker, 1)
        input_caption = QLabel("What the model sees (28×28)")
        input_caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        input_caption.setWordWrap(True)  # narrow windows: two lines, not a wider tab
        self._input_caption = input_caption
        answer = QGridLayout()
        answer.addWidget(self.answer_label, 0, 0)
        answer.addWidget(self.confidence_label, 1, 0)
        answer.addWidget(self.input_view, 0, 1, Qt.AlignmentFlag.AlignCenter)
        answer.addWidget(input_caption, 1, 1)
        answer.setColumnStretch(0, 1)
        right = QVBoxLayout()
        right.addWidget(self.model_label)
        right.addLayout(answer)
        right.addWidget(self.chart, 1)
        right.addWidget(self.note_label)

        columns = QHBoxLayout()
        columns.addWidget(self.pages, 3)
        columns.addLayout(right, 2)
        # The picker spans the tab: a model's whole name and accuracy fit on one line.
        whole = QVBoxLayout(self)
        whole.addLayout(picker)
        whole.addWidget(self.news_label)
        whole.addLayout(columns, 1)

    # -- public API --------------------------------------------------------------------

    def load_bundled_model(self) -> bool:
        """List the demo model shipped with the app and use it if nothing else is in use;
        if it cannot be read, say why in the panel."""
        try:
            ckpt = load_checkpoint(BUNDLED_MODEL)
        except CheckpointError as error:
            self._show_model_problem(f"The bundled digit model could not be loaded: {error}")
            return False
        index = self._list(ckpt, choice_for(ckpt, "bundled", "Demo model"))
        if index is None:
            return False
        if self._choices.current is None:
            self._select(index)
        return True

    def add_trained_model(self, ckpt: Checkpoint) -> bool:
        """List a digit model just trained; use it if it scored at least as well as the one
        in use, and say in one line (in the panel and through `news`) what happened."""
        choice = choice_for(ckpt, "trained", f"Trained {time.strftime('%H:%M')}")
        index = self._list(ckpt, choice)
        if index is None:
            return False
        in_use = self._choices.in_use()
        if in_use is None or self._choices.deserves_switch(index):
            self._select(index)
            self._announce(f"New model in the Draw tab's list, now in use: {choice.title} — "
                           f"{choice.accuracy_text}.")
        else:
            compared = None not in (choice.test_accuracy, in_use.test_accuracy)
            why = ", which scored higher." if compared else "; choose the new one to use it."
            self._announce(f"New model in the Draw tab's list: {choice.title} — "
                           f"{choice.accuracy_text}. Still reading with {in_use.source} "
                           f"({in_use.accuracy_text}){why}")
        return True

    def add_opened_model(self, ckpt: Checkpoint, path: str | Path) -> bool:
        """List an opened checkpoint and use it (a model for other images too, with a note
        that the canvas is meant for digits); if it cannot predict, say why."""
        index = self._list(ckpt, choice_for(ckpt, "opened", Path(path).name, str(path)))
        if index is None:
            return False
        self._select(index)
        return True

    def choices(self) -> ModelChoices:
        return self._choices

    # -- your own images ---------------------------------------------------------------

    def open_images(self) -> None:
        """Ask for image files and try the model on them."""
        paths, _ = QFileDialog.getOpenFileNames(self, "Open images to try the model on", "",
                                                IMAGE_FILTER)
        if paths:
            self.try_images([(Path(p).name, Path(p)) for p in paths[:MAX_IMAGES]],
                            max(0, len(paths) - MAX_IMAGES))

    def paste_image(self) -> None:
        """Try the model on the clipboard's image (a picture, or copied image files)."""
        sources, left_out = sources_from_mime(QApplication.clipboard().mimeData())
        if sources:
            self.try_images(sources, left_out)
        else:
            self._announce(f"The clipboard holds no image: copy a picture or a {READABLE} "
                           "file, then paste it here (Ctrl+V).")

    def try_images(self, sources: Sources, left_out: int = 0) -> None:
        """Show the images page and predict these images with the model in use."""
        self.pages.setCurrentWidget(self.images)
        self.input_view.hide()
        self._input_caption.hide()
        self.images.try_sources(sources, left_out)

    def showing_images(self) -> bool:
        return self.pages.currentWidget() is self.images

    def show_canvas(self) -> None:
        """Back to drawing: the canvas, and the answer for the drawing on it."""
        self.pages.setCurrentIndex(0)
        self.input_view.show()
        self._input_caption.show()
        self.chart.set_classes(self._predictor.class_names if self._predictor else ())
        self._predict_now()

    def shown_probabilities(self) -> np.ndarray | None:
        """The probabilities the bars show now: the drawing's, or the image's in view."""
        if not self.showing_images():
            return self.probabilities()
        result = self.images.current()
        return result.probabilities.copy() if isinstance(result, ImageTrial) else None

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt's name
        mime = event.mimeData()
        if mime.hasUrls() or mime.hasImage():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt's name
        sources, left_out = sources_from_mime(event.mimeData())
        if sources:
            event.acceptProposedAction()
            self.try_images(sources, left_out)

    def predictor(self) -> Predictor | None:
        return self._predictor

    def doubt(self) -> DigitDoubt | None:
        """Why the drawing does not look like a digit, or None."""
        return self._doubt

    def predicted_class(self) -> str | None:
        """The class read from the drawing; None without a drawing, or when it is doubted."""
        if self._probabilities is None or self._predictor is None or self._doubt is not None:
            return None
        return self._predictor.class_names[int(np.argmax(self._probabilities))]

    def current_input(self) -> np.ndarray | None:
        """The drawing as the model sees it (28x28, 0..1), None for an empty canvas."""
        return None if self._input is None else self._input.copy()

    def probabilities(self) -> np.ndarray | None:
        return None if self._probabilities is None else self._probabilities.copy()

    def prediction_pending(self) -> bool:
        """Whether the drawing changed since the last prediction (one is scheduled)."""
        return self._timer.isActive()

    def predict_if_pending(self) -> None:
        """Predict now if the drawing changed since the last prediction: when a stroke
        ends, its answer (and the Inside tab's maps) should not wait for the throttle."""
        if self._timer.isActive():
            self._predict_now()

    def predictions_made(self) -> int:
        """How many times prediction_made was emitted (the throttle keeps this low)."""
        return self._predictions_made

    # -- models ------------------------------------------------------------------------

    def _list(self, ckpt: Checkpoint, choice: ModelChoice) -> int | None:
        """Add a model to the picker (not yet in use); None, and why in the panel, if it
        cannot read a drawing."""
        try:
            # Only the weights are needed to predict: the optimizer's state is left behind.
            predictor = Predictor.from_checkpoint(dataclasses.replace(
                ckpt, optimizer_state=None, scheduler_state=None, scaler_state=None))
            recipe = InputRecipe.from_checkpoint(ckpt)
        except (CheckpointError, ValueError) as error:
            reason = f"{choice.source}: this model cannot predict from the canvas: {error}"
            if self._predictor is None:
                self._show_model_problem(reason)
            else:  # keep the model in use, and say why the new one was not taken
                self._set_note(f"{reason} The model chosen above is still in use.")
            return None
        index = self._choices.add(choice)
        # Listing is not choosing: a combo box makes its first item current by itself.
        with QSignalBlocker(self.model_picker):
            if index == len(self._predictors):
                self._predictors.append(predictor)
                self._recipes.append(recipe)
                self.model_picker.addItem(choice.label)
            else:  # a file opened again
                self._predictors[index] = predictor
                self._recipes[index] = recipe
                self.model_picker.setItemText(index, choice.label)
            self.model_picker.setItemData(index, choice.label, Qt.ItemDataRole.ToolTipRole)
            self.model_picker.setCurrentIndex(-1 if self._choices.current is None
                                              else self._choices.current)
        return index

    def _select(self, index: int) -> None:
        """Use the model at `index`, as if it had been chosen in the picker."""
        with QSignalBlocker(self.model_picker):
            self.model_picker.setCurrentIndex(index)
        self._use_choice(index)

    def _use_choice(self, index: int) -> None:
        if index < 0:
            return
        self._choices.select(index)
        choice = self._choices[index]
        self.news_label.hide()  # what it said about the choice before is out of date
        self.model_picker.setToolTip(choice.label)
        self._show_model_problem("", error=False)
        self._set_predictor(self._predictors[index], choice.is_digits)
        self.images.set_model(self._predictors[index], self._recipes[index])

    def _set_predictor(self, predictor: Predictor | None, is_digits: bool) -> None:
        self._predictor = predictor
        names = predictor.class_names if predictor is not None else ()
        self.chart.set_classes(names)
        if predictor is not None and not is_digits:
            shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
            self._set_note(f"This model was not trained on digits: it answers with its own "
                           f"classes ({shown}), but the canvas is meant for digits. Try it "
                           "on images of its classes: Open images…, paste one, or drop "
                           "files here.")
        else:
            self._set_note("")
        self._predict_now()

    def _show_model_problem(self, message: str, error: bool = True) -> None:
        self.model_label.setText(message)
        self.model_label.setStyleSheet(ERROR_STYLE if error else "")
        self.model_label.setVisible(bool(message))
        if error and self._predictor is None:
            self._show_answer(None)

    def _set_note(self, text: str) -> None:
        self.note_label.setText(text)
        self.note_label.setVisible(bool(text))

    def _announce(self, message: str) -> None:
        self.news_label.setText(message)
        self.news_label.show()
        self.news.emit(message)

    # -- prediction --------------------------------------------------------------------

    def _schedule_prediction(self) -> None:
        # Not restarted while running: a steady stream of changes still gets a prediction
        # every interval, and the last change is always followed by one.
        if not self._timer.isActive():
            self._timer.start()

    def _predict_now(self) -> None:
        self._timer.stop()
        self._probabilities = None
        self._doubt = None
        error = None
        strokes, widths = self.canvas.strokes(), self.canvas.widths()
        try:
            image = render_strokes(strokes, widths, canvas_size=(1.0, 1.0))
            digit = None if image is None else preprocess_image(image)
        except ValueError as failure:  # strokes the canvas should never hold
            digit, error = None, f"the drawing cannot be read: {failure}"
        self._show_input(digit)
        self._input = digit
        if self._predictor is not None and digit is not None:
            try:
                self._probabilities = self._predictor.predict(digit)
            except (ValueError, RuntimeError) as failure:  # a model that does not fit
                error = str(failure)
            if self._model_reads_digits():
                self._doubt = doubt_about_digit(digit, drawing_span(strokes, (1.0, 1.0)))
        if not self.showing_images():  # the drawing's answer waits behind the images
            self._show_answer(error)
            self.chart.show_probabilities(self._probabilities, greyed=self._doubt is not None)
        if self._predictor is not None and error is None:
            self._predictions_made += 1
            self.prediction_made.emit(self.probabilities())
        self.input_changed.emit(digit)

    def _show_trial(self, result: ImageTrial | ImageFailure | None) -> None:
        """The answer and bars for the image in view on the images page."""
        if not self.showing_images():
            return
        self.confidence_label.setWordWrap(True)
        self.confidence_label.setStyleSheet("")
        if result is None:
            self._set_answer("Reading…" if self.images.busy() else "", 20, "")
            self.chart.show_probabilities(None)
        elif isinstance(result, ImageFailure):
            self._set_answer("?", 40, result.message)
            self.confidence_label.setStyleSheet(ERROR_STYLE)
            self.chart.show_probabilities(None)
        elif self._predictor is not None:
            best = result.ranked(1)[0]
            name = self._predictor.class_names[best]
            confidence = f"{format_probability(float(result.probabilities[best]))} confident"
            self._set_answer(name, 72 if len(name) <= 3 else 30,
                             f"{confidence}. {result.note}" if result.note else confidence)
            self.chart.show_probabilities(result.probabilities, greyed=bool(result.note))

    def _model_reads_digits(self) -> bool:
        """Whether the model in use reads digits, so that a drawing can be judged as one."""
        in_use = self._choices.in_use()
        return in_use is not None and in_use.is_digits

    def _show_input(self, digit: np.ndarray | None) -> None:
        """The drawing as the model in use gets it: resized to its input size (a 32x32
        network sees 32x32), before normalisation."""
        seen = self._model_view(digit)
        size = seen.shape[0] if seen is not None else self.model_input_size()
        self._input_caption.setText(f"What the model sees ({size}×{size})")
        resized = f", then resized to {size}x{size} for this model" if size != FIELD_SIZE else ""
        self.input_view.setToolTip(f"{INPUT_TIP}{resized}.")
        pixels = np.zeros((size, size), np.uint8) if seen is None else np.ascontiguousarray(
            np.clip(seen * 255 + 0.5, 0, 255).astype(np.uint8))
        image = QImage(pixels.tobytes(), size, size, size, QImage.Format.Format_Grayscale8)
        # Whole pixels (nearest neighbour, an integer scale) where they fit the box; a
        # large input (224x224) is scaled down to it smoothly.
        box = self.input_view.width()
        side = size * (box // size) if size <= box else box
        self.input_view.setPixmap(QPixmap.fromImage(image).scaled(
            side, side, Qt.AspectRatioMode.IgnoreAspectRatio,
            Qt.TransformationMode.FastTransformation if size <= box
            else Qt.TransformationMode.SmoothTransformation))

    def model_input_size(self) -> int:
        """The side of the square image the model in use takes (28 with no model)."""
        return self._predictor.input_size if self._predictor is not None else FIELD_SIZE

    def _model_view(self, digit: np.ndarray | None) -> np.ndarray | None:
        """digit (28x28, 0..1) resized as the model in use is fed it, in 0..1."""
        if digit is None or self._predictor is None or self.model_input_size() == FIELD_SIZE:
            return digit
        predictor = self._predictor
        try:
            fed = predictor.model_input(digit)[0, 0]
        except ValueError:
            return digit
        return (fed * predictor.std[0, 0] + predictor.mean[0, 0]).cpu().numpy()

    def _show_answer(self, error: str | None) -> None:
        self.confidence_label.setWordWrap(error is not None or self._doubt is not None)
        if error is not None:
            self._set_answer("?", 40, f"Prediction failed: {error}")
            self.confidence_label.setStyleSheet(ERROR_STYLE)
            return
        self.confidence_label.setStyleSheet("")
        if self._predictor is None:
            self._set_answer("No model", 20, "")
        elif self._probabilities is None:
            self._set_answer("Draw a digit", 20, "")
        elif self._doubt is not None:
            self._set_answer("Not a digit?", 20, self._doubt.message)
        else:
            name = self.predicted_class() or ""
            self._set_answer(name, 72 if len(name) <= 3 else 30,
                             f"{format_probability(float(self._probabilities.max()))} "
                             "confident")

    def _set_answer(self, text: str, point_size: int, confidence: str) -> None:
        font = QFont(self.font())
        font.setBold(point_size > 20)
        # As large as asked, but never wider than the label: "automobile" must not be cut.
        room = max(self.answer_label.width(), self.answer_label.minimumWidth()) - 8
        font.setPointSize(point_size)
        while point_size > 12 and QFontMetrics(font).horizontalAdvance(text) > room:
            point_size -= 2
            font.setPointSize(point_size)
        self.answer_label.setFont(font)
        self.answer_label.setText(text)
        self.confidence_label.setText(confidence)
