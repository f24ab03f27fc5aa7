"""The settings form: every field round-trips, typed numbers are kept as typed, and each
problem shows under its own field before a run can start."""

import math

import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, QSettings, Qt
from PySide6.QtGui import QFocusEvent, QWheelEvent
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from engine.config import MAX_SEED, TrainConfig, config_fields, field_bounds, is_whole
from engine.data import DATASETS
from engine.models.architectures import MODELS
from engine.runtime.devices import DeviceInfo, available_devices, resolve_device
from gui.lr_input import LogSpinBox, format_number, parse_number, step_log_scale
from gui.settings_panel import SettingsPanel

DEFAULTS = TrainConfig()


@pytest.fixture
def panel(qtbot):
    widget = SettingsPanel()
    qtbot.addWidget(widget)
    widget.set_devices(available_devices(), str(resolve_device("auto")))
    return widget


def error_text(panel: SettingsPanel, field: str) -> str:
    """The red message under `field`, or "" when none is shown."""
    label = panel.findChild(QLabel, f"{field}_error")
    return "" if label.isHidden() else label.text()


def shown_errors(panel: SettingsPanel) -> set[str]:
    return {f.name for f in config_fields() if error_text(panel, f.name)}


def type_into(qtbot, box: LogSpinBox, text: str) -> None:
    box.lineEdit().selectAll()
    qtbot.keyClick(box.lineEdit(), Qt.Key.Key_Delete)
    qtbot.keyClicks(box.lineEdit(), text)


def choose(combo: QComboBox, value: str) -> None:
    index = combo.findData(value)
    assert index >= 0, f"{value!r} is not offered"
    combo.setCurrentIndex(index)


def custom_config(tmp_path) -> TrainConfig:
    """A valid config in which every field differs from its default."""
    return TrainConfig(
        arch=next(name for name in MODELS if name != DEFAULTS.arch),
        dataset="folder",
        data_dir=str(tmp_path / "downloads"),
        image_folder=str(tmp_path),
        epochs=7,
        batch_size=128,
        optimizer="sgd",
        lr=0.05,
        momentum=0.95,
        nesterov=True,
        threads=3,
        weight_decay=5e-4,
        schedule="cosine",
        label_smoothing=0.1,
        augment=True,
        val_split=0.2,
        image_size=64,
        fine_tune="all",
        seed=42,
        seeds=3,
        device="cpu",
        amp=False,  # the default: amp on a CPU is invalid, so it is round-tripped separately
    )


def test_the_form_starts_from_the_defaults_and_is_valid(panel):
    assert panel.config() == DEFAULTS
    assert panel.is_valid()
    assert shown_errors(panel) == set()


def test_every_field_round_trips_through_the_widgets(panel, tmp_path):
    config = custom_config(tmp_path)
    changed = {f.name for f in config_fields() if getattr(config, f.name) != getattr(
        DEFAULTS, f.name)}
    assert changed == {f.name for f in config_fields()} - {"amp"}
    panel.set_config(config)
    assert panel.config() == config
    assert panel.is_valid()
    # amp on its own, with a device that allows it to be checked without complaint.
    panel.set_config(DEFAULTS.replace(amp=True))
    assert panel.config().amp is True


def test_values_the_lists_lack_are_kept_and_explained(panel):
    panel.set_config(DEFAULTS.replace(arch="gone-net", device="cuda:7"))
    config = panel.config()
    assert (config.arch, config.device) == ("gone-net", "cuda:7")
    assert "Unknown architecture 'gone-net'" in error_text(panel, "arch")
    assert "cuda:7" in error_text(panel, "device")
    assert not panel.is_valid()


@pytest.mark.parametrize("typed", ["3e-4", "0.0003", "3E-4", " 3e-4"])
def test_typing_a_learning_rate_in_any_notation(panel, qtbot, typed):
    box = panel.findChild(LogSpinBox, "lr")
    with qtbot.waitSignal(panel.config_changed, check_params_cb=lambda c: c.lr == 3e-4):
        type_into(qtbot, box, typed)
    assert panel.config().lr == 3e-4
    assert panel.is_valid()


