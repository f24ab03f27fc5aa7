"""Drawings -> MNIST-style 28x28 digits -> model inputs -> probabilities."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from engine.config import TrainConfig
from engine.data.idx import read_idx
from engine.inference.predict import Predictor, preprocess_image, render_strokes
from engine.models.architectures import build_model
from engine.records.checkpoint import Checkpoint
from engine.resources import RESOURCES_DIR

SAMPLE_DIR = RESOURCES_DIR / "mnist-sample"


def _arc(cx, cy, rx, ry, start_deg, end_deg, n=24):
    t = np.radians(np.linspace(start_deg, end_deg, n))
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], axis=1)  # y points down


# Each digit as a person might draw it, in a 10 x 16 box (y down).
DIGITS = {
    0: [_arc(5, 8, 4.5, 7.5, -90, 270, 48)],
    1: [np.array([[2.5, 3], [5, 0], [5, 16]])],
    2: [np.concatenate([_arc(5, 4.5, 4.5, 4.5, 200, 400, 20), [[0, 16], [10, 16]]])],
    3: [np.concatenate([_arc(4.5, 4, 4.5, 4, 200, 450, 20), _arc(4.5, 12, 5, 4, -90, 160)])],
    4: [np.array([[7, 0], [0, 11], [10, 11]]), np.array([[7, 5], [7, 16]])],
    5: [np.concatenate([[[9, 0], [1.5, 0], [1, 7]], _arc(5, 11, 5, 5, -120, 150)])],
    6: [np.concatenate([_arc(5, 11.5, 4.5, 4.5, 180, 540, 32)[::-1], [[1, 9], [7, 0]]])],
    7: [np.array([[0, 0], [10, 0], [4, 16]])],
    8: [np.concatenate([_arc(5, 4, 4, 4, 90, 450, 32), _arc(5, 12, 4.5, 4, -90, 270, 32)])],
    9: [np.concatenate([_arc(5, 4.5, 4.5, 4.5, 0, 360, 32), [[9.5, 4.5], [9, 16]]])],
}
CANVAS = (400.0, 400.0)


def drawn(digit: int, scale: float, offset: tuple[float, float]) -> np.ndarray:
    """The digit drawn with a mouse: scaled, moved, at whole canvas pixels."""
    strokes = [np.round(points * scale + offset) for points in DIGITS[digit]]
    image = render_strokes(strokes, canvas_size=CANVAS)
    assert image is not None
    digit28 = preprocess_image(image)
    assert digit28 is not None
    return digit28


def mean_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).mean())


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    rows, cols = np.indices(image.shape)
    mass = image.sum()
    return float((rows * image).sum() / mass), float((cols * image).sum() / mass)


def ink_box(image: np.ndarray, threshold: float) -> tuple[int, int]:
    rows = np.flatnonzero((image > threshold).any(axis=1))
    cols = np.flatnonzero((image > threshold).any(axis=0))
    return int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)


def stroke_width(image: np.ndarray) -> float:
    """Area / half the perimeter (perimeter as total variation): a thin stroke's width."""
    padded = np.pad(image, 1)
    perimeter = np.abs(np.diff(padded, axis=0)).sum() + np.abs(np.diff(padded, axis=1)).sum()
    return float(2 * image.sum() / perimeter)


def real_mnist(limit: int) -> tuple[np.ndarray, np.ndarray]:
    """Real MNIST training digits from the bundled sample: uint8 (N, 28, 28) and labels."""
    images = SAMPLE_DIR / "train-images-idx3-ubyte.gz"
    labels = SAMPLE_DIR / "train-labels-idx1-ubyte.gz"
    assert images.is_file() and labels.is_file(), f"the bundled sample is missing: {SAMPLE_DIR}"
    return read_idx(images, 3)[:limit], read_idx(labels, 1)[:limit].astype(np.int64)


# --- render_strokes -----------------------------------------------------------------------


def test_digit_drawn_small_in_a_corner_matches_the_same_digit_drawn_large():
    # Measured: '7' identical (0.0 mean abs diff); '2' 0.0071 and correlation 0.995, for a
    # 32 px tall digit in the corner against a 320 px tall one in the middle.
    for digit in (7, 2):
        small = drawn(digit, scale=2, offset=(3, 5))
        large = drawn(digit, scale=20, offset=(100, 40))
        assert mean_abs_diff(small, large) < 0.015
        assert correlation(small, large) > 0.99


