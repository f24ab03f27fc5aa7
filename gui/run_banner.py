"""The Training tab's one place for what a person must know about the run, said once and
short, with the buttons to act on it: where a run was saved, why it stopped or failed, a
dataset that could not be downloaded, and whether to go on with a run that will be slow.

Long details (URLs, each mirror's error) wait behind a "Details" toggle.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine.catalog import arch_title
from engine.durations import rough_duration
from engine.events import MissingData, RunEnd, RunEstimate

# A run estimated to take longer than this is paused and the person asked whether to go on.
LONG_RUN_SECONDS = 10 * 60
# Quick networks to name when a run is slow (not named when the run already uses one).
FAST_ARCHS = ("lenet5-relu", "cifar-cnn")
SMALL_ARCHS = ("softmax", "mlp", "lenet5", *FAST_ARCHS)

# kind -> (text, background, border); every text colour is AA (>= 4.5:1) on its background.
BANNER_COLOURS = {
    "finished": ("#0d3c61", "#e3f2fd", "#64a0d6"),
    "stopped": ("#5f4b00", "#fff4ce", "#c9a227"),
    "question": ("#5f4b00", "#fff4ce", "#c9a227"),
    "diverged": ("#7a2e00", "#ffe3d3", "#d98a5f"),
    "learned_nothing": ("#7a2e00", "#ffe3d3", "#d98a5f"),
    "failed": ("#8a1c1c", "#fde2e2", "#d67b7b"),
}


def display_path(path: str | Path) -> str:
    """The path as a person reads it: the home folder as "~"."""
    path, home = Path(path), Path.home()
    try:
        return str(Path("~") / path.relative_to(home))
    except ValueError:
        return str(path)


def is_long(estimate: RunEstimate) -> bool:
    return estimate.total_seconds > LONG_RUN_SECONDS


def faster_choices(estimate: RunEstimate, arch: str) -> list[str]:
    """What would make the run quicker, most effective first."""
    choices = []
    if estimate.faster_device:
        choices.append(f"the GPU ({estimate.faster_device}, under Device)")
    if arch not in SMALL_ARCHS:
        smaller = " or ".join(arch_title(a) for a in FAST_ARCHS)
        choices.append(f"a smaller network such as {smaller}")
    if estimate.epochs > 1:
        per_epoch = rough_duration(estimate.seconds_per_epoch)
        choices.append(f"fewer epochs (about {per_epoch} each)")
    return choices


def open_folder(path: str | Path) -> str | None:
    """Open a folder in the desktop's file manager, creating it first; None when done, else
    why it could not be."""
    try:
        Path(path).mkdir(parents=True, exist_ok=True)
    except OSError as error:
        return f"The folder {display_path(path)} cannot be created: {error.strerror or error}."
    if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(path))):
        return f"No file manager opened {display_path(path)}; open it yourself."
    return None


class RunBanner(QFrame):
    """Hidden until there is something to say. Call only on the GUI thread."""

    continue_requested = Signal()  # go on with a slow run
    stop_requested = Signal()  # stop a slow run
    use_sample_requested = Signal()  # switch to the bundled MNIST sample and train

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("run_banner")
        self._kind = ""
        self._text = QLabel()
        self._text.setWordWrap(True)
        self._text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._details = QLabel()
        self._details.setWordWrap(True)
        self._details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._details_button = QToolButton()
        self._details_button.setText("Details")
        self._details_button.setCheckable(True)
        self._details_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self._details_button.setArrowType(Qt.ArrowType.RightArrow)
        self._details_button.toggled.connect(self._show_details)
        self._buttons = QHBoxLayout()
        self._buttons.setSpacing(6)

        row = QHBoxLayout()
        row.addWidget(self._text, 1)
        row.addLayout(self._buttons)
        row.addWidget(self._details_button, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.setSpacing(4)
        layout.addLayout(row)
        layout.addWidget(self._details)
        self.hide()

    # --- what to say ----------------------------------------------------------------------

    def show_end(self, end: RunEnd, run_folder: str | Path | None) -> None:
        """How the run ended, and where it was saved (when it was)."""
        if end.missing_data is not None:
            self.show_missing_data(end.missing_data)
            return
        text = end.message
        actions: list[tuple[str, Callable[[], None]]] = []
        if run_folder is not None and Path(run_folder).is_dir():
            # "Saved" only when the model shown is the one saved: after a failed save (a
            # full disk) the message says what was and was not; the folder is still there.
            where = "Saved in" if end.checkpoint_path is not None else "Run folder:"
            text += f"\n{where} {display_path(run_folder)}"
            actions.append(("Open folder", lambda: self._open(run_folder)))
        self._say(end.reason, text, actions)

    def show_missing_data(self, missing: MissingData) -> None:
        if missing.kind == "weights":
            self._show_missing_weights(missing)
            return
        text = (f"{missing.title} is not on this computer and could not be downloaded "
                f"(offline?).\nPut its files in {display_path(missing.folder)}, or use the "
                "bundled MNIST sample.")
        details = (f"Download {', '.join(missing.files)} from {missing.source} into "
                   f"{missing.folder}.\n\nWhat went wrong:\n"
                   + "\n".join(missing.details.split("; ")))
        self._say("failed", text, [
            ("Open data folder", lambda: self._open(missing.folder)),
            ("Use the bundled MNIST sample", self.use_sample_requested.emit),
        ], details)

    def _show_missing_weights(self, missing: MissingData) -> None:
        text = (f"{missing.title} ({', '.join(missing.files)}) are not on this computer and "
                "could not be downloaded (offline?).\nPut the file in "
                f"{display_path(missing.folder)}, or pick a network that is not pretrained.")
        details = (f"Download {missing.source} into {missing.folder} (torchvision's cache; "
                   "the TORCH_HOME environment variable moves it).\n\nWhat went wrong:\n"
                   + missing.details)
        self._say("failed", text, [("Open weights folder", lambda: self._open(missing.folder))],
                  details)

    def ask_about_slow_run(self, estimate: RunEstimate, arch: str) -> None:
        where = "the CPU" if estimate.device == "CPU" else estimate.device
        epochs = f"{estimate.epochs} epoch{'s' if estimate.epochs != 1 else ''}"
        text = (f"This run will take about {rough_duration(estimate.total_seconds)} on {where} "
                f"({epochs}). It is paused until you choose.")
        choices = faster_choices(estimate, arch)
        if choices:
            text += "\nFaster: " + _either(choices) + "."
        self._say("question", text, [("Continue", self._continue), ("Stop", self._stop)])

    def show_refusal(self, message: str) -> None:
        self._say("failed", message, [])

    def dismiss_question(self) -> None:
        """The slow-run question has been answered some other way (Resume, Stop)."""
        if self._kind == "question":
            self.hide()

    # --- reading it back (tests, the log) -------------------------------------------------

    def text(self) -> str:
        return "" if self.isHidden() else self._text.text()

    def kind(self) -> str:
        return self._kind if not self.isHidden() else ""

    def details_text(self) -> str:
        return "" if self._details_button.isHidden() else self._details.text()

    def details_shown(self) -> bool:
        return not self._details.isHidden()

    def button(self, text: str) -> QPushButton | None:
        for index in range(self._buttons.count()):
            widget = self._buttons.itemAt(index).widget()
            if isinstance(widget, QPushButton) and widget.text() == text:
                return widget
        return None

    def button_texts(self) -> list[str]:
        return [self._buttons.itemAt(i).widget().text() for i in range(self._buttons.count())]

    # --- internals ------------------------------------------------------------------------

    def _say(self, kind: str, text: str, actions: list[tuple[str, Callable[[], None]]],
             details: str = "") -> None:
        self._kind = kind
        fg, bg, border = BANNER_COLOURS[kind]
        self.setStyleSheet(
            f"QFrame#run_banner {{ background: {bg}; border: 1px solid {border};"
            " border-radius: 4px; }"
            f" QFrame#run_banner QLabel, QFrame#run_banner QToolButton {{ color: {fg};"
            " background: transparent; border: none; }")
        self._text.setText(text)
        while self._buttons.count():
            self._buttons.takeAt(0).widget().deleteLater()
        for label, slot in actions:
            button = QPushButton(label)
            button.clicked.connect(lambda _checked=False, act=slot: act())
            self._buttons.addWidget(button, 0, Qt.AlignmentFlag.AlignTop)
        self._details.setText(details)
        self._details_button.setChecked(False)
        self._details_button.setVisible(bool(details))
        self._details.hide()
        self.show()

    def _show_details(self, shown: bool) -> None:
        self._details.setVisible(shown)
        self._details_button.setArrowType(Qt.ArrowType.DownArrow if shown
                                          else Qt.ArrowType.RightArrow)

    def _open(self, folder: str | Path) -> None:
        problem = open_folder(folder)
        if problem:
            self._text.setText(f"{self._text.text()}\n{problem}")

    def _continue(self) -> None:
        self.hide()
        self.continue_requested.emit()

    def _stop(self) -> None:
        self.hide()
        self.stop_requested.emit()


def _either(choices: list[str]) -> str:
    return choices[0] if len(choices) == 1 else ", ".join(choices[:-1]) + " or " + choices[-1]
