"""The model-summary panel: layers with their shapes and parameter counts, built once."""

import pytest
from PySide6.QtWidgets import QLabel, QTreeWidget, QTreeWidgetItemIterator
from torch import nn

import gui.summary_panel
from gui.summary_panel import SummaryPanel

LENET5_SHAPES = ["6×28×28", "6×28×28", "6×14×14", "16×10×10", "16×10×10", "16×5×5", "400",
                 "120", "120", "84", "84", "10"]
LENET5_PARAMS = ["156", "–", "–", "2,416", "–", "–", "–", "48,120", "–", "10,164", "–", "850"]


@pytest.fixture
def panel(qtbot):
    widget = SummaryPanel()
    qtbot.addWidget(widget)
    return widget


def table(panel: SummaryPanel) -> list[tuple[int, str, str, str]]:
    """Every row on show as (nesting level, layer, output shape, parameters)."""
    rows = []
    iterator = QTreeWidgetItemIterator(panel.findChild(QTreeWidget))
    while item := iterator.value():
        level, parent = 0, item.parent()
        while parent is not None:
            level, parent = level + 1, parent.parent()
        rows.append((level, item.text(0), item.text(1), item.text(2)))
        iterator += 1
    return rows


def label(panel: SummaryPanel, name: str) -> QLabel:
    return panel.findChild(QLabel, name)


def test_lenet5_on_32x32_digits_shows_the_textbook_shapes_and_61706_parameters(panel):
    panel.show_for("lenet5", 1, 10, 32)
    rows = table(panel)
    assert [shape for _, _, shape, _ in rows] == LENET5_SHAPES
    assert [params for _, _, _, params in rows] == LENET5_PARAMS
    assert rows[0][1].startswith("Conv2d") and rows[-1][1].startswith("Linear")
    assert "Total parameters: 61,706" in label(panel, "totals").text()
    assert "all trainable" in label(panel, "totals").text()
    assert "1×32×32" in label(panel, "totals").text()
    assert "LeNet-5" in label(panel, "heading").text()
    assert panel.summary().total_params == 61_706
    assert label(panel, "error").isHidden()


def test_nested_layers_are_indented_under_their_parent(panel):
    model = nn.Sequential(
        nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()),
        nn.Flatten(),
        nn.Linear(4 * 6 * 6, 5),
    )
    panel.show_model(model, (3, 8, 8))
    levels = [(level, shape) for level, _, shape, _ in table(panel)]
    assert levels == [(0, "4×6×6"), (1, "4×6×6"), (1, "4×6×6"), (0, "144"), (0, "5")]
    assert "Total parameters: 837" in label(panel, "totals").text()  # 3*4*9+4 + 144*5+5


def test_frozen_parameters_are_counted_apart(panel):
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3), nn.Linear(3, 2))
    model[1].requires_grad_(False)
    panel.show_model(model, (1, 2, 2))
    assert "Total parameters: 23" in label(panel, "totals").text()
    assert "8 trainable, 15 frozen" in label(panel, "totals").text()


def test_the_same_settings_are_summarised_only_once(panel, monkeypatch):
    built = []
    real_build = gui.summary_panel.build_model

    def counting_build(*args):
        built.append(args)
        return real_build(*args)

    monkeypatch.setattr(gui.summary_panel, "build_model", counting_build)
    panel.show_for("lenet5", 1, 10, 32)
    panel.show_for("lenet5", 1, 10, 32)
    panel.show_for("softmax", 1, 10, 28)
    panel.show_for("lenet5", 1, 10, 32)
    assert built == [("lenet5", 1, 10, 32), ("softmax", 1, 10, 28)]
    assert [shape for _, _, shape, _ in table(panel)] == LENET5_SHAPES  # back on LeNet


def test_settings_that_cannot_build_a_model_show_why(panel):
    panel.show_for("lenet5", 1, 10, 32)
    panel.show_for("lenet5", 1, 1, 32)
    assert "at least two classes" in label(panel, "error").text()
    assert not label(panel, "error").isHidden()
    assert table(panel) == []
    assert label(panel, "totals").text() == ""
    assert panel.summary() is None


def test_a_model_that_cannot_take_the_input_shows_why(panel):
    panel.show_model(nn.Sequential(nn.Flatten(), nn.Linear(10, 2)), (1, 8, 8))
    assert "cannot take a 1x8x8 input" in label(panel, "error").text()
    assert table(panel) == []


def test_the_error_colour_is_readable_on_white():
    from PySide6.QtGui import QColor

    from gui.contrast import AA_NORMAL_TEXT, contrast_ratio
    from gui.summary_panel import ERROR_COLOR

    assert contrast_ratio(QColor(ERROR_COLOR), QColor("white")) >= AA_NORMAL_TEXT
