"""Head-only fine-tuning on kept features (engine/training/feature_cache.py): the frozen
network runs once per image, and the model trained on its kept output is the one that
recomputing it for every batch trains.

The weights files are stand-ins (tests/zoo_weights.py), nothing is downloaded.
"""

from __future__ import annotations

import pytest
import torch

from engine.config import TrainConfig
from engine.events import DataProgress, EpochEnd, LogLine
from engine.lr_finder.search import LRFinder
from engine.models import pretrained
from engine.records.checkpoint import load_checkpoint
from engine.runtime import acceleration
from engine.training import feature_cache
from engine.training import setup as training_setup
from engine.training.checkpoint_eval import doubt_training_labels, evaluate_checkpoint
from engine.training.trainer import Trainer
from tests.engine import test_distributed as distributed_test
from tests.zoo_weights import write_zoo_weights
from tools.sample_datasets import write_image_folder

pytestmark = pytest.mark.usefixtures("torch_home")


@pytest.fixture
def photos(tmp_path):
    """2 classes of colour photos: 16 to train on (4 of them validation), 4 to test."""
    return write_image_folder(tmp_path / "photos", classes=2, per_class=8, size=32,
                              split=True, test_per_class=2)


def config_for(folder, **changes) -> TrainConfig:
    values = dict(arch="resnet18-imagenet", dataset="folder", data_dir=str(folder), epochs=3,
                  batch_size=4, image_size=32, optimizer="sgd", lr=0.05, momentum=0.9,
                  threads=1, augment=False, val_split=0.25, fine_tune="head")
    return TrainConfig(**(values | changes))


def train(config: TrainConfig, recompute: bool, monkeypatch, **kwargs):
    """(trainer, events) of a run that keeps the features or recomputes them."""
    if recompute:
        monkeypatch.setenv(feature_cache.RECOMPUTE_ENV, "1")
    else:
        monkeypatch.delenv(feature_cache.RECOMPUTE_ENV, raising=False)
    events: list = []
    trainer = Trainer(config, **kwargs)
    end = trainer.run(events.append)
    assert end.reason in ("finished", "learned_nothing"), end.message
    return trainer, events


def logs(events) -> list[str]:
    return [e.message for e in events if isinstance(e, LogLine)]


@pytest.mark.parametrize("arch", ["resnet18-imagenet", "mobilenet-v3-small-imagenet"])
def test_kept_features_train_the_same_model_as_recomputing(torch_home, photos, monkeypatch,
                                                           arch):
    """Augmentation off: equal weights and accuracies up to float rounding. MobileNetV3's
    dropout in front of the head still drops (the same numbers from the same generator)."""
    state = write_zoo_weights(torch_home, arch)
    if arch.startswith("mobilenet"):
        # A random MobileNetV3's features all but vanish (~1e-9): give the layer in front
        # of the dropout a bias, so that what the dropout drops shows in the weights.
        state["classifier.0.bias"] = torch.randn(1024, generator=torch.Generator().manual_seed(0))
        torch.save(state, pretrained.weights_path(arch))
    config = config_for(photos, arch=arch)
    kept, kept_events = train(config, False, monkeypatch)
    recomputed, recomputed_events = train(config, True, monkeypatch)

    assert kept.setup is not None and kept.setup.features is None  # released after the run
    assert any("computed once per image and kept" in m for m in logs(kept_events))
    assert any("recomputed for every batch" in m for m in logs(recomputed_events))
    a, b = kept.model.state_dict(), recomputed.model.state_dict()
    assert a.keys() == b.keys()
    for key in a:
        assert torch.allclose(a[key].float(), b[key].float(), atol=2e-5, rtol=1e-4), key
    head = f"{pretrained.ZOO[arch].head}.weight"
    assert not torch.equal(a[head], torch.zeros_like(a[head]))
    ends = [[e for e in events if isinstance(e, EpochEnd)]
            for events in (kept_events, recomputed_events)]
    for one, other in zip(*ends, strict=True):
        assert one.test_acc == other.test_acc and one.val_acc == other.val_acc
        assert one.train_loss == pytest.approx(other.train_loss, rel=1e-4)
        assert one.test_loss == pytest.approx(other.test_loss, rel=1e-4, abs=1e-5)


