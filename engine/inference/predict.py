"""Turn a drawing into the 28x28 digit an MNIST model was trained on, and predict its class.

MNIST's digits were made this way (LeCun et al.): the ink is cropped to its bounding box,
scaled (anti-aliased, aspect ratio kept) so the longer side is 20 px, and pasted into a
28x28 field so that its centre of mass sits at the centre; white ink on black. A digit drawn
with a mouse must go through the same steps, or a model that is 99% right on MNIST guesses
wrong on a digit drawn small in a corner or with a pen far thinner than MNIST's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image, ImageDraw
from torch import nn

from engine.data.pipeline import resize_and_normalise
from engine.records.checkpoint import Checkpoint, build_model_from_checkpoint

Stroke = Sequence[tuple[float, float]] | np.ndarray

FIELD_SIZE = 28  # MNIST's image side
BOX_SIZE = 20  # the longer side of the ink, in MNIST's images
# MNIST's centres of mass sit at pixel index (14, 14) (measured on real digits: 14.00 +- 0.29
# on both axes), i.e. half a pixel right of and below the geometric centre 13.5.
CENTRE = FIELD_SIZE // 2
# An image has ink only where some pixel differs from the background by this much (0..1):
# paper texture, sensor or JPEG noise stay below it.
MIN_CONTRAST = 0.1
# A pixel counts as ink for the bounding box from this fraction of the ink's peak: faint
# noise does not stretch the box, while real MNIST digits keep their 20 px box (all 8,000 of
# the bundled sample; 6% lose a faint pixel at the edge).
BOX_THRESHOLD = 0.05

# Pen diameter as a fraction of the longer side of the drawing's bounding box (of the points,
# not of the ink). Chosen so that rendered digits have MNIST's stroke width: ~2 px by the
# area / half-perimeter measure on real MNIST digits, for a 20 px box (see the tests).
PEN_FRACTION = 0.14
_RENDER_BOX = 80  # pixels the drawing's longer side spans in render_strokes' output
_SUPERSAMPLE = 4  # drawn at 4x, then box-averaged: anti-aliased edges

# When a drawing does not look like a digit (see `doubt_about_digit`). Each limit lies beyond
# every real MNIST digit of the bundled sample after MNIST's treatment (preprocess_image):
# the figures are the largest among its 2,000 held-out digits, then among its 8,000 training
# digits (tests/engine/test_digit_doubts.py measures them again).
# Ink: the sum of the 28x28 pixels (0..1). Real digits: at most 235 / 267 (median 99); a
# filled 20x20 box is 400, a dot (a filled disc) ~270, a scribble over the canvas ~300.
MAX_INK = 280.0
# Stroke thickness in pixels (2 x area / perimeter; a dot's is its radius, a filled square's
# half its side). Real digits: at most 5.5 / 6.2 (median 2.0); a dot 7.0, a filled canvas 9.8.
MAX_THICKNESS = 6.5
# Stroke length in pixels (half the ink's perimeter). Real digits: at most 80 / 87 (median
# 51); a scribble of many thin strokes goes on and on.
MAX_LENGTH = 92.0
# A straight line: the ink's second moments, minor / major. Real digits this straight (below
# 0.04) are ones, never tilted more than 44 / 45 degrees from upright; drawn lines measure
# 0.01-0.04. A line tilted 50 degrees or more is not a digit.
LINE_RATIO = 0.04
MAX_LINE_TILT_DEG = 50.0
# On the canvas (spans as fractions of its side): a drawing whose points span less than
# this is a dot or a speck, smaller than two widths of the on-screen pen (4.5% of the side);
# nobody can read it, on screen or off (the digits drawn in the tests span 0.24 and more).
MIN_SPAN = 0.1
# A straight line that spans this much of the canvas both ways runs corner to corner.
ACROSS_SPAN = 0.9


def render_strokes(
    strokes: Sequence[Stroke],
    widths: Sequence[float] | None = None,
    canvas_size: tuple[float, float] | None = None,
) -> np.ndarray | None:
    """Rasterise vector strokes into a white-on-black float32 image ready for preprocess_image.

    Points are (x, y) with y pointing down (screen and image convention), in any units: the
    drawing is scaled to a fixed size and the pen width is a fixed fraction of the drawing's
    bounding box, as in MNIST, where every digit is ~20 px with a ~2-3 px stroke. So the same
    digit drawn small in a corner or large in the middle, on any canvas or screen, gives the
    same image. Strokes get round caps and joints; a single point (a tap) is a dot.

    widths: per-stroke width factors (pen pressure), 1.0 = the normal pen.
    canvas_size: (width, height) of the canvas, in the points' units. When given, ink outside
        it (a drag that left the canvas) is dropped, as the person never saw it.
    Returns None when there is no ink.
    """
    polylines = [_as_points(stroke, index) for index, stroke in enumerate(strokes)]
    factors = _width_factors(widths, len(polylines))
    kept = [(p, f) for p, f in zip(polylines, factors, strict=True) if len(p)]
    if canvas_size is not None:
        canvas = _canvas_extent(canvas_size)
        # The box of what the canvas shows: ink beyond the edge must not widen it.
        shown = _on_canvas(kept, canvas)
        if not shown:
            return None
        every_point = np.concatenate([p for p, _ in shown])
        # Drawn up to a canvas's width beyond its edges (then blanked): points far off it
        # would overflow the rasteriser's integer coordinates.
        kept = [(piece, f) for p, f in kept
                for piece in _clip_polyline(p, -canvas, 2 * canvas)]
    elif kept:
        every_point = np.concatenate([p for p, _ in kept])
    else:
        return None
    low, high = every_point.min(axis=0), every_point.max(axis=0)
    extent = float((high - low).max())
    # All points at one spot (a tap): any length will do, the result is a round dot.
    reference = extent if extent > 0 else 1.0
    scale = _RENDER_BOX * _SUPERSAMPLE / reference  # point units -> supersampled pixels
    radii = [PEN_FRACTION * reference * f * scale / 2 for _, f in kept]
    margin = max(radii) + _SUPERSAMPLE
    size_xy = np.ceil((high - low) * scale + 2 * margin).astype(int)
    size_xy += (-size_xy) % _SUPERSAMPLE  # a whole number of output pixels

    raster = Image.new("L", (int(size_xy[0]), int(size_xy[1])), 0)
    draw = ImageDraw.Draw(raster)
    for (points, _), radius in zip(kept, radii, strict=True):
        path = [tuple(xy) for xy in ((points - low) * scale + margin).tolist()]
        if len(path) > 1:
            draw.line(path, fill=255, width=max(1, round(2 * radius)))
        for x, y in path:  # round caps and joints (and a tap's dot)
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=255)
    pixels = np.asarray(raster, dtype=np.float32) / 255.0
    if canvas_size is not None:
        _blank_outside(pixels, origin=-low * scale + margin, size=canvas * scale)
    ink = _box_downsample(pixels, _SUPERSAMPLE)
    return ink if ink.max() > 0 else None


def drawing_span(strokes: Sequence[Stroke],
                 canvas_size: tuple[float, float]) -> tuple[float, float] | None:
    """How much of the canvas the drawing's lines span: (width, height) as fractions of the
    canvas's, counting only their parts on the canvas. None when nothing is on it; points
    that are not finite numbers are left out."""
    canvas = _canvas_extent(canvas_size)
    polylines = []
    for stroke in strokes:
        points = np.asarray(stroke, dtype=np.float64).reshape(-1, 2)
        polylines.append((points[np.isfinite(points).all(axis=1)], 1.0))
    shown = _on_canvas(polylines, canvas)
    if not shown:
        return None
    points = np.concatenate([p for p, _ in shown])
    span = (points.max(axis=0) - points.min(axis=0)) / canvas
    return float(span[0]), float(span[1])


@dataclass(frozen=True)
class DigitDoubt:
    """Why a drawing does not look like a digit: `kind` for code, `message` for a person."""

    kind: str  # "too small", "blob", "too much ink", "scribble", "line"
    message: str


def digit_measures(digit28: np.ndarray) -> dict[str, float]:
    """Shape measures of a 28x28 digit in MNIST form (preprocess_image's output):
    ink (sum of pixels), thickness and length of its strokes in pixels, straightness
    (minor / major second moment: 0 for a line, 1 for a disc) and tilt of its long axis from
    upright, in degrees."""
    digit = np.asarray(digit28, dtype=np.float64)
    ink = float(digit.sum())
    if not math.isfinite(ink) or ink <= 0:
        return {"ink": 0.0, "thickness": 0.0, "length": 0.0, "straightness": 1.0, "tilt": 0.0}
    padded = np.pad(digit, 1)
    perimeter = float(np.abs(np.diff(padded, axis=0)).sum()
                      + np.abs(np.diff(padded, axis=1)).sum())
    rows, cols = np.indices(digit.shape)
    mean_row, mean_col = float((rows * digit).sum()) / ink, float((cols * digit).sum()) / ink
    dr, dc = rows - mean_row, cols - mean_col
    moments = np.array([[(dc * dc * digit).sum(), (dc * dr * digit).sum()],
                        [(dc * dr * digit).sum(), (dr * dr * digit).sum()]]) / ink
    values, vectors = np.linalg.eigh(moments)
    major = vectors[:, 1]  # (x, y) of the long axis
    return {
        "ink": ink,
        "thickness": 2 * ink / perimeter,
        "length": perimeter / 2,
        "straightness": float(values[0] / values[1]) if values[1] > 0 else 1.0,
        "tilt": math.degrees(math.atan2(abs(major[0]), abs(major[1]))),
    }


def doubt_about_digit(digit28: np.ndarray,
                      span: tuple[float, float] | None = None) -> DigitDoubt | None:
    """Why this does not look like a digit, or None when it may well be one.

    digit28: the drawing in MNIST form (preprocess_image). span: how much of the canvas the
    drawing spans (drawing_span), where it was drawn on one; it tells a speck, which MNIST's
    treatment blows up to a full-size blob, from a digit. The limits are module constants,
    each beyond every real digit measured (see there). Rules are checked in order: the
    first that applies is the reason given.
    """
    measures = digit_measures(digit28)
    if span is not None and max(span) < MIN_SPAN:
        return DigitDoubt("too small", "Too small to read: draw the digit larger, across "
                                       "most of the canvas.")
    if measures["ink"] <= 0 or measures["thickness"] > MAX_THICKNESS:
        return DigitDoubt("blob", "This looks like a dot or a filled patch, not a digit: "
                                  "draw the digit's lines.")
    if measures["ink"] > MAX_INK:
        return DigitDoubt("too much ink", "Too much ink for one digit: clear the canvas "
                                          "(Delete) and draw a single digit.")
    if measures["length"] > MAX_LENGTH:
        return DigitDoubt("scribble", "This looks like a scribble, not a digit: clear the "
                                      "canvas (Delete) and draw a single digit.")
    straight = measures["straightness"] < LINE_RATIO
    across = span is not None and min(span) >= ACROSS_SPAN
    if straight and (measures["tilt"] >= MAX_LINE_TILT_DEG or across):
        return DigitDoubt("line", "This looks like a straight line, not a digit.")
    return None


def preprocess_image(image: np.ndarray) -> np.ndarray | None:
    """Any image of a digit -> the 28x28 float32 (0..1, white ink on black) MNIST form.

    Accepts HxW, HxWx1, HxWx3 (RGB) or HxWx4 (RGBA) arrays; uint8 (0..255) or float (0..1,
    or 0..255 when any value exceeds 1); white-on-black or black-on-white (the background is
    the median of the border pixels, so grey paper works too). RGBA with varying alpha is a
    drawing on a transparent background: its alpha is the ink. The ink's peak is scaled to 1.
    Returns None when there is no ink: blank, uniform, or only faint noise.
    """
    ink = _ink_image(_grey(image))
    if ink is None:
        return None
    rows = np.flatnonzero((ink >= BOX_THRESHOLD).any(axis=1))
    cols = np.flatnonzero((ink >= BOX_THRESHOLD).any(axis=0))
    crop = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    return _centre_by_mass(_fit_box(crop))


class Predictor:
    """Class probabilities for a 28x28 digit, fed to the model as its training pipeline did."""

    def __init__(
        self,
        model: nn.Module,
        *,
        class_names: Sequence[str],
        mean: Sequence[float],
        std: Sequence[float],
        input_size: int,
        in_channels: int,
        device: str = "cpu",
    ) -> None:
        if in_channels not in (1, 3):
            raise ValueError(
                f"The model takes {in_channels} input channels; a drawing can be fed only to "
                "a model with 1 (grey) or 3 (colour) input channels."
            )
        if input_size < 1:
            raise ValueError(f"The input size must be a positive number of pixels, not "
                             f"{input_size}.")
        if not class_names:
            raise ValueError("The model needs class names to say what it predicts.")
        self.class_names = tuple(class_names)
        self.input_size = int(input_size)
        self.in_channels = int(in_channels)
        self.device = torch.device(device)
        self.mean = _per_channel(mean, "mean", in_channels).to(self.device)
        self.std = _per_channel(std, "std", in_channels).to(self.device)
        if (self.std <= 0).any():
            raise ValueError("Every channel's standard deviation must be positive.")
        self.model = model.to(self.device).eval()

    @classmethod
    def from_checkpoint(cls, ckpt: Checkpoint, device: str = "cpu") -> Predictor:
        """A predictor for the model a checkpoint holds, normalised as it was trained."""
        return cls(
            build_model_from_checkpoint(ckpt),
            class_names=ckpt.class_names,
            mean=ckpt.mean,
            std=ckpt.std,
            input_size=ckpt.input_size,
            in_channels=ckpt.in_channels,
            device=device,
        )

    def model_input(self, digit28: np.ndarray) -> torch.Tensor:
        """What the model sees: (1, C, S, S), resized and normalised like a training batch."""
        digit = np.asarray(digit28)
        if digit.shape != (FIELD_SIZE, FIELD_SIZE) or not np.isfinite(digit).all():
            raise ValueError(
                f"Expected a 28x28 image of finite values (from preprocess_image), got an "
                f"array of shape {digit.shape}."
            )
        x = torch.as_tensor(digit, dtype=torch.float32, device=self.device)
        x = x.view(1, 1, FIELD_SIZE, FIELD_SIZE).expand(1, self.in_channels, -1, -1)
        return resize_and_normalise(x, self.input_size, self.mean, self.std)

    def predict(self, digit28: np.ndarray) -> np.ndarray:
        """Probabilities for each class, shape (num_classes,), summing to 1."""
        return self.predict_input(self.model_input(digit28))

    def predict_input(self, model_input: torch.Tensor) -> np.ndarray:
        """Probabilities for a prepared input (1, C, S, S): a drawing's (model_input) or an
        image file's (engine.inference.image_input)."""
        return self.predict_batch(model_input)[0]

    def predict_batch(self, inputs: torch.Tensor) -> np.ndarray:
        """Probabilities (N, num_classes) for N prepared inputs (N, C, S, S) at once."""
        with torch.inference_mode():
            logits = self.model(inputs.to(self.device))
        if logits.shape != (len(inputs), len(self.class_names)):
            raise ValueError(
                f"The model gave outputs of shape {tuple(logits.shape)} for "
                f"{len(inputs)} image(s), but there are {len(self.class_names)} class names: "
                "the model and its class names do not belong together."
            )
        return torch.softmax(logits.float(), dim=1).cpu().numpy()


def _as_points(stroke: Stroke, index: int) -> np.ndarray:
    points = np.asarray(stroke, dtype=np.float64)
    if points.size == 0:
        return points.reshape(0, 2)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"Stroke {index} must be a list of (x, y) points; got an array of "
                         f"shape {points.shape}.")
    if not np.isfinite(points).all():
        raise ValueError(f"Stroke {index} has a point that is not a finite number.")
    return points


