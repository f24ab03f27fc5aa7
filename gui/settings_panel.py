"""The training settings form, built from `TrainConfig`'s fields.

Every field becomes a labelled editor (label, tooltip and, for a number, its range from the
field's metadata: gui/settings_editors.py). Every edit re-checks the whole config with
`TrainConfig.problems()` and shows each message in red under the field it is about, so the
Train button can stay off until the settings make sense.

The form needs no PyTorch (names and descriptions come from `engine.catalog`), so it is
usable while PyTorch loads; only the list of devices waits for it (`set_devices`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSettings, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from engine.catalog import ARCHITECTURES, DATASET_INFO, OPTIMIZER_TITLES, is_pretrained
from engine.config import BACKBONE_LR_FACTOR, TrainConfig, config_fields, folders_apart
from gui.contrast import make_secondary
from gui.lr_input import LogSpinBox
from gui.settings_editors import (
    combo_box,
    connect_editor,
    folder_row,
    generic_editor,
    select,
    show_note,
    small_label,
)
from gui.settings_notes import dataset_title, field_label, field_notes
from gui.settings_store import save_config, saved_config

if TYPE_CHECKING:
    from engine.runtime.devices import DeviceInfo

# Fields missing here (added to TrainConfig later) still get an editor, in an "Other" box.
FIELD_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Model && data", ("arch", "fine_tune", "dataset", "data_dir", "image_folder", "image_size",
                       "val_split")),
    ("Optimisation", ("optimizer", "lr", "schedule", "momentum", "nesterov", "epochs",
                      "batch_size")),
    ("Regularisation && augmentation", ("weight_decay", "label_smoothing", "augment")),
    ("Run", ("device", "threads", "amp", "seed", "seeds")),
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
FIELD_SUFFIXES = {"image_size": " px"}


@dataclass
class _Row:
    """One field's editor, how to read and write it, and the texts shown under it."""

    editor: QWidget
    get: Callable[[], Any]
    set: Callable[[Any], None]
    note: QLabel  # grey explanation that depends on other fields (hidden when empty)
    error: QLabel  # red problem message (hidden when the field is fine)


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
            select(combo, chosen)
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
        label.setText("More epochs" if continuing else field_label("epochs"))
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
        save_config(settings, self.config())

    def restore_settings(self, settings: QSettings) -> None:
        """Load saved settings (gui/settings_store.py says how anything unusable is left
        out); a device from there that this computer lacks falls back to auto later."""
        self.set_config(saved_config(settings, self._checkable))
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
        note, error = small_label(), small_label()
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
        """(the editor, what goes in the form, getter, setter) for one field: a titled list
        for the fields that have one, else an editor from the field's metadata."""
        titled = {
            "arch": lambda: [(info.title, name) for name, info in ARCHITECTURES.items()],
            "dataset": lambda: [(info.title, name) for name, info in DATASET_INFO.items()],
            # Auto and the CPU until PyTorch has said which GPUs there are (set_devices).
            "device": lambda: [("Auto (looking for GPUs…)", "auto"), ("CPU", "cpu")],
            "optimizer": lambda: [(OPTIMIZER_TITLES.get(c, c), c) for c in f.metadata["choices"]],
            "fine_tune": lambda: [(FINE_TUNE_TITLES.get(c, c), c) for c in f.metadata["choices"]],
            "schedule": lambda: [(SCHEDULE_TITLES.get(c, c), c) for c in f.metadata["choices"]],
        }
        editor = combo_box(titled[f.name]()) if f.name in titled else generic_editor(f)
        if f.name in FIELD_SUFFIXES:
            editor.setSuffix(FIELD_SUFFIXES[f.name])
        get, set_ = connect_editor(editor, self._on_edit)
        if f.name in FOLDER_DIALOG_TITLES:
            return editor, folder_row(editor, FOLDER_DIALOG_TITLES[f.name], self._on_edit), \
                get, set_
        return editor, editor, get, set_

    # Reacting to edits.

    def _on_edit(self, *_args: object) -> None:
        if self._updating:
            return
        config = self.config()
        problems = self.problems()
        for name, row in self._rows.items():
            show_note(row.error, problems.get(name, ""))
        self._update_notes(config, problems)
        self._title_datasets(config.data_dir)
        self.config_changed.emit(config)
        valid = not problems
        if valid != self._valid:
            self._valid = valid
            self.validity_changed.emit(valid)

    def _update_notes(self, config: TrainConfig, problems: dict[str, str]) -> None:
        """Grey explanations under the fields; a field's problem replaces its note."""
        notes = field_notes(config, self._epochs_done, self._continuing)
        for name, row in self._rows.items():
            show_note(row.note, "" if name in problems else notes.get(name, ""))
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
                combo.setItemText(index, dataset_title(info.title, info.download_size,
                                                        self._on_disk(name, data_dir)))
