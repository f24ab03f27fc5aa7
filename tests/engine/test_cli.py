"""Headless training from the command line: `python main.py train ...`."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from engine.checkpoint import load_checkpoint
from engine.cli import build_parser, main
from engine.config import config_fields
from tests.datasets import write_idx_dataset

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli-data")
    write_idx_dataset(root, layout="FashionMNIST", n_train=120, n_test=40)
    return root


def test_help_lists_every_setting():
    text = build_parser().format_help()
    for field in config_fields():
        assert "--" + field.name.replace("_", "-") in text
    assert "--resume" in text and "--run-dir" in text
    assert "lenet5" in text and "fashion-mnist" in text


def test_trains_and_writes_a_run_folder(data_dir, tmp_path, capsys):
    run_dir = tmp_path / "run"
    code = main(["--arch", "lenet5-relu", "--dataset", "fashion-mnist", "--data-dir",
                 str(data_dir), "--epochs", "2", "--batch-size", "16", "--device", "cpu",
                 "--run-dir", str(run_dir)])
    err = capsys.readouterr().err
    assert code == 0
    assert "Epoch 1/2" in err and "Epoch 2/2" in err and "FINISHED" in err
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records] == [1, 2]
    ckpt = load_checkpoint(run_dir / "checkpoint.pt")
    assert ckpt.epoch == 2 and ckpt.config.arch == "lenet5-relu"

    code = main(["--arch", "lenet5-relu", "--dataset", "fashion-mnist", "--data-dir",
                 str(data_dir), "--epochs", "3", "--batch-size", "16", "--device", "cpu",
                 "--run-dir", str(tmp_path / "resumed"), "--resume",
                 str(run_dir / "checkpoint.pt")])
    assert code == 0
    assert "Resumed after epoch 2" in capsys.readouterr().err
    assert load_checkpoint(tmp_path / "resumed" / "checkpoint.pt").epoch == 3


def test_an_invalid_value_is_explained_and_exits_2(capsys):
    assert main(["--lr", "0", "--run-dir", "unused"]) == 2
    assert "--lr: Learning rate must be" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["--arch", "nonsense"])
    assert exit_info.value.code == 2


def test_a_failed_run_exits_non_zero_with_the_reason(tmp_path, capsys):
    code = main(["--dataset", "folder", "--data-dir", str(tmp_path), "--run-dir",
                 str(tmp_path / "run")])
    assert code == 1
    assert "FAILED" in capsys.readouterr().err


def test_main_py_dispatches_to_the_cli():
    result = subprocess.run([sys.executable, "main.py", "train", "--help"], cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0
    assert "--batch-size" in result.stdout


def test_resume_keeps_the_checkpoints_settings_and_changes_only_the_flags_given(
        data_dir, tmp_path, capsys):
    first = tmp_path / "first"
    assert main(["--arch", "mlp", "--dataset", "fashion-mnist", "--data-dir", str(data_dir),
                 "--epochs", "1", "--batch-size", "16", "--optimizer", "sgd", "--lr", "0.05",
                 "--seed", "7", "--device", "cpu", "--run-dir", str(first)]) == 0
    assert main(["--resume", str(first / "checkpoint.pt"), "--epochs", "2",
                 "--run-dir", str(tmp_path / "second")]) == 0
    config = load_checkpoint(tmp_path / "second" / "checkpoint.pt").config
    assert (config.arch, config.dataset, config.optimizer, config.lr, config.seed) == (
        "mlp", "fashion-mnist", "sgd", 0.05, 7)
    assert config.epochs == 2 and config.batch_size == 16
    assert "Resumed after epoch 1" in capsys.readouterr().err


def test_resume_from_a_file_that_is_not_a_checkpoint_is_explained(tmp_path, capsys):
    junk = tmp_path / "junk.pt"
    junk.write_text("hello")
    assert main(["--resume", str(junk)]) == 2
    assert "error: --resume:" in capsys.readouterr().err
