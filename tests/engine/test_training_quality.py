"""A real training run on real digits: the app's default settings must learn MNIST."""

import pytest

from engine.config import TrainConfig
from engine.events import EpochEnd
from engine.training.trainer import Trainer


@pytest.mark.slow
def test_default_lenet5_on_the_bundled_mnist_sample_reaches_90_percent():
    config = TrainConfig(device="cpu")  # LeNet-5 (classic), mnist-sample, Adam, 5 epochs
    assert (config.arch, config.dataset) == ("lenet5", "mnist-sample")
    epochs = []
    end = Trainer(config).run(lambda e: epochs.append(e) if isinstance(e, EpochEnd) else None)
    assert end.reason == "finished"
    print(f"test accuracy per epoch: {[f'{e.test_acc:.2%}' for e in epochs]}")
    assert epochs[-1].test_acc >= 0.90
