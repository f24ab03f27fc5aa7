"""A number box for quantities that span decades (learning rate, weight decay).

Typing takes any decimal or scientific form ("1e-3", "0.001", "3e-4"); the arrows, the wheel
and Up/Down step along the 1-2-5 sequence (..., 1e-3, 2e-3, 5e-3, 1e-2, ...), and Page Up/Down
jump a whole decade. Values show in compact %g form.

It subclasses QAbstractSpinBox rather than QDoubleSpinBox on purpose: QDoubleSpinBox clamps
to its range, rounds to fixed decimals and reverts text it cannot read when focus leaves.
Here the text the person typed is the truth: `value()` is NaN while it is not a number, and
out-of-range numbers are kept as typed, so the settings form can say what is wrong instead of
quietly using something else.
"""

from __future__ import annotations

import math
import re

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QKeyEvent, QValidator
from PySide6.QtWidgets import QAbstractSpinBox, QWidget

_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_MANTISSAS = (1, 2, 5)
_STEPS_PER_DECADE = len(_MANTISSAS)


def parse_number(text: str) -> float:
    """The number `text` spells in decimal or scientific notation, or NaN if it is none."""
    text = text.strip()
    return float(text) if _NUMBER.fullmatch(text) else math.nan


def format_number(value: float) -> str:
    """Compact %g text that reads back as exactly `value` ("0.001", "3e-05", "0")."""
    text = f"{value:.6g}"
    if float(text) != value:  # more digits than %g shows: keep them all
        text = repr(value)
    return re.sub(r"e([+-])0*(\d)", r"e\1\2", text)  # "1e-05" -> "1e-5"


def _grid_value(index: int) -> float:
    """The index-th value of the 1-2-5 sequence, index 0 being 1.0."""
    decade, position = divmod(index, _STEPS_PER_DECADE)
    return float(f"{_MANTISSAS[position]}e{decade}")  # exact, unlike 5 * 10**-4


def _grid_index_at_or_below(value: float) -> int:
    index = math.floor(math.log10(value)) * _STEPS_PER_DECADE + _STEPS_PER_DECADE - 1
    while _grid_value(index) > value * (1 + 1e-9):
        index -= 1
    return index


def step_log_scale(value: float, steps: int) -> float:
    """Move a positive `value` `steps` places along the 1-2-5 sequence.

    A value between two grid points first moves to the neighbour in the step's direction,
    so 3e-4 steps up to 5e-4 and down to 2e-4.
    """
    index = _grid_index_at_or_below(value)
    on_grid = math.isclose(_grid_value(index), value, rel_tol=1e-9)
    if not on_grid and steps > 0:
        index += 1  # the first step up lands on the grid point above
        steps -= 1
    elif not on_grid and steps < 0:
        steps += 1  # the grid point below already is the first step down
    return _grid_value(index + steps)


class LogSpinBox(QAbstractSpinBox):
    """Spin box over a log scale. `value()` is NaN while the text is not a number."""

    valueChanged = Signal(float)  # NaN while the text is not a number
    textChanged = Signal(str)  # every edit, also between two texts that are both not numbers

    def __init__(
        self,
        minimum: float = 1e-6,
        maximum: float = 10.0,
        allow_zero: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        """`minimum`..`maximum` bound the arrows only; typing is never clamped. With
        `allow_zero`, stepping down from `minimum` reaches 0 and stepping up from 0 gives
        `minimum`."""
        super().__init__(parent)
        self._minimum = minimum
        self._maximum = maximum
        self._allow_zero = allow_zero
        self._last_value: float | None = None
        self.lineEdit().textChanged.connect(self._on_text_changed)
        self.setValue(minimum)

    def value(self) -> float:
        return parse_number(self.lineEdit().text())

    def setValue(self, value: float) -> None:  # noqa: N802 (Qt naming, like QDoubleSpinBox)
        self.lineEdit().setText(format_number(value))

    def text(self) -> str:
        return self.lineEdit().text()

    def is_number(self) -> bool:
        return not math.isnan(self.value())

    def sizeHint(self) -> QSize:  # noqa: N802
        # The base class measures an empty text (it has no value type): leave room for one.
        hint = super().sizeHint()
        hint.setWidth(hint.width() + self.fontMetrics().horizontalAdvance("0.000001"))
        return hint

    # QAbstractSpinBox's hooks.

    def validate(self, text: str, pos: int) -> object:
        # Never Invalid: a keystroke is not refused, so a pasted or half-typed value stays
        # visible and the form explains what is wrong with it.
        if _NUMBER.fullmatch(text.strip()):
            return QValidator.State.Acceptable, text, pos
        return QValidator.State.Intermediate, text, pos

    def stepEnabled(self) -> QAbstractSpinBox.StepEnabledFlag:  # noqa: N802
        value = self.value()
        if self.isReadOnly() or not math.isfinite(value) or value < 0:
            return QAbstractSpinBox.StepEnabledFlag.StepNone
        flags = QAbstractSpinBox.StepEnabledFlag.StepNone
        if value < self._maximum * (1 - 1e-9):
            flags |= QAbstractSpinBox.StepEnabledFlag.StepUpEnabled
        floor = 0.0 if self._allow_zero else self._minimum
        if value > floor * (1 + 1e-9):
            flags |= QAbstractSpinBox.StepEnabledFlag.StepDownEnabled
        return flags

    def stepBy(self, steps: int) -> None:  # noqa: N802
        value = self.value()
        if not math.isfinite(value) or value < 0 or steps == 0:
            return
        if value == 0:
            if steps < 0:
                return
            value, steps = self._minimum, steps - 1
        stepped = step_log_scale(value, steps) if steps else value
        if steps >= 0:
            stepped = min(max(stepped, self._minimum), self._maximum)
        elif stepped < self._minimum * (1 - 1e-9):
            stepped = 0.0 if self._allow_zero else self._minimum
        self.setValue(stepped)
        self.lineEdit().selectAll()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        # QAbstractSpinBox makes Page Up/Down ten steps (three decades here); one decade is
        # the useful jump on a log scale.
        jumps = {Qt.Key.Key_PageUp: _STEPS_PER_DECADE, Qt.Key.Key_PageDown: -_STEPS_PER_DECADE}
        steps = jumps.get(Qt.Key(event.key()))
        if steps is None:
            super().keyPressEvent(event)
            return
        flag = (
            QAbstractSpinBox.StepEnabledFlag.StepUpEnabled
            if steps > 0
            else QAbstractSpinBox.StepEnabledFlag.StepDownEnabled
        )
        if self.stepEnabled() & flag:
            self.stepBy(steps)
        event.accept()

    def _on_text_changed(self, text: str) -> None:
        self.textChanged.emit(text)
        value = self.value()
        same = self._last_value is not None and (
            value == self._last_value or (math.isnan(value) and math.isnan(self._last_value))
        )
        if not same:
            self._last_value = value
            self.valueChanged.emit(value)
