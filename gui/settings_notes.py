"""The grey notes under the settings form's fields: what a choice means given the others
(the architecture's input size, what Epochs means beside a checkpoint, ...)."""

from __future__ import annotations

from typing import Any

from engine.catalog import ARCHITECTURES, DATASET_INFO
from engine.config import BACKBONE_LR_FACTOR, TrainConfig, config_fields
from engine.text import plural


def field_notes(config: TrainConfig, epochs_done: int | None, continuing: bool
                ) -> dict[str, str]:
    """Each field's note for `config` ("" or missing: none); `epochs_done` is the epochs of
    the checkpoint on screen (None: none), `continuing` whether a run now continues it."""
    return {
        "arch": _arch_note(config.arch),
        "dataset": getattr(DATASET_INFO.get(config.dataset), "description", ""),
        "data_dir": _data_dir_note(config.dataset),
        "image_folder": "The folder that holds one sub-folder of images per class.",
        "image_size": _image_size_note(config.arch, config.image_size),
        "epochs": _epochs_note(config.epochs, epochs_done, continuing),
        "fine_tune": _fine_tune_note(config.fine_tune, config.lr),
        "momentum": (
            "SGD momentum."
            if config.optimizer == "sgd"
            else "Used as beta1, the decay of the gradient's running mean."
        ),
        "nesterov": (
            "Looks ahead along the momentum before taking the gradient."
            if config.optimizer == "sgd"
            else "SGD only: Adam and AdamW ignore it."
        ),
    }


def field_label(name: str) -> str:
    """Field `name`'s label, from its metadata."""
    return next(f.metadata.get("label", name) for f in config_fields() if f.name == name)


def dataset_title(title: str, download_size: str, on_disk: bool | None) -> str:
    """"MNIST — on disk", "CIFAR-10 — 163 MB download"; the title alone where nothing is
    downloaded (bundled, your own images)."""
    if on_disk is None:
        return title
    return f"{title} — on disk" if on_disk else f"{title} — {download_size} download"


def _arch_note(arch: str) -> str:
    spec = ARCHITECTURES.get(arch)
    if spec is None:
        return ""
    size = spec.input_size
    if size is None:
        return f"{spec.description} Uses the dataset's own image size."
    if f"{size}x{size}" in spec.description:  # most descriptions already end "; 32x32."
        return spec.description
    return f"{spec.description} Expects {size}×{size} input."


def _fine_tune_note(mode: str, lr: Any) -> str:
    if mode == "all":
        rates = ""
        if isinstance(lr, (int, float)) and lr > 0:
            rates = f": the new last layer at {lr:.3g}, the pretrained ones at " \
                    f"{lr * BACKBONE_LR_FACTOR:.3g}"
        return (f"Every layer trains{rates}. The lower rate keeps the first steps of the new "
                "layer from undoing what ImageNet taught.")
    return ("The pretrained layers stay as ImageNet left them (their batch norm keeps its "
            "statistics); only the new last layer learns, on their output computed once per "
            "image before the first epoch. Fast, and a good start for a few hundred images.")


def _data_dir_note(dataset: str) -> str:
    spec = DATASET_INFO.get(dataset)
    if spec is not None and not spec.downloads:
        return "Not used by this dataset: it ships with TrainDesk."
    return "Where the built-in datasets are looked for and downloaded to."


def _epochs_note(epochs: Any, done: int | None, continuing: bool) -> str:
    """What Epochs means when a checkpoint is on screen: continuing adds that many."""
    if done is None or not isinstance(epochs, int):
        return ""
    span = f"epochs {done + 1}–{done + epochs}" if epochs > 1 else f"epoch {done + 1}"
    if continuing:
        return f"This run trains {span}, after the checkpoint's {plural(done, 'epoch')}."
    return (f"Train: a new run of {plural(epochs, 'epoch')}. Continue from checkpoint: "
            f"{epochs} more ({span}).")


def _image_size_note(arch: str, image_size: Any) -> str:
    if image_size:
        return f"Images are resized to {image_size}×{image_size}."
    spec = ARCHITECTURES.get(arch)
    if spec is not None and spec.input_size:
        return f"auto: {spec.input_size}×{spec.input_size}, what {spec.title} expects."
    return "auto: the dataset's own size."
