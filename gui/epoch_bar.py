"""The epoch slider of the Draw and Inside tabs: read with the network as it was after any
epoch of the run on screen (gui/epoch_networks.py holds the choice both tabs share).

Moving the slider away from the newest epoch, or ticking the box, reads with that epoch's
network; unticking it (or choosing a model in the Draw tab's list) reads with the chosen
model again. A run that keeps no epochs shows one line saying so instead; with no run on
screen the bar is hidden.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from gui.epoch_networks import EpochNetworks
from gui.epoch_slider import EpochSlider

ERROR_STYLE = "color: #b03020;"
NOTE_STYLE = "color: #8a5300;"  # 4.5:1 on a light window (WCAG AA), as the Draw tab's notes
USE_EPOCH_TEXT = "Read with this epoch's network"


class EpochBar(QWidget):
    """Epoch: [slider] Epoch 3 of 5, and under it: [x] Read with this epoch's network, and
    what that network scored."""

    def __init__(self, networks: EpochNetworks, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.networks = networks
        self._showing = False  # setting the slider from the shared choice: not a person
        self.use_box = QCheckBox(USE_EPOCH_TEXT)
        self.use_box.setToolTip("Tick, or drag the slider, to see how the network read the "
                                "input after any epoch of the run on screen; untick to use "
                                "the model chosen in the Draw tab again.")
        self.slider = EpochSlider()
        self.state_label = QLabel()
        # It may be cut short (its tooltip says it all): the bar fits the canvas's column.
        self.state_label.setSizePolicy(QSizePolicy.Policy.Ignored,
                                       QSizePolicy.Policy.Preferred)
        self.note_label = QLabel()
        self.note_label.setWordWrap(True)
        self.note_label.setStyleSheet(NOTE_STYLE)
        # Two lines, narrow enough for the Draw tab's canvas column on a 1024x600 screen.
        choosing = QWidget()
        lines = QVBoxLayout(choosing)
        lines.setContentsMargins(0, 0, 0, 0)
        lines.setSpacing(2)
        lines.addWidget(self.slider)
        row = QHBoxLayout()
        row.addWidget(self.use_box)
        row.addSpacing(12)
        row.addWidget(self.state_label, 1)
        lines.addLayout(row)
        self.pages = QStackedWidget()  # the slider, or the line saying why there is none
        self.pages.addWidget(choosing)
        self.pages.addWidget(self.note_label)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.pages)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.use_box.clicked.connect(self._on_box)
        self.slider.epochChanged.connect(self._on_slider)
        networks.changed.connect(self._show)
        self._show()

    def _on_box(self, ticked: bool) -> None:
        self.networks.choose(self.slider.epoch() if ticked else None)

    def _on_slider(self, epoch: int) -> None:
        if self._showing:
            return
        # Moved away from the newest epoch, or moved while an epoch is in use: a person's
        # choice (at the newest, unticked, the slider only follows the run).
        if self.networks.chosen is not None or epoch != self.slider.epochs()[-1]:
            self.networks.choose(epoch)

    def _show(self) -> None:
        networks = self.networks
        self.setVisible(networks.folder is not None)
        if networks.note:
            self.note_label.setText(networks.note)
            self.pages.setCurrentWidget(self.note_label)
            return
        self.pages.setCurrentIndex(0)
        self._showing = True
        try:
            self.slider.set_epochs(networks.epochs)
            if networks.chosen is not None:
                self.slider.set_epoch(networks.chosen)
        finally:
            self._showing = False
        self.use_box.setChecked(networks.chosen is not None)
        self.use_box.setEnabled(bool(networks.epochs))
        self._show_state()

    def _show_state(self) -> None:
        networks = self.networks
        style, tip = "", ""
        if not networks.epochs:
            text = "waiting for the first epoch"
            tip = "Each epoch's network appears here as the run goes."
        elif networks.error:
            text, style, tip = "could not be read", ERROR_STYLE, networks.error
        elif networks.loading():
            text = "reading…"
        elif networks.network is not None:
            accuracy = networks.network.test_accuracy
            text = ("test accuracy not recorded" if accuracy is None
                    else f"test accuracy {accuracy:.1%}")
        else:
            text = ""
        self.state_label.setText(text)
        self.state_label.setStyleSheet(style)
        self.state_label.setToolTip(tip or text)
