import pytest

from engine.durations import estimate_sentence, rough_duration
from engine.events import RunEstimate


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "1 s"), (0.4, "1 s"), (40.2, "40 s"), (59.4, "59 s"), (60, "1 min"), (89, "1 min"),
    (18 * 60 + 10, "18 min"), (3599, "1 h"), (3600, "1 h"), (2 * 3600 + 10 * 60, "2 h 10 min"),
    (10 * 3600 + 29 * 60, "10 h"), (10 * 3600 + 31 * 60, "11 h"), (-5, "1 s"),
])
def test_durations_read_as_people_say_them(seconds, text):
    assert rough_duration(seconds) == text


def test_the_estimate_reads_as_one_sentence():
    estimate = RunEstimate(seconds_per_epoch=26 * 60, total_seconds=130 * 60, epochs=5,
                           device="CPU")
    assert estimate_sentence(estimate) == (
        "Estimated time: about 2 h 10 min for 5 epochs (26 min per epoch) on CPU.")
    one = RunEstimate(seconds_per_epoch=40, total_seconds=40, epochs=1, device="CPU")
    assert "for 1 epoch (" in estimate_sentence(one)
