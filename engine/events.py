"""What the trainer reports while it runs: plain dataclasses handed to a listener.

A listener is any callable taking one event. The GUI's worker turns them into throttled Qt
signals; the CLI prints them. Events are emitted on the training thread.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from engine.analysis import Evaluation
    from engine.config import TrainConfig
    from engine.stats import Summary


@dataclass(frozen=True)
class LogLine:
    message: str
    level: str = "info"  # "info" | "warning" | "error"


@dataclass(frozen=True)
class DataProgress:
    """Download or loading progress of a dataset; total is 0 when unknown."""

    dataset: str
    message: str
    done: int
    total: int


@dataclass(frozen=True)
class RunStart:
    arch: str
    dataset: str
    device: str  # human label, e.g. "CPU" or "CUDA 0: NVIDIA H100"
    epochs: int  # the epoch this run ends at (a resumed run starts after start_epoch)
    start_epoch: int  # epochs already done (0 unless resumed)
    batches_per_epoch: int
    train_size: int
    val_size: int
    test_size: int
    num_params: int
    class_names: tuple[str, ...]
    input_shape: tuple[int, int, int]  # (C, H, W) the network sees
    history: tuple[dict, ...] = ()  # records of the epochs already done (a resumed run)
    # The test set as the dataset holds it, uint8 (N, C, H, W) and int64 (N,): references
    # (never copies) for the Results tab's thumbnails; row i is `Evaluation` row i.
    test_images: np.ndarray | None = field(default=None, repr=False, compare=False)
    test_labels: np.ndarray | None = field(default=None, repr=False, compare=False)
    steps_done: int = 0  # optimisation steps already taken (a resumed run)
    changes: tuple[dict, ...] = ()  # SettingsChanged.as_record() of the settings changed so far
    world_size: int = 1  # processes training together (torchrun: engine/training/distributed.py)
    run_dir: str | None = None  # the run folder this run claimed (None: it writes none)
    # Whether the run keeps every epoch's weights in its folder's epochs/ (small models:
    # engine/records/epoch_checkpoints.py); False for a run that writes no folder.
    keeps_epochs: bool = False
    # A run that left test images out (a child run, engine/data/leave_out.py): the original
    # test-set index of each test image, int64 (N,); None: row i is test image i.
    test_index: np.ndarray | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class BatchEnd:
    epoch: int  # 1-based
    batch: int  # 1-based index within the epoch
    batches_per_epoch: int
    step: int  # global optimisation step, 1-based
    loss: float  # this batch's training loss
    accuracy: float  # running training accuracy of this epoch so far, 0..1
    examples_per_sec: float
    lr: float


@dataclass(frozen=True)
class RunEstimate:
    """How long the run will take, measured on its first batches (sent once per run)."""

    seconds_per_epoch: float
    total_seconds: float  # all the epochs this run trains
    epochs: int
    device: str  # human label, as in RunStart
    faster_device: str | None = None  # a GPU this computer has, when the run is on the CPU


@dataclass(frozen=True)
class EpochEnd:
    epoch: int  # 1-based
    epochs: int
    train_loss: float
    train_acc: float
    val_loss: float | None
    val_acc: float | None
    test_loss: float
    test_acc: float
    lr: float
    seconds: float
    # Per test image: the prediction and its confidence (engine.analysis). Shown, not saved:
    # `as_record()` (the history, metrics.jsonl, checkpoints) leaves it out.
    evaluation: Evaluation | None = field(default=None, repr=False, compare=False)
    steps: int = 0  # optimisation steps taken by this epoch's end, all epochs together

    def as_record(self) -> dict[str, float | int | None]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "evaluation"}


@dataclass(frozen=True)
class SettingsChanged:
    """Settings changed during the run (engine/training/changes.py), from `step` on.

    `changes` maps each setting to [old, new]. Batch sizes change at an epoch's start, the
    others at the next batch after they were asked for.
    """

    step: int  # the first optimisation step taken with the new settings, 1-based
    epoch: int  # 1-based
    batch: int  # 1-based index of that step within its epoch
    batches_per_epoch: int
    changes: dict[str, list]

    def as_record(self) -> dict:
        return {"step": self.step, "epoch": self.epoch, "batch": self.batch,
                "batches_per_epoch": self.batches_per_epoch,
                "changes": {k: list(v) for k, v in self.changes.items()}}

    @classmethod
    def from_record(cls, record: dict) -> SettingsChanged:
        return cls(step=int(record["step"]), epoch=int(record["epoch"]),
                   batch=int(record["batch"]), batches_per_epoch=int(record["batches_per_epoch"]),
                   changes={k: list(v) for k, v in record["changes"].items()})


@dataclass(frozen=True)
class CheckpointSaved:
    """The run folder's checkpoint now holds `epoch`; which epoch is the best so far."""

    epoch: int
    path: str
    best_epoch: int | None
    best_path: str | None  # the best epoch's checkpoint, where one is kept (else None)
    best_by: str  # "val_acc" with a validation split, else "test_acc"