def test_every_digit_drawn_small_matches_large_up_to_mnists_whole_pixel_centring():
    # MNIST centres by a whole-pixel shift, so a centre of mass near a half pixel may round
    # either way (the '9' here lands one pixel apart). Allowing that step, the worst of the
    # ten measured 0.013 mean abs diff and 0.991 correlation.
    shifts = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
    for digit in DIGITS:
        small = drawn(digit, scale=2, offset=(3, 5))
        large = drawn(digit, scale=20, offset=(100, 40))
        aligned = [np.roll(small, shift, axis=(0, 1)) for shift in shifts]
        assert min(mean_abs_diff(a, large) for a in aligned) < 0.02, digit
        assert max(correlation(a, large) for a in aligned) > 0.98, digit


def test_canvas_units_do_not_matter():
    strokes = [points * 7 + (30, 50) for points in DIGITS[5]]
    reference = render_strokes(strokes, canvas_size=CANVAS)
    for ratio in (2.0, 1.25):  # e.g. device pixel ratios
        scaled = render_strokes([p * ratio for p in strokes],
                                canvas_size=(CANVAS[0] * ratio, CANVAS[1] * ratio))
        assert scaled.shape == reference.shape
        assert np.abs(scaled - reference).max() < 1e-3


def test_rendered_digits_have_mnists_stroke_width():
    real = real_mnist(2000)[0].astype(np.float32) / 255
    mnist_width = float(np.median([stroke_width(image) for image in real]))
    ours = float(np.mean([stroke_width(drawn(d, 10, (50, 50))) for d in DIGITS]))
    # Measured: MNIST 1.98 (median of 2,000 sample digits), rendered digits 1.97.
    assert ours == pytest.approx(mnist_width, rel=0.15)


def test_render_is_white_on_black_float_in_unit_range_with_antialiased_edges():
    image = render_strokes(DIGITS[8])
    assert image.dtype == np.float32
    assert image.min() == 0 and image.max() == pytest.approx(1.0)
    assert image[0].max() == 0 and image[:, 0].max() == 0  # a margin of background
    edge = image[(image > 0) & (image < 1)]  # none at all in an aliased (binary) drawing
    assert edge.size > 0.1 * (image == 1).sum()
    assert len(np.unique(edge)) >= 10  # 4x4 supersampling: 15 grey levels between 0 and 1


def test_a_tap_makes_a_round_dot():
    for tap in ([(120.0, 80.0)], [(120.0, 80.0), (120.0, 80.0)]):
        image = render_strokes([tap])
        assert image is not None
        digit = preprocess_image(image)
        height, width = ink_box(digit, 0.5)
        assert abs(height - width) <= 1 and height >= 18
        np.testing.assert_allclose(digit, digit.T, atol=0.05)  # symmetric about the centre


def test_no_ink_gives_none():
    assert render_strokes([]) is None
    assert render_strokes([[], np.empty((0, 2))]) is None
    # Everything drawn outside the canvas was never seen.
    assert render_strokes([[(-50, -50), (-10, -20)]], canvas_size=CANVAS) is None


def test_ink_beyond_the_canvas_edge_is_dropped():
    overshooting = render_strokes([[(-60, 100), (60, 100)], [(60, 40), (60, 160)]],
                                  canvas_size=(200, 200))
    inside = render_strokes([[(0, 100), (60, 100)], [(60, 40), (60, 160)]],
                            canvas_size=(200, 200))
    digit_overshooting, digit_inside = preprocess_image(overshooting), preprocess_image(inside)
    # Measured: identical (the round cap at x=0 is cut by the edge too); without the canvas
    # the overshoot stays: 0.136 mean abs diff.
    assert mean_abs_diff(digit_overshooting, digit_inside) < 0.01
    without_edge = preprocess_image(render_strokes([[(-60, 100), (60, 100)],
                                                    [(60, 40), (60, 160)]]))
    assert mean_abs_diff(without_edge, digit_inside) > 0.03


