"""Head-only fine-tuning on kept features: the frozen network runs once per image.

With fine_tune "head" every pretrained layer is frozen, batch norm included
(engine/models/pretrained.py): the function they compute never changes, so an image's
output of them (its features) is the same in every epoch. It is computed ONCE per image, in
eval mode and in batches, for the training, validation and test images, and kept on the
run's device; the epochs' steps and every evaluation then run only the tail: the dropout
layers directly in front of the head (still dropping in training, now on the kept features)
and the head. Apple's Create ML trains its image classifiers the same way. The model itself
stays whole (backbone + head share their modules with the tail), so checkpoints, export,
resume and prediction see the network they always saw.

With augmentation on, KEPT_COPIES augmented copies of each training image are kept (drawn
once from the run's seed); in each epoch every image takes one of its copies, drawn from the
epoch's generator. Layers that act randomly inside the frozen part (EfficientNet's
stochastic depth) act as in evaluation: the kept features are the frozen network's own.

Recomputing the frozen network for every batch, as before, is what a run does when the
features would not fit in half the memory left (said in the log), and what
RECOMPUTE_ENV=1 forces: bench/head_only.py times both ways with it; nothing else sets it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

import torch
from torch import nn

from engine.catalog import arch_title, is_pretrained
from engine.config import TrainConfig
from engine.data.pipeline import pass_batch
from engine.events import DataProgress, Listener, LogLine
from engine.models import pretrained
from engine.runtime.memory import available_bytes, byte_text
from engine.text import plural
from engine.training.distributed import World

KEPT_COPIES = 4  # augmented copies kept per training image when augmentation is on
RECOMPUTE_ENV = "TRAINDESK_RECOMPUTE_FEATURES"  # "1": recompute every batch (the bench's "before")
MEMORY_SHARE = 0.5  # the kept features may take at most this share of the memory left


@dataclass(frozen=True, eq=False)
class FeaturePlan:
    """What a head-only run will keep: decided when the run is built (its network is the
    tail from then on), computed once its weights are final (`compute`)."""

    title: str  # the network's, for the progress events
    tail: nn.Module  # the dropouts directly in front of the head, and the head
    width: int  # numbers per image
    copies: int  # kept per training image: KEPT_COPIES with augmentation, else 1
    sizes: tuple[int, int, int]  # training, validation and test images
    input_size: int  # the network's input: S x S

    @property
    def images(self) -> int:
        """Images the frozen network runs on: every copy of every image."""
        train, val, test = self.sizes
        return self.copies * train + val + test

    @property
    def nbytes(self) -> int:
        return self.images * self.width * 4  # float32

    def memory_line(self) -> str:
        """The log line said before the features are computed: what they take."""
        train = self.sizes[0]
        line = (f"The pretrained network's features are computed once per image and kept "
                f"({self.width:,} numbers each): {byte_text(self.nbytes)} in memory")
        if self.copies > 1:
            line += (f", with {self.copies} augmented copies of each of the {train:,} "
                     f"training images ({byte_text(self.copies * train * self.width * 4)}); "
                     "each epoch takes one copy of each image")
        return line + "."


@dataclass(eq=False)
class KeptFeatures:
    """The frozen network's output for every image of a run, on its device."""

    train: torch.Tensor  # (copies, training images, width)
    val: torch.Tensor  # (validation images, width)
    test: torch.Tensor  # (test images, width)

    def training_batch(self, indices: torch.Tensor,
                       generator: torch.Generator | None) -> torch.Tensor:
        """The kept features of the training images at `indices`: with augmentation, each
        image's copy drawn from the epoch's generator."""
        copies = self.train.shape[0]
        if copies == 1:
            return self.train[0, indices]
        device = generator.device if generator is not None else indices.device
        chosen = torch.randint(0, copies, (len(indices),), generator=generator, device=device)
        return self.train[chosen.to(indices.device), indices]


def head_tail(model: nn.Module, arch: str) -> nn.Module:
    """The head and the dropout layers directly in front of it in its parent Sequential
    (MobileNetV3's and EfficientNet's), as one module sharing the model's."""
    parent, name = pretrained.head_parent(model, arch)
    layers = [getattr(parent, name)]
    if isinstance(parent, nn.Sequential):
        before = list(parent.children())[:int(name)]
        while before and isinstance(before[-1], nn.modules.dropout._DropoutNd):  # noqa: SLF001
            layers.insert(0, before.pop())
    return nn.Sequential(*layers)


