"""Every module the repository imports comes from the standard library, from the project itself,
or from a distribution that pyproject.toml declares (the runtime dependencies or an extra).

A package installed on a machine by hand once hid a missing declaration: the tests passed
there and stopped at collection on a fresh one. This test reads every import statement
(and every literal name given to `importlib.import_module`, `__import__`,
`pytest.importorskip` and export's `_require`) and maps it to the distribution that
provides it with `importlib.metadata.packages_distributions()`.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCANNED = ("engine", "gui", "tests", "bench", "tools", "main.py")
# The project's own top-level names: its packages and modules, and the folders of scripts.
OWN = {"engine", "gui", "main", "traindesk_resources", "tests", "bench", "tools"}
DYNAMIC_IMPORTERS = {"import_module", "__import__", "importorskip", "_require"}


def python_files() -> Iterator[Path]:
    for name in SCANNED:
        path = REPO / name
        yield from [path] if path.is_file() else sorted(path.rglob("*.py"))


def imported_names(path: Path) -> Iterator[tuple[str, int]]:
    """(top-level module name, line) for each absolute import in path."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name.partition(".")[0], node.lineno
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.partition(".")[0], node.lineno
        elif isinstance(node, ast.Call) and node.args:
            function = node.func
            called = getattr(function, "attr", None) or getattr(function, "id", None)
            first = node.args[0]
            if (called in DYNAMIC_IMPORTERS and isinstance(first, ast.Constant)
                    and isinstance(first.value, str)):
                yield first.value.partition(".")[0], node.lineno


def normalized(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()


def declared_distributions() -> set[str]:
    """The names in pyproject.toml's dependencies and every optional-dependency list."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: read what the installed metadata says
        requirements = importlib.metadata.requires("traindesk") or []
    else:
        project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))[
            "project"]
        requirements = [*project["dependencies"],
                        *(r for extra in project["optional-dependencies"].values()
                          for r in extra)]
    return {normalized(re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", r).group()) for r in requirements}


def undeclared_imports() -> list[str]:
    providers = importlib.metadata.packages_distributions()
    declared = declared_distributions()
    problems = []
    for path in python_files():
        siblings = {p.stem for p in path.parent.glob("*.py")}  # scripts import their neighbours
        for name, line in imported_names(path):
            if name in sys.stdlib_module_names or name in OWN or name in siblings:
                continue
            where = f"{path.relative_to(REPO)}:{line} imports {name}"
            distributions = providers.get(name)
            if not distributions:
                problems.append(f"{where}, which no installed distribution provides")
            elif not declared & {normalized(d) for d in distributions}:
                problems.append(f"{where}, provided by {', '.join(sorted(set(distributions)))},"
                                " which pyproject.toml does not declare")
    return problems


def test_every_imported_module_is_standard_own_or_declared():
    problems = undeclared_imports()
    assert not problems, "Declare these in pyproject.toml:\n" + "\n".join(problems)


def test_the_check_finds_an_undeclared_import(tmp_path, monkeypatch):
    """The check itself can fail: a script importing a package nothing declares is caught."""
    script = tmp_path / "tools" / "uses_something.py"
    script.parent.mkdir()
    script.write_text("import hypothesis\nimport pytest\nimport no_such_module_anywhere\n",
                      encoding="utf-8")
    monkeypatch.setattr(sys.modules[__name__], "REPO", tmp_path)
    monkeypatch.setattr(sys.modules[__name__], "declared_distributions",
                        lambda: {"pytest"})

    problems = undeclared_imports()

    assert len(problems) == 2
    assert "tools/uses_something.py:1 imports hypothesis" in problems[0]
    assert "does not declare" in problems[0]
    assert "no installed distribution provides" in problems[1]
