"""Headless training from the command line: `python main.py train ...`."""

import io
import json
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bench.fault_kit import signal_after_first_epoch
from engine.cli.console import EXIT_CODES, ConsolePrinter
from engine.cli.train import build_parser, main
from engine.config import bounds_problem, config_fields, field_bounds, is_whole
from engine.events import BatchEnd, RunEnd
from engine.records.checkpoint import load_checkpoint
from tools.sample_datasets import write_idx_dataset

REPO = Path(__file__).resolve().parents[2]


def run_main_py(*args: str, argv0: str = "main.py", timeout: float = 120):
    """`main.py` in a fresh interpreter, as if started as `argv0`; with -X importtime, so
    stderr also lists every module imported."""
    code = (f"import sys, main; sys.argv[0] = {argv0!r}; "
            f"sys.exit(main.main({list(args)!r}))")
    return subprocess.run([sys.executable, "-X", "importtime", "-c", code], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)


def imported_modules(importtime_stderr: str) -> set[str]:
    return {line.rsplit("|", 1)[1].strip() for line in importtime_stderr.splitlines()
            if line.startswith("import time:") and line.count("|") == 2}


def without_importtime(stderr: str) -> str:
    return "\n".join(line for line in stderr.splitlines()
                     if not line.startswith("import time:"))


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


def test_help_gives_each_number_the_range_the_settings_check():
    text = " ".join(build_parser().format_help().split())
    for field in config_fields():
        bounds = field_bounds(field.name)
        if bounds is not None:
            words = bounds.words(is_whole(field.name))
            assert words in text, field.name
            assert words in bounds_problem(field.name)


def test_trains_and_writes_a_run_folder(data_dir, tmp_path, capsys):
    run_dir = tmp_path / "run"
    code = main(["--arch", "lenet5-relu", "--dataset", "fashion-mnist", "--data-dir",
                 str(data_dir), "--epochs", "2", "--batch-size", "16", "--device", "cpu",
                 "--run-dir", str(run_dir)])
    err = capsys.readouterr().err
    assert code == 0
    assert "Epoch 1/2" in err and "Epoch 2/2" in err
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
    out, err = capsys.readouterr()
    assert "error: " in err and "Run folder" not in out and "error" not in out


def test_main_py_dispatches_to_the_cli():
    result = subprocess.run([sys.executable, "main.py", "train", "--help"], cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0
    assert "--batch-size" in result.stdout
    assert result.stdout.startswith("usage: python main.py train")


@pytest.mark.parametrize("args", [("train", "--help"), ("train", "--version"), ("--version",),
                                  ("train", "--arch", "nonsense"), ("train", "--epochs", "x"),
                                  ("train", "--lr", "0")])
def test_help_version_and_usage_errors_answer_without_importing_torch(args):
    result = run_main_py(*args)
    modules = imported_modules(result.stderr)
    assert "engine.version" in modules  # the listing works: our own modules are in it
    assert "torch" not in modules and not any(m.startswith("torch.") for m in modules)
    if "--help" in args or "--version" in args:
        assert result.returncode == 0
    else:
        assert result.returncode == 2
        assert "error:" in without_importtime(result.stderr) and result.stdout == ""


@pytest.mark.parametrize(("word", "suggestion"), [("trian", "Did you mean 'train'?"),
                                                  ("xyzzy", None)])
def test_an_unknown_command_is_named_with_the_commands_not_the_window(word, suggestion):
    result = run_main_py(word, argv0="traindesk")
    err = without_importtime(result.stderr)
    assert result.returncode == 2 and result.stdout == ""
    assert err.startswith(f"traindesk: unknown command '{word}'")
    assert "traindesk train --help" in err and "traindesk export --help" in err
    assert (suggestion in err) if suggestion else "Did you mean" not in err
    modules = imported_modules(result.stderr)
    assert "torch" not in modules and "gui.app" not in modules and "PySide6" not in modules


def test_both_version_flags_print_the_version():
    for args in (("--version",), ("train", "--version")):
        result = run_main_py(*args)
        assert result.returncode == 0
        assert result.stdout.startswith("TrainDesk ") and len(result.stdout.split()) >= 2


def test_help_is_named_as_invoked_lists_titles_examples_and_exit_codes():
    text = run_main_py("train", "--help", argv0="/usr/local/bin/traindesk").stdout
    assert text.startswith("usage: traindesk train")
    assert re.search(r"\n +lenet5 +LeNet-5 \(classic\)\n", text)
    assert re.search(r"\n +mnist-sample +MNIST sample \(bundled\)\n", text)
    # What a first use downloads is said before it does.
    assert re.search(r"\n +cifar100 +CIFAR-100 \(161 MB download\)\n", text)
    assert re.search(r"\n +stl10 +STL-10 \(2.5 GB download\)\n", text)
    examples = text.split("examples:")[1]
    assert "traindesk train --arch" in examples
    codes = text.split("exit codes:")[1]
    for code in ("0", "1", "2", "3", "4", "130"):
        assert f"\n  {code} " in codes
    assert "learned nothing" in codes and "interrupted" in codes
    assert EXIT_CODES == {"finished": 0, "failed": 1, "diverged": 3, "learned_nothing": 4,
                          "stopped": 130}


def test_a_bad_flag_is_reported_under_the_name_it_was_invoked_by():
    result = run_main_py("train", "--arch", "nonsense", argv0="traindesk")
    assert result.returncode == 2
    assert "traindesk train: error: argument --arch: invalid choice" in result.stderr


def test_summary_and_run_folder_on_stdout_one_progress_line_per_epoch_on_stderr(
        data_dir, tmp_path):
    run_dir = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, "main.py", "train", "--arch", "mlp", "--dataset", "fashion-mnist",
         "--data-dir", str(data_dir), "--epochs", "2", "--batch-size", "16", "--device",
         "cpu", "--run-dir", str(run_dir)],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        result.stdout.splitlines()[0], f"Run folder: {run_dir}"]
    assert result.stdout.startswith("Finished 2 epochs: test accuracy")
    err = result.stderr
    assert "Training Multilayer perceptron on Fashion-MNIST for 2 epochs on CPU." in err
    # Not a terminal: no progress bar redrawn per batch, one line per epoch.
    assert "\r" not in err and "batch/s" not in err
    assert [line.split(":")[0] for line in err.splitlines() if line.startswith("Epoch ")] == [
        "Epoch 1/2", "Epoch 2/2"]


