"""The epoch slider: follows the newest epoch until a person moves it away."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from gui.epoch_slider import NO_EPOCHS_TEXT, EpochSlider


@pytest.fixture
def slider(qtbot):
    widget = EpochSlider()
    qtbot.addWidget(widget)
    return widget


def test_empty_until_epochs_come(slider):
    assert slider.epoch() is None
    assert slider.label.text() == NO_EPOCHS_TEXT
    assert not slider.slider.isEnabled()


def test_follows_the_newest_epoch(slider, qtbot):
    seen: list[int] = []
    slider.epochChanged.connect(seen.append)
    for n in (1, 2, 3):
        slider.set_epochs(list(range(1, n + 1)))
    assert slider.epoch() == 3
    assert seen == [1, 2, 3]
    assert slider.following()
    assert slider.label.text() == "Epoch 3 (newest)"


def test_stays_where_a_person_put_it(slider, qtbot):
    seen: list[int] = []
    slider.set_epochs([1, 2, 3])
    slider.epochChanged.connect(seen.append)
    slider.slider.setFocus()
    qtbot.keyClick(slider.slider, Qt.Key.Key_Left)  # as a person moves it: to epoch 2
    assert slider.epoch() == 2
    assert not slider.following()
    slider.set_epochs([1, 2, 3, 4])  # a new epoch ends: the slider stays on 2
    assert slider.epoch() == 2
    assert slider.label.text() == "Epoch 2 of 4"
    slider.set_epoch(4)  # back at the newest: it follows again
    slider.set_epochs([1, 2, 3, 4, 5])
    assert slider.epoch() == 5
    assert seen == [2, 4, 5]


def test_an_epoch_gone_falls_back_to_the_nearest_earlier(slider):
    slider.set_epochs([1, 2, 3, 4])
    slider.set_epoch(3)
    slider.set_epochs([1, 2, 4])  # e.g. a resumed run's history replaced
    assert slider.epoch() == 2
    slider.set_epochs([])
    assert slider.epoch() is None