@dataclass(frozen=True)
class MissingData:
    """A dataset that is not on this computer and could not be downloaded: what to fetch
    and where to put it, for a window to offer as actions rather than a paragraph."""

    title: str  # e.g. "MNIST"
    folder: str  # where the files go
    files: tuple[str, ...]  # their names
    source: str  # where to download them from
    details: str  # what went wrong, e.g. each mirror's error
    kind: str = "dataset"  # "dataset" | "weights" (a pretrained network's ImageNet weights)


@dataclass(frozen=True)
class RunEnd:
    # "finished" | "learned_nothing" (finished, but test accuracy at chance) | "stopped" |
    # "diverged" | "failed"
    reason: str
    message: str  # a sentence for a person, with a hint where one helps
    epochs_done: int
    checkpoint_path: str | None = None
    missing_data: MissingData | None = None  # set when the dataset could not be had


@dataclass(frozen=True)
class GroupStart:
    """A seed group begins (engine/experiments/seeds.py): its members, one run per seed,
    follow one after another, each with its ordinary events."""

    name: str  # the group folder's name
    group_dir: str
    seeds: tuple[int, ...]
    config: TrainConfig  # the settings every member shares (seed: the first member's)


@dataclass(frozen=True)
class GroupMemberStart:
    """A member of a seed group begins: its own events (RunStart ... RunEnd) follow."""

    index: int  # 0-based, in the order of `GroupStart.seeds`
    seed: int
    run_dir: str | None  # None for a group that writes no folder


@dataclass(frozen=True)
class GroupMemberEnd:
    """A member of a seed group ended (after its own RunEnd); accuracies None where it
    finished no epoch."""

    index: int  # 0-based, in the order of `GroupStart.seeds`
    seed: int
    run_dir: str | None
    end: RunEnd
    best_test_acc: float | None
    final_test_acc: float | None


@dataclass(frozen=True)
class GroupEnd:
    """A seed group ended (its last event): its best and final test accuracy over the
    members that finished (engine/stats.py), every member's end, and the
    group's own end (what `SeedGroup.run` returns)."""

    best: Summary
    final: Summary
    members: tuple[RunEnd, ...]
    end: RunEnd | None = None


Event = (LogLine | DataProgress | RunStart | RunEstimate | BatchEnd | EpochEnd | SettingsChanged
         | CheckpointSaved | RunEnd | GroupStart | GroupMemberStart | GroupMemberEnd
         | GroupEnd)
Listener = Callable[[Event], None]


# -- a sweep's events (engine/experiments/sweep.py), around each trial's ordinary run events --


@dataclass(frozen=True)
class TrialStart:
    """Trial `number` (Optuna's, unique in the study) begins with `params`; it is the
    `index`-th (1-based) of the `trials` this worker runs."""

    number: int
    params: dict
    index: int
    trials: int
    run_dir: str


@dataclass(frozen=True)
class TrialEnd:
    """How trial `number` ended: "complete" | "pruned" | "failed" | "stopped"; `value` is
    its objective (None when failed or stopped)."""

    number: int
    state: str
    value: float | None
    params: dict
    run_dir: str
    seconds: float
    # The study's best complete trial with this one counted (any worker's), None before one.
    best_number: int | None = None
    best_value: float | None = None


@dataclass(frozen=True)
class SweepEnd:
    """The study's best trial when this worker ends (None fields when none completed) and
    the `traindesk train ...` command line that repeats it."""

    best_number: int | None
    best_value: float | None
    best_params: dict | None
    command_line: str | None


SweepEvent = TrialStart | TrialEnd | SweepEnd
