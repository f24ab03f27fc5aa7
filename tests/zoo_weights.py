"""Stand-ins for torchvision's ImageNet weights files, for tests that must never download.

    state = write_zoo_weights(tmp_path, "resnet18-imagenet")   # and TORCH_HOME=tmp_path

writes a randomly initialised network's state_dict (the 1000-class ImageNet head
included), saved with torch.save under the exact name and folder torchvision's cache uses,
so the real loading path reads it.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlparse

import torch
import torchvision

from engine.models.pretrained import ZOO, weights_enum


def zoo_weights_name(arch: str) -> str:
    return os.path.basename(urlparse(weights_enum(arch).url).path)


def write_zoo_weights(torch_home: Path, arch: str, seed: int = 1) -> dict[str, torch.Tensor]:
    """Write <torch_home>/hub/checkpoints/<torchvision's file name>; return its state."""
    torch.manual_seed(seed)
    model = torchvision.models.get_model(ZOO[arch].model, weights=None)
    state = model.state_dict()
    folder = Path(torch_home) / "hub" / "checkpoints"
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(state, folder / zoo_weights_name(arch))
    return state
