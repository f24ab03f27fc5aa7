"""Where the files shipped with the app (icons, sample data, demo weights) live."""

from pathlib import Path

RESOURCES_DIR = Path(__file__).resolve().parents[1] / "resources"
