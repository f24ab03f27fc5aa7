"""Trying a model on a person's own images: any file becomes the model's own input."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from engine.config import TrainConfig
from engine.inference import image_input
from engine.inference.image_input import (
    ImageInputError,
    InputRecipe,
    as_seen,
    image_tensor,
    read_image,
    to_model_input,
)
from engine.inference.image_trial import ImageFailure, ImageTrial, try_image, try_images
from engine.inference.predict import Predictor, preprocess_image
from engine.models.architectures import build_model
from engine.records.checkpoint import Checkpoint, load_checkpoint
from engine.resources import RESOURCES_DIR
from tools.sample_images import colour_pattern, photo_of_a_digit, write_image_kinds

BUNDLED = RESOURCES_DIR / "pretrained" / "digits-lenet5.pt"
CIFAR_MEAN, CIFAR_STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
FASHION = InputRecipe(channels=1, stored_size=28, input_size=32, mean=(0.286,),
                      std=(0.353,), is_digits=False)
CIFAR = InputRecipe(channels=3, stored_size=32, input_size=32, mean=CIFAR_MEAN,
                    std=CIFAR_STD, is_digits=False)
# A pretrained network's recipe, as fine-tuning on an image folder gives it.
IMAGENET = InputRecipe(channels=3, stored_size=224, input_size=224, mean=IMAGENET_MEAN,
                       std=IMAGENET_STD, is_digits=False)
DIGITS = InputRecipe(channels=1, stored_size=28, input_size=32, mean=(0.1307,),
                     std=(0.3081,), is_digits=True)
LETTERS = InputRecipe(channels=1, stored_size=28, input_size=28, mean=(0.17,), std=(0.33,),
                      is_digits=False, mnist_style=True)
OBJECTS = InputRecipe(channels=1, stored_size=28, input_size=28, mean=(0.286,), std=(0.353,),
                      is_digits=False, objects_on_black=True)
RECIPES = {"grey": FASHION, "cifar": CIFAR, "imagenet": IMAGENET, "digits": DIGITS,
           "letters": LETTERS, "objects": OBJECTS}


@pytest.fixture(scope="module")
def kinds(tmp_path_factory):
    return write_image_kinds(tmp_path_factory.mktemp("kinds"))


@pytest.fixture(scope="module")
def huge(tmp_path_factory):
    """An 8000x8000 JPEG photo of a digit and an 8000x8000 greyscale PNG."""
    folder = tmp_path_factory.mktemp("huge")
    photo = photo_of_a_digit(4).resize((8000, 8000), Image.Resampling.NEAREST)
    photo.save(folder / "huge.jpg", quality=85)
    Image.fromarray(np.tile(np.linspace(0, 255, 8000).astype(np.uint8), (8000, 1))).save(
        folder / "huge.png")
    return folder


def tiny_predictor(recipe: InputRecipe, classes: int = 4) -> Predictor:
    torch.manual_seed(0)
    model = nn.Sequential(nn.AdaptiveAvgPool2d(4), nn.Flatten(),
                          nn.Linear(recipe.channels * 16, classes))
    return Predictor(model, class_names=[f"class {i}" for i in range(classes)],
                     mean=recipe.mean, std=recipe.std, input_size=recipe.input_size,
                     in_channels=recipe.channels)


def checkpoint(arch: str, dataset: str, in_channels: int, input_size: int, mean, std,
               is_digits: bool) -> Checkpoint:
    model = build_model(arch, in_channels, 10, input_size)
    return Checkpoint(config=TrainConfig(arch=arch, dataset=dataset),
                      model_state=model.state_dict(), optimizer_state=None,
                      scheduler_state=None, scaler_state=None, epoch=1, history=[],
                      class_names=tuple(str(i) for i in range(10)), mean=mean, std=std,
                      in_channels=in_channels, input_size=input_size, is_digits=is_digits)


# --- the recipe comes from the checkpoint -------------------------------------------------


def test_the_recipe_is_read_from_the_checkpoint():
    bundled = load_checkpoint(BUNDLED)
    assert InputRecipe.from_checkpoint(bundled) == InputRecipe(
        channels=1, stored_size=28, input_size=32, mean=bundled.mean, std=bundled.std,
        is_digits=True, mnist_style=True)
    cifar = InputRecipe.from_checkpoint(checkpoint("cifar-cnn", "cifar10", 3, 32, CIFAR_MEAN,
                                                   CIFAR_STD, False))
    assert cifar == CIFAR
    # An image folder is stored at the network's size: a 64-pixel folder run reads 64x64.
    folder = InputRecipe.from_checkpoint(checkpoint("cifar-cnn", "folder", 3, 64,
                                                    (0.5,) * 3, (0.25,) * 3, False))
    assert (folder.stored_size, folder.input_size, folder.mean) == (64, 64, (0.5,) * 3)
    # A dataset this version does not know (a newer TrainDesk's) is read at the input size.
    newer = InputRecipe.from_checkpoint(checkpoint("cifar-cnn", "stl10", 3, 96, (0.4,) * 3,
                                                   (0.2,) * 3, False))
    assert (newer.stored_size, newer.input_size) == (96, 96)


def test_handwriting_datasets_get_mnists_treatment_and_only_digits_are_judged_as_digits():
    letters = InputRecipe.from_checkpoint(checkpoint("lenet5", "emnist-letters", 1, 32,
                                                     (0.17,), (0.33,), False))
    assert letters.handwriting and not letters.is_digits
    fashion = InputRecipe.from_checkpoint(checkpoint("lenet5", "fashion-mnist", 1, 32,
                                                     (0.29,), (0.35,), False))
    assert not fashion.handwriting
    # A photo of dark writing on paper: inverted, cropped and centred as MNIST's.
    photo = photo_of_a_digit(7)
    seen = as_seen(to_model_input(read_image(photo), letters).tensor, letters)
    assert np.median(seen) == 0 and seen.max() == 255
    cifar = InputRecipe.from_checkpoint(checkpoint("cifar-cnn", "cifar10", 3, 32,
                                                   CIFAR_MEAN, CIFAR_STD, False))
    squashed = as_seen(to_model_input(read_image(photo), cifar).tensor, cifar)
    assert np.median(squashed) > 200  # light paper stays light for a photo model
    # A filled square is no digit, but a letters model does not judge digits.
    blob = np.full((200, 200), 230, np.uint8)
    blob[40:160, 40:160] = 20
    assert to_model_input(Image.fromarray(blob), letters, "square.png").note == ""
    blank = to_model_input(Image.new("L", (50, 50), 200), letters, "blank.png")
    assert "No writing found in blank.png" in blank.note


def test_a_fashion_model_sees_a_product_photo_on_white_as_an_object_on_black():
    fashion = InputRecipe.from_checkpoint(checkpoint("lenet5", "fashion-mnist", 1, 28,
                                                     (0.29,), (0.35,), False))
    assert fashion.objects_on_black and not fashion.handwriting
    photo = np.full((300, 400), 245, np.uint8)  # a white backdrop
    photo[100:200, 50:250] = 60  # a dark bag, twice as wide as high, off-centre
    seen = as_seen(to_model_input(Image.fromarray(photo), fashion).tensor, fashion)
    assert seen.shape == (28, 28)
    assert seen[0].max() <= 1 and seen[-1].max() <= 1  # a black background, as in training
    rows = np.flatnonzero(seen.max(axis=1) > 128)
    cols = np.flatnonzero(seen.max(axis=0) > 128)
    assert (cols[0], cols[-1]) == (0, 27)  # fitted to the frame's width, centred
    assert abs(rows.mean() - 13.5) <= 0.5 and 13 <= len(rows) <= 15
    # The dark bag now light, as Fashion-MNIST's: its contrast with the backdrop kept.
    assert abs(int(seen[14, 14]) - round((245 - 60) / 245 * 255)) <= 2
    plain = to_model_input(Image.new("L", (20, 20), 240), fashion, "wall.png")
    assert "No object found in wall.png" in plain.note


def test_a_pretrained_colour_network_on_a_grey_dataset_gets_the_grey_treatment_repeated():
    """A network pretrained on ImageNet takes 3 channels; fine-tuned on Fashion-MNIST or
    MNIST it was fed their grey images repeated into the 3 (and ImageNet's mean/std)."""
    photo = np.full((300, 400), 245, np.uint8)
    photo[100:200, 50:250] = 60
    for dataset, source in [("fashion-mnist", Image.fromarray(photo)),
                            ("mnist", photo_of_a_digit(7))]:
        recipe = InputRecipe.from_checkpoint(checkpoint("cifar-cnn", dataset, 3, 224,
                                                        IMAGENET_MEAN, IMAGENET_STD, False))
        seen = as_seen(to_model_input(read_image(source), recipe).tensor, recipe)
        assert seen.shape == (224, 224, 3)
        assert abs(seen.astype(int)[..., 0] - seen[..., 2]).max() <= 1  # grey, repeated
        assert seen[0].max() <= 1 and seen[112].max() >= 150  # light on black


def test_a_recipe_that_cannot_work_is_refused():
    with pytest.raises(ValueError, match="1 \\(grey\\) or 3"):
        InputRecipe(channels=2, stored_size=28, input_size=28, mean=(0, 0), std=(1, 1),
                    is_digits=False)
    with pytest.raises(ValueError, match="one std value per channel"):
        InputRecipe(channels=3, stored_size=28, input_size=28, mean=(0,), std=(1, 1),
                    is_digits=False)


# --- every kind of image predicts ---------------------------------------------------------


@pytest.mark.parametrize("recipe_name", RECIPES)
@pytest.mark.parametrize("kind", ["rgb.png", "rgba.png", "grey.jpg", "grey16.png",
                                  "palette.gif", "cmyk.jpg", "tiny.png"])
def test_every_kind_of_image_predicts_with_the_models_shape_and_range(kinds, kind,
                                                                      recipe_name):
    recipe = RECIPES[recipe_name]
    x = image_tensor(kinds[kind], recipe)
    size = recipe.input_size
    assert x.shape == (1, recipe.channels, size, size) and x.dtype == torch.float32
    # Normalised as training normalises 0..1 pixels: within (0 - mean)/std .. (1 - mean)/std.
    mean = torch.tensor(recipe.mean).view(1, -1, 1, 1)
    std = torch.tensor(recipe.std).view(1, -1, 1, 1)
    assert ((x >= -mean / std - 1e-5) & (x <= (1 - mean) / std + 1e-5)).all()
    trial = try_image(tiny_predictor(recipe), recipe, kinds[kind])
    assert trial.probabilities.shape == (4,)
    assert trial.probabilities.sum() == pytest.approx(1.0, abs=1e-5)
    assert trial.seen.shape == ((size, size) if recipe.channels == 1 else (size, size, 3))
    assert trial.seen.dtype == np.uint8 and trial.thumbnail.shape[2] == 3
    assert trial.name == kind


def test_a_colour_image_is_normalised_with_the_datasets_mean_and_std(kinds):
    x = image_tensor(kinds["rgb.png"], CIFAR)
    red = (torch.tensor([220, 30, 30]) / 255 - torch.tensor(CIFAR_MEAN)) / torch.tensor(
        CIFAR_STD)
    torch.testing.assert_close(x[0, :, 16, 2], red, atol=1e-4, rtol=0)
    # What the person is shown is the tensor de-normalised: the picture's own colours.
    seen = as_seen(x, CIFAR)
    assert tuple(seen[16, 2]) == (220, 30, 30) and tuple(seen[16, 29]) == (30, 30, 220)


def test_a_224_imagenet_model_gets_a_224_input_normalised_its_way(kinds):
    x = image_tensor(kinds["rgb.png"], IMAGENET)
    assert x.shape == (1, 3, 224, 224)
    blue = (torch.tensor([30, 30, 220]) / 255 - torch.tensor(IMAGENET_MEAN)) / torch.tensor(
        IMAGENET_STD)
    torch.testing.assert_close(x[0, :, 100, 200], blue, atol=1e-4, rtol=0)


def test_a_grey_model_reads_colour_as_its_dataset_greys_it(kinds):
    seen = as_seen(image_tensor(kinds["rgb.png"], FASHION), FASHION)
    assert seen.shape == (32, 32)
    luma = round(0.299 * 220 + 0.587 * 30 + 0.114 * 30)  # PIL's convert("L")
    assert abs(int(seen[16, 2]) - luma) <= 1


def test_transparency_is_composited_on_white(kinds):
    seen = as_seen(image_tensor(kinds["rgba.png"], CIFAR), CIFAR)
    assert tuple(seen[1, 1]) == (255, 255, 255)  # transparent corner
    assert tuple(seen[16, 12]) == (220, 30, 30)  # the opaque red patch


def test_sixteen_bit_grey_keeps_its_range_even_when_dark():
    dark = Image.fromarray(np.full((8, 8), 600, np.uint16))  # 1% of 16 bits' range
    buffer = io.BytesIO()
    dark.save(buffer, format="PNG")
    assert Image.open(io.BytesIO(buffer.getvalue())).mode == "I;16"
    image = read_image(buffer.getvalue())
    assert image.mode == "L" and np.asarray(image).max() == round(600 / 65535 * 255)


def test_exif_orientation_makes_a_phone_photo_upright():
    pixels = colour_pattern((64, 48))  # red left, blue right
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was turned: show it rotated 90 degrees clockwise
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", exif=exif.tobytes(), quality=95)
    image = read_image(buffer.getvalue(), "phone.jpg")
    assert image.size == (48, 64)
    top, bottom = np.asarray(image)[2, 24], np.asarray(image)[-3, 24]
    assert top[0] > 150 > top[2] and bottom[2] > 150 > bottom[0]  # red on top now


def test_a_huge_jpeg_is_decoded_small(huge):
    image = read_image(huge / "huge.jpg")
    assert max(image.size) <= image_input.WORKING_SIDE
    x = image_tensor(huge / "huge.jpg", CIFAR)
    assert x.shape == (1, 3, 32, 32)


def test_a_huge_png_is_shrunk_and_predicts(huge):
    image = read_image(huge / "huge.png")
    assert image.size == (image_input.WORKING_SIDE,) * 2
    trial = try_image(tiny_predictor(FASHION), FASHION, huge / "huge.png")
    assert trial.seen.shape == (32, 32)
    assert trial.seen[:, 0].mean() < 30 and trial.seen[:, -1].mean() > 225  # the ramp


def test_an_image_too_large_to_decode_is_refused_with_its_name(monkeypatch, kinds):
    monkeypatch.setattr(image_input, "MAX_PIXELS", 1000)
    with pytest.raises(ImageInputError, match="rgb.png is 64x48 pixels.*smaller copy"):
        read_image(kinds["rgb.png"])
    # Twice PIL's own limit: PIL refuses it on opening.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(ImageInputError, match="rgb.png is too large to decode safely .*"
                                              "smaller copy"):
        read_image(kinds["rgb.png"])


