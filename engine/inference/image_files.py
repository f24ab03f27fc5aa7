"""The image files a person names: files as given, folders searched (recursively) for images.

Shared by `traindesk predict` and the Draw tab's "Open folder…" and drops, so both try the
same files in the same order. A folder's images are those whose names end in one of
IMAGE_SUFFIXES (any case), hidden files and folders left out, sorted by their path inside
the folder. A file named directly is kept whatever its name: reading it then says what is
wrong with it, as does a path that does not exist.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm",
                  ".pgm")


class FoundImage(NamedTuple):
    name: str  # what a person reads: the file's name, or its path inside the folder named
    path: Path


def find_images(paths: Iterable[str | Path]) -> list[FoundImage]:
    """Each path that is a folder replaced by the image files anywhere inside it; other
    paths kept as they are (see the module docstring)."""
    found: list[FoundImage] = []
    for given in paths:
        path = Path(given).expanduser()
        if not path.is_dir():
            found.append(FoundImage(path.name or str(path), path))
            continue
        inside = sorted(_images_under(path), key=lambda p: p.relative_to(path).parts)
        found += [FoundImage(p.relative_to(path).as_posix(), p) for p in inside]
    return found


def _images_under(folder: Path) -> list[Path]:
    """The image files in `folder` and its sub-folders; a sub-folder that cannot be listed
    is passed over (os.walk's way), a link to a folder is not followed (no loops), and
    pipes, devices and broken links named like images are left out (reading a pipe would
    wait for ever), as the image-folder dataset leaves them."""
    images = []
    for root, folders, files in os.walk(folder):
        folders[:] = [name for name in folders if not name.startswith(".")]
        images += [Path(root) / name for name in files
                   if not name.startswith(".") and name.lower().endswith(IMAGE_SUFFIXES)
                   and (Path(root) / name).is_file()]
    return images
