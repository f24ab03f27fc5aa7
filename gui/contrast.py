"""Readable secondary text: WCAG contrast, and a dimmed text colour that still meets AA.

Qt's own dimmed colours are not meant for reading: a disabled label's text is #bebebe on
#efefef (1.6:1) in Fusion, and the placeholder colour is the text colour at half alpha
(about 4.1:1). Captions and notes take `secondary_colour` instead, computed from the
palette in use, so they stay readable under a dark theme too.
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QLabel

AA_NORMAL_TEXT = 4.5  # WCAG 2.x level AA, text under 18 pt (14 pt bold)
SECONDARY_TARGET = 4.8  # a little above AA, so rounding in a theme never drops below it


def relative_luminance(colour: QColor) -> float:
    def linear(channel: float) -> float:
        return channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4

    return (0.2126 * linear(colour.redF()) + 0.7152 * linear(colour.greenF())
            + 0.0722 * linear(colour.blueF()))


def contrast_ratio(a: QColor, b: QColor) -> float:
    """WCAG contrast ratio of two opaque colours, 1 to 21."""
    light, dark = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def blend(fg: QColor, bg: QColor, amount: float) -> QColor:
    """fg moved `amount` (0..1) of the way towards bg."""
    return QColor.fromRgbF(*(f + (b - f) * amount for f, b in (
        (fg.redF(), bg.redF()), (fg.greenF(), bg.greenF()), (fg.blueF(), bg.blueF()))))


def secondary_colour(fg: QColor, bg: QColor) -> QColor:
    """The most dimmed blend of fg towards bg that keeps SECONDARY_TARGET contrast on bg
    (fg itself if even that is below it)."""
    best = QColor(fg)
    for step in range(1, 20):
        candidate = blend(fg, bg, step / 20)
        if contrast_ratio(candidate, bg) < SECONDARY_TARGET:
            break
        best = candidate
    return best


def make_secondary(label: QLabel) -> None:
    """Show a caption or note in the dimmed, still readable, colour of its palette."""
    palette = label.palette()
    colour = secondary_colour(palette.color(QPalette.ColorRole.WindowText),
                              palette.color(QPalette.ColorRole.Window))
    for group in (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive):
        palette.setColor(group, QPalette.ColorRole.WindowText, colour)
    label.setPalette(palette)