def test_ctrl_c_stops_keeps_the_model_and_exits_130(data_dir, tmp_path):
    run_dir = tmp_path / "run"
    code, out = signal_after_first_epoch(
        ["--arch", "mlp", "--dataset", "fashion-mnist", "--data-dir", str(data_dir), "--epochs",
         "10000", "--batch-size", "16", "--device", "cpu", "--run-dir", str(run_dir)],
        signal.SIGINT, timeout=120)
    assert code == 130
    assert out.startswith("Stopped by you after ") and f"Run folder: {run_dir}" in out
    assert load_checkpoint(run_dir / "checkpoint.pt").epoch >= 1


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_progress_bar_shows_no_rate_before_it_can_measure_one():
    screen = _Terminal()
    printer = ConsolePrinter(screen)
    printer(BatchEnd(epoch=1, batch=1, batches_per_epoch=100, step=1, loss=2.3, accuracy=0.1,
                     examples_per_sec=640.0, lr=0.003))
    first = screen.getvalue()
    # tqdm's rate needs two points in time; the first draw used to divide 1 batch by ~0 s.
    assert "?batch/s" in first
    assert "examples_s=640" in first
    printer._close_bar()


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


@pytest.mark.parametrize(("reason", "code", "on_stdout"), [
    ("finished", 0, True), ("stopped", 130, True), ("failed", 1, False),
    ("diverged", 3, False), ("learned_nothing", 4, False)])
def test_each_ending_has_its_exit_code_and_stream(reason, code, on_stdout, tmp_path,
                                                  monkeypatch, capsys):
    import engine.training.trainer

    class EndsAs:
        def __init__(self, config, run_dir, resume_from, tensorboard=None, **options):
            self.run_dir = Path(run_dir)

        def run(self, listener, control):
            self.run_dir.mkdir()
            (self.run_dir / "config.json").write_text("{}")  # a run record
            return RunEnd(reason, f"The run {reason}.", 1)

    monkeypatch.setattr(engine.training.trainer, "Trainer", EndsAs)
    assert main(["--run-dir", str(tmp_path / "run")]) == code
    out, err = capsys.readouterr()
    assert (f"The run {reason}." in out) == on_stdout
    assert (f"error: The run {reason}." in err) == (not on_stdout)
    assert f"Run folder: {tmp_path / 'run'}" in out


@pytest.mark.parametrize("flags, compiled", [([], False), (["--compile"], True)])
def test_compile_is_asked_for_with_a_flag_and_off_by_default(flags, compiled, tmp_path,
                                                             monkeypatch):
    import engine.training.trainer

    asked = {}

    class Records:
        def __init__(self, config, run_dir, resume_from, tensorboard=None, **options):
            asked.update(options)

        def run(self, listener, control):
            return RunEnd("stopped", "Stopped.", 0)

    monkeypatch.setattr(engine.training.trainer, "Trainer", Records)
    main(["--run-dir", str(tmp_path / "run"), *flags])
    assert asked["compile_model"] is compiled


@pytest.mark.parametrize("flag", ["--image-folder", "--data-dir"])
def test_own_images_train_from_the_image_folder_or_as_before_the_data_folder(flag, tmp_path,
                                                                            capsys):
    from tools.sample_datasets import write_image_folder

    photos = write_image_folder(tmp_path / "photos", classes=2, per_class=10, size=8)
    downloads = tmp_path / "downloads"
    extra = ["--data-dir", str(downloads)] if flag == "--image-folder" else []
    code = main(["--arch", "softmax", "--dataset", "folder", flag, str(photos), *extra,
                 "--epochs", "1", "--batch-size", "8", "--device", "cpu",
                 "--run-dir", str(tmp_path / "run")])
    assert code in (0, 4), capsys.readouterr().err  # trained (on 8 test images, any verdict)
    assert not downloads.exists()  # the download folder is not the image folder
    ckpt = load_checkpoint(tmp_path / "run" / "checkpoint.pt")
    assert ckpt.config.source_folder() == str(photos)


def test_help_says_which_folder_is_which():
    text = " ".join(build_parser().format_help().split())
    assert "--image-folder IMAGE_FOLDER For the 'folder' dataset (your own images)" in text
    assert "--data-dir DATA_DIR Where the built-in datasets" in text
