"""Checkpoints: exact round trips, atomic saves, and clear refusals of anything else."""

import errno
import io
import os
import pickle
import random
import time
from pathlib import Path

import pytest
import torch

import engine.records.checkpoint as checkpoint_module
from engine.config import TrainConfig
from engine.events import EpochEnd
from engine.models.architectures import build_model
from engine.records.checkpoint import (
    FORMAT_VERSION,
    Checkpoint,
    CheckpointError,
    build_model_from_checkpoint,
    load_checkpoint,
    load_model_weights,
    save_checkpoint,
)

CLASSES = tuple(str(digit) for digit in range(10))
CONFIG = TrainConfig(
    arch="lenet5", epochs=4, batch_size=8, optimizer="adamw", lr=0.01, weight_decay=1e-4,
    schedule="onecycle", label_smoothing=0.1, augment=True, seed=7, data_dir="/tmp/digits",
)


def _make_optimizer(model: torch.nn.Module) -> torch.optim.Optimizer:
    return torch.optim.AdamW(model.parameters(), lr=CONFIG.lr, weight_decay=CONFIG.weight_decay)


def _make_scheduler(optimizer: torch.optim.Optimizer) -> torch.optim.lr_scheduler.OneCycleLR:
    return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=CONFIG.lr, total_steps=20)


