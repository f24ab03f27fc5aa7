"""Which compute devices this computer has, for the device picker and `device="auto"`."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class DeviceInfo:
    id: str  # what torch.device() takes: "cpu", "cuda:0", "mps"
    label: str  # what a person reads: "CUDA 0: NVIDIA H100"


def available_devices() -> list[DeviceInfo]:
    """The CPU, then each CUDA GPU by name, then Apple's MPS when present."""
    found = [DeviceInfo("cpu", "CPU")]
    if torch.cuda.is_available():
        for index in range(torch.cuda.device_count()):
            name = torch.cuda.get_device_name(index)
            found.append(DeviceInfo(f"cuda:{index}", f"CUDA {index}: {name}"))
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        found.append(DeviceInfo("mps", "Apple GPU (MPS)"))
    return found


def device_ids() -> list[str]:
    return [d.id for d in available_devices()]


def resolve_device(choice: str) -> torch.device:
    """Turn a config's device choice into a torch.device; "auto" prefers CUDA, then MPS."""
    if choice == "auto":
        ids = device_ids()
        for preferred in ("cuda:0", "mps"):
            if preferred in ids:
                return torch.device(preferred)
        return torch.device("cpu")
    return torch.device(choice)
