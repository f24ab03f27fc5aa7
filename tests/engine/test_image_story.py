"""Each image's story on a crafted history: learned at, forgotten (Toneva et al.), never
learned, and the galleries' orders."""

from __future__ import annotations

import numpy as np

from engine import image_story
from engine.analysis import Evaluation
from engine.records.sample_history import SampleHistory

# Five test images over four epochs (1 = right, 0 = wrong), true class 0 for all:
RIGHT = np.array([
    [1, 0, 0, 1, 0],  # epoch 1
    [1, 1, 0, 0, 0],  # epoch 2
    [0, 1, 0, 1, 1],  # epoch 3
    [1, 1, 0, 0, 1],  # epoch 4
], dtype=bool)
# image 0: right, right, wrong, right    -> forgotten once, learned at 4
# image 1: wrong, right, right, right    -> never forgotten, learned at 2
# image 2: never right                   -> never learned
# image 3: right, wrong, right, wrong    -> forgotten twice, wrong at the last epoch
# image 4: wrong, wrong, right, right    -> learned at 3
LAST_TRUE_PROB = [0.9, 0.8, 0.05, 0.3, 0.6]


def crafted(epochs=(1, 2, 3, 4)) -> SampleHistory:
    labels = np.zeros(5, dtype=np.int64)
    history = SampleHistory.start(labels, 2)
    for row, epoch in enumerate(epochs):
        predicted = np.where(RIGHT[row], 0, 1)
        true = np.where(RIGHT[row], 0.7, 0.2) if row < 3 else np.array(LAST_TRUE_PROB)
        history = history.with_epoch(Evaluation(
            epoch, 2, labels, predicted[:, None].astype(np.int32),
            np.full((5, 1), 0.7, np.float32), true.astype(np.float32)))
    return history


def test_learned_at_forgetting_and_never_learned():
    history = crafted()
    assert image_story.learned_at(history).tolist() == [4, 2, 0, 0, 3]
    assert image_story.forgetting_counts(history).tolist() == [1, 0, 0, 2, 0]
    assert image_story.never_learned(history).tolist() == [False, False, True, False, False]


def test_learned_at_names_the_recorded_epochs_not_their_positions():
    # A history continued from epoch 10 (its first epochs recorded elsewhere).
    assert image_story.learned_at(crafted((10, 11, 12, 13))).tolist() == [13, 11, 0, 0, 12]


def test_the_galleries_orders():
    history = crafted()
    assert image_story.learned_last(history, 10) == [0, 4, 1]
    assert image_story.learned_last(history, 1) == [0]
    assert image_story.forgotten_most(history, 10) == [3, 0]
    assert image_story.never_learned_rows(history, 10) == [2]


def test_forgotten_most_breaks_ties_by_the_lower_true_probability_at_the_last_epoch():
    labels = np.zeros(3, dtype=np.int64)
    history = SampleHistory.start(labels, 2)
    for epoch, (predicted, true) in enumerate([([0, 0, 0], [0.9, 0.9, 0.9]),
                                               ([1, 1, 1], [0.4, 0.1, 0.2])], 1):
        history = history.with_epoch(Evaluation(
            epoch, 2, labels, np.array(predicted, np.int32)[:, None],
            np.full((3, 1), 0.9, np.float32), np.array(true, np.float32)))
    assert image_story.forgotten_most(history, 3) == [1, 2, 0]


def test_story_text():
    history = crafted()
    assert image_story.story_text(history, 0) == "learned at epoch 4, forgotten 1 time"
    assert image_story.story_text(history, 1) == "learned at epoch 2, never forgotten"
    assert image_story.story_text(history, 2) == "never learned in 4 epochs"
    assert image_story.story_text(history, 3) == ("wrong at the last epoch (last right at "
                                                  "epoch 3), forgotten 2 times")


def test_an_empty_history_tells_no_story():
    history = SampleHistory.start(np.zeros(2, dtype=np.int64), 2)
    assert image_story.learned_at(history).tolist() == [0, 0]
    assert image_story.forgetting_counts(history).tolist() == [0, 0]
    assert image_story.never_learned_rows(history, 5) == []
    assert image_story.story_text(history, 0) == "no epoch recorded yet"