def _step(model, optimizer, scheduler, seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    images = torch.randn(8, 1, 32, 32, generator=generator)
    labels = torch.randint(0, 10, (8,), generator=generator)
    optimizer.zero_grad()
    torch.nn.functional.cross_entropy(model(images), labels).backward()
    optimizer.step()
    scheduler.step()


def _trained(steps: int = 3):
    """A LeNet-5 with its optimizer and schedule after a few real optimisation steps."""
    torch.manual_seed(0)
    model = build_model("lenet5", 1, len(CLASSES), 32)
    optimizer = _make_optimizer(model)
    scheduler = _make_scheduler(optimizer)
    for seed in range(steps):
        _step(model, optimizer, scheduler, seed)
    return model, optimizer, scheduler


def _history(epochs: int) -> list[dict]:
    return [
        EpochEnd(epoch=e, epochs=CONFIG.epochs, train_loss=1.0 / e, train_acc=0.5 + e / 10,
                 val_loss=None, val_acc=None, test_loss=1.1 / e, test_acc=0.4 + e / 10,
                 lr=0.01 / e, seconds=1.5 * e).as_record()
        for e in range(1, epochs + 1)
    ]


def _checkpoint(model, optimizer=None, scheduler=None, epoch: int = 2) -> Checkpoint:
    return Checkpoint(
        config=CONFIG,
        model_state=model.state_dict(),
        optimizer_state=optimizer.state_dict() if optimizer else None,
        scheduler_state=scheduler.state_dict() if scheduler else None,
        scaler_state=torch.amp.GradScaler("cpu").state_dict() if optimizer else None,
        epoch=epoch,
        history=_history(epoch),
        class_names=CLASSES,
        mean=(0.1307,),
        std=(0.3081,),
        in_channels=1,
        input_size=32,
        is_digits=True,
    )


@pytest.fixture(scope="module")
def trained():
    return _trained()


@pytest.fixture
def saved(tmp_path, trained) -> Path:
    return save_checkpoint(tmp_path / "checkpoint.pt", _checkpoint(*trained))


def _assert_same(expected, actual, where: str = "checkpoint") -> None:
    """Deep equality that compares tensors exactly and containers element by element."""
    if isinstance(expected, torch.Tensor):
        assert isinstance(actual, torch.Tensor), where
        assert actual.dtype == expected.dtype and torch.equal(actual, expected), where
    elif isinstance(expected, dict):
        assert isinstance(actual, dict) and list(actual) == list(expected), where
        for key in expected:
            _assert_same(expected[key], actual[key], f"{where}[{key!r}]")
    elif isinstance(expected, (list, tuple)):
        assert type(actual) is type(expected) and len(actual) == len(expected), where
        for index, (e, a) in enumerate(zip(expected, actual, strict=True)):
            _assert_same(e, a, f"{where}[{index}]")
    else:
        assert type(actual) is type(expected) and actual == expected, where


# -- round trips --------------------------------------------------------------------------


def test_every_field_survives_a_save_and_load(tmp_path, trained):
    original = _checkpoint(*trained)
    assert original.optimizer_state["state"], "the optimizer has stepped, so it has state"
    assert original.scheduler_state["last_epoch"] == 3

    loaded = load_checkpoint(save_checkpoint(tmp_path / "checkpoint.pt", original))

    assert loaded.config == CONFIG
    _assert_same(dict(original.model_state), loaded.model_state, "model_state")
    _assert_same(original.optimizer_state, loaded.optimizer_state, "optimizer_state")
    _assert_same(original.scheduler_state, loaded.scheduler_state, "scheduler_state")
    _assert_same(original.scaler_state, loaded.scaler_state, "scaler_state")
    assert loaded.epoch == 2
    _assert_same(original.history, loaded.history, "history")
    assert loaded.class_names == CLASSES and isinstance(loaded.class_names, tuple)
    assert loaded.mean == (0.1307,) and loaded.std == (0.3081,)
    assert isinstance(loaded.mean, tuple) and isinstance(loaded.std, tuple)
    assert (loaded.in_channels, loaded.input_size, loaded.is_digits) == (1, 32, True)


def test_missing_training_state_round_trips_as_none(tmp_path, trained):
    model = trained[0]
    loaded = load_checkpoint(save_checkpoint(tmp_path / "weights.pt", _checkpoint(model)))
    assert loaded.optimizer_state is None
    assert loaded.scheduler_state is None
    assert loaded.scaler_state is None


def test_the_file_is_a_plain_marked_dict_of_tensors_and_primitives(saved):
    payload = torch.load(saved, map_location="cpu", weights_only=True)
    assert payload["format"] == "traindesk-checkpoint"
    assert payload["format_version"] == FORMAT_VERSION
    assert payload["config"] == CONFIG.to_dict()
    assert payload["class_names"] == list(CLASSES)
    assert payload["mean"] == [0.1307] and payload["std"] == [0.3081]


def test_resuming_from_a_checkpoint_continues_exactly_like_the_original(tmp_path):
    model, optimizer, scheduler = _trained()
    ckpt = load_checkpoint(save_checkpoint(tmp_path / "checkpoint.pt",
                                           _checkpoint(model, optimizer, scheduler)))

    resumed = build_model_from_checkpoint(ckpt).train()
    resumed_optimizer = _make_optimizer(resumed)
    # Built before the optimizer state is loaded: a new OneCycleLR resets the lr and betas.
    resumed_scheduler = _make_scheduler(resumed_optimizer)
    resumed_optimizer.load_state_dict(ckpt.optimizer_state)
    resumed_scheduler.load_state_dict(ckpt.scheduler_state)
    for seed in (3, 4):
        _step(model, optimizer, scheduler, seed)
        _step(resumed, resumed_optimizer, resumed_scheduler, seed)

    _assert_same(model.state_dict(), resumed.state_dict(), "weights after resuming")
    _assert_same(optimizer.state_dict(), resumed_optimizer.state_dict(), "optimizer")
    assert scheduler.get_last_lr() == resumed_scheduler.get_last_lr()


def test_built_model_predicts_exactly_like_the_original(saved, trained):
    original = trained[0].eval()
    rebuilt = build_model_from_checkpoint(load_checkpoint(saved))

    assert not rebuilt.training
    assert all(p.device.type == "cpu" for p in rebuilt.parameters())
    images = torch.randn(5, 1, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.equal(rebuilt(images), original(images))


def test_save_creates_missing_parent_folders(tmp_path, trained):
    path = tmp_path / "runs" / "2024-01-01" / "checkpoint.pt"
    assert save_checkpoint(path, _checkpoint(*trained)) == path
    assert load_checkpoint(path).epoch == 2


# -- atomic save --------------------------------------------------------------------------


def _fail_half_way_through_torch_save(monkeypatch) -> None:
    def write_some_then_fail(obj, stream):
        stream.write(b"PK\x03\x04 half a checkpoint")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", write_some_then_fail)


def _fail_the_rename(monkeypatch) -> None:
    def refuse(source, target):
        raise PermissionError(errno.EACCES, "Permission denied", str(target))

    monkeypatch.setattr(os, "replace", refuse)


@pytest.mark.parametrize("failure", [_fail_half_way_through_torch_save, _fail_the_rename])
def test_a_failed_save_keeps_the_previous_checkpoint_and_leaves_no_temp_file(
    tmp_path, trained, monkeypatch, failure
):
    path = save_checkpoint(tmp_path / "checkpoint.pt", _checkpoint(*trained, epoch=2))
    before = path.read_bytes()

    failure(monkeypatch)
    with pytest.raises(OSError):
        save_checkpoint(path, _checkpoint(*trained, epoch=3))
    monkeypatch.undo()

    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["checkpoint.pt"]
    assert load_checkpoint(path).epoch == 2


def test_an_interrupted_first_save_leaves_nothing_behind(tmp_path, trained, monkeypatch):
    def interrupted(obj, stream):
        stream.write(b"PK\x03\x04")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(tmp_path / "checkpoint.pt", _checkpoint(*trained))
    assert os.listdir(tmp_path) == []


def test_save_syncs_the_data_to_disk_before_renaming(tmp_path, trained, monkeypatch):
    calls: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        calls.append("fsync")
        real_fsync(fd)

    def replace(source, target):
        calls.append("replace")
        real_replace(source, target)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    save_checkpoint(tmp_path / "checkpoint.pt", _checkpoint(*trained))

    assert calls[:2] == ["fsync", "replace"]
    if os.name == "posix":  # the folder is synced too, so the rename itself is durable
        assert calls == ["fsync", "replace", "fsync"]


# -- files that hide code -----------------------------------------------------------------


def _leave_marker(path: str) -> None:
    Path(path).write_text("the checkpoint ran code")


class RunsCodeWhenUnpickled:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (_leave_marker, (str(self.marker),))


def _pickle_file(payload, path: Path, protocol: int = pickle.DEFAULT_PROTOCOL) -> None:
    with open(path, "wb") as stream:
        pickle.dump(payload, stream, protocol=protocol)


def _unpickle(path: Path) -> None:
    with open(path, "rb") as stream:
        pickle.load(stream)


MALICIOUS_FORMATS = {
    "raw pickle": (_pickle_file, _unpickle),
    "raw pickle, protocol 0": (lambda payload, path: _pickle_file(payload, path, 0), _unpickle),
    "torch zip file": (torch.save, lambda path: torch.load(path, weights_only=False)),
    "torch legacy file": (
        lambda payload, path: torch.save(payload, path, _use_new_zipfile_serialization=False),
        lambda path: torch.load(path, weights_only=False),
    ),
}


@pytest.mark.parametrize("file_format", list(MALICIOUS_FORMATS))
def test_a_checkpoint_that_would_run_code_is_refused_without_running_it(tmp_path, file_format):
    write, unsafe_load = MALICIOUS_FORMATS[file_format]
    marker = tmp_path / "marker.txt"
    path = tmp_path / "checkpoint.pt"
    write({"format": "traindesk-checkpoint", "format_version": 1,
           "model_state": RunsCodeWhenUnpickled(marker)}, path)

    with pytest.raises(CheckpointError, match="Refused") as refused:
        load_checkpoint(path)
    assert "would run code" in str(refused.value)
    assert "Nothing in it was run" in str(refused.value)
    assert not marker.exists()

    # The file really is dangerous: an unsafe load runs its code.
    unsafe_load(path)
    assert marker.read_text() == "the checkpoint ran code"


# -- files that are not checkpoints -------------------------------------------------------


def _random_bytes(path: Path, saved: Path) -> None:
    path.write_bytes(random.Random(1234).randbytes(4096))


def _empty(path: Path, saved: Path) -> None:
    path.write_bytes(b"")


def _text(path: Path, saved: Path) -> None:
    path.write_text("epoch,loss\n1,0.52\n2,0.31\n")


def _cut_in_half(path: Path, saved: Path) -> None:
    data = saved.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _bare_state_dict(path: Path, saved: Path) -> None:
    torch.save(build_model("lenet5", 1, 10, 32).state_dict(), path)


def _list_of_numbers(path: Path, saved: Path) -> None:
    torch.save([1, 2, 3], path)


def _plain_pickle(path: Path, saved: Path) -> None:
    _pickle_file({"epoch": 3, "loss": 0.5}, path)


def _zip_of_other_files(path: Path, saved: Path) -> None:
    import zipfile

    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("notes.txt", "not a model")


def _future_format(path: Path, saved: Path) -> None:
    payload = torch.load(saved, weights_only=True)
    payload["format_version"] = FORMAT_VERSION + 1
    torch.save(payload, path)


def _version_zero(path: Path, saved: Path) -> None:
    payload = torch.load(saved, weights_only=True)
    payload["format_version"] = 0
    _save_sealed(payload, path)


def _missing_history(path: Path, saved: Path) -> None:
    payload = torch.load(saved, weights_only=True)
    del payload["history"]
    _save_sealed(payload, path)


def _save_sealed(payload: dict, path: Path) -> None:
    """Write `payload` as save_checkpoint would, sealed (a crafted but intact file)."""
    archive = io.BytesIO()
    torch.save(payload, archive)
    path.write_bytes(checkpoint_module._sealed(archive.getbuffer()))


def _folder(path: Path, saved: Path) -> None:
    path.mkdir()


def _nothing(path: Path, saved: Path) -> None:
    pass


BAD_FILES = {
    "random bytes": (_random_bytes, r"is not a TrainDesk checkpoint: it is not a file saved by"),
    "empty file": (_empty, r"is empty \(0 bytes\)"),
    "text file": (_text, r"is not a TrainDesk checkpoint: it is not a file saved by"),
    "plain pickle": (_plain_pickle, r"is not a TrainDesk checkpoint: it is not a file saved by"),
    "zip of other files": (_zip_of_other_files, r"is not a TrainDesk checkpoint"),
    "truncated checkpoint": (_cut_in_half, r"is damaged or incomplete: .*cut off"),
    "bare state_dict of two networks": (
        _bare_state_dict, r"bare PyTorch state_dict.*fit several networks equally: LeNet-5"),
    "torch file of something else": (_list_of_numbers, r"PyTorch file but not a TrainDesk.*list"),
    "future format version": (_future_format, rf"newer TrainDesk.*format {FORMAT_VERSION + 1}"),
    "missing field": (_missing_history, r"damaged or incomplete: it lacks 'history'"),
    "format version 0": (_version_zero, r"damaged or incomplete: its format version is missing"),
    "folder": (_folder, r"is a folder, not a checkpoint"),
    "missing path": (_nothing, r"does not exist"),
}


@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_a_file_that_is_not_a_usable_checkpoint_gets_a_clear_error(tmp_path, saved, kind):
    make, message = BAD_FILES[kind]
    path = tmp_path / "suspect.pt"
    make(path, saved)

    with pytest.raises(CheckpointError, match=message) as error:
        load_checkpoint(path)
    assert str(path) in str(error.value)
    assert "Refused" not in str(error.value)


# -- weights that do not fit --------------------------------------------------------------


@pytest.mark.parametrize(("other_arch", "first_missing"), [("resnet18", "conv1.weight"),
                                                           ("mlp", "1.weight")])
def test_weights_of_another_architecture_are_named_not_dumped(trained, other_arch,
                                                              first_missing):
    other = build_model(other_arch, 1, 10, 32)
    before = {k: v.clone() for k, v in other.state_dict().items()}

    with pytest.raises(CheckpointError, match="architecture 'lenet5'") as error:
        load_model_weights(other, trained[0].state_dict(), "lenet5")
    message = str(error.value)
    assert f"the model needs '{first_missing}', which the checkpoint lacks" in message
    assert "Error(s) in loading state_dict" not in message and len(message) < 400
    _assert_same(before, other.state_dict(), "the model untouched")


def test_weights_for_another_number_of_classes_name_the_key_and_shapes(trained):
    three_classes = build_model("lenet5", 1, 3, 32)
    with pytest.raises(CheckpointError, match="architecture 'lenet5'") as error:
        load_model_weights(three_classes, trained[0].state_dict(), "lenet5")
    assert "shape (10, 84) in the checkpoint but (3, 84) in the model" in str(error.value)


def test_a_checkpoint_of_an_unknown_architecture_cannot_build_a_model(saved):
    ckpt = load_checkpoint(saved)
    ckpt.config = ckpt.config.replace(arch="transformer-xl")
    with pytest.raises(CheckpointError, match="'transformer-xl'.*does not know"):
        build_model_from_checkpoint(ckpt)


@pytest.mark.parametrize("field, value", [("epoch", "many"), ("class_names", 7),
                                          ("config", {"epochs": "ten"}), ("input_size", None)])
def test_a_field_of_the_wrong_kind_is_a_clear_error(saved, tmp_path, field, value):
    payload = torch.load(saved, weights_only=True)
    if field == "config":
        payload["config"] = {**payload["config"], **value}
    else:
        payload[field] = value
    crafted = tmp_path / "crafted.pt"
    _save_sealed(payload, crafted)
    if field == "config":  # wrong types in the settings are caught by validation, not here
        assert load_checkpoint(crafted).config.problems()["epochs"]
        return
    with pytest.raises(CheckpointError, match="crafted.pt"):
        load_checkpoint(crafted)


def test_the_next_save_removes_temp_files_a_killed_save_left(tmp_path, trained):
    """A save killed with SIGKILL leaves `.checkpoint.pt.<hex>.tmp`; the next save in that
    folder removes it, but spares one that is still being written (touched recently)."""
    stale = tmp_path / ".checkpoint.pt.0badf00d.tmp"
    stale.write_bytes(b"PK\x03\x04 a save killed half-way")
    an_hour_ago = time.time() - 3600
    os.utime(stale, (an_hour_ago, an_hour_ago))
    in_progress = tmp_path / ".checkpoint.pt.5afe5afe.tmp"
    in_progress.write_bytes(b"PK\x03\x04 another process is writing this one")
    other_file = tmp_path / ".other.pt.0badf00d.tmp"
    other_file.write_bytes(b"not ours")
    os.utime(other_file, (an_hour_ago, an_hour_ago))

    save_checkpoint(tmp_path / "checkpoint.pt", _checkpoint(*trained))

    assert sorted(os.listdir(tmp_path)) == sorted(
        [".checkpoint.pt.5afe5afe.tmp", ".other.pt.0badf00d.tmp", "checkpoint.pt"])
