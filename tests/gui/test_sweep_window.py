"""A real tiny sweep through the window's Sweep tab: two trials on the training thread, each
shown as a run, then the table, the charts and a trial's curves overlaid on the plots."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt

from engine.config import TrainConfig
from engine.records.run_folder import SWEEP_FILE
from gui.run_controller import RunState
from gui.sweep_panel import SweepPanel
from tests.gui.windows import open_window

RUN_TIMEOUT_MS = 120_000


def test_a_two_trial_sweep_runs_in_the_window(qtbot, tmp_path, data_dir):
    window = open_window(qtbot, tmp_path)
    window.settings_panel.set_config(TrainConfig(
        arch="mlp", dataset="mnist", data_dir=str(data_dir), epochs=1, batch_size=50,
        device="cpu", threads=1))
    panel: SweepPanel = window.sweep
    window.tabs.setCurrentWidget(panel)
    panel.form.choose("lr", low=1e-3, high=1e-2, log=True)
    panel.form.trials.setValue(2)
    panel.form.sampler.setCurrentIndex(panel.form.sampler.findData("random"))
    assert panel.buttons["start"].isEnabled()
    started, ended = [], []
    window.controller.run.run_started.connect(lambda start: started.append(start.run_dir))
    window.controller.run_finished.connect(ended.append)

    assert panel.start()
    folder = panel.folder
    assert folder.parent == tmp_path / "runs"
    assert not window.commands.train_action.isEnabled()  # one job at a time
    assert not panel.buttons["start"].isEnabled() and panel.buttons["stop"].isEnabled()
    assert not panel.form.isEnabled()  # the sweep under way keeps its space
    with qtbot.waitSignal(panel.notice, timeout=RUN_TIMEOUT_MS) as said:
        pass
    assert said.args[0].startswith("Sweep: trial 1 of 2 (number 0): learning rate ")
    panel.pause()  # the trial under way holds, and goes on
    qtbot.waitUntil(lambda: window.controller.state is RunState.PAUSED)
    assert panel.buttons["pause"].text() == "Resume"
    panel.pause()
    assert window.controller.state is not RunState.PAUSED
    assert panel.buttons["pause"].text() == "Pause"
    qtbot.waitUntil(lambda: bool(ended), timeout=RUN_TIMEOUT_MS)
    assert ended[0].reason == "finished", ended[0].message
    # Each trial was the run on the Training tab, in its own folder in the sweep's.
    assert [Path(s).parent for s in started] == [folder, folder]
    assert (folder / SWEEP_FILE).exists()
    assert window.commands.train_action.isEnabled() and panel.form.isEnabled()

    qtbot.waitUntil(lambda: panel.model.rowCount() == 2 and all(
        t.state == "complete" for t in panel.model.trials), timeout=RUN_TIMEOUT_MS)
    assert "best" in panel.status.text()
    assert sorted(panel.parallel.drawn) == [0, 1]
    assert panel.model.data(panel.model.index(0, 2)) != ""
    assert panel.model.data(panel.model.index(0, 1), Qt.ItemDataRole.ToolTipRole)

    panel.model.setData(panel.model.index(1, 0), Qt.CheckState.Checked.value,
                        Qt.ItemDataRole.CheckStateRole)
    trial_folder = str(panel.model.trials[1].run_dir)
    qtbot.waitUntil(lambda: trial_folder in window.plots.overlay_keys(),
                    timeout=RUN_TIMEOUT_MS)
    curves = window.plots.overlay_curves(trial_folder)
    assert curves.overlay.name == "Trial 1" and len(curves.overlay.history) == 1
    panel.model.set_ticked(1, False)
    assert trial_folder not in window.plots.overlay_keys()


def test_stop_ends_the_sweep_with_its_trial_under_way(qtbot, tmp_path, data_dir):
    window = open_window(qtbot, tmp_path)
    window.settings_panel.set_config(TrainConfig(
        arch="mlp", dataset="mnist", data_dir=str(data_dir), epochs=3, batch_size=10,
        device="cpu", threads=1))
    panel: SweepPanel = window.sweep
    window.tabs.setCurrentWidget(panel)
    panel.form.choose("optimizer", choices=("sgd", "adam"))
    panel.form.trials.setValue(3)
    ended = []
    window.controller.run_finished.connect(ended.append)
    with qtbot.waitSignal(window.controller.run.run_started, timeout=RUN_TIMEOUT_MS):
        assert panel.start()
    panel.buttons["stop"].click()
    qtbot.waitUntil(lambda: bool(ended), timeout=RUN_TIMEOUT_MS)
    assert ended[0].reason == "stopped"
    qtbot.waitUntil(lambda: panel.model.rowCount() == 1 and panel.model.trials[0].state
                    != "running", timeout=RUN_TIMEOUT_MS)
    assert panel.model.data(panel.model.index(0, 1)) == "Stopped"
    assert panel.buttons["start"].isEnabled() and not panel.buttons["stop"].isEnabled()
