"""Build tests/data/outside-digits/: digits from sources other than MNIST, to check that the
bundled model reads digits written by people who are not in MNIST.

    python tools/build_outside_digits.py

Three sets, each written as a pair of IDX .gz files (images already in MNIST form, i.e. what
the Draw tab feeds the model: engine.inference.predict.preprocess_image's 28x28 output):

- `strokes`: the Draw tab's own path. The mouse strokes of tools/digit_strokes.py (ten
  digits, 21 styles), each drawn 12 times with a random slant, rotation, aspect, wobble and
  pen width, rendered by render_strokes as the canvas does.
- `fonts`: the digits of every TrueType/OpenType font found in FONT_DIRS (DejaVu, Liberation,
  FreeFont, and the handwriting fonts of Debian's fonts-* packages listed in the README),
  each twice: upright and at a random slant, each at a random stroke weight.
- `uci`: the UCI "optical recognition of handwritten digits" set (Alpaydin & Kaynak, 1998;
  1,797 digits written by 43 people, none in MNIST, 8x8 pixels of 0..16), as scikit-learn
  ships it (`sklearn/datasets/data/digits.csv.gz`, read without importing scikit-learn, or
  given with --uci-csv: `pip download --no-deps scikit-learn` and unzip it from the wheel);
  upscaled to 32x32 (the size they were written at) before MNIST's treatment.

Seeded and written with gzip mtime 0: running it again on the same fonts gives the same files.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import math
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from engine.inference.predict import preprocess_image, render_strokes  # noqa: E402
from tools.digit_strokes import DIGITS  # noqa: E402

OUT_DIR = REPO / "tests" / "data" / "outside-digits"
FONT_DIRS = (Path("/usr/share/fonts/truetype"), Path("/usr/share/fonts/opentype"))
# Font families that are not Latin digits (symbols, maths, dingbats) or not legible ones.
SKIP_FONTS = ("Math", "Symbol", "Dingbat", "D050000L", "Emoji")
SEED = 20261202
STROKE_REPEATS = 12
FONT_SLANTS = (-0.15, 0.2, 0.4)  # x += slant * (distance above the baseline)
FONT_WEIGHTS = (-1, 0, 2)  # pixels of erosion (-) or dilation (+) at a 96 px glyph height


def stroke_digits(rng: np.random.Generator) -> Iterator[tuple[np.ndarray, int]]:
    for digit, styles in DIGITS.items():
        for strokes in styles.values():
            for _ in range(STROKE_REPEATS):
                yield _varied_drawing(strokes, rng), digit


def _varied_drawing(strokes: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    angle = math.radians(rng.uniform(-12, 12))
    slant = rng.uniform(-0.1, 0.45)  # people slant right more often than left
    aspect = rng.uniform(0.75, 1.2)
    rotate = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    # x' = aspect * x - slant * (y - 0.5): the top leans right for a positive slant.
    shape = np.array([[aspect, 0.0], [-slant, 1.0]])
    wobble_phase = rng.uniform(0, 2 * math.pi, size=2)
    wobble = rng.uniform(0.0, 0.025)
    moved = []
    for stroke in strokes:
        points = stroke - 0.5
        t = np.linspace(0, 1, len(points))[:, None]
        points = points + wobble * np.sin(2 * math.pi * 1.5 * t + wobble_phase)
        points = points + rng.normal(0, 0.004, size=points.shape)  # a shaky hand
        moved.append(points @ shape @ rotate.T)
    widths = rng.uniform(0.5, 1.8, size=len(moved))
    image = render_strokes(moved, widths=list(widths))
    return _mnist_form(image)


def font_files() -> list[Path]:
    files = sorted({p for folder in FONT_DIRS if folder.is_dir()
                    for p in folder.rglob("*") if p.suffix.lower() in (".ttf", ".otf")})
    return [p for p in files if not any(word in p.name for word in SKIP_FONTS)]


def font_digits(fonts: list[Path], rng: np.random.Generator) -> Iterator[tuple[np.ndarray, int]]:
    """Each digit of each font twice: upright and slanted, each at a random weight."""
    for path in fonts:
        try:
            font = ImageFont.truetype(str(path), 96)
        except OSError:
            continue
        for digit in range(10):
            glyph = _glyph(font, str(digit))
            if glyph is None:
                continue
            for slant in (0.0, rng.choice(FONT_SLANTS)):
                weight = int(rng.choice(FONT_WEIGHTS))
                yield _mnist_form(_styled(glyph, float(slant), weight)), digit


def _glyph(font: ImageFont.FreeTypeFont, text: str) -> np.ndarray | None:
    image = Image.new("L", (200, 200), 0)
    ImageDraw.Draw(image).text((50, 30), text, font=font, fill=255)
    pixels = np.asarray(image)
    return pixels if pixels.max() > 0 else None


def _styled(glyph: np.ndarray, slant: float, weight: int) -> np.ndarray:
    image = Image.fromarray(glyph)
    if slant:
        image = image.transform(image.size, Image.Transform.AFFINE,
                                (1, slant, -slant * 150, 0, 1, 0),
                                resample=Image.Resampling.BILINEAR)
    if weight > 0:
        image = image.filter(ImageFilter.MaxFilter(2 * weight + 1))
    elif weight < 0:
        image = image.filter(ImageFilter.MinFilter(-2 * weight + 1))
    return np.asarray(image)


def uci_csv() -> Path | None:
    """scikit-learn's copy of the UCI digits (a CSV: 64 pixel values, then the label)."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "datasets/data/digits.csv.gz"
    return path if path.exists() else None


