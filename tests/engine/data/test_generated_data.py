"""The test-data writers in tools/sample_datasets.py: what other tests rely on them for."""

from __future__ import annotations

import torch
from torch import nn

from engine.data import load_dataset
from tools.sample_datasets import learnable_images, write_idx_dataset


def test_generated_digits_are_learnable_in_two_epochs(tmp_path):
    """Trainer and GUI tests count on a tiny model learning these quickly."""
    write_idx_dataset(tmp_path, n_train=400, n_test=100)
    ds = load_dataset("mnist", tmp_path)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 10))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    mean, std = ds.mean[0], ds.std[0]

    def normalise(images):
        return (images.float() / 255 - mean) / std

    for _epoch in range(2):
        for start in range(0, len(ds.train_labels), 32):
            x = normalise(ds.train_images[start : start + 32])
            loss = nn.functional.cross_entropy(model(x), ds.train_labels[start : start + 32])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    with torch.no_grad():
        accuracy = (model(normalise(ds.test_images)).argmax(1) == ds.test_labels).float().mean()
    assert accuracy > 0.9


def test_classes_are_balanced_and_images_deterministic():
    images, labels = learnable_images(50, 5, 16, channels=3, seed=7)
    again, _ = learnable_images(50, 5, 16, channels=3, seed=7)

    assert images.shape == (50, 3, 16, 16) and images.dtype.name == "uint8"
    assert torch.bincount(torch.from_numpy(labels)).tolist() == [10] * 5
    assert (images == again).all()
    assert not (images == learnable_images(50, 5, 16, channels=3, seed=8)[0]).all()
