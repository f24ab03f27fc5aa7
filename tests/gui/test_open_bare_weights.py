"""Bare weights opened in the window: the log says what was assumed about them."""

from __future__ import annotations

import torch

from engine.models.architectures import build_model
from tests.gui.windows import open_window


def test_opening_bare_weights_says_what_was_assumed(qtbot, tmp_path):
    path = tmp_path / "tutorial.pt"
    torch.save(build_model("mlp", 1, 10, 28).state_dict(), path)
    window = open_window(qtbot, tmp_path)

    assert window.files.open_checkpoint(str(path))
    log = window.log.text()
    assert "Opened bare weights (not a TrainDesk checkpoint) as Multilayer perceptron" in log
    assert "MNIST's normalisation (mean 0.1307, std 0.3081)" in log
    assert window.settings_panel.config().arch == "mlp"
