"""The thread count follows the measured speed: what the tuner is given and what it picks.

A simulated CPU stands in for the real one: each batch advances a fake clock by
`batch / speed(threads, now)` seconds, where `speed` is the examples/s that many threads
would reach at that moment (idle, or beside a busy program).
"""

from __future__ import annotations

from engine.runtime import cpu
from engine.runtime.cpu import ThreadTuner, cpu_count, thread_options

BATCH = 64


class SimulatedCpu:
    def __init__(self, speed) -> None:
        self.speed = speed  # (threads, now) -> examples/s
        self.now = 0.0
        self.threads_set: list[int] = []
        self.seconds_at: dict[int, float] = {}  # how long each count trained
        self.messages: list[tuple[float, str]] = []

    def set_threads(self, n: int) -> None:
        self.threads_set.append(n)

    def train(self, tuner: ThreadTuner, until: float) -> None:
        while self.now < until:
            threads = self.threads_set[-1]
            step = BATCH / self.speed(threads, self.now)
            self.now += step
            self.seconds_at[threads] = self.seconds_at.get(threads, 0.0) + step
            message = tuner.batch_done(BATCH)
            if message:
                self.messages.append((self.now, message))


def tuned(speed, cores: int = 2) -> tuple[SimulatedCpu, ThreadTuner]:
    sim = SimulatedCpu(speed)
    return sim, ThreadTuner(cores, sim.set_threads, clock=lambda: sim.now)


def test_options_cover_all_cores_half_and_one():
    assert thread_options(1) == (1,)
    assert thread_options(2) == (2, 1)
    assert thread_options(8) == (8, 4, 1)


def test_cpu_count_follows_an_explicit_omp_num_threads(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert cpu_count() == 3
    monkeypatch.setenv("OMP_NUM_THREADS", "junk")
    assert cpu_count() >= 1


def test_idle_machine_keeps_every_core_and_spends_little_on_trials():
    sim, tuner = tuned(lambda threads, now: {2: 10_000, 1: 6_000}[threads])
    sim.train(tuner, until=600)
    assert tuner.threads == 2 and not sim.messages
    # Trials of one thread: ~0.3 s at the start, then after 10, 20, 40 and every 60 s.
    assert sim.seconds_at[1] / sim.now < 0.01


def test_busy_machine_from_the_start_moves_to_one_thread_within_a_second():
    sim, tuner = tuned(lambda threads, now: {2: 1_200, 1: 20_000}[threads])
    sim.train(tuner, until=2)
    assert tuner.threads == 1
    assert sim.messages[0][0] < 1.5  # warm-up, two threads, one thread, two threads again
    assert "1 CPU thread instead of 2" in sim.messages[0][1]
    assert "another program" in sim.messages[0][1]


def test_follows_a_competitor_that_comes_and_goes():
    def speed(threads, now):
        busy = 100 <= now < 300
        return {2: 1_500 if busy else 28_000, 1: 21_000 if busy else 22_000}[threads]

    sim, tuner = tuned(speed)
    sim.train(tuner, until=100)
    assert tuner.threads == 2
    sim.train(tuner, until=101)  # the speed drop triggers a trial at once
    assert tuner.threads == 1
    sim.train(tuner, until=300)
    assert tuner.threads == 1
    sim.train(tuner, until=300 + cpu.MAX_HOLD_SECONDS + 2)  # at most one hold to go back
    assert tuner.threads == 2
    assert [m for _, m in sim.messages][-1].startswith("Training on 2 CPU threads instead of 1")
    # While busy, the two-thread trials cost little: most busy time ran on one thread.
    assert sim.seconds_at[2] < 100 + 300 * 0.12


def test_a_small_difference_is_noise_not_a_reason_to_switch():
    sim, tuner = tuned(lambda threads, now: {2: 10_000, 1: 10_500}[threads])
    sim.train(tuner, until=300)
    assert tuner.threads == 2 and not sim.messages


def test_one_core_never_changes_anything():
    sim, tuner = tuned(lambda threads, now: 5_000, cores=1)
    sim.train(tuner, until=120)
    assert set(sim.threads_set) == {1} and not sim.messages


def test_many_cores_step_down_one_option_at_a_time():
    # A hyper-threaded 8-thread laptop: 4 threads fastest, 1 slowest.
    sim, tuner = tuned(lambda threads, now: {8: 6_000, 4: 9_000, 1: 3_000}[threads], cores=8)
    sim.train(tuner, until=200)
    assert tuner.threads == 4


def test_a_pause_is_not_mistaken_for_a_slow_machine():
    sim, tuner = tuned(lambda threads, now: {2: 10_000, 1: 6_000}[threads])
    sim.train(tuner, until=30)
    sim.now += 120  # paused for two minutes; the trainer says so before the next batch
    tuner.restart_window()
    sim.train(tuner, until=sim.now + 5)
    # Timed with the pause, two threads would have looked ~400x slower than one.
    assert tuner.threads == 2 and not sim.messages


def test_a_big_model_is_measured_batch_by_batch():
    # ResNet-18 on a busy 2-core CPU: seconds per batch; a trial must not take many of them.
    sim, tuner = tuned(lambda threads, now: {2: 12, 1: 30}[threads])
    sim.train(tuner, until=30)
    assert tuner.threads == 1
    assert sim.messages[0][0] < 20  # warm-up, held, trial and confirming batches


def test_the_slow_first_batches_of_a_run_do_not_make_fewer_threads_look_faster():
    # Allocation and kernel choice make the first batches (a fifth of a second) 3x slower.
    sim, tuner = tuned(lambda threads, now: {2: 10_000, 1: 6_000}[threads] / (
        3 if now < 0.2 else 1))
    sim.train(tuner, until=5)
    assert tuner.threads == 2 and not sim.messages


def test_a_moments_hiccup_does_not_move_the_run_to_fewer_threads():
    # Another program runs for a third of a second at t=30 s; two threads stay the faster.
    sim, tuner = tuned(lambda threads, now: 1_500 if threads == 2 and 30 <= now < 30.3 else
                       {2: 14_000, 1: 11_000}[threads])
    sim.train(tuner, until=120)
    assert tuner.threads == 2 and not sim.messages
