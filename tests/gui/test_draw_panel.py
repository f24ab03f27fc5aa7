"""DrawPanel: digits drawn with the (simulated) mouse, read by the bundled LeNet-5."""

from __future__ import annotations

import time
from itertools import pairwise

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from engine.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from engine.config import TrainConfig
from engine.models import build_model
from engine.predict import preprocess_image, render_strokes
from gui import draw_panel
from gui.draw_panel import DrawPanel
from tests.gui.digit_strokes import all_drawings, place

# The offscreen test platform cannot pass a window's size limits on, and says so whenever a
# layout changes them; real platforms can.
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")

CIFAR10 = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
           "truck")
# (name, centre, height) in canvas units: where and how big each digit is drawn.
PLACEMENTS = [
    ("large, centred", (0.5, 0.5), 0.8),
    ("small, top-left corner", (0.14, 0.16), 0.24),
    ("medium, bottom-right", (0.7, 0.68), 0.5),
]


@pytest.fixture
def panel(qtbot):
    widget = DrawPanel()
    widget.resize(900, 560)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


@pytest.fixture
def bundled(panel):
    panel.load_bundled_model()
    assert panel.model_label.text().startswith("Bundled LeNet-5"), (
        f"The bundled model {draw_panel.BUNDLED_MODEL} is needed: {panel.model_label.text()}")
    return panel


def draw(qtbot, panel, strokes):
    """Draw strokes (canvas 0..1 units) with the mouse, then wait for the last prediction."""
    canvas = panel.canvas
    side = canvas.width()
    for stroke in strokes:
        points = [QPoint(round(x * side), round(y * side)) for x, y in stroke]
        qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=points[0])
        for point in points[1:]:
            # QTest.mouseMove carries the pressed button in Qt 6 (it tracks the press).
            QTest.mouseMove(canvas, point)
        qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=points[-1])
    settle(qtbot, panel)


def settle(qtbot, panel):
    qtbot.waitUntil(lambda: not panel.prediction_pending(), timeout=2000)


def expected_probabilities(panel):
    """The prediction for the canvas's current strokes, computed directly."""
    image = render_strokes(panel.canvas.strokes(), panel.canvas.widths(), canvas_size=(1, 1))
    return panel.predictor().predict(preprocess_image(image))


def test_the_canvas_stays_square_when_the_panel_is_resized(qtbot, panel):
    canvas = panel.canvas
    before = canvas.width()
    assert canvas.height() == before >= 400
    panel.resize(1200, 480)
    qtbot.waitUntil(lambda: canvas.width() != before)
    assert canvas.height() == canvas.width() >= 380


@pytest.mark.parametrize("placement", PLACEMENTS, ids=[p[0] for p in PLACEMENTS])
def test_the_bundled_model_reads_digits_drawn_with_the_mouse(qtbot, bundled, placement):
    name, centre, height = placement
    wrong = []
    for digit, style, strokes in all_drawings():
        draw(qtbot, bundled, place(strokes, centre, height))
        if bundled.predicted_class() != str(digit):
            wrong.append((digit, style, bundled.predicted_class()))
        qtbot.keyClick(bundled.canvas, Qt.Key.Key_Delete)
        settle(qtbot, bundled)
        assert bundled.predicted_class() is None
    classes_right = 10 - len({digit for digit, _, _ in wrong})
    drawings = len(all_drawings())
    print(f"{name}: {classes_right}/10 classes right (every style), "
          f"{drawings - len(wrong)}/{drawings} drawings right; wrong: {wrong}")
    # A class counts as right only if every style of it is read right.
    assert classes_right >= 9, f"{name}: wrong {wrong}"


def test_an_empty_canvas_shows_no_prediction(qtbot, bundled):
    assert bundled.predicted_class() is None
    assert bundled.probabilities() is None
    assert bundled.answer_label.text() == "Draw a digit"
    assert bundled.confidence_label.text() == ""


