"""Networks from torchvision's model zoo that start from their ImageNet weights.

Each is built with torchvision's weights API (`torchvision.models.get_model`, the
`*_Weights.IMAGENET1K_V1` enums): its input size, mean and std come from the weights'
own `transforms()`, and its last layer (the "head", 1000 ImageNet classes) is replaced by a
fresh one for the dataset's classes.

The weights file is torchvision's: the file `torch.hub.load_state_dict_from_url` keeps in
`<TORCH_HOME>/hub/checkpoints` under torchvision's own name (e.g. resnet18-f37072fd.pth), so
a file any torchvision program downloaded is used as it is. When it is missing it is
downloaded there with progress events (engine.data.download, as datasets are), checked
against the SHA-256 prefix in its name; offline, `WeightsMissing` names the file, where it
comes from and the folder to put it in. Only a fresh run loads it: a checkpoint holds the
whole network, so opening or resuming one never needs it.

Fine-tuning (config `fine_tune`):
- "head": only the new head trains. The pretrained layers are frozen (requires_grad off,
  so backward stops at the head: several times faster on a CPU), and their batch-norm
  layers stay in eval mode. In train mode a batch-norm layer would replace ImageNet's
  running statistics with the new images' and normalise each batch by its own statistics,
  so the "frozen" layers would compute different features from batch to batch and drift
  away from the ones the weights were trained with. Frozen means the same function.
- "all": every layer trains; the pretrained ones at BACKBONE_LR_FACTOR (a tenth) of the
  learning rate, so the first steps of a random head do not wreck what ImageNet taught.
  Batch-norm layers train normally.

The optimizer sees two parameter groups either way (head first, at the full rate; then
the pretrained layers, at a tenth), so a run can be resumed with the other mode.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import torch
import torchvision
from torch import nn

from engine.catalog import arch_title, is_pretrained
from engine.config import BACKBONE_LR_FACTOR
from engine.data.download import DownloadError, download
from engine.data.types import DatasetError, DatasetMissing, ImageDataset, ProgressFn
from engine.events import DataProgress, MissingData

HASH_IN_NAME = re.compile(r"-([a-f0-9]+)\.")  # torch.hub's: resnet18-f37072fd.pth


@dataclass(frozen=True)
class ZooNet:
    model: str  # torchvision.models.get_model's name
    weights: str  # the weights enum member
    head: str  # the attribute path of the last layer, replaced for the dataset's classes
    name: str  # the network's own name, for messages


ZOO: dict[str, ZooNet] = {
    "resnet18-imagenet": ZooNet("resnet18", "IMAGENET1K_V1", "fc", "ResNet-18"),
    "mobilenet-v3-small-imagenet": ZooNet("mobilenet_v3_small", "IMAGENET1K_V1",
                                          "classifier.3", "MobileNetV3-small"),
    "efficientnet-b0-imagenet": ZooNet("efficientnet_b0", "IMAGENET1K_V1", "classifier.1",
                                       "EfficientNet-B0"),
}


@dataclass(frozen=True)
class NetworkInput:
    """What a network is fed: the channel count, and the mean/std that normalise it."""

    channels: int
    mean: tuple[float, ...]
    std: tuple[float, ...]


class WeightsError(DatasetError):
    """The pretrained weights file is there but unusable; the message says what to do."""


class WeightsMissing(DatasetMissing):
    """The weights are not on this computer and could not be downloaded."""


def weights_enum(arch: str) -> torchvision.models.WeightsEnum:
    zoo = ZOO[arch]
    return torchvision.models.get_model_weights(zoo.model)[zoo.weights]


def preprocessing(arch: str) -> tuple[int, tuple[float, ...], tuple[float, ...]]:
    """(input size, mean, std) of the weights' own transforms (224, ImageNet's mean/std)."""
    transforms = weights_enum(arch).transforms()
    return (int(transforms.crop_size[0]), tuple(float(m) for m in transforms.mean),
            tuple(float(s) for s in transforms.std))


def network_input(arch: str, data: ImageDataset) -> NetworkInput:
    """Pretrained networks: 3 channels (greyscale is repeated) with ImageNet's mean/std,
    the statistics their weights expect. Others: the dataset's channels and statistics."""
    if not is_pretrained(arch):
        return NetworkInput(data.channels, data.mean, data.std)
    _size, mean, std = preprocessing(arch)
    return NetworkInput(3, mean, std)


def weights_folder() -> Path:
    """Where torch.hub keeps downloaded weights: $TORCH_HOME/hub/checkpoints (by default
    ~/.cache/torch/hub/checkpoints)."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def weights_path(arch: str) -> Path:
    """The weights file under torchvision's own name (the last part of its URL)."""
    return weights_folder() / os.path.basename(urlparse(weights_enum(arch).url).path)


def build(arch: str, in_channels: int, num_classes: int, image_size: int) -> nn.Module:
    """The zoo network with random weights and a head for num_classes (load the ImageNet
    weights with `load_imagenet_weights`; a checkpoint's weights load over it as they are).
    Any image size works (their pooling is adaptive), though 224 is what they know."""
    if in_channels != 3:
        raise ValueError(f"{arch_title(arch)} takes colour (3-channel) images, not "
                         f"{in_channels}-channel ones (greyscale images are repeated into 3 "
                         "channels for it).")
    model = torchvision.models.get_model(ZOO[arch].model, weights=None)
    parent, name = head_parent(model, arch)
    old = getattr(parent, name)
    setattr(parent, name, nn.Linear(old.in_features, num_classes))
    return model


