"""A seed group's band in the plots: its numbers against numpy, drawn for the group under way
and for a ticked group (an overlay with members)."""

from __future__ import annotations

import numpy as np
import pytest

from gui.group_band import band, mean_history
from gui.plot_overlays import Overlay
from gui.plots_panel import PlotsPanel

# Three members; the third stopped after two epochs, the second lacks a test loss at epoch 1.
HISTORIES = (
    ({"epoch": 1, "test_acc": 0.80, "test_loss": 0.9, "train_acc": 0.7, "train_loss": 1.0},
     {"epoch": 2, "test_acc": 0.90, "test_loss": 0.5, "train_acc": 0.8, "train_loss": 0.6},
     {"epoch": 3, "test_acc": 0.92, "test_loss": 0.4, "train_acc": 0.9, "train_loss": 0.3}),
    ({"epoch": 1, "test_acc": 0.70, "test_loss": None, "train_acc": 0.6, "train_loss": 1.1},
     {"epoch": 2, "test_acc": 0.88, "test_loss": 0.6, "train_acc": 0.8, "train_loss": 0.7},
     {"epoch": 3, "test_acc": 0.95, "test_loss": 0.3, "train_acc": 0.9, "train_loss": 0.2}),
    ({"epoch": 1, "test_acc": 0.75, "test_loss": 1.0, "train_acc": 0.6, "train_loss": 1.2},
     {"epoch": 2, "test_acc": 0.85, "test_loss": 0.7, "train_acc": 0.7, "train_loss": 0.8}),
)


def test_the_band_is_each_epochs_mean_and_sample_std_over_the_members_that_reached_it():
    accs = band(HISTORIES, "test_acc", 100.0)
    assert accs.epochs.tolist() == [1, 2, 3] and accs.n.tolist() == [3, 3, 2]
    for i, values in enumerate(([80, 70, 75], [90, 88, 85], [92, 95])):
        assert accs.mean[i] == pytest.approx(np.mean(values))
        assert accs.std[i] == pytest.approx(np.std(values, ddof=1))
    losses = band(HISTORIES, "test_loss")
    assert losses.n.tolist() == [2, 3, 2]  # a missing value is left out, not a zero
    assert losses.mean[0] == pytest.approx(0.95)
    one = band(HISTORIES[:1], "test_acc")
    assert one.std.tolist() == [0.0, 0.0, 0.0]  # one member: no spread, not NaN
    assert band((), "test_acc").epochs.size == 0
    means = mean_history(HISTORIES)
    assert [r["epoch"] for r in means] == [1, 2, 3]
    assert means[2]["test_acc"] == pytest.approx(0.935)
    assert means[0]["train_loss"] == pytest.approx(np.mean([1.0, 1.1, 1.2]))


def test_the_group_under_way_is_a_band_over_the_members_done(qtbot):
    plots = PlotsPanel()
    qtbot.addWidget(plots)
    plots.show_group(HISTORIES[:2])
    epochs, lower, upper = plots.group.band_data("test_acc")
    expected = band(HISTORIES[:2], "test_acc", 100.0)
    assert epochs.tolist() == [1, 2, 3]
    np.testing.assert_allclose(lower, expected.mean - expected.std)
    np.testing.assert_allclose(upper, expected.mean + expected.std)
    assert plots.group.member_count() == 2
    plots.show_group(HISTORIES)  # the third member is done
    assert plots.group.member_count() == 3
    plots.clear_group()
    assert plots.group is None


def test_a_ticked_group_is_its_mean_with_a_band_and_its_members_behind(qtbot):
    plots = PlotsPanel()
    qtbot.addWidget(plots)
    overlay = Overlay(name="g (mean ± std, n=3)", colour="#d62728",
                      history=mean_history(HISTORIES), members=HISTORIES)
    plots.set_overlay("g", overlay)
    curves = plots.overlay_curves("g")
    xs, ys = curves.test_acc.getData()
    assert xs.tolist() == [1, 2, 3] and ys[2] == pytest.approx(93.5)  # the mean, in percent
    epochs, lower, upper = curves.bands.band_data("test_acc")
    assert upper[0] - lower[0] == pytest.approx(2 * np.std([80, 70, 75], ddof=1))
    assert curves.bands.member_count() == 3
    before = len(plots.plots["accuracy"].getPlotItem().items)
    plots.remove_overlay("g")
    assert len(plots.plots["accuracy"].getPlotItem().items) < before - 3  # band and members
    assert plots.hint_text("accuracy")  # empty again
