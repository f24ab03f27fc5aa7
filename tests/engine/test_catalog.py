"""The torch-free catalog names exactly what the registries build and load."""

import subprocess
import sys

from engine.catalog import ARCHITECTURES, DATASET_INFO, arch_title, dataset_title
from engine.data import DATASETS
from engine.models import MODELS


def test_catalog_and_registries_agree():
    assert list(ARCHITECTURES) == list(MODELS)
    assert list(DATASET_INFO) == list(DATASETS)
    for name, spec in MODELS.items():
        assert (spec.title, spec.input_size) == (ARCHITECTURES[name].title,
                                                 ARCHITECTURES[name].input_size)
    for name, spec in DATASETS.items():
        assert spec.known_shape == DATASET_INFO[name].known_shape


def test_titles_and_unknown_ids():
    assert arch_title("lenet5") == "LeNet-5 (classic)"
    assert dataset_title("mnist-sample") == "MNIST sample (bundled)"
    assert arch_title("old-net") == "old-net"  # an old checkpoint's id is shown as it is


def test_catalog_and_config_validation_do_not_import_torch():
    code = ("import sys; from engine.config import TrainConfig; "
            "TrainConfig(arch='lenet5', lr=-1).problems(); "
            "assert 'torch' not in sys.modules, 'torch was imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
