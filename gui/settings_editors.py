"""The settings form's editors, built from a `TrainConfig` field's metadata.

A numeric field's editor takes its range, steps and digits from the field's `Bounds`
(engine/config.py), so the form holds every value the config accepts and no other; the
fields with their own lists (architecture, dataset, ...) get combo boxes from the form.
Also the small labels shown under each field.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from typing import Any

from PySide6.QtGui import QFont, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from engine.config import Bounds, field_bounds, is_whole
from gui.lr_input import LogSpinBox, step_log_scale

COMBO_MIN_CHARACTERS = 12
QSPINBOX_MAX = 2**31 - 1  # QSpinBox holds a C int


class ZeroOrRangeSpinBox(QSpinBox):
    """0 (shown as a word, "auto") or `minimum`..`maximum`: the arrows skip the gap between."""

    def __init__(self, minimum: int, maximum: int, zero: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._minimum_size = minimum
        self.setRange(0, maximum)
        self.setSpecialValueText(zero)

    def stepBy(self, steps: int) -> None:  # noqa: N802 (Qt's name)
        if steps > 0 and self.value() < self._minimum_size:
            self.setValue(self._minimum_size + steps - 1)
        elif steps < 0 and self.value() + steps < self._minimum_size:
            self.setValue(0)
        else:
            super().stepBy(steps)


class WholeNumberBox(QDoubleSpinBox):
    """A spin box for whole numbers past QSpinBox's 32-bit range (seeds go to 2^32-1): a
    double holds every whole number up to 2^53 exactly, and 0 decimals keeps it whole."""

    def __init__(self, minimum: int, maximum: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setDecimals(0)
        self.setRange(minimum, maximum)

    def whole_value(self) -> int:
        return int(self.value())


class CompactDoubleSpinBox(QDoubleSpinBox):
    """Shows 0.9 rather than 0.9000: the decimals only bound what can be typed."""

    def textFromValue(self, value: float) -> str:  # noqa: N802 (Qt's name)
        text = f"{value:.{self.decimals()}f}"
        return text.rstrip("0").rstrip(".") if "." in text else text


def bounded_editor(bounds: Bounds, whole: bool) -> QAbstractSpinBox:
    """A spin box holding exactly the values `bounds` admits (to its decimals)."""
    if bounds.log_scale:
        # Typing is never clamped in a LogSpinBox; its range bounds the arrows, whose
        # steps (1-2-5 per decade) stop at the last one inside the bounds.
        top = step_log_scale(bounds.maximum, -1) if bounds.below_maximum else bounds.maximum
        return LogSpinBox(minimum=bounds.step, maximum=top,
                          allow_zero=bounds.minimum == 0 and not bounds.above_minimum)
    if whole and bounds.zero and bounds.minimum > 0:
        return ZeroOrRangeSpinBox(int(bounds.minimum), int(bounds.maximum), bounds.zero)
    if whole and bounds.maximum > QSPINBOX_MAX:
        return WholeNumberBox(int(bounds.minimum), int(bounds.maximum))
    box: QSpinBox | QDoubleSpinBox
    if whole:
        box = QSpinBox()
        box.setRange(int(bounds.minimum), int(bounds.maximum))
    else:
        box = CompactDoubleSpinBox()
        box.setDecimals(bounds.decimals)
        last_digit = 10.0**-bounds.decimals  # an open end is one shown digit inside it
        box.setRange(round(bounds.minimum + last_digit * bounds.above_minimum, bounds.decimals),
                     round(bounds.maximum - last_digit * bounds.below_maximum, bounds.decimals))
        box.setSingleStep(bounds.step)
    box.setSpecialValueText(bounds.zero if bounds.minimum == 0 else "")  # shown at 0
    return box


def generic_editor(f: dataclasses.Field) -> QWidget:
    """An editor for a field the form has no list for, chosen by its bounds or its type."""
    bounds = field_bounds(f.name)
    if bounds is not None:
        return bounded_editor(bounds, is_whole(f.name))
    if f.metadata.get("choices"):
        return combo_box([(c, c) for c in f.metadata["choices"]])
    if isinstance(f.default, bool):
        return QCheckBox()
    return QLineEdit()


def connect_editor(editor: QWidget, on_edit: Callable[..., None]
                   ) -> tuple[Callable[[], Any], Callable[[Any], None]]:
    """Call `on_edit` on every change of `editor`; (its value's getter, its setter)."""
    if isinstance(editor, QComboBox):
        editor.currentIndexChanged.connect(on_edit)
        return editor.currentData, lambda value: select(editor, value)
    if isinstance(editor, QCheckBox):
        editor.toggled.connect(on_edit)
        return editor.isChecked, lambda value: editor.setChecked(bool(value))
    if isinstance(editor, LogSpinBox):
        editor.textChanged.connect(on_edit)
        return editor.value, editor.setValue
    if isinstance(editor, WholeNumberBox):
        editor.valueChanged.connect(on_edit)
        return editor.whole_value, editor.setValue
    if isinstance(editor, (QSpinBox, QDoubleSpinBox)):
        editor.valueChanged.connect(on_edit)
        return editor.value, editor.setValue
    assert isinstance(editor, QLineEdit)
    editor.textChanged.connect(on_edit)
    return editor.text, lambda value: editor.setText(str(value))


def combo_box(items: list[tuple[str, str]]) -> QComboBox:
    """A combo box as narrow as a short choice: a long one is elided in the box (whole in
    its list), so the form fits a 1024-pixel-wide screen."""
    combo = QComboBox()
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(COMBO_MIN_CHARACTERS)
    for text, value in items:
        combo.addItem(text, value)
    return combo


def select(combo: QComboBox, value: Any) -> None:
    """Select `value`; one the list lacks is added, marked, so validation can name it."""
    index = combo.findData(value)
    if index < 0:
        combo.addItem(f"{value} (not available)", value)
        index = combo.count() - 1
    combo.setCurrentIndex(index)


def folder_row(line_edit: QLineEdit, title: str, recheck: Callable[[], None]) -> QWidget:
    """`line_edit` with a Browse… button that picks a folder (dialog `title`) into it;
    picking the folder already there calls `recheck` (it may have just been made)."""
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(line_edit, 1)
    browse = QPushButton("Browse…")

    def browse_for_folder() -> None:
        start = os.path.expanduser(line_edit.text())  # Qt does not expand "~"
        folder = QFileDialog.getExistingDirectory(row, title, start)
        if folder == line_edit.text():
            recheck()
        elif folder:
            line_edit.setText(folder)

    browse.clicked.connect(browse_for_folder)
    layout.addWidget(browse)
    return row


class NoteLabel(QLabel):
    """A word-wrapped note at least as tall as its text needs at the width it has.

    A QFormLayout in a QGroupBox sizes each row for a field a few pixels wider than the one
    it then gets, so a note whose text wraps just there lost its last line (a dataset's
    description, depending on the one chosen before).
    """

    def setText(self, text: str) -> None:  # noqa: N802 - Qt's name
        super().setText(text)
        self._fit()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        height = self.heightForWidth(self.width()) if self.text() and self.width() > 0 else 0
        if height != self.minimumHeight():
            self.setMinimumHeight(max(height, 0))


def small_label() -> QLabel:
    """A hidden, word-wrapped note in a slightly smaller font (see `show_note`)."""
    label = NoteLabel()
    label.setWordWrap(True)
    font = QFont(label.font())
    font.setPointSizeF(font.pointSizeF() * 0.9)
    label.setFont(font)
    label.hide()
    return label


def show_note(label: QLabel, text: str) -> None:
    """Show `text` in `label`; hide the label while there is none."""
    label.setText(text)
    label.setVisible(bool(text))
