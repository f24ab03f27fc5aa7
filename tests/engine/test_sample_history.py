"""samples.npz: each test image's answer at every epoch, compact, round-tripped exactly, and
a damaged or foreign file refused with a sentence saying what to do."""

from __future__ import annotations

import numpy as np
import pytest

from engine.analysis import Evaluation
from engine.records.sample_history import (
    SampleHistory,
    SampleHistoryError,
    load_history,
    samples_path,
    save_history,
)

LABELS = np.array([0, 1, 2, 1, 0])


def evaluation(epoch: int, predicted: list[int], labels: np.ndarray = LABELS) -> Evaluation:
    predicted = np.array(predicted)
    right = predicted == labels
    return Evaluation(epoch=epoch, num_classes=3, labels=labels,
                      top_classes=predicted[:, None].astype(np.int32),
                      top_probs=np.full((len(labels), 1), 0.75, np.float32),
                      true_probs=np.where(right, 0.75, 0.125).astype(np.float32))


def three_epochs() -> SampleHistory:
    history = SampleHistory.start(LABELS, 3, test_index=np.array([2, 3, 5, 7, 11]))
    for epoch, predicted in enumerate([[1, 1, 0, 0, 0], [0, 1, 2, 0, 0], [0, 1, 2, 1, 1]], 1):
        history = history.with_epoch(evaluation(epoch, predicted))
    return history


def test_a_history_grows_an_epoch_at_a_time_in_compact_types():
    history = three_epochs()
    assert len(history) == 3 and history.epochs.tolist() == [1, 2, 3]
    assert history.predicted.dtype == np.int16 and history.predicted.shape == (3, 5)
    assert history.confidence.dtype == np.float16 and history.true_prob.dtype == np.float16
    assert history.labels.dtype == np.int16 and history.test_index.tolist() == [2, 3, 5, 7, 11]
    assert [history.accuracy_at(e) for e in (1, 2, 3)] == [2 / 5, 4 / 5, 4 / 5]
    with pytest.raises(ValueError):  # its arrays are the record: nobody changes them
        history.predicted[0, 0] = 2


def test_an_epoch_s_evaluation_comes_back_with_its_predictions():
    at_two = three_epochs().evaluation_at(2)
    assert at_two.epoch == 2 and at_two.kept == 1 and at_two.num_classes == 3
    assert at_two.predicted.tolist() == [0, 1, 2, 0, 0]
    assert at_two.labels.tolist() == LABELS.tolist()
    assert at_two.true_probs.tolist() == [0.75, 0.75, 0.75, 0.125, 0.75]
    with pytest.raises(KeyError, match="epoch 4 is not in this history"):
        three_epochs().evaluation_at(4)


def test_up_to_and_a_repeated_epoch_cut_the_later_epochs():
    history = three_epochs()
    assert history.up_to(2).epochs.tolist() == [1, 2] and len(history.up_to(0)) == 0
    again = history.with_epoch(evaluation(2, [2, 2, 2, 2, 2]))  # a resumed run's epoch 2
    assert again.epochs.tolist() == [1, 2] and again.predicted[1].tolist() == [2] * 5


def test_an_evaluation_of_other_images_is_refused():
    with pytest.raises(ValueError, match="3 images for a history of 5"):
        three_epochs().with_epoch(evaluation(4, [0, 1, 2], LABELS[:3]))


def test_the_file_round_trips_exactly(tmp_path):
    history = three_epochs()
    save_history(tmp_path, history)
    loaded = load_history(tmp_path)
    for name in ("epochs", "predicted", "confidence", "true_prob", "labels", "test_index"):
        assert np.array_equal(getattr(loaded, name), getattr(history, name))
        assert getattr(loaded, name).dtype == getattr(history, name).dtype
    assert loaded.num_classes == 3
    assert load_history(tmp_path / "nothing here") is None


def test_an_epoch_costs_six_bytes_per_test_image(tmp_path):
    images = 10_000
    labels = np.arange(images) % 10
    history = SampleHistory.start(labels, 10)
    sizes = []
    for epoch in (1, 2):
        history = history.with_epoch(Evaluation(
            epoch, 10, labels, labels[:, None].astype(np.int32),
            np.ones((images, 1), np.float32), np.ones(images, np.float32)))
        save_history(tmp_path, history)
        sizes.append(samples_path(tmp_path).stat().st_size)
    assert sizes[1] - sizes[0] == 6 * images + 4  # and the epoch's number (int32)


def damage_by_cutting(path):
    path.write_bytes(path.read_bytes()[:300])


def damage_by_flipping(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def damage_by_text(path):
    path.write_text("not an archive")


@pytest.mark.parametrize("damage", [damage_by_cutting, damage_by_flipping, damage_by_text])
def test_a_damaged_file_is_refused_with_what_to_do(tmp_path, damage):
    save_history(tmp_path, three_epochs())
    damage(samples_path(tmp_path))
    with pytest.raises(SampleHistoryError) as refused:
        load_history(tmp_path)
    message = str(refused.value)
    assert str(samples_path(tmp_path)) in message and "damaged" in message
    assert "delete the file" in message and "checkpoints" in message


def test_a_foreign_npz_or_a_newer_one_is_refused_with_what_to_do(tmp_path):
    np.savez(samples_path(tmp_path), weights=np.zeros(3))
    with pytest.raises(SampleHistoryError, match="is not a TrainDesk sample history"):
        load_history(tmp_path)
    history = three_epochs()
    np.savez(samples_path(tmp_path), format=np.array("traindesk-samples"),
             format_version=np.array(99), num_classes=np.array(3),
             **{name: getattr(history, name) for name in
                ("epochs", "predicted", "confidence", "true_prob", "labels", "test_index")})
    with pytest.raises(SampleHistoryError, match="newer TrainDesk .* Update TrainDesk"):
        load_history(tmp_path)


def test_arrays_that_do_not_add_up_are_refused(tmp_path):
    history = three_epochs()
    arrays = {name: getattr(history, name) for name in
              ("epochs", "predicted", "confidence", "true_prob", "labels", "test_index")}
    arrays["predicted"] = arrays["predicted"][:2]
    np.savez(samples_path(tmp_path), format=np.array("traindesk-samples"),
             format_version=np.array(1), num_classes=np.array(3), **arrays)
    with pytest.raises(SampleHistoryError, match="do not add up"):
        load_history(tmp_path)
