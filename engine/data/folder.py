"""A person's own images: one sub-folder per class (optionally under train/ and test/).

Class names are the folder names, sorted (as torchvision's ImageFolder names them); every
image is decoded once with PIL, resized to image_size x image_size and kept in memory like
the other datasets. image_size is what the network takes (224 for the pretrained ones), so
a folder can take much memory: 1,000 colour images at 224x224 are 144 MB. Before anything
is decoded, the loader works out how much (said in its first progress message) and refuses,
saying what to do, a folder that would not fit in the memory available. It does not fall
back to reading batches from disk: the whole engine slices batches from in-memory tensors
(no per-image work while training), and a folder that does not fit at 224x224 fits at a
smaller image size, which a person can choose.

Folders are walked with care for what real folders hold: hidden and system files (macOS's
`._name` copies and `.DS_Store`, Windows' `Thumbs.db` and `desktop.ini`) are skipped, a link
to a folder already read (a link loop, or a link to a class folder) is not followed, the
same file reached twice through links is read once, and a test image whose bytes are those
of a training image is left out of the test set, so test accuracy measures unseen images.
Each of these is counted in the dataset's notes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps
from torchvision.datasets.folder import IMG_EXTENSIONS

from engine.data.assemble import make_dataset
from engine.data.types import DatasetError, ImageDataset, ProgressFn
from engine.events import DataProgress
from engine.inference.image_modes import eight_bit, on_white
from engine.runtime.memory import available_bytes, byte_text
from engine.text import plural

NAME = "folder"
TEST_FRACTION = 0.2
SPLIT_SEED = 0
GREY_MODES = {"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "F"}
PROGRESS_STEPS = 100
# Names operating systems and zip tools leave in folders; never images or classes.
SYSTEM_NAMES = {"thumbs.db", "ehthumbs.db", "desktop.ini", "__macosx", "$recycle.bin",
                "system volume information"}
EXAMPLES = 3  # how many skipped names a note quotes
MAX_PIXELS = Image.MAX_IMAGE_PIXELS or 89_478_485  # PIL's own warning limit
# Loading needs the images once plus, for a greyscale folder, a third more for a moment;
# training keeps them (and copies a validation split): half the free memory at most.
MEMORY_SHARE = 0.5
SMALLER_SIZES = (192, 160, 128, 96, 64, 32)  # image sizes suggested when one does not fit

Samples = list[tuple[str, int]]  # (image path, class index), as ImageFolder lists them


def is_hidden_or_system(name: str) -> bool:
    return name.startswith(".") or name.lower() in SYSTEM_NAMES


@dataclass
class _Skipped:
    """What the walk left out, for the notes."""

    hidden: list[str] = field(default_factory=list)
    folder_links: list[str] = field(default_factory=list)
    repeated_files: int = 0
    not_files: list[str] = field(default_factory=list)  # pipes, devices, broken links

    def notes(self) -> list[str]:
        found = []
        if self.hidden:
            found.append(f"Skipped {_count(len(self.hidden), 'hidden or system file')} "
                         f"({_examples(self.hidden)}).")
        if self.folder_links:
            links = _count(len(self.folder_links), "folder link")
            found.append(f"Did not follow {links} that lead back to folders already read "
                         f"({_examples(self.folder_links)}).")
        if self.not_files:
            found.append(f"Skipped {_count(len(self.not_files), 'image name')} that "
                         "are not plain files (pipes, devices or broken links: "
                         f"{_examples(self.not_files)}).")
        if self.repeated_files:
            found.append(f"Read {_count(self.repeated_files, 'file')} reached twice through "
                         "links only once.")
        return found


def image_files(root: Path) -> list[Path]:
    """Every file under root that is read as an image (see the module's docstring)."""
    if not root.is_dir():
        return []
    visited = {os.path.realpath(root)}
    return sorted(Path(p) for p in _walk(root, visited, set(), _Skipped()))


def load_folder(root: Path, progress: ProgressFn, image_size: int) -> ImageDataset:
    """Load root's class folders; root/train and root/test, if both exist, are the split."""
    if not root.is_dir():
        what = "is a file, not a folder" if root.exists() else "does not exist"
        raise DatasetError(
            f"{root} {what}. Choose a folder that holds one sub-folder of images per class."
        )
    if image_size < 1:
        raise DatasetError(f"Image size must be at least 1 pixel, not {image_size}.")
    skipped, seen_files = _Skipped(), set()
    untested_note = ""
    train_dir, test_dir = root / "train", root / "test"
    if train_dir.is_dir() and test_dir.is_dir():
        class_names, train = _discover(train_dir, skipped, seen_files)
        test_names, test = _discover(test_dir, skipped, seen_files)
        if test_names != class_names:
            raise DatasetError(
                f"{train_dir} has the class folders {', '.join(class_names)} but {test_dir} "
                f"has {', '.join(test_names)}; both need the same class folders."
            )
    else:
        class_names, samples = _discover(root, skipped, seen_files)
        train, test = stratified_split(samples, TEST_FRACTION, SPLIT_SEED)
        untested = _classes_without_test_images(class_names, test)
        if len(untested) == len(class_names):
            raise DatasetError(
                f"No test images: every class in {root} has only one image, and a class "
                "needs at least 2 images for a test split (about a fifth of each class is "
                "held out for testing). Add more images per class, or put the test images "
                f"in {root / 'test'} and the training images in {root / 'train'}.")
        if untested:
            untested_note = (f"{_count(len(untested), 'class')} ({_examples(untested)}) "
                            f"{'has' if len(untested) == 1 else 'have'} only one image, kept "
                            "for training: no test image tells how well "
                            f"{'it is' if len(untested) == 1 else 'they are'} learned. Add "
                            "more images to them.")
    paths = [path for path, _ in train + test]
    _refuse_too_big(root, len(paths), image_size)
    images, digests = _read_images(paths, image_size, progress)
    labels = np.array([label for _, label in train + test], dtype=np.int64)
    n = len(train)
    training_bytes = set(digests[:n])
    keep = np.array([True] * n + [d not in training_bytes for d in digests[n:]], dtype=bool)
    copies = int((~keep).sum())
    if copies == len(test):
        raise DatasetError(
            f"Every test image in {root} is an exact copy of a training image, so testing "
            "would only measure memory. Give the test set images of its own."
        )
    notes = skipped.notes() + ([untested_note] if untested_note else [])
    if copies:
        notes.append(f"Left {_count(copies, 'test image')} out of the test set: the same "
                     "bytes are also a training image, which would make test accuracy "
                     f"look better than it is ({len(test) - copies} test images remain).")
    dataset = make_dataset(
        NAME,
        (images[:n], labels[:n]),
        (images[keep][n:], labels[keep][n:]),
        class_names,
        hflip_ok=True,
        is_digits=False,
    )
    return dataclasses.replace(dataset, notes=tuple(notes))


def _discover(root: Path, skipped: _Skipped,
              seen_files: set[str]) -> tuple[tuple[str, ...], Samples]:
    try:
        class_dirs = sorted((entry.name, entry.path) for entry in os.scandir(root)
                            if entry.is_dir() and not is_hidden_or_system(entry.name))
    except OSError as exc:
        raise DatasetError(f"Cannot read the folder {root} ({exc}).") from exc
    if not class_dirs:
        raise DatasetError(
            f"{root} has no class sub-folders. Put the images of each class in their own "
            f"sub-folder (e.g. {root / 'cats'}, {root / 'dogs'})."
        )
    if len(class_dirs) < 2:
        raise DatasetError(
            f"{root} has {plural(len(class_dirs), 'class folder')}; a classifier needs at "
            "least 2 "
            "(one sub-folder of images per class)."
        )
    # Every class folder counts as read from the start: a link from one class into another
    # must not give the other's images this class's label.
    visited = {os.path.realpath(root)} | {os.path.realpath(path) for _, path in class_dirs}
    samples: Samples = []
    empty = []
    for label, (name, path) in enumerate(class_dirs):
        files = _walk(Path(path), visited, seen_files, skipped)
        if not files:
            empty.append(name)
        samples.extend((file, label) for file in sorted(files))
    if empty:
        raise DatasetError(
            f"These class folders in {root} hold no images: {', '.join(empty)}. Add images "
            f"({', '.join(IMG_EXTENSIONS)}) or remove the folders."
        )
    return tuple(name for name, _ in class_dirs), samples


def _walk(folder: Path, visited: set[str], seen_files: set[str], skipped: _Skipped) -> list[str]:
    """The image files under folder; links to folders in `visited` are not followed."""
    found: list[str] = []
    pending = [folder]
    while pending:
        current = pending.pop()
        try:
            entries = sorted(os.scandir(current), key=lambda entry: entry.name)
        except OSError as exc:
            raise DatasetError(f"Cannot read the folder {current} ({exc}).") from exc
        for entry in entries:
            if is_hidden_or_system(entry.name):
                skipped.hidden.append(entry.name)
                continue
            try:
                is_dir = entry.is_dir()
                real = os.path.realpath(entry.path)
            except OSError:
                continue  # a broken link or a file gone meanwhile: nothing to read
            if is_dir:
                if real in visited:
                    skipped.folder_links.append(os.path.relpath(entry.path, folder.parent))
                else:
                    visited.add(real)
                    pending.append(Path(entry.path))
            elif not entry.name.lower().endswith(IMG_EXTENSIONS):
                continue
            elif not _is_plain_file(entry):  # reading a pipe or a device never ends
                skipped.not_files.append(entry.name)
            else:
                if real in seen_files:
                    skipped.repeated_files += 1
                else:
                    seen_files.add(real)
                    found.append(entry.path)
    return found


def _is_plain_file(entry: os.DirEntry) -> bool:
    try:
        return entry.is_file()  # follows links: a link to /dev/zero is no plain file
    except OSError:
        return False


def _classes_without_test_images(class_names: tuple[str, ...], test: Samples) -> list[str]:
    tested = {label for _, label in test}
    return [name for label, name in enumerate(class_names) if label not in tested]


def stratified_split(samples: Samples, test_fraction: float, seed: int) -> tuple[Samples, Samples]:
    """Hold out about test_fraction of each class (at least one image where a class has 2+)."""
    rng = np.random.default_rng(seed)
    labels = np.array([label for _, label in samples])
    train_idx, test_idx = [], []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        n_test = min(len(members) - 1, max(1, round(len(members) * test_fraction)))
        test_idx.extend(members[:n_test])
        train_idx.extend(members[n_test:])
    return [samples[i] for i in sorted(train_idx)], [samples[i] for i in sorted(test_idx)]


def memory_needed(count: int, size: int, channels: int = 3) -> int:
    """Bytes that count images of size x size take in memory (uint8)."""
    return count * channels * size * size


def _refuse_too_big(root: Path, count: int, size: int) -> None:
    """Refuse, before decoding anything, a folder whose images would not fit in memory
    (counted as colour: whether they are all greyscale is known only once read)."""
    available = available_bytes()
    need = memory_needed(count, size)
    if available is None or need <= available * MEMORY_SHARE:
        return
    fits = [s for s in SMALLER_SIZES
            if s < size and memory_needed(count, s) <= available * MEMORY_SHARE]
    smaller = (f"a smaller image size (the Image size setting or --image-size: {fits[0]} "
               f"would take {byte_text(memory_needed(count, fits[0]))})" if fits
               else "a smaller image size")
    raise DatasetError(
        f"The {count:,} images in {root} would take {byte_text(need)} of memory at "
        f"{size}x{size} pixels, but only {byte_text(available)} is free (training needs "
        f"room besides the images). Use {smaller}, fewer images, or a network that takes "
        "smaller images; or close other programs.")


def _read_images(paths: list[str], size: int,
                 progress: ProgressFn) -> tuple[np.ndarray, list[bytes]]:
    """(N, C, size, size) uint8 (C is 1 if every image is greyscale, else 3), and a digest
    of each file's bytes."""
    images = np.empty((len(paths), 3, size, size), dtype=np.uint8)  # read straight in place
    digests = []
    all_grey = True
    step = max(1, len(paths) // PROGRESS_STEPS)
    at = f"at {size}x{size} ({byte_text(images.nbytes)} in memory at most)"
    for i, path in enumerate(paths):
        if i % step == 0:
            progress(DataProgress(NAME, f"Loading {len(paths):,} images {at}", i, len(paths)))
        pixels, grey, digest = _read_image(Path(path), size)
        images[i] = pixels[np.newaxis] if grey else pixels.transpose(2, 0, 1)
        digests.append(digest)
        all_grey = all_grey and grey
    if all_grey:
        images = np.ascontiguousarray(images[:, :1])
    progress(DataProgress(NAME, f"Loaded {len(paths):,} images at {size}x{size} "
                                f"({byte_text(images.nbytes)} in memory)",
                          len(paths), len(paths)))
    return images, digests


def _read_image(path: Path, size: int) -> tuple[np.ndarray, bool, bytes]:
    try:
        data = path.read_bytes()
        with warnings.catch_warnings():
            # Sizes PIL only warns about are refused below, before anything is decoded.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            opened = Image.open(io.BytesIO(data))
        with opened as image:
            _refuse_huge(path, image)
            grey = image.mode in GREY_MODES
            mode = "L" if grey else "RGB"
            image.draft(mode, (size, size))  # JPEGs decode straight at a smaller scale
            # As a model is tried on an image (engine/inference/image_modes.py): the same pixels.
            image = on_white(eight_bit(ImageOps.exif_transpose(image)))
            image = image.convert(mode)
            pixels = np.asarray(image.resize((size, size), Image.Resampling.BILINEAR))
            return pixels, grey, hashlib.sha256(data).digest()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise DatasetError(
            f"Cannot read the image {path} ({exc}). Delete or replace it, then load again."
        ) from exc


def _refuse_huge(path: Path, image: Image.Image) -> None:
    """Refuse images too large to decode safely (a decompression bomb, or a huge scan)."""
    pixels = image.width * image.height
    if pixels > MAX_PIXELS:
        raise DatasetError(
            f"The image {path} is {image.width}x{image.height} pixels ({pixels / 1e6:,.0f} "
            f"million), more than the {MAX_PIXELS / 1e6:.0f} million pixels an image may "
            "have here: decoding it could exhaust the memory. Shrink or remove it, then load "
            "again.")


def _count(n: int, thing: str) -> str:
    return f"{n} {thing}" if n == 1 else f"{n} {thing}s"


def _examples(names: list[str]) -> str:
    shown = ", ".join(names[:EXAMPLES])
    return shown + (", …" if len(names) > EXAMPLES else "")
