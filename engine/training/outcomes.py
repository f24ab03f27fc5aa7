"""How a run ends, in sentences a person can act on.

Two parts: the one mapping from a problem (bad settings, missing data, out of memory, a
batch too small for BatchNorm, anything else) to its message, which the trainer and the
LR finder (engine/lr_finder/search.py) share; and the trainer's endings (finished, learned
nothing, stopped, diverged, a full disk), each saying what was kept and what was saved, as
it is: never a save that did not happen.
"""

from __future__ import annotations

import errno
import traceback
from dataclasses import dataclass
from pathlib import Path

import torch

from engine import analysis
from engine.catalog import arch_title
from engine.config import ConfigError, TrainConfig
from engine.data.types import DatasetError, ImageDataset
from engine.events import Listener, LogLine
from engine.records.checkpoint import CheckpointError
from engine.records.run_folder import RunFolderError
from engine.text import plural
from engine.training.distributed import World

# Problems whose message is their own text: a person fixes the setting, data or file.
EXPECTED_PROBLEMS = (ConfigError, DatasetError, CheckpointError, RunFolderError)


class SaveFailed(Exception):
    """The run folder could not be written at an epoch's end."""

    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error


class Diverged(Exception):
    """A batch's loss was not a number."""

    def __init__(self, epoch: int, batch: int, loss: float) -> None:
        super().__init__(f"loss {loss} at epoch {epoch}, batch {batch}")
        self.epoch, self.batch, self.loss = epoch, batch, loss


def sentence(text: str) -> str:
    """text with its first letter capitalised (str.capitalize would lower a path's)."""
    return text[:1].upper() + text[1:]


def is_out_of_memory(error: BaseException) -> bool:
    return isinstance(error, (torch.OutOfMemoryError, MemoryError)) or (
        isinstance(error, RuntimeError) and "out of memory" in str(error).lower()
    )


def is_batch_too_small_for_batch_norm(error: BaseException) -> bool:
    return isinstance(error, ValueError) and "more than 1 value per channel" in str(error)


def expected_problem(error: Exception) -> str:
    """The message of one of EXPECTED_PROBLEMS."""
    return f"Invalid setting: {error}" if isinstance(error, ConfigError) else str(error)


def failure_message(error: Exception, config: TrainConfig, listener: Listener, *,
                    what: str = "Training", on: str | None = None,
                    peers: World | None = None) -> str:
    """What an unexpected error means and what to do; one that is not a known problem is
    also logged with its traceback. on: the device, where the message names it; peers:
    the torchrun processes, whose loss ends this one too."""
    batch_size = config.batch_size
    if is_out_of_memory(error):
        where = f" on {on}" if on else ""
        return (f"Out of memory{where} with batch size {batch_size}. Try a smaller batch size "
                f"(e.g. {max(1, batch_size // 2)}) or a smaller model.")
    if is_batch_too_small_for_batch_norm(error):
        return (f"Batch size {batch_size} is too small for {arch_title(config.arch)}: its "
                "batch normalisation needs more than one value per channel in each batch. "
                "Use a batch size of 2 or more (or larger images).")
    if peers is not None and peers.lost_peer(error):
        return peers.lost_peer_message(error)
    listener(LogLine("".join(traceback.format_exception(error)).rstrip(), "error"))
    return f"{what} failed: {type(error).__name__}: {error}"


@dataclass(frozen=True)
class RunSoFar:
    """What a run did by its end: the facts its messages are made of."""

    config: TrainConfig
    dataset: ImageDataset | None
    history: list[dict]
    changes: list[dict]
    start_epoch: int  # the epochs done when this run started (a resumed checkpoint's)
    epochs_done: int
    kept: bool  # whether the model holds a complete epoch (trained or resumed)
    resume_from: str | Path | None
    run_dir: Path | None  # the run folder asked for
    in_folder: bool  # whether the run claimed its folder
    saved_path: Path | None  # the run folder's checkpoint, once written
    saved_epoch: int  # the epoch that checkpoint holds


def ending(run: RunSoFar) -> tuple[str, str]:
    """(reason, message) of a run that trained all its epochs."""
    if run.epochs_done > run.start_epoch and verdict(run) == "nothing":
        return "learned_nothing", _learned_nothing(run)
    return "finished", _finished(run)


def stopped(run: RunSoFar, stopped_by: str) -> str:
    if run.epochs_done == run.start_epoch:
        if run.start_epoch == 0:
            return ("Stopped before the first epoch ended: nothing was trained yet, nothing "
                    "was saved.")
        return (f"Stopped before epoch {run.start_epoch + 1} ended: nothing new was trained, "
                f"nothing was saved; {run.resume_from} still holds epoch {run.start_epoch}.")
    return (f"Stopped by {stopped_by} after {run.epochs_done} of "
            f"{plural(run.config.epochs, 'epoch')}; {kept_and_saved(run)}")


