"""How training uses the CPU: how many intra-op threads, chosen from measured speed.

Why this exists. PyTorch's OpenMP threads spin-wait at the end of every parallel region.
When another program (a browser, a build, the app's own painting) takes one core, one of
our threads is descheduled and the others spin waiting for it at every region; small layers
have many regions per step, and a 2-core machine trained the MLP 25-35x slower beside one
busy process. One thread is then 10x faster than two, while on an idle machine two threads
are faster for most models. `OMP_WAIT_POLICY=PASSIVE` avoids the collapse but costs ~29%
when idle; no fixed setting wins both (measured: bench/contention.py). So the thread count
follows the speed it measures: `ThreadTuner` times the current count, now and then tries
the neighbouring one for a few batches, and keeps whichever trains more examples a second.

A person can fix the count instead (`TrainConfig.threads`, `--threads N`): different thread
counts sum floating-point numbers in different orders, so only a fixed count gives
bit-identical repeat runs.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

# A speed is measured over at least this long and this many batches (or one batch of at
# least a second: a big model's batch is a precise measurement on its own).
WINDOW_SECONDS = 0.25
WINDOW_BATCHES = 3
LONG_BATCH_SECONDS = 1.0
# How long a choice is kept before the neighbour is tried again: doubling while the choice
# stands, back to the shortest hold when it changes or the speed drops sharply (a competing
# program has started). An idle machine spends ~1% of its time on trials: one at the start,
# then after 10, 20, 40 and every 60 seconds.
MIN_HOLD_SECONDS = 10.0
MAX_HOLD_SECONDS = 60.0
SWITCH_MARGIN = 1.1  # another count must be this much faster (twice) to be chosen
SPEED_DROP = 0.6  # held speed below this share of the speed at the choice: re-check now


def cpu_count() -> int:
    """The cores this process may run on (an `OMP_NUM_THREADS` the person set wins)."""
    explicit = os.environ.get("OMP_NUM_THREADS", "")
    if explicit.isdigit() and int(explicit) > 0:
        return int(explicit)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def thread_options(cores: int) -> tuple[int, ...]:
    """Counts worth trying, most first: all cores, half of them (hyper-threads), one."""
    return tuple(sorted({cores, max(1, cores // 2), 1}, reverse=True))


class ThreadTuner:
    """Picks the intra-op thread count that trains fastest right now, batch by batch.

    Call `batch_done(examples)` after each training batch (on the CPU, where a batch's wall
    time is its cost); it returns a sentence when the count changes. `set_threads` is
    `torch.set_num_threads`, called on the training thread.

    Each speed is measured over a window (`WINDOW_SECONDS`). The count in use is timed; when
    its hold is over (or its speed has dropped sharply) the neighbouring count is timed for
    one window; if that was faster, the count in use is timed once more before switching, so
    that a moment's hiccup in the first window cannot move the run to a slower count.
    """

    def __init__(self, cores: int, set_threads: Callable[[int], None],
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.options = thread_options(cores)
        self.threads = self.options[0]
        self._set_threads = set_threads
        self._clock = clock
        self._hold = 0.0  # the first trial comes as soon as the first speed is known
        # A run's first batches are slow whatever the count (memory is allocated, kernels
        # are chosen): timed, they would make any other count look faster. Not timed.
        self._phase = "warm-up"  # then "held", "trial" (the neighbour), "confirm"
        self._trial = self.threads
        self._held_rate = self._trial_rate = 0.0
        self._chosen_rate: float | None = None  # speed of the count in use when chosen
        self._set_threads(self.threads)
        self._hold_current()

    def batch_done(self, examples: int) -> str | None:
        now = self._clock()
        self._examples += examples
        self._batches += 1
        elapsed = now - self._window_start
        if elapsed < WINDOW_SECONDS or (self._batches < WINDOW_BATCHES
                                        and elapsed < LONG_BATCH_SECONDS):
            return None
        rate = self._examples / elapsed
        self._new_window(now)
        if self._phase == "warm-up":
            self._phase = "held"
        elif self._phase == "held":
            self._held(rate, now)
        elif self._phase == "trial":
            self._trial_rate = rate
            if rate > SWITCH_MARGIN * self._held_rate:  # time the count in use once more
                self._phase = "confirm"
                self._set_threads(self.threads)
            else:
                self._keep(self._held_rate)
        else:  # confirm
            if self._trial_rate > SWITCH_MARGIN * max(self._held_rate, rate):
                return self._switch()
            self._keep(rate)
        return None

    def restart_window(self) -> None:
        """Forget the batches timed so far in this window: a pause or an evaluation came."""
        self._new_window(self._clock())

    def _held(self, rate: float, now: float) -> None:
        self._held_rate = rate
        if self._chosen_rate is None:
            self._chosen_rate = rate
        if rate < SPEED_DROP * self._chosen_rate:  # something else has started: look again
            self._hold = 0.0
        if now - self._held_since < self._hold:
            return
        index = self.options.index(self.threads)
        # One step fewer threads; from the fewest, one step more.
        neighbour = index + 1 if index + 1 < len(self.options) else index - 1
        if neighbour < 0:  # a single core: nothing to try
            self._hold = MAX_HOLD_SECONDS
            self._hold_current()
            return
        self._phase, self._trial = "trial", self.options[neighbour]
        self._set_threads(self._trial)

    def _keep(self, rate: float) -> None:
        """The count in use stays (its threads set again), held twice as long as before."""
        self._chosen_rate = rate
        self._hold = min(max(self._hold * 2, MIN_HOLD_SECONDS), MAX_HOLD_SECONDS)
        self._set_threads(self.threads)
        self._phase = "held"
        self._hold_current()

    def _switch(self) -> str:
        held, trial = self.threads, self._trial
        message = (f"Training on {plural_threads(trial)} instead of {held}: "
                   f"{self._trial_rate:,.0f} against {self._held_rate:,.0f} examples/s"
                   + (" (another program is probably busy on the CPU)." if trial < held
                      else "."))
        self.threads, self._chosen_rate, self._hold = trial, self._trial_rate, MIN_HOLD_SECONDS
        self._set_threads(trial)
        self._phase = "held"
        self._hold_current()
        return message

    def _hold_current(self) -> None:
        self._held_since = self._clock()
        self._new_window(self._held_since)

    def _new_window(self, now: float) -> None:
        self._window_start, self._examples, self._batches = now, 0, 0


def plural_threads(n: int) -> str:
    return f"{n} CPU thread" + ("" if n == 1 else "s")
