"""The torch-free catalog names exactly what the registries build and load."""

import dataclasses
import subprocess
import sys

from engine.catalog import (
    ARCHITECTURES,
    DATASET_INFO,
    DatasetInfo,
    arch_title,
    dataset_title,
    download_note,
    format_mib,
)
from engine.data import DATASETS
from engine.models.architectures import MODELS


def test_catalog_and_registries_agree():
    assert list(ARCHITECTURES) == list(MODELS)
    assert list(DATASET_INFO) == list(DATASETS)
    for name, spec in MODELS.items():
        assert (spec.title, spec.input_size) == (ARCHITECTURES[name].title,
                                                 ARCHITECTURES[name].input_size)
    for name, spec in DATASETS.items():
        assert spec.known_shape == DATASET_INFO[name].known_shape


def test_each_dataset_spec_is_its_catalog_entry_and_how_it_is_read():
    for name, spec in DATASETS.items():
        info = DATASET_INFO[name]
        assert isinstance(spec, DatasetInfo)
        for field in dataclasses.fields(DatasetInfo):
            assert getattr(spec, field.name) == getattr(info, field.name), (name, field.name)
        assert callable(spec.load) and callable(spec.sources)


def test_titles_and_unknown_ids():
    assert arch_title("lenet5") == "LeNet-5 (classic)"
    assert dataset_title("mnist-sample") == "MNIST sample (bundled)"
    assert arch_title("old-net") == "old-net"  # an old checkpoint's id is shown as it is


def test_catalog_and_config_validation_do_not_import_torch():
    code = ("import sys; from engine.config import TrainConfig; "
            "TrainConfig(arch='lenet5', lr=-1).problems(); "
            "assert 'torch' not in sys.modules, 'torch was imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_each_download_says_its_size_before_it_starts():
    for name, info in DATASET_INFO.items():
        if info.downloads:
            # The settings form shows the description; the CLI's help the note.
            assert info.download_size and f"{info.download_size}" in info.description, name
            assert download_note(name) == f"{info.title} ({info.download_size} download)"
        else:
            assert info.download_size == "" and download_note(name) == info.title
    assert DATASET_INFO["cifar100"].download_size == "161 MB"
    assert DATASET_INFO["stl10"].download_size == "2.5 GB"


def test_sizes_read_as_a_file_manager_shows_them():
    assert [format_mib(mib) for mib in (28 / 1024, 4.42, 161, 2518)] == [
        "28 KB", "4.4 MB", "161 MB", "2.5 GB"]
