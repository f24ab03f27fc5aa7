"""Seed groups in the Runs tab: one row with mean ± std (n) that unfolds to its members,
sorting and filtering that keep members under their group, a ticked group's band, and the
comparison of two ticked rows against the seed-to-seed noise."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from scipy import stats

from engine.config import TrainConfig
from engine.records import groups
from gui.runs_panel import RunsPanel
from gui.runs_table import COLUMNS
from tests.gui.test_runs_panel import READ_TIMEOUT_MS, shown_rows, write_run

NAME, STATUS, BEST = 0, COLUMNS.index("Status"), COLUMNS.index("Best test acc.")


def write_group(folder: Path, bests: list[float], *, lr: float = 0.01,
                status: str = "finished") -> Path:
    """A finished seed group: group.json and one run folder per seed (each run's best test
    accuracy is its last epoch's)."""
    folder.mkdir(parents=True)
    config = TrainConfig(arch="mlp", dataset="mnist", lr=lr, epochs=2, seed=1,
                         seeds=len(bests)).to_dict()
    seeds = list(range(1, len(bests) + 1))
    groups.write_group(folder, config, seeds)
    for seed, best in zip(seeds, bests, strict=True):
        member = dict(config, seed=seed, seeds=1)
        write_run(groups.member_dir(folder, seed), [best - 0.05, best], config=member)
    groups.end_group(folder, status, "Done.")
    return folder


@pytest.fixture
def panel(qtbot, tmp_path):
    panel = RunsPanel(tmp_path / "runs")
    qtbot.addWidget(panel)
    yield panel
    panel.library.shutdown()


def start(qtbot, panel, rows: int) -> None:
    panel.library.resume()
    qtbot.waitUntil(lambda: panel.model.rowCount() == rows, timeout=READ_TIMEOUT_MS)


def row_named(panel, start_of_name: str) -> list[str]:
    return next(r for r in shown_rows(panel) if start_of_name in r[NAME])


def test_a_group_is_one_row_with_mean_std_and_n_that_unfolds_to_its_members(
        qtbot, panel, tmp_path):
    bests = [0.912, 0.905, 0.917]
    write_group(tmp_path / "runs" / "g-seeds3", bests)
    write_run(tmp_path / "runs" / "single", [0.5, 0.6])
    start(qtbot, panel, 5)  # the group, its 3 members, the run
    rows = shown_rows(panel)
    assert len(rows) == 2  # folded: the group and the run
    group = row_named(panel, "g-seeds3")
    assert group[NAME] == "▸ g-seeds3 · 3 seeds"
    mean, std = np.mean(bests), np.std(bests, ddof=1)
    assert group[BEST] == f"{mean:.1%} ± {std:.1%} (n=3)" == "91.1% ± 0.6% (n=3)"
    assert group[STATUS] == "Finished"
    assert group[COLUMNS.index("Network")] and group[COLUMNS.index("Epochs")] == "2"

    panel.model.set_unfolded(str(tmp_path / "runs" / "g-seeds3"), True)
    names = [r[NAME] for r in shown_rows(panel)]
    assert len(names) == 5
    at = names.index("▾ g-seeds3 · 3 seeds")
    assert [n.strip() for n in names[at + 1:at + 4]] == ["seed-1", "seed-2", "seed-3"]
    for column in (NAME, BEST):  # either way a column sorts, members stay under the group
        for order in (Qt.SortOrder.AscendingOrder, Qt.SortOrder.DescendingOrder):
            panel.table.sortByColumn(column, order)
            names = [r[NAME] for r in shown_rows(panel)]
            at = names.index("▾ g-seeds3 · 3 seeds")
            assert [n.strip() for n in names[at + 1:at + 4]] == ["seed-1", "seed-2", "seed-3"]
    panel.filter_box.setText("single")
    assert [r[NAME] for r in shown_rows(panel)] == ["single"]
    panel.filter_box.setText("seed-2")  # a member matches: shown under its group
    assert [r[NAME].strip() for r in shown_rows(panel)] == ["▾ g-seeds3 · 3 seeds", "seed-2"]
    panel.filter_box.setText("")
    panel.model.set_unfolded(str(tmp_path / "runs" / "g-seeds3"), False)
    assert len(shown_rows(panel)) == 2


def test_a_click_on_a_groups_name_folds_it_and_a_tick_does_not(qtbot, panel, tmp_path):
    folder = str(write_group(tmp_path / "runs" / "g-seeds2", [0.9, 0.8]))
    start(qtbot, panel, 3)
    panel.table.clicked.emit(panel.proxy.index(0, 0))
    assert folder in panel.model.unfolded
    index = panel.proxy.index(0, 0)  # the rows under it moved: indexes are new
    panel.proxy.setData(index, Qt.CheckState.Checked.value, Qt.ItemDataRole.CheckStateRole)
    panel.table.clicked.emit(index)  # the click that ticked it
    assert folder in panel.model.unfolded and folder in panel.model.ticked


def test_two_ticked_rows_are_compared_against_the_seed_to_seed_noise(qtbot, panel, tmp_path):
    runs_dir = tmp_path / "runs"
    good = str(write_group(runs_dir / "good-seeds3", [0.95, 0.951, 0.949]))
    bad = str(write_group(runs_dir / "bad-seeds3", [0.90, 0.902, 0.898], lr=0.1))
    close = str(write_group(runs_dir / "close-seeds3", [0.948, 0.953, 0.95], lr=0.05))
    one = str(write_run(runs_dir / "one", [0.8, 0.93]))
    other = str(write_run(runs_dir / "other", [0.8, 0.91]))
    start(qtbot, panel, 14)
    assert panel.ticked.verdict_text() == "" and panel.ticked.verdict.isHidden()

    panel.tick(good)
    panel.tick(bad)
    sentence = panel.ticked.verdict_text()
    p_value = stats.ttest_ind([0.95, 0.951, 0.949], [0.90, 0.902, 0.898],
                              equal_var=False).pvalue
    assert "larger than the seed-to-seed noise" in sentence and f"{p_value:.3g}" in sentence
    assert "n = 3 and 3" in sentence and "Good-seeds3 is higher" in sentence
    assert panel.ticked.verdict.isVisibleTo(panel) and sentence in panel.ticked.verdict.text()

    panel.tick(bad, False)
    panel.tick(close)
    assert "within the seed-to-seed noise" in panel.ticked.verdict_text()

    panel.tick(good, False)
    panel.tick(one)  # a group against a single run
    assert "one seed on a side" in panel.ticked.verdict_text().lower()
    assert "n = 3 and 1" in panel.ticked.verdict_text()

    panel.tick(close, False)
    panel.tick(other)  # one seed each: never called better
    sentence = panel.ticked.verdict_text()
    assert sentence.startswith("One seed each") and "cannot tell" in sentence
    assert "n = 1 and 1" in sentence
    assert "higher" not in sentence and "better" not in sentence.split(":")[0]


def test_a_ticked_group_overlays_its_mean_band_and_members(qtbot, panel, tmp_path):
    from gui.plots_panel import PlotsPanel

    plots = PlotsPanel()
    qtbot.addWidget(plots)
    panel.show_overlays_on(plots)
    folder = str(write_group(tmp_path / "runs" / "g-seeds2", [0.9, 0.8]))
    start(qtbot, panel, 3)
    panel.tick(folder)
    curves = plots.overlay_curves(folder)
    assert curves.overlay.name == "mean of 2: g-seeds2"
    assert curves.bands.member_count() == 2
    _xs, ys = curves.test_acc.getData()
    np.testing.assert_allclose(ys, [80.0, 85.0])  # the members' means per epoch, in percent
    panel.tick(folder, False)
    assert plots.overlay_keys() == []


def test_a_group_row_uses_its_settings_exports_and_deletes_as_its_members(
        qtbot, panel, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    folder = write_group(tmp_path / "runs" / "g-seeds2", [0.9, 0.8])
    start(qtbot, panel, 3)
    panel.select(folder)
    assert not panel.buttons["open"].isEnabled() and not panel.buttons["rename"].isEnabled()
    used = []
    panel.use_settings_requested.connect(used.append)
    assert panel.use_settings() and used[0].seeds == 2 and used[0].lr == 0.01
    panel.tick(str(folder))
    assert panel.export_csv(str(tmp_path / "m.csv"))
    lines = (tmp_path / "m.csv").read_text().splitlines()
    assert len(lines) == 1 + 2 * 2  # a header, then each member's two epochs
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: QMessageBox.StandardButton.Yes)
    assert panel.delete_selected() and not folder.exists()
    qtbot.waitUntil(lambda: panel.model.rowCount() == 0, timeout=READ_TIMEOUT_MS)
