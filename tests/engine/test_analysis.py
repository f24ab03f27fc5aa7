"""Training-health rules on crafted numbers: when a run has learned nothing, and why."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.analysis import (
    Evaluation,
    accuracy_upper_bound,
    best_epoch,
    cell_images,
    chance_accuracy,
    chance_threshold,
    chance_verdict,
    confusion_matrix,
    image_probabilities,
    images_to_judge,
    kept_classes,
    least_confident_right,
    most_confident_mistakes,
    per_class_accuracy,
    row_normalised,
    training_health,
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
    assert (chance_verdict(test_acc, 0.1, n) == "nothing") is flagged


@pytest.mark.parametrize(("test_acc", "chance", "n", "verdict"), [
    (1.0, 0.5, 8, "too_small"),       # 2 classes x 20 images: 8 test images, all right
    (11 / 12, 0.5, 12, "too_small"),  # 11 of 12 right is no proof either way
    (0.5, 0.5, 8, "too_small"),       # nor is guessing's score on 8 images
    (0.0, 0.5, 0, "too_small"),       # no test images at all
    (1.0, 0.5, 10, "learned"),        # 10 of 10 right: guessing does that once in 1,024
    (0.5, 0.5, 1_000, "nothing"),     # a big test set at chance
    (0.101, 0.1, 10_000, "nothing"),
    (0.6, 0.1, 60, "learned"),
])
def test_the_verdict_is_withheld_when_the_test_set_cannot_tell(test_acc, chance, n, verdict):
    assert chance_verdict(test_acc, chance, n) == verdict


def test_the_images_needed_for_a_verdict_give_one():
    for test_acc, chance in [(1.0, 0.5), (0.5, 0.5), (0.95, 0.5), (0.15, 0.1)]:
        n = images_to_judge(test_acc, chance)
        assert chance_verdict(test_acc, chance, n) != "too_small"
        assert chance_verdict(test_acc, chance, n - 1) == "too_small"


def test_the_accuracy_interval_narrows_with_more_images():
    bounds = [accuracy_upper_bound(0.5, n) for n in (4, 40, 400, 4_000)]
    assert bounds == sorted(bounds, reverse=True) and bounds[0] > 0.9
    assert 0.5 < bounds[-1] < 0.53 and accuracy_upper_bound(1.0, 4) == 1.0


def test_the_margin_follows_the_standard_error_with_a_floor():
    assert chance_threshold(0.1, 10_000_000) == pytest.approx(0.12)
    assert chance_threshold(0.5, 100) == pytest.approx(0.5 + 3 * math.sqrt(0.25 / 100))


def test_a_majority_class_sets_the_bar():
    # 90% of the test images are class 0: 85% accuracy is worse than always saying 0.
    assert chance_verdict(0.85, chance_accuracy([0] * 900 + [1] * 100, 2), 1000) == "nothing"
    assert chance_verdict(0.97, chance_accuracy([0] * 900 + [1] * 100, 2), 1000) != "nothing"


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


# -- per-image evaluation ------------------------------------------------------------------

def _evaluation(labels, predicted, confidence, num_classes=3, true_probs=None) -> Evaluation:
    """An evaluation keeping only the top class of each image."""
    labels = np.array(labels, dtype=np.int64)
    predicted = np.array(predicted, dtype=np.int32)
    confidence = np.array(confidence, dtype=np.float32)
    if true_probs is None:
        true_probs = np.where(labels == predicted, confidence, 1 - confidence)
    return Evaluation(epoch=1, num_classes=num_classes, labels=labels,
                      top_classes=predicted[:, None], top_probs=confidence[:, None],
                      true_probs=np.array(true_probs, dtype=np.float32))


FIXED = _evaluation(labels=[0, 0, 0, 1, 1, 2, 2, 2, 2],
                    predicted=[0, 1, 2, 1, 1, 2, 0, 2, 1],
                    confidence=[0.9, 0.6, 0.95, 0.5, 0.7, 0.99, 0.8, 0.4, 0.6])


def test_the_confusion_matrix_counts_true_rows_and_predicted_columns():
    counts = confusion_matrix(FIXED.labels, FIXED.predicted, 3)
    assert counts.tolist() == [[1, 1, 1],
                               [0, 2, 0],
                               [1, 1, 2]]
    assert counts.sum() == len(FIXED)


def test_per_class_accuracy_is_the_diagonal_share_and_nan_for_an_absent_class():
    counts = confusion_matrix([0, 0, 1], [0, 1, 1], 3)
    accuracy = per_class_accuracy(counts)
    assert accuracy[:2].tolist() == [0.5, 1.0] and math.isnan(accuracy[2])
    shares = row_normalised(counts)
    assert shares.tolist() == [[0.5, 0.5, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]]


def test_mistakes_come_most_confident_first_and_right_answers_least_confident_first():
    # wrong: 1 (0.6), 2 (0.95), 6 (0.8), 8 (0.6) -> by confidence, ties in index order
    assert most_confident_mistakes(FIXED).tolist() == [2, 6, 1, 8]
    assert most_confident_mistakes(FIXED, limit=2).tolist() == [2, 6]
    # right: 0 (0.9), 3 (0.5), 4 (0.7), 5 (0.99), 7 (0.4)
    assert least_confident_right(FIXED).tolist() == [7, 3, 4, 0, 5]


def test_a_cell_lists_its_images_most_confident_first():
    assert cell_images(FIXED, 2, 1).tolist() == [8]
    assert cell_images(FIXED, 1, 1).tolist() == [4, 3]
    assert cell_images(FIXED, 1, 0).tolist() == []


def test_an_images_probabilities_always_include_its_true_class():
    evaluation = Evaluation(
        epoch=2, num_classes=5, labels=np.array([4]),
        top_classes=np.array([[1, 0, 2]], dtype=np.int32),
        top_probs=np.array([[0.6, 0.2, 0.1]], dtype=np.float32),
        true_probs=np.array([0.05], dtype=np.float32))
    shown, rest = image_probabilities(evaluation, 0, limit=3)
    assert [c for c, _ in shown] == [1, 0, 4]  # the true class replaces the last listed
    assert rest == pytest.approx(1 - 0.6 - 0.2 - 0.05)
    shown, rest = image_probabilities(evaluation, 0, limit=10)
    assert [c for c, _ in shown] == [1, 0, 2, 4] and rest == pytest.approx(0.05)


def test_all_classes_are_kept_while_they_fit_the_budget():
    assert kept_classes(10, 10_000) == 10
    assert kept_classes(37, 10_000) == 37
    assert kept_classes(1000, 50_000) == 40  # 2,000,000 probabilities / 50,000 images
    assert kept_classes(1000, 10_000_000) == 10  # never fewer than 10
    assert kept_classes(3, 5) == 3


# -- best epoch and training health ---------------------------------------------------------

def _history(train_loss, train_acc, test_loss, test_acc, val=None) -> list[dict]:
    records = []
    for i, values in enumerate(zip(train_loss, train_acc, test_loss, test_acc, strict=True)):
        record = dict(zip(("train_loss", "train_acc", "test_loss", "test_acc"), values,
                          strict=True))
        record |= {"epoch": i + 1, "val_loss": None, "val_acc": None}
        if val is not None:
            record |= {"val_loss": val[0][i], "val_acc": val[1][i]}
        records.append(record)
    return records


def test_the_best_epoch_is_the_highest_validation_accuracy_else_test():
    history = _history([1, 0.8, 0.7], [0.5, 0.6, 0.7], [1, 0.9, 0.9], [0.6, 0.8, 0.8])
    assert best_epoch(history) == 2  # the first of the tie
    with_val = _history([1, 0.8, 0.7], [0.5, 0.6, 0.7], [1, 0.9, 0.9], [0.6, 0.8, 0.8],
                        val=([1, 1, 1], [0.9, 0.5, 0.7]))
    assert best_epoch(with_val) == 1
    assert best_epoch([]) is None


def test_health_says_diverging_when_the_loss_is_not_a_number():
    note = training_health(_history([2.0, 1.5, math.nan], [0.3, 0.5, 0.1],
                                    [1.8, 1.4, math.nan], [0.4, 0.5, 0.1]), 10)
    assert note.kind == "diverging" and note.epoch == 3 and "epoch 3" in note.sentence


def test_health_says_diverging_when_the_training_loss_climbs_past_its_start():
    note = training_health(_history([2.0, 1.0, 1.5, 2.2, 3.0], [0.3, 0.6, 0.5, 0.3, 0.2],
                                    [1.9, 1.1, 1.6, 2.3, 3.1], [0.3, 0.6, 0.5, 0.3, 0.2]), 10)
    assert note.kind == "diverging" and note.epoch == 2
    assert note.sentence.startswith("Diverging since epoch 2")


def test_health_says_the_rate_is_too_high_when_the_loss_jumps_about():
    note = training_health(_history([1.0, 0.6, 0.9, 0.5, 0.8, 0.7],
                                    [0.6, 0.8, 0.7, 0.8, 0.7, 0.75],
                                    [0.9, 0.6, 0.8, 0.5, 0.8, 0.7],
                                    [0.6, 0.8, 0.7, 0.8, 0.7, 0.75]), 10)
    assert note.kind == "lr_too_high" and note.epoch == 6 and "too high" in note.sentence


def test_health_finds_over_fitting_and_the_epoch_it_began():
    # Train accuracy keeps rising; the test loss is lowest at epoch 3 and then climbs.
    note = training_health(_history([0.9, 0.5, 0.3, 0.2, 0.1, 0.05],
                                    [0.70, 0.85, 0.90, 0.94, 0.97, 0.99],
                                    [0.8, 0.5, 0.40, 0.42, 0.47, 0.55],
                                    [0.72, 0.84, 0.88, 0.88, 0.87, 0.86]), 10)
    assert note.kind == "overfitting" and note.epoch == 3
    assert note.sentence.startswith("Over-fitting since epoch 3")
    assert "test loss rose (0.4 to 0.55)" in note.sentence


def test_over_fitting_is_judged_on_validation_when_there_is_some():
    note = training_health(_history([0.9, 0.5, 0.3, 0.2, 0.1], [0.7, 0.85, 0.9, 0.95, 0.99],
                                    [0.8, 0.5, 0.4, 0.35, 0.3], [0.7, 0.8, 0.85, 0.9, 0.91],
                                    val=([0.8, 0.45, 0.5, 0.6, 0.7], [0.7, 0.8, 0.8, 0.8, 0.8])),
                           10)
    assert note.kind == "overfitting" and note.epoch == 2 and "validation loss" in note.sentence


def test_a_test_loss_that_rose_only_once_is_not_over_fitting_yet():
    note = training_health(_history([0.9, 0.5, 0.3, 0.2], [0.7, 0.85, 0.9, 0.94],
                                    [0.8, 0.5, 0.40, 0.45], [0.72, 0.84, 0.88, 0.885]), 10)
    assert note.kind != "overfitting"


def test_health_says_the_rate_is_too_low_when_the_loss_barely_moves():
    note = training_health(_history([2.30, 2.29, 2.28], [0.11, 0.12, 0.13],
                                    [2.30, 2.29, 2.28], [0.11, 0.12, 0.13]), 10)
    assert note.kind == "lr_too_low" and note.epoch == 3 and "too low" in note.sentence


def test_a_converged_loss_that_barely_moves_is_a_plateau_not_a_low_rate():
    note = training_health(_history([0.05, 0.049, 0.048, 0.048, 0.047],
                                    [0.985, 0.986, 0.986, 0.987, 0.987],
                                    [0.06, 0.06, 0.061, 0.06, 0.061],
                                    [0.980, 0.981, 0.981, 0.980, 0.981]), 10)
    assert note.kind == "plateaued" and note.epoch == 2
    assert note.sentence.startswith("Plateaued since epoch 2")


def test_health_says_still_improving_while_accuracy_rises():
    note = training_health(_history([1.0, 0.5, 0.3], [0.7, 0.85, 0.9],
                                    [0.9, 0.5, 0.35], [0.72, 0.84, 0.89]), 10)
    assert note.kind == "improving" and note.epoch == 3
    assert "from 84.0% to 89.0%" in note.sentence and "more epochs would help" in note.sentence
    first = training_health(_history([1.0], [0.7], [0.9], [0.72]), 10)
    assert first.kind == "improving" and "guessing's 10.0%" in first.sentence


def test_health_has_nothing_to_say_without_epochs():
    assert training_health([], 10) is None


def test_a_falling_loss_at_a_steady_accuracy_is_still_improving_in_words_of_the_loss():
    note = training_health(_history([1.0, 0.5], [0.99, 1.0], [0.3, 0.1], [1.0, 1.0]), 10)
    assert note.kind == "improving"
    assert "test loss fell from 0.3 to 0.1 (accuracy 100.0%)" in note.sentence