def test_arrow_keys_step_the_learning_rate_along_1_2_5(panel, qtbot):
    box = panel.findChild(LogSpinBox, "lr")
    box.setValue(1e-3)
    seen = []
    for key in [Qt.Key.Key_Up] * 3 + [Qt.Key.Key_Down] * 4 + [Qt.Key.Key_PageDown]:
        qtbot.keyClick(box, key)
        seen.append(panel.config().lr)
    assert seen == [2e-3, 5e-3, 1e-2, 5e-3, 2e-3, 1e-3, 5e-4, 5e-5]
    assert box.text() == "5e-5"


def test_the_mouse_wheel_steps_the_learning_rate(panel):
    box = panel.findChild(LogSpinBox, "lr")
    box.setValue(1e-3)

    def wheel(notches: int) -> None:
        event = QWheelEvent(QPointF(5, 5), QPointF(5, 5), QPoint(), QPoint(0, 120 * notches),
                            Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                            Qt.ScrollPhase.NoScrollPhase, False)
        QApplication.sendEvent(box, event)

    wheel(1)
    assert panel.config().lr == 2e-3
    wheel(-1)
    wheel(-1)
    assert panel.config().lr == 5e-4


def test_a_typed_value_between_steps_moves_to_its_neighbours(panel, qtbot):
    box = panel.findChild(LogSpinBox, "lr")
    type_into(qtbot, box, "3e-4")
    qtbot.keyClick(box, Qt.Key.Key_Up)
    assert panel.config().lr == 5e-4
    type_into(qtbot, box, "3e-4")
    qtbot.keyClick(box, Qt.Key.Key_Down)
    assert panel.config().lr == 2e-4


def test_learning_rate_steps_stop_at_the_valid_maximum(panel, qtbot):
    box = panel.findChild(LogSpinBox, "lr")
    box.setValue(5.0)
    qtbot.keyClick(box, Qt.Key.Key_Up)
    qtbot.keyClick(box, Qt.Key.Key_Up)
    assert panel.config().lr == 10.0
    assert panel.is_valid()


def test_weight_decay_steps_down_to_zero_and_back(panel, qtbot):
    box = panel.findChild(LogSpinBox, "weight_decay")
    assert panel.config().weight_decay == 0
    qtbot.keyClick(box, Qt.Key.Key_Down)  # already at 0: stays
    assert panel.config().weight_decay == 0
    qtbot.keyClick(box, Qt.Key.Key_Up)
    assert panel.config().weight_decay == 1e-6
    qtbot.keyClick(box, Qt.Key.Key_Down)
    assert panel.config().weight_decay == 0
    type_into(qtbot, box, "5e-4")
    assert panel.config().weight_decay == 5e-4
    assert panel.is_valid()


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("0", "Learning rate must be a number above 0"),
        ("50", "Learning rate must be a number above 0 and at most 10"),
        ("fast", "'fast' is not a number"),
        ("1e", "'1e' is not a number"),
        ("", "Type a number"),
    ],
)
def test_an_invalid_learning_rate_is_explained_next_to_it(panel, qtbot, typed, message):
    box = panel.findChild(LogSpinBox, "lr")
    with qtbot.waitSignal(panel.validity_changed) as validity:
        type_into(qtbot, box, typed)
    assert validity.args == [False]
    assert not panel.is_valid()
    assert message in error_text(panel, "lr")
    assert message in panel.problems()["lr"]
    assert shown_errors(panel) == {"lr"}
    # The typed text stays (nothing silently swaps it for the last good value) ...
    QApplication.sendEvent(box, QFocusEvent(QEvent.Type.FocusOut))
    assert box.text() == typed
    # ... until it is fixed, which flips validity back.
    with qtbot.waitSignal(panel.validity_changed) as validity:
        type_into(qtbot, box, "0.01")
    assert validity.args == [True]
    assert error_text(panel, "lr") == ""


def test_a_number_the_config_cannot_hold_is_not_a_number_in_the_config(panel, qtbot):
    type_into(qtbot, panel.findChild(LogSpinBox, "lr"), "abc")
    assert math.isnan(panel.config().lr)  # so TrainConfig.validate() refuses it too


