"""DrawCanvas: strokes from real (simulated) mouse and pen events, undo/clear, painting."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QImage, QInputDevice, QPointingDevice, QTabletEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from gui.draw_canvas import DrawCanvas


@pytest.fixture
def canvas(qtbot):
    widget = DrawCanvas()
    widget.resize(300, 300)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def mouse_stroke(qtbot, widget, points):
    """Press, move through the points, release: what a person dragging the mouse sends.

    QTest.mouseMove carries the pressed button in this Qt version (6.x tracks it), and the
    canvas draws on moves after a left press whatever the move event's buttons say.
    """
    first, *rest = [QPoint(*p) for p in points]
    qtbot.mousePress(widget, Qt.MouseButton.LeftButton, pos=first)
    for point in rest:
        QTest.mouseMove(widget, point)
    qtbot.mouseRelease(widget, Qt.MouseButton.LeftButton, pos=rest[-1] if rest else first)


def test_a_drag_becomes_one_stroke_in_canvas_units(qtbot, canvas):
    with qtbot.waitSignal(canvas.strokes_changed):
        mouse_stroke(qtbot, canvas, [(30, 60), (150, 60), (150, 240)])

    [stroke] = canvas.strokes()
    np.testing.assert_allclose(stroke, [[0.1, 0.2], [0.5, 0.2], [0.5, 0.8]])
    assert canvas.widths() == [1.0]
    assert not canvas.is_empty()


def test_the_same_gesture_on_a_bigger_canvas_gives_the_same_strokes(qtbot, canvas):
    mouse_stroke(qtbot, canvas, [(30, 60), (150, 60), (150, 240)])
    big = DrawCanvas()
    big.resize(600, 600)
    qtbot.addWidget(big)
    big.show()
    qtbot.waitExposed(big)
    mouse_stroke(qtbot, big, [(60, 120), (300, 120), (300, 480)])

    np.testing.assert_allclose(big.strokes()[0], canvas.strokes()[0])


def test_each_press_starts_a_new_stroke_and_a_click_is_a_dot(qtbot, canvas):
    mouse_stroke(qtbot, canvas, [(30, 30), (90, 90)])
    mouse_stroke(qtbot, canvas, [(200, 100)])

    strokes = canvas.strokes()
    assert [len(s) for s in strokes] == [2, 1]
    np.testing.assert_allclose(strokes[1], [[200 / 300, 100 / 300]])


def test_moves_without_the_left_button_draw_nothing(qtbot, canvas):
    QTest.mouseMove(canvas, QPoint(40, 40))
    QTest.mouseMove(canvas, QPoint(100, 100))
    qtbot.mousePress(canvas, Qt.MouseButton.RightButton, pos=QPoint(50, 50))
    QTest.mouseMove(canvas, QPoint(120, 120))
    qtbot.mouseRelease(canvas, Qt.MouseButton.RightButton, pos=QPoint(120, 120))

    assert canvas.is_empty()
    assert canvas.strokes() == []


def test_ink_is_painted_where_the_mouse_went(qtbot, canvas):
    mouse_stroke(qtbot, canvas, [(50, 150), (250, 150)])
    mouse_stroke(qtbot, canvas, [(150, 250)])  # a dot

    image = canvas.grab().toImage()
    assert QColor(image.pixel(150, 150)).lightness() > 200  # on the line
    assert QColor(image.pixel(150, 250)).lightness() > 200  # the dot
    assert QColor(image.pixel(150, 60)).lightness() < 30  # well away from both
    assert QColor(image.pixel(20, 20)).lightness() < 30


def test_ctrl_z_undoes_the_last_stroke_and_delete_clears(qtbot, canvas):
    mouse_stroke(qtbot, canvas, [(30, 30), (90, 90)])
    mouse_stroke(qtbot, canvas, [(200, 30), (200, 200)])
    first = canvas.strokes()[0]

    with qtbot.waitSignal(canvas.strokes_changed):
        qtbot.keyClick(canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert len(canvas.strokes()) == 1
    np.testing.assert_array_equal(canvas.strokes()[0], first)

    mouse_stroke(qtbot, canvas, [(200, 30), (200, 200)])
    with qtbot.waitSignal(canvas.strokes_changed):
        qtbot.keyClick(canvas, Qt.Key.Key_Delete)
    assert canvas.is_empty()

    mouse_stroke(qtbot, canvas, [(200, 30), (200, 200)])
    qtbot.keyClick(canvas, Qt.Key.Key_Backspace)
    assert canvas.is_empty()


def test_undo_and_clear_on_an_empty_canvas_change_nothing(qtbot, canvas):
    with qtbot.assertNotEmitted(canvas.strokes_changed):
        canvas.undo()
        canvas.clear()
        qtbot.keyClick(canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert canvas.is_empty()


def test_set_strokes_replaces_the_drawing_and_checks_its_input(qtbot, canvas):
    mouse_stroke(qtbot, canvas, [(30, 30), (90, 90)])
    with qtbot.waitSignal(canvas.strokes_changed):
        canvas.set_strokes([[(0.2, 0.2), (0.8, 0.8)], [(0.5, 0.1)]], widths=[1.0, 1.5])
    assert [s.tolist() for s in canvas.strokes()] == [[[0.2, 0.2], [0.8, 0.8]], [[0.5, 0.1]]]
    assert canvas.widths() == [1.0, 1.5]

    with pytest.raises(ValueError, match="at least one point"):
        canvas.set_strokes([[]])
    with pytest.raises(ValueError, match="one width factor per stroke"):
        canvas.set_strokes([[(0.1, 0.1)]], widths=[1.0, 2.0])
    assert len(canvas.strokes()) == 2  # a refused drawing leaves the old one


def _pen() -> QPointingDevice:
    return QPointingDevice(
        "test stylus", 1, QInputDevice.DeviceType.Stylus, QPointingDevice.PointerType.Pen,
        QInputDevice.Capability.Position | QInputDevice.Capability.Pressure, 1, 2,
    )


def _pen_stroke(widget, device, points, pressure):
    kinds = [QTabletEvent.Type.TabletPress] + [QTabletEvent.Type.TabletMove] * (
        len(points) - 1) + [QTabletEvent.Type.TabletRelease]
    for kind, (x, y) in zip(kinds, [*points, points[-1]], strict=True):
        down = kind != QTabletEvent.Type.TabletRelease
        event = QTabletEvent(
            kind, device, QPointF(x, y), QPointF(widget.mapToGlobal(QPoint(x, y))),
            pressure if down else 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
            Qt.KeyboardModifier.NoModifier, Qt.MouseButton.LeftButton,
            Qt.MouseButton.LeftButton if down else Qt.MouseButton.NoButton,
        )
        QApplication.sendEvent(widget, event)
        assert event.isAccepted()  # so Qt synthesises no mouse events as well


def test_pen_pressure_sets_each_strokes_width(qtbot, canvas):
    device = _pen()
    _pen_stroke(canvas, device, [(30, 30), (60, 60), (90, 90)], pressure=0.9)
    _pen_stroke(canvas, device, [(200, 30), (200, 100)], pressure=0.1)

    heavy, light = canvas.widths()
    assert heavy == pytest.approx(1.4)
    assert light == pytest.approx(0.6)
    np.testing.assert_allclose(canvas.strokes()[0], [[0.1, 0.1], [0.2, 0.2], [0.3, 0.3]])
    # The hard stroke is painted wider: 6 px from its centre line is ink, but not for the light.
    image = canvas.grab().toImage()
    assert QColor(image.pixel(64, 56)).lightness() > 200  # 5.7 px off the diagonal
    assert QColor(image.pixel(206, 65)).lightness() < 30


def ink_at(image, x: float, y: float) -> int:
    return QColor(image.pixel(round(x), round(y))).lightness()


def test_a_fast_stroke_of_few_far_apart_events_is_one_unbroken_line(qtbot, canvas):
    # A zigzag flicked across the canvas: four mouse events, 120-250 px apart.
    corners = [(30, 30), (270, 90), (45, 165), (255, 270)]
    mouse_stroke(qtbot, canvas, corners)
    assert len(canvas.strokes()[0]) == 4

    image = canvas.grab().toImage()
    gaps = [(round(x), round(y))
            for (x0, y0), (x1, y1) in pairwise(corners)
            for t in np.linspace(0, 1, 200)
            if ink_at(image, x := x0 + (x1 - x0) * t, y := y0 + (y1 - y0) * t) < 200]
    # Measured: 0. The line also passes through every place the mouse reported, corners
    # included (a curve through the midpoints missed each corner by 20+ px, while the
    # model was given the corner).
    assert gaps == []
    midway = [((x0 + x1) / 2, (y0 + y1) / 2 + 40) for (x0, y0), (x1, y1) in pairwise(corners)]
    assert all(ink_at(image, x, y) < 30 for x, y in midway)  # a line, not a smear


def test_a_fast_stroke_reaches_the_model_as_one_connected_line(qtbot, canvas):
    from engine.inference.predict import preprocess_image, render_strokes

    mouse_stroke(qtbot, canvas, [(30, 30), (270, 90), (45, 165), (255, 270)])
    digit = preprocess_image(render_strokes(canvas.strokes(), canvas.widths(), (1.0, 1.0)))
    ink = digit > 0.5
    # Flood fill from one ink pixel reaches every ink pixel: no beads, no gaps.
    start = tuple(np.argwhere(ink)[0])
    seen, todo = {start}, [start]
    while todo:
        r, c = todo.pop()
        for nr, nc in ((r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)):
            if 0 <= nr < 28 and 0 <= nc < 28 and ink[nr, nc] and (nr, nc) not in seen:
                seen.add((nr, nc))
                todo.append((nr, nc))
    assert len(seen) == int(ink.sum()) > 40


def sized_canvas(qtbot, side: int) -> DrawCanvas:
    widget = DrawCanvas()
    widget.resize(side, side)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def test_a_digit_looks_the_same_on_a_small_and_a_large_canvas(qtbot):
    from engine.inference.predict import preprocess_image, render_strokes

    small, large = sized_canvas(qtbot, 200), sized_canvas(qtbot, 600)
    gesture = [(0.3, 0.2), (0.7, 0.2), (0.45, 0.85)]  # a 7
    mouse_stroke(qtbot, small, [(x * 200, y * 200) for x, y in gesture])
    mouse_stroke(qtbot, large, [(x * 600, y * 600) for x, y in gesture])

    def grey(widget, shrink):
        image = widget.grab().toImage().convertToFormat(QImage.Format.Format_Grayscale8)
        rows = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), -1)
        pixels = rows[:, :image.width()].astype(np.float64)
        side = pixels.shape[0] // shrink
        return pixels[:side * shrink, :side * shrink].reshape(
            side, shrink, side, shrink).mean(axis=(1, 3))

    # On screen: the large canvas shrunk 3x is the small one (the pen is 4.5% of the side
    # on both), and the ink covers the same share of it.
    on_small, on_large = grey(small, 1), grey(large, 3)
    assert (on_small > 128).mean() > 0.03
    assert np.abs(on_small - on_large).mean() < 3  # of 255; measured 0.02
    assert (on_small > 128).mean() == pytest.approx((on_large > 128).mean(), rel=0.05)
    # For the model: the same 28x28 input, stroke width included.
    inputs = [preprocess_image(render_strokes(c.strokes(), c.widths(), (1.0, 1.0)))
              for c in (small, large)]
    np.testing.assert_allclose(inputs[0], inputs[1], atol=1e-6)


def test_points_that_are_not_numbers_are_refused_or_ignored(qtbot, canvas):
    with pytest.raises(ValueError, match="finite numbers"):
        canvas.set_strokes([[(0.2, float("nan"))]])
    for width in (0.0, float("nan")):
        with pytest.raises(ValueError, match="positive numbers"):
            canvas.set_strokes([[(0.2, 0.2)]], widths=[width])
    assert canvas.is_empty()
    # A broken device event (NaN position or pressure) draws nothing and breaks nothing.
    device = _pen()
    _pen_stroke(canvas, device, [(30, 30), (60, 60)], pressure=float("nan"))
    assert canvas.widths() == [1.0]
    nan = QTabletEvent(QTabletEvent.Type.TabletMove, device, QPointF(float("nan"), 5.0),
                       QPointF(0, 0), 0.5, 0.0, 0.0, 0.0, 0.0, 0.0,
                       Qt.KeyboardModifier.NoModifier, Qt.MouseButton.LeftButton,
                       Qt.MouseButton.LeftButton)
    press = QTabletEvent(QTabletEvent.Type.TabletPress, device, QPointF(100, 100),
                         QPointF(0, 0), 0.5, 0.0, 0.0, 0.0, 0.0, 0.0,
                         Qt.KeyboardModifier.NoModifier, Qt.MouseButton.LeftButton,
                         Qt.MouseButton.LeftButton)
    QApplication.sendEvent(canvas, press)
    QApplication.sendEvent(canvas, nan)
    assert np.isfinite(np.concatenate(canvas.strokes())).all()
    assert len(canvas.strokes()) == 2
