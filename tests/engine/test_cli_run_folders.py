"""`main.py train` and its run folder: --resume goes on in the run's own folder, --epochs is
the total, SIGTERM stops like Ctrl+C, and folders it cannot use are explained."""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from pathlib import Path

import pytest

import engine.cli.run_dir
from bench.fault_kit import signal_after_first_epoch
from engine.cli.train import main
from engine.records import runs
from engine.records.checkpoint import load_checkpoint
from engine.records.run_folder import LOCK_FILE

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def runs_dir(tmp_path, monkeypatch) -> Path:
    """The default runs folder (~/.traindesk/runs), in the test's own folder."""
    folder = tmp_path / "default-runs"
    monkeypatch.setattr(engine.cli.run_dir, "DEFAULT_RUNS_DIR", folder)
    return folder


def softmax(digits_dir: Path, *more: str) -> list[str]:
    return ["--arch", "softmax", "--dataset", "mnist", "--data-dir", str(digits_dir),
            "--batch-size", "20", "--device", "cpu", "--no-tensorboard", *more]


def epochs_in(folder: Path) -> list[int]:
    return [json.loads(line)["epoch"]
            for line in (folder / "metrics.jsonl").read_text().splitlines()]


def test_resume_goes_on_in_the_checkpoint_s_own_folder(digits_dir, tmp_path, runs_dir, capsys):
    folder = tmp_path / "run"
    assert main(softmax(digits_dir, "--epochs", "1", "--run-dir", str(folder))) == 0
    capsys.readouterr()

    assert main(["--resume", str(folder / "checkpoint.pt"), "--epochs", "2"]) == 0
    captured = capsys.readouterr()
    assert f"Continuing the run in its own folder, {folder}" in captured.err
    assert f"Run folder: {folder}" in captured.out
    assert epochs_in(folder) == [1, 2] and load_checkpoint(folder / "checkpoint.pt").epoch == 2
    assert [r["event"] for r in map(json.loads, (folder / "run.jsonl").read_text().splitlines())
            ].count("begin") == 2  # one record, continued
    assert not runs_dir.exists()  # no new folder

    # --new-run-dir: a new folder instead, the run's own left as it was.
    assert main(["--resume", str(folder / "checkpoint.pt"), "--epochs", "3",
                 "--new-run-dir"]) == 0
    [new] = list(runs_dir.iterdir())
    assert epochs_in(new) == [1, 2, 3] and epochs_in(folder) == [1, 2]


@pytest.mark.parametrize(("epochs", "says"), [
    ("1", "the checkpoint has 2 epochs done, more than the 1 asked for"),
    (None, "the checkpoint has 2 epochs done, all 2 asked for")])
def test_resuming_to_no_more_epochs_than_done_says_epochs_is_the_total(
        digits_dir, tmp_path, capsys, epochs, says):
    folder = tmp_path / "run"
    assert main(softmax(digits_dir, "--epochs", "2", "--run-dir", str(folder))) == 0
    capsys.readouterr()
    before = (folder / "run.jsonl").read_text()

    flags = ["--epochs", epochs] if epochs else []
    assert main(["--resume", str(folder / "checkpoint.pt"), *flags]) == 2
    err = capsys.readouterr().err
    assert says in err and "--epochs is the total number of epochs" in err
    more = 1 if epochs else 2
    assert f"Pass --epochs {2 + int(epochs or 2)} for {more} more epoch" in err
    assert ("(--epochs 3 for one more)" in err) == (more > 1)  # said once, not twice
    assert "epochs 3-" not in err and "3-1" not in err
    assert (folder / "run.jsonl").read_text() == before  # nothing was started


def test_names_over_255_bytes_are_explained_without_a_traceback(tmp_path, capsys):
    long = tmp_path / ("x" * 300)
    assert main(["--run-dir", str(long)]) == 2
    err = capsys.readouterr().err
    assert "error: --run-dir: The run folder" in err and "at most 255 bytes" in err
    assert "Traceback" not in err and "Errno 36" not in err

    assert main(["--resume", str(long / "checkpoint.pt")]) == 2
    err = capsys.readouterr().err
    assert "error: --resume:" in err and "at most 255 bytes" in err


def test_a_broken_link_as_run_folder_says_where_it_points(tmp_path, capsys):
    link, target = tmp_path / "link", tmp_path / "gone" / "runs"
    link.symlink_to(target)
    assert main(["--run-dir", str(link)]) == 2
    err = capsys.readouterr().err
    assert f"{link} is a broken link: it points to {target}" in err
    assert "File exists" not in err


def test_a_folder_another_process_writes_is_refused_by_process_and_computer(tmp_path, capsys):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / LOCK_FILE).write_text(json.dumps({"pid": os.getppid(), "host": socket.gethostname(),
                                                "started": time.time(), "token": "x"}))
    assert main(["--run-dir", str(folder)]) == 2
    err = capsys.readouterr().err
    assert f"is being written by process {os.getppid()} on {socket.gethostname()}" in err
    assert "delete the folder" not in err and "--new-run-dir" in err


def test_sigterm_stops_at_the_next_batch_keeps_the_model_and_exits_130(digits_dir, tmp_path):
    folder = tmp_path / "run"
    code, out = signal_after_first_epoch(
        softmax(digits_dir, "--epochs", "10000", "--run-dir", str(folder)), signal.SIGTERM,
        timeout=120)
    assert code == 130
    assert out.startswith("Stopped by SIGTERM after ") and f"Run folder: {folder}" in out
    record = runs.read_run(folder)
    assert record.status == "stopped" and record.epochs_done >= 1
    assert load_checkpoint(folder / "checkpoint.pt").epoch == record.epochs_done
    assert not (folder / LOCK_FILE).exists()
