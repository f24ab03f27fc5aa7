"""What makes training fast on a GPU, the standard way: mixed precision in bfloat16 where
the GPU has it (float16 with a loss scaler otherwise), fused optimizer steps, and
torch.compile as an option.

None of it synchronises the host with the device per batch: bfloat16 needs no scaler, and a
scaler with a fused optimizer checks for overflow on the device (without fusion, the
scaler's step reads its overflow flag back on every batch).
"""

from __future__ import annotations

import time

import torch
from torch import nn


def amp_dtype(device: torch.device) -> torch.dtype:
    """bfloat16 where the GPU computes in it (Ampere and newer), else float16."""
    if device.type == "cuda" and torch.cuda.is_bf16_supported(including_emulation=False):
        return torch.bfloat16
    return torch.float16


def needs_scaler(dtype: torch.dtype) -> bool:
    """float16 gradients underflow without loss scaling; bfloat16 has float32's range."""
    return dtype == torch.float16


def fused_step(params: list[torch.Tensor]) -> bool:
    """Whether the optimizer can use its fused kernel: all parameters on a CUDA GPU.

    (On the CPU the default foreach step is kept: the single-process CPU path is unchanged.)
    """
    return bool(params) and all(p.is_cuda and p.is_floating_point() for p in params)


def compile_model(model: nn.Module) -> nn.Module:
    """torch.compile'd model, sharing its parameters: compiled on its first call, so the
    trainer times that call apart from training (`CompileClock`)."""
    return torch.compile(model)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class CompileClock:
    """Times the first training step of a compiled model, which is where compilation
    happens, so that it is reported on its own and left out of the training speed."""

    def __init__(self) -> None:
        self.pending = True
        self.seconds = 0.0
        self._started = 0.0

    def begin(self) -> None:
        self._started = time.perf_counter()

    def end(self, device: torch.device) -> float:
        """The first step's seconds (waited for on the device: one sync, once per run)."""
        synchronize(device)
        self.seconds = time.perf_counter() - self._started
        self.pending = False
        return self.seconds