def _width_factors(widths: Sequence[float] | None, count: int) -> list[float]:
    if widths is None:
        return [1.0] * count
    factors = [float(w) for w in widths]
    if len(factors) != count:
        raise ValueError(f"Got {len(factors)} widths for {count} strokes: give one per stroke.")
    if not all(math.isfinite(f) and f > 0 for f in factors):
        raise ValueError("Stroke widths must be positive numbers (1.0 = the normal pen).")
    return factors


def _canvas_extent(canvas_size: tuple[float, float]) -> np.ndarray:
    extent = np.asarray(canvas_size, dtype=np.float64)
    if extent.shape != (2,) or not np.isfinite(extent).all() or (extent <= 0).any():
        raise ValueError(f"canvas_size must be a positive (width, height); got {canvas_size}.")
    return extent


# Coordinates are held within this many units of the canvas before clipping, so that the
# differences the clipping takes cannot overflow (a direction change only past 1e100).
_FAR = 1e100


def _on_canvas(polylines: list[tuple[np.ndarray, float]],
               canvas: np.ndarray) -> list[tuple[np.ndarray, float]]:
    """The parts of the polylines that lie on the canvas, each with its width factor."""
    return [(piece, f) for p, f in polylines
            for piece in _clip_polyline(p, np.zeros(2), canvas)]


