"""The window opens on the screen: sized to it at first launch, restored only where it fits."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QRect, QSize

from gui.window_geometry import first_launch_geometry, fits_a_screen

REPO = Path(__file__).resolve().parents[2]
LAPTOP = {"name": "laptop", "x": 0, "y": 0, "width": 1366, "height": 768}
SIDE_MONITOR = {"name": "side", "x": 1366, "y": 0, "width": 1920, "height": 1080}
BIG_MONITOR = {"name": "big", "x": 0, "y": 0, "width": 3840, "height": 2160}

# Runs in a fresh process on made-up screens: saves the geometry of a plain window at
# `save_rect` if given (on `save_screens`), then opens the main window on `screens` and
# prints its geometry and the screens' available areas.
SCENARIO = """
import json, sys
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QMainWindow
args = json.loads(sys.argv[1])
app = QApplication([])
settings = QSettings(args["settings"], QSettings.Format.IniFormat)
if args["mode"] == "save":
    window = QMainWindow()
    window.setGeometry(*args["rect"])
    window.show()
    app.processEvents()
    settings.setValue("window/geometry", window.saveGeometry())
    settings.sync()
else:
    from gui.main_window import MainWindow
    window = MainWindow(settings=settings, runs_dir=args["runs"])
    window.show()
    app.processEvents()
    g = window.frameGeometry()
    screens = [s.availableGeometry() for s in app.screens()]
    print(json.dumps({"window": [g.x(), g.y(), g.width(), g.height()],
                      "screens": [[s.x(), s.y(), s.width(), s.height()] for s in screens]}))
"""


def run_scenario(tmp_path: Path, screens: list[dict], **args) -> dict:
    config = tmp_path / f"screens-{len(list(tmp_path.iterdir()))}.json"
    config.write_text(json.dumps({"screens": [dict(s, logicalDpi=96, dpr=1) for s in screens]}))
    env = dict(os.environ, QT_QPA_PLATFORM=f"offscreen:configfile={config}")
    args = {"settings": str(tmp_path / "settings.ini"), "runs": str(tmp_path / "runs"), **args}
    result = subprocess.run([sys.executable, "-c", SCENARIO, json.dumps(args)], cwd=REPO,
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1]) if result.stdout else {}


def fits(report: dict) -> bool:
    return fits_a_screen(QRect(*report["window"]), [QRect(*s) for s in report["screens"]])


def test_first_launch_takes_most_of_the_available_area_and_never_more():
    available = QRect(0, 27, 1366, 741)  # a panel at the top
    rect = first_launch_geometry(available)
    assert available.contains(rect)
    assert (rect.width(), rect.height()) == (1229, 667)
    assert rect.center() == available.center()
    assert first_launch_geometry(available, fraction=1.5).size() == available.size()
    # A window that cannot be as small as 90% gets its smallest size, still centred.
    smallest = first_launch_geometry(available, minimum=QSize(1000, 720))
    assert (smallest.width(), smallest.height()) == (1229, 720)
    assert available.contains(smallest)
    assert first_launch_geometry(available, minimum=QSize(2000, 2000)).size() == available.size()


def test_a_rect_fits_only_when_wholly_on_one_screen():
    screens = [QRect(0, 0, 1366, 768), QRect(1366, 0, 1920, 1080)]
    assert fits_a_screen(QRect(100, 100, 800, 600), screens)
    assert fits_a_screen(QRect(1500, 100, 1700, 900), screens)
    assert not fits_a_screen(QRect(1000, 100, 800, 600), screens)  # across the two
    assert not fits_a_screen(QRect(100, 100, 1400, 900), screens)
    assert not fits_a_screen(QRect(5000, 100, 800, 600), screens)


def test_first_launch_fits_a_1366x768_screen(tmp_path):
    assert fits(run_scenario(tmp_path, [LAPTOP], mode="open"))


def test_a_saved_geometry_larger_than_the_screen_is_not_restored(tmp_path):
    run_scenario(tmp_path, [BIG_MONITOR], mode="save", rect=[100, 100, 3000, 2000])
    report = run_scenario(tmp_path, [LAPTOP], mode="open")
    assert fits(report)


def test_a_geometry_saved_on_a_screen_that_is_gone_is_not_restored(tmp_path):
    run_scenario(tmp_path, [LAPTOP, SIDE_MONITOR], mode="save", rect=[1500, 100, 1600, 900])
    report = run_scenario(tmp_path, [LAPTOP], mode="open")
    assert fits(report)
    assert QRect(*report["screens"][0]).contains(QRect(*report["window"]))


def test_a_saved_geometry_that_fits_is_restored(tmp_path):
    run_scenario(tmp_path, [LAPTOP, SIDE_MONITOR], mode="save", rect=[1500, 100, 1600, 900])
    report = run_scenario(tmp_path, [LAPTOP, SIDE_MONITOR], mode="open")
    x, y, width, height = report["window"]
    assert fits(report) and x >= 1366 and (width, height) == pytest.approx((1600, 900), abs=8)
