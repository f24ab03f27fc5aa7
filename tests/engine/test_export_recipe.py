"""The sidecar's recipe (engine/inference/export_recipe.py): an image prepared as it says gives an
exported model the app's own input, so the file answers what the app answers."""

from __future__ import annotations

import dataclasses
import json
import warnings

import numpy as np
import pytest
import torch
from PIL import Image, ImageOps

from engine.config import TrainConfig
from engine.inference.export import export_model
from engine.inference.image_input import InputRecipe, image_tensor
from engine.inference.predict import Predictor
from engine.records.checkpoint import load_checkpoint
from engine.training.trainer import Trainer
from tools.sample_images import write_image_kinds, write_shape_photos

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:FutureWarning")


def sidecar_prepare(sidecar_file):
    """The sidecar's `prepare`, run as written: an image file -> (1, C, S, S) float32."""
    namespace: dict = {}
    exec(json.loads(sidecar_file.read_text())["prepare"]["python"], namespace)  # noqa: S102
    return namespace["prepare"]


@pytest.fixture(scope="module")
def shapes_model(tmp_path_factory):
    """A small CNN trained for 2 epochs on a folder of full-size pictures of shapes."""
    root = tmp_path_factory.mktemp("shapes")
    photos = write_shape_photos(root / "photos", per_class=12, seed=0)
    config = TrainConfig(arch="cifar-cnn", dataset="folder", data_dir=str(photos), epochs=2,
                         batch_size=16, lr=3e-3, device="cpu", seed=0, threads=1)
    end = Trainer(config, run_dir=root / "run").run(lambda event: None)
    assert end.checkpoint_path is not None, end.message
    return load_checkpoint(end.checkpoint_path)


@pytest.fixture(scope="module")
def trial_images(tmp_path_factory):
    """Full-size images the model never saw: shapes of many sizes (EXIF-rotated JPEGs among
    them), one larger than the app's working size, and a file of every kind."""
    root = tmp_path_factory.mktemp("trial")
    files = sorted(p for p in write_shape_photos(root / "shapes", per_class=10, seed=1)
                   .rglob("*") if p.is_file())
    big = root / "big.jpg"
    Image.fromarray(np.random.default_rng(2).integers(0, 256, (900, 1300, 3), dtype=np.uint8)
                    ).save(big)
    return [*files, big, *write_image_kinds(root / "kinds").values()]


def app_answers(ckpt, files) -> np.ndarray:
    predictor, recipe = Predictor.from_checkpoint(ckpt), InputRecipe.from_checkpoint(ckpt)
    return np.stack([predictor.predict_input(image_tensor(f, recipe)) for f in files])


def exported_runner(ckpt, tmp_path, fmt):
    result = export_model(ckpt, tmp_path / f"model.{fmt}", fmt)
    if fmt == "onnx":
        session = pytest.importorskip("onnxruntime").InferenceSession(
            str(result.path), providers=["CPUExecutionProvider"])
        return result, lambda x: session.run(None, {"images": x})[0][0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        loaded = torch.jit.load(str(result.path))
    return result, lambda x: loaded(torch.from_numpy(x)).detach().numpy()[0]


@pytest.mark.parametrize("fmt", ["torchscript", "onnx"])
def test_following_the_sidecar_gives_the_apps_answers_on_full_size_images(
        shapes_model, trial_images, tmp_path, fmt):
    if fmt == "onnx":
        pytest.importorskip("onnxscript", reason="the onnx extra is not installed")
    result, run = exported_runner(shapes_model, tmp_path, fmt)
    prepare = sidecar_prepare(result.sidecar)

    got = np.stack([run(prepare(str(f))) for f in trial_images])
    want = app_answers(shapes_model, trial_images)

    agreement = (got.argmax(1) == want.argmax(1)).mean()
    assert agreement == 1.0, f"top-1 agrees on {agreement:.1%} of {len(trial_images)} images"
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_full_size_images_fed_whole_get_nearly_the_apps_answers(shapes_model, trial_images,
                                                                 tmp_path):
    """The file shrinks an image with an antialiased filter, as the app's Pillow does."""
    _result, run = exported_runner(shapes_model, tmp_path, "torchscript")
    shapes = [f for f in trial_images if f.parent.parent.name == "shapes"]

    def whole(file):
        with Image.open(file) as image:
            pixels = np.asarray(ImageOps.exif_transpose(image).convert("RGB"), np.float32)
        return (pixels / 255).transpose(2, 0, 1)[None].copy()

    got = np.stack([run(whole(f)) for f in shapes])
    want = app_answers(shapes_model, shapes)

    assert np.abs(got - want).max() < 0.02  # a grey level's difference here and there
    assert (got.argmax(1) == want.argmax(1)).mean() >= 0.95


@pytest.mark.parametrize("channels", [1, 3])
def test_the_recipe_makes_the_apps_pixels_from_every_kind_of_file(shapes_model, trial_images,
                                                                 channels):
    from engine.inference.export_recipe import prepare_recipe

    ckpt = shapes_model
    if channels == 1:  # the same network as if trained on greyscale images
        ckpt = dataclasses.replace(ckpt, in_channels=1, mean=(0.5,), std=(0.25,))
    recipe = InputRecipe.from_checkpoint(ckpt)
    namespace: dict = {}
    exec(prepare_recipe(ckpt)["python"], namespace)  # noqa: S102
    mean = torch.tensor(recipe.mean).view(1, -1, 1, 1)
    std = torch.tensor(recipe.std).view(1, -1, 1, 1)
    for file in trial_images:
        app = image_tensor(file, recipe) * std + mean  # the app's pixels, 0..1
        np.testing.assert_allclose(namespace["prepare"](str(file)), app.numpy(), atol=1e-6,
                                   err_msg=file.name)


def test_the_sidecar_says_how_to_resize_in_words(shapes_model, tmp_path):
    result = export_model(shapes_model, tmp_path / "m.pt", "torchscript")
    prepare = json.loads(result.sidecar.read_text())["prepare"]
    side = shapes_model.input_size
    assert prepare["size"] == [side, side] and prepare["resize_first"] is True
    assert "BILINEAR" in prepare["resampling"] and "antialiased" in prepare["resampling"]
    assert prepare["crop"].startswith("none") and prepare["channels"].startswith("RGB")
    assert any("thumbnail((768, 768)" in step for step in prepare["steps"])
