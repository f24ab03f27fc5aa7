"""The Sweep tab's form: which settings a sweep searches, over what, and how.

Its rows come from TrainConfig's field metadata (engine/config.py): each numeric setting
with bounds (low, high, log scale) and each setting with a fixed set of choices (tick the
ones to try). The settings not searched keep the settings form's values (the sweep's base).
Below: trials, sampler, pruning and seeds per trial. `space()` gives the ticked rows as
SearchDim dicts (sweep.json's form); `problems()` says in words what stops a start.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from engine.catalog import ARCHITECTURES
from engine.config import TrainConfig, config_fields, field_bounds, is_whole
from engine.experiments.search_space import searchable_fields
from gui.sweep_axes import setting_label, value_text

# Settings the form does not offer: the seed (that is what seeds per trial are for), how
# and where to train (threads, device, folders) and the dataset (accuracies on different
# datasets do not compare). The command line's --search takes the seed and threads too.
NOT_SEARCHED = ("seed", "threads", "seeds", "dataset", "data_dir", "image_folder", "device")
CHOICES_PER_LINE = 4  # longer lists of choices scroll
LONG_LIST_HEIGHT = 76  # pixels: three lines
EDIT_WIDTH = 84  # pixels: "0.0001" and "65536" fit
SAMPLERS = (("tpe", "TPE (learns from the trials so far)"), ("random", "Random"),
            ("grid", "Grid (every combination)"))


@dataclass(frozen=True)
class Candidate:
    """A setting the form offers: numeric (with its bounds) or with choices (values: the
    setting's own, such as True and False for an on/off setting)."""

    name: str
    choices: tuple[Any, ...] = ()

    @property
    def numeric(self) -> bool:
        return not self.choices


def candidates() -> list[Candidate]:
    """The settings the form offers, in the settings form's order: those a sweep can
    search (engine/experiments/search_space.py says which) less NOT_SEARCHED."""
    searchable = set(searchable_fields())
    found = []
    for f in config_fields():
        if f.name in NOT_SEARCHED or f.name not in searchable:
            continue
        if field_bounds(f.name) is not None:
            found.append(Candidate(f.name))
        elif f.name == "arch":
            found.append(Candidate(f.name, tuple(ARCHITECTURES)))
        elif f.metadata.get("choices"):
            found.append(Candidate(f.name, tuple(f.metadata["choices"])))
        elif f.type in ("bool", bool):
            found.append(Candidate(f.name, (False, True)))
    return found


def default_range(name: str, current: float) -> tuple[float, float, bool]:
    """A first range to search around the current value: a decade each way on a log
    scale, halved and doubled for whole numbers, else the setting's whole range."""
    bounds = field_bounds(name)
    low, high = float(bounds.minimum), float(bounds.maximum)
    if bounds.log_scale:
        centre = current if current > 0 else 1e-4
        return max(low, centre / 10) or bounds.step, min(high, centre * 10), True
    if is_whole(name):
        centre = max(current, low, 1)  # image size's 0 (auto): from its smallest size
        return max(low, centre // 2), min(high, centre * 2), False
    return low, high * 0.9 if bounds.below_maximum else high, False


class _SettingRow:
    """One setting's widgets in the grid: the tick, then low/high/log or the choices."""

    def __init__(self, candidate: Candidate, grid: QGridLayout, row: int,
                 changed: Signal) -> None:
        self.candidate = candidate
        self.use = QCheckBox(setting_label(candidate.name))
        self.use.setToolTip(f"Search {setting_label(candidate.name).lower()} (unticked: the "
                            "settings form's value for every trial)")
        grid.addWidget(self.use, row, 0)
        self.low = self.high = None
        self.log = None
        self.choices: dict[str, QCheckBox] = {}
        if candidate.numeric:
            self.low, self.high = QLineEdit(), QLineEdit()
            for edit in (self.low, self.high):
                edit.setMaximumWidth(EDIT_WIDTH)
            self.log = QCheckBox("log")
            self.log.setToolTip("Sample on a log scale (each decade as likely)")
            for column, widget in enumerate((self.low, self.high, self.log), start=1):
                grid.addWidget(widget, row, column)
                self._connect(widget, changed)
        else:
            long_list = len(candidate.choices) > CHOICES_PER_LINE
            holder = QWidget()
            box = QVBoxLayout(holder) if long_list else QHBoxLayout(holder)
            box.setContentsMargins(0, 0, 0, 0)
            box.setSpacing(1 if long_list else 8)
            for i, choice in enumerate(candidate.choices):
                tick = self.choices[choice] = QCheckBox(value_text(choice))
                # Every choice of a short list; of the networks, the first two (a sweep
                # over every network would take long).
                tick.setChecked(not long_list or i < 2)
                self._connect(tick, changed)
                box.addWidget(tick)
            box.addStretch(1)
            if long_list:  # the networks: a short list that scrolls, not a wide block
                scroll = QScrollArea()
                scroll.setWidget(holder)
                scroll.setMaximumHeight(LONG_LIST_HEIGHT)
                holder = scroll
            grid.addWidget(holder, row, 1, 1, 3)
        self._connect(self.use, changed)
        self.use.toggled.connect(self._enable)
        self._enable(False)

    @staticmethod
    def _connect(widget: QWidget, changed: Signal) -> None:
        signal = widget.textChanged if isinstance(widget, QLineEdit) else widget.toggled
        signal.connect(lambda *_: changed.emit())

    def _enable(self, on: bool) -> None:
        for widget in (self.low, self.high, self.log, *self.choices.values()):
            if widget is not None:
                widget.setEnabled(on)

    def set_around(self, config: TrainConfig) -> None:
        """A first range around config's value (numeric rows not yet ticked)."""
        if self.candidate.numeric and not self.use.isChecked():
            low, high, log = default_range(self.candidate.name,
                                           float(getattr(config, self.candidate.name)))
            self.low.setText(value_text(int(low) if is_whole(self.candidate.name) else low))
            self.high.setText(value_text(int(high) if is_whole(self.candidate.name) else high))
            self.log.setChecked(log)

    def dim(self) -> dict:
        name = self.candidate.name
        if not self.candidate.numeric:
            return {"field": name, "kind": "choice", "low": None, "high": None, "log": False,
                    "choices": [c for c, tick in self.choices.items() if tick.isChecked()]}
        whole = is_whole(name)
        return {"field": name, "kind": "int" if whole else "float",
                "low": _number(self.low.text(), whole), "high": _number(self.high.text(), whole),
                "log": self.log.isChecked(), "choices": None}

    def problem(self) -> str | None:
        """Why this ticked row cannot be searched, in words; None when it can."""
        dim, label = self.dim(), setting_label(self.candidate.name)
        if dim["kind"] == "choice":
            return None if len(dim["choices"]) >= 2 else f"{label}: tick two choices or more."
        low, high = dim["low"], dim["high"]
        if low is None or high is None:
            return f"{label}: type a number in both low and high."
        if not low < high:
            return f"{label}: low must be below high."
        bounds = field_bounds(self.candidate.name)
        whole = is_whole(self.candidate.name)
        if not (bounds.admits(low, whole) and bounds.admits(high, whole)):
            return f"{label}: both ends must be {bounds.words(whole)}."
        if dim["log"] and low <= 0:
            return f"{label}: a log scale needs a low above 0."
        return None


def _number(text: str, whole: bool) -> int | float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    if not math.isfinite(value):
        return None
    if whole:
        return int(value) if value == int(value) else None
    return value


class SpaceForm(QWidget):
    """The search space and the sweep's own settings; `changed` on every edit."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        grid = QGridLayout()
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(2)
        for column, text in enumerate(("Search", "Low", "High", "")):
            header = QLabel(f"<b>{text}</b>")
            grid.addWidget(header, 0, column)
        self.rows = {c.name: _SettingRow(c, grid, i, self.changed)
                     for i, c in enumerate(candidates(), start=1)}
        grid.setColumnStretch(4, 1)

        self.trials = QSpinBox()
        self.trials.setRange(1, 10_000)
        self.trials.setValue(20)
        self.trials.setToolTip("How many trials this window runs, one after another")
        self.sampler = QComboBox()
        for key, text in SAMPLERS:
            self.sampler.addItem(text, key)
        self.prune = QCheckBox("Stop hopeless trials early (median pruner)")
        self.seeds = QSpinBox()
        self.seeds.setRange(1, 100)
        self.seeds.setToolTip("Each trial trains with this many seeds; its accuracy is "
                              "their mean")
        sweep = QFormLayout()
        sweep.addRow("Trials", self.trials)
        sweep.addRow("Sampler", self.sampler)
        sweep.addRow("", self.prune)
        sweep.addRow("Seeds per trial", self.seeds)
        for widget in (self.trials, self.seeds):
            widget.valueChanged.connect(lambda *_: self.changed.emit())

        note = QLabel("Settings not ticked keep the settings form's values.")
        note.setWordWrap(True)
        note.setEnabled(False)  # drawn in the palette's quieter colour
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(grid)
        layout.addWidget(note)
        layout.addLayout(sweep)
        layout.addStretch(1)

    def set_base(self, config: TrainConfig) -> None:
        """Offer ranges around the settings form's values (rows not ticked)."""
        for row in self.rows.values():
            row.set_around(config)

    def choose(self, name: str, low: float | None = None, high: float | None = None,
               log: bool | None = None, choices: tuple[str, ...] | None = None) -> None:
        """Tick setting `name` and set its range or choices (tests, a remembered space)."""
        row = self.rows[name]
        row.use.setChecked(True)
        if low is not None:
            row.low.setText(value_text(low))
        if high is not None:
            row.high.setText(value_text(high))
        if log is not None:
            row.log.setChecked(log)
        if choices is not None:
            for choice, tick in row.choices.items():
                tick.setChecked(choice in choices)

    def space(self) -> list[dict]:
        """The ticked settings as SearchDim dicts, in the form's order."""
        return [row.dim() for row in self.rows.values() if row.use.isChecked()]

    def problems(self) -> list[str]:
        """What must change before a sweep can start, one sentence each."""
        ticked = [row for row in self.rows.values() if row.use.isChecked()]
        if not ticked:
            return ["Tick a setting to search."]
        return [p for p in (row.problem() for row in ticked) if p]

    def sweep_options(self) -> dict:
        """trials, sampler, prune and seeds, as SweepPlan takes them."""
        return {"trials": self.trials.value(), "sampler": self.sampler.currentData(),
                "prune": self.prune.isChecked(), "seeds": self.seeds.value()}

    def set_editable(self, on: bool) -> None:
        """Off while a sweep runs: the one going keeps its space."""
        self.setEnabled(on)
