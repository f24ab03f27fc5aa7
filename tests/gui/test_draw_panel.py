"""DrawPanel: digits drawn with the (simulated) mouse, read by the bundled LeNet-5."""

from __future__ import annotations

import time
from itertools import pairwise

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtTest import QTest

from engine.config import TrainConfig
from engine.inference.predict import preprocess_image, render_strokes
from engine.models.architectures import build_model
from engine.records.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from gui import draw_answer, draw_canvas, draw_panel, drawing_reader
from gui.draw_panel import DrawPanel
from gui.probability_text import format_probability
from tools.digit_strokes import all_drawings, place

# The offscreen test platform cannot pass a window's size limits on, and says so whenever a
# layout changes them; real platforms can.
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")

CIFAR10 = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
           "truck")
# (name, centre, height) in canvas units: where and how big each digit is drawn.
# The bundled model's test accuracy, as its checkpoint records it and the picker shows it.
DEMO_ACCURACY = load_checkpoint(draw_panel.BUNDLED_MODEL).history[-1]["test_acc"]
DEMO_TEXT = f"{DEMO_ACCURACY:.1%}"
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
    assert panel.load_bundled_model(), (
        f"The bundled model {draw_panel.BUNDLED_MODEL} is needed: {panel.model_label.text()}")
    assert panel.choices().in_use().origin == "bundled"
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
    assert bundled.confidence_label.text() == (
        f"{format_probability(probabilities.max())} confident")
    np.testing.assert_array_equal(emitted.args[0], probabilities)
    # The preview shows the model's input (32x32 for the demo model) at a whole scale with
    # nearest-neighbour scaling: ink, and pixels in square blocks.
    size = bundled.predictor().input_size
    scale = 112 // size
    preview = bundled.input_view.pixmap().toImage()
    assert (preview.width(), preview.height()) == (size * scale, size * scale)
    grey = np.array([[preview.pixelColor(x, y).value() for x in range(preview.width())]
                     for y in range(preview.height())])
    assert grey.max() > 200 and grey[:8].max() == 0  # ink in the middle, none at the top
    assert (grey[::scale, ::scale].repeat(scale, 0).repeat(scale, 1) == grey).all()


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
    assert 2 <= made <= elapsed_ms / drawing_reader.PREDICT_INTERVAL_MS + 1, (
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
    assert panel.add_opened_model(load_checkpoint(path), path)

    assert panel.model_picker.currentText().startswith("cifar.pt: Small CNN on CIFAR-10")
    assert panel.note_label.isVisible()
    assert "meant for digits" in panel.note_label.text()
    # pyqtgraph keeps the ticks given to AxisItem.setTicks in _tickLevels.
    ticks = panel.chart.getPlotItem().getAxis("left")._tickLevels[0]
    assert [name for _, name in ticks] == list(CIFAR10)

    [(_, _, three)] = [d for d in all_drawings() if d[:2] == (3, "two bumps")]
    draw(qtbot, panel, place(three, (0.5, 0.5), 0.7))
    assert panel.predicted_class() in CIFAR10
    assert panel.answer_label.text() == panel.predicted_class()
    # However long the class's name, it is shown whole.
    for name in CIFAR10:
        panel.answer.set_answer(name, 72, "")
        width = QFontMetrics(panel.answer_label.font()).horizontalAdvance(name)
        assert width <= panel.answer_label.width(), name
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
    listed = bundled.model_picker.count()
    assert not bundled.add_opened_model(ckpt, "rgba.pt")
    assert "cannot predict from the canvas" in bundled.note_label.text()
    assert "4 input channels" in bundled.note_label.text()
    # Nothing is lost: the model that could read drawings stays in use.
    assert bundled.predictor() is in_use
    assert bundled.model_picker.count() == listed
    assert bundled.choices().in_use().origin == "bundled"


# --- confidence as a person reads it -------------------------------------------------------


@pytest.mark.parametrize(
    ("p", "text"),
    [(1.0, ">99.9%"), (0.99951, ">99.9%"), (0.9995, ">99.9%"), (0.99949, "99.9%"),
     (0.5, "50.0%"), (0.0123, "1.2%"), (0.0005, "0.1%"), (0.00049, "<0.1%"), (0.0, "<0.1%")],
)
def test_probabilities_read_as_a_person_reads_them(p, text):
    assert format_probability(p) == text


def test_a_certain_answer_reads_more_than_99_9_not_100(qtbot, bundled):
    [(_, _, seven)] = [d for d in all_drawings() if d[:2] == (7, "plain")]
    draw(qtbot, bundled, place(seven, (0.5, 0.5), 0.7))
    top = float(bundled.probabilities().max())
    assert top >= 0.9995, "this test needs a drawing the demo model is sure of"
    assert bundled.confidence_label.text() == ">99.9% confident"
    bar_labels = [label.toPlainText() for label in bundled.chart._labels]
    assert ">99.9%" in bar_labels and "100.0%" not in bar_labels


# --- drawings that are not digits --------------------------------------------------------


def bar_colours(panel) -> set[tuple[int, int, int]]:
    return {brush.color().getRgb()[:3] for brush in panel.chart._bars.opts["brushes"]}


def test_a_dot_is_not_answered_as_a_digit(qtbot, bundled):
    with qtbot.waitSignal(bundled.prediction_made):
        draw(qtbot, bundled, [[(0.5, 0.5)]])  # a click
    assert bundled.doubt().kind == "too small"
    assert bundled.predicted_class() is None
    assert bundled.answer_label.text() == "Not a digit?"
    assert bundled.confidence_label.text() == bundled.doubt().message
    assert "confident" not in bundled.confidence_label.text()
    # The bars still show what the model would say, all in grey: no winner.
    assert bundled.probabilities().shape == (10,)
    assert bar_colours(bundled) == {draw_answer.DOUBTED_BAR_COLOUR}

    bundled.canvas.clear()
    [(_, _, seven)] = [d for d in all_drawings() if d[:2] == (7, "plain")]
    draw(qtbot, bundled, place(seven, (0.5, 0.5), 0.7))
    assert bundled.doubt() is None and bundled.predicted_class() == "7"
    assert draw_answer.TOP_BAR_COLOUR in bar_colours(bundled)


@pytest.mark.parametrize(
    ("strokes", "kind"),
    [([[(0.02, y), (0.98, y)] for y in np.arange(0.02, 0.99, 0.03)], "blob"),
     ([np.random.default_rng(0).uniform(0.03, 0.97, (40, 2))], "too much ink"),
     ([[(0.0, 0.5), (1.0, 0.5)]], "line")],
    ids=["filled canvas", "scribble", "line across"],
)
def test_filled_canvases_scribbles_and_lines_are_not_answered_as_digits(qtbot, bundled,
                                                                        strokes, kind):
    bundled.canvas.set_strokes(strokes)
    settle(qtbot, bundled)
    assert bundled.doubt().kind == kind
    assert bundled.answer_label.text() == "Not a digit?"


def test_strokes_far_off_the_canvas_give_a_sensible_answer(qtbot, bundled):
    bundled.canvas.set_strokes([[(-1e9, -1e9), (-5.0, 3.0)]])  # nothing on the canvas
    settle(qtbot, bundled)
    assert bundled.answer_label.text() == "Draw a digit"
    bundled.canvas.set_strokes([[(0.5, 0.1), (0.5, 0.9), (1e300, 0.9)]])  # runs off the edge
    settle(qtbot, bundled)
    assert bundled.probabilities() is not None
    assert bundled.answer_label.text() in ("Not a digit?", *"0123456789")


def test_a_drawing_that_cannot_be_rendered_is_explained_not_raised(qtbot, bundled,
                                                                    monkeypatch):
    # The canvas refuses such strokes; should any get through, the panel says so.
    monkeypatch.setattr(bundled.canvas, "widths", lambda: [float("nan")])
    bundled.canvas.set_strokes([[(0.3, 0.3), (0.6, 0.7)]])
    settle(qtbot, bundled)
    assert bundled.answer_label.text() == "?"
    assert "the drawing cannot be read" in bundled.confidence_label.text()
    assert bundled.predicted_class() is None


# --- the model picker ------------------------------------------------------------------------


def digit_checkpoint(test_acc: float | None, arch: str = "lenet5", seed: int = 1) -> Checkpoint:
    import torch

    torch.manual_seed(seed)
    model = build_model(arch, 1, 10, 32)
    history = [] if test_acc is None else [{"epoch": 1, "test_acc": test_acc}]
    return Checkpoint(
        config=TrainConfig(arch=arch, dataset="mnist-sample", epochs=1),
        model_state=model.state_dict(), optimizer_state={"state": {}}, scheduler_state=None,
        scaler_state=None, epoch=1, history=history, class_names=tuple("0123456789"),
        mean=(0.1307,), std=(0.3081,), in_channels=1, input_size=32, is_digits=True)


def test_the_picker_lists_the_demo_model_by_name_and_accuracy(qtbot, bundled):
    assert bundled.model_picker.count() == 1
    # The bundled checkpoint records its epochs; the last one's test accuracy is shown.
    assert bundled.model_picker.currentText() == (
        f"Demo model: LeNet-5 (ReLU, max pooling) on MNIST sample (bundled) — {DEMO_TEXT}")
    assert not bundled.news_label.isVisible()


def test_a_worse_model_just_trained_is_listed_but_the_demo_model_stays(qtbot, bundled):
    [(_, _, three)] = [d for d in all_drawings() if d[:2] == (3, "two bumps")]
    draw(qtbot, bundled, place(three, (0.5, 0.5), 0.7))
    demo = bundled.predictor()
    with qtbot.waitSignal(bundled.news) as news:
        assert bundled.add_trained_model(digit_checkpoint(0.95))

    assert bundled.model_picker.count() == 2
    assert bundled.predictor() is demo and bundled.model_picker.currentIndex() == 0
    assert bundled.model_picker.itemText(1).endswith(
        ": LeNet-5 (classic) on MNIST sample (bundled) — 95.0%")
    assert bundled.model_picker.itemText(1).startswith("Trained ")
    line = news.args[0]
    assert "\n" not in line and "95.0%" in line
    assert f"Still reading with Demo model ({DEMO_TEXT}), which scored higher." in line
    assert bundled.news_label.isVisible() and bundled.news_label.text() == line

    # Choosing it in the picker switches the model and reads the drawing again.
    with qtbot.waitSignal(bundled.prediction_made) as made:
        bundled.model_picker.setCurrentIndex(1)
    assert bundled.predictor() is not demo
    assert not bundled.news_label.isVisible()  # "still reading with the demo" is no more
    np.testing.assert_allclose(made.args[0], expected_probabilities(bundled))
    with qtbot.waitSignal(bundled.prediction_made):
        bundled.model_picker.setCurrentIndex(0)
    assert bundled.predictor() is demo and bundled.predicted_class() == "3"


def test_a_model_at_least_as_good_is_taken(qtbot, bundled):
    with qtbot.waitSignal(bundled.news) as news:
        assert bundled.add_trained_model(digit_checkpoint(DEMO_ACCURACY))  # as good as the demo
    assert bundled.model_picker.currentIndex() == 1
    assert bundled.choices().in_use().origin == "trained"
    assert news.args[0] == ("New model in the Draw tab's list, now in use: LeNet-5 (classic) "
                            f"on MNIST sample (bundled) — {DEMO_TEXT}.")
    # An unrecorded accuracy is not "at least as good": the choice stays.
    with qtbot.waitSignal(bundled.news) as news:
        assert bundled.add_trained_model(digit_checkpoint(None))
    assert bundled.model_picker.currentIndex() == 1
    assert bundled.model_picker.itemText(2).endswith("test accuracy not recorded")
    assert "which scored higher" not in news.args[0]
    assert news.args[0].endswith("choose the new one to use it.")


def test_the_input_preview_says_and_shows_the_models_own_input_size(qtbot, bundled):
    [(_, _, three)] = [d for d in all_drawings() if d[:2] == (3, "two bumps")]
    draw(qtbot, bundled, place(three, (0.5, 0.5), 0.7))
    demo_size = bundled.predictor().input_size
    assert bundled.answer.input_caption.text() == f"What the model sees ({demo_size}×{demo_size})"
    bundled.add_trained_model(digit_checkpoint(0.5))
    with qtbot.waitSignal(bundled.prediction_made):
        bundled.model_picker.setCurrentIndex(1)  # LeNet-5 classic: 32x32
    assert bundled.answer.input_caption.text() == "What the model sees (32×32)"
    assert "resized to 32x32" in bundled.input_view.toolTip()
    # The preview holds 32x32 pixels (3x3 blocks), as the model gets them (before
    # normalisation).
    preview = bundled.input_view.pixmap().toImage()
    assert (preview.width(), preview.height()) == (96, 96)
    grey = np.array([[preview.pixelColor(x, y).value() for x in range(0, 96, 3)]
                     for y in range(0, 96, 3)], dtype=np.float64)
    fed = bundled.predictor().model_input(bundled.current_input())[0, 0].numpy()
    seen = np.clip((fed * 0.3081 + 0.1307) * 255 + 0.5, 0, 255).astype(np.uint8)
    np.testing.assert_allclose(grey, seen, atol=2)


def test_an_opened_checkpoint_is_listed_and_used_once(qtbot, bundled, tmp_path):
    path = save_checkpoint(tmp_path / "mine.pt", digit_checkpoint(0.5))
    assert bundled.add_opened_model(load_checkpoint(path), path)
    assert bundled.model_picker.currentText() == (
        "mine.pt: LeNet-5 (classic) on MNIST sample (bundled) — 50.0%")
    first = bundled.predictor()
    bundled.model_picker.setCurrentIndex(0)
    save_checkpoint(path, digit_checkpoint(0.6, seed=2))  # the file changed: opened again
    assert bundled.add_opened_model(load_checkpoint(path), str(path))
    assert bundled.model_picker.count() == 2
    assert bundled.model_picker.currentText().endswith("60.0%")
    assert bundled.predictor() is not first


def test_without_the_demo_model_the_first_trained_model_is_used(qtbot, panel, tmp_path,
                                                                monkeypatch):
    monkeypatch.setattr(draw_panel, "BUNDLED_MODEL", tmp_path / "missing.pt")
    assert not panel.load_bundled_model()
    assert panel.model_picker.count() == 0
    assert panel.add_trained_model(digit_checkpoint(None))
    assert panel.model_picker.currentIndex() == 0 and panel.predictor() is not None
    assert not panel.model_label.isVisible()  # the problem shown before is gone


def test_resizing_the_canvas_scales_the_pen_and_keeps_the_models_input(qtbot, bundled):
    [(_, _, seven)] = [d for d in all_drawings() if d[:2] == (7, "plain")]
    draw(qtbot, bundled, place(seven, (0.5, 0.5), 0.7))
    before = bundled.probabilities()

    def pen_on_screen() -> float:
        """Ink width, in pixels, where the 7's bar crosses the canvas's vertical middle."""
        image = bundled.canvas.grab().toImage()
        side = bundled.canvas.width()
        column = [image.pixelColor(side // 2, y).value() for y in range(side // 3)]
        return sum(v > 128 for v in column) / side

    small = (bundled.canvas.width(), pen_on_screen())
    bundled.resize(1300, 800)
    qtbot.waitUntil(lambda: bundled.canvas.width() > small[0] * 1.3)
    settle(qtbot, bundled)
    large = (bundled.canvas.width(), pen_on_screen())
    # The pen is the same fraction of the side (4.5%): the digit looks the same, only larger.
    assert large[1] == pytest.approx(small[1], abs=2 / small[0])
    assert large[1] == pytest.approx(draw_canvas.PEN_WIDTH, rel=0.25)
    # The strokes are kept in fractions of the side: read again, they give the same input.
    np.testing.assert_allclose(expected_probabilities(bundled), before, atol=1e-6)


def test_a_stroke_is_read_as_soon_as_it_ends(qtbot, bundled):
    """Lifting the mouse reads the whole stroke at once, without the throttle's wait."""
    canvas = bundled.canvas
    side = canvas.width()
    [stroke] = place([s for d, _, s in all_drawings() if d == 1][0], (0.5, 0.5), 0.8)[:1]
    points = [QPoint(round(x * side), round(y * side)) for x, y in stroke]
    before = bundled.predictions_made()
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=points[0])
    for point in points[1:]:
        QTest.mouseMove(canvas, point)
    assert bundled.prediction_pending()
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=points[-1])
    assert not bundled.prediction_pending()
    assert bundled.predictions_made() > before
    assert np.allclose(bundled.probabilities(), expected_probabilities(bundled))


@pytest.mark.parametrize("classes", [12, 26, 100])
def test_many_classes_stay_readable(qtbot, panel, tmp_path, classes):
    names = tuple(f"class {k}" for k in range(classes))
    model = build_model("softmax", 1, classes, 28)
    path = save_checkpoint(tmp_path / "many.pt", Checkpoint(
        config=TrainConfig(arch="softmax", dataset="folder"), model_state=model.state_dict(),
        optimizer_state=None, scheduler_state=None, scaler_state=None, epoch=1, history=[],
        class_names=names, mean=(0.5,), std=(0.25,), in_channels=1, input_size=28,
        is_digits=False))
    assert panel.add_opened_model(load_checkpoint(path), path)
    [(_, _, three)] = [d for d in all_drawings() if d[:2] == (3, "two bumps")]
    draw(qtbot, panel, place(three, (0.5, 0.5), 0.7))

    probabilities = panel.probabilities()
    ticks = panel.chart.getPlotItem().getAxis("left")._tickLevels[0]
    bars = panel.chart._bars.opts["width"]
    line = QFontMetrics(panel.chart.getPlotItem().getAxis("left").style["tickFont"]
                        or panel.chart.font()).height()
    view = panel.chart.getPlotItem().getViewBox()
    if classes == 12:  # one row per class, each a line of text high
        assert [name for _, name in ticks] == list(names)
        assert view.height() / classes >= line
    else:  # the 10 most probable, most probable first, then what the others share
        top = sorted(range(classes), key=lambda i: -probabilities[i])[:10]
        assert [name for _, name in ticks] == ([names[i] for i in top]
                                               + [f"{classes - 10} others"])
        assert names[top[0]] == panel.predicted_class()
        assert len(bars) == 11 and sum(bars) == pytest.approx(1.0, abs=1e-5)
        assert bars[-1] == pytest.approx(1 - sum(probabilities[i] for i in top), abs=1e-5)
        assert view.height() / 11 >= line
