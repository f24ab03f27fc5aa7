"""Retake the README's screenshots of the real window (offscreen Qt, no display needed).

    python tools/take_screenshots.py [images]

Trains the default settings (LeNet-5 on the bundled MNIST sample) in a 1366x768 window and
saves docs/screenshot.png when it has finished and docs/results.png of its Results tab, then
draws a 2 on the Draw tab and saves docs/draw.png, then tries the model on a few image files
(digits written in dark ink on grey paper, and a text file) and saves docs/images.png.
With `images`, only the last, with the bundled demo model (no training). Settings and runs
go to a temporary folder, not the user's.
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from PySide6.QtCore import QEventLoop, QSettings  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from gui.main_window import MainWindow  # noqa: E402
from gui.worker import leave_the_cores_to_training  # noqa: E402
from tools.sample_images import photo_of_a_digit  # noqa: E402


def a_two() -> list[list[tuple[float, float]]]:
    """A handwritten-looking 2 in canvas coordinates (0..1, y down)."""
    arc = [(0.5 + 0.2 * math.cos(math.radians(a)), 0.33 + 0.15 * math.sin(math.radians(a)))
           for a in range(200, 390, 10)]
    return [arc + [(0.33, 0.75), (0.30, 0.78), (0.72, 0.77)]]


def show_tab(app: QApplication, window: MainWindow, title: str) -> None:
    index = next(i for i in range(window.tabs.count()) if window.tabs.tabText(i) == title)
    window.tabs.setCurrentIndex(index)
    for _ in range(20):  # let the tab lay itself out and draw what it holds
        app.processEvents()


def try_images(app: QApplication, window: MainWindow, folder: Path, docs: Path) -> None:
    """Drop-like: five photos of digits and a text file tried on the Draw tab."""
    show_tab(app, window, "Draw")
    files = []
    for digit, size in [(3, (640, 480)), (5, (480, 640)), (8, (1200, 900)), (0, (300, 300)),
                        (6, (800, 600))]:
        files.append(folder / f"photo-of-a-{digit}.jpg")
        photo_of_a_digit(digit, size).save(files[-1], quality=90)
    files.append(folder / "shopping-list.txt")
    files[-1].write_text("milk, eggs")
    window.draw.try_images([(path.name, path) for path in files])
    while window.draw.images.busy() or len(window.draw.images.results()) < len(files):
        app.processEvents()
    window.draw.images.select(1)
    for _ in range(20):
        app.processEvents()
    window.grab().save(str(docs / "images.png"))
    answers = [window.draw.images.table.item(row, 2).text() for row in range(len(files))]
    print(f"Saved docs/images.png; the answers: {', '.join(answers)}.")


def main() -> int:
    leave_the_cores_to_training()
    app = QApplication([])
    app.setStyle("Fusion")
    docs = REPO / "docs"
    docs.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        settings = QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat)
        window = MainWindow(settings=settings, runs_dir=Path(tmp) / "runs")
        window.resize(1366, 768)
        window.show()
        while not window.engine_ready():  # PyTorch loads behind the window
            app.processEvents()
        if sys.argv[1:] == ["images"]:
            try_images(app, window, Path(tmp), docs)
            window.close()
            return 0
        if not window.commands.start_training():
            raise SystemExit("The window refused to train: "
                             + window.banner.text())
        ends = []
        # A local loop, not app.quit(): quitting closes every window, and a closed window's
        # tabs are never shown again (the Results tab draws when it is shown).
        loop = QEventLoop()
        window.controller.session.finished.connect(lambda end: (ends.append(end), loop.quit()))
        loop.exec()
        if ends[0].reason != "finished":
            raise SystemExit(f"The run did not finish: {ends[0].message}")
        app.processEvents()
        window.grab().save(str(docs / "screenshot.png"))
        show_tab(app, window, "Results")
        window.grab().save(str(docs / "results.png"))

        show_tab(app, window, "Draw")
        window.draw.canvas.set_strokes(a_two())
        while window.draw.prediction_pending():
            app.processEvents()
        app.processEvents()
        window.grab().save(str(docs / "draw.png"))
        print("Saved docs/screenshot.png, docs/results.png and docs/draw.png; the drawing "
              f"reads as {window.draw.predicted_class()}.")
        try_images(app, window, Path(tmp), docs)
        window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
