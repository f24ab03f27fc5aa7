"""Form fields that change only when a person means to change them.

- The mouse wheel: a spin box, combo box or slider reacts to it only when it has the
  keyboard focus (clicked or tabbed into). Over any other field the wheel scrolls what the
  field sits in, so scrolling down the settings never edits Epochs or the optimizer on
  the way.
- Esc in a field that takes typing is the field's (it leaves the field alone, as in any
  form), never the window's Stop shortcut.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QComboBox,
    QLineEdit,
    QPlainTextEdit,
    QSlider,
    QTextEdit,
    QWidget,
)

# Fields whose value a turn of the wheel changes.
WHEEL_FIELDS = (QAbstractSpinBox, QComboBox, QSlider)  # not scroll bars: they scroll
# Fields the keyboard types into (spin boxes and editable combo boxes type into a QLineEdit).
TYPING_FIELDS = (QLineEdit, QAbstractSpinBox, QTextEdit, QPlainTextEdit)


class _FieldGuard(QObject):
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        kind = event.type()
        if kind == QEvent.Type.Wheel and isinstance(watched, WHEEL_FIELDS) and (
                not watched.hasFocus()):
            event.ignore()  # ignored and filtered: Qt hands it on to the parent, which scrolls
            return True
        if kind == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent) and (
                event.key() == Qt.Key.Key_Escape and isinstance(watched, TYPING_FIELDS)):
            event.accept()  # the key goes to the field, not to a shortcut
            return True
        return False


_guard = _FieldGuard()


def guard_fields(root: QWidget) -> None:
    """Guard every field inside root (call again for fields added later: it is idempotent)."""
    for field in root.findChildren(QWidget):
        if isinstance(field, WHEEL_FIELDS):
            field.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # no focus from the wheel either
        if isinstance(field, (*WHEEL_FIELDS, *TYPING_FIELDS)):
            field.installEventFilter(_guard)
