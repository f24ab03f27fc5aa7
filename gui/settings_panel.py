"""The training settings form, built from `TrainConfig`'s fields.

Every field becomes a labelled editor (label and tooltip from the field's metadata). Every
edit re-checks the whole config with `TrainConfig.problems()` and shows each message in red
under the field it is about, so the Train button can stay off until the settings make sense.

The form needs no PyTorch (names and descriptions come from `engine.catalog`), so it is
usable while PyTorch loads; only the list of devices waits for it (`set_devices`).
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSettings, Signal
from PySide6.QtGui import QFont, QResizeEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from engine.catalog import ARCHITECTURES, DATASET_INFO, OPTIMIZER_TITLES, is_pretrained
from engine.config import (
    BACKBONE_LR_FACTOR,
    MAX_THREADS,
    TrainConfig,
    config_fields,
    folders_apart,
)
from engine.text import plural
from gui.contrast import make_secondary
from gui.lr_input import LogSpinBox

if TYPE_CHECKING:
    from engine.runtime.devices import DeviceInfo

SETTINGS_GROUP = "train"

# Fields missing here (added to TrainConfig later) still get an editor, in an "Other" box.
FIELD_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Model && data", ("arch", "fine_tune", "dataset", "data_dir", "image_folder", "image_size",
                       "val_split")),
    ("Optimisation", ("optimizer", "lr", "schedule", "momentum", "nesterov", "epochs",
                      "batch_size")),
    ("Regularisation && augmentation", ("weight_decay", "label_smoothing", "augment")),
    ("Run", ("device", "threads", "amp", "seed")),
)

SCHEDULE_TITLES = {
    "none": "Constant",
    "step": "Step (÷10 every third of the run)",
    "cosine": "Cosine annealing",
    "onecycle": "One-cycle",
}
FINE_TUNE_TITLES = {
    "head": "Only the new last layer",
    "all": f"All layers, pretrained at lr ÷ {1 / BACKBONE_LR_FACTOR:g}",
}
ERROR_COLOR = "#b71c1c"  # AA (>= 4.5:1) on the window background
IMAGE_FOLDER_NEEDED = "Choose the folder that holds one sub-folder of images per class."
FOLDER_DIALOG_TITLES = {"data_dir": "Choose the data folder (for the built-in datasets)",
                        "image_folder": "Choose the folder of your images"}
ALWAYS_AVAILABLE_DEVICES = ("auto", "cpu")  # known without asking PyTorch
COMBO_MIN_CHARACTERS = 12


@dataclass
class _Row:
    """One field's editor, how to read and write it, and the texts shown under it."""

    editor: QWidget
    get: Callable[[], Any]
    set: Callable[[Any], None]
    note: QLabel  # grey explanation that depends on other fields (hidden when empty)
    error: QLabel  # red problem message (hidden when the field is fine)


