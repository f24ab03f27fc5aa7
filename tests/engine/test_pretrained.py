"""Pretrained networks (engine/models/pretrained.py): torchvision's weights file is really loaded,
head-only training freezes the backbone (batch-norm statistics too), fine-tuning everything
trains it at a tenth of the rate, and their runs' checkpoints open and resume.

Every test gets its own TORCH_HOME. The weights files are stand-ins (tests/zoo_weights.py:
a random network's state_dict, saved under torchvision's file name), and downloading is
replaced by a failure, so nothing is ever downloaded.
"""

from __future__ import annotations

import hashlib
import io

import pytest
import torch
import torchvision
from torch import nn

from engine.catalog import ARCHITECTURES, image_size_to_load, is_pretrained
from engine.cli.train import build_parser, config_from_args
from engine.config import TrainConfig
from engine.data import DatasetError
from engine.data.folder import load_folder
from engine.events import DataProgress, LogLine, RunStart
from engine.models.architectures import build_model, pretrained
from engine.records.checkpoint import build_model_from_checkpoint, load_checkpoint
from engine.training.optim import build_optimizer, build_scheduler, change_lr
from engine.training.trainer import Trainer
from tests.zoo_weights import write_zoo_weights, zoo_weights_name
from tools.sample_datasets import write_cifar_batches, write_image_folder

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


# Each test gets an empty torch.hub cache of its own, offline (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("torch_home")


@pytest.fixture
def photos(tmp_path):
    """2 classes of colour photos: 10 to train on, 2 to test."""
    return write_image_folder(tmp_path / "photos", classes=2, per_class=6, size=40)


def head_keys(model: nn.Module, arch: str) -> set[str]:
    return {f"{pretrained.ZOO[arch].head}.{key}"
            for key in pretrained.head(model, arch).state_dict()}


def run_recording_start(config: TrainConfig, **kwargs) -> tuple[Trainer, object, dict]:
    """Run; return the trainer, its end, and the model's state when training began."""
    trainer = Trainer(config, **kwargs)
    start: dict[str, torch.Tensor] = {}

    def listen(event):
        if isinstance(event, RunStart):
            start.update({k: v.clone() for k, v in trainer.model.state_dict().items()})

    end = trainer.run(listen)
    return trainer, end, start


def config_for(folder, **changes) -> TrainConfig:
    values = dict(arch="resnet18-imagenet", dataset="folder", data_dir=str(folder), epochs=1,
                  batch_size=4, image_size=64, optimizer="sgd", lr=0.05, momentum=0.0,
                  threads=1)
    return TrainConfig(**(values | changes))


# -- the weights file ------------------------------------------------------------------


def test_the_weights_file_is_torchvisions_own_in_torch_home(torch_home):
    folder = torch_home / "hub" / "checkpoints"
    assert pretrained.weights_folder() == folder
    assert pretrained.weights_path("resnet18-imagenet") == folder / "resnet18-f37072fd.pth"
    assert (pretrained.weights_path("mobilenet-v3-small-imagenet")
            == folder / "mobilenet_v3_small-047dcff4.pth")
    assert (pretrained.weights_path("efficientnet-b0-imagenet")
            == folder / "efficientnet_b0_rwightman-7f5810bc.pth")
    # The same enum torchvision's own weights API gives.
    assert (pretrained.weights_enum("resnet18-imagenet")
            is torchvision.models.ResNet18_Weights.IMAGENET1K_V1)


@pytest.mark.parametrize("arch", list(pretrained.ZOO))
def test_input_size_and_normalisation_come_from_the_weights_transforms(arch):
    size, mean, std = pretrained.preprocessing(arch)
    assert size == ARCHITECTURES[arch].input_size == 224
    assert mean == pytest.approx(IMAGENET_MEAN) and std == pytest.approx(IMAGENET_STD)
    assert is_pretrained(arch) and image_size_to_load(arch, 0) == 224
    assert image_size_to_load(arch, 96) == 96  # a chosen size wins
    assert not is_pretrained("resnet18") and image_size_to_load("mlp", 0) == 32


@pytest.mark.parametrize("arch", list(pretrained.ZOO))
def test_the_pretrained_file_is_really_loaded(torch_home, arch):
    state = write_zoo_weights(torch_home, arch)
    model = build_model(arch, 3, 4, 32)
    skip = head_keys(model, arch)
    backbone = [k for k in state if k not in skip]
    assert not all(torch.equal(model.state_dict()[k], state[k]) for k in backbone)

    path = pretrained.load_imagenet_weights(model, arch, lambda event: None)

    assert path == pretrained.weights_path(arch) and path.name == zoo_weights_name(arch)
    loaded = model.state_dict()
    assert all(torch.equal(loaded[k], state[k]) for k in backbone)
    assert pretrained.head(model, arch).out_features == 4  # the dataset's classes, not 1000


