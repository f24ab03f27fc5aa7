"""ImageMarks: marks by split and original index, one `changed` per real change."""

from __future__ import annotations

import pytest

from gui.image_marks import LEAVE_OUT, MISLABELLED, ImageMarks


def test_marks_by_split_and_index(qtbot):
    marks = ImageMarks()
    changes: list[None] = []
    marks.changed.connect(lambda: changes.append(None))
    marks.mark("test", 7, MISLABELLED)
    marks.mark("test", 3, LEAVE_OUT)
    marks.mark("train", 7, LEAVE_OUT)
    marks.mark("test", 7, MISLABELLED)  # no change: no signal
    assert marks.indices("test") == (3, 7)
    assert marks.indices("train") == (7,)
    assert marks.reason("test", 7) == MISLABELLED
    assert marks.reason("train", 3) is None
    assert marks.count() == 3
    marks.unmark("test", 7)
    marks.unmark("test", 99)  # not marked: no signal
    assert marks.indices("test") == (3,)
    marks.clear()
    marks.clear()
    assert marks.count() == 0
    assert len(changes) == 5


@pytest.mark.parametrize("args", [("valid", 1, MISLABELLED), ("test", 1, "ugly"),
                                  ("test", -1, LEAVE_OUT)])
def test_refuses_what_is_not_a_mark(qtbot, args):
    with pytest.raises(ValueError):
        ImageMarks().mark(*args)



def test_toggling_a_mark_sets_it_and_the_same_again_takes_it_off(qtbot):
    marks = ImageMarks()
    marks.toggle("test", 4, MISLABELLED)
    assert marks.reason("test", 4) == MISLABELLED
    marks.toggle("test", 4, LEAVE_OUT)  # another reason replaces it
    assert marks.reason("test", 4) == LEAVE_OUT
    marks.toggle("test", 4, LEAVE_OUT)
    assert marks.reason("test", 4) is None and marks.count() == 0
