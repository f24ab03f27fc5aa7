"""Where the main window opens: sized to the screen on first launch, restored only if it fits.

A geometry saved on another set-up (a larger monitor since unplugged, a laptop's external
screen) can put the window partly or wholly off every screen that exists now; then the window
opens as on a first launch instead.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QRect, QSize

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
