"""A plot's legend written into its x-axis label ("step   ━ per batch  ━ smoothed (0.9)").

A legend box inside a plot covers curves, and a legend row of its own takes height a small
screen lacks; the axis label's line is there anyway and mostly empty. Each entry is a
coloured mark drawn like its curve (a line, or the curve's symbol) and its name.
"""

from __future__ import annotations

import html

import pyqtgraph as pg
from PySide6.QtGui import QColor

SYMBOL_MARKS = {"o": "●", "s": "■", "t": "▼", "t1": "▲", "d": "◆", "+": "+", "x": "×"}


def curve_mark(curve: pg.PlotDataItem) -> str:
    """The mark that stands for a curve: its symbol, else a line, in its colour."""
    pen = pg.mkPen(curve.opts.get("pen"))
    colour = QColor(pen.color())
    colour.setAlpha(255)  # a faint curve still gets a readable mark: lighter, not invisible
    if pen.color().alpha() < 128:
        colour = colour.lighter(150)
    mark = SYMBOL_MARKS.get(curve.opts.get("symbol"), "━")
    return f'<span style="color: {colour.name()}; font-weight: bold">{mark}</span>'


def label_with_legend(axis_text: str, entries: list[tuple[pg.PlotDataItem, str]]) -> str:
    """axis_text, then each (curve, name) as "mark name", on one line."""
    if not entries:
        return html.escape(axis_text)
    listed = " &nbsp;".join(f"{curve_mark(curve)}&nbsp;{html.escape(name)}"
                            for curve, name in entries)
    return f"{html.escape(axis_text)} &nbsp;&nbsp;&nbsp;{listed}"