def _clip_polyline(points: np.ndarray, low: np.ndarray, high: np.ndarray) -> list[np.ndarray]:
    """The parts of a polyline inside the rectangle low..high: the polyline itself when it
    lies wholly inside, else each segment's inner part (Liang-Barsky), and a lone point
    only if it is inside."""
    points = np.clip(points, -_FAR, _FAR)
    inside = ((points >= low) & (points <= high)).all(axis=1)
    if inside.all():
        return [points] if len(points) else []
    if len(points) == 1:
        return []
    pieces = []
    for start, end in zip(points[:-1], points[1:], strict=True):
        step = end - start
        enter, leave = 0.0, 1.0
        for axis in (0, 1):
            for p, q in ((-step[axis], start[axis] - low[axis]),
                         (step[axis], high[axis] - start[axis])):
                if p == 0:
                    if q < 0:  # parallel to this edge and outside it
                        enter, leave = 1.0, 0.0
                elif p < 0:
                    enter = max(enter, q / p)
                else:
                    leave = min(leave, q / p)
        if enter <= leave:
            pieces.append(np.stack([start + enter * step, start + leave * step]))
    return pieces


def _blank_outside(pixels: np.ndarray, origin: np.ndarray, size: np.ndarray) -> None:
    """Zero the pixels outside the rectangle at `origin` with `size`, both (x, y)."""
    left, top = np.floor(origin).astype(int)
    right, bottom = np.ceil(origin + size).astype(int)
    pixels[: max(top, 0)] = 0
    pixels[max(bottom, 0) :] = 0
    pixels[:, : max(left, 0)] = 0
    pixels[:, max(right, 0) :] = 0