def diverged(run: RunSoFar, error: Diverged) -> str:
    return (f"Training diverged at epoch {error.epoch}, batch {error.batch}: the loss became "
            f"{error.loss}. Lower the learning rate (try {run.config.lr / 10:g}) and train "
            f"again. {sentence(kept_and_saved(run))}")


def failed(run: RunSoFar, message: str) -> str:
    """A failure's message (`failure_message`) with what was kept and saved."""
    return f"{message} {sentence(kept_and_saved(run))}"


def save_failed(run: RunSoFar, error: OSError) -> str:
    """What a failed write of the run folder means: the disk full, or another problem,
    what was kept and saved, and what to do."""
    if error.errno == errno.ENOSPC:
        why = (f"The disk holding the run folder {run.run_dir} is full (No space left "
               f"on device)")
    else:
        why = f"Could not write to the run folder {run.run_dir}: {error}"
    record = ""
    if run.saved_path is not None and run.saved_epoch == run.epochs_done:
        record = (f" Its record (metrics.jsonl) may end before epoch {run.epochs_done}; "
                  "a run continued from the checkpoint writes it again.")
    return (f"{why}. {sentence(kept_and_saved(run))}{record} Free some space or choose "
            "another folder, then continue from the checkpoint.")


def kept_and_saved(run: RunSoFar) -> str:
    """What was kept and what was saved, as it is: never a save that did not happen."""
    if not run.kept:
        return "no epoch was completed, so nothing was saved."
    if run.epochs_done == run.start_epoch:
        return (f"nothing new was trained, nothing was saved; {run.resume_from} still "
                f"holds epoch {run.epochs_done}.")
    kept = f"the model after epoch {run.epochs_done} was kept"
    if not run.in_folder:
        return kept + "."
    if run.saved_path is not None and run.saved_epoch == run.epochs_done:
        return f"{kept} and saved in {run.saved_path}."
    if run.saved_path is not None:
        return (f"{kept} but not saved; {run.saved_path} holds the model after epoch "
                f"{run.saved_epoch}.")
    return f"{kept} but not saved: nothing was saved."


def chance(run: RunSoFar) -> float:
    """The test accuracy of guessing on this dataset (engine.analysis)."""
    return analysis.chance_accuracy(run.dataset.test_labels.tolist(), run.dataset.num_classes)


def verdict(run: RunSoFar) -> str:
    """"learned", "nothing" or "too_small": see engine.analysis.chance_verdict."""
    return analysis.chance_verdict(run.history[-1]["test_acc"], chance(run),
                                   len(run.dataset.test_labels))


def _finished(run: RunSoFar) -> str:
    if run.epochs_done == run.start_epoch:
        return (f"Nothing to do: the checkpoint already has "
                f"{plural(run.epochs_done, 'epoch')}. "
                "Raise the number of epochs to train on.")
    last = run.history[-1]
    message = (f"Finished {plural(run.epochs_done, 'epoch')}: test accuracy "
               f"{last['test_acc']:.2%}, test loss {last['test_loss']:.4f}.")
    if verdict(run) == "too_small":
        message += " " + _too_small(run)
    return message


def _too_small(run: RunSoFar) -> str:
    """Why a finished run gets no verdict on whether it learned (engine.analysis)."""
    n, guessing = len(run.dataset.test_labels), chance(run)
    if n == 0:
        return "There are no test images, so nothing tells whether the model learned."
    if guessing >= 1.0:
        return ("Every test image is of one class, so always answering it scores 100%: "
                "nothing tells whether the model learned. Add test images of the other "
                "classes.")
    needed = analysis.images_to_judge(run.history[-1]["test_acc"], guessing)
    enough = f"; at this accuracy about {needed:,} test images would tell" if needed else ""
    return (f"The test set of {plural(n, 'image')} is too small to judge whether the "
            f"model learned more than guessing would score ({guessing:.1%}){enough}. Add "
            "more images per class for a verdict.")


def _learned_nothing(run: RunSoFar) -> str:
    last, guessing = run.history[-1], chance(run)
    why = analysis.why_nothing_was_learned(run.history, guessing, run.dataset.num_classes,
                                           run.config.optimizer, run.config.lr, run.changes)
    return (f"Learned nothing: after {plural(run.epochs_done, 'epoch')} the test accuracy is "
            f"{last['test_acc']:.1%}, no better than guessing ({guessing:.1%}). {why} "
            f"The run is kept as a complete record: {kept_and_saved(run)}")