def test_stroke_width_factors_scale_the_pen():
    strokes = DIGITS[4]
    normal = render_strokes(strokes)
    heavy = render_strokes(strokes, widths=[1.8, 1.8])
    light = render_strokes(strokes, widths=[0.5, 0.5])
    assert light.sum() < normal.sum() < heavy.sum()
    mixed = render_strokes(strokes, widths=[1.0, 2.0])
    assert normal.sum() < mixed.sum() < heavy.sum()


@pytest.mark.parametrize(
    ("strokes", "widths", "canvas_size", "message"),
    [
        ([[(1, 2, 3)]], None, None, "list of \\(x, y\\) points"),
        ([[(1, float("nan"))]], None, None, "not a finite number"),
        ([[(1, 2)]], [1.0, 2.0], None, "one per stroke"),
        ([[(1, 2)]], [0.0], None, "positive"),
        ([[(1, 2)]], None, (0, 10), "canvas_size"),
    ],
)
def test_bad_strokes_are_refused_with_a_reason(strokes, widths, canvas_size, message):
    with pytest.raises(ValueError, match=message):
        render_strokes(strokes, widths=widths, canvas_size=canvas_size)


# --- preprocess_image ---------------------------------------------------------------------


def photo_of_a_two() -> np.ndarray:
    """A 2 drawn small and off-centre on a large white page, black ink, uint8."""
    ink = render_strokes(DIGITS[2])
    page = np.zeros((300, 240), dtype=np.float32)
    page[30 : 30 + ink.shape[0], 20 : 20 + ink.shape[1]] = ink
    return np.round((1 - page) * 255).astype(np.uint8)


def test_output_is_in_mnist_form():
    digit = preprocess_image(photo_of_a_two())
    assert digit.shape == (28, 28) and digit.dtype == np.float32
    assert digit.min() == 0 and digit.max() == pytest.approx(1.0, abs=0.02)
    assert (digit[:2] == 0).all() and (digit[-2:] == 0).all()  # background is exactly 0
    height, width = ink_box(digit, 0.05)
    assert max(height, width) <= 21  # the 20 px box, give or take anti-aliasing
    assert max(height, width) >= 19
    com_row, com_col = centre_of_mass(digit)
    assert abs(com_row - 14) <= 0.5 and abs(com_col - 14) <= 0.5


def test_polarity_and_pixel_type_do_not_matter():
    black_on_white = photo_of_a_two()
    reference = preprocess_image(black_on_white)
    white_on_black = 255 - black_on_white
    np.testing.assert_allclose(preprocess_image(white_on_black), reference, atol=1e-5)
    np.testing.assert_allclose(preprocess_image(black_on_white / 255.0), reference, atol=1e-5)
    np.testing.assert_allclose(preprocess_image(black_on_white.astype(np.float64)), reference,
                               atol=1e-5)  # float on the 0..255 scale
    rgb = np.repeat(black_on_white[:, :, None], 3, axis=2)
    np.testing.assert_allclose(preprocess_image(rgb), reference, atol=1e-3)
    opaque = np.concatenate([rgb, np.full_like(black_on_white[:, :, None], 255)], axis=2)
    np.testing.assert_allclose(preprocess_image(opaque), reference, atol=1e-3)
    # Black ink on a transparent background: the alpha channel is the ink.
    transparent = np.zeros_like(opaque)
    transparent[:, :, 3] = white_on_black
    np.testing.assert_allclose(preprocess_image(transparent), reference, atol=1e-5)


def test_grey_paper_and_faint_ink_give_the_same_digit():
    reference = preprocess_image(photo_of_a_two())
    ink = 255 - photo_of_a_two().astype(np.float32)
    grey_paper_pencil = 200 - ink * 0.4  # paper at 200, ink 40% as dark
    np.testing.assert_allclose(preprocess_image(grey_paper_pencil), reference, atol=0.01)