# --- digit models read a photo of a digit as MNIST was made -------------------------------


def test_a_digit_model_inverts_crops_and_centres_a_photo_of_a_digit():
    photo = photo_of_a_digit(7)
    ckpt = load_checkpoint(BUNDLED)
    recipe = InputRecipe.from_checkpoint(ckpt)
    ready = to_model_input(read_image(photo), recipe)
    assert ready.note == ""
    seen = as_seen(ready.tensor, recipe).astype(np.float32) / 255
    assert np.median(seen) == 0 and seen[0].max() == 0  # white ink on black, as MNIST
    rows, cols = np.indices(seen.shape)
    mass = seen.sum()
    centre = ((rows * seen).sum() / mass, (cols * seen).sum() / mass)
    assert abs(centre[0] - 16) < 1.5 and abs(centre[1] - 16) < 1.5
    # The same steps as a drawing: MNIST's form, then the training batch's resize.
    expected = preprocess_image(np.asarray(photo))
    expected_input = Predictor.from_checkpoint(ckpt).model_input(expected)
    torch.testing.assert_close(ready.tensor, expected_input)


@pytest.mark.parametrize("digit", [2, 4, 7])
def test_the_bundled_digit_model_reads_photos_of_digits(digit):
    ckpt = load_checkpoint(BUNDLED)
    trial = try_image(Predictor.from_checkpoint(ckpt), InputRecipe.from_checkpoint(ckpt),
                      photo_of_a_digit(digit), "photo.png")
    assert trial.ranked(1) == [ckpt.class_names.index(str(digit))]