def uci_digits(path: Path | None) -> Iterator[tuple[np.ndarray, int]]:
    if path is None:
        print("scikit-learn is not installed and no --uci-csv was given: the UCI set is left "
              "out.", file=sys.stderr)
        return
    rows = np.loadtxt(path, delimiter=",", dtype=np.float32)
    for row in rows:
        small = Image.fromarray(row[:64].reshape(8, 8) / 16.0)
        large = np.asarray(small.resize((32, 32), Image.Resampling.BICUBIC)).clip(0, 1)
        yield _mnist_form(large), int(row[64])


def _mnist_form(image: np.ndarray | None) -> np.ndarray:
    digit = preprocess_image(image) if image is not None else None
    if digit is None:
        raise ValueError("a digit came out without ink")
    return np.rint(digit * 255).astype(np.uint8)


def write_set(name: str, digits: Iterator[tuple[np.ndarray, int]]) -> int:
    pairs = list(digits)
    if not pairs:
        return 0
    images = np.stack([image for image, _ in pairs])
    labels = np.array([label for _, label in pairs], dtype=np.uint8)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    _write_idx(OUT_DIR / f"{name}-images-idx3-ubyte.gz", images)
    _write_idx(OUT_DIR / f"{name}-labels-idx1-ubyte.gz", labels)
    return len(labels)


def _write_idx(path: Path, array: np.ndarray) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in array.shape)
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as out:
        out.write(header + np.ascontiguousarray(array).tobytes())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--uci-csv", type=Path, default=None,
                        help="digits.csv.gz from scikit-learn (sklearn/datasets/data/; a wheel "
                             "is a zip file) when scikit-learn is not installed.")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(SEED)
    fonts = font_files()
    counts = {
        "strokes": write_set("strokes", stroke_digits(rng)),
        "fonts": write_set("fonts", font_digits(fonts, rng)),
        "uci": write_set("uci", uci_digits(args.uci_csv or uci_csv())),
    }
    (OUT_DIR / "fonts.txt").write_text("".join(f"{p.name}\n" for p in fonts))
    print(f"Wrote {OUT_DIR}: " + ", ".join(f"{n:,} {name}" for name, n in counts.items())
          + f" (fonts: {len(fonts)} files)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