def test_mixed_precision_on_the_cpu_is_explained_under_the_checkbox(panel, qtbot):
    choose(panel.findChild(QComboBox, "device"), "cpu")
    assert panel.is_valid()
    with qtbot.waitSignal(panel.validity_changed) as validity:
        panel.findChild(QCheckBox, "amp").click()  # the panel is never shown: no mouse
    assert validity.args == [False]
    assert panel.config().amp is True
    assert "Mixed precision needs a CUDA GPU" in error_text(panel, "amp")
    assert shown_errors(panel) == {"amp"}


def test_nesterov_without_momentum_is_explained_under_nesterov(panel):
    choose(panel.findChild(QComboBox, "optimizer"), "sgd")
    panel.findChild(QCheckBox, "nesterov").setChecked(True)
    assert panel.is_valid()
    panel.findChild(QDoubleSpinBox, "momentum").setValue(0.0)
    assert panel.config().momentum == 0.0
    assert "Nesterov needs a momentum above 0" in error_text(panel, "nesterov")


def test_momentum_says_what_it_means_for_each_optimizer(panel):
    note = panel.findChild(QLabel, "momentum_note")
    choose(panel.findChild(QComboBox, "optimizer"), "adam")
    assert "beta1" in note.text()
    choose(panel.findChild(QComboBox, "optimizer"), "sgd")
    assert "beta1" not in note.text()
    assert "SGD" in note.text()


def row_shown(panel: SettingsPanel, field: str) -> bool:
    return panel.findChild(QWidget, field).isVisibleTo(panel)


def test_an_image_folder_that_does_not_exist_is_explained_under_the_image_folder(
    panel, qtbot, tmp_path, monkeypatch
):
    choose(panel.findChild(QComboBox, "dataset"), "folder")
    assert error_text(panel, "image_folder").startswith("Choose the folder that holds")
    missing = tmp_path / "my-photos"
    panel.findChild(QLineEdit, "image_folder").setText(str(missing))
    assert "does not exist" in error_text(panel, "image_folder")
    assert str(missing) in error_text(panel, "image_folder")
    assert not panel.is_valid()

    missing.mkdir()
    monkeypatch.setattr(
        "gui.settings_editors.QFileDialog.getExistingDirectory", lambda *args: str(missing)
    )
    browse = panel.findChild(QLineEdit, "image_folder").parentWidget().findChild(QPushButton)
    assert browse.text() == "Browse…"
    with qtbot.waitSignal(panel.validity_changed) as validity:
        browse.click()
    assert validity.args == [True]
    assert panel.config().image_folder == str(missing)
    assert panel.config().data_dir == DEFAULTS.data_dir  # the download folder is apart
    assert error_text(panel, "image_folder") == ""


def test_your_own_images_and_the_built_in_datasets_have_their_own_folders(panel, tmp_path):
    """Pointing the image folder at one's photos never makes them the download folder."""
    photos, downloads = tmp_path / "photos", tmp_path / "downloads"
    photos.mkdir()
    panel.show()
    panel.findChild(QLineEdit, "data_dir").setText(str(downloads))
    dataset = panel.findChild(QComboBox, "dataset")
    choose(dataset, "folder")
    assert row_shown(panel, "image_folder") and not row_shown(panel, "data_dir")
    panel.findChild(QLineEdit, "image_folder").setText(str(photos))
    assert panel.config().source_folder() == str(photos)
    choose(dataset, "mnist")
    assert row_shown(panel, "data_dir") and not row_shown(panel, "image_folder")
    assert panel.config().source_folder() == str(downloads)
    assert panel.is_valid()
    choose(dataset, "folder")  # and back: the photos are still chosen
    assert panel.config().source_folder() == str(photos)


def test_an_older_config_reading_images_from_its_data_folder_gets_them_apart(panel, tmp_path):
    """A checkpoint or settings file from before the image folder existed."""
    panel.findChild(QLineEdit, "data_dir").setText(str(tmp_path / "downloads"))
    panel.set_config(TrainConfig(dataset="folder", data_dir=str(tmp_path)))
    config = panel.config()
    assert config.image_folder == str(tmp_path)
    assert config.data_dir == str(tmp_path / "downloads")
    assert panel.is_valid()


