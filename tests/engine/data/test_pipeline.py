"""Whole-batch normalisation, resizing and augmentation on the device."""

import torch

from engine.data.pipeline import BatchPipeline, random_crop, random_hflip
from engine.data.types import ImageDataset


def dataset(channels=1, size=28, hflip_ok=False) -> ImageDataset:
    images = torch.randint(0, 256, (8, channels, size, size), dtype=torch.uint8)
    labels = torch.arange(8) % 2
    return ImageDataset("t", images, labels, images, labels, ("a", "b"),
                        mean=(0.5,) * channels, std=(0.25,) * channels,
                        hflip_ok=hflip_ok, is_digits=False)


def test_normalises_with_the_dataset_stats_at_the_stored_size():
    data = dataset()
    out = BatchPipeline(data, 28, torch.device("cpu"))(data.train_images)
    expected = (data.train_images.float() / 255 - 0.5) / 0.25
    assert out.dtype == torch.float32 and out.shape == (8, 1, 28, 28)
    assert torch.allclose(out, expected)


def test_resizes_whole_batches_to_the_network_input():
    data = dataset(channels=3, size=32)
    out = BatchPipeline(data, 64, torch.device("cpu"))(data.train_images)
    assert out.shape == (8, 3, 64, 64)


def test_evaluation_batches_are_never_augmented():
    data = dataset(hflip_ok=True)
    pipeline = BatchPipeline(data, 28, torch.device("cpu"), augment=True)
    assert torch.equal(pipeline(data.train_images), pipeline(data.train_images))


def test_random_crop_shifts_each_sample_within_the_padding():
    x = torch.zeros(64, 1, 9, 9)
    x[:, :, 4, 4] = 1.0  # a dot in the centre
    out = random_crop(x, pad=2, generator=torch.Generator().manual_seed(0))
    assert out.shape == x.shape
    positions = {tuple(torch.nonzero(sample[0])[0].tolist()) for sample in out}
    assert all(2 <= r <= 6 and 2 <= c <= 6 for r, c in positions)
    assert len(positions) > 10  # per-sample offsets, not one shift for the batch


def test_random_hflip_mirrors_about_half_of_the_batch():
    x = torch.arange(4.0).repeat(200, 1, 1, 1)  # every row reads 0 1 2 3
    out = random_hflip(x, torch.Generator().manual_seed(0))
    flipped = (out[:, 0, 0, 0] == 3).sum().item()
    assert 60 < flipped < 140
    assert torch.equal(out[out[:, 0, 0, 0] == 3][0, 0, 0], torch.tensor([3.0, 2, 1, 0]))


def test_digits_are_cropped_but_never_flipped():
    data = dataset(hflip_ok=False)
    pipeline = BatchPipeline(data, 28, torch.device("cpu"), augment=True)
    assert pipeline.augment and not pipeline.hflip
    assert BatchPipeline(dataset(hflip_ok=True), 28, torch.device("cpu"), augment=True).hflip
