"""The Draw tab's list of models to read with: the bundled demo, the models trained since
TrainDesk started, and opened checkpoints (gui/draw_models.py decides their titles)."""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import QComboBox, QSizePolicy, QWidget

from engine.inference.image_input import InputRecipe
from engine.inference.predict import Predictor
from engine.records.checkpoint import Checkpoint
from gui.draw_models import ModelChoice, ModelChoices


class ModelPicker(QComboBox):
    """One entry per model, each with the predictor that reads a drawing and the recipe
    that reads an image file. Listing is not choosing: `chosen` says when a person picks
    an entry, or `select` does."""

    chosen = Signal(int)  # the index of the model now in use

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.choices = ModelChoices()
        self._predictors: list[Predictor] = []  # one per entry of self.choices
        self._recipes: list[InputRecipe] = []  # how each model reads an image file
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setMinimumContentsLength(16)  # long names are elided, not widened
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setToolTip("The model that reads your drawing: the bundled demo, models trained "
                        "since TrainDesk started, and opened checkpoints, with their test "
                        "accuracy.")
        self.currentIndexChanged.connect(self._on_current)

    def add(self, ckpt: Checkpoint, choice: ModelChoice) -> int:
        """List a model (not yet in use) and return its index; a checkpoint that cannot
        read a drawing raises CheckpointError or ValueError, and is not listed."""
        # Only the weights are needed to predict: the optimizer's state is left behind.
        predictor = Predictor.from_checkpoint(dataclasses.replace(
            ckpt, optimizer_state=None, scheduler_state=None, scaler_state=None))
        recipe = InputRecipe.from_checkpoint(ckpt)
        index = self.choices.add(choice)
        # A combo box makes its first item current by itself: not a choice.
        with QSignalBlocker(self):
            if index == len(self._predictors):
                self._predictors.append(predictor)
                self._recipes.append(recipe)
                self.addItem(choice.label)
            else:  # a file opened again
                self._predictors[index] = predictor
                self._recipes[index] = recipe
                self.setItemText(index, choice.label)
            self.setItemData(index, choice.label, Qt.ItemDataRole.ToolTipRole)
            self.setCurrentIndex(-1 if self.choices.current is None else self.choices.current)
        return index

    def select(self, index: int) -> None:
        """Use the model at `index`, as if it had been chosen in the list."""
        with QSignalBlocker(self):
            self.setCurrentIndex(index)
        self._on_current(index)

    def predictor(self, index: int) -> Predictor:
        return self._predictors[index]

    def recipe(self, index: int) -> InputRecipe:
        return self._recipes[index]

    def _on_current(self, index: int) -> None:
        if index < 0:
            return
        self.choices.select(index)
        self.setToolTip(self.choices[index].label)
        self.chosen.emit(index)