def test_the_dataset_list_says_which_datasets_are_on_disk(panel, tmp_path):
    from engine.data import on_disk
    from tools.sample_datasets import write_idx_dataset

    write_idx_dataset(tmp_path / "here", n_train=20, n_test=10)
    (tmp_path / "empty").mkdir()
    panel.findChild(QLineEdit, "data_dir").setText(str(tmp_path / "here"))
    before = panel.dataset_titles()
    assert "MNIST" in before and "CIFAR-10" in before  # not known until PyTorch has loaded
    panel.set_on_disk_check(on_disk)
    titles = dict(zip(DATASETS, panel.dataset_titles(), strict=True))
    assert titles["mnist"] == "MNIST — on disk"
    assert titles["cifar10"] == "CIFAR-10 — 163 MB download"
    assert titles["folder"] == before[list(DATASETS).index("folder")]  # nothing to download
    panel.findChild(QLineEdit, "data_dir").setText(str(tmp_path / "empty"))
    titles = dict(zip(DATASETS, panel.dataset_titles(), strict=True))
    assert titles["mnist"] == "MNIST — 11 MB download"
    write_idx_dataset(tmp_path / "empty", n_train=20, n_test=10)  # e.g. a run downloaded it
    panel.refresh_dataset_titles()
    assert panel.dataset_titles()[list(DATASETS).index("mnist")] == "MNIST — on disk"


def test_the_data_folder_note_follows_the_dataset(panel, tmp_path):
    note = panel.findChild(QLabel, "data_dir_note")
    panel.findChild(QLineEdit, "data_dir").setText(str(tmp_path))
    choose(panel.findChild(QComboBox, "dataset"), "mnist")
    assert "downloaded" in note.text()
    choose(panel.findChild(QComboBox, "dataset"), "mnist-sample")
    assert "Not used by this dataset" in note.text()
    choose(panel.findChild(QComboBox, "dataset"), "folder")
    panel.findChild(QLineEdit, "image_folder").setText(str(tmp_path))
    image_note = panel.findChild(QLabel, "image_folder_note")
    assert "sub-folder of images per class" in image_note.text()
    assert not image_note.isHidden()


def test_every_architecture_and_dataset_is_offered_by_title(panel):
    arch = panel.findChild(QComboBox, "arch")
    dataset = panel.findChild(QComboBox, "dataset")
    assert [arch.itemData(i) for i in range(arch.count())] == list(MODELS)
    assert [arch.itemText(i) for i in range(arch.count())] == [s.title for s in MODELS.values()]
    assert [dataset.itemData(i) for i in range(dataset.count())] == list(DATASETS)
    device = panel.findChild(QComboBox, "device")
    assert device.itemData(0) == "auto"
    assert device.itemText(0).startswith("Auto (best available: ")


def test_running_locks_every_editor(panel):
    editors = [panel.findChild(QWidget, f.name) for f in config_fields()]
    panel.set_running(True)
    assert not any(editor.isEnabled() for editor in editors)
    panel.set_running(False)
    assert all(editor.isEnabled() for editor in editors)


def ini_settings(tmp_path) -> QSettings:
    return QSettings(str(tmp_path / "traindesk.ini"), QSettings.Format.IniFormat)


def test_settings_survive_a_restart_through_an_ini_file(qtbot, tmp_path):
    config = custom_config(tmp_path)
    first = SettingsPanel()
    qtbot.addWidget(first)
    first.set_config(config)
    settings = ini_settings(tmp_path)
    first.save_settings(settings)
    settings.sync()
    assert settings.value("train/lr") is not None

    second = SettingsPanel()
    qtbot.addWidget(second)
    second.restore_settings(ini_settings(tmp_path))  # a fresh reader of the same file
    assert second.config() == config


def test_junk_in_the_settings_file_falls_back_to_the_defaults(panel, tmp_path):
    settings = ini_settings(tmp_path)
    junk = {
        "arch": "gone-net",  # an architecture that no longer exists
        "dataset": "imagenet-22k",
        "epochs": "lots",
        "batch_size": "-3",
        "lr": "abc",
        "momentum": "1.5",
        "weight_decay": "nan",
        "optimizer": "lion",
        "nesterov": "maybe",
        "image_size": "3.5",
        "device": "cuda:7",
        "schedule": "",
    }
    for name, value in junk.items():
        settings.setValue(f"train/{name}", value)
    settings.setValue("train/seed", "9")  # a good value among the junk is kept
    settings.setValue("train/no_such_field", "x")
    settings.sync()

    panel.restore_settings(ini_settings(tmp_path))
    assert panel.config() == DEFAULTS.replace(seed=9)
    assert panel.is_valid()


