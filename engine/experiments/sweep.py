"""A sweep: trials of settings drawn by Optuna, each an ordinary run in the sweep's folder.

Optuna does the searching: its samplers draw each trial's settings, its median pruner stops
a trial whose accuracy trails the others' at the same epoch, its storage holds the study.
Several workers (processes, here or on other machines) share a study through one storage:
each runs its own number of trials; the storage hands out trial numbers, so no trial runs
twice; a worker's heartbeat lets the others fail the trial of a worker that was killed.

    plan = SweepPlan(TrainConfig(epochs=3), (parse_search("lr=1e-4..1e-1:log"),), 8, folder)
    end = SweepJob(plan).run(listener, control)   # a job like Trainer
"""

from __future__ import annotations

import random
import shlex
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.config import TrainConfig, config_fields
from engine.control import Control
from engine.events import (
    Event,
    Listener,
    LogLine,
    RunEnd,
    SweepEnd,
    TrialEnd,
    TrialStart,
)
from engine.experiments.search_space import (
    SearchDim,
    check_space,
    flag_of,
    grid_values,
    suggest,
)
from engine.experiments.trial import TrialControl, TrialScore, trial_state
from engine.records.atomic_files import write_text_atomic
from engine.records.run_folder import CHECKPOINT_FILE, SWEEP_FILE, TRIAL_DIR_FORMAT
from engine.records.sweeps import engine_options, read_plan, storage_url
from engine.text import plural

SAMPLERS = ("tpe", "random", "grid")
# A worker records a heartbeat this often while a trial runs; a running trial whose
# heartbeat is older than the grace period is failed by the next worker to start a trial.
HEARTBEAT_SECONDS = 10
GRACE_SECONDS = 30
# The median pruner prunes nothing until this many trials have completed.
PRUNER_STARTUP_TRIALS = 3
OPEN_TRIES = 3


@dataclass(frozen=True)
class SweepPlan:
    """What a sweep searches: `trials` trials of `base` with the settings of `space` drawn
    by `sampler`, into `sweep_dir`; `storage` an Optuna URL (None: `sweep_dir`/optuna.db),
    `study` the study's name there (None: the folder's name)."""

    base: TrainConfig
    space: tuple[SearchDim, ...]
    trials: int
    sweep_dir: Path
    sampler: str = "tpe"
    prune: bool = False
    seeds: int = 1
    storage: str | None = None
    study: str | None = None

    @property
    def study_name(self) -> str:
        return self.study or Path(self.sweep_dir).name

    @property
    def objective(self) -> str:
        """The trial's value: its best validation accuracy with a validation split, else its
        best test accuracy (averaged over its seeds)."""
        return "best_val_acc" if self.base.val_split > 0 else "best_test_acc"

    def as_dict(self) -> dict[str, Any]:
        """sweep.json's content."""
        return {"kind": "sweep", "study": self.study_name, "storage": self.storage,
                "base": self.base.to_dict(), "space": [d.as_dict() for d in self.space],
                "objective": self.objective, "sampler": self.sampler, "prune": self.prune,
                "seeds": self.seeds}


@dataclass(frozen=True)
class Heartbeat:
    """How often a worker says it is alive, and after how long a silent one's trial fails."""

    interval: int = HEARTBEAT_SECONDS
    grace: int = GRACE_SECONDS


def open_study(plan: SweepPlan, heartbeat: Heartbeat = Heartbeat(),
               on_stale: Callable[[Any, Any], None] | None = None) -> Any:
    """The plan's `optuna.Study`, created in its storage or loaded when a worker already
    created it. `on_stale(study, trial)` hears of each trial failed for a silent worker.

    Workers started together on a new database race to create Optuna's tables (PostgreSQL
    refuses the second CREATE TYPE): the loser tries again, and finds them made."""
    for attempt in range(1, OPEN_TRIES + 1):
        try:
            return _open_study(plan, heartbeat, on_stale)
        except ImportError:  # a database driver missing: no retry will find it
            raise
        except Exception:  # noqa: BLE001 - SQLAlchemy's errors, whichever the database
            if attempt == OPEN_TRIES:
                raise
            time.sleep(random.uniform(0.2, 1.0) * attempt)
    raise AssertionError("unreachable")


