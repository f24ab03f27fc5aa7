"""Train with Seeds above 1 in the window: a real seed group of tiny runs, followed as it
trains (seed k of K, the band over the members done) and listed in the Runs tab."""

from __future__ import annotations

import numpy as np
import pytest

from engine.config import TrainConfig
from engine.records import groups, runs
from gui.group_band import band
from gui.runs_table import COLUMNS
from tests.gui.test_main_window import RUN_TIMEOUT_MS, click
from tests.gui.windows import open_window

STATUS = COLUMNS.index("Status")


def group_config(data_dir, **changes) -> TrainConfig:
    return TrainConfig(arch="mlp", dataset="mnist", data_dir=str(data_dir), epochs=2,
                       batch_size=20, device="cpu", seed=1, seeds=3).replace(**changes)


@pytest.fixture
def window(qtbot, tmp_path, data_dir):
    window = open_window(qtbot, tmp_path)
    window.settings_panel.set_config(group_config(data_dir))
    return window


def test_train_with_three_seeds_runs_a_group_and_shows_it(qtbot, window, tmp_path):
    seen, bands = [], []
    window.group_run.changed.connect(lambda: seen.append(window.progress.member_text()))
    window.group_run.changed.connect(lambda: bands.append(
        window.plots.group.member_count() if window.plots.group else None))
    click(qtbot, window.settings_dock.train_button)
    assert "with 3 seeds" in window.log.text()
    with qtbot.waitSignal(window.controller.run_finished, timeout=3 * RUN_TIMEOUT_MS) as done:
        pass
    end = done.args[0]
    assert end.reason == "finished" and "±" in end.message and "n = 3" in end.message
    for k, seed in ((1, 1), (2, 2), (3, 3)):
        assert f"Seed {k} of 3 (seed {seed})" in seen
    assert window.progress.member_text() == "3 seeds"  # the group has ended
    assert bands[-1] == 3 and 1 in bands and 2 in bands  # the band grew member by member

    folders = [p for p in (tmp_path / "runs").iterdir() if p.is_dir()]
    assert len(folders) == 1 and folders[0].name.endswith("-seeds3")
    assert window.controller.job_dir == folders[0]
    group = groups.read_group(folders[0])
    assert group.seeds == [1, 2, 3] and group.status == "finished"
    histories = [runs.read_run(groups.member_dir(folders[0], s)).history for s in (1, 2, 3)]
    expected = band(histories, "test_acc", 100.0)
    epochs, lower, upper = window.plots.group.band_data("test_acc")
    np.testing.assert_allclose(epochs, expected.epochs)
    np.testing.assert_allclose((lower + upper) / 2, expected.mean)
    np.testing.assert_allclose(upper - lower, 2 * expected.std)
    assert str(folders[0]) in window.banner.text().replace("~", str(tmp_path.home()))
    # The last member's model is kept (Continue goes on with it as one run).
    assert window.run.checkpoint is not None and window.run.model_name == "seed-3"
    # Continue goes on with it as one run in a folder of its own; the group stays as it was.
    window.settings_panel.set_config(group_config(window.settings_panel.config().data_dir,
                                                  epochs=1))
    window.commands.resume_training()
    with qtbot.waitSignal(window.controller.run_finished, timeout=RUN_TIMEOUT_MS) as more:
        pass
    assert more.args[0].reason == "finished" and more.args[0].epochs_done == 3
    assert window.progress.member_text() == ""  # a run of its own, no group on screen
    assert window.controller.run_dir.parent == tmp_path / "runs"
    assert len(runs.read_run(groups.member_dir(folders[0], 3)).history) == 2

    panel = window.runs_panel
    qtbot.waitUntil(lambda: panel.model.record(str(folders[0])) is not None
                    and panel.model.record(str(folders[0])).status == "finished",
                    timeout=RUN_TIMEOUT_MS)
    row = panel.model.row_of(str(folders[0]))
    best = [max(r["test_acc"] for r in h) for h in histories]
    text = panel.model.index(row, COLUMNS.index("Best test acc.")).data()
    assert text == f"{np.mean(best):.1%} ± {np.std(best, ddof=1):.1%} (n=3)"
    assert panel.model.index(row, 0).data().endswith("· 3 seeds")


def test_stop_ends_the_group_and_the_window_is_idle_again(qtbot, window, tmp_path, data_dir):
    # Many epochs: the first member is still training when the window sees its first epoch
    # (with 3, a loaded machine delivered member 1's epochs and member 2's start together).
    window.settings_panel.set_config(group_config(data_dir, epochs=100))
    click(qtbot, window.settings_dock.train_button)
    qtbot.waitUntil(lambda: window.group_run.member_text().startswith("Seed 1 of 3")
                    and bool(window.run.history), timeout=RUN_TIMEOUT_MS)
    window.commands.toggle_pause()
    # The Runs tab follows the group under way: one row, running, its member under it.
    folder = str(window.controller.job_dir)
    model = window.runs_panel.model
    qtbot.waitUntil(lambda: model.record(folder) is not None
                    and model.record(folder).status == "running"
                    and len(model.members_of(folder)) == 1, timeout=RUN_TIMEOUT_MS)
    row = model.row_of(folder)
    assert model.index(row, STATUS).data() == "Running (0/3 seeds)"
    with qtbot.waitSignal(window.controller.run_finished, timeout=RUN_TIMEOUT_MS) as done:
        window.commands.stop_training()
    assert done.args[0].reason == "stopped" and "seed 1 (1 of 3)" in done.args[0].message
    assert window.settings_dock.train_button.isEnabled()
    assert groups.read_group(folder).status == "stopped"
