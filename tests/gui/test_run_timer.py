"""The run's clock behind the progress panel: active time, and time left from the pace."""

from gui.run_timer import RunTimer


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_time_left_is_the_pace_so_far_counted_down_between_batches():
    clock = FakeClock()
    timer = RunTimer(clock)
    timer.start(run_batches=100)
    assert timer.seconds_left() is None  # no pace before the first batch
    clock.now += 10
    timer.batches_done(10)
    assert timer.seconds_left() == 90.0
    clock.now += 5
    assert (timer.elapsed(), timer.seconds_left()) == (15.0, 85.0)


def test_pauses_count_neither_as_time_spent_nor_as_time_passing():
    clock = FakeClock()
    timer = RunTimer(clock)
    timer.start(run_batches=10)
    clock.now += 4
    timer.batches_done(2)
    timer.pause()
    clock.now += 100
    assert not timer.running
    assert (timer.elapsed(), timer.seconds_left()) == (4.0, 16.0)
    timer.resume()
    clock.now += 1
    assert timer.running and (timer.elapsed(), timer.seconds_left()) == (5.0, 15.0)


def test_a_run_over_has_no_time_left_until_the_next_starts():
    clock = FakeClock()
    timer = RunTimer(clock)
    timer.start(run_batches=10)
    clock.now += 2
    timer.batches_done(1)
    timer.stop()
    clock.now += 60
    assert (timer.elapsed(), timer.seconds_left(), timer.running) == (2.0, None, False)
    timer.start(run_batches=10)
    assert (timer.elapsed(), timer.seconds_left(), timer.running) == (0.0, None, True)
