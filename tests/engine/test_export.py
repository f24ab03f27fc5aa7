"""engine.inference.export: models to TorchScript and ONNX, read back by their own loaders,
predicting what the app predicts for the same images."""

from __future__ import annotations

import builtins
import json

import numpy as np
import pytest
import torch

from engine.catalog import ARCHITECTURES
from engine.config import TrainConfig
from engine.data.pipeline import BatchPipeline
from engine.data.types import ImageDataset
from engine.inference.export import (
    ExportError,
    default_export_path,
    export_model,
    export_onnx,
    export_torchscript,
    sidecar_path,
)
from engine.inference.predict import Predictor
from engine.models.architectures import build_model, input_size_for
from engine.records.checkpoint import Checkpoint, load_checkpoint
from engine.resources import RESOURCES_DIR

BUNDLED = RESOURCES_DIR / "pretrained" / "digits-lenet5.pt"
# TorchScript is deprecated in PyTorch 2.14 in favour of torch.export; still supported.
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:FutureWarning")
CIFAR10 = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
           "truck")
PROBABILITY_TOLERANCE = 1e-5
DIGITS_SHAPE = (1, 28, "mnist-sample")  # channels, stored size, dataset id
PHOTOS_SHAPE = (3, 32, "cifar10")


def checkpoint_for(arch: str, channels: int, size: int, dataset: str, seed: int = 0,
                   classes: tuple[str, ...] | None = None) -> Checkpoint:
    """A freshly initialised model with its last layer scaled up, so its probabilities are far
    from uniform and a wrong export would show."""
    classes = classes or (tuple(str(d) for d in range(10)) if channels == 1 else CIFAR10)
    input_size = input_size_for(arch, size)
    torch.manual_seed(seed)
    model = build_model(arch, channels, len(classes), input_size)
    with torch.no_grad():
        last = [m for m in model.modules() if isinstance(m, torch.nn.Linear | torch.nn.Conv2d)]
        last[-1].weight.mul_(20)
    mean, std = ((0.1307,), (0.3081,)) if channels == 1 else ((0.49, 0.48, 0.45),
                                                              (0.25, 0.24, 0.26))
    return Checkpoint(config=TrainConfig(arch=arch, dataset=dataset),
                      model_state=model.state_dict(), optimizer_state=None, scheduler_state=None,
                      scaler_state=None, epoch=1,
                      history=[{"epoch": 1, "test_acc": 0.5}], class_names=classes, mean=mean,
                      std=std, in_channels=channels, input_size=input_size,
                      is_digits=channels == 1)


def images_like(ckpt: Checkpoint, count: int = 12, seed: int = 0) -> torch.Tensor:
    """uint8 (N, C, S, S) images at the dataset's stored size: blobs of ink, not noise."""
    size = 28 if ckpt.in_channels == 1 else 32
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(count, ckpt.in_channels, 5, 5, generator=g)
    smooth = torch.nn.functional.interpolate(coarse, size=(size, size), mode="bicubic")
    return (smooth.clamp(0, 1) * 255).round().to(torch.uint8)


def app_probabilities(ckpt: Checkpoint, images: torch.Tensor) -> np.ndarray:
    """What the app computes: its batch pipeline (as for the test set), then the model."""
    data = ImageDataset(name=ckpt.config.dataset, train_images=images, train_labels=torch.zeros(
        len(images), dtype=torch.long), test_images=images, test_labels=torch.zeros(
        len(images), dtype=torch.long), class_names=ckpt.class_names, mean=ckpt.mean,
        std=ckpt.std, hflip_ok=False, is_digits=ckpt.is_digits)
    pipeline = BatchPipeline(data, ckpt.input_size, torch.device("cpu"))
    predictor = Predictor.from_checkpoint(ckpt)
    with torch.no_grad():
        return torch.softmax(predictor.model(pipeline(images)), dim=1).numpy()


def assert_same_predictions(got: np.ndarray, want: np.ndarray) -> None:
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, atol=PROBABILITY_TOLERANCE)
    # The same class wherever the model's top two are not a near tie.
    top2 = np.sort(want, axis=1)[:, -2:]
    clear = top2[:, 1] - top2[:, 0] > 10 * PROBABILITY_TOLERANCE
    assert clear.sum() >= len(want) // 2
    assert (got.argmax(1)[clear] == want.argmax(1)[clear]).all()


# Every architecture on 1-channel digits; colour photos (3 channels, batch norm) on a few,
# and on one pretrained network (which takes colour only, at 224x224).
TORCHSCRIPT_CASES = [(arch, DIGITS_SHAPE) for arch, info in ARCHITECTURES.items()
                     if not info.pretrained] + [
    (arch, PHOTOS_SHAPE) for arch in ("cifar-cnn", "vgg11", "resnet18",
                                      "mobilenet-v3-small-imagenet")]


@pytest.mark.parametrize(("arch", "shape"), TORCHSCRIPT_CASES,
                         ids=[f"{arch}-{shape[2]}" for arch, shape in TORCHSCRIPT_CASES])
def test_every_architecture_exports_to_torchscript_and_predicts_like_the_app(tmp_path, arch,
                                                                             shape):
    ckpt = checkpoint_for(arch, *shape)
    result = export_torchscript(ckpt, tmp_path / "model.pt")
    loaded = torch.jit.load(str(result.path))
    images = images_like(ckpt)
    with torch.no_grad():
        got = loaded(images.float() / 255).numpy()
    assert_same_predictions(got, app_probabilities(ckpt, images))
    assert result.bytes == result.path.stat().st_size > 0


