"""Bad dataset files and awkward image folders: a clear message or a load (with skipped
files counted), never a crash, never a hang. Each load runs in a child with a timeout."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from bench.fault_kit import DATASET_CASES, dataset_faults
from engine.data.folder import load_folder


@pytest.mark.parametrize("case", list(DATASET_CASES))
def test_a_bad_or_awkward_dataset_gets_a_clear_answer(case, tmp_path):
    tally, answers = dataset_faults(tmp_path, {case: DATASET_CASES[case]})
    assert tally.problems == [], answers[case]
    assert tally.clear == 1


def test_sixteen_bit_greyscale_is_scaled_not_clipped_to_white(tmp_path):
    for name, value in (("dark", 8000), ("bright", 40000)):
        (tmp_path / name).mkdir()
        for i in range(3):
            pixels = np.full((10, 10), value + i, dtype=np.uint16)
            Image.fromarray(pixels).save(tmp_path / name / f"{i}.png")
    data = load_folder(tmp_path, lambda event: None, 10)
    by_class = {data.class_names[int(label)]: int(image.max())
                for image, label in zip(data.train_images, data.train_labels, strict=True)}
    assert by_class == {"bright": round(40001 / 65535 * 255), "dark": round(8001 / 65535 * 255)}
