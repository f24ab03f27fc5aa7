"""Hand-made strokes for the ten digits, drawn the way a person draws them with a mouse.

Each digit is a list of polylines in a 0..1 box (x to the right, y down), using the box's
full height like a handwritten digit does. Several digits come in two styles (a '1' with or
without a flag, an open or closed '4', a '7' with or without a bar, ...). `place` moves a
drawing to a position and size on the canvas, in the canvas's 0..1 coordinates.
"""

from __future__ import annotations

import math
from itertools import pairwise

import numpy as np

Stroke = np.ndarray  # (N, 2) float points
Drawing = list[Stroke]


def _line(*points: tuple[float, float], step: float = 0.04) -> Stroke:
    """A polyline through the points, sampled every `step` like mouse moves are."""
    out = [points[0]]
    for (x0, y0), (x1, y1) in pairwise(points):
        n = max(1, math.ceil(math.hypot(x1 - x0, y1 - y0) / step))
        out += [(x0 + (x1 - x0) * i / n, y0 + (y1 - y0) * i / n) for i in range(1, n + 1)]
    return np.array(out, dtype=float)


def _arc(cx: float, cy: float, rx: float, ry: float, start_deg: float, end_deg: float,
         n: int = 24) -> Stroke:
    """An elliptic arc; angles in degrees, 0 = right, 90 = down (screen coordinates)."""
    t = np.radians(np.linspace(start_deg, end_deg, n))
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], axis=1)


def _join(*parts: Stroke) -> Stroke:
    """Pieces drawn in one go without lifting the pen."""
    return np.concatenate(parts, axis=0)


def _figure_eight() -> Stroke:
    # One stroke: start top right, down through the crossing into the bottom loop, round
    # it, back up through the crossing, and round the top loop (which is a little smaller).
    t = np.linspace(0.0, 2 * math.pi, 64)
    y = 0.5 - 0.48 * np.cos(t)
    y = np.where(y < 0.46, 0.46 - (0.46 - y) * 0.95, y)
    x = 0.5 + 0.33 * np.sin(2 * t) * np.where(y < 0.46, 0.85, 1.0)
    return np.stack([x, y], axis=1)


DIGITS: dict[int, dict[str, Drawing]] = {
    0: {
        "ellipse": [_arc(0.5, 0.5, 0.32, 0.48, -90, -90 - 370, 40)],
        "slanted": [_arc(0.5, 0.5, 0.28, 0.48, -80, -80 - 365, 40) @ np.array(
            [[1.0, 0.0], [-0.12, 1.0]]) + np.array([0.06, 0.0])],
    },
    1: {
        "stick": [_line((0.53, 0.02), (0.47, 0.98))],
        "flag": [_line((0.3, 0.22), (0.55, 0.02), (0.5, 0.98))],
        "serif": [_line((0.3, 0.22), (0.55, 0.02), (0.52, 0.96)),
                  _line((0.3, 0.97), (0.75, 0.97))],
    },
    2: {
        "curl": [_join(_arc(0.5, 0.3, 0.32, 0.28, 200, 360, 16),
                       _line((0.82, 0.3), (0.5, 0.65), (0.15, 0.95), (0.88, 0.95)))],
        "swan": [_join(_arc(0.5, 0.3, 0.32, 0.28, 190, 360, 16),
                       _arc(0.15, 0.3, 0.67, 0.65, 0, 90, 16),
                       _line((0.15, 0.95), (0.88, 0.92)))],
    },
    3: {
        "two bumps": [_join(_arc(0.45, 0.26, 0.32, 0.24, 210, 450, 20),
                            _arc(0.45, 0.73, 0.36, 0.25, -90, 150, 20))],
        "flat top": [_join(_line((0.18, 0.04), (0.8, 0.04), (0.42, 0.42)),
                           _arc(0.45, 0.7, 0.36, 0.28, -95, 150, 20))],
    },
    4: {
        "closed": [_line((0.6, 0.02), (0.12, 0.65), (0.9, 0.65)),
                   _line((0.66, 0.3), (0.66, 0.98))],
        "open": [_line((0.22, 0.02), (0.18, 0.55), (0.85, 0.55)),
                 _line((0.7, 0.02), (0.7, 0.98))],
    },
    5: {
        "hook": [_join(_line((0.3, 0.04), (0.26, 0.45)),
                       _arc(0.47, 0.68, 0.33, 0.28, -120, 150, 24)),
                 _line((0.3, 0.04), (0.82, 0.04))],
        "one stroke": [_join(_line((0.8, 0.04), (0.3, 0.04), (0.26, 0.45)),
                             _arc(0.47, 0.68, 0.33, 0.28, -120, 150, 24))],
    },
    6: {
        "loop": [_join(_arc(0.75, 0.58, 0.5, 0.56, -105, -180, 10),
                       _arc(0.5, 0.7, 0.25, 0.27, 180, 180 + 360, 30))],
    },
    7: {
        "plain": [_line((0.14, 0.05), (0.86, 0.05), (0.4, 0.98))],
        "crossed": [_line((0.14, 0.05), (0.86, 0.05), (0.4, 0.98)),
                    _line((0.38, 0.52), (0.8, 0.52))],
    },
    8: {
        "one stroke": [_figure_eight()],
        "two loops": [_arc(0.5, 0.25, 0.24, 0.23, -90, 270, 28),
                      _arc(0.5, 0.73, 0.3, 0.25, -90, 270, 28)],
    },
    9: {
        "straight": [_join(_arc(0.45, 0.3, 0.28, 0.28, 0, -360, 30),
                           _line((0.73, 0.3), (0.68, 0.98)))],
        "curved": [_join(_arc(0.47, 0.28, 0.28, 0.26, 10, -350, 30),
                         _line((0.75, 0.33), (0.72, 0.75)),
                         _arc(0.5, 0.75, 0.22, 0.23, 0, 120, 10))],
        "two strokes": [_arc(0.45, 0.28, 0.28, 0.26, -20, -380, 30),
                        _line((0.74, 0.08), (0.7, 0.98))],
    },
}


def place(drawing: Drawing, centre: tuple[float, float], height: float) -> Drawing:
    """The drawing scaled to `height` and centred on `centre` (canvas 0..1 coordinates)."""
    cx, cy = centre
    return [np.column_stack([cx + (s[:, 0] - 0.5) * height, cy + (s[:, 1] - 0.5) * height])
            for s in drawing]


def all_drawings() -> list[tuple[int, str, Drawing]]:
    """Every (digit, style, strokes) in the set."""
    return [(d, style, strokes) for d, styles in DIGITS.items() for style, strokes in
            styles.items()]