def _open_study(plan: SweepPlan, heartbeat: Heartbeat,
                on_stale: Callable[[Any, Any], None] | None) -> Any:
    import optuna

    url = storage_url(plan.sweep_dir, plan.storage)
    if plan.storage is None:  # the folder's own SQLite file
        Path(plan.sweep_dir).mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():  # the heartbeat is "experimental" in Optuna since 2.9
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        storage = optuna.storages.RDBStorage(
            url, engine_kwargs=engine_options(url), heartbeat_interval=heartbeat.interval,
            grace_period=heartbeat.grace, heartbeat_stale_trial_callback=on_stale)
    pruner = (optuna.pruners.MedianPruner(n_startup_trials=PRUNER_STARTUP_TRIALS)
              if plan.prune else optuna.pruners.NopPruner())
    return optuna.create_study(storage=storage, study_name=plan.study_name,
                               sampler=make_sampler(plan), pruner=pruner,
                               direction="maximize", load_if_exists=True)


def make_sampler(plan: SweepPlan) -> Any:
    """Optuna's sampler the plan names. Unseeded: workers sharing a study must not draw the
    same settings; TPE's constant liar keeps them from crowding round the same point."""
    import optuna

    if plan.sampler == "grid":
        return optuna.samplers.GridSampler({d.field: grid_values(d) for d in plan.space})
    if plan.sampler == "random":
        return optuna.samplers.RandomSampler()
    return optuna.samplers.TPESampler(constant_liar=True)


def best_command_line(base: TrainConfig, params: dict[str, Any], seeds: int = 1,
                      prog: str = "traindesk train") -> str:
    """The command line that trains `base` with `params` again: each setting that differs
    from the defaults as its flag."""
    config, defaults = base.replace(**params), TrainConfig()
    words = shlex.split(prog)
    for f in config_fields():
        value = getattr(config, f.name)
        if f.name == "seeds" or value == getattr(defaults, f.name):
            continue
        flag = "--" + f.name.replace("_", "-")
        if isinstance(value, bool):
            words.append(flag if value else "--no-" + flag[2:])
        else:
            words += [flag, str(value)]  # a float in full: the same run, not a rounded one
    if seeds > 1:
        words += ["--seeds", str(seeds)]
    return shlex.join(words)


class TrialFailed(Exception):
    """A trial that failed or diverged: Optuna records it failed and the sweep goes on."""


class SweepStopped(Exception):
    """The sweep was stopped during a trial: Optuna records the trial failed, and the sweep
    ends."""


