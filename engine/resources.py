"""Where the files shipped with the app (icons, sample data, demo weights) live.

Installed (a wheel, pipx, `pip install .`), they are the package `traindesk_resources`;
in a source checkout run without installing, the `resources/` folder beside `engine/`.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path


def _resources_dir() -> Path:
    spec = importlib.util.find_spec("traindesk_resources")
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    return Path(__file__).resolve().parents[1] / "resources"


RESOURCES_DIR = _resources_dir()
