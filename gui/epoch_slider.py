"""A slider over a run's recorded epochs that follows the newest one unless a person moved
it away (to look at an earlier epoch while training goes on)."""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QWidget


class EpochSlider(QWidget):
    """`epochChanged(epoch)` whenever the epoch shown changes, by a person or by following
    the newest epoch."""

    epochChanged = Signal(int)  # noqa: N815 - Qt's naming, as the contract names it

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._epochs: list[int] = []
        self._following = True  # on the newest epoch, and staying there as epochs come
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setPageStep(1)
        self.slider.setToolTip("Drag to see the run at any epoch; at the right end it follows "
                               "the newest epoch.")
        self.label = QLabel()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.label)
        self.slider.valueChanged.connect(self._on_value)
        self.set_epochs([])

    def set_epochs(self, epochs: list[int]) -> None:
        """The epochs to choose from, increasing; the slider keeps its epoch where it is
        still listed, else (or when following) takes the newest."""
        before = self.epoch()
        self._epochs = list(epochs)
        with QSignalBlocker(self.slider):
            self.slider.setRange(0, max(len(self._epochs) - 1, 0))
            if self._following or before not in self._epochs:
                self._following = True
                self.slider.setValue(self.slider.maximum())
            else:
                self.slider.setValue(self._epochs.index(before))
        self.slider.setEnabled(len(self._epochs) > 1)
        self._show_label()
        now = self.epoch()
        if now is not None and now != before:
            self.epochChanged.emit(now)

    def set_epoch(self, epoch: int) -> None:
        """Show `epoch` (one of the epochs), as if a person had moved the slider there."""
        if epoch in self._epochs:
            self.slider.setValue(self._epochs.index(epoch))

    def epoch(self) -> int | None:
        """The epoch shown; None when there are none."""
        return self._epochs[self.slider.value()] if self._epochs else None

    def epochs(self) -> list[int]:
        return list(self._epochs)

    def _on_value(self, value: int) -> None:
        self._following = value == self.slider.maximum()
        self._show_label()
        if self._epochs:
            self.epochChanged.emit(self._epochs[value])

    def _show_label(self) -> None:
        epoch = self.epoch()
        self.label.setText("" if epoch is None else
                           f"Epoch {epoch} of {self._epochs[-1]}")