def test_settings_that_clash_are_reset_one_by_one(panel, tmp_path):
    settings = ini_settings(tmp_path)
    for name, value in {"device": "cpu", "amp": "true", "optimizer": "sgd",
                        "momentum": "0", "nesterov": "true"}.items():
        settings.setValue(f"train/{name}", value)
    panel.restore_settings(settings)
    config = panel.config()
    assert (config.device, config.optimizer, config.momentum) == ("cpu", "sgd", 0.0)
    assert (config.amp, config.nesterov) == (DEFAULTS.amp, DEFAULTS.nesterov)
    assert panel.is_valid()


def test_a_missing_image_folder_is_kept_and_shown_after_a_restart(panel, tmp_path):
    settings = ini_settings(tmp_path)
    settings.setValue("train/dataset", "folder")
    settings.setValue("train/image_folder", str(tmp_path / "gone"))
    panel.restore_settings(settings)
    assert panel.config().image_folder == str(tmp_path / "gone")
    assert "does not exist" in error_text(panel, "image_folder")


def test_settings_from_before_the_image_folder_keep_the_photos_out_of_downloads(panel,
                                                                                tmp_path):
    settings = ini_settings(tmp_path)
    settings.setValue("train/dataset", "folder")
    settings.setValue("train/data_dir", str(tmp_path))  # the photos, as the one folder
    panel.restore_settings(settings)
    assert panel.config().image_folder == str(tmp_path)
    assert panel.config().data_dir == DEFAULTS.data_dir


def test_restoring_from_an_empty_file_gives_the_defaults(panel, tmp_path):
    panel.set_config(custom_config(tmp_path))
    panel.restore_settings(ini_settings(tmp_path))
    assert panel.config() == DEFAULTS


# The log-scale input's arithmetic, without widgets.


@pytest.mark.parametrize(
    ("value", "steps", "expected"),
    [(1e-3, 1, 2e-3), (2e-3, 1, 5e-3), (5e-3, 1, 1e-2), (1e-3, -1, 5e-4), (1e-3, 3, 1e-2),
     (1e-3, -3, 1e-4), (3e-4, 1, 5e-4), (3e-4, -1, 2e-4), (7e-3, 2, 2e-2), (0.999e-3, 1, 1e-3)],
)
def test_log_steps_follow_the_1_2_5_sequence(value, steps, expected):
    assert step_log_scale(value, steps) == expected


@pytest.mark.parametrize("value", [1e-3, 3e-4, 0.0, 5e-5, 0.1 + 0.2, 1.23456789e-4, 10.0])
def test_numbers_display_compactly_and_read_back_exactly(value):
    text = format_number(value)
    assert parse_number(text) == value
    assert len(text) <= len(repr(value))


def test_display_forms():
    assert [format_number(v) for v in (1e-3, 3e-4, 1e-5, 0.0, 10.0)] == [
        "0.001", "0.0003", "1e-5", "0", "10"]
    assert all(math.isnan(parse_number(t)) for t in ("", "abc", "1e", "inf", "nan", "1,5"))


def test_every_field_has_a_labelled_editor_with_its_help_as_tooltip(panel):
    labels = {label.buddy(): label.text() for label in panel.findChildren(QLabel)}
    for f in config_fields():
        editor = panel.findChild(QWidget, f.name)
        assert editor is not None, f.name
        assert editor.toolTip() == f.metadata["help"]
        shown = editor.text() if isinstance(editor, QCheckBox) else labels.get(editor)
        assert shown == f.metadata["label"]


def test_cpu_threads_read_auto_by_default_and_take_a_number(panel):
    box = panel._rows["threads"].editor
    assert box.text() == "auto" and panel.config().threads == 0
    box.setValue(2)
    assert box.text() == "2" and panel.config().threads == 2


