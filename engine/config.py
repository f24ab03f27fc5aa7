"""Every choice a person makes about a training run, in one frozen dataclass.

The GUI settings form and the CLI flags are both generated from the fields below: each
field's metadata carries its label, help text and, where there is a fixed set, its choices;
a numeric field's carries its `Bounds`, which `problems()`, the form's editors and the CLI's
help all read.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.catalog import ARCHITECTURES, DATASET_INFO

OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("none", "step", "cosine", "onecycle")
# Pretrained networks: train only the new last layer, or every layer (the pretrained ones at
# BACKBONE_LR_FACTOR times the learning rate).
FINE_TUNE_MODES = ("head", "all")
BACKBONE_LR_FACTOR = 0.1
# Stored unexpanded, so configs and checkpoints do not carry one person's home folder.
DEFAULT_DATA_DIR = "~/.traindesk/data"
DEFAULT_RUNS_DIR = str(Path.home() / ".traindesk" / "runs")
MAX_THREADS = 1024
# Seeds are 32-bit, as numpy's legacy seeding; the trainer derives per-epoch seeds from it
# (seed * 100_003 + epoch), which must still fit torch's 64-bit generator seed.
MAX_SEED = 2**32 - 1
# How a device is written: a setting's or a flag's (the command line checks it before
# PyTorch is imported).
DEVICE_PATTERN = r"auto|cpu|cuda(:\d+)?|mps"
MAX_SEEDS = 100  # runs in one seed group (engine/experiments/seeds.py)
# What a child run records about the run it was made from ("Train again without them"):
# never in the settings form, a command line's flags or a sweep's search, and carried over
# when the run is continued (`with_lineage`).
LINEAGE_FIELDS = ("leave_out", "leave_out_test", "parent")


@dataclass(frozen=True)
class Bounds:
    """The values a numeric setting may take, and how an editor steps through them.

    `minimum`..`maximum`, each end included unless `above_minimum` / `below_maximum`;
    a field with a `zero` word also takes 0 below its minimum, shown as that word ("auto").
    `step` and `decimals` are an editor's steps and shown digits; on a `log_scale` the
    editor steps along 1-2-5 per decade and `step` is the smallest value above 0 it steps to.
    `rule` says the range in words for messages and help ({minimum}, {maximum} filled in;
    "" for the usual wording), `hint` adds a typical value to the message.
    """

    minimum: int | float
    maximum: int | float
    above_minimum: bool = False
    below_maximum: bool = False
    zero: str = ""
    step: float = 1
    decimals: int = 0
    log_scale: bool = False
    rule: str = ""
    hint: str = ""

    def admits(self, value: Any, whole: bool) -> bool:
        """Whether `value` is a number of the right kind (`whole`: an int) in bounds."""
        if not (_is_int(value) if whole else _is_number(value)):
            return False
        if self.zero and value == 0:
            return True
        above = value > self.minimum if self.above_minimum else value >= self.minimum
        below = value < self.maximum if self.below_maximum else value <= self.maximum
        return above and below

    def words(self, whole: bool) -> str:
        """The range as a person reads it: "a whole number from 1 to 10000"."""
        rule = self.rule
        if not rule and whole:
            zero = f" ({self.zero})" if self.zero and self.minimum == 0 else ""
            rule = "a whole number from {minimum}" + zero + " to {maximum}"
        elif not rule and not (self.above_minimum or self.below_maximum):
            rule = "from {minimum} to {maximum}"
        elif not rule:
            rule = ("above {minimum}" if self.above_minimum else "at least {minimum}") + \
                   (" and below {maximum}" if self.below_maximum else " and at most {maximum}")
        return rule.format(minimum=_number_text(self.minimum),
                           maximum=_number_text(self.maximum))


class ConfigError(ValueError):
    """A setting a person chose cannot work; `field` names it, the message says why."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name


def _meta(label: str, help: str, choices: tuple[str, ...] | None = None,
          bounds: Bounds | None = None) -> dict[str, Any]:
    return {"label": label, "help": help, "choices": choices, "bounds": bounds}


