"""Busy programs beside a benchmark: each keeps one core busy, as a build or a video call."""

from __future__ import annotations

import subprocess
import sys
import time


class Competitors:
    """`n` processes running `while True: pass`, for the duration of the `with` block."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.processes: list[subprocess.Popen] = []

    def __enter__(self) -> Competitors:
        self.processes = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
                          for _ in range(self.n)]
        time.sleep(0.3)  # let them get going
        return self

    def __exit__(self, *exc: object) -> None:
        for process in self.processes:
            process.kill()
            process.wait()
