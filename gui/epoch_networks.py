"""The networks of the run on screen as they were after each epoch, for the Draw and Inside
tabs' epoch sliders.

A small run keeps every epoch's weights in its folder's epochs/ (engine/records/
epoch_checkpoints.py); a live run adds one at each epoch's end, before it says
`CheckpointSaved`. A person picks an epoch (`choose`); its checkpoint is read and turned
into a predictor on a background thread, latest request only, and kept (the last
`MAX_CACHED`), so dragging the slider back and forth reads each file once and never holds
up the window. While an epoch is chosen, the epochs next to it are read ahead, one at a
time, so the next step of a drag is usually ready.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from engine.events import CheckpointSaved, RunStart
from gui.background import JobFailed, LatestJob
from gui.draw_models import last_test_accuracy
from gui.run_model import OpenedRun, RunModel

if TYPE_CHECKING:  # these import PyTorch: loaded on the background thread
    from engine.inference.image_input import InputRecipe
    from engine.inference.predict import Predictor

# Networks kept in memory: each is at most 20 MB (EPOCH_LIMIT_BYTES), most far less.
MAX_CACHED = 12
OVER_LIMIT_NOTE = "Only the best and last epochs are kept for models over 20 MB."
NONE_KEPT_NOTE = ("This run kept no network per epoch (it was trained before TrainDesk "
                  "kept them): only its best and last epochs can be read.")


@dataclass(frozen=True)
class EpochNetwork:
    """One epoch's network, ready to read a drawing (`predictor`) or an image (`recipe`)."""

    epoch: int
    predictor: Predictor
    recipe: InputRecipe
    is_digits: bool
    test_accuracy: float | None  # after this epoch, where recorded


