"""The Draw tab tries the model on a person's own images: opened, dropped or pasted."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QImage
from PySide6.QtWidgets import QApplication, QFileDialog

from engine.config import TrainConfig
from engine.inference.image_input import InputRecipe
from engine.inference.image_trial import ImageFailure, ImageTrial, try_image
from engine.inference.predict import Predictor
from engine.models.architectures import build_model
from engine.records.checkpoint import Checkpoint, load_checkpoint
from gui import draw_answer, draw_panel
from gui.draw_panel import DrawPanel
from gui.image_tiles import qimage
from tools.sample_images import colour_pattern, photo_of_a_digit, write_image_kinds

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")
CIFAR10 = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
           "truck")
BUNDLED = load_checkpoint(draw_panel.BUNDLED_MODEL)
TIMEOUT_MS = 20_000


@pytest.fixture
def panel(qtbot):
    widget = DrawPanel()
    widget.resize(900, 600)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    assert widget.load_bundled_model()
    yield widget
    widget.images.wait(10)


@pytest.fixture
def photos(tmp_path):
    """Photos of a 2, a 7 and a 4 on paper, and a file that is no image."""
    files = {}
    for digit in (2, 7, 4):
        files[digit] = tmp_path / f"digit-{digit}.jpg"
        photo_of_a_digit(digit).save(files[digit], quality=90)
    files["notes"] = tmp_path / "notes.txt"
    files["notes"].write_text("a shopping list, not a picture")
    return files


def cifar_checkpoint() -> Checkpoint:
    torch_model = build_model("cifar-cnn", 3, 10, 32)
    return Checkpoint(config=TrainConfig(arch="cifar-cnn", dataset="cifar10"),
                      model_state=torch_model.state_dict(), optimizer_state=None,
                      scheduler_state=None, scaler_state=None, epoch=1,
                      history=[{"test_acc": 0.5}], class_names=CIFAR10,
                      mean=(0.4914, 0.4822, 0.4465), std=(0.2470, 0.2435, 0.2616),
                      in_channels=3, input_size=32, is_digits=False)


def settle(qtbot, panel, count):
    qtbot.waitUntil(lambda: len(panel.images.results()) == count and not panel.images.busy(),
                    timeout=TIMEOUT_MS)


def bar_widths(panel) -> np.ndarray:
    return np.asarray(panel.chart._bars.opts["width"], dtype=float)


def expected(ckpt: Checkpoint, source, name=None) -> ImageTrial:
    return try_image(Predictor.from_checkpoint(ckpt), InputRecipe.from_checkpoint(ckpt),
                     source, name)


def drop(panel, mime: QMimeData) -> bool:
    """Drag the data over the panel and drop it; whether the drop was taken."""
    point = QPointF(panel.width() / 2, panel.height() / 2)
    enter = QDragEnterEvent(point.toPoint(), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(panel, enter)
    if not enter.isAccepted():
        return False
    event = QDropEvent(point, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(panel, event)
    return event.isAccepted()


def file_urls(*paths) -> QMimeData:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    return mime


def test_an_opened_photo_of_a_digit_is_read_and_shown_as_the_model_sees_it(
        qtbot, panel, photos, monkeypatch):
    monkeypatch.setattr(QFileDialog, "getOpenFileNames",
                        lambda *args, **kwargs: ([str(photos[7])], ""))
    qtbot.mouseClick(panel.open_images_button, Qt.MouseButton.LeftButton)
    settle(qtbot, panel, 1)
    assert panel.showing_images() and not panel.images.table.isVisible()
    want = expected(BUNDLED, photos[7], photos[7].name)
    assert panel.answer_label.text() == "7"
    np.testing.assert_allclose(panel.shown_probabilities(), want.probabilities, atol=1e-6)
    np.testing.assert_allclose(bar_widths(panel), want.probabilities, atol=1e-6)
    # The large view is the model's input itself, enlarged pixel for pixel.
    view = panel.images.view
    rect = view.image_rect()
    assert rect.width() == rect.height() and rect.width() % 32 == 0 and rect.width() >= 160
    shown = view.grab().toImage()
    scale = rect.width() // 32
    for row, col in [(4, 4), (10, 16), (20, 12), (28, 28)]:
        pixel = shown.pixelColor(rect.left() + col * scale + scale // 2,
                                 rect.top() + row * scale + scale // 2)
        assert abs(pixel.red() - int(want.seen[row, col])) <= 1
    assert "digit-7.jpg as the model sees it (1×32×32" in panel.images.caption.text()


def test_the_shortcut_opens_images_and_ctrl_o_stays_the_windows(qtbot, panel, photos,
                                                                  monkeypatch):
    asked = []
    monkeypatch.setattr(QFileDialog, "getOpenFileNames",
                        lambda *args, **kwargs: asked.append(1) or ([str(photos[2])], ""))
    panel.activateWindow()
    qtbot.waitUntil(panel.isActiveWindow)
    qtbot.keyClick(panel, Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier)
    assert asked == []  # Ctrl+O opens a checkpoint (the window's action), not images
    qtbot.keyClick(panel, Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier
                   | Qt.KeyboardModifier.ShiftModifier)
    assert asked == [1]
    settle(qtbot, panel, 1)
    assert panel.answer_label.text() == "2"


def test_dropping_several_files_lists_them_and_a_click_shows_each(qtbot, panel, photos):
    assert drop(panel, file_urls(photos[2], photos["notes"], photos[4], photos[7]))
    settle(qtbot, panel, 4)
    table = panel.images.table
    assert table.isVisible() and table.rowCount() == 4
    cells = [[table.item(row, col).text() for col in range(1, 4)] for row in range(4)]
    assert [c[0] for c in cells] == ["digit-2.jpg", "notes.txt", "digit-4.jpg", "digit-7.jpg"]
    assert [c[1] for c in cells] == ["2", "Cannot read", "4", "7"]
    assert "notes.txt is not an image" in table.item(1, 2).toolTip()
    assert table.item(0, 0).icon().availableSizes()  # a thumbnail
    assert table.item(0, 4).text().endswith("%)")  # second choice and its share
    # A click on a row shows that image large, with its bars.
    for row, digit in [(2, 4), (3, 7), (0, 2)]:
        rect = table.visualRect(table.model().index(row, 2))
        qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        want = expected(BUNDLED, photos[digit], photos[digit].name)
        assert panel.answer_label.text() == str(digit)
        np.testing.assert_allclose(bar_widths(panel), want.probabilities, atol=1e-6)
        assert panel.images.caption.text().startswith(f"digit-{digit}.jpg")
    rect = table.visualRect(table.model().index(1, 2))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert isinstance(panel.images.current(), ImageFailure)
    assert "notes.txt is not an image TrainDesk can read" in panel.confidence_label.text()
    assert len(bar_widths(panel)) == 0


def test_a_dropped_folder_stands_for_its_images(qtbot, panel, tmp_path):
    kinds = write_image_kinds(tmp_path / "kinds")
    (tmp_path / "kinds" / "readme.txt").write_text("not listed: no image extension")
    assert drop(panel, file_urls(tmp_path / "kinds"))
    settle(qtbot, panel, len(kinds))
    names = [panel.images.table.item(row, 1).text() for row in range(len(kinds))]
    assert names == sorted(kinds)
    assert all(isinstance(r, ImageTrial) for r in panel.images.results())
    # The digit model finds no digit in a 1x1 image: it answers, and the row says so.
    tiny = names.index("tiny.png")
    assert panel.images.table.item(tiny, 2).text().endswith(" (doubtful)")
    assert "No digit found in tiny.png" in panel.images.table.item(tiny, 2).toolTip()
    panel.images.select(tiny)
    assert "No digit found in tiny.png" in panel.confidence_label.text()
    assert {brush.color().getRgb()[:3] for brush in panel.chart._bars.opts["brushes"]} == {
        draw_answer.DOUBTED_BAR_COLOUR}


def test_pasting_a_picture_from_the_clipboard(qtbot, panel):
    photo = np.asarray(photo_of_a_digit(4).convert("RGB"))
    QApplication.clipboard().setImage(qimage(photo))
    panel.activateWindow()
    qtbot.waitUntil(panel.isActiveWindow)
    qtbot.keyClick(panel, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    settle(qtbot, panel, 1)
    trial = panel.images.current()
    assert trial.name == "the pasted image"
    assert panel.answer_label.text() == "4"
    np.testing.assert_allclose(trial.probabilities, expected(BUNDLED, photo).probabilities,
                               atol=1e-6)


def test_pasting_copied_files_and_pasting_nothing(qtbot, panel, photos):
    QApplication.clipboard().setMimeData(file_urls(photos[7], photos[2]))
    panel.pages.paste_image()
    settle(qtbot, panel, 2)
    assert [r.name for r in panel.images.results()] == ["digit-7.jpg", "digit-2.jpg"]
    panel.show_canvas()
    QApplication.clipboard().setText("just words")
    panel.pages.paste_image()
    assert not panel.showing_images()
    assert "The clipboard holds no image" in panel.news_label.text()


def test_a_colour_model_reads_images_in_colour_and_a_new_model_reads_them_again(
        qtbot, panel, tmp_path):
    kinds = write_image_kinds(tmp_path / "kinds")
    assert drop(panel, file_urls(kinds["rgb.png"], kinds["tiny.png"]))
    settle(qtbot, panel, 2)
    assert panel.images.results()[0].seen.shape == (32, 32)  # the digit model: grey
    ckpt = cifar_checkpoint()
    assert panel.add_opened_model(ckpt, tmp_path / "cifar.pt")
    settle(qtbot, panel, 2)
    trial = panel.images.results()[0]
    assert trial.seen.shape == (32, 32, 3)
    assert tuple(trial.seen[16, 2]) == (220, 30, 30)
    np.testing.assert_allclose(trial.probabilities,
                               expected(ckpt, kinds["rgb.png"]).probabilities, atol=1e-6)
    answer = panel.images.table.item(0, 2).text()
    assert answer in CIFAR10 and panel.answer_label.text() == answer
    assert len(bar_widths(panel)) == 10
    shown = panel.images.view.grab().toImage()
    rect = panel.images.view.image_rect()
    colour = shown.pixelColor(rect.left() + 2, rect.center().y())
    assert (colour.red(), colour.green(), colour.blue()) == (220, 30, 30)


def test_back_to_drawing_brings_the_drawings_answer_back(qtbot, panel, photos):
    assert drop(panel, file_urls(photos[2]))
    settle(qtbot, panel, 1)
    assert panel.answer_label.text() == "2" and not panel.input_view.isVisible()
    qtbot.mouseClick(panel.images.back_button, Qt.MouseButton.LeftButton)
    assert not panel.showing_images() and panel.input_view.isVisible()
    assert panel.answer_label.text() == "Draw a digit"
    assert len(bar_widths(panel)) == 0


def test_a_drop_of_neither_files_nor_pictures_is_refused(panel):
    mime = QMimeData()
    mime.setText("some words")
    assert not drop(panel, mime)
    assert not panel.showing_images()


def test_a_picture_with_transparency_keeps_it_through_the_clipboard():
    from gui.image_trials import qimage_pixels

    pixels = np.zeros((6, 8, 4), dtype=np.uint8)
    pixels[..., :3] = colour_pattern((8, 6))
    pixels[2:4, 2:6, 3] = 255
    image = QImage(pixels.data, 8, 6, 32, QImage.Format.Format_RGBA8888).copy()
    np.testing.assert_array_equal(qimage_pixels(image)[..., 3], pixels[..., 3])
    np.testing.assert_array_equal(qimage_pixels(image)[2:4, 2:6], pixels[2:4, 2:6])
    opaque = qimage_pixels(qimage(colour_pattern((8, 6))))
    assert opaque.shape == (6, 8, 3)
    np.testing.assert_array_equal(opaque, colour_pattern((8, 6)))


def test_in_the_window_ctrl_v_pastes_text_into_a_field_and_an_image_onto_the_draw_tab(
        qtbot, tmp_path):
    from PySide6.QtWidgets import QLineEdit

    from tests.gui.windows import open_window

    window = open_window(qtbot, tmp_path)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    # On another tab the Draw tab's keys are off: Ctrl+V does not switch to images.
    QApplication.clipboard().setImage(qimage(colour_pattern()))
    qtbot.keyClick(window.tabs.currentWidget(), Qt.Key.Key_V,
                   Qt.KeyboardModifier.ControlModifier)
    assert not window.draw.showing_images() and not window.draw.images.busy()
    window.tabs.setCurrentWidget(window.pytorch.draw_tab)
    field = window.settings_panel.findChild(QLineEdit, "data_dir")
    field.setFocus()
    field.clear()
    QApplication.clipboard().setText("/some/folder")
    qtbot.keyClick(field, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert field.text() == "/some/folder"
    assert not window.draw.showing_images()
    QApplication.clipboard().setImage(qimage(np.asarray(photo_of_a_digit(7).convert("RGB"))))
    window.draw.canvas.setFocus()
    qtbot.keyClick(window.draw.canvas, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    settle(qtbot, window.draw, 1)
    assert window.draw.answer_label.text() == "7"
    window.draw.images.wait(10)


def test_rows_fill_in_as_images_are_read_and_a_newer_drop_replaces_an_older(qtbot, panel,
                                                                            photos):
    assert drop(panel, file_urls(photos[2], photos[4]))
    table = panel.images.table
    assert [table.item(row, 2).text() for row in range(2)] == ["Reading…", "Reading…"]
    assert panel.answer_label.text() == "Reading…"
    assert drop(panel, file_urls(photos[7], photos[4], photos[2]))  # before those are read
    assert table.rowCount() == 3
    settle(qtbot, panel, 3)
    assert [r.name for r in panel.images.results()] == ["digit-7.jpg", "digit-4.jpg",
                                                        "digit-2.jpg"]
    assert [table.item(row, 2).text() for row in range(3)] == ["7", "4", "2"]
    assert "3 images; click a row to see it large." in panel.images.status_label.text()


def test_a_new_model_keeps_the_image_in_view(qtbot, panel, photos, tmp_path):
    assert drop(panel, file_urls(photos[2], photos[4], photos[7]))
    settle(qtbot, panel, 3)
    panel.images.select(2)
    assert panel.add_opened_model(cifar_checkpoint(), tmp_path / "cifar.pt")
    settle(qtbot, panel, 3)
    assert panel.images.table.currentRow() == 2
    assert panel.images.current().name == "digit-7.jpg"
    assert panel.answer_label.text() in CIFAR10
    assert panel.images.caption.text().startswith("digit-7.jpg as the model sees it (3×32×32")


def test_copied_file_paths_as_text_are_images_and_other_text_is_none(photos):
    from gui.image_trials import sources_from_mime

    mime = QMimeData()
    mime.setText(f"{photos[2]}\nfile://{photos[7]}\n")
    sources, left_out = sources_from_mime(mime)
    assert [name for name, _ in sources] == ["digit-2.jpg", "digit-7.jpg"] and left_out == 0
    for text in ("just words", "bad\0path", "x" * 5000, ""):
        mime.setText(text)
        assert sources_from_mime(mime) == ([], 0)


def test_at_most_max_images_are_taken_from_a_drop_and_the_rest_counted(tmp_path):
    from gui.image_trials import MAX_IMAGES, sources_from_mime

    for i in range(MAX_IMAGES + 3):
        (tmp_path / f"{i:04d}.png").write_bytes(b"")  # listed by name, never read here
    sources, left_out = sources_from_mime(file_urls(tmp_path))
    assert len(sources) == MAX_IMAGES and left_out == 3
    assert sources[0][0] == "0000.png"


def test_the_pixel_view_enlarges_by_whole_multiples_and_fits_a_large_input(qtbot):
    from gui.image_trials import PixelView

    view = PixelView()
    qtbot.addWidget(view)
    view.resize(200, 230)
    view.set_pixels(np.zeros((28, 28), np.uint8))
    assert (view.image_rect().width(), view.image_rect().height()) == (196, 196)  # 7x
    view.set_pixels(np.full((224, 224, 3), 200, np.uint8))  # a pretrained network's input
    rect = view.image_rect()
    assert (rect.width(), rect.height()) == (200, 200) and view.rect().contains(rect)
    view.show()
    qtbot.waitExposed(view)
    assert view.grab().toImage().pixelColor(rect.center()).red() == 200


def test_open_folder_reads_its_images_in_batches_and_saves_predicts_csv(qtbot, panel,
                                                                       tmp_path,
                                                                       monkeypatch):
    """A folder (with a sub-folder) through the command's path: the same rows, the same
    columns and answers as `traindesk predict` on that folder."""
    import csv

    from engine.cli.predict import main as predict_main
    from gui.image_trials import BATCH

    folder = tmp_path / "scans"
    (folder / "more").mkdir(parents=True)
    count = BATCH + 9  # two batches
    for index in range(count):
        where = folder / ("more" if index % 4 == 0 else "")
        photo_of_a_digit(index % 10, (90, 70)).save(where / f"{index:02d}-{index % 10}.png")
    (folder / "broken.png").write_bytes(b"no image")
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *args, **kwargs:
                        str(folder / "more" / "nothing"))
    (folder / "more" / "nothing").mkdir()
    qtbot.mouseClick(panel.open_folder_button, Qt.MouseButton.LeftButton)
    assert not panel.showing_images()
    assert "No PNG, JPEG" in panel.news_label.text() and "nothing" in panel.news_label.text()
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *args, **kwargs:
                        str(folder))
    qtbot.mouseClick(panel.open_folder_button, Qt.MouseButton.LeftButton)
    page = panel.images
    assert panel.showing_images() and page.table.rowCount() == count + 1
    assert page.progress.isVisible() and not page.save_button.isEnabled()
    assert page.status_label.text() == f"Reading images 1–{BATCH} of {count + 1}…"
    settle(qtbot, panel, count + 1)
    assert not page.progress.isVisible() and page.save_button.isEnabled()
    # In path order: the folder's own files, then its sub-folder's.
    assert page.table.item(0, 1).text() == "01-1.png"
    assert page.table.item(count, 1).text() == f"more/{count - 1:02d}-{(count - 1) % 10}.png"

    saved = tmp_path / "table.csv"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args, **kwargs:
                        (str(saved), ""))
    qtbot.mouseClick(page.save_button, Qt.MouseButton.LeftButton)
    assert f"Saved {count + 1} rows to {saved}" in page.status_label.text()
    command = tmp_path / "command.csv"
    assert predict_main([str(draw_panel.BUNDLED_MODEL), str(folder), "--out", str(command),
                         "--batch-size", str(BATCH)]) == 1  # the broken file
    with open(saved, newline="") as gui_file, open(command, newline="") as cli_file:
        from_gui, from_command = list(csv.reader(gui_file)), list(csv.reader(cli_file))
    assert from_gui[0] == from_command[0] and len(from_gui) == len(from_command) == count + 2
    for got, want in zip(from_gui[1:], from_command[1:], strict=True):
        assert got[0] == want[0] and got[1] == want[1] and got[-1] == want[-1]
        # The same reason; the table names an image as its row does, the command by its path.
        assert got[-2] == want[-2].replace(str(folder) + "/", "")
        assert float(got[2] or 0) == pytest.approx(float(want[2] or 0), abs=2e-6)
    [broken] = [row for row in from_gui[1:] if row[0].endswith("broken.png")]
    assert broken[1] == "" and "broken.png is not an image" in broken[-2]
    assert [row[1] for row in from_gui[1:4]] == ["1", "2", "3"]