def plan(config: TrainConfig, model: nn.Module, sizes: tuple[int, int, int],
         input_size: int, device: torch.device, listener: Listener) -> FeaturePlan | None:
    """The features a run keeps, or None where it recomputes them (every run that is not
    head-only on a pretrained network; a head-only one says why)."""
    if not (is_pretrained(config.arch) and config.fine_tune == "head"):
        return None
    chosen = FeaturePlan(arch_title(config.arch), head_tail(model, config.arch),
                         pretrained.head(model, config.arch).in_features,
                         KEPT_COPIES if config.augment else 1, sizes, input_size)
    if os.environ.get(RECOMPUTE_ENV) == "1":
        listener(LogLine(f"{RECOMPUTE_ENV}=1: the pretrained network's features are "
                         "recomputed for every batch instead of kept.", "warning"))
        return None
    free = _free_bytes(device)
    if free is not None and chosen.nbytes > MEMORY_SHARE * free:
        listener(LogLine(
            f"The pretrained network's features of {plural(chosen.images, 'image')} would "
            f"take {byte_text(chosen.nbytes)}, more than half the {byte_text(free)} of "
            "memory left: they are recomputed for every batch instead (slower).", "warning"))
        return None
    return chosen


def _free_bytes(device: torch.device) -> int | None:
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    return available_bytes() if device.type == "cpu" else None


Batches = Callable[[torch.Tensor, "torch.Generator | None"], torch.Tensor]


def compute(chosen: FeaturePlan, model: nn.Module, batches: Batches,
            splits: dict[str, torch.Tensor], seed: int, world: World,
            autocast: Callable[[], AbstractContextManager], progress: Listener,
            listener: Listener) -> KeptFeatures:
    """Run the frozen network once over every image of `splits` ("train", "val", "test":
    uint8 images on the device) and keep its output.

    batches(images, generator) is the network's input (augmented given a generator);
    world shares the work under torchrun (each process its span, the rest summed in);
    autocast() is the run's mixed-precision context.
    """
    train, val, test = chosen.sizes
    listener(LogLine(chosen.memory_line()))
    started = time.perf_counter()
    pass_ = _FeaturePass(chosen, model, batches, world, autocast, progress)
    hook = chosen.tail[0].register_forward_pre_hook(pass_.catch)
    was_training = model.training
    model.eval()
    try:
        kept = KeptFeatures(
            train=torch.stack([pass_.run(splits["train"], (seed, copy)
                                         if chosen.copies > 1 else None)
                               for copy in range(chosen.copies)]),
            val=pass_.run(splits["val"]), test=pass_.run(splits["test"]))
    finally:
        hook.remove()
        model.train(was_training)
    seconds = time.perf_counter() - started
    listener(LogLine(
        f"Computed the pretrained network's features of {plural(chosen.images, 'image')} "
        f"in {seconds:.1f} s ({chosen.images / max(seconds, 1e-9):,.0f} images/s); every "
        f"epoch now trains only the last layer on them ({train:,} training, {val:,} "
        f"validation, {test:,} test images)."))
    return kept


class _FeaturePass:
    """The frozen network run over images in batches, its output caught in front of the
    tail, with progress events ("Computing ...: 120 of 300 images")."""

    def __init__(self, chosen: FeaturePlan, model: nn.Module, batches: Batches,
                 world: World, autocast: Callable[[], AbstractContextManager],
                 progress: Listener) -> None:
        self.chosen, self.model, self.batches = chosen, model, batches
        self.world, self.autocast, self.progress = world, autocast, progress
        self.done = 0
        self._caught: torch.Tensor | None = None

    def catch(self, _module: nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
        self._caught = inputs[0]

    def run(self, images: torch.Tensor,
            copy: tuple[int, int] | None = None) -> torch.Tensor:
        """The frozen network's output for `images` (this process's span of them, the
        others' summed in), float32, on the images' device; given copy = (the run's seed,
        the copy's number), for images augmented as that copy."""
        n, world = len(images), self.world
        first, end = world.span(n)
        out = torch.zeros((n, self.chosen.width), device=images.device)
        # Batched as an evaluation batches the test images (engine.data.pipeline.pass_batch).
        step = pass_batch(self.chosen.input_size)
        with torch.no_grad():
            for start in range(first, end, step):
                chunk = images[start:min(start + step, end)]
                # A generator per chunk: a copy does not depend on how the work is shared.
                generator = (torch.Generator().manual_seed(hash((*copy, start)) % 2**63)
                             if copy is not None else None)
                with self.autocast():
                    self.model(self.batches(chunk, generator))
                out[start:start + len(chunk)] = self._caught.float().flatten(1)
                self._report(len(chunk) * world.world_size)
        return world.sum(out)

    def _report(self, count: int) -> None:
        total = self.chosen.images
        self.done = min(total, self.done + count)
        self.progress(DataProgress(
            self.chosen.title,
            f"Computing the pretrained network's features: {self.done:,} of {total:,} images",
            self.done, total))
