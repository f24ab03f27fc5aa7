"""Before Qt starts on X11: are the system libraries of Qt's xcb plugin installed?

Qt 6.5+ needs libxcb-cursor0 (and other xcb libraries) for X11 windows, which many
Debian/Ubuntu installs lack; without them Qt aborts with "Could not load the Qt platform
plugin xcb ... even though it was found" and a list of plugins. This check finds the missing
libraries the way the dynamic loader does (`ldd` on the plugin, which follows the plugin's
own search path to Qt's bundled libraries; else by loading each library with ctypes) and says
in one line what to install.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

# Load one by one when there is no ldd: the plugin's system dependencies (Qt 6.5+).
XCB_LIBRARIES = (
    "libxcb-cursor.so.0", "libxcb-icccm.so.4", "libxcb-keysyms.so.1", "libxcb-image.so.0",
    "libxcb-render-util.so.0", "libxcb-randr.so.0", "libxcb-shape.so.0", "libxcb-shm.so.0",
    "libxcb-sync.so.1", "libxcb-xfixes.so.0", "libxcb-render.so.0", "libxcb-xkb.so.1",
    "libxcb-util.so.1", "libxcb.so.1", "libX11-xcb.so.1", "libX11.so.6", "libxkbcommon.so.0",
    "libxkbcommon-x11.so.0", "libGL.so.1", "libEGL.so.1", "libfontconfig.so.1",
)
FIRST = "libxcb-cursor.so.0"  # the one most often missing (needed since Qt 6.5)
# Debian package names that do not follow the usual rule (see `debian_package`).
_PACKAGE_EXCEPTIONS = {
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libgobject-2.0.so.0": "libglib2.0-0",
}


def uses_xcb(environ: Mapping[str, str], platform: str = sys.platform) -> bool:
    """Whether Qt will start on X11: Linux, a DISPLAY, and no other platform chosen."""
    if not platform.startswith("linux") or not environ.get("DISPLAY"):
        return False
    chosen = environ.get("QT_QPA_PLATFORM", "").split(";")[0].split(":")[0].strip()
    return chosen in ("", "xcb")


def xcb_plugin() -> Path | None:
    """PySide6's xcb platform plugin, found without importing Qt."""
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    plugin = Path(list(spec.submodule_search_locations)[0]) / "Qt/plugins/platforms/libqxcb.so"
    return plugin if plugin.exists() else None


def run_ldd(path: Path) -> str | None:
    """ldd's listing for `path`, or None when there is no usable ldd."""
    ldd = shutil.which("ldd")
    if ldd is None:
        return None
    try:
        return subprocess.run([ldd, str(path)], capture_output=True, text=True,
                              timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return None


def loads(soname: str) -> bool:
    try:
        ctypes.CDLL(soname)
    except OSError:
        return False
    return True


def missing_libraries(plugin: Path, ldd: Callable[[Path], str | None] = run_ldd,
                      load: Callable[[str], bool] = loads,
                      candidates: tuple[str, ...] = XCB_LIBRARIES) -> list[str]:
    """The sonames the plugin needs that cannot be found, libxcb-cursor first."""
    listing = ldd(plugin)
    if listing is not None:
        found = re.findall(r"^\s*(\S+)\s+=>\s+not found", listing, flags=re.MULTILINE)
    else:
        found = [name for name in candidates if not load(name)]
    unique = list(dict.fromkeys(found))
    return sorted(unique, key=lambda name: name != FIRST)  # stable: the rest keep their order


def debian_package(soname: str) -> str:
    """The Debian/Ubuntu package that ships `soname`: libxcb-icccm.so.4 -> libxcb-icccm4,
    libxkbcommon-x11.so.0 -> libxkbcommon-x11-0 (a dash when the name ends in a digit)."""
    if soname in _PACKAGE_EXCEPTIONS:
        return _PACKAGE_EXCEPTIONS[soname]
    name, _, version = soname.partition(".so.")
    version = version.split(".")[0]
    separator = "-" if name[-1:].isdigit() else ""
    return f"{name}{separator}{version}".lower()


def install_hint(missing: list[str]) -> str:
    """One line: what is missing and the command that installs it."""
    packages = list(dict.fromkeys(debian_package(name) for name in missing))
    return (f"TrainDesk cannot open a window on X11: Qt's xcb plugin needs "
            f"{', '.join(missing)}, not installed here. Install "
            f"{'it' if len(packages) == 1 else 'them'} with: "
            f"sudo apt install {' '.join(packages)}")


def xcb_problem(environ: Mapping[str, str] | None = None,
                ldd: Callable[[Path], str | None] | None = None) -> str | None:
    """The one-line hint if Qt is about to start on X11 without the libraries it needs."""
    environ = os.environ if environ is None else environ
    if not uses_xcb(environ):
        return None
    plugin = xcb_plugin()
    if plugin is None:  # an unusual install: let Qt say what it finds
        return None
    missing = missing_libraries(plugin, ldd=ldd if ldd is not None else run_ldd)
    return install_hint(missing) if missing else None
