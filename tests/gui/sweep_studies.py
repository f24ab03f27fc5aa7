"""Sweep folders made in a test with Optuna directly, in the layout the engine writes
(sweep.json and the study in optuna.db), so the Sweep tab can be tested on trials of any
state without training."""

from __future__ import annotations

import json
from pathlib import Path

import optuna

from engine.config import TrainConfig
from engine.experiments.search_space import parse_search
from engine.experiments.sweep import SweepPlan
from engine.records.run_folder import SWEEP_FILE, SWEEP_STORAGE_FILE

STUDY = "test-study"
SEARCH = ("lr=1e-4..1e-1:log", "batch-size=16..256", "optimizer=sgd,adam")
SPACE = [parse_search(text).as_dict() for text in SEARCH]  # as sweep.json holds them
DISTRIBUTIONS = {"lr": optuna.distributions.FloatDistribution(1e-4, 1e-1, log=True),
                 "batch_size": optuna.distributions.IntDistribution(16, 256),
                 "optimizer": optuna.distributions.CategoricalDistribution(["sgd", "adam"])}
# (lr, batch size, optimizer, accuracy)
TRIALS = [(1e-3, 64, "adam", 0.91), (1e-2, 128, "sgd", 0.84), (3e-4, 32, "adam", 0.95),
          (5e-2, 256, "sgd", 0.62), (2e-3, 96, "adam", 0.93)]

optuna.logging.set_verbosity(optuna.logging.WARNING)


def make_sweep(folder: Path) -> optuna.Study:
    """An empty sweep over SPACE in folder."""
    folder.mkdir(parents=True, exist_ok=True)
    plan = SweepPlan(base=TrainConfig(), space=tuple(parse_search(t) for t in SEARCH),
                     trials=len(TRIALS), sweep_dir=folder, study=STUDY)
    (folder / SWEEP_FILE).write_text(json.dumps(plan.as_dict()), encoding="utf-8")
    storage = optuna.storages.RDBStorage(f"sqlite:///{folder / SWEEP_STORAGE_FILE}")
    return optuna.create_study(study_name=STUDY, storage=storage, direction="maximize")


def add_trials(study: optuna.Study, rows: list[tuple]) -> None:
    """Complete trials with these (lr, batch size, optimizer, accuracy)."""
    for lr, batch, optimizer, value in rows:
        study.add_trial(optuna.trial.create_trial(
            params={"lr": lr, "batch_size": batch, "optimizer": optimizer},
            distributions=DISTRIBUTIONS, value=value))
