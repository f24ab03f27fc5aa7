"""A run's story in its folder: each test image's answers (samples.npz) and, for a small
model, each epoch's weights (epochs/), from the run's start to its end.

Written at every epoch's end just before the run's checkpoint (engine/training/recording.py),
so a run killed in between leaves them one epoch ahead of the checkpoint, never behind: a
run continuing that checkpoint cuts them back to its epoch and goes on.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from engine.analysis import Evaluation
from engine.data.types import ImageDataset
from engine.events import Listener, LogLine
from engine.records.checkpoint import Checkpoint
from engine.records.epoch_checkpoints import (
    keeps_every_epoch,
    not_kept_note,
    remove_epochs_after,
    save_epoch_checkpoint,
)
from engine.records.run_folder import EPOCHS_FOLDER, continues_own_run
from engine.records.sample_history import (
    SampleHistory,
    SampleHistoryError,
    load_history,
    samples_path,
    save_history,
)


class RunStory:
    """samples.npz and epochs/ of the run writing `folder`."""

    def __init__(self, folder: Path, resume_from: str | Path | None) -> None:
        self.folder, self.resume_from = folder, resume_from
        self.samples: SampleHistory | None = None  # once begun
        self.keeps_epochs = False  # each epoch's weights go to epochs/ (small models)

    def begin(self, dataset: ImageDataset, model_state: dict, arch: str, epoch: int,
              listener: Listener, allowed: bool = True) -> bool:
        """Begin after `epoch` epochs (0, or the epoch of the checkpoint continued) and
        return whether every epoch's weights are kept (a run that keeps none says so; with
        `allowed` False none is: a sweep's trial).

        A run continuing a checkpoint continues the history beside it (its own folder's,
        or the folder it was resumed from) up to that epoch; the epochs/ files after it are
        of the run's abandoned future and go.
        """
        labels = dataset.test_labels.numpy()
        test_index = dataset.test_index.numpy() if dataset.test_index is not None else None
        fresh = SampleHistory.start(labels, dataset.num_classes, test_index)
        self.samples = self._continued(fresh, epoch, listener) or fresh
        own = continues_own_run(self.folder, self.resume_from)
        remove_epochs_after(self.folder, epoch if own else 0)
        self.keeps_epochs = allowed and keeps_every_epoch(model_state)
        if not allowed:
            listener(LogLine("A sweep's trial keeps only best.pt and checkpoint.pt, not "
                             "every epoch's weights."))
        elif not self.keeps_epochs:
            listener(LogLine(not_kept_note(arch, model_state)))
        return self.keeps_epochs

    def _continued(self, fresh: SampleHistory, epoch: int,
                   listener: Listener) -> SampleHistory | None:
        """The history beside the checkpoint resumed from, up to its epoch, where it is of
        the same test images; None where there is none to continue."""
        if self.resume_from is None or epoch == 0:
            return None
        source = Path(self.resume_from).expanduser().parent
        if source.name == EPOCHS_FOLDER:  # an epoch's own checkpoint
            source = source.parent
        try:
            history = load_history(source)
        except SampleHistoryError as error:
            listener(LogLine(f"Each image's history starts again at epoch {epoch + 1}: "
                             f"{error}", "warning"))
            return None
        if history is None:
            return None
        same = (history.num_classes == fresh.num_classes
                and history.labels.shape == fresh.labels.shape
                and (history.labels == fresh.labels).all()
                and (history.test_index == fresh.test_index).all())
        if not same:
            listener(LogLine(f"Each image's history starts again at epoch {epoch + 1}: the "
                             f"one in {source} is of other test images.", "warning"))
            return None
        return history.up_to(epoch)

    def save(self, saved: Checkpoint, evaluation: Evaluation | None) -> None:
        """Add the epoch `saved` holds: its test answers and, for a small model, its
        weights. Raises OSError where the folder cannot be written."""
        if self.samples is not None and evaluation is not None:
            self.samples = self.samples.with_epoch(evaluation)
            save_history(self.folder, self.samples)
        if self.keeps_epochs:
            save_epoch_checkpoint(self.folder, saved)

    def discard(self) -> None:
        """Remove what a run that saved no checkpoint wrote: no run without one."""
        with contextlib.suppress(OSError):
            samples_path(self.folder).unlink()
        remove_epochs_after(self.folder, 0)
