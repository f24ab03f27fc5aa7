"""Training-health rules on crafted numbers: when a run has learned nothing, and why."""

from __future__ import annotations

import math

import pytest

from engine.analysis import (
    chance_accuracy,
    chance_threshold,
    learned_nothing,
    why_nothing_was_learned,
)


def test_chance_is_the_larger_of_one_in_classes_and_the_majority_share():
    assert chance_accuracy([0, 1, 2, 3] * 25, 4) == 0.25
    assert chance_accuracy([0] * 70 + [1] * 30, 2) == 0.7  # always saying 0 scores 70%
    assert chance_accuracy([0, 1], 10) == 0.5
    assert chance_accuracy([0] * 10, 10) == 1.0


@pytest.mark.parametrize(("test_acc", "n", "flagged"), [
    (0.098, 10_000, True),   # lr 10 with SGD on MNIST
    (0.107, 10_000, True),
    (0.119, 10_000, True),   # within the 2-point margin
    (0.13, 10_000, False),   # learned a little: not flagged
    (0.35, 10_000, False),
    (0.20, 60, True),        # 60 test images cannot tell 20% from guessing
    (0.40, 60, False),
])
def test_learned_nothing_allows_for_the_test_set_size(test_acc, n, flagged):
    assert learned_nothing(test_acc, 0.1, n) is flagged


def test_the_margin_follows_the_standard_error_with_a_floor():
    assert chance_threshold(0.1, 10_000_000) == pytest.approx(0.12)
    assert chance_threshold(0.5, 100) == pytest.approx(0.5 + 3 * math.sqrt(0.25 / 100))


def test_a_majority_class_sets_the_bar():
    # 90% of the test images are class 0: 85% accuracy is worse than always saying 0.
    assert learned_nothing(0.85, chance_accuracy([0] * 900 + [1] * 100, 2), 1000)
    assert not learned_nothing(0.97, chance_accuracy([0] * 900 + [1] * 100, 2), 1000)


def _records(*train: tuple[float, float]) -> list[dict]:
    return [{"epoch": i + 1, "train_loss": loss, "train_acc": acc}
            for i, (loss, acc) in enumerate(train)]


def test_why_names_a_high_learning_rate_when_the_loss_overshoots():
    why = why_nothing_was_learned(_records((6.5, 0.1), (5.1, 0.1)), 0.1, 10, "sgd", 10.0)
    assert "from 6.5 to 5.1" in why and "probably too high" in why and "Try 0.1" in why
    why = why_nothing_was_learned(_records((4.0, 0.1)), 0.1, 10, "adam", 0.01)
    assert "after one epoch" in why and "too high" in why and "Try 0.001" in why


def test_why_names_a_low_learning_rate_when_the_loss_barely_moves():
    why = why_nothing_was_learned(_records((2.31, 0.1), (2.29, 0.1)), 0.1, 10, "sgd", 5e-4)
    assert "probably too low" in why and "Try 0.005" in why
    assert f"guessing costs {math.log(10):.3g}" in why


def test_why_points_at_the_data_when_training_was_learned_but_not_the_test():
    why = why_nothing_was_learned(_records((2.0, 0.5), (0.1, 0.99)), 0.1, 10, "adam", 1e-3)
    assert "fit the training images but not the test images" in why