def test_before_pytorch_has_loaded_auto_and_cpu_are_offered_and_a_gpu_waits(qtbot):
    panel = SettingsPanel()
    qtbot.addWidget(panel)
    device = panel.findChild(QComboBox, "device")
    assert [device.itemData(i) for i in range(device.count())] == ["auto", "cpu"]
    panel.set_config(DEFAULTS.replace(device="cuda:7"))
    assert panel.is_valid()  # not checkable yet: no red message about a device not known
    panel.set_devices([DeviceInfo("cpu", "CPU"), DeviceInfo("cuda:0", "CUDA 0: Test GPU")],
                      "cuda:0")
    assert [device.itemData(i) for i in range(device.count())] == [
        "auto", "cpu", "cuda:0", "cuda:7"]
    assert device.itemText(0) == "Auto (best available: CUDA 0: Test GPU)"
    assert panel.config().device == "cuda:7" and "cuda:7" in error_text(panel, "device")


def test_a_saved_device_this_computer_lacks_falls_back_to_auto_once_devices_are_known(
        qtbot, tmp_path):
    settings = ini_settings(tmp_path)
    settings.setValue("train/device", "cuda:7")
    settings.setValue("train/seed", "3")
    panel = SettingsPanel()
    qtbot.addWidget(panel)
    panel.restore_settings(settings)
    assert panel.config().device == "cuda:7"  # cannot be checked before PyTorch has loaded
    panel.set_devices([DeviceInfo("cpu", "CPU")], "cpu")
    assert panel.config() == DEFAULTS.replace(seed=3)
    assert panel.is_valid()


def test_the_largest_seed_round_trips_through_the_form_and_its_settings_unclamped(
        panel, qtbot, tmp_path):
    config = DEFAULTS.replace(seed=MAX_SEED)
    panel.set_config(config)
    assert panel.config() == config and isinstance(panel.config().seed, int)
    assert panel.is_valid()
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    panel.save_settings(settings)
    restored = SettingsPanel()
    qtbot.addWidget(restored)
    restored.restore_settings(settings)
    assert restored.config().seed == MAX_SEED


NUMERIC_FIELDS = [f.name for f in config_fields() if field_bounds(f.name) is not None]


def test_every_number_the_config_takes_has_its_bounds_in_one_place():
    assert [f.name for f in config_fields() if f.type in ("int", "float")] == NUMERIC_FIELDS


@pytest.mark.parametrize("name", NUMERIC_FIELDS)
def test_the_form_holds_the_values_the_config_accepts_and_no_other(panel, name):
    def accepted(value) -> bool:
        return name not in DEFAULTS.replace(**{name: value}).problems()

    def held(value) -> bool:
        """Whether the form shows `value` for `name` as it is, and takes it."""
        panel.set_config(DEFAULTS.replace(**{name: value}))
        return getattr(panel.config(), name) == value and name not in panel.problems()

    box = panel._rows[name].editor
    bounds = field_bounds(name)
    if isinstance(box, LogSpinBox):  # typed numbers are kept as typed; the form says which
        # of them the config refuses, and the arrows stay inside the bounds.
        inside = [bounds.minimum * (1 + 1e-9) + 1e-12 if bounds.above_minimum
                  else bounds.minimum,
                  bounds.maximum * (1 - 1e-9) if bounds.below_maximum else bounds.maximum]
        assert all(accepted(v) and held(v) for v in inside)
        for outside in (bounds.minimum - 1e-3 if not bounds.above_minimum else bounds.minimum,
                        bounds.maximum + 1e-3 if not bounds.below_maximum else bounds.maximum):
            panel.set_config(DEFAULTS.replace(**{name: outside}))
            assert getattr(panel.config(), name) == outside and name in panel.problems()
    else:
        whole = is_whole(name)
        last_digit = 1 if whole else 10.0**-box.decimals()
        low, high = ((int(v) if whole else v) for v in (box.minimum(), box.maximum()))
        assert accepted(low) and held(low), f"{name}: the form's lowest, {low}"
        assert accepted(high) and held(high), f"{name}: the form's highest, {high}"
        for beyond in (low - last_digit, high + last_digit):
            beyond = round(beyond, 0 if whole else box.decimals())
            assert not accepted(beyond), f"{name}: the config takes {beyond}; the form cannot"
    for steps in (10_000, -20_000):  # the arrows, to each end
        panel.set_config(DEFAULTS)
        box.stepBy(steps)
        assert accepted(getattr(panel.config(), name)), f"{name} stepped to {steps:+}"
