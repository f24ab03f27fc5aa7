"""Bare weights (a tutorial's `torch.save(model.state_dict())`) and pickles that hide code
in persistent ids."""

from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path

import pytest
import torch

from engine.catalog import network_channels
from engine.models.architectures import MODELS, build_model
from engine.models.weights_match import matching_networks
from engine.records.checkpoint import CheckpointError, build_model_from_checkpoint, load_checkpoint


def _save_state(model: torch.nn.Module, path: Path, prefix: str = "") -> Path:
    torch.save({prefix + k: v for k, v in model.state_dict().items()}, path)
    return path


def test_bare_weights_of_one_network_load_and_say_what_was_assumed(tmp_path):
    torch.manual_seed(0)
    original = build_model("mlp", 1, 10, 28).eval()
    ckpt = load_checkpoint(_save_state(original, tmp_path / "tutorial.pt"))

    assert (ckpt.config.arch, ckpt.in_channels, ckpt.input_size) == ("mlp", 1, 28)
    assert ckpt.class_names == tuple("0123456789") and ckpt.is_digits
    assert "Multilayer" in ckpt.assumed or "MLP" in ckpt.assumed
    assert "MNIST's normalisation (mean 0.1307, std 0.3081)" in ckpt.assumed
    assert "predictions will be wrong" in ckpt.assumed
    x = torch.rand(3, 1, 28, 28)
    rebuilt = build_model_from_checkpoint(ckpt)
    assert torch.equal(rebuilt(x), original(x))


def test_colour_weights_of_a_size_free_network_assume_cifar10(tmp_path):
    model = build_model("resnet18", 3, 10, 32)
    ckpt = load_checkpoint(_save_state(model, tmp_path / "resnet.pt", prefix="module."))
    assert ckpt.config.arch == "resnet18" and ckpt.in_channels == 3
    assert ckpt.class_names[0] == "airplane" and not ckpt.is_digits
    assert "any input size" in ckpt.assumed and "CIFAR-10's normalisation" in ckpt.assumed
    build_model_from_checkpoint(ckpt)  # the weights load into the network they were named


def test_weights_for_other_class_counts_get_numbered_classes(tmp_path):
    ckpt = load_checkpoint(_save_state(build_model("cifar-cnn", 3, 4, 32), tmp_path / "c.pt"))
    assert ckpt.class_names == ("class 1", "class 2", "class 3", "class 4")
    assert "classes numbered 1-4" in ckpt.assumed


class TutorialNet(torch.nn.Module):
    """The PyTorch tutorial's CIFAR network: layer names no TrainDesk network has."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 6, 5)
        self.fc1 = torch.nn.Linear(16 * 5 * 5, 10)


def test_bare_weights_of_an_unknown_network_say_how_to_use_them(tmp_path):
    path = _save_state(TutorialNet(), tmp_path / "cifar_net.pth")
    with pytest.raises(CheckpointError, match=r"bare PyTorch state_dict.*fit none of") as error:
        load_checkpoint(path)
    assert "'conv1.weight'" in str(error.value) and "script that defined" in str(error.value)


def test_weights_that_fit_two_networks_name_both(tmp_path):
    path = _save_state(build_model("lenet5-relu", 1, 10, 28), tmp_path / "lenet.pt")
    with pytest.raises(CheckpointError, match="cannot tell which") as error:
        load_checkpoint(path)
    assert "LeNet-5 (classic)" in str(error.value) and "28x28" in str(error.value)


def test_matching_builds_no_real_weights_and_finds_the_size():
    found = matching_networks(build_model("softmax", 3, 5, 64).state_dict())
    assert [(m.arch, m.in_channels, m.input_size, m.num_classes) for m in found] == [
        ("softmax", 3, 64, 5)]


# -- code hidden in persistent ids ----------------------------------------------------------


def _leave_marker(path: str) -> None:
    Path(path).write_text("ran")


class _RunsCode:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (_leave_marker, (str(self.marker),))


class _PersistentIdPickler(pickle.Pickler):
    """Puts an object that runs code inside the persistent id of every tensor storage."""

    def __init__(self, stream, marker: Path) -> None:
        super().__init__(stream, protocol=2)
        self.marker = marker

    def persistent_id(self, obj):
        if isinstance(obj, list) and obj == ["storage"]:
            return ("storage", _RunsCode(self.marker), "0", "cpu", 1)
        return None


def test_code_hidden_in_a_persistent_id_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "marker.txt"
    path = tmp_path / "checkpoint.pt"
    torch.save({"weight": torch.zeros(1)}, path)
    data = io.BytesIO()
    _PersistentIdPickler(data, marker).dump({"format": "traindesk-checkpoint",
                                             "model_state": ["storage"]})
    with zipfile.ZipFile(path) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    pickled = next(name for name in parts if name.endswith("data.pkl"))
    parts[pickled] = data.getvalue()
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in parts.items():
            archive.writestr(name, content)

    with pytest.raises(CheckpointError, match="Refused") as refused:
        load_checkpoint(path)
    assert "Nothing in it was run" in str(refused.value)
    assert not marker.exists()
    with pytest.raises(Exception):  # noqa: B017 - the unsafe load runs the code, then fails
        torch.load(path, weights_only=False)
    assert marker.read_text() == "ran"  # the file really is dangerous


@pytest.mark.parametrize("arch", sorted(MODELS))
def test_every_network_is_recognised_from_its_own_weights(arch):
    size = MODELS[arch].input_size or 28
    channels = network_channels(arch, 1)  # pretrained networks take colour only
    with torch.device("meta"):  # shapes only: nothing is allocated
        state = build_model(arch, channels, 7, size).state_dict()
    found = {(m.arch, m.in_channels, m.num_classes) for m in matching_networks(state)}
    assert (arch, channels, 7) in found
