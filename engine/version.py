"""TrainDesk's version, read from the installed package's metadata (no heavy imports); in a
checkout that was never installed, from its pyproject.toml."""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def app_version() -> str:
    try:
        return metadata.version("traindesk")
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return checkout_version() or "unknown (not installed)"


def checkout_version(pyproject: Path = PYPROJECT) -> str | None:
    """The version pyproject.toml states, or None where there is none to read."""
    # The [project] table's version line (tomllib is not in Python 3.10).
    try:
        text = pyproject.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    found = re.search(r'^\[project\][^\[]*?^version\s*=\s*"([^"]+)"', text, re.M | re.S)
    return found.group(1) if found else None


def library_versions() -> dict[str, str]:
    """The versions of what TrainDesk runs on, for About and bug reports, without importing
    PyTorch: the loaded module's own version where it is loaded, else the installed one."""
    import platform
    import sys

    found = {"Python": platform.python_version()}
    for title, module, dist in (("PyTorch", "torch", "torch"),
                                ("torchvision", "torchvision", "torchvision"),
                                ("PySide6", "PySide6", "PySide6"),
                                ("pyqtgraph", "pyqtgraph", "pyqtgraph")):
        loaded = getattr(sys.modules.get(module), "__version__", None)
        try:
            found[title] = str(loaded or metadata.version(dist))
        except metadata.PackageNotFoundError:
            found[title] = "not installed"
    return found
