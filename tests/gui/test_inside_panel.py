"""The Inside tab: a drawing and a picked image, looked into by every architecture."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from engine.catalog import network_channels
from engine.config import TrainConfig
from engine.inference.inspect import conv_layer_names
from engine.models.architectures import MODELS, build_model
from engine.records.checkpoint import Checkpoint
from gui.draw_panel import DrawPanel
from gui.inside_panel import MAX_MAPS, InsidePanel
from gui.run_model import InspectRequest, RunModel
from tools.digit_strokes import all_drawings, place
from tools.sample_datasets import CIFAR10_CLASSES, learnable_images
from tools.sample_images import photo_of_a_digit

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")
TIMEOUT_MS = 30_000
DIGITS = tuple("0123456789")


def checkpoint(arch: str, channels: int, classes: tuple[str, ...], size: int = 32,
               is_digits: bool = True) -> Checkpoint:
    torch.manual_seed(0)
    model = build_model(arch, channels, len(classes), size)
    return Checkpoint(
        config=TrainConfig(arch=arch, dataset="mnist-sample" if is_digits else "cifar10"),
        model_state=model.state_dict(), optimizer_state=None, scheduler_state=None,
        scaler_state=None, epoch=1, history=[], class_names=classes,
        mean=(0.5,) * channels, std=(0.25,) * channels, in_channels=channels,
        input_size=size, is_digits=is_digits)


@pytest.fixture
def parts(qtbot):
    draw = DrawPanel()
    run = RunModel()
    inside = InsidePanel(draw, run)
    inside.resize(1100, 760)
    for widget in (draw, inside):
        qtbot.addWidget(widget)
    inside.show()
    qtbot.waitExposed(inside)
    return draw, run, inside


def seven() -> list:
    [(_, _, drawing)] = [d for d in all_drawings() if d[:2] == (7, "plain")]
    return place(drawing, (0.5, 0.5), 0.8)


def settle(qtbot, draw, inside):
    qtbot.waitUntil(lambda: not draw.prediction_pending() and not inside.busy(),
                    timeout=TIMEOUT_MS)


def conv_sections(inside) -> list:
    return [s for s in inside.sheet.sections() if s.title.startswith("Conv layer")]


def test_the_drawing_is_read_and_its_layers_shown(qtbot, parts):
    draw, _, inside = parts
    assert draw.load_bundled_model()
    settle(qtbot, draw, inside)
    assert inside.seen is None and "Draw a digit" in inside.message_label.text()

    draw.canvas.set_strokes(seven())
    settle(qtbot, draw, inside)

    assert inside.seen is not None
    assert inside.answer_label.text().startswith(f"{draw.predicted_class()} · ")
    assert inside.canvas.strokes()[0].tolist() == draw.canvas.strokes()[0].tolist()
    sections = inside.sheet.sections()
    assert sections[0].title == "First layer: 6 filters of 5×5"
    assert [s.title for s in conv_sections(inside)] == ["Conv layer 1 of 2",
                                                        "Conv layer 2 of 2"]
    assert [len(s.tiles) for s in conv_sections(inside)] == [6, MAX_MAPS]
    assert conv_sections(inside)[1].note == "16 maps of 10×10"
    assert "HiResCAM on the last 10×10 feature map" in inside.heat_caption.text()
    assert "Your drawing" in inside.source_label.text()


def test_drawing_on_the_inside_canvas_draws_on_the_draw_tab_too(qtbot, parts):
    draw, _, inside = parts
    assert draw.load_bundled_model()
    canvas = inside.canvas
    side = canvas.width()
    points = [QPoint(round(x * side), round(y * side)) for x, y in seven()[0]]
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=points[0])
    for point in points[1:]:
        QTest.mouseMove(canvas, point)
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=points[-1])
    # The stroke's end is read at once, not after the Draw tab's prediction throttle.
    assert not draw.prediction_pending() and inside.busy()
    settle(qtbot, draw, inside)

    assert len(draw.canvas.strokes()) == 1
    assert np.allclose(draw.canvas.strokes()[0], canvas.strokes()[0])
    assert len(canvas.strokes()[0]) > 5  # the whole stroke, not cut by the copying
    assert inside.seen is not None
    assert inside.answer_label.text().startswith(f"{draw.predicted_class()} · ")


@pytest.mark.parametrize("arch", list(MODELS))
def test_every_architecture_shows_its_layers_for_a_drawing(qtbot, parts, arch):
    draw, _, inside = parts
    channels = network_channels(arch, 1)  # pretrained networks read digits as colour
    ckpt = checkpoint(arch, channels, DIGITS)
    assert draw.add_opened_model(ckpt, f"{arch}.pt")
    draw.canvas.set_strokes(seven())
    settle(qtbot, draw, inside)

    assert inside.seen is not None, inside.message_label.text()
    model = build_model(arch, channels, 10, 32)
    names = conv_layer_names(model)
    assert len(conv_sections(inside)) == len(names)
    first = inside.sheet.sections()[0]
    if names:
        assert first.title.startswith("First layer: ") and "filter" in first.title
        assert "convolutional layer" in inside.message_label.text()
    else:
        assert "no convolutional layers" in inside.message_label.text()
        assert "unit" in first.title
        if arch == "softmax":  # one template per class, named
            assert [t.caption for t in first.tiles] == list(DIGITS)


@pytest.mark.parametrize("arch", list(MODELS))
def test_every_architecture_shows_its_layers_for_a_picked_image(qtbot, parts, arch):
    draw, run, inside = parts
    run.keep_model(checkpoint(arch, 3, CIFAR10_CLASSES, is_digits=False), None)
    images, labels = learnable_images(1, 10, 32, channels=3)
    run.inspect_requested.emit(InspectRequest(images[0], int(labels[0]), "Test image 7"))
    settle(qtbot, draw, inside)

    assert inside.seen is not None, inside.message_label.text()
    assert len(conv_sections(inside)) == len(conv_layer_names(build_model(arch, 3, 10, 32)))
    text = inside.source_label.text()
    assert "Test image 7" in text and f"true class: {CIFAR10_CLASSES[labels[0]]}" in text
    assert "the run's" in text
    assert inside.back_button.isVisible()


def test_a_picked_image_no_model_takes_is_said(qtbot, parts):
    draw, run, inside = parts
    assert draw.load_bundled_model()  # reads greyscale digits only
    images, _ = learnable_images(1, 10, 32, channels=3)
    run.inspect_requested.emit(InspectRequest(images[0], None, "Training image 3"))
    settle(qtbot, draw, inside)
    assert inside.seen is None
    assert "No model takes colour 32×32 images yet" in inside.message_label.text()

    inside.back_button.click()
    draw.canvas.set_strokes(seven())
    settle(qtbot, draw, inside)
    assert inside.source() is None and inside.seen is not None


def test_a_picked_image_brings_the_tab_to_the_front_when_asked(qtbot):
    from PySide6.QtWidgets import QLabel, QTabWidget

    from gui.pending_panel import PendingPanel

    draw, run = DrawPanel(), RunModel()
    tabs = QTabWidget()
    qtbot.addWidget(draw)
    qtbot.addWidget(tabs)
    page = PendingPanel("waiting")  # as the window holds it until PyTorch has loaded
    tabs.addTab(QLabel("the Training tab"), "Training")
    tabs.addTab(page, "Inside")
    page.set_panel(InsidePanel(draw, run))
    tabs.show()
    images, _ = learnable_images(1, 10, 28)
    # The Results tab shows its picks itself: the Inside tab follows without taking over.
    run.inspect_requested.emit(InspectRequest(images[0], None, "Test image 1"))
    assert tabs.currentIndex() == 0
    run.inspect_requested.emit(InspectRequest(images[0], None, "Training image 1",
                                              open_inside=True))
    assert tabs.currentWidget() is page
    qtbot.waitUntil(lambda: not page.currentWidget().busy(), timeout=TIMEOUT_MS)



def test_an_image_tried_on_the_draw_tab_is_looked_into_with_its_model(qtbot, parts, tmp_path):
    draw, run, inside = parts
    assert draw.load_bundled_model()
    # The run on screen holds another 1-channel model: the Draw tab's answered, so it looks.
    run.keep_model(checkpoint("mlp", 1, tuple("abcdefghij")), None)
    photo_of_a_digit(7).save(tmp_path / "seven.jpg")
    draw.try_images([("seven.jpg", tmp_path / "seven.jpg")])
    draw.images.wait(10)
    qtbot.waitUntil(lambda: inside.source() is not None, timeout=TIMEOUT_MS)
    settle(qtbot, draw, inside)

    trial = draw.images.current()
    assert "seven.jpg" in inside.source().caption and inside.source().draw_model
    assert inside.seen.insight.predicted == int(np.argmax(trial.probabilities)) == 7
    np.testing.assert_allclose(inside.seen.insight.probabilities, trial.probabilities,
                               atol=0.02)  # the same input, to within 8-bit rounding
    draw.images.back_requested.emit()
    assert inside.source() is None  # back to the drawing, on both tabs
