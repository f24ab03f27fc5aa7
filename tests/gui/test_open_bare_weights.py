"""Bare weights opened in the window: the log says what was assumed about them."""

from __future__ import annotations

import torch
from PySide6.QtCore import QSettings

from engine.models import build_model
from gui.main_window import MainWindow


def test_opening_bare_weights_says_what_was_assumed(qtbot, tmp_path):
    path = tmp_path / "tutorial.pt"
    torch.save(build_model("mlp", 1, 10, 28).state_dict(), path)
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings=settings, runs_dir=tmp_path / "runs")
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(window.engine_ready, timeout=60_000)

    assert window.open_checkpoint(str(path))
    log = window.log.text()
    assert "Opened bare weights (not a TrainDesk checkpoint) as Multilayer perceptron" in log
    assert "MNIST's normalisation (mean 0.1307, std 0.3081)" in log
    assert window.settings_panel.config().arch == "mlp"
