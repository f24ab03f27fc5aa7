"""Where the main window opens: sized to the screen on first launch, restored only if it fits.

A geometry saved on another set-up (a larger monitor since unplugged, a laptop's external
screen) can put the window partly or wholly off every screen that exists now; then the window
opens as on a first launch instead.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QByteArray, QRect, QSettings, QSize
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMainWindow

FIRST_LAUNCH_FRACTION = 0.9  # of the screen's available area (without panels and docks)


def first_launch_geometry(available: QRect, minimum: QSize | None = None,
                          fraction: float = FIRST_LAUNCH_FRACTION) -> QRect:
    """A window `fraction` of the available area in each direction (at least `minimum`, the
    window's smallest size, but never larger than the area), centred in it."""
    size = QSize(round(available.width() * fraction), round(available.height() * fraction))
    if minimum is not None:
        size = size.expandedTo(minimum)
    rect = QRect(available.topLeft(), size.boundedTo(available.size()))
    rect.moveCenter(available.center())
    return rect


def fits_a_screen(frame: QRect, screens: Sequence[QRect]) -> bool:
    """Whether the whole of `frame` lies on one of `screens` (their available areas)."""
    return any(screen.contains(frame) for screen in screens)


def restore_window_state(window: QMainWindow, settings: QSettings) -> None:
    """Put the window where it was (docks included), or size it to the screen."""
    # A hand-edited or foreign settings file may hold anything here: ignore what is not
    # Qt's own saved bytes rather than fail to start.
    geometry = settings.value("window/geometry")
    state = settings.value("window/state")
    restored = isinstance(geometry, (QByteArray, bytes)) and window.restoreGeometry(geometry)
    screens = [screen.availableGeometry() for screen in QGuiApplication.screens()]
    if not restored or not fits_a_screen(window.geometry(), screens):
        # First launch, or saved on screens that are not there now: fit the screen.
        window.setGeometry(first_launch_geometry(
            QGuiApplication.primaryScreen().availableGeometry(), window.minimumSizeHint()))
    if isinstance(state, (QByteArray, bytes)):
        window.restoreState(state)


def save_window_state(window: QMainWindow, settings: QSettings) -> None:
    settings.setValue("window/geometry", window.saveGeometry())
    settings.setValue("window/state", window.saveState())
