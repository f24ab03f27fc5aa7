"""The Settings dock: the settings form (scrolling when the screen is short) above the
Train, Pause and Stop buttons."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QDockWidget,
    QHBoxLayout,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from gui.run_controller import RunController
from gui.scrolling import vertical_scroll
from gui.settings_panel import SettingsPanel

TRAIN_TIP = "Start training with these settings (Ctrl+Enter)"
TRAIN_TIP_LOADING = (f"{TRAIN_TIP}; PyTorch is still loading, so the run starts as soon as "
                     "it has loaded.")


class SettingsDock(QDockWidget):
    def __init__(self, form: SettingsPanel, train: QAction, pause: QAction, stop: QAction,
                 controller: RunController, parent: QWidget | None = None) -> None:
        """The buttons follow their actions (on, off, Pause or Resume)."""
        super().__init__("Settings", parent)
        self.setObjectName("settings_dock")
        self.train_button = QPushButton("Train")
        self.train_button.setDefault(True)
        self.pause_button = QPushButton("Pause")
        self.stop_button = QPushButton("Stop")
        buttons = QHBoxLayout()
        for button, act, tip in (
                (self.train_button, train, TRAIN_TIP),
                (self.pause_button, pause, "Pause or resume the run (Space)"),
                (self.stop_button, stop,
                 "Stop the run; the model after the last completed epoch is kept (Esc)")):
            button.clicked.connect(act.trigger)
            act.changed.connect(lambda b=button, a=act: b.setEnabled(a.isEnabled()))
            button.setEnabled(act.isEnabled())
            button.setMinimumHeight(34)
            button.setToolTip(tip)
            buttons.addWidget(button)
        pause.changed.connect(lambda: self.pause_button.setText(pause.text().replace("&", "")))

        def show_engine() -> None:
            self.train_button.setToolTip(TRAIN_TIP if controller.engine_ready
                                         else TRAIN_TIP_LOADING)

        controller.engine_changed.connect(show_engine)
        show_engine()

        scroll = vertical_scroll(form, framed=False)
        self._form, self._scroll = form, scroll
        self._fit_width()
        form.installEventFilter(self)  # rows shown later (fine-tuning), a Find… button
        side = QWidget()
        layout = QVBoxLayout(side)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(scroll, 1)
        layout.addLayout(buttons)
        self.setWidget(side)
        self.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable)

    def _fit_width(self) -> None:
        """As wide as the form's widest row needs, beside a scroll bar: never cut off."""
        bar = self._scroll.verticalScrollBar().sizeHint().width()
        self._scroll.setMinimumWidth(self._form.minimumSizeHint().width() + bar + 8)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if watched is self._form and event.type() == QEvent.Type.LayoutRequest:
            self._fit_width()
        return super().eventFilter(watched, event)
