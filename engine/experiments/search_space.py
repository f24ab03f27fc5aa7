"""A sweep's search space: which settings vary and over what, as `--search` writes them.

    lr=1e-4..1e-1:log        a float range, sampled on a log scale
    epochs=2..6              a whole-number range (an int setting)
    batch-size=64,128,256    a list of values (numbers or names)
    optimizer=sgd,adam       a choice setting: some of its choices

Each dimension is checked against `TrainConfig`'s field metadata: its kind, its bounds, its
choices; a mistake is said with what to write instead. Torch-free and Optuna-free (a trial is
anything with Optuna's `suggest_*` methods), so the command line's usage errors answer at once.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from dataclasses import dataclass
from typing import Any

from engine.catalog import ARCHITECTURES, DATASET_INFO
from engine.config import ConfigError, TrainConfig, field_bounds, is_whole

# Settings a sweep cannot vary: folders and the device are where a run happens, not how it
# learns; `seeds` is the sweep's own --seeds (each trial's repeats).
NOT_SEARCHABLE = ("data_dir", "image_folder", "device", "seeds")
# An int range on a grid is its whole numbers; beyond this many, list the values to try.
MAX_GRID_RANGE = 100
EXAMPLE = "lr=1e-4..1e-1:log, epochs=2..6, batch-size=64,128,256 or optimizer=sgd,adam"

_FIELDS = {f.name: f for f in dataclasses.fields(TrainConfig)}
# Choice settings whose names live in the catalog rather than in the field's metadata.
_CATALOG_CHOICES = {"arch": tuple(ARCHITECTURES), "dataset": tuple(DATASET_INFO)}
_BOOL_WORDS = {"true": True, "on": True, "yes": True, "false": False, "off": False, "no": False}


@dataclass(frozen=True)
class SearchDim:
    """One setting a sweep varies: a range (`kind` "float" or "int", `low`..`high`, on a log
    scale if `log`) or a list of values (`kind` "choice", `choices`)."""

    field: str
    kind: str  # "float" | "int" | "choice"
    low: float | int | None = None
    high: float | int | None = None
    log: bool = False
    choices: tuple[Any, ...] | None = None

    @property
    def flag(self) -> str:
        return flag_of(self.field)

    def text(self) -> str:
        """The dimension as `--search` takes it: "lr=0.0001..0.1:log"."""
        if self.kind == "choice":
            return f"{self.flag}=" + ",".join(_value_text(c) for c in self.choices)
        return (f"{self.flag}={_value_text(self.low)}..{_value_text(self.high)}"
                + (":log" if self.log else ""))

    def as_dict(self) -> dict[str, Any]:
        values = dataclasses.asdict(self)
        values["choices"] = list(self.choices) if self.choices is not None else None
        return values

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> SearchDim:
        choices = values.get("choices")
        return cls(field=values["field"], kind=values["kind"], low=values.get("low"),
                   high=values.get("high"), log=bool(values.get("log", False)),
                   choices=tuple(choices) if choices is not None else None)


class SearchError(ConfigError):
    """A `--search` that cannot be a dimension; `field` names the setting (or "search")."""


def flag_of(name: str) -> str:
    """A field's command-line spelling: batch_size -> batch-size."""
    return name.replace("_", "-")


def searchable_fields() -> list[str]:
    """The settings a sweep can vary: every numeric, on/off or choice setting."""
    return [name for name, f in _FIELDS.items()
            if name not in NOT_SEARCHABLE
            and (field_bounds(name) is not None or _choices_of(name) is not None
                 or f.type in ("bool", bool))]


def parse_search(text: str) -> SearchDim:
    """The dimension `text` writes ("lr=1e-4..1e-1:log"); raises `SearchError` saying what is
    wrong and what to write instead."""
    name_text, equals, values_text = text.partition("=")
    if not equals or not values_text.strip():
        raise SearchError("search", f"'{text}' is no search: write NAME=LOW..HIGH, "
                                    f"NAME=LOW..HIGH:log or NAME=A,B,C, e.g. {EXAMPLE}.")
    name = _field_name(name_text.strip())
    values_text = values_text.strip()
    if ".." in values_text:
        return _parse_range(name, values_text)
    return _parse_list(name, values_text)


def check_space(space: tuple[SearchDim, ...] | list[SearchDim]) -> None:
    """Raise `SearchError` when a setting is searched twice (or nothing is searched)."""
    if not space:
        raise SearchError("search", f"a sweep needs at least one --search, e.g. {EXAMPLE}.")
    seen: set[str] = set()
    for dim in space:
        if dim.field in seen:
            raise SearchError(dim.field, f"{dim.flag} is searched twice; give it one --search.")
        seen.add(dim.field)


def grid_values(dim: SearchDim) -> list[Any]:
    """The values a grid tries for `dim`; raises `SearchError` for a float range (a grid
    needs listed values) or a long int range."""
    if dim.kind == "choice":
        return list(dim.choices)
    if dim.kind == "int" and not dim.log and dim.high - dim.low < MAX_GRID_RANGE:
        return list(range(dim.low, dim.high + 1))
    example = ",".join(_value_text(v) for v in _example_points(dim))
    raise SearchError(dim.field, f"--sampler grid tries listed values, not a range: write "
                                 f"{dim.flag}={example} (or use --sampler tpe or random).")


def suggest(trial: Any, dim: SearchDim) -> Any:
    """The value Optuna's `trial` suggests for `dim`."""
    if dim.kind == "float":
        return trial.suggest_float(dim.field, dim.low, dim.high, log=dim.log)
    if dim.kind == "int":
        return trial.suggest_int(dim.field, dim.low, dim.high, log=dim.log)
    return trial.suggest_categorical(dim.field, list(dim.choices))


