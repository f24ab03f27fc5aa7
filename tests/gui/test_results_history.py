"""The Results tab at any epoch: the slider, each image's story, the story galleries and the
marks, for a live run (crafted epochs) and for a run folder opened (a tiny real run)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication, QLabel

from engine import analysis, image_story
from engine.analysis import Evaluation
from engine.config import TrainConfig
from engine.events import EpochEnd
from engine.inference.label_doubts import LabelDoubts
from engine.records.checkpoint import load_checkpoint
from engine.records.sample_history import SampleHistory, load_history, save_history
from engine.training.trainer import Trainer
from gui.class_charts import BAR_COLOUR
from gui.image_detail import RIGHT_COLOUR, WRONG_COLOUR
from gui.image_marks import LEAVE_OUT, MISLABELLED, ImageMarks
from gui.image_story_view import NO_STORY_TEXT
from gui.marked_strips import MARK_COLOURS
from gui.results_panel import ResultsPanel
from gui.run_model import OpenedRun, RunModel
from gui.run_samples import RunSamples, read_stored_run
from gui.training_image import TrainingImage
from tools.sample_datasets import write_idx_dataset

LABELS = np.array([0, 0, 1, 1, 2, 2], dtype=np.int64)
# Each epoch's predicted classes: image 0 is always right, image 1 learned at epoch 3,
# image 2 right then forgotten twice, image 5 never right.
PREDICTED = np.array([[0, 1, 1, 0, 2, 0],
                      [0, 1, 0, 1, 2, 1],
                      [0, 0, 1, 1, 2, 0],
                      [0, 0, 0, 1, 2, 0]], dtype=np.int32)


def evaluation(epoch: int) -> Evaluation:
    predicted = PREDICTED[epoch - 1]
    confidence = np.full(len(LABELS), 0.6, dtype=np.float32) + epoch / 100
    return Evaluation(epoch=epoch, num_classes=3, labels=LABELS,
                      top_classes=predicted[:, None], top_probs=confidence[:, None],
                      true_probs=np.where(predicted == LABELS, confidence, 0.2
                                          ).astype(np.float32))


def epoch_end(epoch: int) -> EpochEnd:
    return EpochEnd(epoch=epoch, epochs=4, train_loss=1.0 / epoch, train_acc=0.5,
                    val_loss=None, val_acc=None, test_loss=1.0 / epoch, test_acc=0.5, lr=0.01,
                    seconds=1.0, evaluation=evaluation(epoch))


@pytest.fixture
def shown(qtbot):
    from tests.gui.test_results_panel import images, start_event

    run, marks = RunModel(), ImageMarks()
    panel = ResultsPanel.following(run, marks=marks)
    qtbot.addWidget(panel)
    panel.resize(1100, 760)
    panel.show()
    qtbot.waitExposed(panel)
    run.feed([start_event("abc", images(len(LABELS)))])
    return run, panel, marks


def counts_at(epoch: int) -> np.ndarray:
    return analysis.confusion_matrix(LABELS, PREDICTED[epoch - 1], 3)


def test_the_slider_follows_the_run_and_shows_any_epoch(shown):
    run, panel, _marks = shown
    run.feed([epoch_end(1), epoch_end(2), epoch_end(3)])
    slider = panel.epoch_slider
    assert slider.epochs() == [1, 2, 3] and slider.epoch() == 3
    assert np.array_equal(panel.confusion._counts, counts_at(3))
    slider.set_epoch(1)  # as a person drags it
    assert np.array_equal(panel.confusion._counts, counts_at(1))
    assert "After epoch 1" in panel.summary.text()
    assert panel.mistakes.strip_model.image_indices() == [1, 3, 5]  # equally sure: in order
    run.feed([epoch_end(4)])  # a new epoch ends: the tab stays at epoch 1
    assert slider.epoch() == 1 and np.array_equal(panel.confusion._counts, counts_at(1))
    slider.set_epoch(4)
    assert np.array_equal(panel.confusion._counts, counts_at(4))


def test_the_story_galleries_at_the_epoch_on_screen(shown):
    run, panel, _marks = shown
    run.feed([epoch_end(e) for e in (1, 2, 3, 4)])
    history = panel.samples.history
    assert panel.learned_last.strip_model.image_indices() == image_story.learned_last(history,
                                                                                    200)
    assert panel.forgotten.strip_model.image_indices()[0] == 2  # forgotten twice
    assert 5 in panel.never_learned.strip_model.image_indices()
    assert panel.strips.tabText(4) == "Forgotten most (1)"
    # Each caption: the class and the wrong answer, the story's fact, the confidence.
    assert panel.forgotten.strip_model.index(0).data() == "b → a\nforgotten 2×\n64%"
    assert panel.learned_last.strip_model.index(0).data() == "a\nlearned at 3\n64%"
    panel.epoch_slider.set_epoch(2)  # by epoch 2, image 2 was forgotten once
    early = history.up_to(2)
    assert panel.forgotten.strip_model.image_indices() == image_story.forgotten_most(early, 200)
    assert panel.never_learned.strip_model.image_indices() == \
        image_story.never_learned_rows(early, 200)


def test_an_images_story_and_its_curve(shown):
    run, panel, _marks = shown
    run.feed([epoch_end(e) for e in (1, 2, 3, 4)])
    panel.show_image(2)
    assert panel.story.text.text() == "By epoch 4: wrong at the last epoch (last right at " \
                                      "epoch 3), forgotten 2 times."
    xs, ys = panel.story.curve.getData()
    assert xs.tolist() == [1, 2, 3, 4]
    assert np.allclose(ys, [61, 20, 63, 20], atol=0.1)
    panel.epoch_slider.set_epoch(3)  # the same image, its story up to epoch 3
    assert panel.story.text.text() == "By epoch 3: learned at epoch 3, forgotten 1 time."
    assert panel.story.now.isVisible() and panel.story.now.value() == 3


def test_thumbnails_and_the_detail_mark_images(shown, qtbot):
    run, panel, marks = shown
    run.feed([epoch_end(1)])
    strip = panel.mistakes
    first = strip.strip_model.index(0)
    row = int(first.data(Qt.ItemDataRole.UserRole))
    menu = strip.menu_at(strip.visualRect(first).center())
    actions = {a.text(): a for a in menu.actions()}
    assert list(actions) == ["Mislabelled", "Leave out"]
    actions["Mislabelled"].trigger()
    assert marks.indices("test") == (row,) and marks.reason("test", row) == MISLABELLED
    assert strip.menu_at(QPoint(-5, -5)) is None  # no thumbnail there
    # The marked thumbnail wears its mark's colour.
    QApplication.processEvents()
    frame = strip.visualRect(first).adjusted(2, 2, -2, -2)
    picture = strip.viewport().grab().toImage()
    assert picture.pixelColor(frame.center().x(), frame.bottom()).name() == \
        MARK_COLOURS[MISLABELLED]
    # The detail's buttons show the mark and change it (shown with an image only).
    assert not panel.story.buttons[MISLABELLED].isVisible()
    strip.click_image(0)
    assert panel.story.buttons[MISLABELLED].isVisible()
    assert panel.story.buttons[MISLABELLED].isChecked()
    qtbot.mouseClick(panel.story.buttons[LEAVE_OUT], Qt.MouseButton.LeftButton)
    assert marks.reason("test", row) == LEAVE_OUT
    assert panel.story.buttons[LEAVE_OUT].isChecked()
    assert not panel.story.buttons[MISLABELLED].isChecked()
    qtbot.mouseClick(panel.story.buttons[LEAVE_OUT], Qt.MouseButton.LeftButton)  # off again
    assert marks.count() == 0


def test_another_run_on_screen_clears_the_marks(shown):
    run, _panel, marks = shown
    run.feed([epoch_end(1)])
    marks.mark("test", 1, LEAVE_OUT)
    run.begin(continuing=True)  # the same run goes on: its marks stay
    assert marks.count() == 1
    run.begin()
    assert marks.count() == 0
    marks.mark("train", 2, MISLABELLED)
    run.checkpoint_opened.emit(object(), "/tmp/x.pt")
    assert marks.count() == 0


def test_a_gallery_added_by_another_part(shown):
    _run, panel, _marks = shown
    gallery = QLabel("least believable")
    panel.add_gallery("Least believable training images", gallery)
    at = panel.strips.indexOf(gallery)
    assert panel.strips.tabText(at) == "Least believable training images"


def training_image(row: int = 1) -> TrainingImage:
    """Row 1: labelled a at 5% (its class averages 50%), the model reads c at 80%."""
    probabilities = np.array([[0.95, 0.03, 0.02], [0.05, 0.15, 0.8], [0.1, 0.7, 0.2]],
                             dtype=np.float32)
    doubts = LabelDoubts(train_index=np.array([10, 42, 77]), labels=np.array([0, 0, 1]),
                         probabilities=probabilities, class_names=("a", "b", "c"))
    image = np.zeros((1, 8, 8), dtype=np.uint8)
    return TrainingImage(image, int(doubts.train_index[row]), row, doubts)


def bar_colours(panel: ResultsPanel) -> list[str]:
    return [brush.color().name() for brush in panel.detail.bars.opts["brushes"]]


def test_a_training_image_in_the_detail_has_its_bars_no_story_and_train_marks(qtbot, shown):
    run, panel, marks = shown
    run.feed([epoch_end(1), epoch_end(2)])
    shown_image = training_image()

    panel.show_training_image(shown_image)

    caption = panel.detail.caption.text()
    assert caption.startswith("<b>Training image 43</b>: labelled a (5%; its class averages "
                              "50%), looks like c (80%).")
    assert [c for c, _ in panel.detail.shown] == [2, 1, 0]
    assert bar_colours(panel) == [WRONG_COLOUR, BAR_COLOUR, RIGHT_COLOUR]  # likeliest, label
    assert not panel.story.plot.isVisible() and panel.story.text.text() == NO_STORY_TEXT
    qtbot.mouseClick(panel.story.buttons[MISLABELLED], Qt.MouseButton.LeftButton)
    assert marks.reason("train", 42) == MISLABELLED and marks.indices("test") == ()
    assert marks.count() == 1
    marks.mark("train", 42, LEAVE_OUT)  # as the gallery's menu does: the buttons follow
    assert panel.story.buttons[LEAVE_OUT].isChecked()
    assert not panel.story.buttons[MISLABELLED].isChecked()
    panel.epoch_slider.set_epoch(1)  # another epoch leaves the training image on screen
    assert panel.detail.caption.text() == caption

    panel.mistakes.click_image(0)  # a test image again: its story and test marks

    assert panel.detail.caption.text().startswith("<b>Test image")
    assert panel.story.plot.isVisible() and panel.story.text.text().startswith("By epoch 1")
    assert not panel.story.buttons[LEAVE_OUT].isChecked()
    qtbot.mouseClick(panel.story.buttons[LEAVE_OUT], Qt.MouseButton.LeftButton)
    assert marks.reason("test", panel.mistakes.strip_model.image_indices()[0]) == LEAVE_OUT


def test_a_training_image_always_shows_its_labels_bar():
    shown_image = training_image(0)

    assert shown_image.top_classes(2) == ([(0, pytest.approx(0.95)),
                                           (1, pytest.approx(0.03))], pytest.approx(0.02))
    assert [c for c, _ in training_image().top_classes(1)[0]] == [0]  # the label, not c


# -- a run folder ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> tuple[Path, list]:
    root = tmp_path_factory.mktemp("run")
    write_idx_dataset(root / "data", n_train=120, n_test=40)
    config = TrainConfig(arch="mlp", dataset="mnist", data_dir=str(root / "data"), epochs=3,
                         batch_size=20, lr=3e-3, device="cpu", seed=1, threads=1)
    events: list = []
    Trainer(config, run_dir=root / "run").run(events.append)
    return root / "run", events


def test_an_opened_run_folder_shows_every_epoch(qtbot, finished_run):
    folder, events = finished_run
    run = RunModel()
    panel = ResultsPanel.following(run)
    qtbot.addWidget(panel)
    panel.show()
    path = folder / "checkpoint.pt"
    checkpoint = load_checkpoint(path)
    run.show_opened(checkpoint, str(path),
                    OpenedRun("run", "finished", 3, list(checkpoint.history), folder))
    qtbot.waitUntil(lambda: panel.epoch_slider.epochs() == [1, 2, 3], timeout=20_000)
    assert panel.pages.currentIndex() == 1
    ends = [e for e in events if isinstance(e, EpochEnd)]
    for end in ends:
        panel.epoch_slider.set_epoch(end.epoch)
        assert np.array_equal(panel.confusion._counts, analysis.confusion_matrix(
            end.evaluation.labels, end.evaluation.predicted, 10))
    # The thumbnails are the run's test images.
    start = next(e for e in events if type(e).__name__ == "RunStart")
    assert np.array_equal(panel._cache.images, start.test_images)


def test_a_stored_runs_images_follow_its_test_index(finished_run, tmp_path):
    folder, events = finished_run
    start = next(e for e in events if type(e).__name__ == "RunStart")
    history = load_history(folder)
    kept = np.array([5, 1, 30], dtype=np.int32)  # a child run tested on these three
    child = SampleHistory.start(history.labels[kept], 10, kept)
    save_history(tmp_path, child.with_epoch(_rows(history, kept, 1)))
    config = load_checkpoint(folder / "checkpoint.pt").config
    stored = read_stored_run(tmp_path, config)
    assert np.array_equal(stored.images, start.test_images[kept.astype(np.int64)])
    assert read_stored_run(tmp_path / "nothing", config).history is None


def _rows(history: SampleHistory, rows: np.ndarray, epoch: int) -> Evaluation:
    whole = history.evaluation_at(epoch)
    return Evaluation(epoch=epoch, num_classes=whole.num_classes, labels=whole.labels[rows],
                      top_classes=whole.top_classes[rows], top_probs=whole.top_probs[rows],
                      true_probs=whole.true_probs[rows])


def test_a_resumed_run_continues_its_folders_history(qtbot, finished_run):
    folder, events = finished_run
    start = next(e for e in events if type(e).__name__ == "RunStart")
    ends = [e for e in events if isinstance(e, EpochEnd)]
    samples = RunSamples()
    samples.start_run(replace(start, start_epoch=2, run_dir=str(folder)))
    samples.add_epoch(ends[2])  # epoch 3 ends before the folder's epochs 1-2 are read
    qtbot.waitUntil(lambda: samples.epochs() == [1, 2, 3], timeout=20_000)
    stored = load_history(folder)
    assert np.array_equal(samples.history.predicted, stored.predicted)
    assert samples.evaluation_at(3) is ends[2].evaluation  # all its classes, as it came


def test_a_damaged_history_says_so(qtbot, tmp_path):
    (tmp_path / "samples.npz").write_bytes(b"not a zip")
    samples = RunSamples()
    with qtbot.waitSignal(samples.problem, timeout=20_000) as said:
        samples.show_folder(tmp_path, TrainConfig())
    assert "damaged" in said.args[0] and samples.history is None


def opened_panel(qtbot, checkpoint, folder: Path) -> ResultsPanel:
    run = RunModel()
    panel = ResultsPanel.following(run)
    qtbot.addWidget(panel)
    panel.show()
    run.show_opened(checkpoint, str(folder / "checkpoint.pt"),
                    OpenedRun("run", "finished", 3, list(checkpoint.history), folder))
    return panel


def test_what_cannot_be_read_of_a_run_folder_is_said_on_the_tab(qtbot, finished_run,
                                                                 tmp_path):
    folder, _events = finished_run
    checkpoint = load_checkpoint(folder / "checkpoint.pt")
    (tmp_path / "damaged").mkdir()
    (tmp_path / "damaged" / "samples.npz").write_bytes(b"not a zip")
    panel = opened_panel(qtbot, checkpoint, tmp_path / "damaged")
    qtbot.waitUntil(lambda: "damaged" in panel.message.text(), timeout=20_000)
    assert panel.pages.currentIndex() == 0
    # The history is there, the test images are not: the tab says so beside the epochs.
    (tmp_path / "moved").mkdir()
    save_history(tmp_path / "moved", load_history(folder))
    elsewhere = replace(checkpoint, config=checkpoint.config.replace(
        dataset="folder", image_folder=str(tmp_path / "no such folder")))
    panel = opened_panel(qtbot, elsewhere, tmp_path / "moved")
    qtbot.waitUntil(lambda: "could not be read" in panel.summary.text(), timeout=20_000)
    assert panel.pages.currentIndex() == 1 and panel.epoch_slider.epochs() == [1, 2, 3]
    panel.epoch_slider.set_epoch(1)  # still said at another epoch
    assert "could not be read" in panel.summary.text()


def test_a_child_runs_test_images_are_marked_by_their_original_index(qtbot):
    from tests.gui.test_results_panel import images, start_event

    original = np.array([2, 3, 5, 7, 11, 13])
    start = replace(start_event("abc", images(len(LABELS))), test_index=original)
    samples = RunSamples()
    samples.start_run(start)
    samples.add_epoch(epoch_end(1))
    assert samples.original_index(4) == 11
