"""Any image file (or pasted picture) -> the input tensor a trained model expects.

A model is fed an outside image the way its training images were fed to it: the dataset's
channels (grey or colour), its stored image size, then the network's input size and the
dataset's mean/std (`engine.data.pipeline.resize_and_normalise`, as for a training batch).
All of this is read from the checkpoint (`InputRecipe.from_checkpoint`), so a 28x28 grey
digit model, a 32x32 CIFAR model and a 224x224 network with ImageNet's mean/std all go
through the same path.

Decisions, for images no training set prepares:
- Transparency is composited on white, as image viewers show it.
- 16- and 32-bit greyscale is scaled to 8 bits by its type's range (not clipped to white).
- EXIF orientation is applied: a phone photo is upright, as the person sees it.
- Images are squashed to a square, as the image-folder dataset stores its training images.
- Huge images are decoded small: a JPEG decodes straight at 1/2..1/8 scale (8000x8000: a
  third of a second, ~10 MB), other formats are decoded whole once (an 8000x8000 PNG: a few
  seconds, ~250 MB, off the GUI thread) and shrunk at once to WORKING_SIDE.
- A model of MNIST-style handwriting (digits, and the datasets the catalog marks
  `mnist_style`: EMNIST letters, Kuzushiji-MNIST) gets MNIST's own treatment instead
  (`engine.inference.predict.preprocess_image`): a photo of a dark digit on light paper is
  inverted to white on black, cropped to its ink, scaled into 20x20 and centred by mass in 28x28, as
  the canvas's drawings are. Squashing the whole photo would hand the model a frame-filling
  dark-on-light picture unlike any character it learned from. A digit model also says when
  the image does not look like a digit (`engine.inference.predict.doubt_about_digit`).
- A model of objects on black (Fashion-MNIST) gets that dataset's making: the object is cut
  from its plain background, fitted into the frame keeping its shape, centred, and negated
  when the background is light (a product photo on white becomes an object on black).
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from engine.catalog import DATASET_INFO
from engine.data.pipeline import resize_and_normalise
from engine.inference.image_modes import SIXTEEN_BIT, WIDE_GREY, eight_bit, on_white
from engine.inference.predict import FIELD_SIZE, MIN_CONTRAST, doubt_about_digit, preprocess_image

if TYPE_CHECKING:
    from engine.records.checkpoint import Checkpoint

ImageSource = str | Path | bytes | Image.Image | np.ndarray
# Decoded images are shrunk at once to at most this many pixels on their longer side: far
# more than any network here reads (224), and enough for a digit to be found on a page.
WORKING_SIDE = 768
# Larger images are refused before decoding (PIL's own decompression-bomb limit): a file
# this size decoded could exhaust the memory. JPEGs are measured after draft(), so a
# 12000x12000 JPEG decodes at 1/8 scale and passes.
MAX_PIXELS = Image.MAX_IMAGE_PIXELS or 89_478_485
READABLE = "PNG, JPEG, BMP, GIF, TIFF or WebP"
_ORIENTATION = 0x0112  # the EXIF tag
_UPRIGHT = {  # EXIF orientation -> the transpose that makes the image upright
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


class ImageInputError(ValueError):
    """An image cannot be read or used; the message names it and says what to do."""


@dataclass(frozen=True)
class InputRecipe:
    """How a model's training images were prepared: what an outside image must match."""

    channels: int  # 1 (grey) or 3 (RGB)
    stored_size: int  # side of the dataset's images as training held them
    input_size: int  # side of the network's input
    mean: tuple[float, ...]  # per channel, on the 0..1 scale
    std: tuple[float, ...]
    is_digits: bool  # handwritten digits 0-9: judged as a digit, too
    mnist_style: bool = False  # white handwriting on black: MNIST's crop-and-centre
    objects_on_black: bool = False  # objects cut out, fitted and negated: Fashion-MNIST's

    @property
    def handwriting(self) -> bool:
        """Whether an image gets MNIST's treatment (see the module docstring)."""
        return self.is_digits or self.mnist_style

    def __post_init__(self) -> None:
        if self.channels not in (1, 3):
            raise ValueError(f"The model takes {self.channels} input channels; an image can "
                             "be fed only to a model with 1 (grey) or 3 (colour) channels.")
        if self.stored_size < 1 or self.input_size < 1:
            raise ValueError("Image sizes must be positive numbers of pixels.")
        for name in ("mean", "std"):
            if len(getattr(self, name)) not in (1, self.channels):
                raise ValueError(f"Give one {name} value per channel ({self.channels}).")
        if min(self.std) <= 0:
            raise ValueError("Every channel's standard deviation must be positive.")

    @classmethod
    def from_checkpoint(cls, ckpt: Checkpoint) -> InputRecipe:
        """The recipe of the model a checkpoint holds (its dataset, size and mean/std)."""
        info = DATASET_INFO.get(ckpt.config.dataset)
        # Datasets of a fixed shape are stored at it (28 for MNIST, 32 for CIFAR-10) and
        # resized to the network's size in each batch; an image folder is stored at the
        # network's size; an unknown dataset (a newer TrainDesk's) is taken to be too.
        known = info.known_shape if info is not None else None
        stored = known[1] if known is not None else ckpt.input_size
        return cls(channels=ckpt.in_channels, stored_size=stored,
                   input_size=ckpt.input_size, mean=tuple(ckpt.mean), std=tuple(ckpt.std),
                   is_digits=ckpt.is_digits,
                   mnist_style=info is not None and info.mnist_style,
                   objects_on_black=info is not None and info.objects_on_black)

    def describe(self) -> str:
        """'3×224×224' — the tensor's shape, as a caption says it."""
        return f"{self.channels}×{self.input_size}×{self.input_size}"


