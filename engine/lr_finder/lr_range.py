"""The learning-rate range test's settings and numbers as text, without PyTorch.

The CLI's help and the settings form need these before PyTorch has loaded; the test itself
is engine/lr_finder/search.py.
"""

from __future__ import annotations

import math

DEFAULT_START_LR = 1e-7
DEFAULT_END_LR = 10.0
DEFAULT_STEPS = 100
MIN_STEPS = 5  # fewer batches give no useful curve


def lr_range(start_lr: float, end_lr: float, steps: int) -> list[float]:
    """`steps` rates rising exponentially from start_lr to end_lr, both included."""
    ratio = end_lr / start_lr
    return [start_lr * ratio ** (i / (steps - 1)) for i in range(steps)]


def round_lr(lr: float) -> float:
    """lr to one significant digit (2.8e-3 -> 3e-3): the precision the test gives."""
    return float(f"{lr:.0e}")


def lr_text(lr: float) -> str:
    """A rate as people write it: "3e-3", "0.03", "1"."""
    if 0 < abs(lr) < 0.01:
        mantissa, exponent = f"{lr:.2e}".split("e")
        return f"{float(mantissa):g}e{int(exponent)}"
    return f"{lr:.3g}"


def range_problem(start_lr: float, end_lr: float, steps: int) -> str:
    """Why these test settings cannot work ("" when they can)."""
    if not (math.isfinite(start_lr) and start_lr > 0):
        return f"the starting rate must be a positive number, not {start_lr:g}."
    if not (math.isfinite(end_lr) and end_lr > start_lr):
        return (f"the highest rate ({end_lr:g}) must be a number above the starting rate "
                f"({start_lr:g}).")
    if steps < MIN_STEPS:
        return f"the test needs at least {MIN_STEPS} batches, not {steps}."
    return ""
