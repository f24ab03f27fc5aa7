"""How fast TrainDesk starts: the window, `train --help`, and the PyTorch import behind them.

1. Window vs `import torch`: from just before the process is spawned to the main window's
   first paint (`python main.py` with TRAINDESK_FIRST_PAINT_T0, which prints the time and
   exits), against the wall time of `python -c "import torch"`. The two alternate, `--pairs`
   times (>= 5), and medians are compared: this shared machine's speed drifts. Target: the
   window is up in well under the time of `import torch`.
2. `main.py train --help`: median wall time here and in the checkout of `--before` (a git
   revision, extracted to a temporary folder; default: the last commit whose CLI imported
   PyTorch before answering), alternating; and `main.py --version` here.
3. Where to import PyTorch: on a background thread (what the app does) or on the GUI thread
   right after the first paint. A fresh app process per run; a QTimer set to fire every
   10 ms on the GUI thread records how late it fires from the first paint until PyTorch has
   loaded. Max and 99th percentile lateness and the time until loaded, medians over
   `--pairs` runs of each, alternating; then how long the window takes to build the panels
   that need PyTorch (on the GUI thread in both cases).

Qt runs offscreen unless QT_QPA_PLATFORM is set.

    python bench/startup.py [--pairs 5] [--before 4b38bfa]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_BEFORE = "4b38bfa"  # CLI and window imported PyTorch first (before startup-cli)


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ, HOME=str(home), XDG_CONFIG_HOME=str(home / "config"), **extra)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    return env


def time_window(home: Path) -> float:
    """Seconds from just before spawning `python main.py` to its window's first paint."""
    t0 = time.time()
    result = subprocess.run([sys.executable, "main.py"], cwd=REPO, capture_output=True,
                            text=True, env=_env(home, TRAINDESK_FIRST_PAINT_T0=repr(t0)),
                            timeout=300, check=True)
    report = dict(item.split("=") for item in result.stdout.split())
    if report["torch_imported"] != "False":
        raise SystemExit("PyTorch was imported before the window was painted")
    return float(report["first_paint_s"])


def time_command(command: list[str], cwd: Path, home: Path) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, capture_output=True, env=_env(home), timeout=300,
                   check=True)
    return time.perf_counter() - start


def extract_revision(revision: str, into: Path) -> Path:
    archive = into / "before.tar"
    with archive.open("wb") as out:
        subprocess.run(["git", "archive", revision], cwd=REPO, stdout=out, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into / "before", filter="data")
    return into / "before"


