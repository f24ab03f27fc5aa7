"""The bundled demo model reads MNIST's held-out digits, and digits from outside MNIST.

The outside digits (tests/data/outside-digits, built by tools/build_outside_digits.py) are
already in MNIST form, as the Draw tab hands a drawing to the model; they are fed through
the Draw tab's own Predictor preparation (resize to the network's input and normalise).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from engine.data.idx import read_idx
from engine.inference.predict import Predictor
from engine.records.checkpoint import _check_integrity, load_checkpoint
from engine.resources import RESOURCES_DIR

BUNDLED = RESOURCES_DIR / "pretrained" / "digits-lenet5.pt"
SAMPLE = RESOURCES_DIR / "mnist-sample"
OUTSIDE = Path(__file__).resolve().parents[1] / "data" / "outside-digits"
# The bar for the sample's 2,000 held-out digits.
HELD_OUT_MIN = 0.98
# Each outside set's bar, about 2-3 points under what the bundled model scores
# (resources/pretrained/README.md: strokes 96.0%, fonts 96.4%, UCI 95.9%): room for a
# retrained model's noise, not for a regression. The model it replaced (random crops only)
# scored 88.1% on fonts and 92.6% on UCI, below these bars; on strokes both miss only
# European '1's with a flag, which MNIST's writers hardly ever drew.
OUTSIDE_MIN = {"strokes": 0.93, "fonts": 0.93, "uci": 0.94}


@pytest.fixture(scope="module")
def predictor() -> Predictor:
    return Predictor.from_checkpoint(load_checkpoint(BUNDLED))


def accuracy(predictor: Predictor, images: np.ndarray, labels: np.ndarray) -> float:
    """Each 28x28 uint8 digit through Predictor.model_input, batched."""
    with torch.inference_mode():
        inputs = torch.cat([predictor.model_input(digit / np.float32(255)) for digit in images])
        predicted = predictor.model(inputs).argmax(1).numpy()
    return float((predicted == labels).mean())


def outside_set(name: str) -> tuple[np.ndarray, np.ndarray]:
    return (read_idx(OUTSIDE / f"{name}-images-idx3-ubyte.gz", 3),
            read_idx(OUTSIDE / f"{name}-labels-idx1-ubyte.gz", 1))


def test_the_bundled_model_is_sealed_and_is_a_digit_reader():
    assert _check_integrity(BUNDLED)  # saved with save_checkpoint
    ckpt = load_checkpoint(BUNDLED)
    assert ckpt.is_digits and ckpt.in_channels == 1
    assert ckpt.class_names == tuple(str(d) for d in range(10))


def test_it_reads_the_samples_held_out_digits_as_its_record_says(predictor):
    images = read_idx(SAMPLE / "t10k-images-idx3-ubyte.gz", 3)
    labels = read_idx(SAMPLE / "t10k-labels-idx1-ubyte.gz", 1)
    assert len(labels) == 2000
    measured = accuracy(predictor, images, labels)
    print(f"held-out MNIST sample: {measured:.2%}")
    assert measured >= HELD_OUT_MIN
    recorded = load_checkpoint(BUNDLED).history[-1]["test_acc"]
    assert measured == pytest.approx(recorded, abs=0.5 / len(labels))


@pytest.mark.parametrize("name", list(OUTSIDE_MIN))
def test_it_reads_digits_from_outside_mnist(predictor, name):
    images, labels = outside_set(name)
    assert len(labels) >= 200 and set(labels.tolist()) == set(range(10))
    measured = accuracy(predictor, images, labels)
    print(f"outside digits, {name}: {measured:.2%} of {len(labels)}")
    assert measured >= OUTSIDE_MIN[name]


def test_the_outside_digits_are_not_the_samples():
    sample = np.concatenate([read_idx(SAMPLE / f"{part}-images-idx3-ubyte.gz", 3)
                             for part in ("train", "t10k")]).reshape(-1, 784)
    known = {row.tobytes() for row in sample}
    for name in OUTSIDE_MIN:
        images, _ = outside_set(name)
        assert not any(row.tobytes() in known for row in images.reshape(-1, 784)), name
