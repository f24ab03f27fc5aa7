"""Image files of every kind a person may open (photos of a digit, of coloured shapes, ...),
written for the tests, the benchmarks and the screenshots."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from engine.inference.predict import render_strokes
from tools.digit_strokes import DIGITS, place


def photo_of_a_digit(digit: int, size: tuple[int, int] = (400, 300)) -> Image.Image:
    """A dark digit written on light grey paper, off-centre, as a phone photographs it."""
    ink = render_strokes(place(next(iter(DIGITS[digit].values())), (0.5, 0.5), 0.8))
    width, height = size
    page = np.zeros((height, width), dtype=np.float32)
    side = min(height // 2, width // 2)
    small = np.asarray(Image.fromarray(ink).resize(
        (round(ink.shape[1] * side / ink.shape[0]), side), Image.Resampling.BILINEAR))
    top, left = height // 5, width // 6
    page[top:top + small.shape[0], left:left + small.shape[1]] = small
    paper, pen = 225.0, 40.0
    return Image.fromarray(np.round(paper - page * (paper - pen)).astype(np.uint8))


def colour_pattern(size: tuple[int, int] = (64, 48)) -> np.ndarray:
    """An (h, w, 3) uint8 picture: red left half, blue right half."""
    width, height = size
    pixels = np.zeros((height, width, 3), dtype=np.uint8)
    pixels[:, : width // 2] = (220, 30, 30)
    pixels[:, width // 2 :] = (30, 30, 220)
    return pixels


def write_image_kinds(folder: Path) -> dict[str, Path]:
    """One file per kind: RGB, RGBA, greyscale, 16-bit greyscale, palette, CMYK, tiny."""
    folder.mkdir(parents=True, exist_ok=True)
    rgba = np.zeros((48, 64, 4), dtype=np.uint8)
    rgba[..., :3] = colour_pattern()
    rgba[12:36, 16:48, 3] = 255  # an opaque patch on a transparent background
    ramp = np.tile(np.linspace(0, 65535, 64), (48, 1)).astype(np.uint16)
    images = {
        "rgb.png": Image.fromarray(colour_pattern()),
        "rgba.png": Image.fromarray(rgba),
        "grey.jpg": Image.fromarray(np.asarray(photo_of_a_digit(3))),
        "grey16.png": Image.fromarray(ramp),
        "palette.gif": Image.fromarray(colour_pattern()).convert("P"),
        "cmyk.jpg": Image.fromarray(colour_pattern()).convert("CMYK"),
        "tiny.png": Image.new("RGB", (1, 1), (90, 160, 40)),
    }
    paths = {}
    for name, image in images.items():
        paths[name] = folder / name
        image.save(paths[name])
    return paths


SHAPES = ("circle", "cross", "square", "triangle")


def write_shape_photos(root: Path, per_class: int, seed: int = 0,
                       sides: tuple[int, int] = (120, 420)) -> Path:
    """root/<shape>/<i>.jpg|png: full-size pictures of a coloured shape on a noisy coloured
    background, each of its own width and height (aspect ratios from about 1:3 to 3:1), half
    JPEG, half PNG; a few JPEGs carry an EXIF rotation. For checks of what a model sees in
    images larger than it was trained at. Returns root."""
    rng = np.random.default_rng(seed)
    for shape in SHAPES:
        folder = root / shape
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            width, height = (int(v) for v in rng.integers(sides[0], sides[1] + 1, size=2))
            background = rng.integers(0, 256, size=3)
            pixels = np.clip(background + rng.normal(0, 25, size=(height, width, 3)), 0, 255)
            image = Image.fromarray(pixels.astype(np.uint8))
            draw = ImageDraw.Draw(image)
            side = int(min(width, height) * rng.uniform(0.5, 0.85))
            left = int(rng.integers(0, width - side + 1))
            top = int(rng.integers(0, height - side + 1))
            box = (left, top, left + side, top + side)
            colour = tuple(int(c) for c in (background + 128 + rng.integers(-40, 41, 3)) % 256)
            if shape == "circle":
                draw.ellipse(box, fill=colour)
            elif shape == "square":
                draw.rectangle(box, fill=colour)
            elif shape == "triangle":
                draw.polygon([(left, top + side), (left + side, top + side),
                              (left + side // 2, top)], fill=colour)
            else:
                bar = max(2, side // 4)
                middle = side // 2 - bar // 2
                draw.rectangle((left + middle, top, left + middle + bar, top + side), fill=colour)
                draw.rectangle((left, top + middle, left + side, top + middle + bar), fill=colour)
            if i % 2:
                image.save(folder / f"{i}.png")
            else:
                exif = Image.Exif()
                if i % 10 == 0:
                    exif[0x0112] = 6  # shown rotated by 90 degrees
                image.save(folder / f"{i}.jpg", quality=int(rng.integers(75, 96)), exif=exif)
    return root
