"""`python main.py train ... --find-lr`: the range test from the command line."""

from __future__ import annotations

import io

from engine.cli.console import USAGE_ERROR
from engine.cli.find_lr import curve_table, report, train_command
from engine.cli.train import main
from engine.lr_finder.lr_range import lr_range
from engine.lr_finder.search import LRTestEnd, LRTestResult, RateCheck
from tests.engine.test_cli import imported_modules, run_main_py, without_importtime


def crafted_result(suggested=3e-3, lowest=0.05, exploded_at=2.0, unsure="") -> LRTestResult:
    rates = lr_range(1e-6, 1.0, 25)
    smoothed = [2.3 - 1.5 * i / 20 if i <= 20 else 0.8 + (i - 20) * 2.0 for i in range(25)]
    checks = () if suggested is None else (RateCheck(0.02, 15, 1.1), RateCheck(3e-3, 15, 0.9))
    return LRTestResult(lrs=tuple(rates), losses=tuple(smoothed), smoothed=tuple(smoothed),
                        start_lr=1e-6, end_lr=10.0, steps=30, exploded_at=exploded_at,
                        min_loss_lr=lowest, checks=checks,
                        suggested=suggested, unsure=unsure)


def test_find_lr_prints_the_curve_and_the_suggestions_and_trains_nothing(digits_dir, tmp_path,
                                                                         capsys):
    run_dir = tmp_path / "run"
    argv = ["--arch", "mlp", "--dataset", "mnist", "--data-dir", str(digits_dir),
            "--optimizer", "sgd", "--batch-size", "20", "--device", "cpu", "--lr", "0.5",
            "--run-dir", str(run_dir), "--find-lr", "--find-lr-batches", "40",
            "--find-lr-range", "1e-5", "10"]
    code = main(argv, prog="traindesk train")
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "Testing learning rates from 1e-5 to 10 over up to 40 batches" in err
    assert "suggested" in out and "Suggested learning rate:" in out
    assert "at each rate checked" in out
    train_line = next(line for line in out.splitlines() if line.startswith("Train with: "))
    assert "--find-lr" not in train_line and "--lr 0.5" not in train_line
    assert train_line.startswith("Train with: traindesk train --arch mlp ")
    assert not run_dir.exists()  # nothing written, no run folder claimed


def test_python_main_py_find_lr_answers_with_exit_code_0_and_help_still_skips_torch():
    done = run_main_py("train", "--dataset", "mnist-sample", "--arch", "mlp", "--optimizer",
                       "sgd", "--device", "cpu", "--find-lr", "--find-lr-batches", "30")
    assert done.returncode == 0, without_importtime(done.stderr)
    assert "Suggested learning rate:" in done.stdout
    helped = run_main_py("train", "--help")
    assert helped.returncode == 0 and "--find-lr" in helped.stdout
    assert "torch" not in imported_modules(helped.stderr)


def test_an_impossible_range_is_a_usage_error_said_before_torch_loads(capsys):
    code = main(["--find-lr", "--find-lr-range", "1", "0.1"], prog="traindesk train")
    assert code == USAGE_ERROR
    assert "--find-lr: the highest rate (0.1) must be a number above" in capsys.readouterr().err


def test_the_curve_table_marks_the_suggestion_and_lets_the_explosion_run_off():
    text = curve_table(crafted_result())
    lines = text.splitlines()
    assert len(lines) == 1 + 16
    assert any("suggested 3e-3" in line for line in lines)
    assert any("lowest loss 0.05" in line for line in lines)
    assert lines[-1].split()[-1].endswith(">")  # far above the start: past the bar's end


def test_the_train_command_drops_the_test_flags_and_the_old_rate():
    argv = ["--arch", "mlp", "--lr=0.5", "--find-lr", "--find-lr-range", "1e-6", "1",
            "--find-lr-batches=50", "--data-dir", "my data"]
    assert train_command("python main.py train", argv, 3e-3) == (
        "python main.py train --arch mlp --data-dir 'my data' --lr 3e-3")


def test_stopped_and_unsuggestable_tests_exit_as_a_run_would():
    out, err = io.StringIO(), io.StringIO()
    stopped = LRTestEnd("stopped", "Stopped by you after 25 batches of 30.",
                        crafted_result(suggested=None))
    assert report(stopped, "p", [], out, err) == 130
    assert "error: Stopped by you" in err.getvalue() and "Train with" not in out.getvalue()
    flat = LRTestEnd("finished", "The loss did not fall clearly.",
                     crafted_result(suggested=None, lowest=None))
    out, err = io.StringIO(), io.StringIO()
    assert report(flat, "p", [], out, err) == 1
    assert "error: The loss did not fall clearly." in err.getvalue()
    assert "Train with" not in out.getvalue()


def test_an_unsure_suggestion_is_said_with_why_and_no_command_line():
    """--find-lr printed "Train with: ... --lr 0.2" for the classic LeNet-5 with Adam, a
    rate at which it learns nothing. A rate the test is not sure of gets no command line."""
    unsure = crafted_result(unsure="no rate checked lowered the loss clearly in 15 batches.")
    out, err = io.StringIO(), io.StringIO()
    assert report(LRTestEnd("finished", unsure.summary(), unsure), "p", [], out, err) == 1
    assert "Not sure: 3e-3 was only the best of the rates checked" in out.getvalue()
    assert "Train with" not in out.getvalue()
    assert "error: no sure learning rate: no rate checked lowered" in err.getvalue()
    assert any("best checked (unsure) 3e-3" in line for line in out.getvalue().splitlines())
    sure = crafted_result()
    out, err = io.StringIO(), io.StringIO()
    assert report(LRTestEnd("finished", sure.summary(), sure), "p", ["--lr", "1"], out,
                  err) == 0
    assert "Train with: p --lr 3e-3" in out.getvalue() and not err.getvalue()
