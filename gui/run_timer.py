"""How long a run has been running, not counting pauses, and how long it has left."""

from __future__ import annotations

from collections.abc import Callable


class ActiveTime:
    """Seconds a run has spent running, not counting pauses, read from an injectable clock."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._banked = 0.0
        self._running_since: float | None = None
        self._started = False

    def start(self) -> None:
        self._banked, self._running_since, self._started = 0.0, self._clock(), True

    def pause(self) -> None:
        if self._running_since is not None:
            self._banked += self._clock() - self._running_since
            self._running_since = None

    def resume(self) -> None:
        if self._started and self._running_since is None:
            self._running_since = self._clock()

    def stop(self) -> None:
        self.pause()
        self._started = False

    @property
    def running(self) -> bool:
        return self._running_since is not None

    def seconds(self) -> float:
        if self._running_since is None:
            return self._banked
        return self._banked + self._clock() - self._running_since


class RunTimer:
    """A run's active time and its time left: the average active time per batch so far
    times the batches left in the whole run, counted down between batches so that it moves
    every second (not while paused). Read from an injectable clock."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._active = ActiveTime(clock)
        self._run_batches = 0
        self._batches_done = 0
        self._active_at_last_batch = 0.0
        self._over = False

    def start(self, run_batches: int) -> None:
        """A run of `run_batches` batches starts now."""
        self.reset()
        self._run_batches = run_batches
        self._active.start()

    def reset(self) -> None:
        """No run: stopped, nothing done."""
        self._active.stop()
        self._run_batches = self._batches_done = 0
        self._active_at_last_batch = 0.0
        self._over = False

    def pause(self) -> None:
        self._active.pause()

    def resume(self) -> None:
        self._active.resume()

    def stop(self) -> None:
        """The run is over: the clock stops, and nothing is left."""
        self._active.stop()
        self._over = True

    @property
    def running(self) -> bool:
        return self._active.running

    def batches_done(self, batches: int) -> None:
        """`batches` of the run's batches are done, as of now."""
        self._batches_done = batches
        self._active_at_last_batch = self._active.seconds()

    def elapsed(self) -> float:
        return self._active.seconds()

    def seconds_left(self) -> float | None:
        """None before the first batch and once the run is over."""
        if self._over or self._batches_done == 0:
            return None
        remaining = max(0, self._run_batches - self._batches_done)
        at_last_batch = self._active_at_last_batch / self._batches_done * remaining
        return max(0.0, at_last_batch - (self._active.seconds() - self._active_at_last_batch))
