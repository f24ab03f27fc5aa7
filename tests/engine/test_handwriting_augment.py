"""engine.data.handwriting: random rotation, slant, scale, shift, wobble and stroke width."""

from __future__ import annotations

import dataclasses

import torch

from engine.data.handwriting import HandwritingAugment, augment_handwriting

NONE = HandwritingAugment(rotation_deg=0.0, shear=0.0, scale=(1.0, 1.0), aspect=0.0,
                          shift=0.0, elastic_px=0.0, thickness_steps=(0, 0))


def bar(height: int = 28, columns: slice = slice(13, 15)) -> torch.Tensor:
    """An upright stroke (a '1'), 2 px wide, white on black: (1, 1, 28, 28)."""
    image = torch.zeros(1, 1, height, height)
    image[0, 0, 4:24, columns] = 1.0
    return image


def centre_x(image: torch.Tensor, rows: slice) -> float:
    part = image[0, 0, rows]
    cols = torch.arange(part.shape[1], dtype=torch.float32)
    return float((part.sum(0) * cols).sum() / part.sum())


def test_shapes_range_and_peak_are_kept():
    images = torch.rand(8, 1, 28, 28) * (torch.rand(8, 1, 28, 28) > 0.8)
    out = augment_handwriting(images, torch.Generator().manual_seed(0))
    assert out.shape == images.shape and out.dtype == images.dtype
    assert out.min() >= 0 and out.max() <= 1
    assert torch.allclose(out.amax(dim=(1, 2, 3)), torch.ones(8))  # ink peaks at 1, as drawn


def test_the_same_seed_gives_the_same_batch_and_images_differ_from_each_other():
    images = bar().repeat(6, 1, 1, 1)
    first = augment_handwriting(images, torch.Generator().manual_seed(3))
    again = augment_handwriting(images, torch.Generator().manual_seed(3))
    other = augment_handwriting(images, torch.Generator().manual_seed(4))
    assert torch.equal(first, again)
    assert not torch.allclose(first, other)
    assert not torch.allclose(first[0], first[1])  # drawn per image, not per batch


def test_with_every_change_off_the_image_stays_as_it_was():
    out = augment_handwriting(bar(), torch.Generator().manual_seed(0), NONE)
    # Sampled at twice the size and averaged back: only the stroke's edges soften a little.
    assert (out - bar()).abs().sum() / bar().sum() < 0.25
    assert abs(centre_x(out, slice(0, 28)) - centre_x(bar(), slice(0, 28))) < 0.05


def test_dilation_thickens_and_erosion_thins_the_strokes():
    stroke = bar(columns=slice(12, 16))  # 4 px wide, so thinning leaves ink
    thicker = augment_handwriting(stroke, None, dataclasses.replace(NONE, thickness_steps=(2, 2)))
    thinner = augment_handwriting(stroke, None,
                                  dataclasses.replace(NONE, thickness_steps=(-1, -1)))
    plain = augment_handwriting(stroke, None, NONE)
    assert thicker.sum() > 1.3 * plain.sum()
    assert thinner.sum() < 0.85 * plain.sum()


def test_a_slant_leans_the_stroke_one_way_or_the_other():
    slanted = dataclasses.replace(NONE, shear=0.5)
    leans = []
    for seed in range(6):
        out = augment_handwriting(bar(), torch.Generator().manual_seed(seed), slanted)
        leans.append(centre_x(out, slice(4, 10)) - centre_x(out, slice(18, 24)))
    assert max(abs(lean) for lean in leans) > 2.0  # pixels between top and bottom
    assert min(leans) < 0 < max(leans)  # both directions are drawn


def test_rotation_tilts_an_upright_stroke():
    rotated = dataclasses.replace(NONE, rotation_deg=15.0)
    tilts = [abs(centre_x(out, slice(4, 10)) - centre_x(out, slice(18, 24)))
             for out in augment_handwriting(bar().repeat(8, 1, 1, 1),
                                            torch.Generator().manual_seed(1), rotated)
             .split(1)]
    assert max(tilts) > 1.5


def test_an_empty_batch_and_a_blank_image_pass_through():
    assert augment_handwriting(torch.zeros(0, 1, 28, 28)).shape == (0, 1, 28, 28)
    assert augment_handwriting(torch.zeros(2, 1, 28, 28)).abs().sum() == 0
