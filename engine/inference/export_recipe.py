"""How to prepare an image for an exported model exactly as the app does: the sidecar's recipe.

The app reads an image file (engine.inference.image_input) in steps an exported model cannot take
(decoding, EXIF orientation, transparency, 16-bit greys), then squashes it to the training
images' stored size with Pillow's bilinear filter, which is antialiased: when shrinking, it
averages over each output pixel's whole footprint. A plain bilinear resize of a full-size
image inside the model samples only 4 pixels per output pixel and agreed with the app on
about 93% of top-1 answers for photos. So the sidecar carries the app's recipe as steps in
words and as a standalone Python function (Pillow and numpy only), `prepare(path)`, whose
output given to the exported model reproduces the app's answers; tests check its pixels
against the app's on every kind of image file. (The exported model also shrinks any image
with an antialiased bilinear filter itself, so images fed whole come close.)

Models of handwriting and of objects on black (Fashion-MNIST) get more than a resize in the
app (engine.inference.image_input's module docstring): their recipe says so instead of a function.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.inference.image_input import WORKING_SIDE, InputRecipe

if TYPE_CHECKING:
    from engine.records.checkpoint import Checkpoint

# engine.inference.image_input.read_image then to_model_input's squashing path, as one function.
# tests/engine/test_export_recipe.py holds it to the app's pixels.
_PYTHON = '''\
import numpy as np
from PIL import Image

SIDE, MODE, WORKING_SIDE = {side}, "{mode}", {working_side}
UPRIGHT = {{2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
           4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
           6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
           8: Image.Transpose.ROTATE_90}}
WIDE = ("I", "F", "I;16", "I;16B", "I;16L", "I;16N")


def eight_bit(image, sixteen_bit=False):
    if image.mode in WIDE:  # scaled by the type's range, not clipped
        values = np.asarray(image).astype(np.float32)
        if image.mode == "F":
            top = 1.0 if values.max(initial=0) <= 1.0 else 255.0
        else:
            top = 65535.0 if (sixteen_bit or image.mode.startswith("I;16")
                              or values.max(initial=0) > 255) else 255.0
        return Image.fromarray(np.clip(values / top * 255.0 + 0.5, 0, 255).astype(np.uint8))
    if image.mode in ("L", "LA", "RGB", "RGBA"):
        return image
    if (image.mode == "P" and "transparency" in image.info) or image.mode in ("PA", "La",
                                                                             "RGBa"):
        return image.convert("RGBA")
    return image.convert("L" if image.mode == "1" else "RGB")


def prepare(path):
    """An image file -> float32 (1, channels, SIDE, SIDE) on the 0..1 scale."""
    with Image.open(path) as image:
        image.draft(None, (WORKING_SIDE, WORKING_SIDE))  # a JPEG decodes at a smaller scale
        image.load()
        orientation = image.getexif().get(0x0112, 1)
        sixteen_bit = image.mode.startswith("I;16")
        image = image.convert("I") if sixteen_bit else (
            image if image.mode in WIDE else eight_bit(image))
        image.thumbnail((WORKING_SIDE, WORKING_SIDE), Image.Resampling.BILINEAR,
                        reducing_gap=2.0)
    if orientation in UPRIGHT:
        image = image.transpose(UPRIGHT[orientation])
    image = eight_bit(image, sixteen_bit)
    if image.mode in ("LA", "RGBA"):  # transparency on white
        white = Image.new("RGBA", image.size, (255, 255, 255, 255))
        flat = Image.alpha_composite(white, image.convert("RGBA")).convert("RGB")
        image = flat.convert("L") if image.mode == "LA" else flat
    image = image.convert(MODE).resize((SIDE, SIDE), Image.Resampling.BILINEAR)
    pixels = np.asarray(image, dtype=np.uint8).reshape(SIDE, SIDE, -1)
    return pixels.transpose(2, 0, 1)[None].astype(np.float32) / np.float32(255)
'''


def prepare_recipe(ckpt: Checkpoint) -> dict[str, Any]:
    """The sidecar's "prepare": how to turn an image file into the exported model's input."""
    recipe = InputRecipe.from_checkpoint(ckpt)
    side, channels = recipe.stored_size, recipe.channels
    mode = "L" if channels == 1 else "RGB"
    described = {
        "resize_first": True,
        "size": [side, side],
        "resampling": "Pillow's Image.resize with Image.Resampling.BILINEAR: a triangle "
                      "filter that widens with the scale when shrinking (antialiased)",
        "crop": "none: the whole image is squashed to a square (its aspect ratio is not kept)",
        "channels": "greyscale (Pillow mode L)" if channels == 1 else "RGB, in that order",
        "values": "uint8 pixels / 255 as float32, layout (1, C, H, W)",
        "normalisation": "none: the model applies the mean and std inside",
    }
    if recipe.handwriting or recipe.objects_on_black:
        what = ("MNIST's crop, scale and centring" if recipe.handwriting
                else "Fashion-MNIST's making: the object cut from its background, fitted "
                     "into the frame keeping its shape, centred, negated on light "
                     "backgrounds")
        return {**described, "steps": [
            f"The app gives this model {what} instead of a plain resize; "
            "TrainDesk's engine.inference.image_input.image_tensor does it (see 'preprocessing')."]}
    return {**described, "steps": [
        f"Decode the file with Pillow; a JPEG with image.draft(None, ({WORKING_SIDE}, "
        f"{WORKING_SIDE})) first.",
        "Scale 16-bit and floating-point greys to 8 bits by their type's range.",
        f"Shrink it so neither side exceeds {WORKING_SIDE} px: image.thumbnail(("
        f"{WORKING_SIDE}, {WORKING_SIDE}), Image.Resampling.BILINEAR, reducing_gap=2.0).",
        "Turn it upright by its EXIF orientation.",
        "Composite any transparency on white.",
        f"Convert it to {mode} and resize it to {side}x{side} with "
        "Image.Resampling.BILINEAR (no crop, no padding).",
        "Divide the uint8 pixels by 255 as float32 and lay them out as (1, C, H, W).",
        "The function in 'python' does all of this: prepare(path)."],
        "python": _PYTHON.format(side=side, mode=mode, working_side=WORKING_SIDE)}
