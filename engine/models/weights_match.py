"""Bare model weights: which TrainDesk network a plain `state_dict` fits, if any.

People save `torch.save(model.state_dict(), path)` from scripts and tutorials. Such a file
holds weights only: no architecture, classes, input size or normalisation. Its key names
and tensor shapes are compared with every registry network, for 1 and 3 channels and the
usual input sizes. Candidates are built on the meta device (shapes only: no memory, no
initialisation), and a network whose key names differ is dropped after one build.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch

from engine.catalog import arch_title, network_channels
from engine.models.architectures import MODELS, build_model

CHANNELS = (1, 3)
INPUT_SIZES = (28, 32, 64, 96, 224)
# Prefixes wrappers add to every key: DataParallel/DistributedDataParallel, torch.compile.
WRAPPER_PREFIXES = ("module.", "_orig_mod.")


@dataclass(frozen=True)
class WeightsMatch:
    """A network the weights fit; `any_size` when its layers do not depend on the size."""

    arch: str
    in_channels: int
    input_size: int
    num_classes: int
    any_size: bool

    def describe(self) -> str:
        size = ("any input size" if self.any_size
                else f"{self.input_size}x{self.input_size} images")
        colour = "greyscale" if self.in_channels == 1 else "colour"
        return (f"{arch_title(self.arch)} for {colour} ({self.in_channels}-channel) "
                f"{size}, {self.num_classes} classes")


def unwrapped(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """state with the key prefixes that wrappers add removed."""
    keys = dict(state)
    for prefix in WRAPPER_PREFIXES:
        if keys and all(key.startswith(prefix) for key in keys):
            keys = {key[len(prefix):]: value for key, value in keys.items()}
    return keys


def matching_networks(state: Mapping[str, torch.Tensor]) -> list[WeightsMatch]:
    """Every (network, channels) the weights fit exactly, key names and shapes."""
    state = unwrapped(state)
    found = []
    for arch in MODELS:
        template = _meta_state(arch, network_channels(arch, 1), 10, 32)
        if template is None or set(template) != set(state):
            continue  # other layer names: no size or channel count can make them fit
        num_classes = _class_count(arch, state, template)
        if num_classes is None:
            continue
        for channels in sorted({network_channels(arch, c) for c in CHANNELS}):
            sizes = [size for size in _sizes(arch)
                     if _same_shapes(_meta_state(arch, channels, num_classes, size), state)]
            if sizes:
                default = MODELS[arch].input_size or (28 if channels == 1 else 32)
                any_size = len(sizes) == len(_sizes(arch))
                found.append(WeightsMatch(arch, channels, default if any_size else sizes[0],
                                          num_classes, any_size))
    return found


def _sizes(arch: str) -> tuple[int, ...]:
    own = MODELS[arch].input_size
    return INPUT_SIZES if own is None or own in INPUT_SIZES else (*INPUT_SIZES, own)


def _class_count(arch: str, state: Mapping[str, torch.Tensor],
                 template: Mapping[str, torch.Tensor]) -> int | None:
    """The class count the weights were built for: the first dimension of the tensors that
    change with it (found by building the network for one more class)."""
    more = _meta_state(arch, network_channels(arch, 1), 11, 32) or {}
    counts = {state[key].shape[0] for key, value in template.items()
              if key in more and more[key].shape != value.shape
              and isinstance(state[key], torch.Tensor) and state[key].dim() >= 1}
    if len(counts) != 1 or min(counts) < 2:
        return None
    return int(min(counts))


def _meta_state(arch: str, channels: int, classes: int,
                size: int) -> dict[str, torch.Tensor] | None:
    try:
        with torch.device("meta"):
            return build_model(arch, channels, classes, size).state_dict()
    except (ValueError, RuntimeError, NotImplementedError):  # a size it cannot take
        return None


def _same_shapes(template: Mapping[str, torch.Tensor] | None,
                 state: Mapping[str, torch.Tensor]) -> bool:
    return template is not None and all(
        isinstance(state[key], torch.Tensor) and state[key].shape == value.shape
        for key, value in template.items())
