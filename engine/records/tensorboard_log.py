"""TensorBoard event files in a run folder, written as the run goes.

`tensorboard --logdir <runs folder>` then shows every run: per-batch loss and learning rate
(step axis), per-epoch losses and accuracies (epoch axis), the settings as text, and each
epoch's confusion matrix as an image (Images tab). Needs
the optional `tensorboard` package (`pip install "traindesk[tensorboard]"`); on by default
when it is installed.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
from pathlib import Path

import numpy as np

from engine.analysis import confusion_matrix, row_normalised
from engine.events import BatchEnd, EpochEnd, RunEnd, RunStart
from engine.records.run_folder import CONFIG_FILE, TENSORBOARD_PREFIX

EVENT_FILE_GLOB = f"{TENSORBOARD_PREFIX}*"
BATCH_TAGS = ("batch/loss", "batch/lr")
EPOCH_KEYS = ("train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc", "lr")
CONFUSION_TAG = "confusion_matrix"
# The heat map's ends, as in the window's Results tab: an empty cell, a whole row.
EMPTY_RGB, FULL_RGB = np.array([247, 251, 255]), np.array([8, 48, 107])
CONFUSION_PIXELS = 320  # the image's side, about; each cell at least 4 pixels


def tensorboard_installed() -> bool:
    return importlib.util.find_spec("tensorboard") is not None


def confusion_image(counts: np.ndarray) -> np.ndarray:
    """The confusion matrix as an RGB heat map (uint8, H x W x 3): row = true class, column =
    predicted class, each row's colour scaled to its total (as in the Results tab)."""
    shares = row_normalised(counts)[:, :, None]
    rgb = (EMPTY_RGB + shares * (FULL_RGB - EMPTY_RGB)).round().astype(np.uint8)
    cell = max(4, CONFUSION_PIXELS // max(len(counts), 1))
    return rgb.repeat(cell, axis=0).repeat(cell, axis=1)


class TensorBoardLog:
    """A trainer listener writing one run's scalars to event files in its folder."""

    def __init__(self, folder: str | Path, config: dict) -> None:
        from torch.utils.tensorboard import SummaryWriter  # needs the tensorboard package

        self.folder = Path(folder)
        before = set(self.folder.glob(EVENT_FILE_GLOB))
        self._writer = SummaryWriter(log_dir=str(self.folder), flush_secs=5)
        self._files = set(self.folder.glob(EVENT_FILE_GLOB)) - before
        settings = "\n".join(f"    {key}: {value}" for key, value in config.items())
        self._writer.add_text("config", settings)
        self._writer.add_text(CONFIG_FILE, "    " + json.dumps(config))

    def __call__(self, event: object) -> None:
        write = self._writer.add_scalar
        if isinstance(event, BatchEnd):
            write("batch/loss", event.loss, event.step)
            write("batch/lr", event.lr, event.step)
        elif isinstance(event, EpochEnd):
            for key in EPOCH_KEYS:
                value = getattr(event, key)
                if value is not None:
                    write(f"epoch/{key}", value, event.epoch)
            if event.evaluation is not None:
                found = event.evaluation
                counts = confusion_matrix(found.labels, found.predicted, found.num_classes)
                self._writer.add_image(CONFUSION_TAG, confusion_image(counts), event.epoch,
                                       dataformats="HWC")
            self._writer.flush()
        elif isinstance(event, RunStart):
            self._writer.add_text("device", event.device)
        elif isinstance(event, RunEnd):
            self._writer.add_text("end", f"{event.reason}: {event.message}")
            self._writer.flush()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._writer.close()

    def discard(self) -> None:
        """Remove the event files this run created (it trained nothing)."""
        self.close()
        for path in self._files:
            with contextlib.suppress(OSError):
                path.unlink()