class SweepJob:
    """Runs a plan's trials one after another on the calling thread, a job like Trainer:
    `run(listener, control) -> RunEnd`. Emits each trial's ordinary run events between a
    `TrialStart` and a `TrialEnd`, and a `SweepEnd` last."""

    def __init__(self, plan: SweepPlan, tensorboard: bool | None = None,
                 heartbeat: Heartbeat = Heartbeat(), prog: str = "traindesk train") -> None:
        check_space(plan.space)
        self.plan = plan
        self.tensorboard = tensorboard
        self.heartbeat = heartbeat
        self.prog = prog  # how the best trial's command line starts
        self.ends: list[TrialEnd] = []  # this worker's trials, as they ended
        self._epochs_before = 0  # epochs trained by this worker's finished trials
        self._job: Any = None  # the trial's Trainer or SeedGroup while one runs
        self._stale: list[int] = []  # trials failed for a silent worker, not yet said

    @property
    def epochs_done(self) -> int:
        """Epochs trained by this worker's trials so far."""
        return self._epochs_before + (self._job.epochs_done if self._job is not None else 0)

    def run(self, listener: Listener, control: Control | None = None) -> RunEnd:
        import optuna

        control = control or Control()
        verbosity = optuna.logging.get_verbosity()
        optuna.logging.set_verbosity(optuna.logging.ERROR)  # the sweep says what happened
        stopped = False
        try:
            study = self._start(listener)
            study.optimize(lambda trial: self._trial(trial, listener, control),
                           n_trials=self.plan.trials, catch=(TrialFailed,),
                           callbacks=[lambda s, _t: self._between_trials(s, control)])
        except SweepStopped:
            stopped = True
        except Exception as error:  # noqa: BLE001 - a folder's, a storage's (SQLAlchemy's)
            return self._failed(listener, error)
        finally:
            optuna.logging.set_verbosity(verbosity)
        return self._end(study, listener, stopped or control.stop_requested)

    # -- the steps ------------------------------------------------------------------------

    def _start(self, listener: Listener) -> Any:
        """Write (or check) sweep.json, then open the study."""
        plan, folder = self.plan, Path(self.plan.sweep_dir)
        folder.mkdir(parents=True, exist_ok=True)
        mine = plan.as_dict()
        held = (folder / SWEEP_FILE).exists()
        if held:
            theirs = read_plan(folder)
            if (theirs.get("study"), theirs.get("storage")) != (mine["study"], mine["storage"]):
                raise ValueError(f"{folder} holds the sweep '{theirs.get('study')}'; give "
                                 "another --sweep-dir, or the same --study and --storage")
        study = open_study(plan, self.heartbeat, self._note_stale)
        if not held:  # after the storage exists: a reader finding sweep.json can load it
            write_text_atomic(folder / SWEEP_FILE, _json(mine))
        done = len(study.get_trials(deepcopy=False))
        listener(LogLine(f"Sweep '{plan.study_name}' in {folder}: "
                         f"{plural(plan.trials, 'trial')} here"
                         + (f", {plural(done, 'trial')} already in the study." if done else ".")))
        return study

    def _trial(self, trial: Any, listener: Listener, control: Control) -> float:
        """Optuna's objective: one trial's run (or seed group) and its value."""
        import optuna

        self._say_stale(listener)
        plan = self.plan
        params = {dim.field: suggest(trial, dim) for dim in plan.space}
        run_dir = Path(plan.sweep_dir) / TRIAL_DIR_FORMAT.format(trial.number)
        trial.set_user_attr("run_dir", str(run_dir.resolve()))
        listener(TrialStart(trial.number, params, len(self.ends) + 1, plan.trials, str(run_dir)))
        trial_control = TrialControl(control)
        score = TrialScore("val_acc" if plan.objective == "best_val_acc" else "test_acc",
                           trial_control, trial if plan.prune else None)
        started = time.monotonic()
        self._job = self._trial_job(plan.base.replace(**params), run_dir)
        try:
            end = self._job.run(_both(listener, score), trial_control)
        finally:
            self._epochs_before += self._job.epochs_done  # a seed group: its last member's
            self._job = None
        state = trial_state(end, score, control)
        # One write (each is a commit, an fsync with SQLite): how it ended and why.
        trial.set_user_attr("end", {"state": state, "message": end.message})
        value = score.value if state in ("complete", "pruned") else None
        best = _best_trial(trial.study)
        best_number, best_value = (best.number, best.value) if best else (None, None)
        if state == "complete" and (best_value is None or value > best_value):
            best_number, best_value = trial.number, value
        self.ends.append(TrialEnd(trial.number, state, value, params, str(run_dir),
                                  time.monotonic() - started, best_number, best_value))
        listener(self.ends[-1])
        if state == "stopped":
            raise SweepStopped
        if state == "pruned":
            raise optuna.TrialPruned(end.message)
        if state == "failed":
            raise TrialFailed(end.message)
        return value

    def _trial_job(self, config: TrainConfig, run_dir: Path) -> Any:
        """The run a trial trains: one Trainer, or a seed group with seeds > 1."""
        if self.plan.seeds > 1:
            from engine.experiments.seeds import SeedGroup

            return SeedGroup(config.replace(seeds=self.plan.seeds), run_dir,
                             tensorboard=self.tensorboard, keep_epochs=False)
        from engine.training.trainer import Trainer  # imports PyTorch

        # A sweep's trials keep no epoch's weights: dozens of runs of every epoch would fill
        # a disk, and a trial is looked at for its result.
        return Trainer(config, run_dir=run_dir, tensorboard=self.tensorboard, keep_epochs=False)

    def _between_trials(self, study: Any, control: Control) -> None:
        """A pause holds the sweep between trials too; a stop ends it."""
        if control.paused:
            control.wait_while_paused()
        if control.stop_requested:
            study.stop()

    def _note_stale(self, _study: Any, trial: Any) -> None:
        self._stale.append(trial.number)

    def _say_stale(self, listener: Listener) -> None:
        for number in self._stale:
            listener(LogLine(f"Trial {number} is failed: its worker stopped sending "
                             f"heartbeats for over {self.heartbeat.grace} s (killed?).",
                             "warning"))
        self._stale.clear()

    def _end(self, study: Any, listener: Listener, stopped: bool) -> RunEnd:
        mine = {state: sum(e.state == state for e in self.ends)
                for state in ("complete", "pruned", "failed", "stopped")}
        counts = ", ".join(f"{n} {state}" for state, n in mine.items() if n)
        summary = f"{plural(len(self.ends), 'trial')} here" + (f" ({counts})" if counts else "")
        best = _best_trial(study)
        if best is None:
            listener(SweepEnd(None, None, None, None))
            reason = "stopped" if stopped else "failed"
            return RunEnd(reason, f"Sweep '{self.plan.study_name}': {summary}; no trial "
                                  "completed.", self.epochs_done)
        command = best_command_line(self.plan.base, best.params, self.plan.seeds, self.prog)
        listener(SweepEnd(best.number, best.value, dict(best.params), command))
        metric = "validation" if self.plan.objective == "best_val_acc" else "test"
        message = (f"Sweep '{self.plan.study_name}': {summary}. Best: trial {best.number}, "
                   f"{best.value:.2%} best {metric} accuracy"
                   + (f" (mean of {self.plan.seeds} seeds)" if self.plan.seeds > 1 else "")
                   + f", with {params_text(best.params)}.\nRepeat it with: {command}")
        reason = ("stopped" if stopped else
                  "finished" if mine["complete"] + mine["pruned"] or not self.ends else "failed")
        checkpoint = (Path(self.plan.sweep_dir) / TRIAL_DIR_FORMAT.format(best.number)
                      / CHECKPOINT_FILE)
        return RunEnd(reason, message, self.epochs_done,
                      str(checkpoint) if checkpoint.is_file() else None)

    def _failed(self, listener: Listener, error: BaseException) -> RunEnd:
        listener(SweepEnd(None, None, None, None))
        return RunEnd("failed", f"The sweep could not go on: {_storage_advice(error)}",
                      self.epochs_done)


def _both(first: Listener, second: Listener) -> Listener:
    def both(event: Event) -> None:
        first(event)
        second(event)

    return both


def _best_trial(study: Any) -> Any:
    try:
        return study.best_trial
    except ValueError:  # no complete trial
        return None


def params_text(params: dict[str, Any]) -> str:
    """A trial's settings as flags say them: "lr=0.003, batch-size=64"."""
    return ", ".join(f"{flag_of(k)}={v:g}" if isinstance(v, float) else f"{flag_of(k)}={v}"
                     for k, v in params.items())


def _json(values: dict[str, Any]) -> str:
    import json

    return json.dumps(values, indent=2) + "\n"


# The database drivers SQLAlchemy needs for each URL scheme Optuna accepts.
_DRIVERS = {"psycopg2": "psycopg2-binary", "psycopg": "psycopg[binary]", "pymysql": "PyMySQL",
            "MySQLdb": "mysqlclient"}


def _storage_advice(error: BaseException) -> str:
    """The error, and for a missing database driver the package to install."""
    if isinstance(error, ImportError) and error.name in _DRIVERS:
        return (f"the storage's database driver is not installed ({error}); install it with "
                f"pip install '{_DRIVERS[error.name]}'.")
    return f"{error}"
