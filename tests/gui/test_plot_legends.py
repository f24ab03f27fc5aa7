"""The plots' legends (gui/plot_legends.py): what each lists, rewritten only when that
changes."""

from __future__ import annotations

from gui.plots_panel import PlotsPanel
from tests.gui.test_group_band import HISTORIES
from tests.gui.test_plot_overlays import overlay


def test_legends_list_the_run_the_group_mean_and_are_rewritten_only_on_change(qtbot):
    panel = PlotsPanel()
    qtbot.addWidget(panel)
    legends = panel.legends
    legends.relist(False, {}, None)
    assert legends.names("loss") == ["per batch", "smoothed (0.9)"]  # nothing else to name
    axis = panel.plots["accuracy"].getPlotItem().getAxis("bottom")
    written = []
    original = axis.setLabel
    axis.setLabel = lambda *a, **k: (written.append(a), original(*a, **k))
    legends.relist(False, {}, None)  # the same again
    assert written == []  # nothing changed: the label is left alone
    panel.show_group(HISTORIES[:2])
    assert legends.names("accuracy")[-1] == "2-seed mean" and len(written) == 1
    panel.set_overlay("a", overlay())  # no run on screen: the key names the overlay alone
    assert legends.names("accuracy") == ["2-seed mean"] and panel.key.names() == ["lr 0.1"]
