"""The window fits a 1024x600 netbook screen (and a 1280x720 laptop's) with nothing cut off
or overlapping, and its captions and secondary text are readable (WCAG AA contrast)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QRect, QSettings, QSize
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QGraphicsView,
    QLabel,
    QLayout,
    QScrollArea,
    QWidget,
)

from engine.config import TrainConfig
from engine.events import MissingData, RunEnd
from gui.contrast import AA_NORMAL_TEXT, contrast_ratio, secondary_colour
from gui.main_window import MainWindow
from gui.plots_panel import PLOT_MIN_HEIGHT
from gui.run_banner import BANNER_COLOURS
from tests.gui.windows import open_window

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")

REPO = Path(__file__).resolve().parents[2]
# A 1280x720 screen less a title bar (~37 px) and a panel or taskbar (~48 px), with room.
SMALL_SCREEN_AVAILABLE = QSize(1280, 720 - 90)
SMALLEST_SCREEN = QSize(1024, 600)  # the whole window, title bar aside, on a netbook's screen
RUN_TIMEOUT_MS = 120_000


@pytest.fixture
def window(qtbot, tmp_path):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings=settings, runs_dir=tmp_path / "runs")
    qtbot.addWidget(window)
    window.show()
    return window


def laid_out_widgets(layout: QLayout) -> list[QWidget]:
    """The visible widgets a layout places (through nested layouts), in order."""
    found = []
    for index in range(layout.count()):
        item = layout.itemAt(index)
        if item.widget() is not None and item.widget().isVisible():
            found.append(item.widget())
        elif item.layout() is not None:
            found.extend(laid_out_widgets(item.layout()))
    return found


def overlaps_and_squeezes(root: QWidget) -> list[str]:
    """Siblings placed by one layout that overlap, and widgets smaller than their minimum."""
    problems = []
    for widget in [root, *root.findChildren(QWidget)]:
        if not widget.isVisible() or widget.layout() is None:
            continue
        placed = laid_out_widgets(widget.layout())
        for i, a in enumerate(placed):
            hint = a.minimumSizeHint()  # where a minimum size is set, it wins (as in Qt)
            if a.minimumWidth() > 0:
                hint.setWidth(a.minimumWidth())
            if a.minimumHeight() > 0:
                hint.setHeight(a.minimumHeight())
            if hint.isValid() and not a.findChildren(QScrollArea) and (
                    a.width() < hint.width() or a.height() < hint.height()):
                problems.append(f"{type(a).__name__} {a.objectName()!r} {a.size()} < {hint}")
            for b in placed[i + 1:]:
                if QRect(a.geometry()).intersects(b.geometry()):
                    problems.append(f"{type(a).__name__} overlaps {type(b).__name__} in "
                                    f"{type(widget).__name__}")
    return problems


def test_the_window_fits_a_1280x720_screen(window, qtbot):
    hint = window.minimumSizeHint()
    assert hint.width() <= SMALL_SCREEN_AVAILABLE.width()
    assert hint.height() <= SMALL_SCREEN_AVAILABLE.height()


def test_the_window_fits_a_1024x600_screen(window, qtbot):
    for tab in range(window.tabs.count()):  # whichever tab is open
        window.tabs.setCurrentIndex(tab)
        hint = window.minimumSizeHint()
        assert hint.width() <= SMALLEST_SCREEN.width(), window.tabs.tabText(tab)
        assert hint.height() <= SMALLEST_SCREEN.height(), window.tabs.tabText(tab)


def test_mid_run_compared_with_another_run_the_window_fits_1024x600(qtbot, tmp_path,
                                                                    data_dir):
    window = open_window(qtbot, tmp_path)
    window.settings_panel.set_config(TrainConfig(
        arch="mlp", dataset="mnist", data_dir=str(data_dir), epochs=2, batch_size=20,
        device="cpu"))
    window.commands.start_training()
    with qtbot.waitSignal(window.controller.session.finished, timeout=RUN_TIMEOUT_MS) as finished:
        pass
    folder = str(Path(finished.args[0].checkpoint_path).parent)
    qtbot.waitUntil(lambda: window.runs_panel.model.row_of(folder) is not None,
                    timeout=RUN_TIMEOUT_MS)
    window.runs_panel.tick(folder)  # compared: the key below the plots shows
    window.commands.start_training()
    window.commands.toggle_pause()
    qtbot.waitUntil(lambda: "Paused at epoch 1" in window.log.text(), timeout=RUN_TIMEOUT_MS)
    window.resize(SMALLEST_SCREEN)
    data = next(window.tabs.widget(i) for i in range(window.tabs.count())
                if window.tabs.tabText(i) == "Data")
    window.tabs.setCurrentWidget(data)
    qtbot.waitUntil(lambda: data.shown() is not None, timeout=RUN_TIMEOUT_MS)  # its samples
    for tab in range(window.tabs.count()):
        window.tabs.setCurrentIndex(tab)
        QApplication.processEvents()
        hint = window.minimumSizeHint()
        assert hint.width() <= SMALLEST_SCREEN.width(), window.tabs.tabText(tab)
        assert hint.height() <= SMALLEST_SCREEN.height(), window.tabs.tabText(tab)
        assert window.size() == SMALLEST_SCREEN
    window.tabs.setCurrentIndex(0)
    QApplication.processEvents()
    assert window.plots.key.isVisible()
    assert overlaps_and_squeezes(window) == []
    with qtbot.waitSignal(window.controller.session.finished, timeout=RUN_TIMEOUT_MS):
        window.commands.stop_training()


@pytest.mark.parametrize("size", [SMALLEST_SCREEN, QSize(1280, 720 - 90),
                                  QSize(1366, 768 - 90)])
def test_at_laptop_sizes_nothing_overlaps_or_is_cut_off_and_the_settings_scroll(
        window, qtbot, size):
    window.resize(size)
    # The run banner at its tallest (a missing dataset) must fit too.
    window.banner.show_end(RunEnd("failed", "", 0, missing_data=MissingData(
        "MNIST", "/home/someone/.traindesk/data/MNIST/raw", ("a.gz",), "https://x", "down")),
        None)
    QApplication.processEvents()
    assert window.size() == size
    assert overlaps_and_squeezes(window) == []
    scroll = window.settings_dock.findChild(QScrollArea)
    assert scroll.verticalScrollBar().maximum() > 0  # the settings scroll, not squash
    for plot in window.plots.plots.values():
        assert plot.height() >= PLOT_MIN_HEIGHT and plot.width() >= 260


def test_contrast_helpers_match_wcag():
    assert contrast_ratio(QColor("black"), QColor("white")) == pytest.approx(21.0)
    assert contrast_ratio(QColor("#777777"), QColor("white")) == pytest.approx(4.48, abs=0.01)
    for fg, bg in (("#000000", "#efefef"), ("#ffffff", "#202020")):  # light and dark themes
        dimmed = secondary_colour(QColor(fg), QColor(bg))
        assert dimmed != QColor(fg)
        assert AA_NORMAL_TEXT <= contrast_ratio(dimmed, QColor(bg)) < 6


def label_colours(label: QLabel) -> tuple[QColor, QColor]:
    """The text and background colours a label is painted with: its own style sheet's
    where it sets them, else its palette's (disabled colours when it is disabled)."""
    sheet = label.styleSheet()
    group = (QPalette.ColorGroup.Active if label.isEnabled()
             else QPalette.ColorGroup.Disabled)
    fg = label.palette().color(group, QPalette.ColorRole.WindowText)
    bg = label.palette().color(group, QPalette.ColorRole.Window)
    if found := re.search(r"(?<![-\w])color:\s*([#\w]+)", sheet):
        fg = QColor(found.group(1))
    if found := re.search(r"background:\s*([#\w]+)", sheet):
        if found.group(1) != "transparent":
            bg = QColor(found.group(1))
        elif isinstance(label.parent(), QGraphicsView):  # a note over a plot
            bg = label.parent().backgroundBrush().color()
        else:
            bg = label.parent().palette().color(group, QPalette.ColorRole.Window)
    return fg, bg