def _box_downsample(pixels: np.ndarray, factor: int) -> np.ndarray:
    """Average each factor x factor block: the anti-aliasing of a supersampled drawing."""
    height, width = pixels.shape
    blocks = pixels.reshape(height // factor, factor, width // factor, factor)
    return blocks.mean(axis=(1, 3), dtype=np.float32)


def _grey(image: np.ndarray) -> np.ndarray:
    """Any supported image -> HxW float32 in 0..1 (ink not yet separated from background)."""
    array = np.asarray(image)
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (1, 3, 4))):
        raise ValueError(
            f"Expected a greyscale (HxW) or colour (HxWx3 or HxWx4) image; got an array of "
            f"shape {array.shape}."
        )
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"The image is empty (shape {array.shape}).")
    if array.dtype == np.bool_:
        values = array.astype(np.float32)
    elif np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating):
        values = array.astype(np.float32)
        if not np.isfinite(values).all():
            raise ValueError("The image has values that are not finite numbers (NaN or inf).")
        low, high = float(values.min()), float(values.max())
        if low < 0 or high > 255:
            raise ValueError(f"Pixel values must lie in 0..255 (or 0..1); these span "
                             f"{low:g}..{high:g}.")
        if np.issubdtype(array.dtype, np.integer) or high > 1:
            values /= 255.0
    else:
        raise ValueError(f"Unsupported pixel type {array.dtype}: use uint8 or float.")
    if values.ndim == 2:
        return values
    if values.shape[2] == 4:
        alpha = values[:, :, 3]
        if alpha.max() > alpha.min():  # a drawing on a transparent background
            return alpha
    if values.shape[2] == 1:
        return values[:, :, 0]
    # ITU-R 601 luma, as PIL's convert("L")
    return values[:, :, :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _ink_image(grey: np.ndarray) -> np.ndarray | None:
    """White ink on a black background with the peak at 1, or None when there is no ink."""
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    background = float(np.median(border))
    if background > 0.5:  # dark ink on light paper
        grey, background = 1.0 - grey, 1.0 - background
    ink = np.clip((grey - background) / (1.0 - background), 0.0, 1.0)
    peak = float(ink.max())
    if peak < MIN_CONTRAST:
        return None
    return ink / peak


def _fit_box(crop: np.ndarray) -> np.ndarray:
    """Scale so the longer side is BOX_SIZE, keeping the aspect ratio, anti-aliased."""
    height, width = crop.shape
    longer = max(height, width)
    size = (max(1, round(width * BOX_SIZE / longer)), max(1, round(height * BOX_SIZE / longer)))
    if size == (width, height):
        return crop
    resized = Image.fromarray(crop.astype(np.float32)).resize(size, Image.Resampling.LANCZOS)
    return np.clip(np.asarray(resized), 0.0, 1.0)  # Lanczos overshoots a little at edges


def _centre_by_mass(box: np.ndarray) -> np.ndarray:
    """Paste into the 28x28 field with the centre of mass at CENTRE (whole-pixel shift, as
    MNIST), kept inside the field when the mass is far off-centre."""
    height, width = box.shape
    mass = float(box.sum())
    com_y = float(box.sum(axis=1) @ np.arange(height)) / mass
    com_x = float(box.sum(axis=0) @ np.arange(width)) / mass
    top = min(max(round(CENTRE - com_y), 0), FIELD_SIZE - height)
    left = min(max(round(CENTRE - com_x), 0), FIELD_SIZE - width)
    field = np.zeros((FIELD_SIZE, FIELD_SIZE), dtype=np.float32)
    field[top : top + height, left : left + width] = box
    return field


def _per_channel(values: Sequence[float], what: str, channels: int) -> torch.Tensor:
    tensor = torch.as_tensor(values, dtype=torch.float32).flatten()
    if tensor.numel() == 1:
        tensor = tensor.repeat(channels)
    if tensor.numel() != channels:
        raise ValueError(f"Got {tensor.numel()} {what} values for a {channels}-channel model: "
                         "give one per channel.")
    return tensor.view(1, channels, 1, 1)