def source_name(source: ImageSource) -> str:
    """What a message calls the image: its file name, else 'the pasted image'."""
    if isinstance(source, (str, Path)):
        return Path(source).name or str(source)
    return "the pasted image"


def read_image(source: ImageSource, name: str | None = None,
               max_side: int = WORKING_SIDE) -> Image.Image:
    """Decode an image: upright, 8-bit ('L', 'LA', 'RGB' or 'RGBA'), longer side at most
    `max_side`. Raises ImageInputError naming the image when it cannot be read."""
    label = name or source_name(source)
    try:
        with warnings.catch_warnings():
            # Sizes PIL only warns about are judged below, after draft() has shrunk JPEGs.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            opened = _open(source)
        with opened as image:  # a file is closed once decoded
            return _decoded(image, label, max_side)
    except FileNotFoundError as error:
        raise ImageInputError(f"{label} does not exist (any more): choose another file.") \
            from error
    except IsADirectoryError as error:
        raise ImageInputError(f"{label} is a folder, not an image: open the image files "
                              "inside it.") from error
    except Image.DecompressionBombError as error:
        raise ImageInputError(f"{label} is too large to decode safely ({error}). Open a "
                              "smaller copy of it.") from error
    except UnidentifiedImageError as error:
        raise ImageInputError(f"{label} is not an image TrainDesk can read. Open a "
                              f"{READABLE} file.") from error
    except (OSError, SyntaxError, ValueError) as error:
        if isinstance(error, ImageInputError):
            raise
        raise ImageInputError(f"{label} cannot be read as an image ({error}). It may be "
                              f"damaged or cut short: open a {READABLE} file.") from error


class ModelInput(NamedTuple):
    tensor: torch.Tensor  # (1, C, S, S), normalised as a training batch
    note: str  # what a person should know about how it was read ("" when nothing)


def to_model_input(image: Image.Image, recipe: InputRecipe, name: str = "the image",
                   device: str | torch.device = "cpu") -> ModelInput:
    """A decoded image (read_image) -> the model's input, normalised as in training.

    For a handwriting or objects-on-black model, an image with nothing on its background
    (blank, or a 1x1 pixel) is fed as it is, squashed like any other image, and the note
    says so; a digit model that doubts the image is a digit says that too.
    """
    note = ""
    pixels = None
    if recipe.handwriting:
        pixels, note = _handwriting_pixels(image, name, recipe.is_digits)
    elif recipe.objects_on_black:
        pixels, note = _object_pixels(image, name, recipe.stored_size)
    if pixels is None:
        flat = on_white(image).convert("L" if recipe.channels == 1 else "RGB")
        side = recipe.stored_size
        stored = flat.resize((side, side), Image.Resampling.BILINEAR)  # as folder images
        array = np.asarray(stored, dtype=np.uint8).reshape(side, side, -1)
        pixels = torch.from_numpy(array.transpose(2, 0, 1).copy()).float().div_(255)
    x = pixels.to(device).unsqueeze(0).expand(1, recipe.channels, -1, -1)
    tensor = resize_and_normalise(x, recipe.input_size,
                                  _per_channel(recipe.mean, recipe, device),
                                  _per_channel(recipe.std, recipe, device))
    return ModelInput(tensor, note)


def image_tensor(source: ImageSource, recipe: InputRecipe, name: str | None = None,
                 device: str | torch.device = "cpu") -> torch.Tensor:
    """read_image then to_model_input: any image file or picture -> the model's input."""
    label = name or source_name(source)
    return to_model_input(read_image(source, label), recipe, label, device).tensor


def as_seen(model_input: torch.Tensor, recipe: InputRecipe) -> np.ndarray:
    """The model's input de-normalised to 8-bit pixels: (S, S) grey or (S, S, 3) RGB."""
    x = model_input.detach().float().cpu().reshape(recipe.channels, recipe.input_size,
                                                  recipe.input_size)
    x = x * _per_channel(recipe.std, recipe, "cpu")[0] + _per_channel(recipe.mean, recipe,
                                                                      "cpu")[0]
    pixels = (x.clamp(0, 1) * 255 + 0.5).to(torch.uint8).numpy()
    return np.ascontiguousarray(pixels[0] if recipe.channels == 1 else pixels.transpose(1, 2, 0))


