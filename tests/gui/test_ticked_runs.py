"""TickedRuns on its own, with stand-ins for the runs library and the plots: what ticking
rows in the Runs tab shows (overlays in the rows' colours, the comparison line for two)."""

from __future__ import annotations

from engine.records import runs
from gui.runs_table import RunsTableModel
from gui.ticked_runs import TickedRuns
from tests.gui.test_runs_panel import write_run


class FakeLibrary:
    def __init__(self) -> None:
        self.overlaid: list[set[str]] = []

    def set_overlaid(self, folders: set[str]) -> None:
        self.overlaid.append(folders)


class FakePlots:
    def __init__(self) -> None:
        self.overlays: dict[str, object] = {}

    def set_overlay(self, key: str, overlay) -> None:
        self.overlays[key] = overlay

    def remove_overlay(self, key: str) -> None:
        del self.overlays[key]


def read(folder) -> runs.RunRecord:
    reader = runs.RunReader(folder)
    reader.poll()
    return reader.record()


def test_ticks_draw_overlays_and_two_are_compared(qtbot, tmp_path):
    model = RunsTableModel()
    library, plots = FakeLibrary(), FakePlots()
    ticked = TickedRuns(model, library)
    ticked.show_on(plots)
    qtbot.addWidget(ticked.verdict)
    one = read(write_run(tmp_path / "one", [0.8, 0.93]))
    other = read(write_run(tmp_path / "other", [0.8, 0.91]))
    model.upsert([one, other])

    model.set_ticked(one.run_id, True)
    assert library.overlaid[-1] == {one.run_id}
    assert plots.overlays[one.run_id].name == "one"
    assert plots.overlays[one.run_id].colour == model.colours[one.run_id]
    assert ticked.verdict_text() == "" and ticked.verdict.isHidden()

    model.set_ticked(other.run_id, True)
    assert set(plots.overlays) == {one.run_id, other.run_id}
    assert ticked.verdict_text().startswith("One seed each")
    assert ticked.verdict.text() == f"Best test accuracy: {ticked.verdict_text()}"
    assert not ticked.verdict.isHidden()

    plots.overlays.clear()
    ticked.records_read([other])  # read again: its overlay is drawn anew
    assert set(plots.overlays) == {other.run_id}

    model.set_ticked(other.run_id, False)
    assert other.run_id not in plots.overlays and library.overlaid[-1] == {one.run_id}
    assert ticked.verdict_text() == "" and ticked.verdict.isHidden()