class ImageSizeSpinBox(QSpinBox):
    """0 shows as "auto"; the arrows skip 1..7, which no architecture accepts."""

    def __init__(self, minimum_size: int = 8, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._minimum_size = minimum_size
        self.setRange(0, 512)
        self.setSpecialValueText("auto")
        self.setSuffix(" px")

    def stepBy(self, steps: int) -> None:  # noqa: N802 (Qt's name)
        if steps > 0 and self.value() < self._minimum_size:
            self.setValue(self._minimum_size + steps - 1)
        elif steps < 0 and self.value() + steps < self._minimum_size:
            self.setValue(0)
        else:
            super().stepBy(steps)


class SettingsPanel(QWidget):
    config_changed = Signal(object)  # TrainConfig, on every edit
    validity_changed = Signal(bool)  # only when validity flips

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._defaults = TrainConfig()
        self._rows: dict[str, _Row] = {}
        self._groups: list[QGroupBox] = []
        self._group_fields: dict[QGroupBox, list[str]] = {}
        self._row_widgets: dict[str, tuple[QLabel, QWidget]] = {}  # each field's label, editor
        self._forms: dict[str, QFormLayout] = {}  # the form each field's row is in
        self._labels: list[QLabel] = []
        self._updating = False
        self._devices_known = False  # until set_devices: only auto and cpu are offered
        self._device_from_settings = False  # the device shown was restored, not chosen
        self._valid: bool | None = None  # set by the first refresh below
        # Whether a built-in dataset is on disk already (engine.data.on_disk), once known.
        self._on_disk: Callable[[str, str], bool | None] | None = None
        self._titled_for: str | None = None  # the data folder the dataset titles are for
        # Epochs done by the checkpoint on screen (None: none), and whether a run is now
        # continuing it: Epochs then counts the epochs to train after those.
        self._epochs_done: int | None = None
        self._continuing = False
        self._build()
        self.set_config(self._defaults)

    # Public API.

    def config(self) -> TrainConfig:
        """The settings as the widgets hold them; may be invalid (see `problems()`)."""
        return TrainConfig(**{name: row.get() for name, row in self._rows.items()})

    def set_config(self, config: TrainConfig) -> None:
        """Show `config`; one from before the image folder existed (its own images read from
        its data folder) gets that folder as its image folder, and keeps this form's data
        folder for the built-in datasets."""
        config = folders_apart(config, self._rows["data_dir"].get() if self._rows else
                               TrainConfig().data_dir)
        self._device_from_settings = False
        self._updating = True
        try:
            for name, row in self._rows.items():
                row.set(getattr(config, name))
        finally:
            self._updating = False
        self._on_edit()

    def problems(self) -> dict[str, str]:
        """Each invalid field mapped to the sentence shown under it."""
        config = self.config()
        found = self._checkable(config).problems()
        if config.dataset == "folder" and not config.image_folder.strip():
            # The form never reads images from the data folder (an older config's way).
            found.pop("data_dir", None)
            found["image_folder"] = IMAGE_FOLDER_NEEDED
        for name in ("lr", "weight_decay"):
            box = self._rows[name].editor
            if isinstance(box, LogSpinBox) and not box.is_number():
                found[name] = (
                    f"'{box.text()}' is not a number. Type one such as 0.001 or 1e-3."
                    if box.text().strip()
                    else "Type a number such as 0.001 or 1e-3."
                )
        return found

    def is_valid(self) -> bool:
        return not self.problems()

    def _checkable(self, config: TrainConfig) -> TrainConfig:
        """`config` as far as it can be checked now: checking a GPU choice needs PyTorch,
        so until `set_devices` it is checked as auto (and again once the devices are known)."""
        if not self._devices_known and config.device not in ALWAYS_AVAILABLE_DEVICES:
            return config.replace(device="auto")
        return config

    def set_devices(self, devices: Sequence[DeviceInfo], best: str) -> None:
        """Offer this computer's devices (known once PyTorch has loaded); `best` is the id
        "auto" resolves to. A device restored from the settings file that this computer
        lacks falls back to auto; one chosen otherwise (a checkpoint's) stays, explained."""
        combo = self._rows["device"].editor
        assert isinstance(combo, QComboBox)
        chosen = combo.currentData()
        best_label = next((d.label for d in devices if d.id == best), best)
        self._updating = True
        try:
            combo.clear()
            for text, value in [(f"Auto (best available: {best_label})", "auto"),
                                *((d.label, d.id) for d in devices)]:
                combo.addItem(text, value)
            ids = {d.id for d in devices}
            if self._device_from_settings and chosen not in ids and chosen != "auto":
                chosen = "auto"
            _select(combo, chosen)
        finally:
            self._updating = False
        self._devices_known = True
        self._on_edit()

    def set_on_disk_check(self, on_disk: Callable[[str, str], bool | None]) -> None:
        """Say in the dataset list which datasets are on this computer already and which
        would be downloaded: `on_disk(dataset, data_folder)` (engine.data.on_disk, a few file
        checks) is asked again whenever the data folder changes."""
        self._on_disk = on_disk
        self.refresh_dataset_titles()

    def refresh_dataset_titles(self) -> None:
        """Ask again which datasets are on disk (one may have just been downloaded)."""
        self._titled_for = None
        self._title_datasets(self._rows["data_dir"].get())

    def dataset_titles(self) -> list[str]:
        """The dataset list's entries as shown."""
        combo = self._rows["dataset"].editor
        return [combo.itemText(i) for i in range(combo.count())]

    def set_running(self, running: bool, changeable: Collection[str] = ()) -> None:
        """Lock the form while a run uses these settings, all but the `changeable` fields
        (those a paused run can take, engine/training/changes.py)."""
        for group in self._groups:
            group.setEnabled(not running or any(name in changeable
                                                for name in self._group_fields[group]))
        for name, widgets in self._row_widgets.items():
            for widget in widgets:
                widget.setEnabled(not running or name in changeable)

    def show_continuation(self, epochs_done: int | None, continuing: bool = False) -> None:
        """Say what Epochs means for the checkpoint on screen (`epochs_done` epochs, None:
        no checkpoint): a new run's epochs for Train, the epochs to add for Continue from
        checkpoint; while `continuing`, the field is labelled "More epochs"."""
        continuing = continuing and epochs_done is not None
        if (epochs_done, continuing) == (self._epochs_done, self._continuing):
            return
        self._epochs_done, self._continuing = epochs_done, continuing
        label = self._row_widgets["epochs"][0]
        label.setText("More epochs" if continuing else _field_label("epochs"))
        self._update_notes(self.config(), self.problems())

    def label_text(self, name: str) -> str:
        """The label of field `name` as shown."""
        return self._row_widgets[name][0].text()

    def add_beside(self, name: str, widget: QWidget) -> None:
        """Put `widget` (a button that helps fill the field) right of field `name`'s editor;
        it is locked and unlocked with the field."""
        column = self._row_widgets[name][1]
        editor_widget = column.layout().itemAt(0).widget()
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        column.layout().replaceWidget(editor_widget, row)
        layout.addWidget(editor_widget, 1)
        layout.addWidget(widget)

    def unlocked_fields(self) -> list[str]:
        """The fields a person can edit now (all of them unless a run holds the form)."""
        return [name for name, (_label, column) in self._row_widgets.items()
                if column.isEnabledTo(self)]

    def save_settings(self, settings: QSettings) -> None:
        for name, value in self.config().to_dict().items():
            settings.setValue(f"{SETTINGS_GROUP}/{name}", value)

    def restore_settings(self, settings: QSettings) -> None:
        """Load saved settings; anything unreadable, unknown or invalid gets its default.

        The data folder is the exception: a missing folder stays, with its message, so the
        person sees which folder went missing rather than a silently different one.
        """
        values = {}
        for f in config_fields():
            default = getattr(self._defaults, f.name)
            raw = settings.value(f"{SETTINGS_GROUP}/{f.name}")
            values[f.name] = default if raw is None else _coerce(raw, default)
        config = TrainConfig(**values)
        for _ in range(len(values)):  # fixing one field can expose another (amp vs device)
            bad = {
                name: getattr(self._defaults, name)
                for name in self._checkable(config).problems()
                if name not in ("data_dir", "image_folder")
                and getattr(config, name) != getattr(self._defaults, name)
            }
            if not bad:
                break
            config = config.replace(**bad)
        self.set_config(config)
        self._device_from_settings = True

    # Building the form.

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        fields = {f.name: f for f in config_fields()}
        grouped = [name for _, names in FIELD_GROUPS for name in names]
        groups = [(title, [n for n in names if n in fields]) for title, names in FIELD_GROUPS]
        groups.append(("Other", [n for n in fields if n not in grouped]))
        for title, names in groups:
            if not names:
                continue
            box = QGroupBox(title)
            form = QFormLayout(box)
            form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
            for name in names:
                self._add_row(form, fields[name])
            layout.addWidget(box)
            self._groups.append(box)
            self._group_fields[box] = names
        layout.addStretch(1)
        # One label width for every box, so the editors line up down the whole form.
        width = max(label.sizeHint().width() for label in self._labels)
        for label in self._labels:
            label.setMinimumWidth(width)

    def _add_row(self, form: QFormLayout, f: dataclasses.Field) -> None:
        label_text = f.metadata.get("label", f.name)
        help_text = f.metadata.get("help", "")
        editor, field_widget, get, set_ = self._make_editor(f)
        note, error = _small_label(), _small_label()
        make_secondary(note)
        error.setStyleSheet(f"color: {ERROR_COLOR}")
        column = QWidget()
        column_layout = QVBoxLayout(column)
        column_layout.setContentsMargins(0, 0, 0, 0)
        column_layout.setSpacing(2)
        for widget in (field_widget, note, error):
            column_layout.addWidget(widget)
        editor.setToolTip(help_text)
        # Names let tests and the main window find a field's widgets: "lr", "lr_error".
        editor.setObjectName(f.name)
        note.setObjectName(f"{f.name}_note")
        error.setObjectName(f"{f.name}_error")
        label = QLabel()
        if isinstance(editor, QCheckBox):
            editor.setText(label_text)  # the box's own text, so clicking it toggles
        else:
            label.setText(label_text)
            label.setToolTip(help_text)
            label.setBuddy(editor)
        form.addRow(label, column)
        self._forms[f.name] = form
        self._labels.append(label)
        self._row_widgets[f.name] = (label, column)
        self._rows[f.name] = _Row(editor, get, set_, note, error)

    def _make_editor(
        self, f: dataclasses.Field
    ) -> tuple[QWidget, QWidget, Callable[[], Any], Callable[[Any], None]]:
        """(the editor, what goes in the form, getter, setter) for one field."""
        special = {
            "arch": lambda: _combo([(info.title, name) for name, info in ARCHITECTURES.items()]),
            "dataset": lambda: _combo(
                [(info.title, name) for name, info in DATASET_INFO.items()]),
            "device": _device_combo,
            "optimizer": lambda: _combo(
                [(OPTIMIZER_TITLES.get(c, c), c) for c in f.metadata["choices"]]
            ),
            "fine_tune": lambda: _combo(
                [(FINE_TUNE_TITLES.get(c, c), c) for c in f.metadata["choices"]]
            ),
            "schedule": lambda: _combo(
                [(SCHEDULE_TITLES.get(c, c), c) for c in f.metadata["choices"]]
            ),
            "lr": lambda: LogSpinBox(minimum=1e-6, maximum=10.0),
            "weight_decay": lambda: LogSpinBox(minimum=1e-6, maximum=0.5, allow_zero=True),
            "image_size": ImageSizeSpinBox,
            "epochs": lambda: _int_box(1, 10_000),
            "batch_size": lambda: _int_box(1, 65_536),
            "seed": lambda: _int_box(0, 2**31 - 1),
            "threads": lambda: _int_box(0, MAX_THREADS, zero_text="auto"),
            "momentum": lambda: _float_box(0.0, 0.9999, step=0.01, decimals=4),
            "label_smoothing": lambda: _float_box(0.0, 0.99, step=0.05, decimals=3),
            "val_split": lambda: _float_box(0.0, 0.5, step=0.05, decimals=3, zero_text="none"),
        }
        editor = special[f.name]() if f.name in special else _generic_editor(f)
        get, set_ = self._connect(editor)
        if f.name in FOLDER_DIALOG_TITLES:
            return editor, self._with_browse_button(editor, f.name), get, set_
        return editor, editor, get, set_

    def _connect(self, editor: QWidget) -> tuple[Callable[[], Any], Callable[[Any], None]]:
        if isinstance(editor, QComboBox):
            editor.currentIndexChanged.connect(self._on_edit)
            return editor.currentData, lambda value: _select(editor, value)
        if isinstance(editor, QCheckBox):
            editor.toggled.connect(self._on_edit)
            return editor.isChecked, lambda value: editor.setChecked(bool(value))
        if isinstance(editor, LogSpinBox):
            editor.textChanged.connect(self._on_edit)
            return editor.value, editor.setValue
        if isinstance(editor, (QSpinBox, QDoubleSpinBox)):
            editor.valueChanged.connect(self._on_edit)
            return editor.value, editor.setValue
        assert isinstance(editor, QLineEdit)
        editor.textChanged.connect(self._on_edit)
        return editor.text, lambda value: editor.setText(str(value))

    def _with_browse_button(self, line_edit: QLineEdit, name: str) -> QWidget:
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(line_edit, 1)
        browse = QPushButton("Browse…")
        browse.clicked.connect(lambda: self._browse_for_folder(line_edit, name))
        layout.addWidget(browse)
        return row

    def _browse_for_folder(self, line_edit: QLineEdit, name: str) -> None:
        start = os.path.expanduser(line_edit.text())  # Qt does not expand "~"
        folder = QFileDialog.getExistingDirectory(self, FOLDER_DIALOG_TITLES[name], start)
        if folder == line_edit.text():
            self._on_edit()  # same text, but the folder may have just been made: re-check
        elif folder:
            line_edit.setText(folder)

    # Reacting to edits.

    def _on_edit(self, *_args: object) -> None:
        if self._updating:
            return
        config = self.config()
        problems = self.problems()
        for name, row in self._rows.items():
            _show(row.error, problems.get(name, ""))
        self._update_notes(config, problems)
        self._title_datasets(config.data_dir)
        self.config_changed.emit(config)
        valid = not problems
        if valid != self._valid:
            self._valid = valid
            self.validity_changed.emit(valid)

    def _update_notes(self, config: TrainConfig, problems: dict[str, str]) -> None:
        """Grey explanations under the fields; a field's problem replaces its note."""
        notes = {
            "arch": _arch_note(config.arch),
            "dataset": getattr(DATASET_INFO.get(config.dataset), "description", ""),
            "data_dir": _data_dir_note(config.dataset),
            "image_folder": "The folder that holds one sub-folder of images per class.",
            "image_size": _image_size_note(config.arch, config.image_size),
            "epochs": _epochs_note(config.epochs, self._epochs_done, self._continuing),
            "fine_tune": _fine_tune_note(config.fine_tune, config.lr),
            "momentum": (
                "SGD momentum."
                if config.optimizer == "sgd"
                else "Used as beta1, the decay of the gradient's running mean."
            ),
            "nesterov": (
                "Looks ahead along the momentum before taking the gradient."
                if config.optimizer == "sgd"
                else "SGD only: Adam and AdamW ignore it."
            ),
        }
        for name, row in self._rows.items():
            _show(row.note, "" if name in problems else notes.get(name, ""))
        # Only pretrained networks have pretrained layers to freeze or fine-tune; your own
        # images come from the image folder, every other dataset from the data folder.
        for name, shown in (("fine_tune", is_pretrained(config.arch)),
                            ("image_folder", config.dataset == "folder"),
                            ("data_dir", config.dataset != "folder")):
            if name in self._forms:
                self._forms[name].setRowVisible(self._row_widgets[name][0], shown)

    def _title_datasets(self, data_dir: str) -> None:
        """Name each built-in dataset in the list with where it stands: on disk, or the
        download it would take (once the check is known; again when the folder changes)."""
        if self._on_disk is None or data_dir == self._titled_for:
            return
        self._titled_for = data_dir
        combo = self._rows["dataset"].editor
        for index in range(combo.count()):
            name = combo.itemData(index)
            info = DATASET_INFO.get(name)
            if info is not None:
                combo.setItemText(index, _dataset_title(info.title, info.download_size,
                                                        self._on_disk(name, data_dir)))


def _arch_note(arch: str) -> str:
    spec = ARCHITECTURES.get(arch)
    if spec is None:
        return ""
    size = spec.input_size
    if size is None:
        return f"{spec.description} Uses the dataset's own image size."
    if f"{size}x{size}" in spec.description:  # most descriptions already end "; 32x32."
        return spec.description
    return f"{spec.description} Expects {size}×{size} input."


def _fine_tune_note(mode: str, lr: Any) -> str:
    if mode == "all":
        rates = ""
        if isinstance(lr, (int, float)) and lr > 0:
            rates = f": the new last layer at {lr:.3g}, the pretrained ones at " \
                    f"{lr * BACKBONE_LR_FACTOR:.3g}"
        return (f"Every layer trains{rates}. The lower rate keeps the first steps of the new "
                "layer from undoing what ImageNet taught.")
    return ("The pretrained layers stay as ImageNet left them (their batch norm keeps its "
            "statistics); only the new last layer learns. Fast, and a good start for a few "
            "hundred images.")


def _data_dir_note(dataset: str) -> str:
    spec = DATASET_INFO.get(dataset)
    if spec is not None and not spec.downloads:
        return "Not used by this dataset: it ships with TrainDesk."
    return "Where the built-in datasets are looked for and downloaded to."


def _dataset_title(title: str, download_size: str, on_disk: bool | None) -> str:
    """"MNIST — on disk", "CIFAR-10 — 163 MB download"; the title alone where nothing is
    downloaded (bundled, your own images)."""
    if on_disk is None:
        return title
    return f"{title} — on disk" if on_disk else f"{title} — {download_size} download"


def _field_label(name: str) -> str:
    return next(f.metadata.get("label", name) for f in config_fields() if f.name == name)


def _epochs_note(epochs: Any, done: int | None, continuing: bool) -> str:
    """What Epochs means when a checkpoint is on screen: continuing adds that many."""
    if done is None or not isinstance(epochs, int):
        return ""
    span = f"epochs {done + 1}–{done + epochs}" if epochs > 1 else f"epoch {done + 1}"
    if continuing:
        return f"This run trains {span}, after the checkpoint's {plural(done, 'epoch')}."
    return (f"Train: a new run of {plural(epochs, 'epoch')}. Continue from checkpoint: "
            f"{epochs} more ({span}).")


def _image_size_note(arch: str, image_size: Any) -> str:
    if image_size:
        return f"Images are resized to {image_size}×{image_size}."
    spec = ARCHITECTURES.get(arch)
    if spec is not None and spec.input_size:
        return f"auto: {spec.input_size}×{spec.input_size}, what {spec.title} expects."
    return "auto: the dataset's own size."


class _NoteLabel(QLabel):
    """A word-wrapped note at least as tall as its text needs at the width it has.

    A QFormLayout in a QGroupBox sizes each row for a field a few pixels wider than the one
    it then gets, so a note whose text wraps just there lost its last line (a dataset's
    description, depending on the one chosen before).
    """

    def setText(self, text: str) -> None:  # noqa: N802 - Qt's name
        super().setText(text)
        self._fit()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        height = self.heightForWidth(self.width()) if self.text() and self.width() > 0 else 0
        if height != self.minimumHeight():
            self.setMinimumHeight(max(height, 0))


def _small_label() -> QLabel:
    label = _NoteLabel()
    label.setWordWrap(True)
    font = QFont(label.font())
    font.setPointSizeF(font.pointSizeF() * 0.9)
    label.setFont(font)
    label.hide()
    return label


def _show(label: QLabel, text: str) -> None:
    label.setText(text)
    label.setVisible(bool(text))


def _combo(items: list[tuple[str, str]]) -> QComboBox:
    """A combo box as narrow as a short choice: a long one is elided in the box (whole in
    its list), so the form fits a 1024-pixel-wide screen."""
    combo = QComboBox()
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(COMBO_MIN_CHARACTERS)
    for text, value in items:
        combo.addItem(text, value)
    return combo


def _device_combo() -> QComboBox:
    """Auto and the CPU until PyTorch has said which GPUs there are (`set_devices`)."""
    return _combo([("Auto (looking for GPUs…)", "auto"), ("CPU", "cpu")])


def _select(combo: QComboBox, value: Any) -> None:
    """Select `value`; one the list lacks is added, marked, so validation can name it."""
    index = combo.findData(value)
    if index < 0:
        combo.addItem(f"{value} (not available)", value)
        index = combo.count() - 1
    combo.setCurrentIndex(index)


def _int_box(minimum: int, maximum: int, zero_text: str = "") -> QSpinBox:
    box = QSpinBox()
    box.setRange(minimum, maximum)
    box.setSpecialValueText(zero_text)  # shown at the minimum; "" shows the number
    return box


class CompactDoubleSpinBox(QDoubleSpinBox):
    """Shows 0.9 rather than 0.9000: the decimals only bound what can be typed."""

    def textFromValue(self, value: float) -> str:  # noqa: N802 (Qt's name)
        text = f"{value:.{self.decimals()}f}"
        return text.rstrip("0").rstrip(".") if "." in text else text


def _float_box(
    minimum: float, maximum: float, step: float, decimals: int, zero_text: str = ""
) -> QDoubleSpinBox:
    box = CompactDoubleSpinBox()
    box.setDecimals(decimals)
    box.setRange(minimum, maximum)
    box.setSingleStep(step)
    box.setSpecialValueText(zero_text)  # shown at the minimum; "" shows the number
    return box


def _generic_editor(f: dataclasses.Field) -> QWidget:
    """An editor for a field this form has no special widget for, chosen by its type."""
    default = f.default
    if f.metadata.get("choices"):
        return _combo([(c, c) for c in f.metadata["choices"]])
    if isinstance(default, bool):
        return QCheckBox()
    if isinstance(default, int):
        return _int_box(-(2**31), 2**31 - 1)
    if isinstance(default, float):
        return _float_box(-1e9, 1e9, step=0.1, decimals=6)
    return QLineEdit()


def _coerce(raw: Any, default: Any) -> Any:
    """A stored QSettings value converted to `default`'s type, or `default` if it cannot be.

    INI files give back strings ("5", "true"), so each type is parsed from text as well.
    """
    text = str(raw).strip()
    if isinstance(default, bool):
        if isinstance(raw, bool):
            return raw
        return {"true": True, "1": True, "false": False, "0": False}.get(text.lower(), default)
    if isinstance(default, int):
        try:
            return int(text)
        except ValueError:
            return default
    if isinstance(default, float):
        try:
            value = float(text)
        except ValueError:
            return default
        return value if math.isfinite(value) else default
    return raw if isinstance(raw, str) else default
