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


def _fashion(data_dir, *more: str) -> list[str]:
    return ["--arch", "mlp", "--dataset", "fashion-mnist", "--data-dir", str(data_dir),
            "--batch-size", "16", "--device", "cpu", *more]


def _all_output(capsys) -> str:
    """stdout and stderr together: results and progress may go to either."""
    captured = capsys.readouterr()
    return captured.out + captured.err


def _epochs(folder: Path) -> list[int]:
    return [json.loads(line)["epoch"]
            for line in (folder / "metrics.jsonl").read_text().splitlines()]


def test_a_run_folder_holding_a_run_is_refused_with_how_to_continue_it(data_dir, tmp_path,
                                                                      capsys):
    folder = tmp_path / "run"
    assert main(_fashion(data_dir, "--epochs", "2", "--run-dir", str(folder))) == 0
    config_before = (folder / "config.json").read_text()
    capsys.readouterr()

    code = main(_fashion(data_dir, "--epochs", "1", "--lr", "0.01", "--run-dir", str(folder)))

    err = capsys.readouterr().err
    assert code == 2
    assert f"error: --run-dir: {folder} already holds a run" in err
    assert f"--resume {folder / 'checkpoint.pt'}" in err and "--new-run-dir" in err
    assert _epochs(folder) == [1, 2]
    assert (folder / "config.json").read_text() == config_before
    assert load_checkpoint(folder / "checkpoint.pt").epoch == 2


def test_new_run_dir_writes_a_numbered_folder_beside_one_that_holds_a_run(data_dir, tmp_path,
                                                                         capsys):
    folder = tmp_path / "run"
    assert main(_fashion(data_dir, "--epochs", "1", "--run-dir", str(folder))) == 0
    assert main(_fashion(data_dir, "--epochs", "1", "--lr", "0.01", "--run-dir", str(folder),
                         "--new-run-dir")) == 0
    assert f"this run goes to {tmp_path / 'run-2'}" in _all_output(capsys)
    assert _epochs(folder) == [1] and _epochs(tmp_path / "run-2") == [1]
    assert load_checkpoint(tmp_path / "run-2" / "checkpoint.pt").config.lr == 0.01
    assert load_checkpoint(folder / "checkpoint.pt").config.lr != 0.01


def test_resuming_a_run_into_its_own_folder_continues_its_record(data_dir, tmp_path):
    folder = tmp_path / "run"
    assert main(_fashion(data_dir, "--epochs", "1", "--run-dir", str(folder))) == 0
    assert main(["--resume", str(folder / "checkpoint.pt"), "--epochs", "3",
                 "--run-dir", str(folder)]) == 0
    assert _epochs(folder) == [1, 2, 3]
    assert load_checkpoint(folder / "checkpoint.pt").epoch == 3


@pytest.mark.parametrize(("flag", "value"), [("--lr", "-inf"), ("--lr", "-1e-3"),
                                             ("--momentum", "-0.5"), ("--epochs", "-3")])
def test_negative_numbers_are_values_and_get_the_settings_message(flag, value, capsys):
    assert main([flag, value, "--run-dir", "unused"]) == 2
    err = capsys.readouterr().err
    assert f"error: {flag}: " in err and "expected one argument" not in err


def test_a_seed_too_large_for_the_generator_is_refused_up_front(capsys):
    assert main(["--seed", "9223372036854775808", "--run-dir", "unused"]) == 2
    assert "error: --seed: Seed must be a whole number from 0 to 4294967295" in (
        capsys.readouterr().err)


def test_a_run_that_learned_nothing_exits_4(data_dir, tmp_path, capsys):
    code = main(["--arch", "lenet5", "--dataset", "fashion-mnist", "--data-dir", str(data_dir),
                 "--epochs", "1", "--batch-size", "16", "--optimizer", "sgd", "--lr", "10",
                 "--device", "cpu", "--run-dir", str(tmp_path / "run")])
    err = _all_output(capsys)
    assert code == 4
    assert "Learned nothing: after 1 epoch" in err
    assert (tmp_path / "run" / "checkpoint.pt").is_file()  # kept: a complete, labelled record


def test_a_run_folder_that_cannot_be_written_fails_before_training(data_dir, tmp_path,
                                                                  capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    code = main(_fashion(data_dir, "--epochs", "1", "--run-dir", str(blocker / "run")))
    err = _all_output(capsys)
    assert code == 1
    assert "cannot be written" in err and "nothing was trained" in err
    assert "Epoch 1/1" not in err and "Run folder:" not in err


def test_the_run_estimate_is_one_line_on_stderr(data_dir, tmp_path, capsys):
    code = main(["--arch", "mlp", "--dataset", "fashion-mnist", "--data-dir", str(data_dir),
                 "--epochs", "1", "--batch-size", "16", "--device", "cpu",
                 "--run-dir", str(tmp_path / "run")])
    out, err = capsys.readouterr()
    assert code == 0
    lines = [line for line in err.splitlines() if line.startswith("Estimated time: about ")]
    assert len(lines) == 1 and lines[0].endswith("per epoch) on CPU.")
    assert "Estimated" not in out
