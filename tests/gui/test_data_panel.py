"""The Data tab on tiny datasets written in the real raw formats (tools/sample_datasets.py)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

import engine.data.mnist
from engine.config import TrainConfig
from engine.data.download import DownloadError
from gui.data_panel import SAMPLES, DataPanel
from gui.run_model import RunModel
from gui.settings_panel import SettingsPanel
from tests.fake_network import FakeNetwork, md5
from tools.sample_datasets import (
    CIFAR10_CLASSES,
    IDX_FILES,
    write_cifar100,
    write_cifar_batches,
    write_emnist,
    write_idx_dataset,
    write_image_folder,
)

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")
TIMEOUT_MS = 60_000


@pytest.fixture
def make_panel(qtbot):
    def make(**config) -> tuple[DataPanel, SettingsPanel, RunModel]:
        settings = SettingsPanel()
        settings.set_config(TrainConfig(arch="mlp", device="cpu", **config))
        run = RunModel()
        panel = DataPanel(run, settings)
        panel.resize(1000, 700)
        qtbot.addWidget(settings)
        qtbot.addWidget(panel)
        panel.show()
        qtbot.waitExposed(panel)
        settle(qtbot, panel)
        return panel, settings, run

    return make


def settle(qtbot, panel):
    qtbot.waitUntil(lambda: not panel.busy(), timeout=TIMEOUT_MS)


def shown_labels(panel) -> list[int]:
    return [int(v) for v in panel.shown().labels]


def read_idx_labels(folder) -> np.ndarray:
    from engine.data.idx import read_idx

    return read_idx(folder / "train-labels-idx1-ubyte.gz", 1)


def test_the_grid_fills_with_samples_class_names_and_facts(make_panel, data_dir):
    panel, _, _ = make_panel(dataset="mnist", data_dir=str(data_dir), val_split=0.1)

    shown = panel.shown()
    assert shown is not None and panel.status_text() == ""
    [section] = panel.sheet.sections()
    assert len(section.tiles) == SAMPLES
    labels = read_idx_labels(data_dir / "MNIST" / "raw")
    assert [tile.caption for tile in section.tiles] == [str(labels[i]) for i in shown.indices]
    assert panel.facts()["Training"] == "180 images"
    assert panel.facts()["Validation"] == "20 images"
    assert panel.facts()["Test"] == "50 images"
    assert panel.facts()["Image size"] == "28×28, 1 channel (greyscale)"
    assert panel.bars.counts() == np.bincount(labels, minlength=10).tolist()
    assert panel.class_filter.count() == 11  # all classes, then each


def test_reshuffle_shows_other_images(qtbot, make_panel, data_dir):
    panel, _, _ = make_panel(dataset="mnist", data_dir=str(data_dir))
    before = panel.shown().indices.tolist()
    qtbot.mouseClick(panel.reshuffle_button, Qt.MouseButton.LeftButton)
    settle(qtbot, panel)
    assert panel.shown().indices.tolist() != before
    assert len(panel.shown().indices) == SAMPLES


def test_the_class_filter_shows_one_class_only(qtbot, make_panel, data_dir):
    panel, _, _ = make_panel(dataset="mnist", data_dir=str(data_dir))
    panel.class_filter.setCurrentIndex(4)  # class "3"
    settle(qtbot, panel)
    assert set(shown_labels(panel)) == {3}
    assert len(shown_labels(panel)) == 20  # every "3" of the 200 balanced images
    assert panel.sheet.sections()[0].title.endswith("class 3")
    panel.class_filter.setCurrentIndex(0)
    settle(qtbot, panel)
    assert len(set(shown_labels(panel))) > 1


def test_augmentation_shows_each_sample_beside_its_augmented_copy(qtbot, make_panel,
                                                                  data_dir):
    panel, settings, _ = make_panel(dataset="mnist", data_dir=str(data_dir))
    assert panel.shown().augmented is None
    assert all(len(tile.images) == 1 for tile in panel.sheet.sections()[0].tiles)
    assert not panel.augment_button.isVisible()

    settings.set_config(settings.config().replace(augment=True))
    settle(qtbot, panel)
    shown = panel.shown()
    assert shown.augmented is not None and shown.augmented.shape == shown.images.shape
    assert all(len(tile.images) == 2 for tile in panel.sheet.sections()[0].tiles)
    moved = [not np.array_equal(a, o) for a, o in zip(shown.augmented, shown.images,
                                                       strict=True)]
    assert sum(moved) > SAMPLES // 2  # random crops move most images (some by 0 px)
    first = shown.augmented.copy()

    qtbot.mouseClick(panel.augment_button, Qt.MouseButton.LeftButton)
    settle(qtbot, panel)
    assert panel.shown().indices.tolist() == shown.indices.tolist()  # the same images
    assert not np.array_equal(panel.shown().augmented, first)  # augmented anew


def test_cifar_shows_colour_images_with_their_class_names(make_panel, tmp_path):
    write_cifar_batches(tmp_path)
    panel, _, _ = make_panel(dataset="cifar10", data_dir=str(tmp_path), augment=True)
    shown = panel.shown()
    assert shown.images.shape[1:] == (3, 32, 32)
    assert shown.augmented.shape[1:] == (3, 32, 32)
    tile = panel.sheet.sections()[0].tiles[0]
    assert tile.caption in CIFAR10_CLASSES
    assert not tile.images[0].isGrayscale()
    assert panel.facts()["Image size"] == "32×32, 3 channels (colour)"
    assert panel.facts()["Mean"].startswith("R ")
    assert sum(panel.bars.counts()) == 200


def test_an_image_folder_is_shown_at_the_size_the_network_takes_with_its_memory(
        make_panel, qtbot, tmp_path):
    write_image_folder(tmp_path, classes=2, per_class=5, size=40)
    panel, settings, _ = make_panel(dataset="folder", data_dir=str(tmp_path))
    assert panel.facts()["Image size"] == "32×32, 3 channels (colour)"
    assert panel.facts()["In memory"] == "30 KB"  # 10 x 3 x 32 x 32

    settings.set_config(settings.config().replace(arch="resnet18-imagenet"))
    qtbot.waitUntil(lambda: panel.facts().get("Image size", "").startswith("224"),
                    timeout=TIMEOUT_MS)
    assert panel.facts()["Image size"] == "224×224, 3 channels (colour)"
    assert panel.facts()["In memory"] == "1.4 MB"  # 10 x 3 x 224 x 224
    # The dataset's own statistics, and what the pretrained network is fed instead.
    assert panel.facts()["Network input"] == "ImageNet's mean/std"


def test_37_classes_stay_readable(make_panel, tmp_path):
    names = [f"breed_{k:02d}" for k in range(37)]
    write_image_folder(tmp_path, classes=names, per_class=3, size=16)
    panel, _, _ = make_panel(dataset="folder", data_dir=str(tmp_path))
    assert panel.class_filter.count() == 38
    assert panel.bars.height() >= 37 * panel.bars.ROW  # one row each, in a scroll area
    captions = {tile.caption for tile in panel.sheet.sections()[0].tiles}
    assert captions <= set(names) and len(captions) > 10


def test_a_dataset_not_on_disk_is_said_and_downloaded_only_on_a_click(qtbot, make_panel,
                                                                      tmp_path, monkeypatch):
    attempts = []

    def offline(urls, *args, **kwargs):
        attempts.append(urls)
        raise DownloadError("no network")

    monkeypatch.setattr(engine.data.mnist, "download", offline)
    panel, _, _ = make_panel(dataset="mnist", data_dir=str(tmp_path / "empty"))
    assert "MNIST is not on this computer yet: a 11 MB download" in panel.status_text()
    assert panel.download_button.text() == "Download now (11 MB)"
    assert panel.download_button.isVisible() and not attempts
    assert panel.shown() is None

    qtbot.mouseClick(panel.download_button, Qt.MouseButton.LeftButton)
    settle(qtbot, panel)
    assert attempts
    assert panel.status_text().startswith(
        "MNIST is not on this computer and could not be downloaded (offline?)")
    assert "no network" in panel.status_label.toolTip()


def test_a_click_on_a_sample_sends_it_to_be_inspected(qtbot, make_panel, data_dir):
    panel, _, run = make_panel(dataset="mnist", data_dir=str(data_dir))
    rect = panel.sheet.tile_rect(0, 5)
    with qtbot.waitSignal(run.inspect_requested) as sent:
        qtbot.mouseClick(panel.sheet, Qt.MouseButton.LeftButton, pos=rect.center())
    request = sent.args[0]
    shown = panel.shown()
    assert np.array_equal(request.image, shown.images[5])
    assert request.label == shown.labels[5]
    assert request.caption == f"Training image {shown.indices[5] + 1:,} of MNIST"
    assert request.open_inside  # the Data tab shows nothing large itself


def test_nothing_loads_while_the_tab_is_hidden(qtbot, data_dir):
    settings = SettingsPanel()
    settings.set_config(TrainConfig(dataset="mnist", data_dir=str(data_dir)))
    panel = DataPanel(RunModel(), settings)
    qtbot.addWidget(settings)
    qtbot.addWidget(panel)
    assert not panel.busy() and panel.shown() is None
    panel.show()
    qtbot.waitUntil(lambda: panel.shown() is not None, timeout=TIMEOUT_MS)


def test_a_download_on_a_click_says_how_far_it_has_got(qtbot, make_panel, tmp_path,
                                                       monkeypatch):
    import urllib.request

    from torchvision.datasets import KMNIST

    source = write_idx_dataset(tmp_path / "server", layout=None, n_train=30, n_test=10)
    bodies = {f"{name}.gz": (source / f"{name}.gz").read_bytes() for name in IDX_FILES.values()}
    monkeypatch.setattr(KMNIST, "resources", [(name, md5(body)) for name, body in bodies.items()])
    network = FakeNetwork({KMNIST.mirrors[0] + name: body for name, body in bodies.items()})
    monkeypatch.setattr(urllib.request, "urlopen", network.urlopen)
    monkeypatch.setattr("engine.data.download.CHUNK_BYTES", 512)
    panel, _, _ = make_panel(dataset="kmnist", data_dir=str(tmp_path / "data"))
    assert panel.status_text().startswith(
        "Kuzushiji-MNIST is not on this computer yet: a 20 MB download")
    assert not network.requested
    said = []  # each status the panel shows as the download goes
    panel._progress.progressed.connect(lambda _p: said.append(panel.status_text()),
                                       Qt.ConnectionType.QueuedConnection)

    qtbot.mouseClick(panel.download_button, Qt.MouseButton.LeftButton)
    settle(qtbot, panel)

    first = "train-images-idx3-ubyte.gz"
    size = f"{max(1, round(len(bodies[first]) / 1024))} KB"
    assert f"Kuzushiji-MNIST: Downloading {first} ({size}) 0%" in said
    assert f"Kuzushiji-MNIST: Downloading {first} ({size}) 100%" in said
    assert len(said) < 120  # whole percents, not one line per 512-byte chunk
    assert panel.shown() is not None and panel.status_text() == ""
    assert panel.class_filter.itemText(1) == "o"


def test_26_letters_and_100_classes_stay_readable(qtbot, make_panel, tmp_path):
    write_emnist(tmp_path / "EMNIST" / "raw", "letters", n_train=104)
    panel, settings, _ = make_panel(dataset="emnist-letters", data_dir=str(tmp_path))
    assert panel.class_filter.count() == 27 and panel.class_filter.itemText(1) == "A/a"
    assert panel.facts()["Classes"] == "26"
    assert panel.bars.counts() == [4] * 26

    arrays = write_cifar100(tmp_path, n_train=300, n_test=20)
    settings.set_config(settings.config().replace(dataset="cifar100"))
    qtbot.waitUntil(lambda: panel.facts().get("Classes") == "100", timeout=TIMEOUT_MS)
    assert panel.class_filter.count() == 101
    assert panel.class_filter.itemText(100) == "fine class 099"
    assert panel.bars.height() >= 100 * panel.bars.ROW  # one row each, in a scroll area
    assert panel.bars.counts() == np.bincount(arrays["train_fine"], minlength=100).tolist()
    captions = {tile.caption for tile in panel.sheet.sections()[0].tiles}
    assert len(captions) > 30 and all(c.startswith("fine class ") for c in captions)