def test_a_digit_model_reads_a_huge_photo_of_a_digit(huge):
    ckpt = load_checkpoint(BUNDLED)
    trial = try_image(Predictor.from_checkpoint(ckpt), InputRecipe.from_checkpoint(ckpt),
                      huge / "huge.jpg")
    assert ckpt.class_names[trial.ranked(1)[0]] == "4"


def test_an_image_with_no_digit_is_read_as_it_is_and_says_so(kinds):
    ready = to_model_input(read_image(kinds["tiny.png"]), DIGITS, "tiny.png")
    assert "No digit found in tiny.png" in ready.note
    seen = as_seen(ready.tensor, DIGITS)
    luma = round(0.299 * 90 + 0.587 * 160 + 0.114 * 40)
    assert abs(int(seen.mean()) - luma) <= 1  # the pixel's grey, not inverted


def test_a_digit_model_says_when_an_image_is_no_digit():
    blob = np.full((200, 200), 230, np.uint8)
    blob[40:160, 40:160] = 20  # a filled square
    ready = to_model_input(Image.fromarray(blob), DIGITS, "square.png")
    assert "square.png does not look like a single digit" in ready.note


# --- what cannot be read says so, naming the file -----------------------------------------


def test_a_file_that_is_no_image_gives_a_message_naming_it(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("not a picture")
    with pytest.raises(ImageInputError, match="notes.txt is not an image TrainDesk can read. "
                                              "Open a PNG, JPEG"):
        read_image(notes)


def test_a_damaged_missing_or_folder_path_gives_a_message_naming_it(tmp_path, kinds):
    cut = tmp_path / "cut.png"
    cut.write_bytes(kinds["rgb.png"].read_bytes()[:60])
    with pytest.raises(ImageInputError, match="cut.png cannot be read as an image .*damaged"):
        read_image(cut)
    with pytest.raises(ImageInputError, match="gone.png does not exist"):
        read_image(tmp_path / "gone.png")
    with pytest.raises(ImageInputError, match="is a folder, not an image"):
        read_image(tmp_path)


def test_one_bad_file_among_several_loses_none_of_the_others(tmp_path, kinds):
    notes = tmp_path / "notes.txt"
    notes.write_text("not a picture")
    sources = [("rgb.png", kinds["rgb.png"]), ("notes.txt", notes),
               ("tiny.png", kinds["tiny.png"])]
    results = try_images(tiny_predictor(CIFAR), CIFAR, sources)
    assert [type(r) for r in results] == [ImageTrial, ImageFailure, ImageTrial]
    assert [r.name for r in results] == ["rgb.png", "notes.txt", "tiny.png"]
    assert "notes.txt is not an image" in results[1].message


def test_a_pasted_picture_as_pixels_predicts():
    trial = try_image(tiny_predictor(CIFAR), CIFAR, colour_pattern())
    assert trial.name == "the pasted image"
    assert tuple(trial.seen[16, 2]) == (220, 30, 30)


def test_a_tiny_images_thumbnail_is_enlarged_and_a_huge_ones_shrunk(kinds, huge):
    predictor = tiny_predictor(CIFAR)
    assert try_image(predictor, CIFAR, kinds["tiny.png"]).thumbnail.shape == (48, 48, 3)
    assert try_image(predictor, CIFAR, kinds["rgb.png"]).thumbnail.shape == (36, 48, 3)
    assert try_image(predictor, CIFAR, huge / "huge.png").thumbnail.shape == (48, 48, 3)


def test_floating_point_grey_is_read_on_its_zero_to_one_scale(tmp_path):
    values = np.full((20, 30), 0.5, dtype=np.float32)
    values[:, 15:] = 1.0
    Image.fromarray(values).save(tmp_path / "float.tif")
    assert Image.open(tmp_path / "float.tif").mode == "F"
    pixels = np.asarray(read_image(tmp_path / "float.tif"))
    assert pixels[10, 2] == 128 and pixels[10, 28] == 255

