"""engine.inference.inspect on every architecture: activation shapes, first layer, heat maps, and a
model left exactly as it was."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from engine.inference.inspect import conv_layer_names, inspect_image
from engine.models.architectures import MODELS, build_model

# (channels, size) an architecture is inspected at: digits for the small ones, photos else.
SHAPES = {"softmax": (1, 28), "mlp": (1, 28), "lenet5": (1, 32), "lenet5-relu": (3, 32)}


def built(arch: str, classes: int = 10) -> tuple[nn.Module, torch.Tensor]:
    channels, size = SHAPES.get(arch, (3, 32))
    torch.manual_seed(0)
    model = build_model(arch, channels, classes, size)
    return model, torch.randn(1, channels, size, size)


def expected_conv_shapes(model: nn.Module, x: torch.Tensor) -> list[tuple[int, int, int]]:
    """Each conv layer's output shape, worked out by running each conv on what it gets."""
    shapes = []

    def pre(module, inputs):
        with torch.no_grad():
            out = nn.functional.conv2d(inputs[0], module.weight, module.bias, module.stride,
                                       module.padding, module.dilation, module.groups)
        shapes.append(tuple(out.shape[1:]))

    handles = [m.register_forward_pre_hook(pre) for m in model.modules()
               if isinstance(m, nn.Conv2d)]
    with torch.no_grad():
        model.eval()(x)
    for handle in handles:
        handle.remove()
    return shapes


@pytest.mark.parametrize("arch", list(MODELS))
def test_every_conv_layer_is_caught_with_its_shape(arch):
    model, x = built(arch)
    expected = expected_conv_shapes(model, x)
    insight = inspect_image(model, x)

    assert [layer.name for layer in insight.activations] == conv_layer_names(model)
    assert [(layer.channels, *layer.size) for layer in insight.activations] == expected
    assert [layer.index for layer in insight.activations] == list(range(1, len(expected) + 1))
    if arch in ("softmax", "mlp"):
        assert insight.activations == []


@pytest.mark.parametrize("arch", list(MODELS))
def test_the_model_is_left_as_it_was(arch):
    model, x = built(arch)
    model.train()
    model.get_submodule(conv_layer_names(model)[0] if conv_layer_names(model) else "1").eval()
    modes = {name: m.training for name, m in model.named_modules()}
    state = {k: v.clone() for k, v in model.state_dict().items()}  # BN running stats too

    inspect_image(model, x)

    assert {name: m.training for name, m in model.named_modules()} == modes
    after = model.state_dict()
    assert all(torch.equal(state[k], after[k]) for k in state)
    assert all(p.grad is None for p in model.parameters())
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())


def test_hooks_are_removed_when_the_model_fails():
    model, _ = built("cifar-cnn")
    with pytest.raises(RuntimeError):
        inspect_image(model, torch.randn(1, 1, 32, 32))  # 1 channel for a 3-channel net
    assert all(not m._forward_hooks for m in model.modules())


@pytest.mark.parametrize("arch", list(MODELS))
def test_answer_heat_map_and_first_layer(arch):
    model, x = built(arch)
    insight = inspect_image(model, x, max_maps=5, max_units=7)

    with torch.no_grad():
        expected = torch.softmax(model.eval()(x), dim=1)[0]
    assert torch.allclose(torch.from_numpy(insight.probabilities), expected, atol=1e-5)
    assert insight.predicted == int(expected.argmax())
    assert insight.heat.shape == tuple(x.shape[-2:])
    assert insight.heat.min() >= 0 and insight.heat.max() <= 1
    assert all(layer.maps.shape[0] == min(5, layer.channels) for layer in insight.activations)

    first = insight.first_layer
    if arch in ("softmax", "mlp"):
        assert insight.heat_method == "saliency (input gradients)"
        linear = next(m for m in model.modules() if isinstance(m, nn.Linear))
        assert first.kind == "linear" and first.count == linear.out_features
        assert first.weights.shape == (7, *x.shape[1:])
        assert torch.equal(torch.from_numpy(first.weights[2]).flatten(), linear.weight[2])
    else:
        assert insight.heat_method.startswith("HiResCAM on the last ")
        conv = next(m for m in model.modules() if isinstance(m, nn.Conv2d))
        assert first.kind == "conv" and first.count == conv.out_channels
        assert torch.equal(torch.from_numpy(first.weights), conv.weight[:7].detach())


def test_the_class_map_uses_the_last_fine_enough_feature_map():
    resnet, x = built("resnet18")
    assert inspect_image(resnet, x).heat_method == (
        "HiResCAM on the last 4×4 feature map (layer4)")
    small, x = built("cifar-cnn")  # its last 8x8 map is the third ReLU's; then a pool
    assert inspect_image(small, x).heat_method == "HiResCAM on the last 8×8 feature map"


def test_the_class_map_points_at_what_the_winning_class_looks_at():
    """Two inputs channels, each copied by its own filter; class 0 counts channel 0 only.
    The answer comes from channel 0's square (left), not channel 1's (right)."""
    conv = nn.Conv2d(2, 2, 1, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.eye(2).view(2, 2, 1, 1))
    head = nn.Linear(2 * 8 * 8, 2, bias=False)
    with torch.no_grad():
        head.weight.zero_()
        head.weight[0, : 8 * 8] = 1.0  # class 0: the sum of channel 0
    model = nn.Sequential(conv, nn.ReLU(), nn.Flatten(), head)
    x = torch.zeros(1, 2, 8, 8)
    x[0, 0, 2:5, 0:3] = 1.0  # channel 0: a square on the left
    x[0, 1, 2:5, 5:8] = 1.0  # channel 1: a square on the right

    insight = inspect_image(model, x)

    assert insight.predicted == 0
    assert insight.heat[2:5, 0:3].min() > 0.9
    assert insight.heat[:, 5:].max() == 0


def test_the_class_map_tells_apart_places_within_one_map():
    """One channel with two squares; class 0 counts the left half of the map only. Grad-CAM's
    channel average would light both squares; the class map lights the counted one."""
    conv = nn.Conv2d(1, 1, 1, bias=False)
    with torch.no_grad():
        conv.weight.fill_(1.0)
    head = nn.Linear(8 * 8, 2, bias=False)
    with torch.no_grad():
        head.weight.zero_()
        head.weight[0].view(8, 8)[:, :4] = 1.0
    model = nn.Sequential(conv, nn.ReLU(), nn.Flatten(), head)
    x = torch.zeros(1, 1, 8, 8)
    x[0, 0, 2:5, 0:3] = 1.0
    x[0, 0, 2:5, 5:8] = 1.0

    insight = inspect_image(model, x)

    assert insight.predicted == 0
    assert insight.heat[2:5, 0:3].min() > 0.9
    assert insight.heat[:, 5:].max() == 0


def test_saliency_shows_the_pixels_a_linear_model_weighs():
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 2, bias=False))
    with torch.no_grad():
        model[1].weight.zero_()
        model[1].weight[0].view(4, 4)[:, :2] = 1.0  # class 0 weighs the left half only
    insight = inspect_image(model, torch.ones(1, 1, 4, 4))
    assert insight.predicted == 0
    assert (insight.heat[:, :2] == 1).all() and (insight.heat[:, 2:] == 0).all()


def test_one_image_only():
    model, _ = built("lenet5")
    with pytest.raises(ValueError, match="one image"):
        inspect_image(model, torch.zeros(2, 1, 32, 32))
