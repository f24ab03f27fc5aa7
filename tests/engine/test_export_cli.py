"""`main.py export`: help without PyTorch, files where asked, failures said on stderr."""

from __future__ import annotations

import json
import os

import pytest
import torch

from engine.cli.export import main
from engine.records.checkpoint import load_checkpoint, save_checkpoint
from engine.resources import RESOURCES_DIR
from tests.engine.test_cli import imported_modules, run_main_py, without_importtime

BUNDLED = RESOURCES_DIR / "pretrained" / "digits-lenet5.pt"
# TorchScript is deprecated in PyTorch 2.14 in favour of torch.export; still supported.
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:FutureWarning")


@pytest.fixture
def checkpoint(tmp_path):
    return save_checkpoint(tmp_path / "run" / "checkpoint.pt", load_checkpoint(BUNDLED))


@pytest.mark.parametrize("args", [("export", "--help"), ("export",),
                                  ("export", "x.pt", "--format", "keras")])
def test_help_and_usage_errors_answer_without_importing_torch(args):
    result = run_main_py(*args, argv0="/usr/local/bin/traindesk")
    modules = imported_modules(result.stderr)
    assert "engine.version" in modules or "engine.cli.export" in modules
    assert "torch" not in modules and not any(m.startswith("torch.") for m in modules)
    if "--help" in args:
        assert result.returncode == 0
        assert result.stdout.startswith("usage: traindesk export")
        for words in ("--format", "torchscript", "onnx", "--out", "exit codes",
                      'pip install "traindesk[onnx]"'):
            assert words in result.stdout
    else:
        assert result.returncode == 2 and result.stdout == ""
        assert "traindesk export: error:" in without_importtime(result.stderr)


def test_main_help_names_the_export_command():
    assert "export --help" in run_main_py("--help").stdout


def test_export_writes_beside_the_checkpoint_and_prints_the_path(checkpoint, capsys):
    assert main([str(checkpoint)]) == 0
    out, err = capsys.readouterr()
    written = checkpoint.with_name("checkpoint.torchscript.pt")
    assert out == f"{written}\n"
    assert "Exported (torchscript" in err and "checkpoint.torchscript.pt.json" in err
    probabilities = torch.jit.load(str(written))(torch.zeros(1, 1, 28, 28))
    assert probabilities.shape == (1, 10)
    assert json.loads((written.parent / (written.name + ".json")).read_text())[
        "class_names"] == [str(d) for d in range(10)]


def test_out_ending_in_onnx_chooses_onnx(checkpoint, tmp_path, capsys):
    out = tmp_path / "digits.onnx"
    assert main([str(checkpoint), "--out", str(out)]) == 0
    assert capsys.readouterr().out == f"{out}\n"
    assert json.loads((tmp_path / "digits.onnx.json").read_text())["format"] == "onnx"


def test_a_file_that_is_not_a_checkpoint_is_a_usage_error(tmp_path, capsys):
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    assert main([str(junk), "--out", str(tmp_path / "m.pt")], prog="traindesk export") == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("traindesk export: error: ")
    assert "not a TrainDesk checkpoint" in err
    assert not (tmp_path / "m.pt").exists()


def test_a_failed_export_exits_1_with_the_reason(checkpoint, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main([str(checkpoint), "--out", str(blocker / "m.pt")]) == 1
    out, err = capsys.readouterr()
    assert out == "" and "error: Could not write" in err


@pytest.mark.parametrize("out", ["checkpoint.pt", "best.pt", "metrics.jsonl", "run.jsonl",
                                 "batches.jsonl", "run.lock", "meta", "config"])
def test_an_out_that_is_the_checkpoint_or_a_run_file_is_refused(checkpoint, capsys, out):
    before = checkpoint.read_bytes()
    target = checkpoint.parent / out
    assert main([str(checkpoint), "--out", str(target)]) == 2
    out_text, err = capsys.readouterr()
    assert out_text == "" and "error: --out:" in err and "Choose another file" in err
    assert "checkpoint being exported" in err or "the name of a run folder's own file" in err
    assert checkpoint.read_bytes() == before and load_checkpoint(checkpoint).epoch >= 0
    assert sorted(p.name for p in checkpoint.parent.iterdir()) == ["checkpoint.pt"]


def test_the_checkpoint_under_another_name_is_not_overwritten(checkpoint, tmp_path, capsys):
    link = tmp_path / "model.pt"
    os.link(checkpoint, link)  # the same file, as best.pt is linked to checkpoint.pt
    assert main([str(link), "--out", str(checkpoint)]) == 2
    assert "checkpoint being exported" in capsys.readouterr().err
    assert main([str(checkpoint), "--out", str(link)]) == 2
    load_checkpoint(checkpoint)


def test_an_exported_model_given_as_a_checkpoint_is_named_as_such(checkpoint, tmp_path,
                                                                   capsys):
    from engine.records.checkpoint import CheckpointError

    assert main([str(checkpoint), "--out", str(tmp_path / "model.pt")]) == 0
    capsys.readouterr()
    with pytest.raises(CheckpointError) as refused:
        load_checkpoint(tmp_path / "model.pt")
    assert "is an exported model (TorchScript), not a checkpoint" in str(refused.value)
    assert "damaged" not in str(refused.value)
    assert main([str(tmp_path / "model.pt"), "--out", str(tmp_path / "again.pt")]) == 2
    assert "exported model (TorchScript)" in capsys.readouterr().err

    pytest.importorskip("onnxscript", reason="the onnx extra is not installed")
    assert main([str(checkpoint), "--out", str(tmp_path / "model.onnx")]) == 0
    with pytest.raises(CheckpointError, match=r"is an exported model \(ONNX\), not a checkp"):
        load_checkpoint(tmp_path / "model.onnx")