def test_a_drawn_digit_gets_the_draw_tabs_probabilities(tmp_path):
    ckpt = load_checkpoint(BUNDLED)
    loaded = torch.jit.load(str(export_torchscript(ckpt, tmp_path / "digits.pt").path))
    predictor = Predictor.from_checkpoint(ckpt)
    digits = images_like(ckpt, count=8, seed=5).float() / 255
    for digit in digits:
        want = predictor.predict(digit[0].numpy())
        with torch.no_grad():
            got = loaded(digit[None]).numpy()[0]
        np.testing.assert_allclose(got, want, atol=PROBABILITY_TOLERANCE)


def test_the_sidecar_records_classes_normalisation_input_and_architecture(tmp_path):
    ckpt = checkpoint_for("cifar-cnn", *PHOTOS_SHAPE)
    result = export_torchscript(ckpt, tmp_path / "photos.pt")
    assert result.sidecar == tmp_path / "photos.pt.json" == sidecar_path(result.path)
    info = json.loads(result.sidecar.read_text())
    assert info["format"] == "torchscript" and info["file"] == "photos.pt"
    assert info["class_names"] == list(CIFAR10)
    assert info["architecture"] == "cifar-cnn" and info["architecture_title"] == "Small CNN"
    assert info["dataset_title"] == "CIFAR-10"
    assert info["normalisation"] == {"mean": [0.49, 0.48, 0.45], "std": [0.25, 0.24, 0.26],
                                     "applied_inside": True}
    assert info["input"]["channels"] == 3 and info["input"]["image_size"] == 32
    assert info["input"]["value_range"] == [0.0, 1.0] and info["input"]["layout"] == "NCHW"
    assert info["output"]["shape"] == ["N", 10]
    assert "do not normalise" in info["preprocessing"]
    assert "MNIST" not in info["preprocessing"]  # photos, not digits
    digits = json.loads(export_torchscript(load_checkpoint(BUNDLED),
                                           tmp_path / "d.pt").sidecar.read_text())
    assert "centre of mass" in digits["preprocessing"]
    assert digits["input"]["image_size"] == 28 and digits["input"]["network_input_size"] == 32


def test_the_exported_model_takes_any_image_size_and_batch(tmp_path):
    ckpt = checkpoint_for("lenet5-relu", *DIGITS_SHAPE)
    loaded = torch.jit.load(str(export_torchscript(ckpt, tmp_path / "m.pt").path))
    for shape in ((1, 1, 28, 28), (5, 1, 40, 33), (3, 1, 32, 32)):
        out = loaded(torch.rand(shape))
        assert out.shape == (shape[0], 10)
        assert torch.allclose(out.sum(1), torch.ones(shape[0]), atol=1e-5)


def test_default_paths_sit_beside_the_checkpoint(tmp_path):
    assert default_export_path(tmp_path / "run" / "checkpoint.pt", "torchscript") == (
        tmp_path / "run" / "checkpoint.torchscript.pt")
    assert default_export_path(tmp_path / "run" / "checkpoint.pt", "onnx") == (
        tmp_path / "run" / "checkpoint.onnx")


def test_an_unknown_format_or_an_unwritable_folder_is_said(tmp_path):
    ckpt = checkpoint_for("softmax", *DIGITS_SHAPE)
    with pytest.raises(ExportError, match="Unknown export format 'keras'.*torchscript, onnx"):
        export_model(ckpt, tmp_path / "m.keras", "keras")
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(ExportError, match="Could not write .*another folder"):
        export_torchscript(ckpt, blocker / "m.pt")
    assert list(tmp_path.iterdir()) == [blocker]  # nothing half-written left


def test_onnx_without_its_packages_says_how_to_install_them(tmp_path, monkeypatch):
    real_import = builtins.__import__

    def no_onnx(name, *args, **kwargs):
        if name.split(".")[0] in ("onnx", "onnxscript"):
            raise ImportError(f"No module named '{name}'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_onnx)
    with pytest.raises(ExportError, match=r'pip install "traindesk\[onnx\]"'):
        export_onnx(checkpoint_for("softmax", *DIGITS_SHAPE), tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


ONNX_ARCHS = ["lenet5-relu", "mlp", "resnet18", "googlenet"]


@pytest.mark.parametrize("arch", ONNX_ARCHS)
def test_onnx_exports_pass_the_checker_and_run_in_onnxruntime_like_the_app(tmp_path, arch):
    import onnx  # the test extra installs the onnx extra's packages
    import onnxruntime

    shape = DIGITS_SHAPE if arch in ("lenet5-relu", "mlp") else PHOTOS_SHAPE
    ckpt = checkpoint_for(arch, *shape)
    result = export_onnx(ckpt, tmp_path / "model.onnx")
    onnx.checker.check_model(str(result.path), full_check=True)
    assert not list(tmp_path.glob("*.data"))  # the weights are inside the one file
    session = onnxruntime.InferenceSession(str(result.path),
                                           providers=["CPUExecutionProvider"])
    images = images_like(ckpt)
    [got] = session.run(["probabilities"], {"images": images.numpy().astype(np.float32) / 255})
    assert_same_predictions(got, app_probabilities(ckpt, images))
    info = json.loads(result.sidecar.read_text())
    assert info["format"] == "onnx" and info["onnx_opset"] >= 17
