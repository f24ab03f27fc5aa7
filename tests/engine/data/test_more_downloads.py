"""Downloading the datasets added with torchvision's sources (KMNIST, EMNIST, SVHN,
CIFAR-100, STL-10), with the network replaced by a fake that serves tiny real-format files;
and, offline, a message that says the size and which files to put where."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import numpy as np
import pytest
from torchvision.datasets import CIFAR100, EMNIST, KMNIST, STL10, SVHN

from engine.catalog import DATASET_INFO
from engine.data import DatasetError, load_dataset
from tests.fake_network import FakeNetwork, md5
from tools.sample_datasets import (
    IDX_FILES,
    tar_folder,
    write_cifar100,
    write_emnist_zip,
    write_idx_dataset,
    write_stl10,
    write_svhn,
)

# dataset -> (the folder its files are asked for in, the files named, where from)
OFFLINE = {
    "kmnist": ("KMNIST/raw", [f"{name}.gz" for name in IDX_FILES.values()], KMNIST.mirrors[0]),
    "emnist-letters": ("EMNIST/raw", ["gzip.zip", "emnist-letters-train-images-idx3-ubyte.gz"],
                       EMNIST.url),
    "emnist-digits": ("EMNIST/raw", ["gzip.zip", "emnist-digits-test-labels-idx1-ubyte.gz"],
                      EMNIST.url),
    "svhn": ("svhn", ["train_32x32.mat", "test_32x32.mat"], "http://ufldl.stanford.edu/"),
    "cifar100": (".", [CIFAR100.filename, "cifar-100-python"], CIFAR100.url),
    "cifar100-coarse": (".", [CIFAR100.filename], CIFAR100.url),
    "stl10": (".", [STL10.filename, "train_X.bin", "test_y.bin"], STL10.url),
}


@pytest.fixture
def offline(monkeypatch):
    network = FakeNetwork({})
    monkeypatch.setattr(urllib.request, "urlopen", network.urlopen)
    return network


@pytest.mark.parametrize("name", list(OFFLINE))
def test_offline_the_message_says_size_files_and_folder(tmp_path, offline, name):
    folder, files, source = OFFLINE[name]
    info = DATASET_INFO[name]

    with pytest.raises(DatasetError) as caught:
        load_dataset(name, tmp_path)

    message = str(caught.value)
    assert "offline" in message
    assert f"{info.title} ({info.download_size} download)" in message
    assert str((tmp_path / folder).resolve()) in message
    for file in files:
        assert file in message
    assert source in message
    missing = caught.value.missing
    assert missing.title == info.title and missing.source.startswith(source[:20])
    assert missing.folder == str((tmp_path / folder).resolve())
    assert offline.requested  # it tried, once per file it needed at most
    # Nothing half-downloaded is left behind.
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_kmnist_download(tmp_path, monkeypatch):
    source = write_idx_dataset(tmp_path / "server", layout=None, n_train=30, n_test=10)
    bodies = {f"{name}.gz": (source / f"{name}.gz").read_bytes() for name in IDX_FILES.values()}
    monkeypatch.setattr(KMNIST, "resources", [(name, md5(body)) for name, body in bodies.items()])
    network = FakeNetwork({KMNIST.mirrors[0] + name: body for name, body in bodies.items()})
    monkeypatch.setattr(urllib.request, "urlopen", network.urlopen)

    ds = load_dataset("kmnist", tmp_path / "data")

    assert len(ds.train_labels) == 30 and ds.class_names[0] == "o"
    assert sorted(p.name for p in (tmp_path / "data" / "KMNIST" / "raw").iterdir()) == sorted(
        bodies)


def test_emnist_download_keeps_the_zip_for_the_other_split(tmp_path, monkeypatch):
    written = write_emnist_zip(tmp_path / "server" / "gzip.zip")
    body = (tmp_path / "server" / "gzip.zip").read_bytes()
    monkeypatch.setattr(EMNIST, "md5", md5(body))
    network = FakeNetwork({EMNIST.url: body})
    monkeypatch.setattr(urllib.request, "urlopen", network.urlopen)
    events = []

    letters = load_dataset("emnist-letters", tmp_path / "data", progress=events.append)
    digits = load_dataset("emnist-digits", tmp_path / "data")

    assert network.requested == [EMNIST.url]  # once, for both splits
    assert np.array_equal(letters.train_images.numpy(), written["letters"]["train_x"])
    assert np.array_equal(digits.train_labels.numpy(), written["digits"]["train_y"])
    assert (tmp_path / "data" / "EMNIST" / "raw" / "gzip.zip").read_bytes() == body
    messages = [e.message for e in events]
    assert any(m.startswith("Downloading gzip.zip (") for m in messages)
    assert "Extracting gzip.zip" in messages


def test_svhn_download(tmp_path, monkeypatch):
    arrays = write_svhn(tmp_path / "server", n_train=20, n_test=8)
    files, parts = {}, {}
    for split in ("train", "test"):
        url, filename, _ = SVHN.split_list[split]
        body = (tmp_path / "server" / filename).read_bytes()
        files[url] = body
        parts[split] = [url, filename, md5(body)]
    monkeypatch.setattr(SVHN, "split_list", parts)
    network = FakeNetwork(files)
    monkeypatch.setattr(urllib.request, "urlopen", network.urlopen)
    monkeypatch.setattr("engine.data.svhn.PARTS", (parts["train"], parts["test"]))

    ds = load_dataset("svhn", tmp_path / "data")

    assert np.array_equal(ds.test_images.numpy(), arrays["test_x"])
    assert sorted(p.name for p in (tmp_path / "data" / "svhn").iterdir()) == [
        "test_32x32.mat", "train_32x32.mat"]


def test_cifar100_download_and_extract(tmp_path, monkeypatch):
    arrays = write_cifar100(tmp_path / "server", n_train=20, n_test=10)
    archive = tar_folder(tmp_path / "server" / "cifar-100-python",
                         tmp_path / "server" / CIFAR100.filename).read_bytes()
    monkeypatch.setattr(CIFAR100, "tgz_md5", md5(archive))
    monkeypatch.setattr(urllib.request, "urlopen", FakeNetwork({CIFAR100.url: archive}).urlopen)

    ds = load_dataset("cifar100-coarse", tmp_path / "data")

    assert np.array_equal(ds.train_labels.numpy(), arrays["train_coarse"])
    assert (tmp_path / "data" / "cifar-100-python" / "meta").is_file()
    assert not (tmp_path / "data" / CIFAR100.filename).exists()


def test_stl10_download_keeps_only_the_labelled_files(tmp_path, monkeypatch):
    arrays = write_stl10(tmp_path / "server", n_train=10, n_test=5)
    archive = tar_folder(tmp_path / "server" / "stl10_binary",
                         tmp_path / "server" / STL10.filename).read_bytes()
    monkeypatch.setattr(STL10, "tgz_md5", md5(archive))
    monkeypatch.setattr(urllib.request, "urlopen", FakeNetwork({STL10.url: archive}).urlopen)

    ds = load_dataset("stl10", tmp_path / "data")

    assert np.array_equal(ds.train_images.numpy(), arrays["train_x"])
    assert sorted(p.name for p in Path(tmp_path / "data").rglob("*") if p.is_file()) == sorted(
        ["train_X.bin", "train_y.bin", "test_X.bin", "test_y.bin", "class_names.txt"])
