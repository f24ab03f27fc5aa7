"""bench/ and tools/ stand on the project's own code: nothing in them imports from tests/.

Tests may import what bench/ and tools/ share (sample datasets, images, digit strokes, the
fault kit), never the other way round: a benchmark or a build script must run from a
checkout whatever happens to the tests.
"""

from __future__ import annotations

from pathlib import Path

from tests.test_declared_imports import REPO, imported_names

SCRIPT_FOLDERS = ("bench", "tools")


def imports_of_tests(repo: Path) -> list[str]:
    """'path:line' of every import of the tests package in repo's script folders."""
    found = []
    for folder in SCRIPT_FOLDERS:
        for path in sorted((repo / folder).rglob("*.py")):
            found += [f"{path.relative_to(repo).as_posix()}:{line}"
                      for name, line in imported_names(path) if name == "tests"]
    return found


def test_bench_and_tools_import_nothing_from_tests():
    assert imports_of_tests(REPO) == []


def test_the_check_finds_an_import_from_tests(tmp_path):
    """The check itself can fail: a plain import and a dynamic one are both caught."""
    for folder, text in (
            ("bench", "import json\nfrom tests.datasets import write_idx_dataset\n"),
            ("tools", "import importlib\nimportlib.import_module('tests.image_files')\n")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "script.py").write_text(text, encoding="utf-8")

    assert imports_of_tests(tmp_path) == ["bench/script.py:2", "tools/script.py:2"]