def test_the_frozen_network_runs_once_per_image_with_progress(torch_home, photos,
                                                              monkeypatch):
    write_zoo_weights(torch_home, "resnet18-imagenet")
    seen: list[int] = []  # the images each call of the frozen layers took
    original = training_setup.build

    def build(*args, **kwargs):
        built = original(*args, **kwargs)
        built.model.layer1.register_forward_hook(
            lambda _module, inputs, _output: seen.append(len(inputs[0])))
        return built

    monkeypatch.setattr(training_setup, "build", build)
    _trainer, events = train(config_for(photos), False, monkeypatch)

    # 12 training, 4 validation, 4 test images: through the frozen layers once each, for
    # the three epochs and their evaluations together.
    assert sum(seen) == 12 + 4 + 4
    progress = [e for e in events if isinstance(e, DataProgress)
                and "pretrained network's features" in e.message]
    assert progress[-1].done == progress[-1].total == 20
    assert progress[-1].message == ("Computing the pretrained network's features: "
                                    "20 of 20 images")
    assert any(m.startswith("Computed the pretrained network's features of 20 images in ")
               for m in logs(events))


def test_augmentation_keeps_copies_and_each_epoch_draws_from_them(torch_home, photos,
                                                                  monkeypatch):
    write_zoo_weights(torch_home, "resnet18-imagenet")
    config = config_for(photos, augment=True, epochs=2)
    _trainer, events = train(config, False, monkeypatch)
    line = next(m for m in logs(events) if "computed once per image" in m)
    assert f"{feature_cache.KEPT_COPIES} augmented copies of each of the 12 training" in line
    progress = [e for e in events if isinstance(e, DataProgress)]
    assert progress[-1].total == feature_cache.KEPT_COPIES * 12 + 4 + 4

    # The copies differ (augmented), and a batch takes each image's copy from the generator.
    prepared = Trainer(config)
    prepared.prepare(lambda _event: None)
    kept = prepared.setup.features
    assert kept.train.shape[:2] == (feature_cache.KEPT_COPIES, 12)
    assert not torch.allclose(kept.train[0], kept.train[1])
    indices = torch.arange(12)
    first = kept.training_batch(indices, torch.Generator().manual_seed(1))
    again = kept.training_batch(indices, torch.Generator().manual_seed(1))
    assert torch.equal(first, again)
    rows = [(kept.train[:, i] == first[i]).all(dim=1).nonzero().flatten().tolist()
            for i in range(12)]
    assert all(len(row) >= 1 for row in rows)
    assert len({row[0] for row in rows}) > 1  # not all the same copy


def test_a_resumed_run_keeps_the_features_of_its_own_frozen_layers(
        torch_home, photos, tmp_path, monkeypatch):
    """A run fine-tuned entirely, continued head-only: the features come from the
    checkpoint's backbone, not the ImageNet file's, exactly as recomputing them does."""
    write_zoo_weights(torch_home, "resnet18-imagenet")
    run_dir = tmp_path / "run"
    train(config_for(photos, fine_tune="all", epochs=1), False, monkeypatch, run_dir=run_dir)
    resumed = [train(config_for(photos, epochs=2), recompute, monkeypatch,
                     resume_from=run_dir / "checkpoint.pt")[0]
               for recompute in (False, True)]
    a, b = (trainer.model.state_dict() for trainer in resumed)
    assert all(torch.allclose(a[k].float(), b[k].float(), atol=2e-5, rtol=1e-4) for k in a)


def test_the_lr_finder_tests_on_kept_features_and_puts_everything_back(torch_home, photos):
    write_zoo_weights(torch_home, "resnet18-imagenet")
    events: list = []
    finder = LRFinder.for_config(config_for(photos), steps=12)
    end = finder.run(events.append)
    assert end.reason == "finished", end.message
    assert any("computed once per image and kept" in m for m in logs(events))
    assert finder.trainer.setup.features is None  # released with the data


