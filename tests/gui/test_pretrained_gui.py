"""Pretrained networks in the window: the fine-tuning setting, missing ImageNet weights
said with the file and its folder (the window stays usable), a trained run that opens."""

from __future__ import annotations

import pytest
import torch
from PySide6.QtCore import Qt
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QComboBox, QLabel

import engine.models.pretrained as pretrained
from engine.config import TrainConfig
from gui.settings_panel import SettingsPanel
from tests.gui.windows import open_window
from tests.zoo_weights import write_zoo_weights
from tools.sample_datasets import write_image_folder

RUN_TIMEOUT_MS = 120_000
# Each test gets an empty torch.hub cache of its own, offline (tests/conftest.py).
pytestmark = [pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints"),
              pytest.mark.usefixtures("torch_home")]


def fine_tune_row_shown(panel: SettingsPanel) -> bool:
    return panel.findChild(QComboBox, "fine_tune").isVisibleTo(panel)


def test_the_fine_tuning_choice_shows_for_pretrained_networks_only(qtbot):
    panel = SettingsPanel()
    qtbot.addWidget(panel)
    panel.show()
    assert not fine_tune_row_shown(panel)  # LeNet-5 has no pretrained layers

    panel.set_config(TrainConfig(arch="resnet18-imagenet", lr=0.01))
    combo = panel.findChild(QComboBox, "fine_tune")
    assert fine_tune_row_shown(panel)
    assert [combo.itemText(i) for i in range(combo.count())] == [
        "Only the new last layer", "All layers, pretrained at lr ÷ 10"]
    note = panel.findChild(QLabel, "fine_tune_note")
    assert "only the new last layer learns" in note.text()

    combo.setCurrentIndex(combo.findData("all"))
    assert panel.config().fine_tune == "all"
    assert "the new last layer at 0.01, the pretrained ones at 0.001" in note.text()
    image_note = panel.findChild(QLabel, "image_size_note").text()
    assert "224×224" in image_note

    panel.set_config(panel.config().replace(arch="mlp"))
    assert not fine_tune_row_shown(panel) and panel.config().fine_tune == "all"  # kept


def test_missing_weights_are_said_with_the_file_and_folder_and_the_window_stays_usable(
        qtbot, tmp_path, torch_home, monkeypatch):
    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url) or True)
    photos = write_image_folder(tmp_path / "photos", classes=2, per_class=5, size=24)
    window = open_window(qtbot, tmp_path)
    window.settings_panel.set_config(TrainConfig(
        arch="mobilenet-v3-small-imagenet", dataset="folder", data_dir=str(photos), epochs=1,
        batch_size=4, image_size=32, device="cpu"))

    qtbot.mouseClick(window.settings_dock.train_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(window.controller.session.finished, timeout=RUN_TIMEOUT_MS) as finished:
        pass
    end = finished.args[0]

    folder = torch_home / "hub" / "checkpoints"
    banner = window.banner.text()
    assert end.reason == "failed" and end.missing_data.kind == "weights"
    assert "mobilenet_v3_small-047dcff4.pth" in banner and str(folder) in banner
    assert "not pretrained" in banner and "bundled MNIST" not in banner
    assert "https://download.pytorch.org/models/mobilenet_v3_small-047dcff4.pth" in (
        window.banner.details_text())
    qtbot.mouseClick(window.banner.button("Open weights folder"), Qt.MouseButton.LeftButton)
    assert [url.toLocalFile() for url in opened] == [str(folder)]
    assert window.status_text() == "Ready" and window.settings_dock.train_button.isEnabled()

    # With the file in place, the same click trains and the model opens for drawing.
    write_zoo_weights(torch_home, "mobilenet-v3-small-imagenet")
    qtbot.mouseClick(window.settings_dock.train_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(window.controller.session.finished, timeout=RUN_TIMEOUT_MS) as finished:
        pass
    end = finished.args[0]
    assert end.epochs_done == 1, end.message
    assert window.files.open_checkpoint(end.checkpoint_path)
    ckpt = torch.load(end.checkpoint_path, weights_only=True)
    assert ckpt["config"]["arch"] == "mobilenet-v3-small-imagenet"
    assert ckpt["in_channels"] == 3
    window.close()


def test_choosing_a_pretrained_network_does_not_widen_the_form_past_its_column(
        qtbot, tmp_path):
    window = open_window(qtbot, tmp_path)
    panel = window.settings_panel
    viewport = panel.parentWidget()
    for arch in pretrained.ZOO:
        panel.set_config(panel.config().replace(arch=arch, fine_tune="all"))
        qtbot.wait(10)
        assert fine_tune_row_shown(panel)
        assert panel.minimumSizeHint().width() <= viewport.width(), arch  # nothing cut off
    window.close()
