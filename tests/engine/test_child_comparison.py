"""A parent and its child compared on the test images both were tested on."""

from __future__ import annotations

import numpy as np
import pytest

from engine.child_comparison import ComparisonError, compare_histories, compare_run_folders
from engine.records.sample_history import SampleHistory, save_history


def _history(predicted_last, labels, test_index, epochs=(1, 2)) -> SampleHistory:
    n = len(labels)
    predicted = np.array([[0] * n, predicted_last], dtype=np.int16)[-len(epochs):]
    return SampleHistory(epochs=np.array(epochs, dtype=np.int32), predicted=predicted,
                         confidence=np.ones(predicted.shape, np.float16),
                         true_prob=np.ones(predicted.shape, np.float16),
                         labels=np.array(labels, np.int16),
                         test_index=np.array(test_index, np.int32), num_classes=2)


def test_the_parent_is_restricted_to_the_child_test_images_at_their_last_epochs():
    parent = _history([0, 1, 1, 0, 1], [0, 0, 1, 1, 1], [0, 1, 2, 3, 4])
    child = _history([0, 0, 1, 1], [0, 0, 1, 1], [0, 1, 2, 3], epochs=(1, 2))  # left out 4

    compared = compare_histories(parent, child)

    assert compared.images == 4 and (compared.parent_epoch, compared.child_epoch) == (2, 2)
    assert compared.parent_confusion.tolist() == [[1, 1], [1, 1]]
    assert compared.child_confusion.tolist() == [[2, 0], [0, 2]]
    assert compared.confusion_change.tolist() == [[1, -1], [-1, 1]]
    assert compared.accuracy_change.tolist() == [0.5, 0.5]
    assert compared.overall() == (0.5, 1.0)


def test_runs_without_a_common_image_or_an_epoch_cannot_be_compared(tmp_path):
    parent = _history([0, 1], [0, 1], [0, 1])
    with pytest.raises(ComparisonError, match="no image in common"):
        compare_histories(parent, _history([0], [0], [7]))
    with pytest.raises(ComparisonError, match="no finished epoch"):
        compare_histories(parent, SampleHistory.start(np.array([0, 1]), 2))
    for name in ("p", "c"):
        (tmp_path / name).mkdir()
    save_history(tmp_path / "p", parent)
    with pytest.raises(ComparisonError, match="c kept no per-image answers"):
        compare_run_folders(tmp_path / "p", tmp_path / "c")
