"""What the Sweep tab costs per finished trial, and while a sweep runs with nothing new.

    QT_QPA_PLATFORM=offscreen python bench/sweep_gui.py [trials ...]

For sweeps of 10, 50 and 200 complete trials (made with Optuna directly, over three
settings): the background read after a trial ends (the study, and the importances whose
count of complete trials changed) and the GUI thread's update (table, parallel coordinates,
scatter, importance bars). Then the CPU the tab costs over 10 s of a followed sweep in
which nothing changes (its polls a few times a second), as a share of one core.
Medians of 5 (the first read of a folder is not counted; the first sweep is read once
before, to warm up).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1])]
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import optuna  # noqa: E402
from PySide6.QtCore import QEventLoop, QSettings, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from engine.config import TrainConfig  # noqa: E402
from engine.experiments.search_space import parse_search  # noqa: E402
from engine.experiments.sweep import SweepPlan  # noqa: E402
from engine.records.run_folder import SWEEP_FILE, SWEEP_STORAGE_FILE  # noqa: E402
from gui.run_controller import RunController  # noqa: E402
from gui.run_model import RunModel  # noqa: E402
from gui.sweep_follower import SweepReading  # noqa: E402
from gui.sweep_panel import SweepPanel  # noqa: E402

SEARCH = ("lr=1e-4..1e-1:log", "batch-size=16..256", "optimizer=sgd,adam")
REPEATS = 5


def make_sweep(folder: Path, trials: int) -> None:
    folder.mkdir()
    plan = SweepPlan(base=TrainConfig(), space=tuple(parse_search(t) for t in SEARCH),
                     trials=trials, sweep_dir=folder, sampler="random", study="bench")
    (folder / SWEEP_FILE).write_text(json.dumps(plan.as_dict()), encoding="utf-8")
    study = optuna.create_study(study_name="bench", direction="maximize",
                                storage=f"sqlite:///{folder / SWEEP_STORAGE_FILE}",
                                sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(lambda t: t.suggest_float("lr", 1e-4, 1e-1, log=True) * 0
                   + t.suggest_int("batch_size", 16, 256) / 256
                   + (t.suggest_categorical("optimizer", ["sgd", "adam"]) == "adam") * 0.1,
                   n_trials=trials)


def wait(ms: int) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def main() -> None:
    counts = [int(a) for a in sys.argv[1:]] or [10, 50, 200]
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    app = QApplication.instance() or QApplication([])
    print("trials | background read (ms) | GUI thread update (ms) | idle follow (% of a core)")
    for index, count in enumerate([counts[0], *counts]):
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "sweep"
            make_sweep(folder, count)
            reads, updates = [], []
            reading = SweepReading(folder)
            reading.read(frozenset(), force=True)
            settings = QSettings(str(Path(tmp) / "s.ini"), QSettings.Format.IniFormat)
            panel = SweepPanel(RunController(RunModel(), settings, tmp), TrainConfig)
            panel.resize(1200, 800)
            panel.show()
            for _ in range(REPEATS):
                reading.complete = -1  # as after a trial has ended: importances again
                start = time.perf_counter()
                view = reading.read(frozenset(), force=True)
                reads.append(time.perf_counter() - start)
                start = time.perf_counter()
                panel.show_view(view)
                app.processEvents()
                updates.append(time.perf_counter() - start)
            panel.follow(folder)
            wait(2000)
            cpu = time.process_time()
            wait(10_000)
            share = (time.process_time() - cpu) / 10.0
            panel.follower.follow(None)
            panel.follower.wait(10)
            panel.close()
            if index == 0:
                continue  # warming up: first imports (fANOVA, scipy), first paints
            print(f"{count:6d} | {1000 * statistics.median(reads):20.0f} | "
                  f"{1000 * statistics.median(updates):22.0f} | {100 * share:.1f}")


if __name__ == "__main__":
    main()
