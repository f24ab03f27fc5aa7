"""The run banner's last line: "Saved in" only when the model on screen was saved."""

from __future__ import annotations

from engine.events import RunEnd
from gui.run_banner import RunBanner, display_path


def test_saved_in_only_when_the_run_s_model_was_saved(qtbot, tmp_path):
    banner = RunBanner()
    qtbot.addWidget(banner)
    folder = tmp_path / "run"
    folder.mkdir()

    banner.show_end(RunEnd("finished", "Finished 2 epochs.", 2, str(folder / "checkpoint.pt")),
                    folder)
    assert f"Saved in {display_path(folder)}" in banner.text()

    full_disk = RunEnd("failed", "Epoch 3 could not be saved (no space left on device); the "
                       "checkpoint of epoch 2 is kept.", 3, checkpoint_path=None)
    banner.show_end(full_disk, folder)
    assert "Saved in" not in banner.text()
    assert f"Run folder: {display_path(folder)}" in banner.text()
