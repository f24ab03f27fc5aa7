"""Sweeps on Optuna: trials into one folder, pruning, and workers sharing one SQLite storage
(one killed mid-trial)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.config import TrainConfig
from engine.control import Control
from engine.events import LogLine, SweepEnd, TrialEnd, TrialStart
from engine.experiments.search_space import parse_search
from engine.experiments.sweep import Heartbeat, SweepJob, SweepPlan, open_study
from engine.records.epoch_checkpoints import saved_epochs
from engine.records.groups import is_group_folder, read_group
from engine.records.run_folder import SAMPLES_FILE, SWEEP_FILE, SWEEP_STORAGE_FILE
from engine.records.runs import read_run
from engine.records.sweeps import importances, is_sweep_folder, read_sweep

REPO = Path(__file__).resolve().parents[3]


def tiny(digits_dir, **changes) -> TrainConfig:
    return TrainConfig(arch="mlp", dataset="mnist", data_dir=str(digits_dir), epochs=2,
                       batch_size=32, threads=1).replace(**changes)


def run_sweep(plan, **job_options):
    events = []
    end = SweepJob(plan, tensorboard=False, **job_options).run(events.append, Control())
    return end, events


def test_a_sweep_runs_its_trials_into_one_folder_and_names_the_best(digits_dir, tmp_path):
    folder = tmp_path / "sweep"
    plan = SweepPlan(tiny(digits_dir), (parse_search("lr=1e-4..1e-2:log"),
                                        parse_search("batch-size=16,32")), 4, folder)
    end, events = run_sweep(plan)
    assert end.reason == "finished"
    starts = [e for e in events if isinstance(e, TrialStart)]
    ends = [e for e in events if isinstance(e, TrialEnd)]
    assert [e.index for e in starts] == [1, 2, 3, 4] and all(e.trials == 4 for e in starts)
    assert [e.state for e in ends] == ["complete"] * 4
    for k, trial_end in enumerate(ends):  # the best so far, as the progress says it
        best = max(ends[:k + 1], key=lambda e: e.value)
        assert (trial_end.best_value, trial_end.best_number) == (best.value, best.number)
    record = read_sweep(folder)
    assert is_sweep_folder(folder) and (folder / SWEEP_STORAGE_FILE).is_file()
    assert [t.number for t in record.trials] == [0, 1, 2, 3]
    for trial in record.trials:  # each an ordinary run folder, its best test accuracy the value
        run = read_run(trial.run_dir)
        assert run.status == "finished"
        assert trial.value == max(h["test_acc"] for h in run.history)
        # Each image's history, but no epoch's weights: dozens of trials would fill a disk.
        assert (Path(trial.run_dir) / SAMPLES_FILE).is_file()
        assert saved_epochs(Path(trial.run_dir)) == []
    assert any("A sweep's trial keeps only best.pt and checkpoint.pt" in e.message
               for e in events if isinstance(e, LogLine))
    assert record.best.value == max(t.value for t in record.trials)
    sweep_end = events[-1]
    assert isinstance(sweep_end, SweepEnd) and sweep_end.best_number == record.best.number
    assert f"--lr {record.best.params['lr']}" in sweep_end.command_line
    assert sweep_end.command_line in end.message
    assert record.plan["objective"] == "best_test_acc" and (folder / SWEEP_FILE).is_file()
    assert set(importances(record)) == {"lr", "batch_size"}


def test_pruning_ends_a_hopeless_trial_and_keeps_its_folder(digits_dir, tmp_path):
    folder = tmp_path / "sweep"
    plan = SweepPlan(tiny(digits_dir, epochs=3), (parse_search("lr=1e-7..1e-2:log"),), 4,
                     folder, prune=True)
    study = open_study(plan)
    for lr in (3e-3, 3e-3, 3e-3, 1e-7):  # three good trials first: the pruner's start-up
        study.enqueue_trial({"lr": lr})
    end, events = run_sweep(plan)
    states = [e.state for e in events if isinstance(e, TrialEnd)]
    assert states == ["complete", "complete", "complete", "pruned"]
    hopeless = read_sweep(folder).trials[3]
    assert hopeless.state == "pruned"
    assert 1 <= len(read_run(hopeless.run_dir).history) < 3
    assert end.reason == "finished"


def test_a_failed_trial_is_failed_and_the_sweep_goes_on(digits_dir, tmp_path):
    # SGD without momentum cannot take Nesterov: that trial's run fails at its start.
    base = tiny(digits_dir, epochs=1, optimizer="sgd", momentum=0.0)
    plan = SweepPlan(base, (parse_search("nesterov=true,false"),), 2, tmp_path / "sweep",
                     sampler="grid")
    study = open_study(plan)
    study.enqueue_trial({"nesterov": True})
    study.enqueue_trial({"nesterov": False})
    end, events = run_sweep(plan)
    assert [e.state for e in events if isinstance(e, TrialEnd)] == ["failed", "complete"]
    assert [t.state for t in read_sweep(tmp_path / "sweep").trials] == ["failed", "complete"]
    assert end.reason == "finished" and "Best: trial 1" in end.message
    only_failing = SweepPlan(base.replace(nesterov=True), (parse_search("lr=0.01,0.1"),), 2,
                             tmp_path / "failing")
    assert run_sweep(only_failing)[0].reason == "failed"


def sweep_command(folder, digits_dir, *extra):
    return [sys.executable, "main.py", "sweep", "--arch", "mlp", "--dataset", "mnist",
            "--data-dir", str(digits_dir), "--threads", "1", "--no-tensorboard",
            "--sweep-dir", str(folder), "--study", "shared", "--storage",
            f"sqlite:///{folder / 'shared.db'}", *extra]


def test_two_workers_share_one_study_without_running_a_trial_twice(digits_dir, tmp_path):
    folder = tmp_path / "sweep"
    command = sweep_command(folder, digits_dir, "--epochs", "1", "--trials", "3",
                            "--search", "lr=1e-4..1e-2:log")
    workers = [subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [w.communicate(timeout=240) for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs
    record = read_sweep(folder)
    numbers = [t.number for t in record.trials]
    assert sorted(numbers) == list(range(6))
    assert len({t.run_dir for t in record.trials}) == 6
    assert all(t.state == "complete" for t in record.trials)
    # Each trained its epoch to the end (a low rate may learn nothing in one epoch).
    assert all(read_run(t.run_dir).status in ("finished", "learned_nothing")
               for t in record.trials)
    assert all("Repeat it with: python main.py train" in out for out, _ in outputs)


def test_a_worker_killed_mid_trial_leaves_its_trial_failed_and_another_goes_on(
        digits_dir, tmp_path):
    folder = tmp_path / "sweep"
    killed = subprocess.Popen(
        sweep_command(folder, digits_dir, "--epochs", "500", "--trials", "1", "--search",
                      "lr=1e-4..1e-2:log"),
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (folder / "trial-0000" / "metrics.jsonl").is_file():  # an epoch is done
            assert time.monotonic() < deadline and killed.poll() is None
            time.sleep(0.2)
    finally:
        os.kill(killed.pid, signal.SIGKILL)
        killed.wait()
    assert read_sweep(folder).trials[0].state == "running"  # as the storage last heard
    time.sleep(2.5)  # past the other worker's grace period
    plan = SweepPlan(tiny(digits_dir, epochs=1), (parse_search("lr=1e-4..1e-2:log"),), 1,
                     folder, storage=f"sqlite:///{folder / 'shared.db'}", study="shared")
    end, events = run_sweep(plan, heartbeat=Heartbeat(interval=1, grace=2))
    assert end.reason == "finished"
    states = {t.number: t.state for t in read_sweep(folder).trials}
    assert states == {0: "failed", 1: "complete"}
    assert any("Trial 0 is failed" in getattr(e, "message", "") for e in events)


@pytest.mark.parametrize("args", [("sweep", "--help"), ("sweep", "--search", "lrate=1..2"),
                                  ("sweep", "--search", "lr=0..1"), ("sweep",),
                                  ("sweep", "--search", "lr=1e-3..1e-1", "--sampler", "grid"),
                                  ("sweep", "--search", "lr=0.1,0.2", "--storage", "nowhere")])
def test_sweep_help_and_usage_errors_answer_without_torch_or_optuna(args):
    code = "import sys, main; sys.argv[0] = 'main.py'; sys.exit(main.main(sys.argv[1:]))"
    result = subprocess.run([sys.executable, "-X", "importtime", "-c", code, *args], cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    modules = {line.rsplit("|", 1)[1].strip() for line in result.stderr.splitlines()
               if line.startswith("import time:") and line.count("|") == 2}
    assert "engine.experiments.search_space" in modules
    assert not any(m.split(".")[0] in ("torch", "optuna") for m in modules)
    if "--help" in args:
        assert result.returncode == 0 and "--search SPACE" in result.stdout
    else:
        assert result.returncode == 2 and "error: --" in result.stderr


def test_ctrl_c_ends_the_sweep_with_its_trial_stopped_and_exit_130(digits_dir, tmp_path):
    folder = tmp_path / "sweep"
    worker = subprocess.Popen(
        sweep_command(folder, digits_dir, "--epochs", "500", "--trials", "3", "--search",
                      "lr=1e-4..1e-2:log"),
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (folder / "trial-0000" / "metrics.jsonl").is_file():
        assert time.monotonic() < deadline and worker.poll() is None
        time.sleep(0.2)
    worker.send_signal(signal.SIGINT)
    out, err = worker.communicate(timeout=120)
    assert worker.returncode == 130, err
    trials = read_sweep(folder).trials
    assert [t.state for t in trials] == ["stopped"]  # the sweep went no further
    assert "Stopped by you" in trials[0].message
    assert read_run(trials[0].run_dir).history  # its epochs so far are kept
    assert "no trial completed" in out and f"Sweep folder: {folder}" in out


def test_with_seeds_each_trial_is_a_seed_group_valued_at_its_mean(digits_dir, tmp_path):
    folder = tmp_path / "sweep"
    plan = SweepPlan(tiny(digits_dir, epochs=1), (parse_search("lr=1e-3,3e-3"),), 2, folder,
                     sampler="grid", seeds=2)
    end, events = run_sweep(plan)
    assert end.reason == "finished" and "mean of 2 seeds" in end.message
    assert "--seeds 2" in events[-1].command_line
    for trial in read_sweep(folder).trials:
        group = read_group(trial.run_dir)
        assert is_group_folder(trial.run_dir) and group.seeds == [0, 1]
        assert trial.value == pytest.approx(group.best.mean)
        for member in group.members:  # a trial's members keep no epoch's weights either
            assert saved_epochs(member.folder) == []


def test_a_folder_holding_another_sweep_is_refused(digits_dir, tmp_path):
    space = (parse_search("lr=1e-3,3e-3"),)
    run_sweep(SweepPlan(tiny(digits_dir, epochs=1), space, 1, tmp_path / "sweep"))
    other = SweepPlan(tiny(digits_dir, epochs=1), space, 1, tmp_path / "sweep", study="other")
    end, _events = run_sweep(other)
    assert end.reason == "failed" and "holds the sweep 'sweep'" in end.message
    assert [t.number for t in read_sweep(tmp_path / "sweep").trials] == [0]


def test_seeds_past_the_largest_seed_are_a_usage_error_before_any_trial(tmp_path, capsys):
    from engine.cli.sweep import main as sweep_main

    code = sweep_main(["--seed", "4294967295", "--seeds", "2", "--search", "lr=1e-3,3e-3",
                       "--sweep-dir", str(tmp_path / "sweep")])
    assert code == 2
    assert "error: --seeds: The last seed of the group" in capsys.readouterr().err
    assert not (tmp_path / "sweep").exists()
