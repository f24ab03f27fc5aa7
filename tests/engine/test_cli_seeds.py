"""`main.py train --seeds K`: K real runs as one group, each member's progress after its own
prefix, and the group's best and final test accuracy as mean ± std (checked here against
the members' own metrics.jsonl), with the usual exit codes."""

from __future__ import annotations

import dataclasses
import json
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import engine.cli.run_dir
import engine.training.distributed
from engine.cli.train import main
from engine.records.checkpoint import load_checkpoint, save_checkpoint
from engine.records.groups import read_group
from engine.records.runs import read_run

REPO = Path(__file__).resolve().parents[2]


def args(data_dir: Path, *more: str) -> list[str]:
    # A small learning rate, so that the seeds' accuracies differ on this tiny test set.
    return ["--arch", "softmax", "--dataset", "mnist", "--data-dir", str(data_dir),
            "--batch-size", "20", "--lr", "3e-4", "--device", "cpu", "--threads", "1",
            "--no-tensorboard", *more]


def accuracies_of(folder: Path) -> tuple[float, float]:
    accs = [json.loads(line)["test_acc"]
            for line in (folder / "metrics.jsonl").read_text().splitlines()]
    return max(accs), accs[-1]


def test_three_seeds_print_the_group_s_mean_and_std(digits_dir, tmp_path, capsys):
    group = tmp_path / "group"
    code = main(args(digits_dir, "--epochs", "2", "--seed", "4", "--seeds", "3",
                     "--run-dir", str(group)))
    out, err = capsys.readouterr()

    assert code == 0
    pairs = [accuracies_of(group / f"seed-{seed}") for seed in (4, 5, 6)]
    best, final = np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])
    assert out.splitlines() == [
        f"Best test accuracy {best.mean():.2%} ± {best.std(ddof=1):.2%} (n = 3); final test "
        f"accuracy {final.mean():.2%} ± {final.std(ddof=1):.2%} (n = 3) over seeds 4-6.",
        f"Group folder: {group}"]
    for index, seed in enumerate((4, 5, 6), start=1):
        prefix = f"[run {index}/3, seed {seed}] "
        assert f"{prefix}Epoch 2/2: " in err and f"{prefix}Finished 2 epochs" in err
        assert read_run(group / f"seed-{seed}").config["seed"] == seed
    assert read_group(group).status == "finished"


def test_the_default_group_folder_is_named_as_a_run_s_with_its_seeds(
        digits_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(engine.cli.run_dir, "DEFAULT_RUNS_DIR", tmp_path / "runs")
    assert main(args(digits_dir, "--epochs", "1", "--seeds", "2")) == 0
    [folder] = (tmp_path / "runs").iterdir()
    assert folder.name.endswith("-softmax-mnist-seeds2")
    assert f"Group folder: {folder}" in capsys.readouterr().out
    assert sorted(p.name for p in folder.iterdir()) == ["group.json", "seed-0", "seed-1"]


def test_resume_with_seeds_is_refused_saying_what_to_do(tmp_path, capsys):
    assert main(["--resume", str(tmp_path / "checkpoint.pt"), "--seeds", "3"]) == 2
    err = capsys.readouterr().err
    assert "--seeds:" in err and "--resume <group>/seed-<seed>/checkpoint.pt" in err
    assert "without --resume" in err


def test_a_checkpoint_whose_settings_say_seeds_continues_as_one_run(
        digits_dir, tmp_path, capsys):
    run_dir = tmp_path / "run"
    assert main(args(digits_dir, "--epochs", "1", "--run-dir", str(run_dir))) == 0
    checkpoint = run_dir / "checkpoint.pt"
    saved = load_checkpoint(checkpoint)
    assert saved.config.seeds == 1
    save_checkpoint(checkpoint, dataclasses.replace(saved, config=saved.config.replace(
        seeds=3)))
    capsys.readouterr()
    assert main(["--resume", str(checkpoint), "--epochs", "2"]) == 0
    assert f"Run folder: {run_dir}" in capsys.readouterr().out
    assert [r["epoch"] for r in read_run(run_dir).history] == [1, 2]
    assert load_checkpoint(checkpoint).config.seeds == 1
    assert not list(run_dir.glob("seed-*"))


def test_a_folder_holding_a_group_is_refused(digits_dir, tmp_path, capsys):
    group = tmp_path / "group"
    assert main(args(digits_dir, "--epochs", "1", "--seeds", "2", "--run-dir", str(group))) == 0
    capsys.readouterr()
    assert main(args(digits_dir, "--epochs", "1", "--seeds", "2", "--run-dir", str(group))) == 2
    assert "holds a seed group" in capsys.readouterr().err
    assert main(args(digits_dir, "--epochs", "1", "--run-dir", str(group))) == 2


def test_a_group_that_fails_exits_1_with_the_reason(tmp_path, capsys):
    images = tmp_path / "images"
    for name in ("cat", "dog"):
        (images / name).mkdir(parents=True)
    code = main(["--arch", "softmax", "--dataset", "folder", "--image-folder", str(images),
                 "--device", "cpu", "--no-tensorboard", "--seeds", "2", "--run-dir",
                 str(tmp_path / "group")])
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    assert "error: Seed 0 (1 of 2) failed, and with these settings every seed would" in err


def test_torchrun_with_seeds_is_refused(digits_dir, monkeypatch, capsys):
    monkeypatch.setattr(engine.training.distributed, "launched_by_torchrun", lambda: True)
    assert main(args(digits_dir, "--seeds", "2")) == 2
    assert "--seeds: under torchrun" in capsys.readouterr().err


def test_ctrl_c_in_the_second_member_stops_the_group_with_130(digits_dir, tmp_path):
    group = tmp_path / "group"
    process = subprocess.Popen(
        [sys.executable, "main.py", "train", *args(digits_dir, "--epochs", "40", "--seeds",
                                                   "3", "--run-dir", str(group))],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for line in process.stderr:
            if line.startswith("[run 2/3, seed 1] Epoch 1/"):
                process.send_signal(signal.SIGINT)
                break
        out, _ = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 130
    best, _ = accuracies_of(group / "seed-0")
    assert out.splitlines()[0].startswith(
        "Seed group stopped by you during seed 1 (2 of 3). 1 finished run kept: Best test "
        f"accuracy {best:.2%} ± 0.00% (n = 1)")
    assert f"Group folder: {group}" in out
    record = read_group(group)
    assert record.status == "stopped" and not (group / "seed-2").exists()
    assert [m.status for m in record.members] == ["finished", "stopped"]
    assert load_checkpoint(group / "seed-1" / "checkpoint.pt").epoch >= 1


@pytest.mark.parametrize("flag", ["--seeds=0", "--seeds=101"])
def test_a_number_of_seeds_out_of_range_is_a_usage_error(flag, capsys):
    assert main([flag]) == 2
    assert "Seeds must be a whole number from 1 to 100" in capsys.readouterr().err
