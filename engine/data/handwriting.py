"""Augmentation that imitates how people write digits, on whole batches of tensors.

MNIST's digits were written by a few hundred people with similar pens. A person drawing on
the canvas, a scanned form or another data set slants, rotates, squeezes, shifts and strokes
their digits differently. `augment_handwriting` draws each of those at random per image:

- an affine warp: rotation, slant (horizontal shear), scale and aspect, shift;
- a mild elastic distortion (smooth random displacements, as Simard et al. 2003), the
  wobble of a hand;
- stroke thickness: the ink is thinned or thickened by grey-level erosion or dilation
  (min- / max-pooling) at twice the resolution, so the change can be half a pixel.

Everything runs as batched tensor operations on the images' device (one `grid_sample`, a few
poolings), so it costs little next to the network's own step. The ink's peak is scaled back
to 1 afterwards, as `engine.inference.predict.preprocess_image` does for a drawing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class HandwritingAugment:
    """How far each random change may go (uniform draws within these ranges)."""

    rotation_deg: float = 15.0  # +- degrees
    shear: float = 0.3  # +- horizontal slant, x += shear * y (0.3 ~ 17 degrees)
    scale: tuple[float, float] = (0.8, 1.2)
    aspect: float = 0.15  # +- relative width change
    shift: float = 0.1  # +- fraction of the image side
    elastic_px: float = 1.2  # largest displacement of the smooth warp, in pixels
    # Stroke change in half-pixels per side: -1 thins, 0 keeps, 1 or 2 thicken; each step
    # is blended in by a random fraction, so thickness varies continuously.
    thickness_steps: tuple[int, int] = (-1, 2)


def augment_handwriting(images: torch.Tensor, generator: torch.Generator | None = None,
                        settings: HandwritingAugment | None = None) -> torch.Tensor:
    """Float images (B, C, H, W) on the 0..1 scale, white ink on black -> augmented copies of
    the same shape, each changed at random (drawn from `generator`, on the CPU, so a seed
    gives the same batch on any device)."""
    s = settings or HandwritingAugment()
    b, _, h, w = images.shape
    if b == 0:
        return images
    draw = _Uniform(b, generator)
    grid = _affine_grid(draw, s, b, 2 * h, 2 * w)
    grid = grid + _elastic_offsets(draw, s, b, 2 * h, 2 * w)
    big = F.grid_sample(images, grid.to(images.device, images.dtype), mode="bilinear",
                        padding_mode="zeros", align_corners=False)
    big = _change_thickness(big, draw, s)
    out = F.avg_pool2d(big, 2)
    peak = out.amax(dim=(1, 2, 3), keepdim=True)
    return torch.where(peak > 0, out / peak.clamp_min(1e-6), out).clamp_(0.0, 1.0)


class _Uniform:
    """Uniform random numbers for `count` images, from one CPU generator."""

    def __init__(self, count: int, generator: torch.Generator | None) -> None:
        self.count = count
        self.generator = generator

    def __call__(self, low: float, high: float, *shape: int) -> torch.Tensor:
        size = (self.count, *shape) if shape else (self.count,)
        return torch.rand(size, generator=self.generator) * (high - low) + low


def _affine_grid(draw: _Uniform, s: HandwritingAugment, b: int, h: int, w: int) -> torch.Tensor:
    """Sampling grid (B, h, w, 2) of a random rotation, slant, scale and shift per image."""
    angle = draw(-s.rotation_deg, s.rotation_deg) * (math.pi / 180)
    shear = draw(-s.shear, s.shear)
    scale = draw(*s.scale)
    aspect = draw(-s.aspect, s.aspect)
    shift = draw(-s.shift, s.shift, 2) * 2  # grid units span 2 per side
    cos, sin = torch.cos(angle), torch.sin(angle)
    # Forward map (ink -> output): scale the axes, slant, rotate. The grid needs its inverse.
    sx, sy = scale * (1 + aspect), scale * (1 - aspect)
    forward = torch.zeros(b, 2, 2)
    forward[:, 0, 0] = cos * sx
    forward[:, 0, 1] = cos * shear * sy - sin * sy
    forward[:, 1, 0] = sin * sx
    forward[:, 1, 1] = sin * shear * sy + cos * sy
    det = forward[:, 0, 0] * forward[:, 1, 1] - forward[:, 0, 1] * forward[:, 1, 0]
    inverse = torch.stack([torch.stack([forward[:, 1, 1], -forward[:, 0, 1]], 1),
                           torch.stack([-forward[:, 1, 0], forward[:, 0, 0]], 1)], 1)
    inverse = inverse / det.view(-1, 1, 1)
    theta = torch.cat([inverse, (-inverse @ shift.unsqueeze(2))], dim=2)  # (B, 2, 3)
    return F.affine_grid(theta, [b, 1, h, w], align_corners=False)


def _elastic_offsets(draw: _Uniform, s: HandwritingAugment, b: int, h: int,
                     w: int) -> torch.Tensor:
    """A smooth random displacement (B, h, w, 2) in grid units: coarse noise, upsampled."""
    coarse = draw(-1.0, 1.0, 2, 4, 4)
    field = F.interpolate(coarse, size=(h, w), mode="bilinear", align_corners=True)
    # h and w are the doubled sizes: one original pixel spans 4 / h grid units.
    field = field * (s.elastic_px * 4 / torch.tensor([w, h]).view(1, 2, 1, 1))
    return field.permute(0, 2, 3, 1)


def _change_thickness(x: torch.Tensor, draw: _Uniform, s: HandwritingAugment) -> torch.Tensor:
    """Per image, erode or dilate the ink by a random, fractional number of steps."""
    low, high = s.thickness_steps
    amount = draw(float(low), float(high)).to(x.device).view(-1, 1, 1, 1)
    result = x
    grown = x
    for step in range(1, max(high, 0) + 1):
        grown = _max3x3(grown)
        weight = (amount - (step - 1)).clamp(0.0, 1.0)
        result = torch.lerp(result, grown, weight)
    if low < 0:
        thinned = -_max3x3(-x)
        weight = (-amount).clamp(0.0, 1.0)
        result = torch.lerp(result, thinned, weight)
    return result


def _max3x3(x: torch.Tensor) -> torch.Tensor:
    """The largest value in each pixel's 3x3 neighbourhood (grey-level dilation), as two
    separable passes of shifted maxima: several times faster than max_pool2d(3, stride=1) on
    the CPU. Outside the image counts as the smallest value present."""
    fill = float(x.min())
    padded = F.pad(x, (1, 1, 1, 1), value=fill)
    rows = torch.maximum(torch.maximum(padded[..., :-2, :], padded[..., 1:-1, :]),
                         padded[..., 2:, :])
    return torch.maximum(torch.maximum(rows[..., :-2], rows[..., 1:-1]), rows[..., 2:])
