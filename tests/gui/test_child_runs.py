"""From a mistake to a better run in the window: the least believable training images after a
run, marked, Run > Train again without them, the Runs tab's parent and child compared, and
the child continued without its images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QPoint, Qt

from engine.config import TrainConfig
from engine.records.checkpoint import load_checkpoint
from gui.image_detail import RIGHT_COLOUR, WRONG_COLOUR
from gui.image_marks import LEAVE_OUT, MISLABELLED
from gui.image_story_view import NO_STORY_TEXT
from gui.least_believable import LeastBelievable
from gui.runs_panel import RunsPanel
from gui.train_again import ACTION_TIP, child_config, run_folder_of
from tests.gui.test_runs_panel import shown_rows, start, write_run
from tests.gui.windows import open_window

RUN_TIMEOUT_MS = 120_000
MARKED_TRAIN, MARKED_TEST = (4, 9, 150), (7,)


def _train(qtbot, window, start) -> object:
    start()
    with qtbot.waitSignal(window.controller.run_finished, timeout=RUN_TIMEOUT_MS) as ended:
        pass
    assert ended.args[0].reason == "finished", ended.args[0].message
    return ended.args[0]


def test_a_child_has_its_parents_settings_and_seed_and_leaves_out_both_runs_marks():
    parent = TrainConfig(seed=7, lr=0.01, seeds=3, leave_out=(2,), parent="/runs/grandparent")

    child = child_config(parent, (9, 2), (1,), "/runs/parent")

    assert (child.seed, child.lr, child.seeds) == (7, 0.01, 1)
    assert child.leave_out == (2, 9) and child.leave_out_test == (1,)
    assert child.parent == "/runs/parent"


def test_train_again_is_off_until_images_are_marked_and_says_what_it_does(qtbot, tmp_path):
    window = open_window(qtbot, tmp_path)
    action = window.train_again.action

    assert not action.isEnabled() and action.toolTip() == ACTION_TIP
    window.marks.mark("train", 3, "leave out")
    assert not action.isEnabled()  # no run on screen to train again


def test_from_marks_to_a_child_run_compared_with_its_parent(qtbot, tmp_path, data_dir):
    window = open_window(qtbot, tmp_path)
    window.settings_panel.set_config(TrainConfig(
        arch="softmax", dataset="mnist", data_dir=str(data_dir), epochs=2, batch_size=32,
        device="cpu", seed=5))
    _train(qtbot, window, window.commands.start_training)
    parent_folder = run_folder_of(window.run.checkpoint_path)

    gallery = window.findChild(LeastBelievable)  # ranked after the run, in the background
    qtbot.waitUntil(lambda: len(gallery.rows()) > 0, timeout=RUN_TIMEOUT_MS)
    assert gallery.strip.strip_model.rowCount() == len(gallery.rows())
    menu = gallery.strip.menu_at(gallery.strip.visualRect(
        gallery.strip.strip_model.index(0)).center())
    assert [a.text() for a in menu.actions()] == ["Mislabelled", "Leave out"]
    menu.actions()[0].trigger()  # the least believable image: mislabelled
    first = gallery._original(gallery.rows()[0])
    assert window.marks.reason("train", first) == "mislabelled"
    window.marks.unmark("train", first)
    for index in MARKED_TRAIN:
        window.marks.mark("train", index, "leave out")
    window.marks.mark("test", MARKED_TEST[0], "mislabelled")
    assert window.train_again.action.isEnabled()

    _train(qtbot, window, window.train_again.action.trigger)

    child = load_checkpoint(window.run.checkpoint_path).config
    assert (child.leave_out, child.leave_out_test) == (MARKED_TRAIN, MARKED_TEST)
    assert child.parent == parent_folder and child.seed == 5
    assert (window.run.start.train_size, window.run.start.test_size) == (197, 49)
    # The Results tab names the child's test images by their index in the whole test set.
    assert [window.results.samples.original_index(row) for row in (6, 7)] == [6, 8]
    child_folder = run_folder_of(window.run.checkpoint_path)

    runs = window.runs_panel
    qtbot.waitUntil(lambda: runs.model.row_of(child_folder) is not None, timeout=10_000)
    row = runs.model.row_of(child_folder)
    assert runs.model.index(row, 0).data().endswith(f"↳ {Path(child_folder).name} (4 left out)")
    tip = runs.model.index(row, 0).data(Qt.ItemDataRole.ToolTipRole)
    assert f"A child of {parent_folder}: trained again with its settings and seed" in tip
    runs.set_live_run(None)
    runs.tick(parent_folder)
    runs.tick(child_folder)
    qtbot.waitUntil(lambda: "test images both were tested on" in runs.lineage.title.text(),
                    timeout=10_000)
    assert "49 test images" in runs.lineage.title.text()
    assert runs.lineage.confusion.isVisibleTo(runs) and runs.lineage.accuracy.isVisibleTo(runs)
    runs.tick(parent_folder, False)
    assert not runs.lineage.isVisibleTo(runs)

    window.settings_panel.set_config(window.settings_panel.config().replace(epochs=1))
    _train(qtbot, window, window.commands.resume_training)  # the form has no leave-outs

    continued = load_checkpoint(window.run.checkpoint_path).config
    assert (continued.leave_out, continued.leave_out_test) == (MARKED_TRAIN, MARKED_TEST)
    assert window.run.start.train_size == 197 and window.run.history[-1]["epoch"] == 3
    gallery.wait(30)  # the continued run's ranking may be under way


def test_a_least_believable_image_clicked_shows_in_the_detail_and_marks_its_training_index(
        qtbot, tmp_path, data_dir):
    window = open_window(qtbot, tmp_path)
    window.settings_panel.set_config(TrainConfig(
        arch="softmax", dataset="mnist", data_dir=str(data_dir), epochs=1, batch_size=32,
        device="cpu", seed=3))
    config = window.settings_panel.config().replace(leave_out=tuple(range(0, 200, 3)))
    _train(qtbot, window, lambda: window.controller.start(config))  # a child run's start
    results, gallery = window.results, window.findChild(LeastBelievable)
    window.tabs.setCurrentWidget(results)
    results.strips.setCurrentWidget(gallery)
    qtbot.waitUntil(lambda: len(gallery.rows()) > 0, timeout=RUN_TIMEOUT_MS)
    row, doubts = gallery.rows()[0], gallery._found.doubts
    original = int(doubts.train_index[row])
    assert original != row  # rows are of the images learned from, marks by original index

    with qtbot.waitSignal(window.run.inspect_requested) as asked:  # the Inside tab follows
        gallery.strip.click_image(0)

    assert asked.args[0].caption == f"Training image {original + 1:,}"
    detail, story = results.detail, results.story
    assert detail.caption.text().startswith(
        f"<b>Training image {original + 1:,}</b>: {doubts.reason(row)}.")
    probs = doubts.probabilities[row]
    assert [c for c, _ in detail.shown][0] == int(probs.argmax())
    assert int(doubts.labels[row]) in [c for c, _ in detail.shown]
    assert np.allclose(detail.bars.opts["width"], [probs[c] * 100 for c, _ in detail.shown])
    colours = {c: b.color().name() for (c, _), b in zip(detail.shown, detail.bars.opts[
        "brushes"], strict=True)}
    assert colours[int(doubts.labels[row])] == RIGHT_COLOUR
    if int(probs.argmax()) != int(doubts.labels[row]):
        assert colours[int(probs.argmax())] == WRONG_COLOUR
    assert not story.plot.isVisible() and story.text.text() == NO_STORY_TEXT

    qtbot.mouseClick(story.buttons[MISLABELLED], Qt.MouseButton.LeftButton)

    assert window.marks.reason("train", original) == MISLABELLED
    assert window.marks.count() == 1
    menu = gallery.strip.menu_at(gallery.strip.visualRect(
        gallery.strip.strip_model.index(0)).center())
    assert menu.actions()[0].isChecked()  # the thumbnail's menu agrees
    menu.actions()[1].trigger()  # and the detail's buttons follow its menu
    assert story.buttons[LEAVE_OUT].isChecked() and not story.buttons[MISLABELLED].isChecked()

    strip = results.strips.borderline
    strip.click_image(0)  # a test image again, as before

    assert detail.caption.text().startswith("<b>Test image")
    assert story.plot.isVisibleTo(results) and not story.buttons[LEAVE_OUT].isChecked()
    gallery.wait(30)


def test_an_empty_gallery_offers_no_marks(qtbot, tmp_path):
    window = open_window(qtbot, tmp_path)
    gallery = window.findChild(LeastBelievable)

    assert gallery.strip.menu_at(QPoint(5, 5)) is None and gallery.rows() == []


def test_the_runs_tab_lists_a_child_under_its_parent_and_names_a_parent_not_listed(
        qtbot, tmp_path):
    runs_dir = tmp_path / "runs"
    parent = write_run(runs_dir / "a-parent", [0.5, 0.6])
    write_run(runs_dir / "b-other", [0.4])
    child_config = TrainConfig(arch="mlp", dataset="mnist", epochs=1, parent=str(parent),
                               leave_out=(1, 2), leave_out_test=(3,))
    write_run(runs_dir / "c-child", [0.7], config=child_config.to_dict())
    write_run(runs_dir / "d-orphan", [0.7], config=child_config.replace(
        parent=str(tmp_path / "elsewhere" / "gone")).to_dict())
    panel = RunsPanel(runs_dir)
    qtbot.addWidget(panel)

    try:
        start(qtbot, panel, 4)

        names = [row[0] for row in shown_rows(panel)]  # newest first, a child under its parent
        assert names == ["d-orphan (child of gone: 3 left out)", "b-other", "a-parent",
                         "      ↳ c-child (3 left out)"]
    finally:
        panel.library.shutdown()
