"""The live plots: what they hold equals what they were fed, and they survive live redraws."""

from __future__ import annotations

import dataclasses
import gc
import sys

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPointF
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication

from engine.events import EpochEnd, RunStart, SettingsChanged
from gui.plots_panel import PlotsPanel
from gui.plotting import GrowingColumns
from gui.run_curves import TRAIN_COLOR
from gui.run_model import RunModel

# Qt's offscreen platform warns on every shown window; that warning says nothing about us.
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


def run_start(epochs: int = 4, batches_per_epoch: int = 750, start_epoch: int = 0) -> RunStart:
    return RunStart(
        arch="lenet5", dataset="mnist", device="CPU", epochs=epochs, start_epoch=start_epoch,
        batches_per_epoch=batches_per_epoch, train_size=batches_per_epoch * 64, val_size=0,
        test_size=10_000, num_params=61_706, class_names=tuple("0123456789"),
        input_shape=(1, 32, 32),
    )


def fake_run(epochs: int, batches_per_epoch: int, seed: int = 0):
    """Per-step arrays shaped like a real run: loss decays with multiplicative noise, the
    learning rate follows a cosine schedule."""
    rng = np.random.default_rng(seed)
    steps = np.arange(1, epochs * batches_per_epoch + 1, dtype=np.float64)
    losses = (0.05 + 2.25 * np.exp(-steps / 600)) * np.exp(rng.normal(0, 0.25, steps.size))
    lrs = 1e-3 * 0.5 * (1 + np.cos(np.pi * steps / steps.size))
    return steps, losses, lrs


def epoch_end(epoch: int, epochs: int, val: bool = False, test_loss: float | None = None):
    train_loss = 2.0 / epoch
    return EpochEnd(
        epoch=epoch, epochs=epochs, train_loss=train_loss, train_acc=1 - 0.4 / epoch,
        val_loss=train_loss * 1.1 if val else None, val_acc=1 - 0.45 / epoch if val else None,
        test_loss=train_loss * 1.2 if test_loss is None else test_loss,
        test_acc=1 - 0.5 / epoch, lr=1e-3, seconds=12.5,
    )


def feed_in_chunks(panel: PlotsPanel, steps, losses, lrs, sizes=(37, 1, 250, 64)) -> None:
    start, i = 0, 0
    while start < steps.size:
        end = start + sizes[i % len(sizes)]
        panel.add_batches(steps[start:end], losses[start:end], lrs[start:end])
        start, i = end, i + 1


def debiased_ema_by_convolution(values: np.ndarray, weight: float) -> np.ndarray:
    """The bias-corrected EMA written as a weighted mean, sum w^(t-i) x_i / sum w^(t-i),
    computed by convolution: an independent route to the same numbers. Weights below
    w**600 (1e-28 for 0.9) are dropped, far under float64 precision."""
    kernel = weight ** np.arange(600)
    numerator = np.convolve(values, kernel)[: values.size]
    denominator = np.convolve(np.ones_like(values), kernel)[: values.size]
    return numerator / denominator


