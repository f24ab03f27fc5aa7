"""The settings form's values in a settings file (QSettings), read back safely."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QSettings

from engine.config import TrainConfig, config_fields

SETTINGS_GROUP = "train"


def save_config(settings: QSettings, config: TrainConfig) -> None:
    for f in config_fields():  # not a child run's left-out images: the form has none
        settings.setValue(f"{SETTINGS_GROUP}/{f.name}", getattr(config, f.name))


def saved_config(settings: QSettings, checkable: Callable[[TrainConfig], TrainConfig]
                 ) -> TrainConfig:
    """The saved settings; anything unreadable, unknown or invalid gets its default.
    `checkable` gives a config as far as it can be checked now (the form's devices).

    The data folder is the exception: a missing folder stays, with its message, so the
    person sees which folder went missing rather than a silently different one.
    """
    defaults = TrainConfig()
    values = {}
    for f in config_fields():
        default = getattr(defaults, f.name)
        raw = settings.value(f"{SETTINGS_GROUP}/{f.name}")
        values[f.name] = default if raw is None else _coerce(raw, default)
    config = TrainConfig(**values)
    for _ in range(len(values)):  # fixing one field can expose another (amp vs device)
        bad = {
            name: getattr(defaults, name)
            for name in checkable(config).problems()
            if name not in ("data_dir", "image_folder")
            and getattr(config, name) != getattr(defaults, name)
        }
        if not bad:
            break
        config = config.replace(**bad)
    return config


def _coerce(raw: Any, default: Any) -> Any:
    """A stored QSettings value converted to `default`'s type, or `default` if it cannot be.

    INI files give back strings ("5", "true"), so each type is parsed from text as well.
    """
    text = str(raw).strip()
    if isinstance(default, bool):
        if isinstance(raw, bool):
            return raw
        return {"true": True, "1": True, "false": False, "0": False}.get(text.lower(), default)
    if isinstance(default, int):
        try:
            return int(text)
        except ValueError:
            return default
    if isinstance(default, float):
        try:
            value = float(text)
        except ValueError:
            return default
        return value if math.isfinite(value) else default
    return raw if isinstance(raw, str) else default
