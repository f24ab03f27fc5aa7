"""The "Inside" tab: what the network sees in one image.

The image is the drawing (drawn here or on the Draw tab: the two canvases hold the same
strokes, read by the Draw tab's model), or any image a person picked elsewhere (a Data tab
sample, a mistake in the Results tab) through `RunModel.inspect_requested`, read by the
run's model when it takes such images, else by the Draw tab's. Shown: the answer with the
map of where it comes from over the input, the first layer's filters (or, for networks
without convolutions, its weights as images: the classic lesson), and each conv layer's
feature maps.

The work (a forward and a backward pass, colour maps for hundreds of tiles) runs off the
GUI thread, latest request only (gui/background.py): the canvas stays smooth, and while a
person draws, the maps follow the latest stroke; when a stroke ends, the Draw tab reads it
at once rather than after its prediction throttle. Measured with bench/inside_latency.py
on this 2-core machine while other test suites ran: feature maps ready after a stroke ends
in 17 ms median, 21 ms p90, 24 ms max (12 strokes, the bundled LeNet-5). One look takes
12 ms off the GUI thread for LeNet-5, 20 ms for the small CNN, 60 ms for GoogLeNet and
115 ms for ResNet-18; showing it costs the GUI thread 6-11 ms (median) for any of them.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass

import numpy as np
import torch
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QImage, QPixmap, QShowEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from engine.catalog import arch_title
from engine.data.pipeline import resize_and_normalise
from engine.inference.image_trial import ImageTrial
from engine.inference.inspect import Insight, inspect_image, named
from engine.inference.predict import Predictor
from engine.records.checkpoint import Checkpoint
from engine.text import plural
from gui.background import JobFailed, LatestJob
from gui.draw_canvas import DrawCanvas
from gui.draw_panel import DrawPanel
from gui.epoch_bar import EpochBar
from gui.epoch_networks import EpochNetwork, EpochNetworks
from gui.image_tiles import (
    Section,
    Tile,
    TileSheet,
    dataset_pixels,
    heat_overlay,
    qimage,
    scaled,
    signed_weights,
    unit_to_uint8,
    viridis,
)
from gui.probability_text import format_probability
from gui.run_model import InspectRequest, RunModel
from gui.scrolling import vertical_scroll

MAX_MAPS = 16  # feature maps shown per layer (the rest are counted)
MAX_UNITS = 64  # first-layer filters or units shown
VIEW_SIZE = 200  # the input and the heat-map views, in pixels
MAP_TILE = 44
FILTER_TILE = 36  # a conv filter (5x5, 3x3: a few pixels)
UNIT_TILE = 64  # a linear unit's weights over the whole input
ERROR_STYLE = "color: #b03020;"


@dataclass(frozen=True)
class _Job:
    """What to look into, and with which model (prepared off the GUI thread)."""

    model: Predictor | Checkpoint  # the Draw tab's predictor, or the run's checkpoint
    digit: np.ndarray | None  # the drawing as the model sees it (28x28, 0..1), or
    image: np.ndarray | None  # an image picked elsewhere, uint8 (C, H, W)
    picture: np.ndarray  # what a person sees of the input: uint8 (H, W) or (H, W, 3)
    class_names: tuple[str, ...]
    model_title: str
    source: InspectRequest | None = None  # what was asked for (None: the drawing)


@dataclass(frozen=True)
class _Seen:
    """An insight with its pictures, all made off the GUI thread (QImage may be)."""

    insight: Insight
    class_names: tuple[str, ...]
    sections: list[Section]  # the first layer, then each conv layer
    overlay: QImage  # the input with the heat map over it
    seconds: float


class InsidePanel(QWidget):
    """Follows the Draw tab's drawing and model, and the run's inspect requests; with
    `epochs`, an epoch slider (shared with the Draw tab) looks into the network as it was
    after any epoch of the run on screen."""

    def __init__(self, draw: DrawPanel, run: RunModel, epochs: EpochNetworks | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._draw = draw
        self._run = run
        self._epochs = epochs
        self.epoch_bar = EpochBar(epochs) if epochs is not None else None
        self._request: InspectRequest | None = None  # None: the drawing is looked into
        self._digit: np.ndarray | None = None  # the drawing as the model sees it
        self._stale = True  # changed while the tab was hidden
        self._models: list[tuple[object, Predictor, torch.nn.Module]] = []  # jobs' own
        self.seen: _Seen | None = None
        self._asked = 0  # looks asked for so far
        self._void_upto = 0  # results of looks asked for up to here come too late
        self.last_seconds: float | None = None
        self._job = LatestJob(self)
        self._job.done.connect(self._on_done)

        self.source_label = QLabel()
        self.source_label.setWordWrap(True)
        self.back_button = QPushButton("Back to the drawing")
        self.back_button.clicked.connect(self.show_drawing)
        self.canvas = DrawCanvas(hint="Draw here")
        self.canvas.setFixedSize(VIEW_SIZE, VIEW_SIZE)
        self.image_view = QLabel()
        self.image_view.setFixedSize(VIEW_SIZE, VIEW_SIZE)
        self.image_view.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.input_stack = QStackedWidget()
        self.input_stack.addWidget(self.canvas)
        self.input_stack.addWidget(self.image_view)
        self.input_stack.setFixedSize(VIEW_SIZE, VIEW_SIZE)
        self.answer_label = QLabel()
        self.answer_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        font = QFont(self.font())
        font.setPointSize(max(font.pointSize() + 4, 13))
        font.setBold(True)
        self.answer_label.setFont(font)
        self.heat_view = QLabel()
        self.heat_view.setFixedSize(VIEW_SIZE, VIEW_SIZE)
        self.heat_view.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.heat_view.setStyleSheet("background: #202020;")
        self.heat_caption = QLabel()
        self.heat_caption.setWordWrap(True)
        self.heat_caption.setMaximumWidth(VIEW_SIZE + 20)
        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        self.sheet = TileSheet(MAP_TILE)
        self._layout()

        draw.canvas.strokes_changed.connect(self._copy_from_draw)
        self.canvas.strokes_changed.connect(self._copy_to_draw)
        self.canvas.stroke_ended.connect(draw.predict_if_pending)
        draw.input_changed.connect(self._on_drawing)
        run.inspect_requested.connect(self.inspect)
        run.model_changed.connect(self._on_model_changed)
        if epochs is not None:  # the drawing follows through the Draw tab's input_changed
            epochs.network_changed.connect(self._on_model_changed)
        # An image tried on the Draw tab is looked into as its model saw it.
        draw.images.trial_selected.connect(self._on_trial)
        draw.images.back_requested.connect(self.show_drawing)
        self._syncing = False  # copying strokes between the two canvases
        self._copy_from_draw()
        self._digit = draw.current_input()
        self.show_drawing()

    def _layout(self) -> None:
        header = QHBoxLayout()
        header.addWidget(self.source_label, 1)
        header.addWidget(self.back_button)
        input_caption = QLabel("Input")
        heat_title = QLabel("Where the answer comes from")
        for label in (input_caption, heat_title):
            label.setStyleSheet("font-weight: bold;")
        left = QVBoxLayout()
        left.addWidget(input_caption)
        left.addWidget(self.input_stack)
        left.addWidget(self.answer_label)
        left.addSpacing(6)
        left.addWidget(heat_title)
        left.addWidget(self.heat_view)
        left.addWidget(self.heat_caption)
        left.addStretch(1)
        scroll = self.scroll = vertical_scroll(self.sheet)
        right = QVBoxLayout()
        right.addWidget(self.message_label)
        right.addWidget(scroll, 1)
        # The left column scrolls too: the tab fits a small screen.
        left_box = QWidget()
        left_box.setLayout(left)
        left_scroll = vertical_scroll(left_box, framed=False)
        left_scroll.setFixedWidth(VIEW_SIZE + 40)
        columns = QHBoxLayout()
        columns.addWidget(left_scroll)
        columns.addLayout(right, 1)
        whole = QVBoxLayout(self)
        whole.addLayout(header)
        if self.epoch_bar is not None:
            whole.addWidget(self.epoch_bar)
        whole.addLayout(columns, 1)

    # -- public API --------------------------------------------------------------------

    def show_drawing(self) -> None:
        """Look into the drawing again (after an image picked elsewhere)."""
        self._request = None
        self.input_stack.setCurrentWidget(self.canvas)
        self.back_button.hide()
        self._refresh()

    def inspect(self, request: InspectRequest) -> None:
        """Look into an image picked elsewhere (bringing this tab to the front if asked)."""
        self._request = request
        self.input_stack.setCurrentWidget(self.image_view)
        self.image_view.setPixmap(QPixmap.fromImage(qimage(dataset_pixels(request.image))).scaled(
            VIEW_SIZE, VIEW_SIZE, Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.FastTransformation))
        self.back_button.show()
        if request.open_inside:
            self._bring_to_front()
        self._refresh()

    def _on_trial(self, trial: object) -> None:
        """Look into the image in view on the Draw tab, as its model saw it: the model's
        input de-normalised, which the look normalises again (the same input, to within the
        rounding to 8 bits)."""
        if not isinstance(trial, ImageTrial):
            return
        seen = trial.seen[None] if trial.seen.ndim == 2 else trial.seen.transpose(2, 0, 1)
        self.inspect(InspectRequest(np.ascontiguousarray(seen), None,
                                    f"{trial.name} (tried on the Draw tab)", draw_model=True))

    def busy(self) -> bool:
        """Whether a look is being computed (or waits to be)."""
        return self._job.busy()

    def source(self) -> InspectRequest | None:
        return self._request

    # -- following the drawing and the run ---------------------------------------------

    def _copy_from_draw(self) -> None:
        self._copy(self._draw.canvas, self.canvas)

    def _copy_to_draw(self) -> None:
        # The Draw tab turns the strokes into the model's input; the input comes back
        # through input_changed, at the Draw tab's pace (its prediction throttle).
        self._copy(self.canvas, self._draw.canvas)

    def _copy(self, source: DrawCanvas, target: DrawCanvas) -> None:
        if self._syncing:  # the echo of our own copy
            return
        self._syncing = True
        try:
            target.set_strokes(source.strokes(), source.widths())
        finally:
            self._syncing = False

    def _on_drawing(self, digit: np.ndarray | None) -> None:
        self._digit = digit
        if self._request is None:
            self._refresh()

    def _on_model_changed(self, _model: Checkpoint | EpochNetwork | None) -> None:
        if self._request is not None:
            self._refresh()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        if self._stale:
            self._refresh()

    def _refresh(self) -> None:
        """Look into the current image now, or once the tab is shown (no work for a tab
        nobody sees: the cores belong to training)."""
        if not self.isVisible():
            self._stale = True
            return
        self._stale = False
        job, why_not = self._next_job()
        if job is None:
            self._show_nothing(why_not)
            return
        self._describe_source(job)
        models = self._models
        self._asked += 1
        self._job.submit((self._asked, job), lambda: _look(job, models))

    def _next_job(self) -> tuple[_Job | None, str]:
        predictor = self._draw.predictor()
        in_use = self._draw.choices().in_use()
        draw_title = (f"the Draw tab's model ({in_use.source}: {in_use.title})"
                      if in_use is not None else "the Draw tab's model")
        epoch = self._draw.epoch_network()
        if epoch is not None and self._epochs is not None:
            draw_title = f"the network after epoch {epoch.epoch} of {self._epochs.run_name}"
        if self._request is None:
            if predictor is None:
                return None, "No model to read the drawing yet: train one, or open a checkpoint."
            if self._digit is None:
                return None, "Draw a digit (here or on the Draw tab) to see what the network sees."
            return _Job(predictor, self._digit, None, unit_to_uint8(self._digit),
                        predictor.class_names, draw_title), ""
        image = self._request.image
        picture = dataset_pixels(image)
        ckpt = None if self._request.draw_model else self._run.checkpoint
        if epoch is not None and not self._request.draw_model:
            if epoch.predictor.in_channels == image.shape[0]:  # the run's, at that epoch
                return _Job(epoch.predictor, None, image, picture, epoch.predictor.class_names,
                            draw_title, self._request), ""
        elif ckpt is not None and ckpt.in_channels == image.shape[0]:
            return _Job(ckpt, None, image, picture, ckpt.class_names,
                        f"the run's {arch_title(ckpt.config.arch)}", self._request), ""
        if predictor is not None and predictor.in_channels == image.shape[0]:
            return _Job(predictor, None, image, picture, predictor.class_names, draw_title,
                        self._request), ""
        return None, (f"No model takes {_shape_text(image)} images yet: train one on this "
                      "dataset, then pick the image again.")

    def _describe_source(self, job: _Job) -> None:
        if self._request is None:
            self.source_label.setText(f"<b>Your drawing</b>, read by {job.model_title}")
            return
        truth = ""
        label = self._request.label
        if label is not None and 0 <= label < len(job.class_names):
            truth = f" (true class: {job.class_names[label]})"
        self.source_label.setText(
            f"<b>{self._request.caption}</b>{truth}, read by {job.model_title}")

    # -- showing -------------------------------------------------------------------------

    def _show_nothing(self, message: str) -> None:
        self._void_upto = self._asked  # a look still running is out of date
        self.seen = None
        self.message_label.setText(message)
        self.message_label.setStyleSheet("")
        self.message_label.show()
        self.answer_label.setText("")
        self.heat_view.clear()
        self.heat_caption.setText("")
        self.sheet.set_sections([])
        if self._request is None:
            self.source_label.setText("<b>Your drawing</b>")

    def _on_done(self, tag: tuple[int, _Job], result: object) -> None:
        asked, job = tag
        if asked <= self._void_upto or job.source is not self._request:
            return  # the panel has moved on (a cleared canvas, another image)
        if isinstance(result, JobFailed):
            self.seen = None
            self.message_label.setText(f"Could not look inside the network: {result}")
            self.message_label.setStyleSheet(ERROR_STYLE)
            self.message_label.show()
            return
        assert isinstance(result, _Seen)
        self.seen = result
        self.last_seconds = result.seconds
        insight = result.insight
        names = result.class_names
        p = float(insight.probabilities[insight.predicted])
        self.answer_label.setText(f"{names[insight.predicted]} · {format_probability(p)}")
        self.answer_label.setToolTip(f"The network's answer: {names[insight.predicted]}, "
                                     f"{format_probability(p)} confident")
        self.heat_view.setPixmap(QPixmap.fromImage(result.overlay).scaled(
            VIEW_SIZE, VIEW_SIZE, Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation))
        self.heat_caption.setText(
            f"Bright: the pixels that most raise the score of “{names[insight.predicted]}” "
            f"({insight.heat_method}).")
        self.message_label.setStyleSheet("")
        if insight.conv_layers == 0:
            self.message_label.setText(
                "This network has no convolutional layers: it weighs every pixel at once. Its "
                "first layer's weights, one image per unit, show what each unit looks for "
                "(red: ink there raises it, blue: lowers it).")
        else:
            self.message_label.setText(
                f"{plural(insight.conv_layers, 'convolutional layer')}, in the order they run; "
                "each map shows where one filter responds (yellow: strongly).")
        self.message_label.show()
        self.sheet.set_sections(result.sections)

    def _bring_to_front(self) -> None:
        """Make this panel's tab the current one, wherever the window put it."""
        widget = self
        while widget is not None:
            parent = widget.parentWidget()
            tabs = parent.parentWidget() if parent is not None else None
            if isinstance(tabs, QTabWidget) and tabs.indexOf(widget) >= 0:
                tabs.setCurrentWidget(widget)
                return
            widget = parent

