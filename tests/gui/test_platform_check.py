"""Before Qt starts on X11, missing xcb libraries are named with the command to install them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from gui.platform_check import (
    debian_package,
    install_hint,
    missing_libraries,
    uses_xcb,
    xcb_plugin,
    xcb_problem,
)

REPO = Path(__file__).resolve().parents[2]
PLUGIN = Path("/site-packages/PySide6/Qt/plugins/platforms/libqxcb.so")
LDD_OUTPUT = """\
\tlinux-vdso.so.1 (0x00007ffc)
\tlibQt6XcbQpa.so.6 => /site-packages/PySide6/Qt/lib/libQt6XcbQpa.so.6 (0x00007f5a)
\tlibxcb-icccm.so.4 => not found
\tlibxcb-cursor.so.0 => not found
\tlibxkbcommon-x11.so.0 => not found
\tlibxcb.so.1 => /lib/x86_64-linux-gnu/libxcb.so.1 (0x00007f5b)
\tlibxcb-icccm.so.4 => not found
"""


def test_only_an_x11_start_on_linux_is_checked():
    assert uses_xcb({"DISPLAY": ":0"}, "linux")
    assert uses_xcb({"DISPLAY": ":0", "QT_QPA_PLATFORM": "xcb"}, "linux")
    assert uses_xcb({"DISPLAY": ":0", "QT_QPA_PLATFORM": "xcb;wayland"}, "linux")
    assert not uses_xcb({"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"}, "linux")
    assert not uses_xcb({"DISPLAY": ":0", "QT_QPA_PLATFORM": "wayland"}, "linux")
    assert not uses_xcb({}, "linux")
    assert not uses_xcb({"DISPLAY": ":0"}, "darwin")


def test_missing_libraries_come_from_ldd_once_each_with_xcb_cursor_first():
    found = missing_libraries(PLUGIN, ldd=lambda _path: LDD_OUTPUT)
    assert found == ["libxcb-cursor.so.0", "libxcb-icccm.so.4", "libxkbcommon-x11.so.0"]


def test_without_ldd_each_library_is_loaded_to_find_the_missing_ones():
    found = missing_libraries(PLUGIN, ldd=lambda _path: None,
                              candidates=("libc.so.6", "libtraindesk-fake-missing.so.0"))
    assert found == ["libtraindesk-fake-missing.so.0"]


def test_sonames_map_to_debian_packages():
    assert debian_package("libxcb-cursor.so.0") == "libxcb-cursor0"
    assert debian_package("libxcb-icccm.so.4") == "libxcb-icccm4"
    assert debian_package("libxkbcommon-x11.so.0") == "libxkbcommon-x11-0"
    assert debian_package("libX11-xcb.so.1") == "libx11-xcb1"
    assert debian_package("libGL.so.1") == "libgl1"
    assert debian_package("libglib-2.0.so.0") == "libglib2.0-0"


def test_the_hint_is_one_line_with_the_apt_command():
    hint = install_hint(["libxcb-cursor.so.0", "libxcb-icccm.so.4"])
    assert "\n" not in hint
    assert "sudo apt install libxcb-cursor0 libxcb-icccm4" in hint


def test_the_real_plugin_is_found_and_checked():
    plugin = xcb_plugin()
    assert plugin is not None and plugin.name == "libqxcb.so"
    assert xcb_problem({"DISPLAY": ":0"}, ldd=lambda _path: "") is None
    hint = xcb_problem({"DISPLAY": ":0"}, ldd=lambda _path: LDD_OUTPUT)
    assert hint is not None and "libxcb-cursor0" in hint
    assert xcb_problem({"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"},
                       ldd=lambda _path: LDD_OUTPUT) is None


def test_the_app_says_what_to_install_and_exits_1_instead_of_qt_aborting(tmp_path):
    # A fake ldd reports libxcb-cursor missing; the app must not even create its
    # QApplication (which would abort the process on a real X11 display).
    code = (
        "import sys, main, gui.platform_check as check\n"
        f"check.run_ldd = lambda path: {LDD_OUTPUT!r}\n"
        "from PySide6.QtWidgets import QApplication\n"
        "code = main.main([])\n"
        "assert QApplication.instance() is None\n"
        "sys.exit(code)\n"
    )
    env = {"PATH": "/usr/bin:/bin", "DISPLAY": ":99", "HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "libxcb-cursor.so.0" in lines[0] and "sudo apt install libxcb-cursor0" in lines[0]