def test_a_checkpoint_evaluates_to_its_recorded_accuracy(torch_home, photos, tmp_path,
                                                         monkeypatch):
    write_zoo_weights(torch_home, "resnet18-imagenet")
    run_dir = tmp_path / "run"
    trainer, _ = train(config_for(photos, epochs=2), False, monkeypatch, run_dir=run_dir)
    result = evaluate_checkpoint(run_dir / "checkpoint.pt")
    assert result.accuracy == trainer.history[-1]["test_acc"]
    assert result.loss == pytest.approx(trainer.history[-1]["test_loss"], rel=1e-4, abs=1e-5)


def test_a_checkpoints_label_doubts_run_the_frozen_layers_once_per_training_image(
        torch_home, photos, tmp_path, monkeypatch):
    """The doubts run the whole network on the training images once: no feature pass
    before it (over the training, validation and test images) that nothing would use."""
    write_zoo_weights(torch_home, "resnet18-imagenet")
    run_dir = tmp_path / "run"
    train(config_for(photos, epochs=1), False, monkeypatch, run_dir=run_dir)
    seen: list[int] = []
    original = training_setup.build

    def build(*args, **kwargs):
        built = original(*args, **kwargs)
        built.model.layer1.register_forward_hook(
            lambda _module, inputs, _output: seen.append(len(inputs[0])))
        return built

    monkeypatch.setattr(training_setup, "build", build)
    found = doubt_training_labels(run_dir / "checkpoint.pt")
    assert len(found.doubts.labels) == 16  # every training image, validation ones included
    assert sum(seen) == 16


def test_fine_tuning_every_layer_recomputes(torch_home, photos, monkeypatch):
    write_zoo_weights(torch_home, "resnet18-imagenet")
    trainer, events = train(config_for(photos, fine_tune="all", epochs=1), False,
                            monkeypatch)
    assert trainer.setup.feature_plan is None
    assert not any("pretrained network's features" in m for m in logs(events))


def test_features_too_big_for_the_memory_are_recomputed_with_a_warning(
        torch_home, photos, monkeypatch):
    write_zoo_weights(torch_home, "resnet18-imagenet")
    monkeypatch.setattr(feature_cache, "available_bytes", lambda: 1000)
    trainer, events = train(config_for(photos, epochs=1), False, monkeypatch)
    assert trainer.setup.feature_plan is None
    warning = next(e for e in events if isinstance(e, LogLine) and e.level == "warning"
                   and "recomputed for every batch" in e.message)
    assert "more than half" in warning.message


@pytest.mark.slow
def test_two_torchrun_processes_share_the_feature_pass_and_train_as_one(
        torch_home, photos, tmp_path):
    """Each process computes its span of the features and gets the others' summed in:
    the run trains the same model as one process does (tests/engine/test_distributed.py's
    comparison, on kept features)."""
    write_zoo_weights(torch_home, "resnet18-imagenet")
    config = config_for(photos, epochs=2, batch_size=6, device="cpu", seed=3)
    run = tmp_path / "torchrun"
    done = distributed_test.torchrun(distributed_test.WORKER, [
        "train", *distributed_test.flags(config), "--arch", config.arch, "--image-size", "32",
        "--fine-tune", "head", "--no-augment", "--momentum", "0.9", "--run-dir", str(run)],
        tmp_path / "home")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "computed once per image and kept" in done.stdout + done.stderr

    one, _ = distributed_test.trained_in_one_process(config)
    distributed_test.assert_same_metrics(distributed_test.history(run), one.history)
    distributed_test.assert_same_weights(load_checkpoint(run / "checkpoint.pt").model_state,
                                         one.checkpoint().model_state)


def test_compile_compiles_the_head_that_trains_on_kept_features(torch_home, photos,
                                                                monkeypatch):
    write_zoo_weights(torch_home, "resnet18-imagenet")
    compiled = []

    def compile_quickly(model):  # TorchDynamo without code generation: seconds, not minutes
        compiled.append(model)
        return torch.compile(model, backend="eager")

    monkeypatch.setattr(acceleration, "compile_model", compile_quickly)
    trainer, events = train(config_for(photos, epochs=1), False, monkeypatch,
                            compile_model=True)
    assert compiled == [trainer.setup.feature_plan.tail]
    assert any(m.startswith("Compiled the model (torch.compile)") for m in logs(events))