def test_a_drawing_shows_the_prediction_and_the_model_input(qtbot, bundled):
    [(_, _, seven)] = [d for d in all_drawings() if d[:2] == (7, "plain")]
    with qtbot.waitSignal(bundled.prediction_made) as emitted:
        draw(qtbot, bundled, place(seven, (0.5, 0.5), 0.7))

    probabilities = bundled.probabilities()
    assert probabilities.shape == (10,)
    assert probabilities.sum() == pytest.approx(1.0, abs=1e-5)
    assert bundled.answer_label.text() == bundled.predicted_class() == "7"
    assert bundled.confidence_label.text() == f"{probabilities.max():.1%} confident"
    np.testing.assert_array_equal(emitted.args[0], probabilities)
    # The preview shows the 28x28 input at 4x with nearest-neighbour scaling: ink, and
    # pixels in 4x4 blocks.
    preview = bundled.input_view.pixmap().toImage()
    assert (preview.width(), preview.height()) == (112, 112)
    grey = np.array([[preview.pixelColor(x, y).value() for x in range(112)] for y in range(112)])
    assert grey.max() > 200 and grey[:8].max() == 0  # ink in the middle, none at the top
    assert (grey[::4, ::4].repeat(4, 0).repeat(4, 1) == grey).all()


def test_clear_button_and_undo_update_the_prediction(qtbot, bundled):
    [(_, _, four)] = [d for d in all_drawings() if d[:2] == (4, "open")]
    draw(qtbot, bundled, place(four, (0.5, 0.5), 0.7))
    assert bundled.predicted_class() == "4"

    qtbot.keyClick(bundled.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    settle(qtbot, bundled)
    assert len(bundled.canvas.strokes()) == 1  # only the first stroke of the 4 is left
    np.testing.assert_allclose(bundled.probabilities(), expected_probabilities(bundled))

    qtbot.mouseClick(bundled.undo_button, Qt.MouseButton.LeftButton)
    settle(qtbot, bundled)
    assert bundled.canvas.is_empty() and bundled.predicted_class() is None

    draw(qtbot, bundled, place(four, (0.5, 0.5), 0.7))
    with qtbot.waitSignal(bundled.prediction_made) as emitted:
        qtbot.mouseClick(bundled.clear_button, Qt.MouseButton.LeftButton)
    assert emitted.args == [None]
    assert bundled.canvas.is_empty()
    assert bundled.probabilities() is None
    assert bundled.answer_label.text() == "Draw a digit"


def test_predictions_are_throttled_but_the_last_one_is_of_the_final_drawing(qtbot, bundled):
    # One long stroke of many small mouse moves, a few ms apart, as a real drag sends them.
    [(_, _, seven)] = [d for d in all_drawings() if d[:2] == (7, "plain")]
    side = bundled.canvas.width()
    path = place(seven, (0.5, 0.5), 0.7)[0] * side
    fine = np.concatenate([np.linspace(a, b, max(1, round(np.hypot(*(b - a)) / 4)),
                                       endpoint=False) for a, b in pairwise(path)]
                          + [path[-1:]])  # a move every ~4 px
    points = [QPoint(round(x), round(y)) for x, y in fine]
    before = bundled.predictions_made()

    started = time.monotonic()
    qtbot.mousePress(bundled.canvas, Qt.MouseButton.LeftButton, pos=points[0])
    for point in points[1:]:
        QTest.mouseMove(bundled.canvas, point)
        # Paces the drag like a real mouse, which reports every 5-10 ms; QTest's own `delay`
        # only shifts event timestamps. The event loop runs meanwhile, so the throttle's
        # timer can fire mid-drag.
        qtbot.wait(5)
    qtbot.mouseRelease(bundled.canvas, Qt.MouseButton.LeftButton, pos=points[-1])
    settle(qtbot, bundled)
    elapsed_ms = (time.monotonic() - started) * 1000

    moves = len(points) - 1
    made = bundled.predictions_made() - before
    assert len(bundled.canvas.strokes()[0]) == len(points)  # every move reached the canvas
    print(f"{made} predictions for {moves} mouse moves in {elapsed_ms:.0f} ms")
    assert made < moves / 3, f"{made} predictions for {moves} moves"
    # Live while drawing (not only once at the end), never more often than the interval.
    assert 2 <= made <= elapsed_ms / draw_panel.PREDICT_INTERVAL_MS + 1, (
        f"{made} predictions in {elapsed_ms:.0f} ms")
    np.testing.assert_allclose(bundled.probabilities(), expected_probabilities(bundled))
    assert bundled.predicted_class() == "7"


def test_a_model_not_trained_on_digits_still_predicts_and_says_so(qtbot, panel, tmp_path):
    config = TrainConfig(arch="cifar-cnn", dataset="cifar10")
    model = build_model("cifar-cnn", 3, 10, 32)
    path = save_checkpoint(tmp_path / "cifar.pt", Checkpoint(
        config=config, model_state=model.state_dict(), optimizer_state=None,
        scheduler_state=None, scaler_state=None, epoch=1, history=[], class_names=CIFAR10,
        mean=(0.49, 0.48, 0.45), std=(0.25, 0.24, 0.26), in_channels=3, input_size=32,
        is_digits=False))
    panel.show_checkpoint(load_checkpoint(path), f"Loaded checkpoint: {path.name}")

    assert panel.model_label.text() == "Loaded checkpoint: cifar.pt"
    assert panel.note_label.isVisible()
    assert "meant for digits" in panel.note_label.text()
    # pyqtgraph keeps the ticks given to AxisItem.setTicks in _tickLevels.
    ticks = panel.chart.getPlotItem().getAxis("left")._tickLevels[0]
    assert [name for _, name in ticks] == list(CIFAR10)

    [(_, _, three)] = [d for d in all_drawings() if d[:2] == (3, "two bumps")]
    draw(qtbot, panel, place(three, (0.5, 0.5), 0.7))
    assert panel.predicted_class() in CIFAR10
    assert panel.answer_label.text() == panel.predicted_class()
    assert panel.probabilities().shape == (10,)


def test_without_a_model_the_canvas_still_shows_the_model_input(qtbot, panel):
    assert panel.answer_label.text() == "No model"
    with qtbot.assertNotEmitted(panel.prediction_made):
        draw(qtbot, panel, [[(0.5, 0.2), (0.5, 0.8)]])
    assert panel.predicted_class() is None
    assert panel.input_view.pixmap().toImage().pixelColor(56, 56).value() > 200


def test_a_missing_bundled_model_is_explained_in_the_panel(qtbot, panel, tmp_path,
                                                           monkeypatch):
    monkeypatch.setattr(draw_panel, "BUNDLED_MODEL", tmp_path / "digits-lenet5.pt")
    assert not panel.load_bundled_model()

    assert "could not be loaded" in panel.model_label.text()
    assert "does not exist" in panel.model_label.text()
    assert panel.answer_label.text() == "No model"


def test_a_model_that_cannot_take_a_drawing_is_explained_in_the_panel(qtbot, bundled):
    four_channels = build_model("lenet5-relu", 4, 10, 32)
    ckpt = Checkpoint(
        config=TrainConfig(arch="lenet5-relu", dataset="folder"),
        model_state=four_channels.state_dict(), optimizer_state=None, scheduler_state=None,
        scaler_state=None, epoch=1, history=[], class_names=tuple("abcdefghij"), mean=(0.5,) * 4,
        std=(0.25,) * 4, in_channels=4, input_size=32, is_digits=False)

    in_use = bundled.predictor()
    description = bundled.model_label.text()
    assert not bundled.show_checkpoint(ckpt, "Loaded checkpoint: rgba.pt")
    assert "cannot predict from the canvas" in bundled.note_label.text()
    assert "4 input channels" in bundled.note_label.text()
    # Nothing is lost: the model that could read drawings stays in use.
    assert bundled.predictor() is in_use
    assert bundled.model_label.text() == description
