"""The log panel: order, timestamps, colours, escaping, its line limit and its scrolling."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication

from engine.events import LogLine
from gui.log_panel import MAX_LINES, LogPanel

# Qt's offscreen platform warns on every shown window; that warning says nothing about us.
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


class FakeNow:
    def __init__(self) -> None:
        self.now = datetime(2025, 3, 1, 9, 59, 58)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def panel(qtbot) -> LogPanel:
    widget = LogPanel(now=FakeNow())
    qtbot.addWidget(widget)
    return widget


def line_colours(panel: LogPanel) -> dict[str, set[str]]:
    """Each line's text after the timestamp -> the colours its characters are drawn in."""
    colours = {}
    block = panel.view().document().begin()
    while block.isValid():
        fragments = block.begin()
        found = set()
        while not fragments.atEnd():
            fragment = fragments.fragment()
            if fragment.text().strip() and fragment.text() != block.text()[:8]:
                found.add(fragment.charFormat().foreground().color().name())
            fragments += 1
        colours[block.text()[9:]] = found
        block = block.next()
    return colours


def test_lines_appear_in_order_with_timestamps(panel):
    panel.append(LogLine("Loading MNIST"))
    panel.append_text("Epoch 1 done")
    panel.append(LogLine("Loss is rising", level="warning"))
    assert panel.text() == (
        "09:59:59 Loading MNIST\n10:00:00 Epoch 1 done\n10:00:01 WARNING Loss is rising"
    )
    assert panel.line_count() == 3
    assert panel.view().isReadOnly()


def test_warnings_and_errors_are_coloured_and_info_is_not(panel):
    panel.append_text("plain before")
    panel.append_text("watch out", "warning")
    panel.append_text("broken", "error")
    panel.append_text("plain after")
    colours = line_colours(panel)
    warning, error = colours["WARNING watch out"], colours["ERROR broken"]
    assert warning == {QColor("#b35900").name()}
    assert error == {QColor("#c62828").name()}
    assert not colours["plain before"] & (warning | error)
    assert not colours["plain after"] & (warning | error)  # no colour leaks onto later lines


def test_messages_are_shown_literally(panel):
    panel.append_text('<b>not bold</b> & "quoted"   spaced')
    assert panel.text().endswith('<b>not bold</b> & "quoted"   spaced')


def test_only_the_newest_lines_are_kept(panel):
    for i in range(MAX_LINES + 150):
        panel.append_text(f"line {i}")
    assert panel.line_count() == MAX_LINES
    lines = panel.text().splitlines()
    assert lines[0].endswith("line 150")
    assert lines[-1].endswith(f"line {MAX_LINES + 149}")


def test_clear_empties_the_log(panel):
    panel.append_text("something")
    panel.clear()
    assert panel.text() == "" and panel.line_count() == 0


def test_follows_new_lines_unless_the_user_scrolled_up(panel, qtbot):
    panel.resize(400, 150)
    panel.show()
    qtbot.waitExposed(panel)
    bar = panel.view().verticalScrollBar()
    for i in range(200):
        panel.append_text(f"line {i}")
    QApplication.processEvents()
    assert bar.maximum() > 0 and bar.value() == bar.maximum()

    bar.setValue(10)  # the user scrolls up to read
    for i in range(20):
        panel.append_text(f"more {i}")
    QApplication.processEvents()
    assert bar.value() == 10

    bar.setValue(bar.maximum())  # and back down: following resumes
    panel.append_text("latest")
    QApplication.processEvents()
    assert bar.value() == bar.maximum()