def _look(job: _Job, models: list[tuple[object, Predictor, torch.nn.Module]]) -> _Seen:
    """Runs off the GUI thread: the insight and every picture of it."""
    start = time.perf_counter()
    predictor, model = _own_model(job.model, models)
    if job.digit is not None:
        x = predictor.model_input(job.digit)
    else:
        x = torch.from_numpy(np.ascontiguousarray(job.image)).float().div(255).unsqueeze(0)
        x = resize_and_normalise(x.to(predictor.device), predictor.input_size,
                                 predictor.mean, predictor.std)
    insight = inspect_image(model, x, max_maps=MAX_MAPS, max_units=MAX_UNITS)
    layers = []
    for layer in insight.activations:
        maps = scaled(layer.maps)  # one scale per layer: a quiet map looks quiet
        layers.append([viridis(m) for m in maps])
    units = ([] if insight.first_layer is None
             else [signed_weights(w) for w in insight.first_layer.weights])
    overlay = qimage(heat_overlay(job.picture, insight.heat))
    sections = _sections(insight, job.class_names, units, layers)
    return _Seen(insight, job.class_names, sections, overlay, time.perf_counter() - start)


def _sections(insight: Insight, class_names: tuple[str, ...], units: list[np.ndarray],
              layers: list[list[np.ndarray]]) -> list[Section]:
    """The sheet's sections: the first layer's weights, then each conv layer's maps."""
    sections = []
    first = insight.first_layer
    if first is not None:
        count, shown = first.count, len(units)
        if first.kind == "conv":
            *_, kh, kw = first.weights.shape
            title = f"First layer: {plural(count, 'filter')} of {kh}×{kw}"
            captions = [""] * shown
        else:
            title = f"First layer: {plural(count, 'unit')}, its weights over the input pixels"
            per_class = count == len(class_names)
            captions = list(class_names[:shown]) if per_class else [""] * shown
        note = f"{shown} of {count} shown" if shown < count else ""
        sections.append(Section(title, [
            Tile([qimage(p)], caption, f"{'Filter' if first.kind == 'conv' else 'Unit'} "
                 f"{i + 1}{': ' + caption if caption else ''}")
            for i, (p, caption) in enumerate(zip(units, captions, strict=True))],
            note, FILTER_TILE if first.kind == "conv" else UNIT_TILE))
    total = insight.conv_layers
    for layer, pictures in zip(insight.activations, layers, strict=True):
        height, width = layer.size
        shown = len(pictures)
        note = (f"{layer.channels} maps of {height}×{width}"
                + (f", the first {shown} shown" if shown < layer.channels else ""))
        sections.append(Section(
            f"Conv layer {layer.index} of {total}{named(layer.name)}",
            [Tile([qimage(p)], "", f"Map {i + 1} of {layer.channels}")
             for i, p in enumerate(pictures)], note))
    return sections


def _own_model(source: Predictor | Checkpoint,
               models: list[tuple[object, Predictor, torch.nn.Module]],
               ) -> tuple[Predictor, torch.nn.Module]:
    """A model of the job's own (hooks are per module, and the GUI thread may run the
    Draw tab's model meanwhile), kept for the next job: the last two, most recent first.
    Only jobs, one at a time, touch `models`."""
    for i, (key, predictor, model) in enumerate(models):
        if key is source:
            models.insert(0, models.pop(i))
            return predictor, model
    if isinstance(source, Predictor):
        predictor, model = source, copy.deepcopy(source.model)
    else:
        predictor = Predictor.from_checkpoint(source)
        model = predictor.model
    models.insert(0, (source, predictor, model))
    del models[2:]
    return predictor, model


def _shape_text(image: np.ndarray) -> str:
    channels, height, width = image.shape
    colour = "greyscale" if channels == 1 else "colour" if channels == 3 else f"{channels}-channel"
    return f"{colour} {height}×{width}"