def curve_data(panel: PlotsPanel, plot: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """What each named curve of a plot really holds, by legend name (pyqtgraph's own API)."""
    items = panel.plots[plot].getPlotItem().listDataItems()
    empty = (np.empty(0), np.empty(0))
    return {item.name(): empty if item.getData()[0] is None else item.getData()
            for item in items if item.name()}


def legend_names(panel: PlotsPanel, plot: str) -> list[str]:
    names = panel.legends.names(plot)
    label = panel.plots[plot].getPlotItem().getAxis("bottom").labelString()
    assert all(name in label for name in names)  # the legend is the x axis's label line
    return names


@pytest.fixture
def panel(qtbot) -> PlotsPanel:
    widget = PlotsPanel()
    qtbot.addWidget(widget)
    return widget


def test_a_realistic_run_is_plotted_exactly_as_fed(panel):
    epochs, per_epoch = 4, 750
    steps, losses, lrs = fake_run(epochs, per_epoch)
    panel.start_run(run_start(epochs, per_epoch))
    for epoch in range(1, epochs + 1):
        part = slice((epoch - 1) * per_epoch, epoch * per_epoch)
        feed_in_chunks(panel, steps[part], losses[part], lrs[part])
        panel.add_epoch(epoch_end(epoch, epochs))

    assert panel.batch_point_count() == epochs * per_epoch
    assert panel.epoch_point_count() == epochs
    series = panel.series()
    np.testing.assert_array_equal(series["step"], steps)
    np.testing.assert_array_equal(series["loss"], losses)
    np.testing.assert_array_equal(series["lr"], lrs)
    np.testing.assert_allclose(series["loss_smooth"], debiased_ema_by_convolution(losses, 0.9),
                               rtol=1e-12)
    assert series["loss_smooth"][0] == pytest.approx(losses[0])  # bias-corrected from step 1

    expected = [epoch_end(e, epochs) for e in range(1, epochs + 1)]
    np.testing.assert_array_equal(series["epoch"], [1, 2, 3, 4])
    np.testing.assert_allclose(series["train_loss"], [e.train_loss for e in expected])
    np.testing.assert_allclose(series["test_loss"], [e.test_loss for e in expected])
    np.testing.assert_allclose(series["train_acc"], [100 * e.train_acc for e in expected])
    np.testing.assert_allclose(series["test_acc"], [100 * e.test_acc for e in expected])
    assert np.isnan(series["val_loss"]).all() and np.isnan(series["val_acc"]).all()

    # The curves themselves hold the same numbers.
    loss_curves = curve_data(panel, "loss")
    np.testing.assert_array_equal(loss_curves["per batch"][1], losses)
    np.testing.assert_array_equal(loss_curves["smoothed (0.9)"][1], series["loss_smooth"])
    accuracy = curve_data(panel, "accuracy")
    np.testing.assert_allclose(accuracy["test"][1], series["test_acc"])
    assert legend_names(panel, "accuracy") == ["train", "test"]  # no validation split


def test_smoothing_continues_across_chunks_of_any_size(qtbot):
    panel = PlotsPanel(smoothing=0.6)
    qtbot.addWidget(panel)
    _, losses, lrs = fake_run(1, 500, seed=3)
    panel.start_run(run_start(1, 500))
    feed_in_chunks(panel, np.arange(1, 501), losses, lrs, sizes=(1, 2, 3, 120))
    np.testing.assert_allclose(panel.series()["loss_smooth"],
                               debiased_ema_by_convolution(losses, 0.6), rtol=1e-12)


def test_smoothing_weight_outside_0_1_is_refused(qtbot):
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        PlotsPanel(smoothing=1.0)


def test_non_finite_losses_are_left_out_and_the_axes_stay_finite(panel, qtbot):
    panel.resize(900, 600)
    panel.show()
    qtbot.waitExposed(panel)
    panel.start_run(run_start(1, 8))
    losses = np.array([2.3, np.nan, 2.1, np.inf, 1.9, -np.inf, 1.7, 1e3])
    panel.add_batches(np.arange(1, 9), losses, np.full(8, 0.01))
    panel.add_epoch(epoch_end(1, 1, test_loss=float("nan")))
    QApplication.processEvents()
    panel.grab()

    assert panel.batch_point_count() == 5
    assert panel.skipped_batch_count() == 3
    series = panel.series()
    np.testing.assert_array_equal(series["step"], [1, 3, 5, 7, 8])
    np.testing.assert_array_equal(series["loss"], [2.3, 2.1, 1.9, 1.7, 1e3])
    np.testing.assert_allclose(series["loss_smooth"],
                               debiased_ema_by_convolution(series["loss"], 0.9))
    assert np.isnan(series["test_loss"]).all()
    assert curve_data(panel, "epoch_loss")["test"][1].size == 0  # nothing drawn for NaN
    for plot in panel.plots.values():
        assert np.isfinite(plot.getPlotItem().getViewBox().viewRange()).all()


def test_mismatched_batch_arrays_are_refused_with_a_reason(panel):
    with pytest.raises(ValueError, match="one loss and one learning rate per step"):
        panel.add_batches(np.arange(3), np.ones(3), np.ones(2))


def test_load_history_replaces_the_epochs_and_lists_validation_when_present(panel):
    panel.add_epoch(epoch_end(1, 9))
    history = [epoch_end(e, 5, val=True).as_record() for e in (2, 1, 3)]  # any order
    panel.load_history(history)

    assert panel.epoch_point_count() == 3
    series = panel.series()
    np.testing.assert_array_equal(series["epoch"], [1, 2, 3])
    np.testing.assert_allclose(series["val_acc"],
                               [100 * epoch_end(e, 5, val=True).val_acc for e in (1, 2, 3)])
    assert legend_names(panel, "epoch_loss") == ["train", "test", "validation"]
    assert curve_data(panel, "accuracy")["validation"][1].size == 3

    panel.add_epoch(epoch_end(3, 5))  # the same epoch again replaces it
    assert panel.epoch_point_count() == 3
    panel.load_history([epoch_end(1, 5).as_record()])
    assert panel.epoch_point_count() == 1
    assert legend_names(panel, "accuracy") == ["train", "test"]


def test_history_records_without_an_epoch_number_are_refused(panel):
    with pytest.raises(ValueError, match="needs an 'epoch' number"):
        panel.load_history([{"train_loss": 1.0}])


def test_clear_and_start_run_empty_every_plot(panel):
    steps, losses, lrs = fake_run(1, 300)
    panel.start_run(run_start(1, 300))
    panel.add_batches(steps, losses, lrs)
    panel.add_epoch(epoch_end(1, 1, val=True))
    panel.clear()
    assert panel.batch_point_count() == 0 and panel.epoch_point_count() == 0
    assert all(values.size == 0 for values in panel.series().values())
    for plot in panel.plots:
        assert all(x.size == 0 for x, _ in curve_data(panel, plot).values())
    assert "validation" not in legend_names(panel, "epoch_loss")

    # A fresh run after an old one: the smoothing starts over too.
    panel.add_batches(steps, losses, lrs)
    panel.start_run(run_start(1, 300))
    panel.add_batches(steps[:3], losses[:3], lrs[:3])
    assert panel.batch_point_count() == 3
    assert panel.series()["loss_smooth"][0] == pytest.approx(losses[0])


def test_runs_longer_than_announced_keep_growing(panel):
    panel.start_run(run_start(1, 10))  # preallocates for 10 steps
    steps, losses, lrs = fake_run(1, 5000)
    feed_in_chunks(panel, steps, losses, lrs)
    assert panel.batch_point_count() == 5000
    np.testing.assert_array_equal(panel.series()["loss"], losses)


def test_growing_columns_keep_their_values_when_they_double():
    columns = GrowingColumns(("a", "b"), capacity=2)
    for start in range(0, 20, 3):
        chunk = np.arange(start, start + 3, dtype=np.float64)
        columns.append({"a": chunk, "b": -chunk})
    assert len(columns) == 21
    np.testing.assert_array_equal(columns.view("a"), np.arange(21))
    np.testing.assert_array_equal(columns.view("b"), -np.arange(21))
    columns.clear()
    assert len(columns) == 0 and columns.view("a").size == 0


def _hover(panel: PlotsPanel, plot: str, x: float, y: float) -> None:
    plot_widget = panel.plots[plot]
    scene_pos = plot_widget.getPlotItem().getViewBox().mapViewToScene(QPointF(x, y))
    plot_widget.scene().sigMouseMoved.emit(scene_pos)


def test_hovering_reads_out_the_nearest_point(panel, qtbot):
    panel.resize(900, 600)
    panel.show()
    qtbot.waitExposed(panel)
    steps, losses, lrs = fake_run(2, 200)
    panel.start_run(run_start(2, 200))
    panel.add_batches(steps, losses, lrs)
    panel.add_epoch(epoch_end(1, 2))
    panel.add_epoch(epoch_end(2, 2))
    QApplication.processEvents()
    for plot in panel.plots.values():
        plot.getPlotItem().getViewBox().autoRange()

    _hover(panel, "loss", 123.3, 1.0)
    assert panel.readout_text("loss") == (
        f"step 123\nloss {losses[122]:.4g}\nsmoothed {panel.series()['loss_smooth'][122]:.4g}"
    )
    _hover(panel, "lr", 300.6, lrs[300])
    assert panel.readout_text("lr") == f"step 301\nlr {lrs[300]:.3g}"
    _hover(panel, "accuracy", 1.8, 50)
    assert panel.readout_text("accuracy") == "epoch 2\ntrain 80 %\ntest 75 %"

    outside = panel.plots["loss"].getPlotItem().getViewBox().sceneBoundingRect().topLeft()
    panel.plots["loss"].scene().sigMouseMoved.emit(outside - QPointF(20, 20))
    assert panel.readout_text("loss") == ""


def _count_pixels_like(image: QImage, colour: str, tolerance: int = 40) -> int:
    """Pixels within `tolerance` (sum of channel differences) of a colour."""
    rgb = image.convertToFormat(QImage.Format.Format_RGB32)
    bgra = np.frombuffer(rgb.constBits(), np.uint8).reshape(rgb.height(), -1, 4)
    target = QColor(colour)
    wanted = np.array([target.blue(), target.green(), target.red()], dtype=np.int16)
    distance = np.abs(bgra[:, : rgb.width(), :3].astype(np.int16) - wanted).sum(axis=2)
    return int((distance < tolerance).sum())


def test_live_redraw_stress(qtbot, monkeypatch):
    """Redraws the plots for real after every update, as a live run does. PySide6 6.12.0
    dies here ("Fatal Python error: none_dealloc"): this test is what catches such a release."""
    paints = []
    original_paint = pg.PlotCurveItem.paint

    def counting_paint(self, painter, *args):
        paints.append(self)
        return original_paint(self, painter, *args)

    # Patched before any curve exists or paints, so every curve of the panel uses it.
    monkeypatch.setattr(pg.PlotCurveItem, "paint", counting_paint)
    panel = PlotsPanel()
    qtbot.addWidget(panel)
    panel.resize(640, 480)
    panel.show()
    qtbot.waitExposed(panel)
    iterations, chunk, per_epoch = 320, 25, 400
    epochs = iterations * chunk // per_epoch
    steps, losses, lrs = fake_run(epochs, per_epoch, seed=7)
    panel.start_run(run_start(epochs, per_epoch))
    # 6.12.0's bug drops a reference to None on every redraw (about 230 per iteration here)
    # and aborts the process once None's count reaches zero, near iteration 85 on Python
    # 3.11; a healthy Qt leaves it steady. Watching the count names a slower leak too.
    # Objects left by earlier tests are freed first: freeing them mid-loop also lowers the
    # count (it failed once in a full run), by far less than 20 per iteration.
    QApplication.processEvents()
    gc.collect()
    none_refs_before = sys.getrefcount(None)

    for i in range(iterations):
        part = slice(i * chunk, (i + 1) * chunk)
        panel.add_batches(steps[part], losses[part], lrs[part])
        if (i + 1) * chunk % per_epoch == 0:
            panel.add_epoch(epoch_end((i + 1) * chunk // per_epoch, epochs))
        painted_before = len(paints)
        panel.repaint()
        QApplication.processEvents()
        assert len(paints) > painted_before, f"iteration {i} did not redraw the curves"

    assert sys.getrefcount(None) > none_refs_before - 20 * iterations, "redraws leak None"
    assert panel.batch_point_count() == iterations * chunk
    assert panel.epoch_point_count() == epochs
    np.testing.assert_array_equal(panel.series()["loss"], losses)
    image = panel.grab().toImage()
    assert _count_pixels_like(image, TRAIN_COLOR) > 100  # the loss curve is really on screen


def test_screenshot_with_realistic_data(panel, qtbot, tmp_path):
    """Saves plots_panel.png (in the test's temp folder) for a person to look at, and
    checks it is not blank."""
    epochs, per_epoch = 8, 469
    steps, losses, lrs = fake_run(epochs, per_epoch, seed=1)
    panel.resize(1100, 700)
    panel.show()
    qtbot.waitExposed(panel)
    panel.start_run(run_start(epochs, per_epoch))
    for epoch in range(1, epochs + 1):
        part = slice((epoch - 1) * per_epoch, epoch * per_epoch)
        feed_in_chunks(panel, steps[part], losses[part], lrs[part])
        panel.add_epoch(epoch_end(epoch, epochs, val=True))
    QApplication.processEvents()  # paints; axes widen to fit their new tick labels
    QApplication.processEvents()  # lays out and paints again at the new widths
    _hover(panel, "loss", 1500, 1.5)
    pixmap = panel.grab()
    assert pixmap.save(str(tmp_path / "plots_panel.png"))
    assert _count_pixels_like(pixmap.toImage(), TRAIN_COLOR) > 100


def axes_shown(panel: PlotsPanel, plot: str) -> bool:
    item = panel.plots[plot].getPlotItem()
    return all(item.getAxis(side).isVisible() for side in ("left", "bottom"))


def test_empty_plots_say_what_will_appear_instead_of_bare_axes(panel):
    for plot in panel.plots:
        assert "Click Train" in panel.hint_text(plot)
        assert not axes_shown(panel, plot)

    panel.start_run(run_start(epochs=2, batches_per_epoch=300))
    assert "after the first batches" in panel.hint_text("loss")
    assert "when epoch 1 ends" in panel.hint_text("accuracy")

    steps, losses, lrs = fake_run(1, 300)
    panel.add_batches(steps[:5], losses[:5], lrs[:5])
    for plot in ("loss", "lr"):
        assert panel.hint_text(plot) == "" and axes_shown(panel, plot)
    assert "when epoch 1 ends" in panel.hint_text("epoch_loss")
    assert not axes_shown(panel, "epoch_loss")

    panel.add_epoch(epoch_end(1, 2))
    for plot in panel.plots:
        assert panel.hint_text(plot) == "" and axes_shown(panel, plot)

    panel.clear()
    for plot in panel.plots:
        assert "Click Train" in panel.hint_text(plot)
        assert not axes_shown(panel, plot)


def test_a_resumed_run_waits_for_its_own_first_epoch(panel):
    panel.start_run(run_start(epochs=5, batches_per_epoch=300, start_epoch=3))
    assert "when epoch 4 ends" in panel.hint_text("accuracy")
    panel.load_history([epoch_end(e, 5).as_record() for e in (1, 2, 3)])
    assert panel.hint_text("accuracy") == ""  # the epochs it continues from are shown


def test_the_best_epoch_is_marked_on_the_accuracy_plot(panel):
    assert panel.best_epoch_marked() is None
    records = [epoch_end(e, 4).as_record() for e in range(1, 5)]
    for record, acc in zip(records, (0.6, 0.9, 0.8, 0.9), strict=True):
        record["test_acc"] = acc
    panel.load_history(records)
    assert panel.best_epoch_marked() == 2  # the first of the best
    assert panel._epochs.best.label.format == "best: epoch 2"
    panel.clear()
    assert panel.best_epoch_marked() is None


def test_the_best_epoch_label_stays_inside_the_plot_when_it_is_the_last(panel, qtbot):
    panel.resize(900, 600)
    panel.show()
    qtbot.waitExposed(panel)
    records = [epoch_end(e, 4).as_record() for e in range(1, 5)]
    for record, acc in zip(records, (0.6, 0.7, 0.8, 0.9), strict=True):
        record["test_acc"] = acc
    panel.load_history(records)
    QApplication.processEvents()
    label = panel._epochs.best.label
    view = panel.plots["accuracy"].getPlotItem().getViewBox()
    shown = label.mapRectToItem(view, label.boundingRect())
    assert panel.best_epoch_marked() == 4
    assert view.boundingRect().contains(shown), "the label runs off the plot"


def test_a_continued_run_keeps_the_batches_up_to_where_it_goes_on(qtbot):
    panel = PlotsPanel()
    qtbot.addWidget(panel)
    panel.start_run(run_start(epochs=2, batches_per_epoch=10))
    steps, losses, lrs = fake_run(2, 10)
    panel.add_batches(steps[:15], losses[:15], lrs[:15])  # stopped half-way through epoch 2
    before = panel.series()

    # Continued from the checkpoint of epoch 1 (10 steps): its unfinished epoch goes.
    panel.start_run(dataclasses.replace(run_start(epochs=4, batches_per_epoch=10,
                                                  start_epoch=1), steps_done=10))
    kept = panel.series()
    assert list(kept["step"]) == list(range(1, 11))
    for name in ("loss", "loss_smooth", "lr"):
        assert list(kept[name]) == list(before[name][:10])
    (x_low, x_high), _ = panel.plots["loss"].getPlotItem().getViewBox().viewRange()
    assert x_low <= 1 and x_high >= 40  # the whole run, from its first step

    panel.start_run(run_start(epochs=4, batches_per_epoch=10))  # a new run: nothing kept
    assert panel.batch_point_count() == 0


def test_changes_show_as_labelled_markers_on_every_plot(qtbot):
    panel = PlotsPanel()
    qtbot.addWidget(panel)
    panel.start_run(run_start(epochs=3, batches_per_epoch=10))
    change = SettingsChanged(step=14, epoch=2, batch=4, batches_per_epoch=10,
                             changes={"lr": [0.003, 0.0003]})
    panel.markers.add(change)
    # A plot with nothing on it yet shows its hint, not a stray marker.
    assert all(panel.markers.shown(plot) == [] for plot in panel.plots)
    panel.add_batches(*fake_run(2, 10))
    panel.add_epoch(epoch_end(1, 3))
    for plot in ("loss", "lr"):
        assert panel.markers.shown(plot) == [(13.5, "lr 0.003 → 0.0003")]
    for plot in ("epoch_loss", "accuracy"):
        assert panel.markers.shown(plot) == [(pytest.approx(1.3), "lr 0.003 → 0.0003")]
    # Following a run: one continued with its earlier changes shows them again (once);
    # a new run shows none.
    run = RunModel()
    panel.follow(run)
    run.begin(continuing=True)
    run.feed([dataclasses.replace(run_start(epochs=4, batches_per_epoch=10, start_epoch=3),
                                  steps_done=30, changes=(change.as_record(),),
                                  history=(epoch_end(1, 3).as_record(),))])
    assert panel.markers.shown("accuracy") == [(pytest.approx(1.3), "lr 0.003 → 0.0003")]
    run.begin()
    assert panel.markers.shown("accuracy") == []


def test_axes_read_plain_numbers_never_a_scale_factor(panel, qtbot):
    """Losses of 0.5-0.8 read 0.5-0.8 (not 500-800 on "loss (x0.001)"), 30,000 steps read
    as steps (not 30 on "step (x1000)")."""
    panel.resize(900, 600)
    panel.show()
    epochs, per_epoch = 4, 7500
    steps = np.arange(1, epochs * per_epoch + 1, dtype=np.float64)
    losses = np.linspace(0.8, 0.5, steps.size)
    panel.start_run(run_start(epochs, per_epoch))
    panel.add_batches(steps, losses, np.full(steps.size, 3e-4))
    for epoch in range(1, epochs + 1):
        panel.add_epoch(dataclasses.replace(epoch_end(epoch, epochs), train_loss=0.8 - epoch / 20,
                                            test_loss=0.75 - epoch / 20))
    QApplication.processEvents()
    for name, plot in panel.plots.items():
        for side in ("left", "bottom"):
            axis = plot.getPlotItem().getAxis(side)
            assert "(x" not in axis.labelString(), (name, side)
            assert axis.autoSIPrefixScale == 1.0, (name, side)
    loss_axis = panel.plots["epoch_loss"].getPlotItem().getAxis("left")
    (_, _), (low, high) = panel.plots["epoch_loss"].getPlotItem().getViewBox().viewRange()
    ticks = [float(t) for t in loss_axis.tickStrings([low, high], 1.0, (high - low) / 2)]
    assert min(ticks) > 0.3 and max(ticks) < 1.0  # the loss values themselves
