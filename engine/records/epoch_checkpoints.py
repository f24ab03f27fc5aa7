"""Each epoch's weights, for small models: the run folder's `epochs/epoch-0003.pt`.

A model whose weights are at most `EPOCH_LIMIT_BYTES` (20 MB: LeNet-5, the small CNNs,
MobileNet-sized networks) keeps one checkpoint per epoch, so the window can show how the
network read a drawing at any epoch; a larger one keeps `best.pt` and `checkpoint.pt`
only. An epoch's file is an ordinary sealed checkpoint (engine.records.checkpoint) without
the optimizer's state: weights and everything needed to open it, not to continue it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
from pathlib import Path

import torch

from engine.catalog import arch_title
from engine.records.checkpoint import Checkpoint, CheckpointError, load_checkpoint, save_checkpoint
from engine.records.run_folder import EPOCHS_FOLDER
from engine.runtime.memory import byte_text

EPOCH_LIMIT_BYTES = 20 * 2**20  # a model's weights at most this: every epoch is kept
_NAME = re.compile(r"epoch-(\d{4,})\.pt")


def weights_bytes(model_state: dict) -> int:
    """The size of a model's weights (and buffers) as saved."""
    return sum(value.numel() * value.element_size() for value in model_state.values()
               if isinstance(value, torch.Tensor))


def keeps_every_epoch(model_state: dict) -> bool:
    """Whether a model of these weights keeps every epoch's checkpoint."""
    return weights_bytes(model_state) <= EPOCH_LIMIT_BYTES


def not_kept_note(arch: str, model_state: dict) -> str:
    """The log line of a run that keeps no epochs."""
    return (f"{arch_title(arch)}'s weights are {byte_text(weights_bytes(model_state))}: only "
            f"best.pt and checkpoint.pt are kept, not every epoch (each epoch's weights are "
            f"kept for models up to {byte_text(EPOCH_LIMIT_BYTES)}).")


def epoch_checkpoint_path(run_folder: Path, epoch: int) -> Path:
    return Path(run_folder) / EPOCHS_FOLDER / f"epoch-{epoch:04d}.pt"


def saved_epochs(run_folder: Path) -> list[int]:
    """The epochs whose checkpoints the run folder keeps, in order."""
    try:
        names = [path.name for path in (Path(run_folder) / EPOCHS_FOLDER).iterdir()]
    except OSError:
        return []
    return sorted(int(match[1]) for name in names if (match := _NAME.fullmatch(name)))


def save_epoch_checkpoint(run_folder: Path, checkpoint: Checkpoint) -> Path:
    """Write the weights of `checkpoint`'s epoch to epochs/, atomically."""
    weights_only = dataclasses.replace(checkpoint, optimizer_state=None,
                                       scheduler_state=None, scaler_state=None)
    return save_checkpoint(epoch_checkpoint_path(run_folder, checkpoint.epoch), weights_only)


def load_epoch_checkpoint(run_folder: Path, epoch: int) -> Checkpoint:
    """Epoch `epoch`'s checkpoint (optimizer state None), which Open checkpoint and the
    predictor accept; raises CheckpointError where it is not kept or cannot be read."""
    path = epoch_checkpoint_path(run_folder, epoch)
    if not path.is_file():
        kept = saved_epochs(run_folder)
        raise CheckpointError(
            f"Epoch {epoch}'s weights are not kept in {run_folder}"
            + (f" (it keeps epochs {kept[0]}-{kept[-1]})." if kept else
               f": the run keeps every epoch's weights only for models up to "
               f"{byte_text(EPOCH_LIMIT_BYTES)}.")
            + f" Open {run_folder}'s best.pt or checkpoint.pt instead.")
    return load_checkpoint(path)


def remove_epochs_after(run_folder: Path, epoch: int) -> None:
    """Remove the epoch checkpoints after `epoch` (a run continued from it trains them
    again; 0: all), and the epochs folder if it is left empty."""
    for later in saved_epochs(run_folder):
        if later > epoch:
            with contextlib.suppress(OSError):
                epoch_checkpoint_path(run_folder, later).unlink()
    with contextlib.suppress(OSError):
        (Path(run_folder) / EPOCHS_FOLDER).rmdir()  # only when empty
