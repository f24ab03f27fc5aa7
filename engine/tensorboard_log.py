"""TensorBoard event files in a run folder, written as the run goes.

`tensorboard --logdir <runs folder>` then shows every run: per-batch loss and learning rate
(step axis), per-epoch losses and accuracies (epoch axis), and the settings as text. Needs
the optional `tensorboard` package (`pip install "traindesk[tensorboard]"`); on by default
when it is installed.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
from pathlib import Path

from engine.events import BatchEnd, EpochEnd, RunEnd, RunStart

EVENT_FILE_GLOB = "events.out.tfevents.*"
BATCH_TAGS = ("batch/loss", "batch/lr")
EPOCH_KEYS = ("train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc", "lr")


def tensorboard_installed() -> bool:
    return importlib.util.find_spec("tensorboard") is not None


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
        self._writer.add_text("config.json", "    " + json.dumps(config))

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