def test_real_mnist_digits_barely_change():
    images, _ = real_mnist(2000)
    again = np.stack([preprocess_image(image) for image in images])
    change = np.abs(again - images.astype(np.float32) / 255)
    # Measured on 2,000 sample digits: 84.6% identical; the rest lose a faint edge pixel
    # (< 5% of the peak, outside the box) or have their peak of 254 raised to 255. Largest
    # change of any pixel 0.047; mean abs diff 0.00006 on average, 0.0011 at worst.
    assert np.mean(change.max(axis=(1, 2)) < 1e-6) > 0.8
    assert change.max() < 0.1
    assert change.mean() < 0.0003


@pytest.mark.parametrize(
    "image",
    [
        np.zeros((60, 40), dtype=np.uint8),
        np.full((60, 40), 255, dtype=np.uint8),
        np.full((60, 40, 3), 128, dtype=np.uint8),
        np.full((10, 10), 0.5),
        # paper with faint noise only
        np.clip(np.random.default_rng(0).normal(230, 4, (80, 80)), 0, 255).astype(np.uint8),
    ],
    ids=["black", "white", "grey-rgb", "grey-float", "noise"],
)
def test_no_ink_gives_none_for_images(image):
    assert preprocess_image(image) is None


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (np.zeros((4, 4, 2)), "greyscale"),
        (np.zeros(10), "greyscale"),
        (np.zeros((0, 5)), "empty"),
        (np.full((5, 5), np.nan), "finite"),
        (np.full((5, 5), -3.0), "0..255"),
        (np.full((5, 5), 300.0), "0..255"),
        (np.full((5, 5), "a"), "uint8 or float"),
    ],
)
def test_bad_images_are_refused_with_a_reason(image, message):
    with pytest.raises(ValueError, match=message):
        preprocess_image(image)


# --- Predictor ----------------------------------------------------------------------------

DIGIT_NAMES = tuple(str(d) for d in range(10))


def tiny_model(in_channels: int, size: int) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(in_channels * size * size, 10))


def test_predictor_gives_probabilities_over_the_classes():
    predictor = Predictor(tiny_model(1, 32), class_names=DIGIT_NAMES, mean=[0.1307],
                          std=[0.3081], input_size=32, in_channels=1)
    probabilities = predictor.predict(drawn(3, 10, (50, 50)))
    assert probabilities.shape == (10,)
    assert probabilities.sum() == pytest.approx(1.0, abs=1e-5)
    assert (probabilities >= 0).all()
    assert not predictor.model.training


def test_model_input_is_resized_and_normalised_like_a_training_batch():
    digit = drawn(7, 10, (50, 50))
    predictor = Predictor(tiny_model(1, 32), class_names=DIGIT_NAMES, mean=[0.1307],
                          std=[0.3081], input_size=32, in_channels=1)
    x = predictor.model_input(digit)
    assert x.shape == (1, 1, 32, 32) and x.dtype == torch.float32
    # The training pipeline's steps, written out: bilinear resize, then (x - mean) / std.
    batch = torch.from_numpy(digit)[None, None]
    expected = (F.interpolate(batch, size=(32, 32), mode="bilinear", align_corners=False,
                              antialias=False) - 0.1307) / 0.3081
    torch.testing.assert_close(x, expected)
    assert x.min().item() == pytest.approx(-0.1307 / 0.3081, abs=1e-5)  # background

    same_size = Predictor(tiny_model(1, 28), class_names=DIGIT_NAMES, mean=[0.5], std=[0.5],
                          input_size=28, in_channels=1)
    torch.testing.assert_close(same_size.model_input(digit)[0, 0],
                               torch.from_numpy(digit) * 2 - 1)


def test_a_colour_model_gets_the_digit_on_three_channels():
    mean, std = (0.49, 0.48, 0.45), (0.25, 0.24, 0.26)
    predictor = Predictor(tiny_model(3, 32), class_names=DIGIT_NAMES, mean=mean, std=std,
                          input_size=32, in_channels=3)
    x = predictor.model_input(drawn(1, 10, (50, 50)))
    assert x.shape == (1, 3, 32, 32)
    unnormalised = x * torch.tensor(std).view(1, 3, 1, 1) + torch.tensor(mean).view(1, 3, 1, 1)
    torch.testing.assert_close(unnormalised[0, 1], unnormalised[0, 0])
    torch.testing.assert_close(unnormalised[0, 2], unnormalised[0, 0])
    assert predictor.predict(drawn(1, 10, (50, 50))).shape == (10,)


