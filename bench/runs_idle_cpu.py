"""CPU the Runs dock costs while nothing happens: a runs folder of 500 finished runs, listed,
then followed for a while with nothing written (file watcher plus the slow fallback poll).

    QT_QPA_PLATFORM=offscreen python bench/runs_idle_cpu.py [seconds] [runs]

Prints the process's CPU time (all threads) over the idle period as a share of one core.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parent)]
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEventLoop, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402
from runs_listing import write_runs  # noqa: E402

from gui.runs_panel import RunsPanel  # noqa: E402


def wait(ms: int) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 30.0
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as tmp:
        write_runs(Path(tmp), count, 20)
        panel = RunsPanel(tmp)
        panel.show()
        t0 = time.perf_counter()
        panel.library.resume()
        while panel.model.rowCount() < count:
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        print(f"first listing of {count} runs shown after {time.perf_counter() - t0:.2f} s")
        wait(1000)  # let the listing settle
        cpu0, wall0 = time.process_time(), time.perf_counter()
        wait(int(seconds * 1000))
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        print(f"idle for {wall:.1f} s: {cpu:.3f} s CPU = {100 * cpu / wall:.2f}% of one core")
        panel.library.shutdown()
        panel.close()


if __name__ == "__main__":
    main()
