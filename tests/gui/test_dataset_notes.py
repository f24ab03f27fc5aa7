"""Every note under a settings field is shown whole, however its text wraps. (A QFormLayout
in a QGroupBox sizes each row for a field a few pixels wider than the one it gets: a note
whose text wrapped just there lost its last line, e.g. Kuzushiji-MNIST's description after
MNIST's.)"""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QLabel

from engine.catalog import DATASET_INFO
from gui.settings_editors import show_note
from tests.gui.windows import open_window

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


def _cut(qtbot, note: QLabel) -> bool:
    """Whether the note is shorter than its text needs, once the layout has settled."""
    try:
        qtbot.waitUntil(lambda: note.height() >= note.heightForWidth(note.width()),
                        timeout=300)
    except qtbot.TimeoutError:
        return True
    return False


@pytest.mark.parametrize("size", [(1366, 768), (1400, 900)])
def test_notes_of_every_length_are_shown_whole(qtbot, tmp_path, size):
    window = open_window(qtbot, tmp_path)
    window.resize(*size)
    form = window.settings_panel
    note = form.findChild(QLabel, "dataset_note")
    words = " ".join(info.description for info in DATASET_INFO.values()).split()
    cut = []
    for count in range(20, 60):  # 3 to 8 lines: some wrap just at the width that misled
        text = " ".join(words[:count])
        show_note(note, " ".join(words[:8]))  # a short note first, as after choosing MNIST
        qtbot.wait(5)
        show_note(note, text)
        if _cut(qtbot, note):
            cut.append(f"{count} words: {note.height()} px of "
                       f"{note.heightForWidth(note.width())}")
    assert cut == []


def test_each_dataset_description_is_shown_whole(qtbot, tmp_path):
    window = open_window(qtbot, tmp_path)
    window.resize(1400, 900)
    form = window.settings_panel
    note = form.findChild(QLabel, "dataset_note")
    cut = []
    for name, info in DATASET_INFO.items():
        form.set_config(form.config().replace(dataset="mnist"))
        qtbot.wait(5)
        form.set_config(form.config().replace(dataset=name))
        assert note.text() == info.description
        if _cut(qtbot, note):
            cut.append(name)
    assert cut == []
