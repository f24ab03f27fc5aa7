"""Sweep folders made in a test with Optuna directly, in the layout the engine writes
(sweep.json and the study in optuna.db), so the Sweep tab can be tested on trials of any
state without training."""

from __future__ import annotations

import json
from pathlib import Path

import optuna

from engine.config import TrainConfig

STUDY = "test-study"
SPACE = [{"field": "lr", "kind": "float", "low": 1e-4, "high": 1e-1, "log": True,
          "choices": None},
         {"field": "batch_size", "kind": "int", "low": 16, "high": 256, "log": False,
          "choices": None},
         {"field": "optimizer", "kind": "choice", "low": None, "high": None, "log": False,
          "choices": ["sgd", "adam"]}]
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
    plan = {"kind": "sweep", "study": STUDY, "storage": None, "base": TrainConfig().to_dict(),
            "space": SPACE, "objective": "best_test_acc", "sampler": "tpe", "prune": False,
            "seeds": 1}
    (folder / "sweep.json").write_text(json.dumps(plan), encoding="utf-8")
    storage = optuna.storages.RDBStorage(f"sqlite:///{folder / 'optuna.db'}")
    return optuna.create_study(study_name=STUDY, storage=storage, direction="maximize")


def add_trials(study: optuna.Study, rows: list[tuple]) -> None:
    """Complete trials with these (lr, batch size, optimizer, accuracy)."""
    for lr, batch, optimizer, value in rows:
        study.add_trial(optuna.trial.create_trial(
            params={"lr": lr, "batch_size": batch, "optimizer": optimizer},
            distributions=DISTRIBUTIONS, value=value))
