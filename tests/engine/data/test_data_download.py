"""Downloads, with the network replaced by a fake urlopen serving files from memory."""

from __future__ import annotations

import io
import tarfile
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from torchvision.datasets import CIFAR10, MNIST

from engine.data import DatasetError, load_dataset
from tests.fake_network import FakeNetwork
from tests.fake_network import md5 as _md5
from tools.sample_datasets import IDX_FILES, write_cifar_batches, write_idx_dataset

MNIST_MIRRORS = ["https://dead.example/mnist/", "https://alive.example/mnist/"]


@pytest.fixture
def mnist_online(tmp_path, monkeypatch):
    """Real-format MNIST files served by the second of two mirrors (the first is down)."""
    source = write_idx_dataset(tmp_path / "server", layout=None, n_train=40, n_test=20)
    bodies = {f"{name}.gz": (source / f"{name}.gz").read_bytes() for name in IDX_FILES.values()}
    monkeypatch.setattr(MNIST, "mirrors", MNIST_MIRRORS)
    monkeypatch.setattr(MNIST, "resources", [(name, _md5(body)) for name, body in bodies.items()])
    network = FakeNetwork({MNIST_MIRRORS[1] + name: body for name, body in bodies.items()})
    monkeypatch.setattr(urllib.request, "urlopen", network.urlopen)
    return network, bodies


def test_download_reports_progress_and_verifies(tmp_path, mnist_online, monkeypatch):
    network, bodies = mnist_online
    monkeypatch.setattr("engine.data.download.CHUNK_BYTES", 1000)
    events = []

    ds = load_dataset("mnist", tmp_path / "data", progress=events.append)

    assert len(ds.train_labels) == 40 and len(ds.test_labels) == 20
    raw = tmp_path / "data" / "MNIST" / "raw"
    assert sorted(p.name for p in raw.iterdir()) == sorted(bodies)  # no temp files left
    for name, body in bodies.items():
        assert (raw / name).read_bytes() == body
        assert network.requested.count(MNIST_MIRRORS[0] + name) == 1  # tried, then fell back
        # The size is said as the transfer starts (a few KB here).
        size = f"{max(1, round(len(body) / 1024))} KB"
        transfer = [e for e in events if e.message == f"Downloading {name} ({size})"]
        assert transfer[0].done == 0 and transfer[-1].done == len(body)
        assert all(e.total == len(body) and e.dataset == "mnist" for e in transfer)
        assert [e.done for e in transfer] == sorted(e.done for e in transfer)
        assert len(transfer) >= len(body) // 1000  # reported chunk by chunk


def test_second_load_does_not_download_again(tmp_path, mnist_online):
    network, _ = mnist_online
    load_dataset("mnist", tmp_path)
    requests = len(network.requested)
    network.files.clear()  # now offline

    ds = load_dataset("mnist", tmp_path)

    assert len(ds.train_labels) == 40
    assert len(network.requested) == requests


def test_only_missing_or_damaged_files_are_downloaded(tmp_path, mnist_online):
    network, bodies = mnist_online
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    names = list(bodies)
    (raw / names[0]).write_bytes(bodies[names[0]])  # intact
    (raw / names[1]).write_bytes(b"half a file")  # damaged: fails the md5 check

    load_dataset("mnist", tmp_path)

    fetched = {url.rsplit("/", 1)[1] for url in network.requested}
    assert fetched == set(names[1:])
    assert (raw / names[1]).read_bytes() == bodies[names[1]]


def test_offline_error_names_files_and_folder(tmp_path, monkeypatch):
    def offline(request, timeout=None):
        raise urllib.error.URLError("Temporary failure in name resolution")

    monkeypatch.setattr(urllib.request, "urlopen", offline)

    with pytest.raises(DatasetError) as caught:
        load_dataset("mnist", tmp_path)

    message = str(caught.value)
    assert "offline" in message
    assert str(tmp_path / "MNIST" / "raw") in message
    for name in IDX_FILES.values():
        assert f"{name}.gz" in message
    assert "mnist-sample" in message
    assert list((tmp_path / "MNIST" / "raw").iterdir()) == []


def test_checksum_mismatch_keeps_nothing(tmp_path, mnist_online):
    network, bodies = mnist_online
    first = next(iter(bodies))
    network.files[MNIST_MIRRORS[1] + first] = b"an html error page, not the file"

    with pytest.raises(DatasetError, match="md5"):
        load_dataset("mnist", tmp_path)

    assert not (tmp_path / "MNIST" / "raw" / first).exists()
    assert [p.name for p in (tmp_path / "MNIST" / "raw").iterdir()] == []


def test_connection_dropped_midway(tmp_path, mnist_online):
    network, bodies = mnist_online
    first = next(iter(bodies))
    url = MNIST_MIRRORS[1] + first
    network.claimed_lengths[url] = len(bodies[first]) + 500

    with pytest.raises(DatasetError, match="closed after"):
        load_dataset("mnist", tmp_path)

    assert list((tmp_path / "MNIST" / "raw").iterdir()) == []


def test_unwritable_data_folder(tmp_path, mnist_online):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the data folder should be")

    with pytest.raises(DatasetError, match="cannot be created"):
        load_dataset("mnist", blocker)


def test_cifar10_download_and_extract(tmp_path, monkeypatch):
    batches = write_cifar_batches(tmp_path / "server", n_per_batch=10, n_test=10)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(batches, arcname=batches.name)
    archive = buffer.getvalue()
    monkeypatch.setattr(CIFAR10, "url", "https://cifar.example/cifar-10-python.tar.gz")
    monkeypatch.setattr(CIFAR10, "tgz_md5", _md5(archive))
    monkeypatch.setattr(urllib.request, "urlopen", FakeNetwork({CIFAR10.url: archive}).urlopen)
    events = []

    ds = load_dataset("cifar10", tmp_path / "data", progress=events.append)

    assert ds.train_images.shape == (50, 3, 32, 32)
    assert (tmp_path / "data" / "cifar-10-batches-py" / "test_batch").is_file()
    assert not (tmp_path / "data" / CIFAR10.filename).exists()  # archive removed once extracted
    assert any(e.message.startswith("Extracting") for e in events)
    assert events[-1].done == events[-1].total


def test_cifar10_offline(tmp_path, monkeypatch):
    monkeypatch.setattr(urllib.request, "urlopen", FakeNetwork({}).urlopen)

    with pytest.raises(DatasetError) as caught:
        load_dataset("cifar10", tmp_path)

    message = str(caught.value)
    assert "offline" in message and CIFAR10.filename in message and str(tmp_path) in message
    missing = caught.value.missing
    assert (missing.title, missing.folder, missing.files) == ("CIFAR-10", str(tmp_path),
                                                              (CIFAR10.filename,))
    assert missing.source == CIFAR10.url


def test_a_manually_downloaded_cifar_archive_is_extracted(tmp_path, monkeypatch):
    batches = write_cifar_batches(tmp_path / "elsewhere", n_per_batch=5, n_test=5)
    archive_path = tmp_path / "data" / CIFAR10.filename
    archive_path.parent.mkdir()
    with tarfile.open(archive_path, mode="w:gz") as tar:
        tar.add(batches, arcname=batches.name)
    monkeypatch.setattr(CIFAR10, "tgz_md5", _md5(archive_path.read_bytes()))
    monkeypatch.setattr(urllib.request, "urlopen", FakeNetwork({}).urlopen)

    assert len(load_dataset("cifar10", Path(tmp_path / "data")).test_labels) == 5
