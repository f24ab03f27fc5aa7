"""The plots' overlay API: other runs drawn under the run on screen, named, coloured,
updated in place, removed cleanly; the run on screen stays on top and says so."""

from __future__ import annotations

import numpy as np
import pytest

from engine.events import RunStart
from gui.plot_overlays import Overlay, smoothed
from gui.plots_panel import PlotsPanel


@pytest.fixture
def plots(qtbot):
    panel = PlotsPanel()
    qtbot.addWidget(panel)
    return panel


def overlay(name="lr 0.1", colour="#d62728", steps=20, peak_loss=3.0, lr=0.1):
    xs = np.arange(1, steps + 1, dtype=np.float64)
    return Overlay(name=name, colour=colour, steps=xs, losses=peak_loss / xs,
                   lrs=np.full(steps, lr),
                   history=({"epoch": 1, "train_loss": 1.0, "train_acc": 0.5, "test_loss": 0.9,
                             "test_acc": 0.6},
                            {"epoch": 2, "train_loss": 0.5, "train_acc": 0.8, "test_loss": 0.7,
                             "test_acc": 0.75}))


def test_an_overlay_is_drawn_named_and_removed(plots):
    plots.set_overlay("a", overlay())
    curves = plots.overlay_curves("a")
    assert list(curves.loss.getData()[0]) == list(range(1, 21))
    assert list(curves.test_acc.getData()[1]) == pytest.approx([60.0, 75.0])
    assert list(curves.train_loss.getData()[1]) == pytest.approx([1.0, 0.5])
    assert plots.key.names() == ["lr 0.1"]  # named below the plots, not in their legends
    for plot in ("loss", "epoch_loss", "accuracy", "lr"):
        assert "lr 0.1" not in plots.legends.names(plot)
    assert plots.hint_text("loss") == "" and plots.hint_text("accuracy") == ""

    plots.set_overlay("a", overlay(name="renamed", steps=30))  # updated in place
    assert plots.overlay_keys() == ["a"]
    assert len(plots.overlay_curves("a").loss.getData()[0]) == 30
    assert plots.key.names() == ["renamed"]

    plots.remove_overlay("a")
    assert plots.overlay_keys() == []
    assert plots.key.names() == [] and plots.key.isHidden()
    assert plots.hint_text("accuracy") != ""  # empty again: the hint is back


def test_the_run_on_screen_is_marked_on_top_and_the_axes_hold_every_run(plots):
    plots.start_run(RunStart(arch="mlp", dataset="mnist", device="CPU", epochs=1,
                             start_epoch=0, batches_per_epoch=10, train_size=100, val_size=0,
                             test_size=10, num_params=1, class_names=("a", "b"),
                             input_shape=(1, 28, 28)))
    plots.add_batches(np.arange(1, 11.0), np.full(10, 1.0), np.full(10, 0.01))
    assert "train" in plots.legends.names("accuracy")
    assert "this run" not in plots.legends.names("lr")

    plots.set_overlay("a", overlay(steps=40, peak_loss=4.0, lr=0.1))
    assert "train" in plots.legends.names("accuracy")
    assert "smoothed (0.9)" in plots.legends.names("loss")
    assert "thick lines: this run" in plots.key.toolTip()
    assert plots.legends.names("lr") == []  # "this run" and the overlay: the key says which
    (x_low, x_high), (_, y_high) = plots.plots["loss"].getPlotItem().getViewBox().viewRange()
    assert x_high >= 40  # the overlay's 40 steps, beyond the live run's 10
    assert y_high >= 4.0 * 0.9  # its smoothed peak (the first loss, 4.0), not the live 1.0
    (_, _), (_, lr_high) = plots.plots["lr"].getPlotItem().getViewBox().viewRange()
    assert lr_high >= 0.1

    plots.remove_overlay("a")
    assert "train" in plots.legends.names("accuracy")
    assert "this run" not in plots.legends.names("lr")


def test_stored_buckets_are_smoothed_like_single_batches():
    steps = np.arange(1, 101, dtype=np.float64)
    losses = np.linspace(2.0, 1.0, 100)
    every = smoothed(steps, losses, 0.9)
    # As the record stores them: one point per 10 batches, their mean, at the last step.
    bucketed = smoothed(steps[9::10], losses.reshape(10, 10).mean(axis=1), 0.9)
    assert every[0] == pytest.approx(2.0) and bucketed[0] == pytest.approx(losses[:10].mean())
    assert bucketed[-1] == pytest.approx(every[-1], abs=0.02)


