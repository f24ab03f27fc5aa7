"""The "Draw" tab: draw a digit and watch the model's prediction change as you draw.

The parts: the drawing and images pages and the ways images come in (gui/draw_pages.py),
the list of models and which network reads (gui/draw_model_use.py), the live reading of
the drawing (gui/drawing_reader.py) and the answer with its bars (gui/draw_answer.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from engine.inference.image_input import InputRecipe
from engine.inference.image_trial import ImageFailure, ImageTrial
from engine.inference.predict import DigitDoubt, Predictor
from engine.records.checkpoint import Checkpoint
from engine.resources import RESOURCES_DIR
from gui.draw_answer import AnswerPane
from gui.draw_model_use import ModelInUse
from gui.draw_models import ModelChoices
from gui.draw_pages import DrawPages
from gui.drawing_reader import DrawingReader
from gui.epoch_bar import EpochBar
from gui.epoch_networks import EpochNetwork, EpochNetworks
from gui.image_trials import Sources

BUNDLED_MODEL = RESOURCES_DIR / "pretrained" / "digits-lenet5.pt"


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

    With `follow_epochs`, an epoch slider above the canvas reads with the run's network as it
    was after any epoch (gui/epoch_networks.py), instead of the model chosen in the list.
    """

    prediction_made = Signal(object)  # np.ndarray of probabilities, or None for no drawing
    # The drawing as the model sees it (28x28 float, 0..1), or None for an empty canvas:
    # after every prediction, and when the model in use changes (the Inside tab follows).
    input_changed = Signal(object)
    news = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._predictions_made = 0
        self.epoch_bar: EpochBar | None = None  # once the window hands it the run's epochs
        self.pages = DrawPages(self)  # the canvas, or the images tried
        drawing, self.images = self.pages.drawing, self.pages.images
        self.canvas = drawing.canvas
        self.clear_button, self.undo_button = drawing.clear_button, drawing.undo_button
        self.open_images_button = drawing.open_images_button
        self.open_folder_button = drawing.open_folder_button
        self.models = ModelInUse(self)  # the list of models, and which network reads
        self.model_picker, self.news_label = self.models.picker, self.models.news_label
        self.model_label, self.note_label = self.models.problem_label, self.models.note_label
        self.answer = AnswerPane()
        self.answer_label, self.confidence_label = (self.answer.answer_label,
                                                    self.answer.confidence_label)
        self.input_view, self.chart = self.answer.input_view, self.answer.chart
        self._layout()

        self._reader = DrawingReader(self.canvas, self)
        self._reader.due.connect(self._predict_now)
        self.canvas.stroke_ended.connect(self.predict_if_pending)
        self.pages.opened.connect(self.try_images)
        self.pages.nothing_opened.connect(self.models.announce)
        self.images.trial_selected.connect(self._show_trial)
        self.images.back_requested.connect(self.show_canvas)
        self.models.changed.connect(self._read_with)
        self.models.unusable.connect(lambda: self.answer.show_answer(None, None, None, None))
        self.models.news.connect(self.news)
        self._set_predictor(None, False)
        self.models.show_problem("No model yet: train one, or open a checkpoint.", error=False)

    def _layout(self) -> None:
        picker = QHBoxLayout()
        picker_caption = QLabel("&Model:")
        picker_caption.setBuddy(self.model_picker)
        picker.addWidget(picker_caption)
        picker.addWidget(self.model_picker, 1)
        right = QVBoxLayout()
        right.addWidget(self.model_label)
        right.addWidget(self.answer, 1)
        right.addWidget(self.note_label)
        left = self._left = QVBoxLayout()  # the epoch slider goes above the canvas
        left.setContentsMargins(0, 0, 0, 0)
        left.addWidget(self.pages, 1)
        columns = QHBoxLayout()
        columns.addLayout(left, 3)
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
        return self.models.load_bundled(BUNDLED_MODEL)

    def add_trained_model(self, ckpt: Checkpoint) -> bool:
        """List a digit model just trained; use it if it scored at least as well as the one
        in use, and say in one line (in the panel and through `news`) what happened."""
        return self.models.add_trained(ckpt)

    def add_opened_model(self, ckpt: Checkpoint, path: str | Path) -> bool:
        """List an opened checkpoint and use it; if it cannot predict, say why."""
        return self.models.add_opened(ckpt, path)

    def choices(self) -> ModelChoices:
        return self.model_picker.choices

    def follow_epochs(self, networks: EpochNetworks) -> None:
        """Offer the run on screen's networks epoch by epoch (a slider above the canvas):
        while one is chosen the tab reads with it; choosing a model in the list ends that."""
        self.epoch_bar = EpochBar(networks)
        # Above the canvas, in its column: the answer's column sets the tab's height.
        self._left.insertWidget(0, self.epoch_bar)
        self.models.follow_epochs(networks)

    def epoch_network(self) -> EpochNetwork | None:
        """The epoch's network the tab reads with, instead of the model chosen in the list."""
        return self.models.epoch_network

    # -- your own images ---------------------------------------------------------------

    def try_images(self, sources: Sources, left_out: int = 0) -> None:
        """Show the images page and predict these images with the model in use."""
        self.pages.setCurrentWidget(self.images)
        self.answer.show_input_view(False)
        self.images.try_sources(sources, left_out)

    def showing_images(self) -> bool:
        return self.pages.showing_images()

    def show_canvas(self) -> None:
        """Back to drawing: the canvas, and the answer for the drawing on it."""
        self.pages.setCurrentIndex(0)
        self.answer.show_input_view(True)
        predictor = self._reader.predictor
        self.chart.set_classes(predictor.class_names if predictor else ())
        self._predict_now()

    def shown_probabilities(self) -> np.ndarray | None:
        """The probabilities the bars show now: the drawing's, or the image's in view."""
        if not self.showing_images():
            return self.probabilities()
        result = self.images.current()
        return result.probabilities.copy() if isinstance(result, ImageTrial) else None

    def predictor(self) -> Predictor | None:
        return self._reader.predictor

    def doubt(self) -> DigitDoubt | None:
        """Why the drawing does not look like a digit, or None."""
        return self._reader.last.doubt

    def predicted_class(self) -> str | None:
        """The class read from the drawing; None without a drawing, or when it is doubted."""
        return self._reader.predicted_class()

    def current_input(self) -> np.ndarray | None:
        """The drawing as the model sees it (28x28, 0..1), None for an empty canvas."""
        digit = self._reader.last.input
        return None if digit is None else digit.copy()

    def probabilities(self) -> np.ndarray | None:
        probabilities = self._reader.last.probabilities
        return None if probabilities is None else probabilities.copy()

    def prediction_pending(self) -> bool:
        """Whether the drawing changed since the last prediction (one is scheduled)."""
        return self._reader.pending()

    def predict_if_pending(self) -> None:
        """Predict now if the drawing changed since the last prediction: when a stroke
        ends, its answer (and the Inside tab's maps) should not wait for the throttle."""
        if self._reader.pending():
            self._predict_now()

    def predictions_made(self) -> int:
        """How many times prediction_made was emitted (the throttle keeps this low)."""
        return self._predictions_made

    def model_input_size(self) -> int:
        """The side of the square image the model in use takes (28 with no model)."""
        return self._reader.input_size()

    # -- models ------------------------------------------------------------------------

    def _read_with(self, predictor: Predictor | None, is_digits: bool,
                   recipe: InputRecipe | None) -> None:
        self._set_predictor(predictor, is_digits)
        self.images.set_model(predictor, recipe)

    def _set_predictor(self, predictor: Predictor | None, is_digits: bool) -> None:
        self._reader.set_model(predictor, is_digits)
        self.chart.set_classes(predictor.class_names if predictor is not None else ())
        self._predict_now()

    # -- prediction --------------------------------------------------------------------

    def _predict_now(self) -> None:
        reading = self._reader.read_now()
        self.answer.show_input(self._reader.model_view(reading.input), self.model_input_size())
        if not self.showing_images():  # the drawing's answer waits behind the images
            predictor = self._reader.predictor
            self.answer.show_answer(predictor.class_names if predictor else None,
                                    reading.probabilities, reading.doubt, reading.error)
            self.chart.show_probabilities(reading.probabilities,
                                          greyed=reading.doubt is not None)
        if self._reader.predictor is not None and reading.error is None:
            self._predictions_made += 1
            self.prediction_made.emit(self.probabilities())
        self.input_changed.emit(reading.input)

    def _show_trial(self, result: ImageTrial | ImageFailure | None) -> None:
        """The answer and bars for the image in view on the images page."""
        if self.showing_images():
            predictor = self._reader.predictor
            self.answer.show_trial(result, predictor.class_names if predictor else None,
                                   self.images.busy())
