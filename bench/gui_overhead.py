"""What the live window costs: the same training headless and through the real window.

Trains LeNet-5 (classic) on the CPU, first headless (`Trainer.run` on the main thread of a
fresh process, writing a run folder, as the CLI does), then by clicking Train in the real
MainWindow (offscreen Qt, live plots on screen). The headless pass runs in a child process
because a main thread that has done multi-threaded tensor work keeps an OpenMP pool that
slows any later training thread (see gui/worker.py); the app's GUI thread never does.
Prints examples/s of both (training time of each epoch, as the engine measures it) and their
ratio. Headless and windowed runs alternate `--repeats` times and medians are compared,
because this shared 2-core machine's speed drifts by tens of percent between runs. Also
prints how late a QTimer probe set to fire every 10 ms fired on the GUI thread during the
windowed runs: max and 99th percentile lateness. Targets: GUI >= 95% of headless throughput;
lateness p99 < 30 ms, max < 100 ms.

`--no-window` compares the headless run with the app's training session alone (the trainer
on a QThread, events crossing to a Qt event loop, no window and no probe): what is left of
the gap is the window's drawing.

    python bench/gui_overhead.py [--dataset fashion-mnist|mnist-sample] [--epochs 1]
                                 [--batch-size 64] [--repeats 3] [--no-window]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtCore import QElapsedTimer, QSettings, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from bench.competitors import Competitors  # noqa: E402
from engine.config import TrainConfig  # noqa: E402
from engine.data import load_dataset  # noqa: E402
from engine.events import EpochEnd  # noqa: E402
from engine.training.trainer import Trainer  # noqa: E402

PROBE_MS = 10


def throughput(records: list[dict], train_size: int) -> float:
    return train_size * len(records) / sum(r["seconds"] for r in records)


def headless(config: TrainConfig, train_size: int) -> float:
    """As the CLI trains: the run writes its folder (record, checkpoint, and TensorBoard
    events where installed), as the window's run does."""
    records: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        Trainer(config, run_dir=Path(tmp) / "run").run(
            lambda e: records.append(e.as_record()) if isinstance(e, EpochEnd) else None)
    return throughput(records, train_size)


class LatenessProbe:
    """A 10 ms timer on the GUI thread; records how late each tick fired."""

    def __init__(self) -> None:
        self.timer = QTimer()
        self.timer.setInterval(PROBE_MS)
        self.timer.timeout.connect(self._tick)
        self.clock = QElapsedTimer()
        self.lateness_ms: list[float] = []
        self._last = 0.0

    def start(self) -> None:
        self.clock.start()
        self._last = 0.0
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def _tick(self) -> None:
        now = self.clock.nsecsElapsed() / 1e6
        self.lateness_ms.append(max(0.0, now - self._last - PROBE_MS))
        self._last = now


def windowed(app: QApplication, config: TrainConfig, train_size: int) -> tuple[float, list]:
    from gui.main_window import MainWindow

    with tempfile.TemporaryDirectory() as tmp:
        settings = QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat)
        window = MainWindow(settings=settings, runs_dir=Path(tmp) / "runs")
        window.resize(1400, 900)
        window.show()
        window.settings_panel.set_config(config)
        while not window.engine_ready():  # PyTorch loads behind the window (already here)
            app.processEvents()
        probe = LatenessProbe()
        done = []
        if not window.commands.start_training():
            raise SystemExit("the window refused to train: " + window.banner.text())
        window.controller.session.finished.connect(lambda end: (done.append(end), app.quit()))
        probe.start()
        app.exec()
        probe.stop()
        if done[0].reason != "finished":
            raise SystemExit(f"windowed run did not finish: {done[0].message}")
        rate = throughput(window.history, train_size)
        window.close()
        window.deleteLater()  # free the window and its last run before the next repeat
        app.processEvents()
    return rate, probe.lateness_ms


def session_only(app: QApplication, config: TrainConfig, train_size: int) -> float:
    """The window's training path without the window: TrainingSession on its QThread."""
    from gui.worker import TrainingSession

    records: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        session = TrainingSession(config, run_dir=Path(tmp) / "run")
        session.events.connect(lambda events: records.extend(
            e.as_record() for e in events if isinstance(e, EpochEnd)))
        session.finished.connect(lambda _end: app.quit())
        session.start()
        app.exec()
        session.deleteLater()
        app.processEvents()
    return throughput(records, train_size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", default="fashion-mnist")
    parser.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0 = auto)")
    parser.add_argument("--competitors", type=int, default=0,
                        help="busy processes beside both sides (bench/competitors.py)")
    parser.add_argument("--no-window", action="store_true",
                        help="the training session alone against headless (see above)")
    parser.add_argument("--headless-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    config = TrainConfig(arch="lenet5", dataset=args.dataset, data_dir=args.data_dir,
                         epochs=args.epochs, batch_size=args.batch_size, device="cpu",
                         threads=args.threads)
    if not args.headless_only:
        from gui.worker import leave_the_cores_to_training

        leave_the_cores_to_training()  # as gui/app.py does first thing
    train_size = len(load_dataset(config.dataset, config.data_dir).train_labels)
    if args.headless_only:
        print(headless(config, train_size))
        return
    app = QApplication([])
    app.setStyle("Fusion")
    print(f"LeNet-5, {config.dataset} ({train_size:,} training images), batch "
          f"{config.batch_size}, {config.epochs} epoch(s), CPU, threads "
          f"{config.threads or 'auto'}, {args.competitors} busy competitor(s)")

    side = "session" if args.no_window else "window"
    base_rates, gui_rates, lateness = [], [], []
    for run in range(1, args.repeats + 1):
        with Competitors(args.competitors):
            child = subprocess.run([sys.executable, __file__, "--headless-only",
                                    *sys.argv[1:]], capture_output=True, text=True, check=True)
        base_rates.append(float(child.stdout.split()[-1]))
        with Competitors(args.competitors):
            if args.no_window:
                rate, late = session_only(app, config, train_size), []
            else:
                rate, late = windowed(app, config, train_size)
        gui_rates.append(rate)
        lateness.extend(late)
        print(f"run {run}: headless {base_rates[-1]:8,.0f} examples/s, {side} {rate:8,.0f} "
              f"examples/s ({rate / base_rates[-1]:.1%})"
              + (f", lateness max {max(late):.1f} ms" if late else ""))
    base, gui = float(np.median(base_rates)), float(np.median(gui_rates))
    paired = float(np.median(np.array(gui_rates) / np.array(base_rates)))
    print(f"median headless: {base:10,.0f} examples/s")
    print(f"median {side + ':':9}{gui:10,.0f} examples/s")
    print(f"{side} / headless: {gui / base:.1%} (ratio of medians), {paired:.1%} (median of "
          f"the {len(gui_rates)} paired ratios); target >= 95%")
    if not lateness:
        return
    late = np.array(lateness)
    print(f"event-loop lateness over {len(late)} probe ticks: p99 {np.percentile(late, 99):.1f} "
          f"ms, max {late.max():.1f} ms (targets: p99 < 30 ms, max < 100 ms)")


if __name__ == "__main__":
    main()
