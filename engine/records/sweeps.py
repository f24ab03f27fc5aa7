"""Reading a sweep's folder: its plan (sweep.json) and its trials, from the Optuna storage.

The storage is the truth about trials (their states, settings and values), so a sweep that
workers on other machines feed through a shared database reads the same everywhere. Reading
only loads the study: it is safe while other processes write (SQLite waits for a writer's
lock; a database server serves readers alongside).
"""

from __future__ import annotations

import datetime
import json
import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.records.run_folder import SWEEP_FILE, SWEEP_STORAGE_FILE, TRIAL_DIR_FORMAT

# How long a reader (or a worker) waits for another process's write to the SQLite file.
SQLITE_TIMEOUT_SECONDS = 60
# Optuna's trial states as a person reads them; a failed trial the sweep stopped is "stopped".
_STATES = {"COMPLETE": "complete", "PRUNED": "pruned", "FAIL": "failed", "RUNNING": "running",
           "WAITING": "waiting"}


@dataclass(frozen=True)
class TrialRecord:
    number: int
    state: str  # "complete" | "pruned" | "failed" | "stopped" | "running" | "waiting"
    params: dict[str, Any]
    value: float | None  # the objective: best test (or validation) accuracy, 0..1
    run_dir: Path  # the trial's run folder (a seed group's folder with seeds > 1)
    seconds: float | None  # how long it ran (so far, while running)
    message: str = ""  # how its run ended, in a sentence (empty while running, or if killed)


@dataclass(frozen=True)
class SweepRecord:
    folder: Path
    study: str
    plan: dict[str, Any]  # sweep.json as written
    trials: list[TrialRecord]
    best: TrialRecord | None  # the complete trial of the highest value


def is_sweep_folder(path: str | Path) -> bool:
    return (Path(path) / SWEEP_FILE).is_file()


def read_plan(folder: str | Path) -> dict[str, Any]:
    """sweep.json of `folder` (raises OSError or ValueError when it cannot be read)."""
    plan = json.loads((Path(folder) / SWEEP_FILE).read_text(encoding="utf-8"))
    if not isinstance(plan, dict) or plan.get("kind") != "sweep":
        raise ValueError(f"{Path(folder) / SWEEP_FILE} does not describe a sweep")
    return plan


def storage_url(folder: str | Path, storage: str | None) -> str:
    """The storage URL a sweep in `folder` uses: `storage`, or the folder's own SQLite file."""
    return storage or f"sqlite:///{Path(folder).resolve() / SWEEP_STORAGE_FILE}"


def engine_options(url: str) -> dict[str, Any]:
    """SQLAlchemy options for `url`: SQLite waits for another process's write instead of
    failing at once with "database is locked"."""
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": SQLITE_TIMEOUT_SECONDS}}
    return {}


def load_sweep_study(folder: str | Path, plan: dict[str, Any] | None = None) -> Any:
    """The sweep's `optuna.Study`, loaded for reading."""
    import optuna

    plan = plan if plan is not None else read_plan(folder)
    own_file = Path(folder) / SWEEP_STORAGE_FILE
    if plan.get("storage") is None and not own_file.is_file():  # SQLite would make an empty one
        raise FileNotFoundError(f"{own_file} is missing: the sweep's trials are recorded there")
    url = storage_url(folder, plan.get("storage"))
    storage = optuna.storages.RDBStorage(url, engine_kwargs=engine_options(url),
                                         skip_table_creation=True)
    return optuna.load_study(study_name=plan["study"], storage=storage)


def read_sweep(folder: str | Path) -> SweepRecord:
    """The sweep in `folder` as its storage holds it now."""
    folder = Path(folder)
    plan = read_plan(folder)
    study = load_sweep_study(folder, plan)
    trials = [trial_record(folder, t) for t in study.get_trials(deepcopy=False)]
    complete = [t for t in trials if t.state == "complete" and t.value is not None]
    best = max(complete, key=lambda t: t.value) if complete else None
    return SweepRecord(folder, plan["study"], plan, trials, best)


def trial_record(folder: Path, trial: Any) -> TrialRecord:
    """A `TrialRecord` of Optuna's `FrozenTrial` in the sweep at `folder`."""
    state = _STATES.get(trial.state.name, trial.state.name.lower())
    end = trial.user_attrs.get("end")
    end = end if isinstance(end, dict) else {}
    if state == "failed" and end.get("state") == "stopped":
        state = "stopped"
    # The folder as this machine sees the sweep; a worker elsewhere wrote its own path.
    run_dir = folder / TRIAL_DIR_FORMAT.format(trial.number)
    if not run_dir.exists() and trial.user_attrs.get("run_dir"):
        run_dir = Path(trial.user_attrs["run_dir"])
    value = trial.value if state in ("complete", "pruned") else None
    return TrialRecord(trial.number, state, dict(trial.params),
                       value if value is None or math.isfinite(value) else None, run_dir,
                       _seconds(trial.datetime_start, trial.datetime_complete),
                       str(end.get("message", "")))


def _seconds(start: datetime.datetime | None, end: datetime.datetime | None) -> float | None:
    if start is None:
        return None
    return ((end or datetime.datetime.now()) - start).total_seconds()


def importances(folder_or_record: str | Path | SweepRecord) -> dict[str, float]:
    """Each searched setting's importance to the objective (Optuna's
    `get_param_importances`, summing to 1); {} with fewer than 2 complete trials."""
    import optuna

    folder = (folder_or_record.folder if isinstance(folder_or_record, SweepRecord)
              else Path(folder_or_record))
    study = load_sweep_study(folder)
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if len(complete) < 2:
        return {}
    try:
        with warnings.catch_warnings():  # e.g. "importances will be equal": the {} says it
            warnings.simplefilter("ignore", UserWarning)
            return dict(optuna.importance.get_param_importances(study))
    except (RuntimeError, ValueError):  # e.g. every complete trial has the same settings
        return {}
