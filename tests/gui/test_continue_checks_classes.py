"""Continue from checkpoint refuses data whose classes changed, with the engine's words."""

from __future__ import annotations

from engine.config import TrainConfig
from tests.gui.windows import open_window
from tools.sample_datasets import write_image_folder

RUN_TIMEOUT_MS = 120_000


def test_continue_after_renaming_a_class_folder_is_refused_in_the_window(qtbot, tmp_path):
    photos = write_image_folder(tmp_path / "photos", classes=["cat", "dog"], per_class=10,
                                size=16)
    window = open_window(qtbot, tmp_path)
    config = TrainConfig(arch="softmax", dataset="folder", data_dir=str(photos), epochs=1,
                         batch_size=8, device="cpu")
    window.settings_panel.set_config(config)
    window.commands.start_training()
    with qtbot.waitSignal(window.controller.session.finished, timeout=RUN_TIMEOUT_MS) as first:
        pass
    assert first.args[0].reason == "finished", first.args[0].message
    (photos / "cat").rename(photos / "zebra")

    window.settings_panel.set_config(config.replace(epochs=2))
    window.commands.resume_training()
    with qtbot.waitSignal(window.controller.session.finished, timeout=RUN_TIMEOUT_MS) as second:
        pass

    end = second.args[0]
    assert end.reason == "failed" and "the class 'cat' is now 'zebra'" in end.message
    assert window.banner.kind() == "failed"
    assert "the class 'cat' is now 'zebra'" in window.banner.text()
    assert [record["epoch"] for record in window.history] == [1]  # nothing trained on it
