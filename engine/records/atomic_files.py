"""Files replaced atomically: a reader sees the old file or the new one, never half of one.

New content goes to a temporary file beside the target (`.<name>.<hex>.tmp`), is flushed to
disk, then renamed over the target, and the rename itself is made durable. A writer killed
outright (SIGKILL, power loss) cannot remove its temporary file, so each successful write
removes those its killed predecessors left: only ones untouched for a minute, so a write
still going on elsewhere is spared.
"""

from __future__ import annotations

import contextlib
import glob
import os
import secrets
import time
from pathlib import Path

STALE_TEMP_SECONDS = 60.0


def temp_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")


def write_text_atomic(path: Path, text: str) -> None:
    """Replace path's content with text (UTF-8), atomically."""
    write_bytes_atomic(path, text.encode("utf-8"))


def write_bytes_atomic(path: Path, data: bytes | memoryview) -> None:
    """Replace path's content with data, atomically. A disk or permission problem raises
    the `OSError` and leaves any previous file as it was."""
    temp = temp_path(path)
    try:
        with open(temp, "xb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temp, path)
        _fsync_folder(path.parent)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink(missing_ok=True)
        raise
    remove_stale_temp_files(path)


def _fsync_folder(folder: Path) -> None:
    """Make a rename durable; not every OS can open a folder to fsync it (Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def remove_stale_temp_files(path: Path, older_than_s: float = STALE_TEMP_SECONDS) -> int:
    """Delete temporary files that interrupted writes of `path` left behind; return how many."""
    removed = 0
    now = time.time()
    for temp in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        with contextlib.suppress(OSError):
            if now - temp.stat().st_mtime > older_than_s:
                temp.unlink()
                removed += 1
    return removed
