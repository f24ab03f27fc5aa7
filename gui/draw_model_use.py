"""Which network the Draw tab reads with, and the lines that say so.

The model chosen in the tab's list (gui/model_picker.py) reads, unless a person reads with
an epoch's network of the run on screen (gui/epoch_networks.py) until they let it go. A
model listed may also be refused (it cannot read a drawing) or left unused (it scored
lower than the one in use): three lines say what became of it.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QLabel

from engine.inference.image_input import InputRecipe
from engine.inference.predict import Predictor
from engine.records.checkpoint import Checkpoint, CheckpointError, load_checkpoint
from gui.draw_models import ModelChoice, choice_for
from gui.epoch_bar import USE_EPOCH_TEXT
from gui.epoch_networks import EpochNetwork, EpochNetworks
from gui.model_picker import ModelPicker

# Text colours with at least 4.5:1 contrast on a white or light grey window (WCAG AA).
NOTE_STYLE = "color: #8a5300;"
ERROR_STYLE = "color: #b03020;"
NEWS_STYLE = "color: #1f4e8c;"


class ModelInUse(QObject):
    """The list of models, the epoch's network chosen if any, and which of them reads.

    `changed` hands on the network that reads now: its Predictor (None: no model), whether
    it reads digits, and its InputRecipe for image files. `unusable` says a model could not
    be used while none is in use (the answer should say so); `news` carries the one line
    said when a new model is listed.
    """

    changed = Signal(object, bool, object)
    unusable = Signal()
    news = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.predictor: Predictor | None = None  # the network that reads now
        self.epoch_network: EpochNetwork | None = None  # reads instead of the choice
        self.picker = ModelPicker()
        self.news_label = QLabel()  # what became of the model listed last
        self.news_label.setWordWrap(True)
        self.news_label.setStyleSheet(NEWS_STYLE)
        self.news_label.hide()
        self.problem_label = QLabel()  # what is wrong with the model, when something is
        self.problem_label.setWordWrap(True)
        self.note_label = QLabel()  # how the model in use reads, or why one was refused
        self.note_label.setWordWrap(True)
        self.note_label.setStyleSheet(NOTE_STYLE)
        self._set_note("")
        self.picker.chosen.connect(self._use_choice)

    def load_bundled(self, path: Path) -> bool:
        """List the demo model at `path` and use it if nothing else is in use; if it cannot
        be read, say why."""
        try:
            ckpt = load_checkpoint(path)
        except CheckpointError as error:
            self.show_problem(f"The bundled digit model could not be loaded: {error}")
            return False
        index = self._list(ckpt, choice_for(ckpt, "bundled", "Demo model"))
        if index is None:
            return False
        if self.picker.choices.current is None:
            self.picker.select(index)
        return True

    def add_trained(self, ckpt: Checkpoint) -> bool:
        """List a digit model just trained; use it if it scored at least as well as the one
        in use, and say in one line (in the panel and through `news`) what happened."""
        choice = choice_for(ckpt, "trained", f"Trained {time.strftime('%H:%M')}")
        index = self._list(ckpt, choice)
        if index is None:
            return False
        in_use = self.picker.choices.in_use()
        switch = in_use is None or self.picker.choices.deserves_switch(index)
        if self.epoch_network is not None:  # a person reads with an epoch's: it stays
            if switch:
                self.picker.select(index)
            self.announce(f"New model in the Draw tab's list: {choice.title} — "
                           f"{choice.accuracy_text}. The tab reads with the network after "
                           f"epoch {self.epoch_network.epoch} until you untick "
                           f"“{USE_EPOCH_TEXT}”.")
        elif switch:
            self.picker.select(index)
            self.announce(f"New model in the Draw tab's list, now in use: {choice.title} — "
                           f"{choice.accuracy_text}.")
        else:
            compared = None not in (choice.test_accuracy, in_use.test_accuracy)
            why = ", which scored higher." if compared else "; choose the new one to use it."
            self.announce(f"New model in the Draw tab's list: {choice.title} — "
                           f"{choice.accuracy_text}. Still reading with {in_use.source} "
                           f"({in_use.accuracy_text}){why}")
        return True

    def add_opened(self, ckpt: Checkpoint, path: str | Path) -> bool:
        """List an opened checkpoint and use it (a model for other images too, with a note
        that the canvas is meant for digits); if it cannot predict, say why."""
        index = self._list(ckpt, choice_for(ckpt, "opened", Path(path).name, str(path)))
        if index is None:
            return False
        self.picker.select(index)
        return True

    def follow_epochs(self, networks: EpochNetworks) -> None:
        """Read with the epoch's network chosen in `networks`; choosing a model in the list
        lets it go."""
        networks.network_changed.connect(self._use_epoch)
        self.picker.activated.connect(lambda _index: networks.choose(None))

    def announce(self, message: str) -> None:
        """Say one line above the tab's columns, and through `news`."""
        self.news_label.setText(message)
        self.news_label.show()
        self.news.emit(message)

    def show_problem(self, message: str, error: bool = True) -> None:
        """Say above the answer what is wrong with the model ("" says nothing)."""
        self.problem_label.setText(message)
        self.problem_label.setStyleSheet(ERROR_STYLE if error else "")
        self.problem_label.setVisible(bool(message))
        if error and self.predictor is None:
            self.unusable.emit()

    def _list(self, ckpt: Checkpoint, choice: ModelChoice) -> int | None:
        """Add a model to the picker (not yet in use); None, and why in the panel, if it
        cannot read a drawing."""
        try:
            return self.picker.add(ckpt, choice)
        except (CheckpointError, ValueError) as error:
            reason = f"{choice.source}: this model cannot predict from the canvas: {error}"
            if self.predictor is None:
                self.show_problem(reason)
            else:  # keep the model in use, and say why the new one was not taken
                self._set_note(f"{reason} The model chosen above is still in use.")
            return None

    def _use_choice(self, index: int) -> None:
        self.news_label.hide()  # what it said about the choice before is out of date
        self.show_problem("", error=False)
        if self.epoch_network is None:  # else the epoch's network reads until let go
            self._read_with_choice(index)

    def _read_with_choice(self, index: int) -> None:
        self._read_with(self.picker.predictor(index), self.picker.choices[index].is_digits,
                        self.picker.recipe(index))

    def _use_epoch(self, network: EpochNetwork | None) -> None:
        """Read with an epoch's network, or (None) with the model chosen in the list."""
        self.epoch_network = network
        if network is not None:
            self.show_problem("", error=False)
            self._read_with(network.predictor, network.is_digits, network.recipe)
        elif self.picker.choices.current is not None:
            self._read_with_choice(self.picker.choices.current)
        else:
            self._read_with(None, False, None)

    def _read_with(self, predictor: Predictor | None, is_digits: bool,
                   recipe: InputRecipe | None) -> None:
        self.predictor = predictor
        if predictor is not None and not is_digits:
            names = predictor.class_names
            shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
            self._set_note(f"This model was not trained on digits: it answers with its own "
                           f"classes ({shown}), but the canvas is meant for digits. Try it "
                           "on images of its classes: Open images…, paste one, or drop "
                           "files here.")
        else:
            self._set_note("")
        self.changed.emit(predictor, is_digits, recipe)

    def _set_note(self, text: str) -> None:
        self.note_label.setText(text)
        self.note_label.setVisible(bool(text))
