"""A slider over a run's recorded epochs, for the tabs that show the run at any epoch.

The Results tab uses it for its charts and galleries, the Draw and Inside tabs for the
network at epoch k. During a run it follows the newest epoch as epochs end, unless the
person has moved it away from the newest: then it stays where they put it until they move
it back to the newest.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QWidget

NO_EPOCHS_TEXT = "No epochs yet"


class EpochSlider(QWidget):
    """`set_epochs` gives the epochs there are; `epochChanged(epoch)` when the one shown
    changes, whether a person moved the slider or a new epoch was followed."""

    epochChanged = Signal(int)  # noqa: N815 - Qt's naming, as the shared interface says

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._epochs: list[int] = []
        self._following = True  # on the newest epoch, and staying there as epochs come
        self._setting = False  # the slider is being moved by the code, not by a person
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setPageStep(1)
        self.slider.setToolTip("Drag to see the run as it was at the end of an earlier "
                               "epoch; at the right end it follows the newest epoch")
        self.slider.valueChanged.connect(self._on_moved)
        self.label = QLabel(NO_EPOCHS_TEXT)
        self.label.setMinimumWidth(self.label.fontMetrics().horizontalAdvance(
            "Epoch 888 of 888 (newest)") + 8)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("Epoch:"))
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.label)
        self._show()

    def set_epochs(self, epochs: Sequence[int]) -> None:
        """The epochs there are, increasing. Following: the newest is shown; else the one
        shown stays (or the nearest earlier one, where it is gone)."""
        before = self.epoch()
        self._epochs = [int(e) for e in epochs]
        if self._following or before is None:
            position = len(self._epochs) - 1
            self._following = True
        else:
            earlier = [i for i, e in enumerate(self._epochs) if e <= before]
            position = earlier[-1] if earlier else 0
        self._setting = True
        try:
            self.slider.setRange(0, max(len(self._epochs) - 1, 0))
            self.slider.setValue(max(position, 0))
        finally:
            self._setting = False
        self._show()
        now = self.epoch()
        if now is not None and now != before:
            self.epochChanged.emit(now)

    def epochs(self) -> list[int]:
        return list(self._epochs)

    def epoch(self) -> int | None:
        """The epoch shown; None while there is none."""
        return self._epochs[self.slider.value()] if self._epochs else None

    def following(self) -> bool:
        """Whether the newest epoch is shown, and newer ones will be as they come."""
        return self._following

    def set_epoch(self, epoch: int) -> None:
        """Show `epoch` (one of the epochs there are), as a person moving the slider would."""
        self.slider.setValue(self._epochs.index(int(epoch)))

    def _on_moved(self, position: int) -> None:
        if self._setting or not self._epochs:
            return
        self._following = position == len(self._epochs) - 1
        self._show()
        self.epochChanged.emit(self._epochs[position])

    def _show(self) -> None:
        self.slider.setEnabled(len(self._epochs) > 1)
        epoch = self.epoch()
        if epoch is None:
            self.label.setText(NO_EPOCHS_TEXT)
        elif epoch == self._epochs[-1]:
            self.label.setText(f"Epoch {epoch} (newest)")
        else:
            self.label.setText(f"Epoch {epoch} of {self._epochs[-1]}")
