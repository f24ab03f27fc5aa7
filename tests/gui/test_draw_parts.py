"""The Draw tab's parts on their own: the throttled reader of the drawing, and the list of
models, in which listing a model is not choosing it."""

from __future__ import annotations

from engine.records.checkpoint import load_checkpoint
from gui import draw_panel
from gui.draw_canvas import DrawCanvas
from gui.draw_models import choice_for
from gui.drawing_reader import PREDICT_INTERVAL_MS, DrawingReader, DrawingReading
from gui.model_picker import ModelPicker
from tools.digit_strokes import all_drawings, place


def test_the_reader_reads_once_due_and_only_with_a_model(qtbot):
    canvas = DrawCanvas()
    qtbot.addWidget(canvas)
    reader = DrawingReader(canvas)
    assert reader.read_now() == DrawingReading()  # an empty canvas: nothing to read
    seven = next(strokes for digit, _, strokes in all_drawings() if digit == 7)
    with qtbot.waitSignal(reader.due, timeout=PREDICT_INTERVAL_MS * 20):
        canvas.set_strokes(place(seven, (0.5, 0.5), 0.8))
        assert reader.pending()
    assert not reader.pending()
    reading = reader.read_now()
    assert reading.input is not None and reading.input.shape == (28, 28)
    assert reading.probabilities is None and reader.predicted_class() is None  # no model

    ckpt = load_checkpoint(draw_panel.BUNDLED_MODEL)
    picker = ModelPicker()
    qtbot.addWidget(picker)
    index = picker.add(ckpt, choice_for(ckpt, "bundled", "Demo model"))
    reader.set_model(picker.predictor(index), reads_digits=True)
    reading = reader.read_now()
    assert reading.probabilities.shape == (10,) and reading.error is None
    assert reader.predicted_class() == "7"


def test_a_model_listed_is_not_in_use_until_selected(qtbot):
    ckpt = load_checkpoint(draw_panel.BUNDLED_MODEL)
    picker = ModelPicker()
    qtbot.addWidget(picker)
    chosen = []
    picker.chosen.connect(chosen.append)
    index = picker.add(ckpt, choice_for(ckpt, "bundled", "Demo model"))
    assert (picker.count(), picker.currentIndex(), chosen) == (1, -1, [])
    assert picker.choices.current is None
    picker.select(index)
    assert (picker.currentIndex(), chosen, picker.choices.current) == (index, [index], index)
    assert picker.toolTip() == picker.choices[index].label