def test_offline_the_run_says_which_file_goes_where_and_ends_cleanly(torch_home, photos):
    trainer = Trainer(config_for(photos))
    end = trainer.run(lambda event: None)

    folder = torch_home / "hub" / "checkpoints"
    assert end.reason == "failed" and end.epochs_done == 0
    assert "resnet18-f37072fd.pth" in end.message and str(folder) in end.message
    assert "https://download.pytorch.org/models/resnet18-f37072fd.pth" in end.message
    assert "offline" in end.message
    missing = end.missing_data
    assert missing.kind == "weights" and missing.files == ("resnet18-f37072fd.pth",)
    assert missing.folder == str(folder) and folder.is_dir()  # ready to put the file in


def test_a_download_reports_progress_and_is_checked_against_its_name(
        torch_home, monkeypatch):
    arch = "mobilenet-v3-small-imagenet"
    torch.manual_seed(3)
    buffer = io.BytesIO()
    state = torchvision.models.mobilenet_v3_small().state_dict()
    torch.save(state, buffer)
    data = buffer.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    name = f"mobilenet_v3_small-{digest[:8]}.pth"  # as torchvision names a file: its hash
    folder = torch_home / "hub" / "checkpoints"
    monkeypatch.setattr(pretrained, "weights_path", lambda _arch: folder / name)

    def fake_download(urls, dest, md5, dataset, progress):
        assert urls == [pretrained.weights_enum(arch).url]
        for done in (0, len(data) // 2, len(data)):
            progress(DataProgress(dataset, f"Downloading {dest.name}", done, len(data)))
        dest.write_bytes(data)

    monkeypatch.setattr(pretrained, "download", fake_download)
    events = []
    model = build_model(arch, 3, 2, 32)
    pretrained.load_imagenet_weights(model, arch, events.append)

    assert [e.done for e in events[:3]] == [0, len(data) // 2, len(data)]
    assert events[-1].message == f"Downloaded {name}"
    assert torch.equal(model.state_dict()["features.0.0.weight"], state["features.0.0.weight"])

    (folder / name).unlink()  # the same download, arriving damaged: refused and removed
    monkeypatch.setattr(pretrained, "download", lambda urls, dest, *_: dest.write_bytes(
        data[:-1] + b"x"))
    with pytest.raises(pretrained.WeightsMissing, match="arrived damaged"):
        pretrained.load_imagenet_weights(build_model(arch, 3, 2, 32), arch, events.append)
    assert not (folder / name).exists()


def test_a_damaged_or_wrong_weights_file_is_refused_with_what_to_do(torch_home):
    arch = "resnet18-imagenet"
    path = pretrained.weights_path(arch)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a weights file")
    with pytest.raises(pretrained.WeightsError, match="cannot be read.*Delete it"):
        pretrained.load_imagenet_weights(build_model(arch, 3, 2, 32), arch, print)

    torch.save(torchvision.models.mobilenet_v3_small().state_dict(), path)
    with pytest.raises(pretrained.WeightsError, match="not hold the ImageNet weights of ResNet-18"):
        pretrained.load_imagenet_weights(build_model(arch, 3, 2, 32), arch, print)


# -- what trains -----------------------------------------------------------------------


def test_head_only_freezes_the_backbone_and_its_batch_norm_statistics(torch_home, photos):
    arch = "resnet18-imagenet"
    state = write_zoo_weights(torch_home, arch)
    trainer, end, start = run_recording_start(config_for(photos, fine_tune="head"))

    assert end.reason in ("finished", "learned_nothing"), end.message
    after = trainer.model.state_dict()
    head = head_keys(trainer.model, arch)
    backbone = [k for k in after if k not in head]
    # Every pretrained tensor is the file's, after training as before: weights, and batch
    # norm's running means, variances and counts (kept in eval mode while frozen).
    assert all(torch.equal(after[k], state[k]) for k in backbone)
    assert any("running_mean" in k for k in backbone)
    assert not all(torch.equal(after[k], start[k]) for k in head)  # the head learned
    assert not any(p.requires_grad for name, p in trainer.model.named_parameters()
                   if name not in head)


@pytest.mark.parametrize(("mode", "frozen"), [("head", True), ("all", False)])
def test_frozen_batch_norm_keeps_imagenet_statistics_in_train_mode(mode, frozen):
    arch = "mobilenet-v3-small-imagenet"
    model = build_model(arch, 3, 2, 32)
    pretrained.set_fine_tuning(model, arch, mode)
    x = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        in_eval_mode = model.eval().features(x)  # the layers before the head (no dropout)
        model.train()  # as the trainer does before every epoch
        before = {k: v.clone() for k, v in model.state_dict().items()}
        in_train_mode = model.features(x)
    after = model.state_dict()
    # Frozen: normalised by the stored statistics, which stay as they were. Trained: by
    # each batch's own, which also update the stored ones.
    assert all(torch.equal(before[k], after[k]) for k in before) == frozen
    assert torch.allclose(in_train_mode, in_eval_mode, atol=1e-5) == frozen


def test_fine_tuning_everything_changes_the_backbone(torch_home, photos):
    arch = "resnet18-imagenet"
    state = write_zoo_weights(torch_home, arch)
    trainer, end, start = run_recording_start(config_for(photos, fine_tune="all"))

    assert end.reason in ("finished", "learned_nothing"), end.message
    assert torch.equal(start["conv1.weight"], state["conv1.weight"])  # started from the file
    after = trainer.model.state_dict()
    assert not torch.equal(after["conv1.weight"], state["conv1.weight"])
    assert not torch.equal(after["bn1.running_mean"], state["bn1.running_mean"])  # trains
    groups = trainer.optimizer.param_groups
    assert [g["lr"] for g in groups] == pytest.approx([0.05, 0.005])
    assert {id(p) for p in groups[0]["params"]} == {
        id(p) for p in trainer.model.fc.parameters()}


def test_the_backbone_steps_at_a_tenth_of_the_learning_rate():
    arch = "resnet18-imagenet"
    torch.manual_seed(0)
    model = build_model(arch, 3, 3, 32)
    pretrained.set_fine_tuning(model, arch, "all")
    optimizer = build_optimizer(model, TrainConfig(optimizer="sgd", lr=0.1, momentum=0.0))
    model.train()
    nn.functional.cross_entropy(model(torch.randn(4, 3, 32, 32)),
                                torch.tensor([0, 1, 2, 0])).backward()
    before = {name: (p.detach().clone(), p.grad.clone())
              for name, p in model.named_parameters()}
    optimizer.step()
    for name, p in model.named_parameters():
        weight, grad = before[name]
        rate = 0.1 if name.startswith("fc.") else 0.01
        assert torch.allclose(p.detach(), weight - rate * grad, atol=1e-7), name


def test_a_changed_rate_and_one_cycle_keep_the_groups_ratio():
    arch = "mobilenet-v3-small-imagenet"
    model = build_model(arch, 3, 2, 32)
    pretrained.set_fine_tuning(model, arch, "all")
    config = TrainConfig(optimizer="sgd", lr=0.1)
    optimizer = build_optimizer(model, config)
    change_lr(optimizer, None, 0.1, 0.02)
    assert [g["lr"] for g in optimizer.param_groups] == pytest.approx([0.02, 0.002])

    optimizer = build_optimizer(model, config.replace(schedule="onecycle", epochs=2))
    scheduler = build_scheduler(optimizer, config.replace(schedule="onecycle", epochs=2), 5)
    for _ in range(4):
        optimizer.step()
        scheduler.step()
        head_lr, backbone_lr = (g["lr"] for g in optimizer.param_groups)
        assert backbone_lr == pytest.approx(head_lr / 10)


# -- data the networks take ----------------------------------------------------------------


def test_folder_images_are_loaded_at_the_networks_size_and_greyscale_becomes_colour(
        torch_home, tmp_path):
    arch = "resnet18-imagenet"
    write_zoo_weights(torch_home, arch)
    grey = write_image_folder(tmp_path / "grey", classes=2, per_class=4, size=40, mode="L")
    config = config_for(grey, image_size=0, epochs=1, batch_size=6)
    trainer = Trainer(config)
    logs = []
    end = trainer.run(lambda e: logs.append(e.message) if isinstance(e, LogLine) else None)

    assert end.reason in ("finished", "learned_nothing"), end.message
    assert trainer.dataset.image_size == 224 and trainer.dataset.channels == 1
    assert trainer.input_size == 224
    ckpt = trainer.checkpoint()
    assert ckpt.in_channels == 3 and ckpt.input_size == 224
    assert ckpt.mean == pytest.approx(IMAGENET_MEAN) and ckpt.std == pytest.approx(IMAGENET_STD)
    assert any("of 1x224x224" in line and "392 KB in memory" in line for line in logs)
    assert any("input 3x224x224" in line for line in logs)


def test_cifar10_stays_32x32_in_memory_and_is_resized_per_batch(torch_home, tmp_path):
    arch = "mobilenet-v3-small-imagenet"
    write_zoo_weights(torch_home, arch)
    write_cifar_batches(tmp_path, n_per_batch=2, n_test=4)
    config = TrainConfig(arch=arch, dataset="cifar10", data_dir=str(tmp_path), epochs=1,
                         batch_size=5, threads=1)
    trainer = Trainer(config)
    end = trainer.run(lambda event: None)

    assert end.reason in ("finished", "learned_nothing"), end.message
    assert trainer.dataset.image_size == 32 and trainer.input_size == 224
    x = trainer.setup.pipeline(trainer.dataset.test_images[:2])
    assert x.shape == (2, 3, 224, 224)


def test_a_folder_too_big_for_the_memory_is_refused_before_decoding(photos, monkeypatch):
    monkeypatch.setattr("engine.data.folder.available_bytes", lambda: 2_000_000)
    events = []
    with pytest.raises(DatasetError) as refused:
        load_folder(photos, events.append, 224)
    message = str(refused.value)
    # 12 colour images of 224x224: 1.7 MiB, more than half of 1.9 MiB ("MB" as the app
    # says every size).
    assert "12 images" in message and "1.7 MB" in message and "1.9 MB is free" in message
    assert "smaller image size" in message and "160 would take 900 KB" in message
    assert events == []  # nothing was decoded

    monkeypatch.setattr("engine.data.folder.available_bytes", lambda: 4_000_000)
    loaded = load_folder(photos, events.append, 224)
    assert loaded.image_size == 224
    assert events[0].message == "Loading 12 images at 224x224 (1.7 MB in memory at most)"
    assert events[-1].message == "Loaded 12 images at 224x224 (1.7 MB in memory)"


# -- checkpoints -----------------------------------------------------------------------


def test_a_pretrained_run_opens_and_resumes_without_the_weights_file(
        torch_home, photos, tmp_path):
    arch = "resnet18-imagenet"
    state = write_zoo_weights(torch_home, arch)
    run_dir = tmp_path / "run"
    trainer = Trainer(config_for(photos), run_dir=run_dir)
    assert trainer.run(lambda event: None).epochs_done == 1
    pretrained.weights_path(arch).unlink()  # opening and resuming never need it

    ckpt = load_checkpoint(run_dir / "checkpoint.pt")
    assert ckpt.config.arch == arch and len(ckpt.class_names) == 2
    model = build_model_from_checkpoint(ckpt)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(model(x), trainer.model.eval()(x), atol=1e-5)

    resumed = Trainer(config_for(photos, epochs=2), run_dir=run_dir,
                      resume_from=run_dir / "checkpoint.pt")
    end = resumed.run(lambda event: None)
    assert end.epochs_done == 2, end.message
    after = resumed.model.state_dict()
    assert torch.equal(after["layer1.0.bn1.running_var"], state["layer1.0.bn1.running_var"])


def test_the_settings_take_the_fine_tuning_mode(photos):
    assert TrainConfig().fine_tune == "head"
    assert "fine_tune" in TrainConfig(fine_tune="some").problems()
    args = build_parser().parse_args(["--arch", "efficientnet-b0-imagenet", "--fine-tune",
                                      "all"])
    config = config_from_args(args)
    assert (config.arch, config.fine_tune) == ("efficientnet-b0-imagenet", "all")
    assert not config.problems()


def test_torchvisions_own_weights_file_opens_as_the_pretrained_network(torch_home):
    state = write_zoo_weights(torch_home, "resnet18-imagenet")
    ckpt = load_checkpoint(pretrained.weights_path("resnet18-imagenet"))

    assert ckpt.config.arch == "resnet18-imagenet" and len(ckpt.class_names) == 1000
    assert (ckpt.in_channels, ckpt.input_size) == (3, 224)
    assert ckpt.mean == pytest.approx(IMAGENET_MEAN) and ckpt.std == pytest.approx(IMAGENET_STD)
    assert "ImageNet's normalisation" in ckpt.assumed
    reference = torchvision.models.resnet18()
    reference.load_state_dict(state)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(build_model_from_checkpoint(ckpt)(x), reference.eval()(x))
