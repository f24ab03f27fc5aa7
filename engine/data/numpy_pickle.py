"""Read the pickled dicts of numpy arrays that CIFAR-10 and CIFAR-100 are shipped as.

Unpickling can run arbitrary code, so these files are read with an unpickler that only
knows the few numpy functions an array needs: a data file that names anything else is
refused before anything in it runs.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from engine.data.types import DatasetError

try:
    from numpy._core.multiarray import _reconstruct
except ImportError:  # numpy 1.x
    from numpy.core.multiarray import _reconstruct

# Everything a pickled numpy array refers to, under the module names numpy 1.x (and the
# Python 2 numpy that wrote the CIFAR files) and numpy 2.x use.
ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


class _NumpyOnlyUnpickler(pickle.Unpickler):
    def __init__(self, file, path: Path, title: str) -> None:
        # latin1: the files were pickled by Python 2, whose byte strings hold the pixels.
        super().__init__(file, encoding="latin1")
        self.path = path
        self.title = title

    def find_class(self, module: str, name: str) -> object:
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise DatasetError(
                f"Refused to load {self.path}: it asks to run {module}.{name}, which a "
                f"{self.title} file never contains. Delete the file and download "
                f"{self.title} again."
            ) from None


def load_numpy_pickle(path: Path, title: str) -> object:
    """The object pickled in path, refusing any pickle that names more than numpy arrays."""
    try:
        with open(path, "rb") as f:
            return _NumpyOnlyUnpickler(f, path, title).load()
    except DatasetError:
        raise
    except Exception as exc:  # unpickling damaged bytes can fail in many ways
        raise DatasetError(broken(path, title, f"it cannot be unpickled ({exc!r})")) from exc


def broken(path: Path, title: str, reason: str) -> str:
    """The message for a data file that cannot be used."""
    return (
        f"The {title} file {path} is unusable: {reason}. It is probably corrupt or "
        "incompletely downloaded: delete it and download it again."
    )