def test_every_label_on_the_training_tab_settings_and_status_bar_meets_aa(window, qtbot):
    window.settings_panel.set_config(window.settings_panel.config().replace(lr=50.0))
    QApplication.processEvents()  # the error note under the learning rate shows
    roots = [window.tabs.widget(0), window.settings_dock, window.statusBar()]
    labels = [label for root in roots for label in root.findChildren(QLabel)
              if label.isVisible() and label.text() and label.parent() is not window.banner]
    assert len(labels) > 20
    failing = []
    for label in labels:
        fg, bg = label_colours(label)
        ratio = contrast_ratio(fg, bg)
        if ratio < AA_NORMAL_TEXT:
            failing.append(f"{label.text()[:40]!r}: {fg.name()} on {bg.name()} = {ratio:.2f}")
    assert failing == []


def test_banner_and_log_colours_meet_aa(window):
    for kind, (fg, bg, _border) in BANNER_COLOURS.items():
        assert contrast_ratio(QColor(fg), QColor(bg)) >= AA_NORMAL_TEXT, kind
    base = window.log.view().palette().color(QPalette.ColorRole.Base)
    assert contrast_ratio(QColor(window.log.stamp_colour()), base) >= AA_NORMAL_TEXT


def test_at_200_percent_scale_the_window_fits_a_2560x1440_screen(tmp_path):
    """QT_SCALE_FACTOR=2 on a 2560x1440 screen: 1280x720 logical pixels, the same budget,
    with fonts and every metric doubled (a fresh process: the scale is set at start)."""
    screen = tmp_path / "screen.json"
    screen.write_text(json.dumps({"screens": [{
        "name": "hidpi", "x": 0, "y": 0, "width": 2560, "height": 1440, "logicalDpi": 96,
        "logicalBaseDpi": 96, "dpr": 1}]}))
    script = (
        "import tempfile\n"
        "from PySide6.QtCore import QSettings\n"
        "from PySide6.QtWidgets import QApplication\n"
        "from gui.main_window import MainWindow\n"
        "app = QApplication([])\n"
        "folder = tempfile.mkdtemp()\n"
        "window = MainWindow(QSettings(folder + '/s.ini', QSettings.Format.IniFormat),"
        " folder + '/runs')\n"
        "screen, hint = app.primaryScreen(), window.minimumSizeHint()\n"
        "print(screen.devicePixelRatio(), screen.availableGeometry().width(),"
        " screen.availableGeometry().height(), hint.width(), hint.height())\n")
    env = {**os.environ, "QT_QPA_PLATFORM": f"offscreen:configfile={screen}",
           "QT_SCALE_FACTOR": "2"}
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=300, check=True)
    ratio, screen_w, screen_h, hint_w, hint_h = result.stdout.split()
    assert (float(ratio), int(screen_w), int(screen_h)) == (2.0, 1280, 720)
    assert int(hint_w) <= SMALL_SCREEN_AVAILABLE.width()
    assert int(hint_h) <= SMALL_SCREEN_AVAILABLE.height()