@dataclass(frozen=True)
class TrainConfig:
    arch: str = field(default="lenet5", metadata=_meta("Architecture", "Network to train."))
    dataset: str = field(
        default="mnist-sample", metadata=_meta("Dataset", "Images to train and test on.")
    )
    fine_tune: str = field(
        default="head",
        metadata=_meta("Fine-tuning", "For networks pretrained on ImageNet: head = train "
                       "only the new last layer, the pretrained layers stay as they are "
                       "(fast; best for a few hundred images); all = fine-tune every layer, "
                       "the pretrained ones at a tenth of the learning rate.",
                       FINE_TUNE_MODES),
    )
    data_dir: str = field(
        default=DEFAULT_DATA_DIR,
        metadata=_meta("Data folder", "Where the built-in datasets (MNIST, CIFAR-10, ...) are "
                       "looked for and downloaded to. For the 'folder' dataset without an "
                       "image folder, the folder of class sub-folders (as before there was "
                       "one)."),
    )
    image_folder: str = field(
        default="",
        metadata=_meta("Image folder", "For the 'folder' dataset (your own images): the "
                       "folder that holds one sub-folder of images per class. Kept apart "
                       "from the data folder, so that a built-in dataset is never downloaded "
                       "into your photos."),
    )
    epochs: int = field(default=5, metadata=_meta("Epochs", "Passes over the training set.",
                                                  bounds=Bounds(1, 10_000)))
    batch_size: int = field(
        default=64, metadata=_meta("Batch size", "Examples per optimisation step.",
                                   bounds=Bounds(1, 65_536))
    )
    optimizer: str = field(
        default="adam", metadata=_meta("Optimizer", "Update rule.", OPTIMIZERS)
    )
    lr: float = field(
        default=3e-3, metadata=_meta(
            "Learning rate", "Step size (peak for one-cycle).",
            bounds=Bounds(0, 10, above_minimum=True, step=1e-6, log_scale=True,
                          rule="a number above {minimum} and at most {maximum}",
                          hint="typical: 0.1 for SGD, 0.001 for Adam"))
    )
    momentum: float = field(
        default=0.9, metadata=_meta("Momentum", "SGD momentum (beta1 for Adam/AdamW).",
                                    bounds=Bounds(0, 1, below_maximum=True, step=0.01,
                                                  decimals=4, hint="typical: 0.9"))
    )
    nesterov: bool = field(default=False, metadata=_meta("Nesterov", "Nesterov momentum (SGD)."))
    weight_decay: float = field(
        default=0.0, metadata=_meta("Weight decay", "L2 penalty (decoupled for AdamW).",
                                    bounds=Bounds(0, 1, below_maximum=True, step=1e-6,
                                                  log_scale=True, hint="typical: 5e-4"))
    )
    schedule: str = field(
        default="none",
        metadata=_meta("LR schedule", "How the learning rate changes over the run: step divides "
                       "it by 10 every third of the run.", SCHEDULES),
    )
    label_smoothing: float = field(
        default=0.0, metadata=_meta("Label smoothing", "Softens the one-hot targets.",
                                    bounds=Bounds(0, 1, below_maximum=True, step=0.05,
                                                  decimals=3))
    )
    augment: bool = field(
        default=False,
        metadata=_meta("Augmentation", "Random crops with padding; horizontal flips where the "
                       "dataset allows (not for digits)."),
    )
    val_split: float = field(
        default=0.0,
        metadata=_meta("Validation split", "Fraction of the training set held out for "
                       "validation each epoch (0 = none).",
                       bounds=Bounds(0, 0.5, zero="none", step=0.05, decimals=3,
                                     hint="a fraction")),
    )
    image_size: int = field(
        default=0,
        metadata=_meta("Image size", "Input size fed to the network; 0 = the size the "
                       "architecture expects.",
                       bounds=Bounds(8, 512, zero="auto",
                                     rule="0 (automatic) or from {minimum} to {maximum} "
                                          "pixels")),
    )
    seed: int = field(
        default=0,
        metadata=_meta("Seed", "Same seed, same run (on the CPU, with a fixed number of CPU "
                       "threads).", bounds=Bounds(0, MAX_SEED)),
    )
    seeds: int = field(
        default=1,
        metadata=_meta("Seeds", "Repeat the run with seeds seed, seed+1, ... as one group, "
                       "whose test accuracy is reported as mean ± std over the seeds (1 = "
                       "one run).", bounds=Bounds(1, MAX_SEEDS)),
    )
    device: str = field(
        default="auto", metadata=_meta("Device", "auto, cpu, cuda, cuda:N or mps.")
    )
    threads: int = field(
        default=0,
        metadata=_meta("CPU threads", "Threads for training on the CPU. 0 = auto: as many as "
                       "train fastest, fewer while other programs keep the CPU busy. Set a "
                       "number for bit-identical repeat runs.",
                       bounds=Bounds(0, MAX_THREADS, zero="auto")),
    )
    amp: bool = field(
        default=False,
        metadata=_meta("Mixed precision", "bfloat16 autocast where the GPU has it, else "
                       "float16 with loss scaling (CUDA only)."),
    )

    leave_out: tuple[int, ...] = field(
        default=(),
        metadata=_meta("Left-out training images", "Training images this run leaves out: "
                       "their indices in the dataset's training set, before the validation "
                       "split."),
    )
    leave_out_test: tuple[int, ...] = field(
        default=(),
        metadata=_meta("Left-out test images", "Test images this run leaves out: their "
                       "indices in the dataset's test set."),
    )
    parent: str = field(
        default="",
        metadata=_meta("Parent run", "The run folder of the run this one was made from by "
                       "leaving images out (empty: none)."),
    )

    def replace(self, **changes: Any) -> TrainConfig:
        return dataclasses.replace(self, **changes)

    def source_folder(self) -> str:
        """The folder the dataset is read from: the image folder for 'folder' (the data
        folder where none is given, as before the two were apart), else the data folder."""
        if self.dataset == "folder" and self.image_folder:
            return self.image_folder
        return self.data_dir

    def to_dict(self) -> dict[str, Any]:
        """The settings as JSON holds them (a child run's image indices as lists), so that a
        record read back equals the dict written."""
        return {name: list(value) if isinstance(value, tuple) else value
                for name, value in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """Build from saved values, ignoring unknown keys (older or newer checkpoints)."""
        known = {f.name for f in dataclasses.fields(cls)}
        kept = {k: v for k, v in values.items() if k in known}
        for name in ("leave_out", "leave_out_test"):  # JSON gives lists back
            if isinstance(kept.get(name), list):
                kept[name] = tuple(kept[name])
        return cls(**kept)

    def problems(self) -> dict[str, str]:
        """Every invalid field mapped to a sentence saying what is wrong and what to do."""
        found: dict[str, str] = {}
        if not _one_of(self.arch, ARCHITECTURES):
            found["arch"] = f"Unknown architecture {_quoted(self.arch)}. Choose one of: " + \
                ", ".join(ARCHITECTURES) + "."
        if not _one_of(self.dataset, DATASET_INFO):
            found["dataset"] = f"Unknown dataset {_quoted(self.dataset)}. Choose one of: " + \
                ", ".join(DATASET_INFO) + "."
        if not _one_of(self.fine_tune, FINE_TUNE_MODES):
            found["fine_tune"] = ("Fine-tuning must be one of: "
                                  + ", ".join(FINE_TUNE_MODES) + ".")
        images_in_data_dir = self.dataset == "folder" and self.image_folder == ""
        folder_problem = _folder_problem(self.data_dir, "data folder", images_in_data_dir)
        if folder_problem:
            found["data_dir"] = folder_problem
        if self.image_folder != "":
            image_problem = _folder_problem(self.image_folder, "image folder",
                                            self.dataset == "folder")
            if image_problem:
                found["image_folder"] = image_problem
        self._check_bounds(found, "epochs", "batch_size")
        if not _one_of(self.optimizer, OPTIMIZERS):
            found["optimizer"] = "Optimizer must be one of: " + ", ".join(OPTIMIZERS) + "."
        self._check_bounds(found, "lr", "momentum")
        for name in ("nesterov", "augment", "amp"):
            if not isinstance(getattr(self, name), bool):
                found[name] = (f"{_LABELS[name]} must be on or off (true or false), not "
                               f"{_quoted(getattr(self, name))}.")
        if ("nesterov" not in found and "momentum" not in found and self.nesterov
                and self.optimizer == "sgd" and not self.momentum > 0):
            found["nesterov"] = "Nesterov needs a momentum above 0."
        self._check_bounds(found, "weight_decay")
        if not _one_of(self.schedule, SCHEDULES):
            found["schedule"] = "LR schedule must be one of: " + ", ".join(SCHEDULES) + "."
        self._check_bounds(found, "label_smoothing", "val_split", "image_size", "threads",
                           "seed", "seeds")
        if "seed" not in found and "seeds" not in found and self.seed + self.seeds - 1 > MAX_SEED:
            found["seeds"] = (f"The last seed of the group, {self.seed + self.seeds - 1}, is "
                              f"past the largest seed, {MAX_SEED}: choose a smaller seed or "
                              "fewer seeds.")
        for name in ("leave_out", "leave_out_test"):
            indices = getattr(self, name)
            if not isinstance(indices, tuple) or not all(_is_int(i) and i >= 0
                                                         for i in indices):
                found[name] = (f"{_LABELS[name]} must be image indices: whole numbers from 0 "
                               f"(the first image) up, not {_quoted(indices)}.")
        if not isinstance(self.parent, str):
            found["parent"] = f"The parent run must be a folder name, not {_quoted(self.parent)}."
        device_problem = device_choice_problem(self.device)
        if device_problem:
            found["device"] = device_problem
        elif self.amp is True and self.device in ("cpu", "mps"):
            found["amp"] = "Mixed precision needs a CUDA GPU; turn it off or pick a CUDA device."
        return found

    def _check_bounds(self, found: dict[str, str], *names: str) -> None:
        """Add to `found` each of the numeric fields `names` that is out of its bounds."""
        for name in names:
            if not _BOUNDS[name].admits(getattr(self, name), _WHOLE[name]):
                found[name] = bounds_problem(name)

    def validate(self) -> TrainConfig:
        """Raise `ConfigError` for the first invalid field; return self when all is well."""
        for name, message in self.problems().items():
            raise ConfigError(name, message)
        return self


def _one_of(value: Any, choices: Any) -> bool:
    """Whether value is one of the names in choices (never raises, whatever value is)."""
    return isinstance(value, str) and value in choices


def _quoted(value: Any) -> str:
    """value as a person would type it, cut short if long."""
    text = f"'{value}'" if isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "…"


def _number_text(value: float) -> str:
    """A bound as a person writes it: 10000, 0.5, 10 (not 10.0)."""
    return str(value) if isinstance(value, int) else f"{value:g}"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return _is_int(value) or (isinstance(value, float) and math.isfinite(value))


def _folder_problem(folder: Any, what: str, holds_images: bool) -> str | None:
    """Why `folder` cannot be the data (or image) folder, or None; one that `holds_images`
    (the 'folder' dataset's) must be an existing folder."""
    if not isinstance(folder, str) or not folder.strip():
        return f"The {what} must be a folder name, not {_quoted(folder)}."
    if "\0" in folder:
        return f"The {what}'s name holds a NUL character; no folder can have that name."
    return _image_folder_problem(folder) if holds_images else None


def _image_folder_problem(data_dir: str) -> str | None:
    """Why data_dir cannot be an image folder dataset, or None if it is a folder."""
    what = "Pick a folder that holds one sub-folder of images per class."
    try:
        path = Path(data_dir).expanduser()
        if path.is_dir():
            return None
        if path.exists():
            return f"'{data_dir}' is a file, not a folder. {what}"
    except (OSError, ValueError, RuntimeError) as error:  # e.g. a NUL byte, an unknown ~user
        return f"'{data_dir}' is not a usable folder name ({error}). {what}"
    return f"The folder '{data_dir}' does not exist. {what}"


def device_choice_problem(device: Any) -> str | None:
    """What is wrong with a device setting (spelled otherwise, or not on this computer:
    that check imports PyTorch); None when it will do."""
    if not isinstance(device, str) or not re.fullmatch(DEVICE_PATTERN, device):
        return f"Unknown device {_quoted(device)}. Use auto, cpu, cuda, cuda:N or mps."
    if device in ("auto", "cpu"):
        return None
    from engine.runtime.devices import device_ids

    if device == "cuda" and any(d.startswith("cuda") for d in device_ids()):
        return None
    if device not in device_ids():
        return f"Device '{device}' is not available on this computer. Use auto or cpu."
    return None


_LABELS = {f.name: f.metadata["label"] for f in dataclasses.fields(TrainConfig)}
_BOUNDS: dict[str, Bounds] = {f.name: f.metadata["bounds"] for f in dataclasses.fields(TrainConfig)
                              if f.metadata["bounds"] is not None}
# The annotations are strings (from __future__ import annotations): "int" or "float".
_WHOLE = {f.name: f.type == "int" for f in dataclasses.fields(TrainConfig) if f.name in _BOUNDS}


def field_bounds(name: str) -> Bounds | None:
    """The bounds of numeric field `name` (None for a field that is not numeric)."""
    return _BOUNDS.get(name)


def is_whole(name: str) -> bool:
    """Whether numeric field `name` takes whole numbers (an int field)."""
    return _WHOLE[name]


def bounds_problem(name: str) -> str:
    """The sentence saying what numeric field `name` must be."""
    bounds = _BOUNDS[name]
    hint = f" ({bounds.hint})" if bounds.hint else ""
    return f"{_LABELS[name]} must be {bounds.words(_WHOLE[name])}{hint}."


def folders_apart(config: TrainConfig, data_dir: str = DEFAULT_DATA_DIR) -> TrainConfig:
    """`config`, where it reads its own images from its data folder (settings and checkpoints
    from before the image folder existed), with that folder as its image folder and
    `data_dir` as the data folder: a built-in dataset chosen later is not downloaded there."""
    if config.dataset == "folder" and config.image_folder == "":
        return config.replace(image_folder=config.data_dir, data_dir=data_dir)
    return config


def config_fields() -> list[dataclasses.Field]:
    """The fields of `TrainConfig` a person sets, in form order, for the GUI form and the
    CLI (not the `LINEAGE_FIELDS` a child run records)."""
    return [f for f in dataclasses.fields(TrainConfig) if f.name not in LINEAGE_FIELDS]


def with_lineage(config: TrainConfig, continued: TrainConfig) -> TrainConfig:
    """`config` (the form's settings, say) with the images left out and the parent of the
    run it continues: a child run continued is still the same child."""
    return config.replace(**{name: getattr(continued, name) for name in LINEAGE_FIELDS})

