"""The Results tab: filled by tiny real runs (1- and 3-channel) and by crafted evaluations."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QApplication

from engine import analysis
from engine.analysis import Evaluation
from engine.config import TrainConfig
from engine.events import EpochEnd, RunStart
from engine.training.trainer import Trainer
from gui.class_charts import SELECTED_COLOUR, label_font
from gui.results_panel import NO_EVALUATION_TEXT, ResultsPanel
from gui.run_model import RunModel
from tools.sample_datasets import write_cifar_batches, write_idx_dataset


@pytest.fixture
def shown(qtbot):
    run = RunModel()
    panel = ResultsPanel.following(run)
    qtbot.addWidget(panel)
    panel.resize(1100, 760)
    panel.show()
    qtbot.waitExposed(panel)
    return run, panel


def train(config: TrainConfig) -> list:
    events: list = []
    Trainer(config).run(events.append)
    return events


def start_event(names, images, history=()) -> RunStart:
    return RunStart(arch="mlp", dataset="folder", device="CPU", epochs=3, start_epoch=0,
                    batches_per_epoch=2, train_size=10, val_size=0, test_size=len(images),
                    num_params=1, class_names=tuple(names), input_shape=images.shape[1:],
                    history=tuple(history), test_images=images,
                    test_labels=np.zeros(len(images), dtype=np.int64))


def epoch_event(evaluation: Evaluation, epoch: int = 1, test_acc: float = 0.5) -> EpochEnd:
    return EpochEnd(epoch=epoch, epochs=3, train_loss=1.0 / epoch, train_acc=0.5, val_loss=None,
                    val_acc=None, test_loss=1.0 / epoch, test_acc=test_acc, lr=0.01,
                    seconds=1.0, evaluation=evaluation)


def crafted(num_classes: int = 3) -> Evaluation:
    labels = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2], dtype=np.int64)
    predicted = np.array([0, 1, 2, 1, 1, 2, 0, 2, 1], dtype=np.int32)
    confidence = np.array([0.9, 0.6, 0.95, 0.5, 0.7, 0.99, 0.8, 0.4, 0.65], dtype=np.float32)
    return Evaluation(epoch=1, num_classes=num_classes, labels=labels,
                      top_classes=predicted[:, None], top_probs=confidence[:, None],
                      true_probs=np.where(labels == predicted, confidence, 0.1).astype(np.float32))


def images(n: int, channels: int = 1, size: int = 8) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (n, channels, size, size), dtype=np.uint8)


def test_a_tiny_mnist_like_run_fills_the_tab(shown, tmp_path):
    run, panel = shown
    write_idx_dataset(tmp_path, n_train=200, n_test=60)
    events = train(TrainConfig(arch="mlp", dataset="mnist", data_dir=str(tmp_path), epochs=2,
                               batch_size=20, lr=3e-3, device="cpu", seed=1, threads=1))
    run.begin()
    assert panel.pages.currentIndex() == 0  # the idle message
    run.feed(events[:-1])
    last = [e for e in events if isinstance(e, EpochEnd)][-1]
    assert panel.pages.currentIndex() == 1
    counts = analysis.confusion_matrix(last.evaluation.labels, last.evaluation.predicted, 10)
    assert np.array_equal(panel.confusion._counts, counts) and counts.sum() == 60
    assert panel.confusion.cell_texts.texts() == [str(c) for c in counts[counts > 0]]
    assert "After epoch 2" in panel.summary.text()
    assert "epoch 2" in panel.note_text()  # the health sentence names its epoch
    wrong = int((last.evaluation.predicted != last.evaluation.labels).sum())
    assert panel.mistakes.strip_model.rowCount() == wrong
    assert panel.borderline.strip_model.rowCount() == 60 - wrong
    # Thumbnails are the test images, twice as large, pixels kept sharp.
    first = panel.borderline.strip_model.index(0)
    source = next(e for e in events if isinstance(e, RunStart)).test_images[
        first.data(Qt.ItemDataRole.UserRole), 0]
    thumbnail = first.data(Qt.ItemDataRole.DecorationRole).toImage()
    assert thumbnail.size().width() == 56
    for y, x in ((5, 5), (14, 10), (20, 21)):
        assert thumbnail.pixelColor(2 * x, 2 * y).getRgb()[:3] == (source[y, x],) * 3
    # The best epoch's accuracy per class is drawn, one bar per class.
    assert len(panel.per_class.bars.opts["width"]) == 10


def test_a_tiny_cifar_like_run_fills_the_tab_in_colour(shown, tmp_path):
    run, panel = shown
    write_cifar_batches(tmp_path, n_per_batch=20, n_test=30)
    events = train(TrainConfig(arch="lenet5", dataset="cifar10", data_dir=str(tmp_path),
                               epochs=1, batch_size=20, lr=3e-3, device="cpu", seed=1,
                               threads=1))
    run.feed(events[:-1])
    assert panel.pages.currentIndex() == 1
    assert panel.confusion._counts.sum() == 30
    start = next(e for e in events if isinstance(e, RunStart))
    assert start.test_images.shape[1] == 3
    strip = panel.borderline if panel.borderline.strip_model.rowCount() else panel.mistakes
    pixmap = strip.strip_model.index(0).data(Qt.ItemDataRole.DecorationRole)
    image = pixmap.toImage()
    colours = {image.pixelColor(x, y).name() for x in range(0, image.width(), 4)
               for y in range(0, image.height(), 4)}
    assert any(len({c[1:3], c[3:5], c[5:7]}) > 1 for c in colours)  # not all grey


def test_clicking_a_confusion_cell_lists_its_images_most_confident_first(shown, qtbot):
    run, panel = shown
    run.feed([start_event("abc", images(9)), epoch_event(crafted())])
    plot = panel.confusion.plot
    at = plot.mapFromScene(panel.confusion.cell_scene_pos(2, 1))
    qtbot.mouseMove(plot.viewport(), at)
    qtbot.mouseClick(plot.viewport(), Qt.MouseButton.LeftButton, pos=at)
    assert panel.strips.currentWidget() is panel.cell_strip
    assert panel.cell_strip.strip_model.image_indices() == [8]
    assert panel.strips.tabText(2) == "c → b (1)"
    panel.select_cell(1, 1)
    assert panel.cell_strip.strip_model.image_indices() == [4, 3]  # 0.7 before 0.5
    # The read-out under the mouse names the cell and its share of the true class.
    panel.confusion._on_mouse_moved(panel.confusion.cell_scene_pos(2, 1))
    assert panel.confusion.readout.text() == "True c, predicted b: 1 image (25.0% of c)."


def test_the_galleries_are_sorted_by_confidence(shown):
    run, panel = shown
    run.feed([start_event("abc", images(9)), epoch_event(crafted())])
    assert panel.mistakes.strip_model.image_indices() == [2, 6, 8, 1]  # 0.95, 0.8, 0.65, 0.6
    assert panel.borderline.strip_model.image_indices() == [7, 3, 4, 0, 5]
    assert panel.strips.tabText(0) == "Confident mistakes (4)"
    caption = panel.mistakes.strip_model.index(0).data(Qt.ItemDataRole.DisplayRole)
    assert caption == "a\n→ c\n95%"  # true, predicted, confidence


def test_clicking_a_mistake_shows_it_large_and_asks_the_inside_tab(shown, qtbot):
    run, panel = shown
    pictures = images(9, channels=3)
    run.feed([start_event("abc", pictures), epoch_event(crafted())])
    with qtbot.waitSignal(run.inspect_requested) as asked:
        panel.mistakes.click_image(0)
    request = asked.args[0]
    assert np.array_equal(request.image, pictures[2]) and request.label == 0
    assert request.caption == "Test image 3"
    assert "true <b>a</b>" in panel.detail.caption.text()
    assert "predicted <b>c</b> at 95.0%" in panel.detail.caption.text()
    assert [c for c, _ in panel.detail.shown] == [2, 0]  # the true class is always shown
    assert not panel.detail.picture.pixmap().isNull()


def test_many_classes_get_rows_tall_enough_for_their_names(shown, qtbot):
    run, panel = shown
    names = [f"breed_{i}_with_a_long_name" for i in range(37)]
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 37, 500)
    predicted = np.where(rng.random(500) < 0.7, labels, rng.integers(0, 37, 500))
    evaluation = Evaluation(epoch=1, num_classes=37, labels=labels,
                            top_classes=predicted[:, None].astype(np.int32),
                            top_probs=rng.random((500, 1)).astype(np.float32),
                            true_probs=rng.random(500).astype(np.float32))
    run.feed([start_event(names, images(500)), epoch_event(evaluation)])
    qtbot.wait(50)
    line = QFontMetrics(label_font(37)).height()
    view = panel.confusion.plot.getPlotItem().getViewBox()
    step = view.mapViewToScene(QPointF(1, 1)) - view.mapViewToScene(QPointF(0, 0))
    assert step.y() >= line and step.x() >= line  # names never collide: it scrolls instead
    bars = panel.per_class.plot
    assert bars.height() >= 37 * line


def test_hidden_results_are_drawn_when_the_tab_is_shown(qtbot):
    run = RunModel()
    panel = ResultsPanel.following(run)
    qtbot.addWidget(panel)
    run.feed([start_event("abc", images(9)), epoch_event(crafted())])
    assert panel._drawn is None  # hidden: stored, not drawn
    panel.show()
    qtbot.waitExposed(panel)
    assert panel._drawn is run.evaluation and panel.pages.currentIndex() == 1


def test_an_opened_checkpoint_says_it_has_no_per_image_results(shown):
    run, panel = shown
    history = [{"epoch": e, "train_loss": 1 / e, "train_acc": 0.5 + e / 10, "val_loss": None,
                "val_acc": None, "test_loss": 1 / e, "test_acc": 0.5 + e / 10, "lr": 0.01,
                "seconds": 1.0} for e in (1, 2, 3)]

    class Opened:  # what the panel reads of a checkpoint
        class_names = tuple("0123456789")
        changes = []  # settings changed mid-run (none)

    Opened.history = history
    run.show_opened(Opened(), "/tmp/x.pt")  # history_replaced, then model_changed
    assert panel.pages.currentIndex() == 0 and panel.message.text() == NO_EVALUATION_TEXT
    assert panel.note_text().startswith("Still improving at epoch 3")


def test_a_new_run_clears_the_last_runs_results(shown):
    run, panel = shown
    run.feed([start_event("abc", images(9)), epoch_event(crafted())])
    run.begin()
    run.feed([start_event("abc", images(9))])
    assert panel.pages.currentIndex() == 0
    assert panel.message.text() == "Results appear here when epoch 1 ends."
    assert panel.mistakes.strip_model.rowCount() == 0 and panel.note_text() == ""


def test_the_clicked_confusion_cell_is_outlined(shown, qtbot):
    run, panel = shown
    run.feed([start_event("abc", images(9)), epoch_event(crafted())])
    view = panel.confusion
    assert view.selected_cell() is None and not view.outline.isVisible()
    plot = view.plot
    at = plot.mapFromScene(view.cell_scene_pos(2, 1))
    qtbot.mouseClick(plot.viewport(), Qt.MouseButton.LeftButton, pos=at)
    assert view.selected_cell() == (2, 1)
    assert view.outline.isVisible() and view.outline.rect() == QRectF(1, 2, 1, 1)
    # On screen: the outline's colour runs round that cell, and no other.
    QApplication.processEvents()
    image = plot.grab().toImage()

    def outlined(true_class: int, predicted: int) -> bool:
        view_box = plot.getPlotItem().getViewBox()
        corner = plot.mapFromScene(view_box.mapViewToScene(QPointF(predicted, true_class)))
        edge = plot.mapFromScene(view_box.mapViewToScene(QPointF(predicted + 0.5, true_class)))
        return image.pixelColor(edge.x(), corner.y() + 1).name() == SELECTED_COLOUR

    assert outlined(2, 1) and not outlined(1, 1)
    panel.select_cell(1, 1)  # another cell: the outline moves
    assert view.outline.rect() == QRectF(1, 1, 1, 1)
    run.feed([epoch_event(crafted())])  # the next epoch keeps the choice
    assert view.selected_cell() == (1, 1) and view.outline.isVisible()
    run.feed([start_event("abc", images(9))])  # a new run: nothing chosen
    assert view.selected_cell() is None and not view.outline.isVisible()


def test_the_heat_map_colours_each_cell_by_its_rows_share_in_its_place(qtbot):
    from PySide6.QtGui import QColor

    from gui.class_charts import HEAT_COLOURS, ConfusionMatrixView

    view = ConfusionMatrixView()
    qtbot.addWidget(view)
    view.resize(400, 400)
    view.set_classes(["a", "b"])
    view.set_counts(np.array([[3, 1], [0, 4]]))
    view.show()
    qtbot.waitExposed(view)
    assert view.cells.colour_at(1, 1) == QColor(HEAT_COLOURS[-1])  # 4 of 4: darkest
    assert view.cells.colour_at(1, 0) == QColor(HEAT_COLOURS[0])  # 0 of 4: lightest
    # On screen, the cell of row 1, column 1 is dark and the one left of it light.
    viewbox = view.plot.getPlotItem().getViewBox()
    image = view.plot.grab().toImage()

    def pixel(x: float, y: float) -> QColor:
        at = view.plot.mapFromScene(viewbox.mapViewToScene(QPointF(x, y)))
        return image.pixelColor(at.x(), at.y())

    assert pixel(1.8, 1.8).lightness() < 80 and pixel(0.2, 1.8).lightness() > 200
