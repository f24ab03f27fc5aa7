"""Help > Keyboard shortcuts (built from the window's own actions) and Help > About."""

from __future__ import annotations

import html

from PySide6.QtCore import qVersion
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu, QMessageBox

from engine.version import app_version, library_versions

# Keys handled by the Draw tab itself; the window's own come from its actions.
CANVAS_SHORTCUTS = (("Clear the drawing", "Delete / Backspace"), ("Undo the last stroke", "Ctrl+Z"),
                    ("Open images to try", "Ctrl+Shift+O"), ("Paste an image", "Ctrl+V"))


def add_help_menu(window: QMainWindow) -> QMenu:
    menu = window.menuBar().addMenu("&Help")
    menu.addAction("&Keyboard shortcuts", lambda: show_shortcuts(window))
    menu.addAction("&About TrainDesk", lambda: show_about(window))
    return menu


def shortcut_rows(window: QMainWindow) -> list[tuple[str, str]]:
    """(what, keys) for every action of the window with a shortcut, then the canvas's."""
    own = [(act.text().replace("&", "").rstrip("…"),
            act.shortcut().toString(QKeySequence.SequenceFormat.NativeText))
           for act in window.actions() if not act.shortcut().isEmpty()]
    return [*own, *CANVAS_SHORTCUTS]


def show_shortcuts(window: QMainWindow) -> None:
    rows = "".join(f"<tr><td>{name}</td><td><b>{keys}</b></td></tr>"
                   for name, keys in shortcut_rows(window))
    QMessageBox.information(window, "Keyboard shortcuts", f"<table cellpadding=4>{rows}</table>")


def about_text() -> str:
    """TrainDesk's version and what it runs on (Qt's run-time version too: PySide6 may run
    on another Qt than it was built with)."""
    versions = library_versions() | {"Qt": qVersion()}
    rows = "".join(f"<tr><td>{name}</td><td>{html.escape(version)}</td></tr>"
                   for name, version in versions.items())
    return (f"<h3>TrainDesk {html.escape(app_version())}</h3><p>Train image classifiers "
            "with PyTorch and watch them learn live: pick a network, a dataset and "
            "hyperparameters, click Train, then draw a digit and see what the model "
            f"predicts.</p><table cellpadding=2>{rows}</table>")


def show_about(window: QMainWindow) -> None:
    QMessageBox.about(window, "About TrainDesk", about_text())
