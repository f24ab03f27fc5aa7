"""The "Data" tab: the chosen dataset's images, facts and class balance, before any run.

A grid of training samples with their class names (reshuffle, filter by class); with
augmentation on, each sample beside its augmented copy, made by the training pipeline
itself (engine/data/pipeline.py) so it shows exactly what training feeds the network;
the split sizes, image shape and mean/std; the class balance as bars. A click on a sample
sends it to the Inside tab through `RunModel.inspect_requested`.

The dataset is loaded through `engine.data.load_dataset` (which caches it, so training on
it afterwards does not read it again), off the GUI thread, and only once the tab is shown.
A dataset that is not on this computer is not downloaded behind a person's back: the tab
says so and how big the download is, and downloads it on a click (a run downloads it too),
saying how far it has got.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPalette, QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from engine.catalog import (
    DATASET_INFO,
    dataset_title,
    image_size_to_load,
    is_pretrained,
)
from engine.config import TrainConfig
from engine.events import DataProgress
from engine.runtime.memory import byte_text
from engine.text import plural
from gui.background import JobFailed, LatestJob
from gui.image_tiles import Section, Tile, TileSheet, dataset_pixels, qimage
from gui.run_banner import display_path
from gui.run_model import InspectRequest, RunModel
from gui.scrolling import vertical_scroll
from gui.settings_panel import SettingsPanel

SAMPLES = 64  # an 8x8 grid
TILE = 56
BAR_COLOUR = QColor(110, 140, 190)
ERROR_STYLE = "color: #b03020;"
NOTE_STYLE = "color: #555555;"


@dataclass(frozen=True)
class _Ask:
    """What to show: the dataset as the settings choose it, and which samples."""

    dataset: str
    data_dir: str  # the folder it is read from (TrainConfig.source_folder)
    image_size: int  # what the folder dataset is resized to (as the trainer loads it)
    arch: str
    arch_image_size: int  # the config's image_size (0: the architecture's own)
    augment: bool
    val_split: float
    shuffle: int
    augment_seed: int
    only_class: int | None
    may_download: bool


@dataclass(frozen=True)
class _NotHere:
    title: str
    download_size: str  # e.g. "161 MB"


@dataclass(frozen=True)
class _Shown:
    ask: _Ask
    class_names: tuple[str, ...]
    indices: np.ndarray  # into the training set
    images: np.ndarray  # uint8 (n, C, H, W)
    labels: np.ndarray
    augmented: np.ndarray | None  # uint8 (n, C, S, S): as training feeds them, un-normalised
    counts: np.ndarray  # training images per class
    facts: list[tuple[str, str]]
    notes: tuple[str, ...]


class ClassBars(QWidget):
    """One horizontal bar per class with its name and count; as tall as its classes need
    (put it in a scroll area: 37 classes stay readable)."""

    ROW = 18
    MAX_NAME_WIDTH = 170  # longer names are shortened in the middle, whole on hover

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._names: tuple[str, ...] = ()
        self._counts = np.zeros(0, np.int64)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_counts(self, names: tuple[str, ...], counts: np.ndarray) -> None:
        self._names, self._counts = names, np.asarray(counts)
        self.setFixedHeight(max(1, len(names)) * self.ROW + 4)
        self.setToolTip("\n".join(f"{n}: {int(c):,}" for n, c in zip(names, counts,
                                                                       strict=True)))
        self.update()

    def counts(self) -> list[int]:
        return [int(c) for c in self._counts]

    def sizeHint(self) -> QSize:
        return QSize(300, self.height())

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        text = self.palette().color(QPalette.ColorRole.WindowText)
        metrics = self.fontMetrics()
        count_width = metrics.horizontalAdvance("000,000") + 6
        name_width = min(self.MAX_NAME_WIDTH, 8 + max(
            (metrics.horizontalAdvance(n) for n in self._names), default=0))
        room = max(10, self.width() - name_width - count_width - 8)
        peak = max(1, int(self._counts.max(initial=0)))
        for i, (name, count) in enumerate(zip(self._names, self._counts, strict=True)):
            y = 2 + i * self.ROW
            painter.setPen(text)
            painter.drawText(QRect(0, y, name_width - 6, self.ROW),
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                             metrics.elidedText(name, Qt.TextElideMode.ElideMiddle,
                                                name_width - 6))
            length = max(1, round(room * int(count) / peak)) if count else 0
            painter.fillRect(QRect(name_width, y + 3, length, self.ROW - 6), BAR_COLOUR)
            painter.drawText(QRect(name_width + length + 4, y, count_width, self.ROW),
                             Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                             f"{int(count):,}")


class DataPanel(QWidget):
    """Follows the settings' dataset; sends a clicked sample to `run.inspect_requested`."""

    def __init__(self, run: RunModel, settings: SettingsPanel,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._run = run
        self._settings = settings
        self._config = settings.config()
        self._shuffle = 0
        self._augment_seed = 0
        self._only_class: int | None = None
        self._may_download = False
        self._shown: _Shown | None = None
        self._stale = True
        self._job = LatestJob(self)
        self._job.done.connect(self._on_done)
        self._progress = _ProgressRelay(self)
        self._progress.progressed.connect(self._on_progress)

        self.title_label = QLabel()
        self.title_label.setStyleSheet("font-weight: bold; font-size: 14px;")
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.download_button = QPushButton("Download now")
        self.download_button.clicked.connect(self.download)
        self.class_filter = QComboBox()
        self.class_filter.setMinimumContentsLength(16)
        self.class_filter.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.class_filter.currentIndexChanged.connect(self._on_filter)
        self.reshuffle_button = QPushButton("Reshuffle")
        self.reshuffle_button.setToolTip("Show other images of the training set")
        self.reshuffle_button.clicked.connect(self.reshuffle)
        self.augment_button = QPushButton("Augment again")
        self.augment_button.setToolTip("Draw new random augmentations of the same images")
        self.augment_button.clicked.connect(self.augment_again)
        self.augment_note = QLabel()
        self.augment_note.setStyleSheet(NOTE_STYLE)
        self.augment_note.setWordWrap(True)  # two lines in a narrow window, not a wider tab
        self.sheet = TileSheet(TILE)
        self.sheet.set_clickable(True)
        self.sheet.tile_clicked.connect(self._on_tile)
        self.facts_form = QFormLayout()
        self.bars = ClassBars()
        self._layout()
        settings.config_changed.connect(self.set_config)

    def _layout(self) -> None:
        header = QHBoxLayout()
        header.addWidget(self.title_label)
        header.addStretch(1)
        header.addWidget(QLabel("Class:"))
        header.addWidget(self.class_filter)
        header.addWidget(self.reshuffle_button)
        header.addWidget(self.augment_button)
        status = QHBoxLayout()
        status.addWidget(self.status_label, 1)
        status.addWidget(self.download_button, 0, Qt.AlignmentFlag.AlignTop)
        samples = vertical_scroll(self.sheet)
        left = QVBoxLayout()
        left.addWidget(self.augment_note)
        left.addWidget(samples, 1)

        facts_title = QLabel("Facts")
        balance_title = QLabel("Class balance (training set)")
        for label in (facts_title, balance_title):
            label.setStyleSheet("font-weight: bold;")
        bars = vertical_scroll(self.bars)
        right = QVBoxLayout()
        right.addWidget(facts_title)
        right.addLayout(self.facts_form)
        right.addSpacing(8)
        right.addWidget(balance_title)
        right.addWidget(bars, 1)
        right_box = QWidget()
        right_box.setLayout(right)
        right_box.setMinimumWidth(280)
        right_box.setMaximumWidth(360)

        columns = QHBoxLayout()
        columns.addLayout(left, 1)
        columns.addWidget(right_box)
        whole = QVBoxLayout(self)
        whole.addLayout(header)
        whole.addLayout(status)
        whole.addLayout(columns, 1)
        self._set_status("")
        self.download_button.hide()

    # -- public API --------------------------------------------------------------------

    def set_config(self, config: TrainConfig) -> None:
        """The settings changed: show their dataset (when the tab is shown)."""
        before, self._config = self._config, config
        if self._key(before) != self._key(config):
            self._only_class = None
            self._may_download = False
        if self._view(before) != self._view(config):
            self._refresh()

    def reshuffle(self) -> None:
        self._shuffle += 1
        self._refresh()

    def augment_again(self) -> None:
        self._augment_seed += 1
        self._refresh()

    def download(self) -> None:
        self._may_download = True
        self._refresh()

    def shown(self) -> _Shown | None:
        """What the grid shows now (None while nothing is)."""
        return self._shown

    def busy(self) -> bool:
        return self._job.busy()

    def status_text(self) -> str:
        return self.status_label.text() if self.status_label.isVisibleTo(self) else ""

    # -- loading -------------------------------------------------------------------------

    @staticmethod
    def _key(config: TrainConfig) -> tuple:
        return (config.dataset, config.source_folder(),
                image_size_to_load(config.arch, config.image_size))

    def _view(self, config: TrainConfig) -> tuple:
        return (*self._key(config), config.arch, config.augment, config.val_split)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        if self._stale:
            self._refresh()

    def _refresh(self) -> None:
        if not self.isVisible():  # loaded when shown: the cores belong to training
            self._stale = True
            return
        self._stale = False
        config = self._config
        if config.dataset not in DATASET_INFO:
            self._set_status(f"Unknown dataset '{config.dataset}'.", error=True)
            return
        self.title_label.setText(dataset_title(config.dataset))
        shown = self._shown
        if shown is None or (shown.ask.dataset, shown.ask.data_dir) != (config.dataset,
                                                                        config.source_folder()):
            doing = "Downloading" if self._may_download else "Loading"
            self._set_status(f"{doing} {dataset_title(config.dataset)}…")
        ask = _Ask(config.dataset, config.source_folder(),
                   image_size_to_load(config.arch, config.image_size), config.arch,
                   config.image_size, config.augment,
                   min(max(config.val_split, 0.0), 0.9), self._shuffle, self._augment_seed,
                   self._only_class, self._may_download)
        report = _every_percent(self._progress.progressed.emit)
        self._job.submit(ask, lambda: _prepare(ask, report))

    def _on_progress(self, p: DataProgress) -> None:
        """Download and reading progress, while the answer for these settings is awaited."""
        if p.dataset != self._config.dataset or not self._job.busy():
            return
        self._set_status(f"{dataset_title(p.dataset)}: {p.message}"
                         + (f" {min(1.0, p.done / p.total):.0%}" if p.total else "…"))

    def _on_done(self, ask: _Ask, result: object) -> None:
        if ask.dataset != self._config.dataset or ask.data_dir != self._config.source_folder():
            return  # an answer for settings already changed; the newer one follows
        self.download_button.hide()
        if isinstance(result, _NotHere):
            self._clear()
            self._set_status(f"{result.title} is not on this computer yet: a "
                             f"{result.download_size} download, made when you train on it, "
                             "or now:")
            self.download_button.setText(f"Download now ({result.download_size})")
            self.download_button.show()
            return
        if isinstance(result, JobFailed):
            self._clear()
            self._say_failure(result.error)
            return
        assert isinstance(result, _Shown)
        if ask.may_download:  # it may have been downloaded just now: the list says so
            self._settings.refresh_dataset_titles()
        self._show(result)

    def _say_failure(self, error: Exception) -> None:
        missing = getattr(error, "missing", None)
        if missing is not None:  # like the run banner's: short, the details on hover
            self._set_status(f"{missing.title} is not on this computer and could not be "
                             f"downloaded (offline?). Put its files in "
                             f"{display_path(missing.folder)}, or use the bundled MNIST "
                             "sample.", error=True)
            self.status_label.setToolTip(f"Download {', '.join(missing.files)} from "
                                         f"{missing.source}.\n{missing.details}")
        else:
            self._set_status(str(error), error=True)

    # -- showing -------------------------------------------------------------------------

    def _clear(self) -> None:
        self._shown = None
        self.sheet.set_sections([])
        self.bars.set_counts((), np.zeros(0))
        self._set_facts([])
        self.augment_note.hide()
        self.augment_button.hide()

    def _show(self, shown: _Shown) -> None:
        self._shown = shown
        self._set_status(" ".join(shown.notes))
        names = shown.class_names
        self._fill_filter(names, shown.ask.only_class)
        tiles = []
        for i, (index, label) in enumerate(zip(shown.indices, shown.labels, strict=True)):
            images = [qimage(dataset_pixels(shown.images[i]))]
            if shown.augmented is not None:
                images.append(qimage(dataset_pixels(shown.augmented[i])))
            tiles.append(Tile(images, names[label],
                              f"{names[label]}: training image {int(index) + 1:,}. Click to "
                              "see what the network sees in it (Inside tab)."))
        only = shown.ask.only_class
        title = (f"{plural(len(tiles), 'sample')} of the training set"
                 + (f", class {names[only]}" if only is not None else ""))
        self.sheet.set_sections([Section(title, tiles)])
        augmented = shown.augmented is not None
        self.augment_button.setVisible(augmented)
        self.augment_note.setVisible(True)
        self.augment_note.setText(
            "Each sample beside its augmented copy, as training feeds it to the network "
            f"({shown.augmented.shape[-1]}×{shown.augmented.shape[-1]})." if augmented else
            "Augmentation is off (Settings): training sees the images as they are.")
        self.bars.set_counts(names, shown.counts)
        self._set_facts(shown.facts)

    def _fill_filter(self, names: tuple[str, ...], only: int | None) -> None:
        items = ["All classes", *names]
        if [self.class_filter.itemText(i) for i in range(self.class_filter.count())] != items:
            self.class_filter.blockSignals(True)
            self.class_filter.clear()
            self.class_filter.addItems(items)
            self.class_filter.blockSignals(False)
        self.class_filter.blockSignals(True)
        self.class_filter.setCurrentIndex(0 if only is None else only + 1)
        self.class_filter.blockSignals(False)

    def _set_facts(self, facts: list[tuple[str, str]]) -> None:
        while self.facts_form.rowCount():
            self.facts_form.removeRow(0)
        for name, value in facts:
            label = QLabel(value)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.facts_form.addRow(f"{name}:", label)

    def facts(self) -> dict[str, str]:
        return {} if self._shown is None else dict(self._shown.facts)

    def _set_status(self, text: str, error: bool = False) -> None:
        self.status_label.setText(text)
        self.status_label.setStyleSheet(ERROR_STYLE if error else NOTE_STYLE)
        self.status_label.setToolTip("")
        self.status_label.setVisible(bool(text))

    def _on_filter(self, index: int) -> None:
        self._only_class = None if index <= 0 else index - 1
        self._refresh()

    def _on_tile(self, _section: int, tile: int) -> None:
        shown = self._shown
        if shown is None:
            return
        label = int(shown.labels[tile])
        self._run.inspect_requested.emit(InspectRequest(
            shown.images[tile].copy(), label,
            f"Training image {int(shown.indices[tile]) + 1:,} of "
            f"{dataset_title(shown.ask.dataset)}", open_inside=True))


class _ProgressRelay(QObject):
    progressed = Signal(object)  # DataProgress, emitted on the loading thread


def _every_percent(emit: Callable[[DataProgress], None]) -> Callable[[DataProgress], None]:
    """Pass on a step's first event and each new whole percent: a download reports every
    chunk, far more often than a person can read."""
    last: list[tuple[str, int]] = []

    def report(p: DataProgress) -> None:
        step = (p.message, p.done * 100 // p.total if p.total else -1)
        if not last or last[0] != step:
            last[:] = [step]
            emit(p)

    return report


def _prepare(ask: _Ask, progress: Callable[[DataProgress], None]) -> _Shown | _NotHere:
    """Runs off the GUI thread: load (cached), pick the samples, augment them."""
    import torch

    from engine.data import DATASETS, load_dataset
    from engine.data.pipeline import BatchPipeline
    from engine.models.architectures import input_size_for

    spec = DATASETS[ask.dataset]
    folder = Path(ask.data_dir).expanduser()
    if spec.downloads and not ask.may_download and not spec.sources(folder.resolve()):
        return _NotHere(spec.title, DATASET_INFO[ask.dataset].download_size)
    data = load_dataset(ask.dataset, ask.data_dir, progress, image_size=ask.image_size)
    labels = data.train_labels
    pool = (torch.arange(len(labels)) if ask.only_class is None
            else torch.nonzero(labels == ask.only_class).flatten())
    order = torch.randperm(len(pool), generator=torch.Generator().manual_seed(ask.shuffle))
    indices = pool[order[:SAMPLES]].sort().values
    images = data.train_images[indices]
    augmented = None
    if ask.augment:
        size = input_size_for(ask.arch, data.image_size, ask.arch_image_size)
        pipeline = BatchPipeline(data, size, torch.device("cpu"), augment=True)
        generator = torch.Generator().manual_seed(ask.augment_seed)
        x = pipeline(images, generator, train=True)
        x = x * pipeline.std + pipeline.mean  # back to 0..1, to be seen
        augmented = (x.clamp(0, 1) * 255 + 0.5).to(torch.uint8).numpy()
    counts = torch.bincount(labels, minlength=data.num_classes).numpy()
    n = len(labels)
    n_val = int(round(n * ask.val_split))
    facts = [
        ("Training", f"{n - n_val:,} images"),
        ("Validation", f"{n_val:,} images" + (" (validation split 0)" if not n_val else "")),
        ("Test", f"{len(data.test_labels):,} images"),
        ("Image size", f"{data.image_size}×{data.image_size}, "
                       f"{plural(data.channels, 'channel')}"
                       + (" (colour)" if data.channels == 3 else " (greyscale)"
                          if data.channels == 1 else "")),
        ("Classes", f"{data.num_classes}"),
        ("In memory", byte_text(data.train_images.nbytes + data.test_images.nbytes)),
        ("Mean", _per_channel(data.mean)),
        ("Std", _per_channel(data.std)),
    ]
    if is_pretrained(ask.arch):  # the network is not fed the dataset's own statistics
        facts.append(("Network input", "ImageNet's mean/std"
                      + (", grey as 3 channels" if data.channels == 1 else "")))
    return _Shown(ask, data.class_names, indices.numpy(), images.numpy(),
                  labels[indices].numpy(), augmented, counts, facts, data.notes)


def _per_channel(values: tuple[float, ...]) -> str:
    if len(values) == 3:
        return ", ".join(f"{name} {v:.3f}" for name, v in zip("RGB", values, strict=True))
    return ", ".join(f"{v:.3f}" for v in values)
