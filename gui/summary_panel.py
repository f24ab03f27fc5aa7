"""The layer table of the model the current settings would build: shapes and parameters."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHeaderView,
    QLabel,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)
from torch import nn

from engine.catalog import network_channels
from engine.models.architectures import MODELS, build_model
from engine.models.summary import ModelSummary, summarize

if TYPE_CHECKING:
    from gui.run_model import RunModel

ERROR_COLOR = "#c62828"  # 5.6:1 on white: WCAG AA
_COLUMNS = ("Layer", "Output shape", "Parameters")
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_SummaryKey = tuple[str, int, int, int]


def format_shape(shape: tuple[int, ...]) -> str:
    return "×".join(str(n) for n in shape)


class SummaryPanel(QWidget):
    """Layers indented by nesting, each with its output shape and parameter count.

    Building a big network takes up to a second, so `show_for` keeps every summary it made
    and does nothing when asked for the one already shown: call it whenever the settings
    change, not only when the architecture does.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._cache: dict[_SummaryKey, ModelSummary | str] = {}
        self._shown_key: _SummaryKey | None = None
        self._summary: ModelSummary | None = None

        self._heading = QLabel()
        self._heading.setObjectName("heading")
        self._heading.setWordWrap(True)
        self._tree = QTreeWidget()
        self._tree.setColumnCount(len(_COLUMNS))
        self._tree.setHeaderLabels(list(_COLUMNS))
        self._tree.setUniformRowHeights(True)
        self._tree.setAlternatingRowColors(True)
        self._tree.setRootIsDecorated(True)
        header = self._tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in (1, 2):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self._tree.headerItem().setTextAlignment(2, _RIGHT)
        self._totals = QLabel()
        self._totals.setObjectName("totals")
        self._totals.setWordWrap(True)
        self._totals.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._error = QLabel()
        self._error.setObjectName("error")
        self._error.setWordWrap(True)
        self._error.setStyleSheet(f"color: {ERROR_COLOR}")
        self._error.hide()

        layout = QVBoxLayout(self)
        layout.addWidget(self._heading)
        layout.addWidget(self._error)
        layout.addWidget(self._tree, 1)
        layout.addWidget(self._totals)
        self._heading.setText("No model yet.")

    def follow(self, run: RunModel) -> None:
        """Show the network of the run on screen, as it was built (gui/run_model.py)."""
        run.run_started.connect(lambda start: self.show_for(
            start.arch, start.input_shape[0], len(start.class_names), start.input_shape[1]))

    def summary(self) -> ModelSummary | None:
        """The summary on show, or None when there is none (nothing asked yet, or an error)."""
        return self._summary

    def show_for(self, arch: str, in_channels: int, num_classes: int, image_size: int) -> None:
        """Summarise a fresh `arch` for (in_channels, image_size, image_size) input.

        `image_size` is the size the network is fed (see
        engine.models.architectures.input_size_for).
        A pretrained network is fed colour whatever the dataset's channels.
        """
        in_channels = network_channels(arch, in_channels)
        key = (arch, in_channels, num_classes, image_size)
        if key == self._shown_key:
            return
        if key not in self._cache:
            self._cache[key] = _summarize_fresh(*key)
        self._shown_key = key
        spec = MODELS.get(arch)
        title = spec.title if spec is not None else arch
        heading = (
            f"{title} on {format_shape((in_channels, image_size, image_size))} input, "
            f"{num_classes} classes"
        )
        result = self._cache[key]
        if isinstance(result, str):
            self._show_error(heading, result)
        else:
            self._show_summary(heading, result)

    def show_model(self, model: nn.Module, input_shape: tuple[int, int, int]) -> None:
        """Summarise an existing model (a trained or loaded one) for one input shape."""
        self._shown_key = None
        heading = f"{type(model).__name__} on {format_shape(input_shape)} input"
        try:
            summary = summarize(model, input_shape)
        except ValueError as error:
            self._show_error(heading, str(error))
            return
        self._show_summary(heading, summary)

    def _show_summary(self, heading: str, summary: ModelSummary) -> None:
        self._summary = summary
        self._heading.setText(heading)
        self._error.hide()
        self._tree.clear()
        parents: list[tuple[int, QTreeWidgetItem]] = []  # (depth, item) of the open ancestors
        for row in summary.rows:
            while parents and parents[-1][0] >= row.depth:
                parents.pop()
            texts = [row.name, format_shape(row.output_shape), _count(row.num_params)]
            item = QTreeWidgetItem(texts)
            item.setTextAlignment(2, _RIGHT)
            if parents:
                parents[-1][1].addChild(item)
            else:
                self._tree.addTopLevelItem(item)
            parents.append((row.depth, item))
        self._tree.expandAll()
        frozen = summary.total_params - summary.trainable_params
        trainable = (
            "all trainable" if not frozen else f"{summary.trainable_params:,} trainable, "
            f"{frozen:,} frozen"
        )
        megabytes = summary.total_params * 4 / 1e6  # float32 weights
        self._totals.setText(
            f"<b>Total parameters: {summary.total_params:,}</b> ({trainable})<br>"
            f"Input {format_shape(summary.input_shape)} · "
            f"{megabytes:.2f} MB of float32 weights"
        )

    def _show_error(self, heading: str, message: str) -> None:
        self._summary = None
        self._heading.setText(heading)
        self._tree.clear()
        self._totals.clear()
        self._error.setText(message)
        self._error.show()


def _summarize_fresh(
    arch: str, in_channels: int, num_classes: int, image_size: int
) -> ModelSummary | str:
    """The summary, or the sentence saying why this combination cannot be built."""
    try:
        model = build_model(arch, in_channels, num_classes, image_size)
        return summarize(model, (in_channels, image_size, image_size))
    except ValueError as error:
        return str(error)


def _count(num_params: int) -> str:
    return f"{num_params:,}" if num_params else "–"