def thumbnail(image: Image.Image, side: int) -> np.ndarray:
    """An 8-bit RGB copy of a decoded image whose longer side is `side`, for a list: a
    tiny image is enlarged pixel for pixel (a 1x1 image is a visible square)."""
    flat = on_white(image).convert("RGB")
    scale = side / max(flat.size)
    size = (max(1, round(flat.width * scale)), max(1, round(flat.height * scale)))
    small = flat.resize(size, Image.Resampling.BILINEAR if scale < 1
                        else Image.Resampling.NEAREST)
    return np.ascontiguousarray(np.asarray(small, dtype=np.uint8))


def _decoded(image: Image.Image, label: str, max_side: int) -> Image.Image:
    """read_image's work on an opened image (see there)."""
    image.draft(None, (max_side, max_side))  # JPEG: decode straight at a smaller scale
    if image.width * image.height > MAX_PIXELS:
        raise ImageInputError(
            f"{label} is {image.width}x{image.height} pixels, more than the "
            f"{MAX_PIXELS / 1e6:.0f} million an image may have here: decoding it could "
            "exhaust the memory. Open a smaller copy of it.")
    image.load()  # now, while the file is open (a small image is not shrunk, so not read)
    orientation = image.getexif().get(_ORIENTATION, 1)
    sixteen_bit = image.mode in SIXTEEN_BIT
    # Palettes, CMYK and the like become 8-bit before shrinking; wide greys after it
    # (16-bit as 32-bit integers: PIL shrinks those, not 16-bit ones).
    if sixteen_bit:
        image = image.convert("I")
    elif image.mode not in WIDE_GREY:
        image = eight_bit(image)
    image.thumbnail((max_side, max_side), Image.Resampling.BILINEAR, reducing_gap=2.0)
    if orientation in _UPRIGHT:
        image = image.transpose(_UPRIGHT[orientation])
    return eight_bit(image, sixteen_bit)


def _open(source: ImageSource) -> Image.Image:
    if isinstance(source, Image.Image):
        return source.copy()
    if isinstance(source, np.ndarray):
        return Image.fromarray(_checked_array(source))
    if isinstance(source, bytes):
        return Image.open(io.BytesIO(source))
    path = Path(source).expanduser()
    if path.is_dir():
        raise IsADirectoryError(str(path))
    return Image.open(path)


def _checked_array(array: np.ndarray) -> np.ndarray:
    if array.dtype != np.uint8 or not (array.ndim == 2 or (
            array.ndim == 3 and array.shape[2] in (3, 4))):
        raise ValueError(f"a picture must be uint8 HxW, HxWx3 or HxWx4, not {array.dtype} "
                         f"{array.shape}")
    return array


def _handwriting_pixels(image: Image.Image, name: str,
                        digits: bool) -> tuple[torch.Tensor | None, str]:
    """MNIST's treatment (see the module docstring): (1, 28, 28) float 0..1 and a note;
    None when the image holds no marks to treat."""
    mode = "RGBA" if image.mode in ("LA", "RGBA") else "L"
    field = preprocess_image(np.asarray(image.convert(mode)))
    if field is None:
        what = "digit" if digits else "writing"
        return None, (f"No {what} found in {name} (it is blank or too faint): the model "
                      "reads it as it is, which may mean little.")
    doubt = doubt_about_digit(field) if digits else None
    note = "" if doubt is None else (f"{name} does not look like a single digit "
                                     f"({doubt.kind}): the answer may mean little.")
    return torch.from_numpy(field).view(1, FIELD_SIZE, FIELD_SIZE), note


def _object_pixels(image: Image.Image, name: str,
                   side: int) -> tuple[torch.Tensor | None, str]:
    """Fashion-MNIST's making (see the module docstring): (1, side, side) float 0..1 and a
    note; None when nothing stands out from the background."""
    grey = np.asarray(on_white(image).convert("L"), dtype=np.float32) / 255
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    background = float(np.median(border))
    if background > 0.5:  # an object on light paper or a white backdrop
        grey, background = 1.0 - grey, 1.0 - background
    standing_out = np.abs(grey - background) >= MIN_CONTRAST
    # The backdrop becomes black, as Fashion-MNIST's pure white backdrops became.
    grey = np.clip((grey - background) / max(1.0 - background, 1e-6), 0.0, 1.0)
    if not standing_out.any():
        return None, (f"No object found in {name} (it is plain): the model reads it as it "
                      "is, which may mean little.")
    rows = np.flatnonzero(standing_out.any(axis=1))
    cols = np.flatnonzero(standing_out.any(axis=0))
    crop = grey[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    scale = side / max(crop.shape)
    width, height = max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale))
    fitted = np.asarray(Image.fromarray(crop).resize((width, height),
                                                     Image.Resampling.BILINEAR))
    field = np.zeros((side, side), dtype=np.float32)
    top, left = (side - height) // 2, (side - width) // 2
    field[top : top + height, left : left + width] = fitted
    return torch.from_numpy(np.clip(field, 0.0, 1.0)).view(1, side, side), ""


def _per_channel(values: Sequence[float], recipe: InputRecipe,
                 device: str | torch.device) -> torch.Tensor:
    tensor = torch.as_tensor(values, dtype=torch.float32, device=device).flatten()
    return tensor.expand(recipe.channels).reshape(1, recipe.channels, 1, 1)
