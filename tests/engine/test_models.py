import pytest
import torch
from torch import nn

from engine.catalog import is_pretrained, network_channels
from engine.models.architectures import (
    MIN_IMAGE_SIZE,
    MODELS,
    build_model,
    count_parameters,
    input_size_for,
    vgg11,
)


def _forward_backward(model: nn.Module, in_channels: int, image_size: int) -> torch.Tensor:
    model.train()
    images = torch.randn(2, in_channels, image_size, image_size)
    logits = model(images)
    logits.sum().backward()
    return logits


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize(
    ("in_channels", "image_size", "num_classes"), [(1, 28, 10), (3, 32, 2)]
)
def test_trains_on_digits_and_colour_photos(name, in_channels, image_size, num_classes):
    in_channels = network_channels(name, in_channels)  # pretrained ones: greyscale as colour
    model = build_model(name, in_channels, num_classes, image_size)
    logits = _forward_backward(model, in_channels, image_size)
    assert logits.shape == (2, num_classes)
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)


# The pretrained networks' own size is 224: tests/engine/test_pretrained.py trains one there.
@pytest.mark.parametrize("name", [name for name in MODELS if not is_pretrained(name)])
def test_trains_at_its_own_input_size(name):
    size = input_size_for(name, dataset_image_size=28)
    channels = network_channels(name, 1)
    model = build_model(name, channels, 5, size)
    assert _forward_backward(model, channels, size).shape == (2, 5)


@pytest.mark.parametrize("name", list(MODELS))
def test_the_smallest_allowed_images_still_reach_the_classifier(name):
    model = build_model(name, 3, 10, MIN_IMAGE_SIZE)
    assert _forward_backward(model, 3, MIN_IMAGE_SIZE).shape == (2, 10)


@pytest.mark.parametrize("name", ["alexnet", "vgg11", "nin", "googlenet", "resnet18"])
def test_large_images_do_not_grow_the_networks_with_global_pooling(name):
    assert count_parameters(build_model(name, 3, 10, 512)) == count_parameters(
        build_model(name, 3, 10, 32)
    )


def test_a_rebuilt_model_takes_a_saved_state_dict():
    original = build_model("lenet5-relu", 1, 10, 28).eval()
    rebuilt = build_model("lenet5-relu", 1, 10, 28).eval()
    rebuilt.load_state_dict(original.state_dict())  # strict: same keys and shapes
    x = torch.randn(2, 1, 28, 28)
    assert torch.equal(rebuilt(x), original(x))


def test_lenet5_has_the_classic_parameter_count():
    # conv1 1*6*5*5 + 6 = 156; conv2 6*16*5*5 + 16 = 2,416; 32x32 -> 28 -> 14 -> 10 -> 5,
    # so fc1 16*5*5*120 + 120 = 48,120; fc2 120*84 + 84 = 10,164; fc3 84*10 + 10 = 850.
    # 156 + 2,416 + 48,120 + 10,164 + 850 = 61,706.
    model = build_model("lenet5", 1, 10, 32)
    assert count_parameters(model) == 61_706
    assert [type(m) for m in model if not isinstance(m, (nn.Conv2d, nn.Linear, nn.Flatten))] == [
        nn.Sigmoid, nn.AvgPool2d, nn.Sigmoid, nn.AvgPool2d, nn.Sigmoid, nn.Sigmoid
    ]
    assert model[0].padding == (0, 0)


def test_lenet5_relu_swaps_in_relu_and_max_pooling():
    model = build_model("lenet5-relu", 1, 10, 32)
    assert count_parameters(model) == 61_706
    assert not any(isinstance(m, (nn.Sigmoid, nn.AvgPool2d)) for m in model)
    assert sum(isinstance(m, nn.MaxPool2d) for m in model) == 2


def test_resnet18_is_torchvisions_with_a_small_image_stem():
    from torchvision.models import ResNet

    model = build_model("resnet18", 1, 7, 32)
    assert isinstance(model, ResNet)
    assert model.conv1.in_channels == 1
    assert model.conv1.kernel_size == (3, 3)
    assert model.conv1.stride == (1, 1)
    assert isinstance(model.maxpool, nn.Identity)
    assert model.fc.out_features == 7


def test_vgg11_width_ratio_scales_the_channels():
    def conv_widths(model):
        return [m.out_channels for m in model if isinstance(m, nn.Conv2d)]

    assert conv_widths(build_model("vgg11", 3, 10, 32)) == [16, 32, 64, 64, 128, 128, 128, 128]
    assert conv_widths(vgg11(3, 10, 32, width_ratio=0.5)) == [32, 64, 128, 128, 256, 256, 256, 256]


def test_registry_is_complete_and_described():
    assert list(MODELS)[:2] == ["softmax", "mlp"]
    assert set(MODELS) == {
        "softmax", "mlp", "lenet5", "lenet5-relu", "alexnet", "vgg11", "nin", "googlenet",
        "resnet18", "cifar-cnn", "resnet18-imagenet", "mobilenet-v3-small-imagenet",
        "efficientnet-b0-imagenet",
    }
    for name, spec in MODELS.items():
        assert spec.name == name
        assert spec.title and spec.description


def test_input_size_rules():
    assert input_size_for("lenet5", 28) == 32  # the architecture's own size
    assert input_size_for("mlp", 28) == 28  # no preference: the dataset's size
    assert input_size_for("softmax", 32) == 32
    assert input_size_for("lenet5", 28, override=64) == 64  # an explicit size wins
    assert input_size_for("mlp", 28, override=16) == 16


def test_unknown_name_lists_the_choices():
    with pytest.raises(ValueError, match="Unknown architecture 'lenet6'.*softmax, mlp, lenet5"):
        build_model("lenet6", 1, 10, 28)
    with pytest.raises(ValueError, match="Choose one of"):
        input_size_for("lenet6", 28)


@pytest.mark.parametrize(
    ("in_channels", "num_classes", "image_size", "message"),
    [(0, 10, 28, "channel"), (1, 1, 28, "two classes"), (1, 10, 4, "too small")],
)
def test_impossible_shapes_are_refused_with_a_reason(in_channels, num_classes, image_size, message):
    with pytest.raises(ValueError, match=message):
        build_model("cifar-cnn", in_channels, num_classes, image_size)
