"""Where a run stands: state, epoch, batch progress, speed, elapsed time, ETA and accuracy.

How a run ended is said once, by the window's run banner; this panel shows the state.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QFont, QHideEvent, QShowEvent
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from engine.catalog import dataset_title
from engine.events import BatchEnd, DataProgress, EpochEnd, RunEnd, RunStart
from engine.text import plural
from gui.contrast import make_secondary
from gui.run_timer import RunTimer

if TYPE_CHECKING:
    from gui.run_model import OpenedRun, RunModel

STATES = {  # state -> (what a person reads, badge colour)
    "idle": ("Idle", "#6c757d"),
    "loading": ("Loading data", "#1565c0"),
    "training": ("Training", "#2e7d32"),
    "paused": ("Paused", "#8a5300"),
    "finished": ("Finished", "#1565c0"),
    "stopped": ("Stopped", "#6c757d"),
    "diverged": ("Diverged", "#c62828"),
    "failed": ("Failed", "#c62828"),
    "learned_nothing": ("Learned nothing", "#8a5300"),
    "interrupted": ("Interrupted", "#8a5300"),
    "opened": ("Opened", "#1565c0"),
}
SETTABLE_STATES = ("idle", "loading", "training", "paused")
NO_VALUE = "—"
PAUSED_SPEED = "paused"


def format_duration(seconds: float) -> str:
    """h:mm:ss, e.g. 0:04:05 or 12:00:00."""
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


class ProgressPanel(QWidget):
    """Call only on the GUI thread. `clock` is injectable so tests never sleep."""

    def __init__(self, parent: QWidget | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(parent)
        self._times = RunTimer(clock)
        self._run: RunStart | None = None
        # Ticks the elapsed/ETA labels between batches; runs only while a run is active,
        # unpaused and this panel is on screen.
        self._tick = QTimer(self)
        self._tick.setInterval(1000)
        self._tick.timeout.connect(self.refresh_times)

        self._state = QLabel()
        self._member = QLabel()  # which member of a seed group trains ("Seed 2 of 3")
        self._member.setFont(_scaled_font(self.font(), 1.25, bold=True))
        self._member.hide()
        self._epoch = QLabel()
        self._epoch.setFont(_scaled_font(self.font(), 1.25, bold=True))
        self._accuracy = QLabel()
        self._accuracy.setFont(_scaled_font(self.font(), 1.4, bold=True))
        self._batch_bar = QProgressBar()
        self._batch_bar.setTextVisible(True)
        self._speed = QLabel()
        self._speed_text = NO_VALUE  # the last measured speed, shown again after a pause
        self._running_acc = QLabel()
        self._running_acc.setToolTip("Training accuracy over this epoch's batches so far")
        self._elapsed = QLabel()
        self._eta = QLabel()
        self._device = QLabel()
        self._data_label = QLabel()
        self._data_bar = QProgressBar()

        header = QHBoxLayout()
        header.addWidget(self._state)
        header.addWidget(self._member)
        header.addWidget(self._epoch)
        header.addWidget(self._batch_bar, 1)
        header.addWidget(self._accuracy)
        figures = QGridLayout()
        figures.setVerticalSpacing(0)
        for column, (caption, label) in enumerate((
            ("Speed", self._speed), ("Accuracy this epoch", self._running_acc),
            ("Elapsed", self._elapsed), ("Time left", self._eta), ("Device", self._device),
        )):
            title = QLabel(caption)
            make_secondary(title)  # a caption, not a value: dimmed, still readable
            figures.addWidget(title, 0, column)
            # Aligned: the cell still stretches; a held-size label just sits at its left.
            figures.addWidget(label, 1, column, Qt.AlignmentFlag.AlignLeft)
            figures.setColumnStretch(column, 1)
        for label, widest in ((self._speed, "9,999,999 examples/s"), (self._running_acc, "100.0%"),
                              (self._elapsed, "9999:59:59"), (self._eta, "9999:59:59")):
            _hold_size(label, widest)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addLayout(header)
        layout.addLayout(figures)
        layout.addWidget(self._data_label)
        layout.addWidget(self._data_bar)
        self._reset()

    # --- public API -----------------------------------------------------------------------

    def follow(self, run: RunModel) -> None:
        """Show the run on screen as it goes (gui/run_model.py)."""
        run.run_beginning.connect(lambda _continuing: self.begin_loading())
        run.run_started.connect(lambda start: self.start_run(start))
        run.batches_arrived.connect(lambda batches: self.update_batch(batches[-1]))
        run.epoch_ended.connect(lambda epoch: self.update_epoch(epoch))
        run.data_progress.connect(lambda progress: self.show_data_progress(progress))
        run.run_ended.connect(lambda end: self.end_run(end))
        run.run_opened.connect(lambda opened: self.show_opened(opened))

    def begin_loading(self) -> None:
        """A run is loading its data: nothing of the previous run stays (its epoch and
        accuracy beside this run's "Failed" would read as this run's)."""
        self._reset()
        self.set_state("loading")

    def start_run(self, run: RunStart) -> None:
        self._reset()
        self._run = run
        self._device.setText(run.device)
        self._epoch.setText(f"Epoch {run.start_epoch + 1} / {run.epochs}")
        self._batch_bar.setRange(0, max(1, run.batches_per_epoch))
        self._batch_bar.setFormat(f"Batch 0 / {run.batches_per_epoch}")
        if run.history:  # a continued run: where it stands until its next epoch ends
            self._show_accuracy(run.history[-1])
        self._times.start(max(0, run.epochs - run.start_epoch) * run.batches_per_epoch)
        self._show_state("training")
        self.refresh_times()
        self._update_ticking()

    def update_batch(self, batch: BatchEnd) -> None:
        """Show the latest batch (the worker sends only the newest of a burst)."""
        run = self._require_run("update_batch")
        self._epoch.setText(f"Epoch {batch.epoch} / {run.epochs}")
        self._speed_text = f"{batch.examples_per_sec:,.0f} examples/s"
        # Batches that ran just before a pause arrive after it: the speed still says paused.
        self._speed.setText(PAUSED_SPEED if self._state_name == "paused" else self._speed_text)
        self._running_acc.setText(f"{batch.accuracy:.1%}")
        epochs_before = batch.epoch - 1 - run.start_epoch
        self._times.batches_done(epochs_before * batch.batches_per_epoch + batch.batch)
        self.refresh_times()
        # The bar last: its setValue repaints at once, the labels' new text in the same pass.
        self._batch_bar.setFormat(f"Batch {batch.batch} / {batch.batches_per_epoch}")
        self._batch_bar.setRange(0, max(1, batch.batches_per_epoch))
        self._batch_bar.setValue(batch.batch)

    def update_epoch(self, epoch: EpochEnd) -> None:
        self._show_accuracy(epoch.as_record())
        self._accuracy.setToolTip(f"After epoch {epoch.epoch} of {epoch.epochs}")

    def show_opened(self, opened: OpenedRun) -> None:
        """An opened checkpoint: its run's name, how far it got and how it ended."""
        self._reset()
        done = int(opened.history[-1]["epoch"]) if opened.history else 0
        planned = max(opened.epochs_planned, done)
        self._show_state(opened.status if opened.status in STATES else "opened")
        self._epoch.setText(f"Epoch {done} / {planned}" if done else "No epoch")
        self._batch_bar.setRange(0, max(1, planned))
        self._batch_bar.setValue(done)
        text = f"Opened: {opened.name} — {plural(done, 'epoch')}"
        if opened.history and _finite(opened.history[-1].get("test_acc")):
            text += f", Test {opened.history[-1]['test_acc']:.1%}"
            self._show_accuracy(opened.history[-1])
            self._accuracy.setToolTip(f"After epoch {done}")
        self._batch_bar.setFormat(text)
        self._batch_bar.setToolTip(text)

    def show_data_progress(self, p: DataProgress) -> None:
        """Show dataset download/loading progress; hidden again once the run starts."""
        self._data_label.setText(f"{dataset_title(p.dataset)}: {p.message}")
        if p.total > 0:
            # Per mille, so byte counts beyond a 32-bit int still fit the bar.
            self._data_bar.setRange(0, 1000)
            self._data_bar.setValue(min(1000, max(0, p.done * 1000 // p.total)))
            self._data_bar.setFormat(f"{min(1.0, p.done / p.total):.0%}")
        else:
            self._data_bar.setRange(0, 0)  # indeterminate: Qt shows a busy bar
        self._data_label.show()
        self._data_bar.show()

    def show_member(self, text: str) -> None:
        """Which member of a seed group trains ("Seed 2 of 3 (seed 43)"); "" hides it."""
        self._member.setText(text)
        self._member.setVisible(bool(text))

    def member_text(self) -> str:
        return self._member.text() if self._member.isVisibleTo(self) else ""

    def set_state(self, state: str) -> None:
        """"idle" | "loading" | "training" | "paused"; pauses are left out of elapsed time."""
        if state not in SETTABLE_STATES:
            raise ValueError(f"Unknown progress state {state!r}; use one of {SETTABLE_STATES}.")
        if state == "paused":
            self._times.pause()
            self._speed.setText(PAUSED_SPEED)
        elif state == "training":
            self._times.resume()
            self._speed.setText(self._speed_text)
        if state != "loading":
            self._hide_data_progress()
        self._show_state(state)
        self.refresh_times()
        self._update_ticking()

    def end_run(self, end: RunEnd) -> None:
        """Freeze the clock and show how the run ended (the banner says why)."""
        self._times.stop()
        self._update_ticking()
        self._hide_data_progress()
        if end.reason == "finished":
            self._batch_bar.setValue(self._batch_bar.maximum())
        if self._run is None:  # ended while loading: no epoch, no accuracy to show
            self._epoch.setText("No epoch ran")
            self._accuracy.setText("")
            self._batch_bar.setFormat("Not started")
        self._show_state(end.reason)
        self._speed.setText(self._speed_text)
        self.refresh_times()

    def refresh_times(self) -> None:
        """Redraw elapsed time and ETA from the clock; the 1 s tick calls this."""
        if self._run is None:
            return
        self._elapsed.setText(format_duration(self._times.elapsed()))
        eta = self._times.seconds_left()
        self._eta.setText(NO_VALUE if eta is None else format_duration(eta))

    def final_accuracy_text(self) -> str:
        return self._accuracy.text()

    # Plain-text views of the labels, for tests and for the main window's status bar.
    def state_text(self) -> str:
        return self._state.text()

    def epoch_text(self) -> str:
        return self._epoch.text()

    def elapsed_text(self) -> str:
        return self._elapsed.text()

    def eta_text(self) -> str:
        return self._eta.text()

    def speed_text(self) -> str:
        return self._speed.text()

    def bar_text(self) -> str:
        """What the batch bar says ("Batch 3 / 10", "Opened: RUN — 3 epochs, ...")."""
        return self._batch_bar.format()

    def batch_progress(self) -> tuple[int, int]:
        """(value, maximum) of the batch bar."""
        return self._batch_bar.value(), self._batch_bar.maximum()

    def data_progress(self) -> tuple[int, int]:
        """(value, maximum) of the data bar, in per mille; maximum 0 means indeterminate."""
        return self._data_bar.value(), self._data_bar.maximum()

    def is_ticking(self) -> bool:
        return self._tick.isActive()

    def data_progress_visible(self) -> bool:
        return not self._data_bar.isHidden()

    # --- Qt events ------------------------------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 (Qt name)
        super().showEvent(event)
        self._update_ticking()

    def hideEvent(self, event: QHideEvent) -> None:  # noqa: N802
        self._tick.stop()
        super().hideEvent(event)

    def reset(self) -> None:
        """Back to "no run" (e.g. when a checkpoint is opened)."""
        self._reset()

    # --- internals ------------------------------------------------------------------------

    def _reset(self) -> None:
        self._times.reset()
        self._run = None
        self._show_state("idle")
        self._epoch.setText(f"Epoch {NO_VALUE}")
        self._device.setText(NO_VALUE)
        self._batch_bar.setRange(0, 1)
        self._batch_bar.setValue(0)
        self._batch_bar.setFormat("No run")
        self._speed_text = NO_VALUE
        for label in (self._speed, self._running_acc, self._elapsed, self._eta):
            label.setText(NO_VALUE)
        self._accuracy.setText(f"Train {NO_VALUE}   Test {NO_VALUE}")
        self._accuracy.setToolTip("")
        self._hide_data_progress()
        self._update_ticking()

    def _show_accuracy(self, record: dict) -> None:
        """Train, validation (where there is one) and test accuracy of one epoch record."""
        parts = [f"{name} {record[key]:.1%}" for name, key in (
            ("Train", "train_acc"), ("Val", "val_acc"), ("Test", "test_acc"))
            if _finite(record.get(key))]
        self._accuracy.setText("   ".join(parts))

    def _show_state(self, state: str) -> None:
        self._state_name = state
        text, colour = STATES.get(state, (state.capitalize(), STATES["idle"][1]))
        self._state.setText(text)
        self._state.setStyleSheet(
            f"QLabel {{ background: {colour}; color: white; border-radius: 4px;"
            " padding: 2px 8px; font-weight: bold; }"
        )

    def _hide_data_progress(self) -> None:
        self._data_label.hide()
        self._data_bar.hide()

    def _update_ticking(self) -> None:
        if self._times.running and self.isVisible():
            self._tick.start()
        else:
            self._tick.stop()

    def _require_run(self, caller: str) -> RunStart:
        if self._run is None:
            raise RuntimeError(f"ProgressPanel.{caller} needs start_run(RunStart) first.")
        return self._run


def _finite(value: object) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def _hold_size(label: QLabel, widest: str) -> None:
    """Fix a label that changes with every batch to the size of the widest text it shows.

    A resizable label's new text asks every layout up to the window to be redone, and the
    tab widget answers that by repainting the whole tab: several times a second during a
    run, GUI-thread time taken from training. A fixed-size label repaints only itself."""
    label.setFixedSize(label.fontMetrics().horizontalAdvance(widest) + 4,
                       label.sizeHint().height())


def _scaled_font(base: QFont, factor: float, bold: bool = False) -> QFont:
    font = QFont(base)
    font.setPointSizeF(base.pointSizeF() * factor)
    font.setBold(bold)
    return font
