"""Any decoded image as 8-bit pixels, the same way for training and for trying a model.

The folder dataset (engine/data/folder.py) and the images a person tries on a model
(engine/inference/image_input.py) must turn a file into the same pixels, or a model is tried on
something other than what it learned from: 16-bit greys are scaled by their range (PIL's
convert would clip them to white) and transparency is composited on white (how a viewer
shows a transparent image; dropping the alpha channel leaves whatever colour the hidden
pixels happen to hold, often black).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

SIXTEEN_BIT = ("I;16", "I;16B", "I;16L", "I;16N")
WIDE_GREY = ("I", "F", *SIXTEEN_BIT)


def eight_bit(image: Image.Image, sixteen_bit: bool = False) -> Image.Image:
    """8-bit 'L', 'LA', 'RGB' or 'RGBA', whatever the file held. A 16-bit mode is scaled by 16
    bits' range even when all its greys are dark; `sixteen_bit` says so of a 16-bit image
    already converted to 32-bit integers (to be shrunk: PIL shrinks those, not 16-bit ones)."""
    if image.mode in WIDE_GREY:
        values = np.asarray(image).astype(np.float32)
        if image.mode == "F":  # floats: 0..1 when they fit, else 0..255
            top = 1.0 if values.max(initial=0) <= 1.0 else 255.0
        else:  # some 16-bit files open as "I": their values exceed 8 bits
            top = 65535.0 if (sixteen_bit or image.mode in SIXTEEN_BIT
                              or values.max(initial=0) > 255) else 255.0
        scaled = np.clip(values / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(scaled)
    if image.mode in ("L", "LA", "RGB", "RGBA"):
        return image
    transparent = image.mode == "P" and "transparency" in image.info
    if transparent or image.mode in ("PA", "La", "RGBa"):
        return image.convert("RGBA")
    if image.mode == "1":
        return image.convert("L")
    return image.convert("RGB")  # CMYK, YCbCr, LAB, HSV, palettes


def on_white(image: Image.Image) -> Image.Image:
    """Transparency composited on white; an image without any is returned as it is."""
    if image.mode not in ("LA", "RGBA"):
        return image
    white = Image.new("RGBA", image.size, (255, 255, 255, 255))
    flat = Image.alpha_composite(white, image.convert("RGBA")).convert("RGB")
    return flat.convert("L") if image.mode == "LA" else flat