# -- parsing -----------------------------------------------------------------------------------


def _field_name(word: str) -> str:
    name = word.lstrip("-").replace("-", "_")
    if name in NOT_SEARCHABLE:
        why = ("each trial's repeats are the sweep's --seeds" if name == "seeds"
               else "it says where a run happens, not how it learns")
        raise SearchError(name, f"{flag_of(name)} cannot be searched: {why}.")
    if name not in searchable_fields():
        names = [flag_of(n) for n in searchable_fields()]
        close = difflib.get_close_matches(flag_of(name), names, n=1, cutoff=0.5)
        hint = f"Did you mean '{close[0]}'? " if close else ""
        raise SearchError("search", f"no setting named '{word}' can be searched. {hint}"
                                    f"Settings a sweep can vary: {', '.join(names)}.")
    return name


def _parse_range(name: str, text: str) -> SearchDim:
    flag = flag_of(name)
    bounds = field_bounds(name)
    if bounds is None:
        choices = _choices_of(name) or ("true", "false")
        raise SearchError(name, f"{flag} is not a number, so it has no range: list the values "
                                f"to try, e.g. {flag}={','.join(map(str, choices[:2]))}.")
    span, colon, scale = text.partition(":")
    if colon and scale.strip() != "log":
        raise SearchError(name, f"'{text}': the only scale a range takes is ':log' "
                                f"(e.g. {flag}={span}:log).")
    low_text, _, high_text = span.partition("..")
    whole = is_whole(name)
    low, high = (_number(name, low_text, whole), _number(name, high_text, whole))
    if not low < high:
        raise SearchError(name, f"'{text}': the low end comes first and must be below the high "
                                f"end, e.g. {flag}={_value_text(min(low, high))}.."
                                f"{_value_text(max(low, high))}.")
    for end in (low, high):
        if not bounds.admits(end, whole):
            raise SearchError(name, f"'{text}': {_label(name)} must be {bounds.words(whole)}, "
                                    f"so {_value_text(end)} cannot be an end of its range.")
    if bounds.zero and low == 0 and bounds.minimum > 0:
        raise SearchError(name, f"'{text}': 0 means {bounds.zero} for {flag}, not a number on "
                                f"a range; list the values instead, e.g. {flag}=0,"
                                f"{_value_text(bounds.minimum)},{_value_text(high)}.")
    log = bool(colon)
    if log and low <= 0:
        raise SearchError(name, f"'{text}': a log range needs a low end above 0, e.g. "
                                f"{flag}={_value_text(high / 1000 if not whole else 1)}.."
                                f"{_value_text(high)}:log.")
    return SearchDim(name, "int" if whole else "float", low, high, log=log)


def _parse_list(name: str, text: str) -> SearchDim:
    flag = flag_of(name)
    words = [w.strip() for w in text.split(",")]
    if any(not w for w in words):
        raise SearchError(name, f"'{text}' has an empty value; separate values with single "
                                f"commas, e.g. {flag}={','.join(w for w in words if w)}.")
    values = [_value(name, w) for w in words]
    for i, value in enumerate(values):
        if value in values[:i]:
            raise SearchError(name, f"'{text}' lists {words[i]} twice; list each value once.")
    if len(values) < 2:
        raise SearchError(name, f"one value is a setting, not a search: pass --{flag} "
                                f"{words[0]} to the sweep, or list two or more values.")
    return SearchDim(name, "choice", choices=tuple(values))


def _value(name: str, word: str) -> Any:
    """One listed value of setting `name`, checked."""
    bounds = field_bounds(name)
    if bounds is not None:
        whole = is_whole(name)
        value = _number(name, word, whole)
        if not bounds.admits(value, whole):
            raise SearchError(name, f"{_label(name)} must be {bounds.words(whole)}, not {word}.")
        return value
    choices = _choices_of(name)
    if choices is not None:
        if word not in choices:
            close = difflib.get_close_matches(word, choices, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise SearchError(name, f"'{word}' is not one of {_label(name)}'s choices{hint}; "
                                    f"choose from: {', '.join(choices)}.")
        return word
    if word.lower() not in _BOOL_WORDS:  # an on/off setting
        raise SearchError(name, f"{_label(name)} is on or off: write {flag_of(name)}="
                                "true,false.")
    return _BOOL_WORDS[word.lower()]


def _number(name: str, word: str, whole: bool) -> int | float:
    word = word.strip()
    try:
        value = float(word)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise SearchError(name, f"'{word}' is not a number; {_label(name)} takes "
                                + ("whole numbers." if whole else "numbers such as 0.001 or 1e-3."))
    if whole:
        if value != int(value):
            raise SearchError(name, f"{_label(name)} takes whole numbers, not {word}.")
        return int(value)
    return value


def _choices_of(name: str) -> tuple[str, ...] | None:
    return _CATALOG_CHOICES.get(name) or _FIELDS[name].metadata.get("choices")


def _label(name: str) -> str:
    return _FIELDS[name].metadata["label"]


def _value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _example_points(dim: SearchDim) -> list[Any]:
    """Three values spread over a range, to suggest as a list."""
    if dim.log:
        ratio = (dim.high / dim.low) ** 0.5
        points = [dim.low, dim.low * ratio, dim.high]
    else:
        points = [dim.low, (dim.low + dim.high) / 2, dim.high]
    return [round(p) if dim.kind == "int" else float(f"{p:.2g}") for p in points]
