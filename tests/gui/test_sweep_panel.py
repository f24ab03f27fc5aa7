"""The Sweep tab on sweeps made with Optuna directly (tests/gui/sweep_studies.py): the space
form, the trials table, the charts' data, and following a folder another process feeds."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PySide6.QtCore import QSettings, Qt

from engine.config import TrainConfig
from gui.run_controller import RunController
from gui.run_model import RunModel
from gui.sweep_axes import Axis, parallel_data, scatter_points
from gui.sweep_follower import SweepReading
from gui.sweep_panel import SweepPanel
from gui.sweep_space_form import SpaceForm, candidates
from gui.sweep_table import FIXED_COLUMNS
from tests.gui.sweep_studies import SPACE, TRIALS, add_trials, make_sweep

READ_TIMEOUT_MS = 20_000


class _Trial:
    def __init__(self, number, params, value, state="complete"):
        self.number, self.params, self.value, self.state = number, params, value, state


def test_axes_place_each_value_on_its_scale():
    lr, batch, optimizer = (Axis.from_dim(d) for d in SPACE)
    assert lr.position(1e-4) == pytest.approx(0.0)
    assert lr.position(1e-3) == pytest.approx(1 / 3)  # a log axis: one decade of three
    assert batch.position(136) == pytest.approx(0.5)
    assert (optimizer.position("sgd"), optimizer.position("adam")) == (0.25, 0.75)
    assert math.isnan(optimizer.position("adamw"))
    assert [text for _pos, text in lr.ticks()] == ["0.0001", "0.00316", "0.1"]
    assert lr.label == "Learning rate (log)"


def test_parallel_data_has_one_line_per_trial_with_a_value():
    trials = [_Trial(0, {"lr": 1e-3, "batch_size": 16, "optimizer": "adam"}, 0.9),
              _Trial(1, {"lr": 1e-1, "batch_size": 256, "optimizer": "sgd"}, 0.5),
              _Trial(2, {"lr": 1e-2}, None, "running")]
    data = parallel_data(SPACE, trials)
    assert data.numbers == (0, 1)
    assert data.labels[-1] == "Accuracy (%)"
    np.testing.assert_allclose(data.accuracies, [90.0, 50.0])
    np.testing.assert_allclose(data.positions, [[1 / 3, 0.0, 0.75, 1.0],
                                                [1.0, 1.0, 0.25, 0.0]])
    xs, ys, numbers = scatter_points(Axis.from_dim(SPACE[2]), trials)
    assert (xs.tolist(), ys.tolist(), numbers) == ([1.0, 0.0], [90.0, 50.0], [0, 1])


def test_space_form_offers_the_configs_settings_and_checks_the_ranges(qtbot):
    form = SpaceForm()
    qtbot.addWidget(form)
    names = [c.name for c in candidates()]
    assert {"lr", "batch_size", "epochs", "optimizer", "schedule", "augment"} <= set(names)
    assert "seed" not in names and "data_dir" not in names
    form.set_base(TrainConfig(lr=0.01))
    assert form.problems() == ["Tick a setting to search."]
    form.choose("lr")  # the range offered: a decade either side of the form's value
    assert form.space() == [{"field": "lr", "kind": "float", "low": 0.001, "high": 0.1,
                             "log": True, "choices": None}]
    form.choose("lr", low=0.1, high=0.01)
    assert form.problems() == ["Learning rate: low must be below high."]
    form.choose("lr", low=1e-4, high=20)
    assert "Learning rate: both ends must be" in form.problems()[0]
    form.choose("lr", low=1e-4, high=0.1)
    form.choose("optimizer", choices=("sgd",))
    assert form.problems() == ["Optimizer: tick two choices or more."]
    form.choose("optimizer", choices=("sgd", "adamw"))
    form.choose("augment")
    assert form.problems() == []
    assert [d["choices"] for d in form.space()] == [["sgd", "adamw"], None, [False, True]]
    form.trials.setValue(7)
    assert form.sweep_options() == {"trials": 7, "sampler": "tpe", "prune": False, "seeds": 1}


@pytest.fixture
def panel(qtbot, tmp_path):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    controller = RunController(RunModel(), settings, tmp_path / "runs")
    panel = SweepPanel(controller, TrainConfig)
    qtbot.addWidget(panel)
    panel.show()  # a hidden Sweep tab reads nothing
    yield panel
    panel.follower.follow(None)
    panel.follower.wait(10)


def _cell(panel: SweepPanel, row: int, column: int) -> str:
    return panel.model.data(panel.model.index(row, column))


def test_sweep_tab_shows_a_sweeps_trials_charts_and_importances(qtbot, panel, tmp_path):
    study = make_sweep(tmp_path / "sweep")
    add_trials(study, TRIALS)
    panel.follow(tmp_path / "sweep")
    qtbot.waitUntil(lambda: panel.model.rowCount() == 5, timeout=READ_TIMEOUT_MS)
    qtbot.waitUntil(lambda: bool(panel.importance.shown), timeout=READ_TIMEOUT_MS)

    headers = [panel.model.headerData(c, Qt.Orientation.Horizontal)
               for c in range(panel.model.columnCount())]
    assert headers == [*FIXED_COLUMNS, "Learning rate (log)", "Batch size", "Optimizer"]
    assert [_cell(panel, 2, c) for c in (0, 1, 2, 4, 5, 6)] == [
        "2", "Complete", "95.00", "0.0003", "32", "adam"]
    assert panel.model.best_number == 2
    assert panel.model.data(panel.model.index(2, 2), Qt.ItemDataRole.FontRole).bold()
    assert "best 95.00% (trial 2)" in panel.status.text()
    assert "5 trials" in panel.status.text()

    assert sorted(panel.parallel.drawn) == [0, 1, 2, 3, 4]
    assert panel.parallel.data.accuracy_range == (62.0, 95.0)
    assert panel.parallel.currentIndex() == 1  # the chart, not the hint
    assert set(panel.importance.shown) == {"lr", "batch_size", "optimizer"}
    assert sum(panel.importance.shown.values()) == pytest.approx(1.0)
    assert [panel.scatter.choice.itemText(i) for i in range(3)] == [
        "Learning rate", "Batch size", "Optimizer"]
    np.testing.assert_allclose(sorted(panel.scatter.points.data["y"]), [62, 84, 91, 93, 95])

    # Ticking a trial draws its line thicker, in its overlay colour.
    panel.model.setData(panel.model.index(0, 0), Qt.CheckState.Checked.value,
                        Qt.ItemDataRole.CheckStateRole)
    assert panel.model.ticked == {0: "#d62728"}
    assert panel.parallel.ticked_lines[0].opts["pen"].widthF() == pytest.approx(3.5)


def test_sweep_tab_follows_a_folder_that_gains_trials(qtbot, panel, tmp_path):
    study = make_sweep(tmp_path / "sweep")
    panel.follow(tmp_path / "sweep")
    qtbot.waitUntil(lambda: "0 trials" in panel.status.text(), timeout=READ_TIMEOUT_MS)
    assert panel.parallel.currentIndex() == 0
    assert "press Start" in panel.parallel.hint.text()
    assert "0 so far" in panel.importance.hint.text()

    add_trials(study, TRIALS[:1])  # as another process (the command line) would
    qtbot.waitUntil(lambda: panel.model.rowCount() == 1, timeout=READ_TIMEOUT_MS)
    assert "1 so far" in panel.importance.hint.text()
    study.ask()  # a trial under way
    qtbot.waitUntil(lambda: panel.model.rowCount() == 2, timeout=READ_TIMEOUT_MS)
    assert _cell(panel, 1, 1) == "Running"
    assert "running trial 1" in panel.status.text()
    add_trials(study, TRIALS[1:3])
    qtbot.waitUntil(lambda: bool(panel.importance.shown), timeout=READ_TIMEOUT_MS)
    assert panel.model.rowCount() == 4
    assert sorted(panel.parallel.drawn) == [0, 2, 3]


def test_a_folder_that_is_no_sweep_says_so(qtbot, panel, tmp_path):
    (tmp_path / "empty").mkdir()
    panel.follow(tmp_path / "empty")
    qtbot.waitUntil(lambda: "cannot be read" in panel.status.text(), timeout=READ_TIMEOUT_MS)
    assert panel.model.rowCount() == 0


def test_the_study_is_read_again_only_when_its_files_change(tmp_path):
    study = make_sweep(tmp_path / "sweep")
    add_trials(study, TRIALS[:1])
    reading = SweepReading(tmp_path / "sweep")
    first = reading.read(frozenset(), force=True)
    assert [t.number for t in first.trials] == [0]
    assert reading.read(frozenset(), force=False) is None  # a few stats, no study read
    add_trials(study, TRIALS[1:2])
    assert [t.number for t in reading.read(frozenset(), force=False).trials] == [0, 1]


def test_a_sweep_folder_whose_storage_is_not_made_yet_is_left_alone(tmp_path):
    make_sweep(tmp_path / "sweep")
    (tmp_path / "sweep" / "optuna.db").unlink()
    view = SweepReading(tmp_path / "sweep").read(frozenset(), force=True)
    assert view.waiting and not (tmp_path / "sweep" / "optuna.db").exists()


def test_importance_says_when_every_trial_has_the_same_accuracy(qtbot, panel, tmp_path):
    study = make_sweep(tmp_path / "sweep")
    add_trials(study, [(lr, batch, opt, 0.5) for lr, batch, opt, _value in TRIALS[:3]])
    panel.follow(tmp_path / "sweep")
    qtbot.waitUntil(lambda: "same accuracy" in panel.importance.hint.text(),
                    timeout=READ_TIMEOUT_MS)
    assert panel.importance.shown == {} and panel.importance.currentIndex() == 0