def head(model: nn.Module, arch: str) -> nn.Module:
    parent, name = head_parent(model, arch)
    return getattr(parent, name)


def head_parent(model: nn.Module, arch: str) -> tuple[nn.Module, str]:
    """The module that holds the head, and the head's name in it."""
    path, _, name = ZOO[arch].head.rpartition(".")
    return (model.get_submodule(path) if path else model), name


def load_imagenet_weights(model: nn.Module, arch: str, progress: ProgressFn) -> Path:
    """Put the ImageNet weights (all but the replaced head) into model; return the file.

    The file is taken from torchvision's cache, downloaded there first if it is missing.
    """
    path = weights_path(arch)
    if not path.is_file():
        _download(arch, path, progress)
    try:
        state = torch.hub.load_state_dict_from_url(
            weights_enum(arch).url, model_dir=str(path.parent), file_name=path.name,
            map_location="cpu", progress=False, weights_only=True)
    except Exception as error:  # noqa: BLE001 - any unreadable file gets the same advice
        why = ("it is not a weights file that loads without running code"
               if isinstance(error, pickle.UnpicklingError)
               else f"{type(error).__name__}: {str(error).splitlines()[0][:200]}")
        raise WeightsError(
            f"The ImageNet weights file {path} cannot be read ({why}). Delete it and train "
            f"again to download it afresh, or put an intact copy of "
            f"{weights_enum(arch).url} there.") from error
    head_keys = {f"{ZOO[arch].head}.{key}" for key in head(model, arch).state_dict()}
    wanted = {key: value for key, value in model.state_dict().items() if key not in head_keys}
    if not isinstance(state, dict) or _shapes(state, head_keys) != _shapes(wanted, set()):
        raise WeightsError(
            f"The file {path} does not hold the ImageNet weights of {ZOO[arch].name} (its "
            f"layer names or shapes differ). Delete it, or replace it with "
            f"{weights_enum(arch).url}, and train again.")
    model.load_state_dict({k: v for k, v in state.items() if k not in head_keys},
                          strict=False)
    return path


def _shapes(state: dict, leave_out: set[str]) -> dict[str, tuple[int, ...]]:
    return {key: tuple(value.shape) for key, value in state.items()
            if key not in leave_out and isinstance(value, torch.Tensor)}


def _download(arch: str, path: Path, progress: ProgressFn) -> None:
    url = weights_enum(arch).url
    title = f"The ImageNet weights of {ZOO[arch].name}"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        download([url], path, None, arch_title(arch), progress)
        _check_hash(path)
    except (DownloadError, OSError) as error:
        raise WeightsMissing(
            f"{title} ({path.name}) are not on this computer and downloading them "
            f"failed (are you offline?). Download {url} and put it in {path.parent} as "
            f"{path.name} (torchvision's cache; TORCH_HOME moves it), or pick a network "
            f"that is not pretrained. (Details: {error})",
            MissingData(title, str(path.parent), (path.name,), url, str(error),
                        kind="weights"),
        ) from error
    progress(DataProgress(arch_title(arch), f"Downloaded {path.name}", 1, 1))


def _check_hash(path: Path) -> None:
    """torch.hub's check: the file's SHA-256 starts with the digits in its name."""
    match = HASH_IN_NAME.search(path.name)
    if match is None:
        return
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    if not digest.hexdigest().startswith(match.group(1)):
        path.unlink(missing_ok=True)
        raise DownloadError(f"{path.name} arrived damaged (its SHA-256 does not start with "
                            f"{match.group(1)})")


def set_fine_tuning(model: nn.Module, arch: str, mode: str) -> None:
    """Freeze the pretrained layers ("head") or train them all ("all"): see the module's
    docstring. Also gives the optimizer its two groups (engine.training.optim)."""
    head_params = list(head(model, arch).parameters())
    head_ids = {id(p) for p in head_params}
    backbone = [p for p in model.parameters() if id(p) not in head_ids]
    for param in backbone:
        param.requires_grad_(mode == "all")
    model.lr_groups = [(head_params, 1.0), (backbone, BACKBONE_LR_FACTOR)]
    if mode != "all":
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):  # noqa: SLF001
                module.register_forward_pre_hook(_keep_eval_mode)


def _keep_eval_mode(module: nn.Module, _inputs: object) -> None:
    """A frozen batch-norm layer normalises with its stored statistics, whatever mode the
    network is in (model.train() turns every layer's training mode back on)."""
    module.training = False


def describe(arch: str, mode: str, path: Path | None) -> str:
    """A log line: where the weights came from and what trains."""
    source = (f"ImageNet weights from {path}" if path is not None
              else "weights from the checkpoint")
    if mode == "all":
        what = (f"every layer trains, the pretrained ones at {BACKBONE_LR_FACTOR:g}x the "
                "learning rate")
    else:
        what = ("only the new last layer trains; the pretrained layers are frozen (their "
                "batch norm keeps ImageNet's statistics)")
    return f"{arch_title(arch)}: {source}; {what}."
