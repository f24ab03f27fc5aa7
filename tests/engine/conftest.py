"""Fixtures shared by the engine tests."""

import pytest

from tools.sample_datasets import write_idx_dataset


@pytest.fixture(scope="module")
def digits_dir(tmp_path_factory):
    """A tiny MNIST in its raw IDX files: 200 training and 60 test digits (one per module)."""
    root = tmp_path_factory.mktemp("data")
    write_idx_dataset(root, n_train=200, n_test=60)
    return root