class EpochNetworks(QObject):
    """Which epochs the run on screen kept, which one a person chose, and its network.

    `changed` says the bars should show again (epochs, choice, loading, error);
    `network_changed(EpochNetwork | None)` says which network the tabs read with now
    (None: the Draw tab's chosen model)."""

    changed = Signal()
    network_changed = Signal(object)

    def __init__(self, run: RunModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._run = run
        self.folder: Path | None = None  # the run folder on screen; None: no run, or none kept
        self.epochs: list[int] = []  # its saved epochs, increasing
        self.note = ""  # why the run keeps no epoch to choose (then `epochs` stays empty)
        self.chosen: int | None = None  # the epoch a person chose to read with
        self.network: EpochNetwork | None = None  # the chosen epoch's, once read
        self.error = ""  # why the chosen epoch could not be read
        self._cache: OrderedDict[int, EpochNetwork] = OrderedDict()
        self._loader = LatestJob(self)
        self._loader.done.connect(self._on_loaded)
        run.run_beginning.connect(self._on_beginning)
        run.run_started.connect(self._on_started)
        run.job_event.connect(self._on_event)
        run.run_opened.connect(self._on_opened)

    @property
    def run_name(self) -> str:
        return self.folder.name if self.folder is not None else ""

    def loading(self) -> bool:
        """Whether the chosen epoch's network is being read."""
        return (self.chosen is not None and not self.error
                and (self.network is None or self.network.epoch != self.chosen))

    def choose(self, epoch: int | None) -> None:
        """Read with the network after `epoch` (one of `epochs`), or None: with the Draw
        tab's chosen model again."""
        if epoch is not None and epoch not in self.epochs:
            raise ValueError(f"Epoch {epoch} is not among the saved epochs {self.epochs}.")
        if epoch == self.chosen:
            return
        self.chosen, self.error = epoch, ""
        if epoch is None:
            self._set_network(None)
        elif epoch in self._cache:
            self._cache.move_to_end(epoch)
            self._set_network(self._cache[epoch])
        else:  # the network shown stays until this one is read: no flicker while dragging
            self._load(epoch)
        self.changed.emit()

    def cached_epochs(self) -> list[int]:
        """The epochs whose network is in memory (tests, the bench)."""
        return sorted(self._cache)

    def wait(self, timeout: float | None = None) -> None:
        """Block until the epoch being read is read (tests)."""
        self._loader.wait(timeout)

    # -- following the run on screen -----------------------------------------------------

    def _on_beginning(self, continuing: bool) -> None:
        if not continuing:
            self._show_run(None, "")

    def _on_started(self, start: RunStart) -> None:
        folder = Path(start.run_dir) if start.run_dir else None
        # A run continued from an earlier epoch trains the later ones again.
        for epoch in [e for e in self._cache if e > start.start_epoch]:
            del self._cache[epoch]
        self._show_run(folder, "" if start.keeps_epochs else OVER_LIMIT_NOTE)

    def _on_event(self, event: object) -> None:
        if (isinstance(event, CheckpointSaved) and self.folder is not None
                and not self.note and Path(event.path).parent == self.folder):
            self._list_epochs()

    def _on_opened(self, opened: OpenedRun) -> None:
        from engine.records.epoch_checkpoints import keeps_every_epoch, saved_epochs

        folder = opened.folder
        note = ""
        if folder is not None and not saved_epochs(folder):
            checkpoint = self._run.checkpoint
            small = checkpoint is not None and keeps_every_epoch(checkpoint.model_state)
            note = NONE_KEPT_NOTE if small else OVER_LIMIT_NOTE
        self._show_run(folder, note)

    def _show_run(self, folder: Path | None, note: str) -> None:
        same = folder is not None and folder == self.folder
        self.folder, self.note = folder, note
        if not same:  # another run: nothing read from the last one is valid
            self._cache.clear()
            self.chosen, self.error = None, ""
            self._set_network(None)
        self._list_epochs()

    def _list_epochs(self) -> None:
        """Read which epochs the folder holds now (a directory listing: quick). A chosen
        newest epoch follows the newest."""
        from engine.records.epoch_checkpoints import saved_epochs

        old = self.epochs
        self.epochs = saved_epochs(self.folder) if self.folder is not None and not self.note else []
        if self.chosen is not None and self.chosen not in self.epochs:
            self.chosen, self.error = None, ""
            self._set_network(None)
        elif self.chosen is not None and old and self.chosen == old[-1] != self.epochs[-1]:
            self.chosen = None  # following the newest: on to the new one
            self.choose(self.epochs[-1])
            return
        self.changed.emit()

    # -- reading checkpoints -------------------------------------------------------------

    def _load(self, epoch: int) -> None:
        folder = self.folder
        assert folder is not None
        self._loader.submit((folder, epoch), lambda: _read_network(folder, epoch))

    def _on_loaded(self, tag: tuple[Path, int], result: object) -> None:
        folder, epoch = tag
        if folder != self.folder:
            return  # another run is on screen now
        if isinstance(result, JobFailed):
            if epoch == self.chosen:
                self.error = f"The network after epoch {epoch} could not be read: {result.error}"
                self.changed.emit()
            return
        assert isinstance(result, EpochNetwork)
        self._cache[epoch] = result
        self._cache.move_to_end(epoch)
        while len(self._cache) > MAX_CACHED:
            self._cache.popitem(last=False)
        if epoch == self.chosen:
            self._set_network(result)
            self.changed.emit()
        self._read_ahead()

    def _read_ahead(self) -> None:
        """Read the nearest epoch not yet in memory, next to the chosen one."""
        if self.chosen is None or self._loader.busy() or len(self._cache) >= MAX_CACHED:
            return
        at = self.epochs.index(self.chosen)
        for step in (1, -1, 2, -2):
            if 0 <= at + step < len(self.epochs) and self.epochs[at + step] not in self._cache:
                self._load(self.epochs[at + step])
                return

    def _set_network(self, network: EpochNetwork | None) -> None:
        if network is not self.network:
            self.network = network
            self.network_changed.emit(network)


def _read_network(folder: Path, epoch: int) -> EpochNetwork:
    """Runs off the GUI thread: one epoch's checkpoint, ready to predict."""
    from engine.inference.image_input import InputRecipe
    from engine.inference.predict import Predictor
    from engine.records.epoch_checkpoints import load_epoch_checkpoint

    checkpoint = load_epoch_checkpoint(folder, epoch)
    return EpochNetwork(epoch, Predictor.from_checkpoint(checkpoint),
                        InputRecipe.from_checkpoint(checkpoint), checkpoint.is_digits,
                        last_test_accuracy(checkpoint))