def responsiveness_child(mode: str) -> None:
    """Runs in a child process: the real window, PyTorch imported per `mode`; prints JSON."""
    sys.path.insert(0, str(REPO))
    from PySide6.QtCore import QElapsedTimer, QEvent, QObject, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from gui.engine_loader import EngineLoader, import_engine
    from gui.main_window import MainWindow

    clock = QElapsedTimer()
    marks: dict[str, float] = {}

    def now() -> float:
        return clock.nsecsElapsed() / 1e9

    if mode == "gui":  # the alternative: import on the GUI thread, after the first paint
        def import_on_gui_thread(loader: EngineLoader) -> None:
            import_engine()
            loader.loaded.emit()

        EngineLoader.start = import_on_gui_thread
    build_panels = MainWindow._on_engine_loaded

    def timed_build(window: MainWindow) -> None:  # the window's own work once loaded
        marks["loaded_s"] = now()
        build_panels(window)
        marks["panels_built_s"] = now()
        QTimer.singleShot(200, app.quit)

    MainWindow._on_engine_loaded = timed_build
    app = QApplication([])
    settings = QSettings(str(Path(tempfile.mkdtemp()) / "s.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings=settings, runs_dir=tempfile.mkdtemp())
    ticks: list[float] = []  # when the timer fired
    tick = QTimer()

    def on_tick() -> None:
        ticks.append(now())

    class FirstPaint(QObject):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
            if event.type() == QEvent.Type.Paint and not clock.isValid():
                clock.start()
                tick.start()
            return False

    tick.timeout.connect(on_tick)
    tick.setInterval(10)
    probe = FirstPaint()
    window.installEventFilter(probe)
    window.show()
    app.exec()
    tick.stop()
    # Lateness while importing: each gap between two ticks, cut off where PyTorch had loaded
    # (a gap that spans the whole GUI-thread import counts up to that moment only).
    loaded = marks["loaded_s"]
    loading = sorted(max(0.0, min(t, loaded) - previous - 0.010) * 1000
                     for previous, t in zip([0.0, *ticks[:-1]], ticks, strict=True)
                     if previous < loaded)
    print(json.dumps({"max_ms": loading[-1],
                      "p99_ms": loading[int(0.99 * (len(loading) - 1))],
                      "loaded_s": loaded,
                      "panels_ms": (marks["panels_built_s"] - loaded) * 1000}))


def responsiveness(mode: str, home: Path) -> dict[str, float]:
    result = subprocess.run([sys.executable, __file__, "--child", mode], cwd=REPO,
                            capture_output=True, text=True, env=_env(home), timeout=300,
                            check=True)
    return json.loads(result.stdout.splitlines()[-1])


def median(values: list[float]) -> float:
    return statistics.median(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--before", default=DEFAULT_BEFORE,
                        help="git revision to time `train --help` against")
    parser.add_argument("--child", choices=("thread", "gui"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        responsiveness_child(args.child)
        return
    pairs = max(args.pairs, 5)
    home = Path(tempfile.mkdtemp(prefix="traindesk-bench-"))
    python = sys.executable

    window, torch_import = [], []
    for _ in range(pairs):
        window.append(time_window(home))
        torch_import.append(time_command([python, "-c", "import torch"], REPO, home))
    print(f"1. Window painted vs import torch ({pairs} alternating pairs, offscreen="
          f"{_env(home)['QT_QPA_PLATFORM']}):")
    print(f"   window first paint   median {median(window):.2f} s   "
          f"(runs: {', '.join(f'{v:.2f}' for v in window)})")
    print(f"   python -c 'import torch' median {median(torch_import):.2f} s   "
          f"(runs: {', '.join(f'{v:.2f}' for v in torch_import)})")
    print(f"   window / import torch = {median(window) / median(torch_import):.0%}")

    before = extract_revision(args.before, home)
    print(f"\n2. CLI answers (median of {pairs}; before = {args.before}):")
    now, then = [], []
    for _ in range(pairs):
        now.append(time_command([python, "main.py", "train", "--help"], REPO, home))
        then.append(time_command([python, "main.py", "train", "--help"], before, home))
    version = [time_command([python, "main.py", "--version"], REPO, home) for _ in range(pairs)]
    print(f"   main.py train --help   now {median(now):.2f} s   before {median(then):.2f} s")
    print(f"   main.py --version      now {median(version):.2f} s   (before: it opened the app)")

    results: dict[str, list[dict[str, float]]] = {"thread": [], "gui": []}
    for _ in range(pairs):
        for mode in results:
            results[mode].append(responsiveness(mode, home))
    print(f"\n3. GUI thread lateness while PyTorch loads (10 ms timer; median of {pairs}):")
    for mode, label in (("thread", "background thread (the app)"),
                        ("gui", "GUI thread after first paint")):
        runs = results[mode]
        print(f"   {label:<30} max {median([r['max_ms'] for r in runs]):6.0f} ms   "
              f"p99 {median([r['p99_ms'] for r in runs]):5.0f} ms   loaded after "
              f"{median([r['loaded_s'] for r in runs]):.2f} s")
    panels = [r["panels_ms"] for mode in results for r in results[mode]]
    print(f"   then building the Model and Draw panels on the GUI thread: median "
          f"{median(panels):.0f} ms (same in both)")


if __name__ == "__main__":
    main()
