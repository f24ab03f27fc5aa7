"""Read IDX files (MNIST's format), refusing anything truncated or malformed.

An IDX file is: two zero bytes, a type byte (0x08 = unsigned byte), the number of
dimensions, each dimension as a big-endian uint32, then the data. Files may be gzipped.
"""

from __future__ import annotations

import gzip
import math
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np

from engine.data.types import DatasetError

UNSIGNED_BYTE = 0x08
CHUNK_BYTES = 1 << 24


def read_idx(path: Path, ndim: int) -> np.ndarray:
    """The uint8 array stored in an IDX file (.gz or plain) with exactly ndim dimensions."""
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as f:
            header = f.read(4)
            if len(header) < 4 or header[:2] != b"\0\0":
                raise _Malformed("it does not start with an IDX header")
            if header[2] != UNSIGNED_BYTE or header[3] != ndim:
                raise _Malformed(
                    f"it holds {header[3]}-d data of type 0x{header[2]:02x}, expected "
                    f"{ndim}-d unsigned bytes"
                )
            dims_bytes = f.read(4 * ndim)
            if len(dims_bytes) < 4 * ndim:
                raise _Malformed("its header is cut short")
            dims = tuple(int(d) for d in np.frombuffer(dims_bytes, dtype=">u4"))
            expected = math.prod(dims)  # exact: a corrupt header may overflow int64
            data = _read_at_most(f, expected + 1)  # one byte more catches trailing garbage
    except _Malformed as exc:
        raise DatasetError(_broken(path, str(exc))) from None
    except (OSError, EOFError, zlib.error) as exc:  # includes gzip.BadGzipFile
        raise DatasetError(_broken(path, f"it cannot be read ({exc})")) from exc
    if len(data) != expected:
        raise DatasetError(
            _broken(path, f"its header promises {expected:,} bytes of data but it holds "
                    f"{'more' if len(data) > expected else f'{len(data):,}'}")
        )
    return np.frombuffer(data, dtype=np.uint8).reshape(dims)


def _read_at_most(f: BinaryIO, limit: int) -> bytearray:
    """Read up to limit bytes in chunks, so memory follows the data actually there and not
    the size a (possibly corrupt) header promises."""
    data = bytearray()
    while len(data) < limit:
        chunk = f.read(min(CHUNK_BYTES, limit - len(data)))
        if not chunk:
            break
        data += chunk
    return data


class _Malformed(Exception):
    pass


def _broken(path: Path, reason: str) -> str:
    return (
        f"The file {path} is not a valid IDX file: {reason}. It is probably corrupt or "
        "incompletely downloaded: delete it and download it again."
    )