def test_predictor_refuses_what_cannot_work():
    with pytest.raises(ValueError, match="1 \\(grey\\) or 3"):
        Predictor(tiny_model(2, 28), class_names=DIGIT_NAMES, mean=[0, 0], std=[1, 1],
                  input_size=28, in_channels=2)
    with pytest.raises(ValueError, match="one per channel"):
        Predictor(tiny_model(3, 28), class_names=DIGIT_NAMES, mean=[0, 0], std=[1, 1],
                  input_size=28, in_channels=3)
    predictor = Predictor(tiny_model(1, 28), class_names=DIGIT_NAMES[:5], mean=[0], std=[1],
                          input_size=28, in_channels=1)
    with pytest.raises(ValueError, match="28x28"):
        predictor.model_input(np.zeros((32, 32), dtype=np.float32))
    with pytest.raises(ValueError, match="do not belong together"):
        predictor.predict(np.zeros((28, 28), dtype=np.float32))


def test_predictor_from_a_checkpoint_predicts_as_the_saved_model():
    model = build_model("lenet5", 1, 10, 32)
    ckpt = Checkpoint(
        config=TrainConfig(arch="lenet5"), model_state=model.state_dict(),
        optimizer_state=None, scheduler_state=None, scaler_state=None, epoch=1, history=[],
        class_names=DIGIT_NAMES, mean=(0.1307,), std=(0.3081,), in_channels=1,
        input_size=32, is_digits=True,
    )
    predictor = Predictor.from_checkpoint(ckpt)
    digit = drawn(6, 10, (50, 50))
    model.eval()
    with torch.no_grad():
        expected = torch.softmax(model(predictor.model_input(digit)), dim=1)[0].numpy()
    np.testing.assert_allclose(predictor.predict(digit), expected, atol=1e-6)


@pytest.mark.slow
def test_a_classifier_trained_on_real_mnist_reads_drawn_digits_small_or_large():
    images, labels = real_mnist(1000)
    x = torch.from_numpy(images.astype(np.float32) / 255).view(len(images), -1)
    y = torch.from_numpy(labels)
    torch.manual_seed(0)
    model = nn.Linear(784, 10)  # softmax regression: quick to train, ~90% on MNIST
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(100):
        optimizer.zero_grad()
        F.cross_entropy(model((x - 0.1307) / 0.3081), y).backward()
        optimizer.step()
    predictor = Predictor(nn.Sequential(nn.Flatten(), model), class_names=DIGIT_NAMES,
                          mean=[0.1307], std=[0.3081], input_size=28, in_channels=1)
    correct = [
        int(predictor.predict(drawn(digit, scale, offset)).argmax()) == digit
        for digit in DIGITS
        for scale, offset in ((2, (3, 5)), (20, (100, 40)))
    ]
    # Measured: 20 of 20 (87% on 2,000 held-out sample digits). Fed without the MNIST
    # treatment (the whole 400x400 canvas shrunk to 28x28), the same model read 5 of 20.
    assert sum(correct) >= 18


def test_strokes_far_off_the_canvas_draw_only_their_part_on_it():
    # Entirely off the canvas: nothing to see (coordinates this large once overflowed the
    # rasteriser and drew a stray line across the image).
    assert render_strokes([[(-1e9, -1e9), (-5.0, 3.0)]], canvas_size=(1, 1)) is None
    assert render_strokes([[(-1e300, 0.5), (-1e300, 0.6)]], canvas_size=(1, 1)) is None
    # A drag that leaves the canvas for far away: the part on the canvas, in its direction.
    far = render_strokes([[(0.2, 0.1), (0.2, 0.5), (1e9, 2e9 + 0.5)]], canvas_size=(1, 1))
    near = render_strokes([[(0.2, 0.1), (0.2, 0.5), (0.45, 1.0)]], canvas_size=(1, 1))
    assert mean_abs_diff(preprocess_image(far), preprocess_image(near)) < 0.01
    assert render_strokes([[(0.5, 0.5), (1e308, -1e308)]], canvas_size=(1, 1)) is not None