def test_an_overlaid_runs_mid_run_changes_are_marked_in_its_colour(plots):
    from dataclasses import replace

    from engine.events import SettingsChanged

    change = SettingsChanged(step=11, epoch=2, batch=1, batches_per_epoch=10,
                             changes={"lr": [0.1, 0.01]})
    plots.set_overlay("a", replace(overlay(), changes=(change,)))
    markers = plots.overlay_curves("a").markers
    assert markers.shown("loss") == [(10.5, "lr 0.1 → 0.01")]
    assert [x for x, _ in markers.shown("accuracy")] == [1.0]  # epoch 2's start
    line = markers._lines["loss"][0]
    assert line.pen.color().name() == "#d62728"  # the overlay's own colour

    plots.set_overlay("a", overlay())  # read again without the change: its marker goes
    assert plots.overlay_curves("a").markers.shown("loss") == []
    plots.set_overlay("a", replace(overlay(), changes=(change,)))
    markers = plots.overlay_curves("a").markers
    line = markers._lines["loss"][0]
    assert line in plots.plots["loss"].getPlotItem().items
    plots.remove_overlay("a")  # its markers go with its curves
    assert markers.shown("loss") == []
    assert line not in plots.plots["loss"].getPlotItem().items


def test_a_damaged_change_line_is_left_out_of_the_markers():
    from gui.runs_table import readable_changes

    good = {"event": "change", "step": 11, "epoch": 2, "batch": 1, "batches_per_epoch": 10,
            "changes": {"lr": [0.1, 0.01]}}
    damaged = {"event": "change", "step": 12}
    assert [c.step for c in readable_changes([good, damaged])] == [11]


def test_a_legend_shows_only_when_it_has_something_to_name(plots):
    plots.show()
    plots.start_run(RunStart(arch="mlp", dataset="mnist", device="CPU", epochs=1,
                             start_epoch=0, batches_per_epoch=10, train_size=100, val_size=0,
                             test_size=10, num_params=1, class_names=("a", "b"),
                             input_shape=(1, 28, 28)))
    plots.add_batches(np.arange(1, 11.0), np.full(10, 1.0), np.full(10, 0.01))

    def legend_shown(plot: str) -> bool:
        label = plots.plots[plot].getPlotItem().getAxis("bottom").labelString()
        return "per batch" in label or "train" in label

    assert legend_shown("loss")  # per batch, smoothed
    assert plots.legends.names("lr") == [] and not legend_shown("lr")  # one run: nothing to name
    plots.set_overlay("a", overlay())
    assert not legend_shown("lr")  # the overlay is named in the key below the plots
    assert legend_shown("loss") and plots.key.names() == ["lr 0.1"]
    plots.remove_overlay("a")
    assert not legend_shown("lr")


def test_many_overlaid_runs_with_long_names_keep_the_legends_off_the_curves(plots, qtbot):
    """Ticking runs named at length names them in a key below the plots; each plot's legend
    keeps the run on screen's few short entries, on its x axis's label line, never in a
    box over the curves."""
    plots.resize(700, 420)
    plots.show()
    plots.start_run(RunStart(arch="mlp", dataset="mnist", device="CPU", epochs=2,
                             start_epoch=0, batches_per_epoch=10, train_size=100, val_size=0,
                             test_size=10, num_params=1, class_names=("a", "b"),
                             input_shape=(1, 28, 28)))
    plots.add_batches(np.arange(1, 11.0), np.full(10, 1.0), np.full(10, 0.01))
    names = [f"run {i}: a long descriptive name, adam 0.003, cosine, batch 128, seed {i}"
             for i in range(6)]
    for i, name in enumerate(names):
        plots.set_overlay(str(i), overlay(name=name, colour=f"#{i * 40:02x}4060"))
    qtbot.wait(10)
    assert plots.key.isVisible() and plots.key.names() == names
    assert plots.key.toolTip().endswith("\n".join(names))  # whole there, short in the key
    for name, plot in plots.plots.items():
        item = plot.getPlotItem()
        assert item.legend is None, name  # no legend box over the curves
        listed = plots.legends.names(name)  # this run's lines, on the x axis's label line
        assert len(listed) <= 3 and not any(n in listed for n in names), name
        label = item.getAxis("bottom").labelString()
        assert all(entry in label for entry in listed), name
