"""Fixtures shared by the GUI tests."""

import pytest

from tools.sample_datasets import write_idx_dataset


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """A tiny MNIST in its raw IDX files: 200 training and 50 test digits (one per module;
    a module that needs other data defines its own `data_dir`)."""
    root = tmp_path_factory.mktemp("data")
    write_idx_dataset(root, n_train=200, n_test=50)
    return root
