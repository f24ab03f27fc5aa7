"""Help > About names TrainDesk's version and what it runs on."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import pyqtgraph
import PySide6
import torch
from PySide6.QtCore import qVersion
from PySide6.QtWidgets import QMessageBox

from engine import version
from gui.help_dialogs import show_about
from tests.gui.windows import open_window

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def test_about_shows_the_version_and_torch_qt_versions(qtbot, tmp_path, monkeypatch):
    window = open_window(qtbot, tmp_path)
    shown = []
    monkeypatch.setattr(QMessageBox, "about", lambda parent, title, text: shown.append(text))
    show_about(window)
    [text] = shown
    assert f"<h3>TrainDesk {version.app_version()}</h3>" in text
    for name, number in (("PyTorch", torch.__version__), ("Qt", qVersion()),
                         ("PySide6", PySide6.__version__),
                         ("pyqtgraph", pyqtgraph.__version__)):
        assert f"<td>{name}</td><td>{number}</td>" in text


def test_a_checkout_never_installed_reads_its_version_from_pyproject(monkeypatch):
    def not_installed(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", not_installed)
    lines = PYPROJECT.read_text().splitlines()
    project = lines.index("[project]")
    stated = next(line.split('"')[1] for line in lines[project:]
                  if line.startswith("version = "))
    assert version.app_version() == stated
    assert version.library_versions()["PyTorch"] == torch.__version__  # loaded: its own
    assert version.checkout_version(Path("/no/such/pyproject.toml")) is None
