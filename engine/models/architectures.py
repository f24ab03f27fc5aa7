"""The architectures a person can train, from softmax regression to ResNet-18.

Each entry builds an `nn.Module` from (in_channels, num_classes, image_size), so one
architecture serves greyscale 28x28 digits and colour 32x32 photos alike. Sizes that feed a
fully connected layer are measured with a dummy forward pass at build time (never
`LazyLinear`): a freshly built model has every weight in place, so a checkpoint's state
dict loads into it directly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import torch
import torchvision
from torch import nn

from engine.catalog import ARCHITECTURES
from engine.models import pretrained

MIN_IMAGE_SIZE = 8  # every builder works from here up (the config allows 8..512)


@dataclass(frozen=True)
class ModelSpec:
    name: str  # registry key
    title: str  # what the picker shows
    description: str  # one line a learner understands
    input_size: int | None  # square input size the architecture expects; None = dataset's own
    build: Callable[[int, int, int], nn.Module]  # (in_channels, num_classes, image_size)


def _flat_features(features: nn.Module, in_channels: int, image_size: int) -> int:
    """How many numbers `features` outputs for one image: the first linear layer's width."""
    with torch.no_grad():
        dummy = torch.zeros(1, in_channels, image_size, image_size)
        return features(dummy).numel()


def softmax_regression(in_channels: int, num_classes: int, image_size: int) -> nn.Module:
    return nn.Sequential(
        nn.Flatten(), nn.Linear(in_channels * image_size * image_size, num_classes)
    )


def mlp(
    in_channels: int, num_classes: int, image_size: int, dropout: float = 0.2
) -> nn.Module:
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(in_channels * image_size * image_size, 256), nn.ReLU(), nn.Dropout(dropout),
        nn.Linear(256, 128), nn.ReLU(), nn.Dropout(dropout),
        nn.Linear(128, num_classes),
    )


def _lenet(
    in_channels: int, num_classes: int, image_size: int, activation: type[nn.Module],
    pool: type[nn.Module],
) -> nn.Module:
    # Each unpadded 5x5 convolution trims 4 pixels and each pool halves what is left: below
    # 16 pixels nothing would reach the dense layers, so tiny images get "same" padding.
    padding = 0 if image_size >= 16 else 2
    features = nn.Sequential(
        nn.Conv2d(in_channels, 6, kernel_size=5, padding=padding), activation(), pool(2),
        nn.Conv2d(6, 16, kernel_size=5, padding=padding), activation(), pool(2),
        nn.Flatten(),
    )
    return nn.Sequential(
        *features,
        nn.Linear(_flat_features(features, in_channels, image_size), 120), activation(),
        nn.Linear(120, 84), activation(),
        nn.Linear(84, num_classes),
    )


def lenet5(in_channels: int, num_classes: int, image_size: int) -> nn.Module:
    """LeCun et al. 1998, with full connections between the conv layers and a linear output
    layer instead of the paper's RBF units (as in d2l.ai)."""
    return _lenet(in_channels, num_classes, image_size, nn.Sigmoid, nn.AvgPool2d)


def lenet5_relu(in_channels: int, num_classes: int, image_size: int) -> nn.Module:
    return _lenet(in_channels, num_classes, image_size, nn.ReLU, nn.MaxPool2d)


def cifar_cnn(in_channels: int, num_classes: int, image_size: int) -> nn.Module:
    # "Same" padding: only the pools shrink the image, so 8x8 inputs still reach 1x1.
    features = nn.Sequential(
        nn.Conv2d(in_channels, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 128, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
    )
    return nn.Sequential(
        *features,
        nn.Linear(_flat_features(features, in_channels, image_size), 256), nn.ReLU(),
        nn.Linear(256, num_classes),
    )


def alexnet(in_channels: int, num_classes: int, image_size: int) -> nn.Module:
    """Krizhevsky et al. 2012 for 32x32 images: 5x5/3x3 kernels at stride 1 instead of the
    11x11 stride-4 opening (meant for 224x224), the channel widths of one of the paper's two
    GPUs (48-128-192-192-128), and 1024-wide dropout layers instead of 4096."""
    return nn.Sequential(
        nn.Conv2d(in_channels, 48, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(48, 128, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(128, 192, 3, padding=1), nn.ReLU(),
        nn.Conv2d(192, 192, 3, padding=1), nn.ReLU(),
        nn.Conv2d(192, 128, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        # As torchvision's AlexNet: a fixed 4x4 grid (what 32x32 gives anyway) keeps the
        # classifier the same size whatever the image size.
        nn.AdaptiveAvgPool2d(4), nn.Flatten(),
        nn.Dropout(0.5), nn.Linear(128 * 4 * 4, 1024), nn.ReLU(),
        nn.Dropout(0.5), nn.Linear(1024, 1024), nn.ReLU(),
        nn.Linear(1024, num_classes),
    )


VGG11_LAYERS = (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M")


def vgg11(
    in_channels: int, num_classes: int, image_size: int, width_ratio: float = 0.25
) -> nn.Module:
    """Simonyan & Zisserman 2014, configuration A with batch norm; `width_ratio` scales every
    layer's width (0.25: a quarter of the paper's channels, as d2l.ai trains it)."""
    layers: list[nn.Module] = []
    channels = in_channels
    for item in VGG11_LAYERS:
        if item == "M":
            # ceil_mode: a 1x1 map stays 1x1, so five pools also work on images under 32.
            layers.append(nn.MaxPool2d(2, ceil_mode=True))
        else:
            width = max(1, round(item * width_ratio))
            layers += [nn.Conv2d(channels, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU()]
            channels = width
    hidden = max(1, round(4096 * width_ratio))
    return nn.Sequential(
        *layers,
        # 32x32 ends at 1x1 already; larger images are averaged down so the classifier keeps
        # its size.
        nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(channels, hidden), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(hidden, hidden), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(hidden, num_classes),
    )


def _mlpconv(in_channels: int, widths: tuple[int, int, int], kernel_size: int) -> list[nn.Module]:
    """NiN's building block: a spatial convolution followed by two 1x1 convolutions, i.e. a
    small MLP applied at every pixel."""
    first, second, third = widths
    return [
        nn.Conv2d(in_channels, first, kernel_size, padding=kernel_size // 2), nn.ReLU(),
        nn.Conv2d(first, second, 1), nn.ReLU(),
        nn.Conv2d(second, third, 1),
    ]


def nin(in_channels: int, num_classes: int, image_size: int) -> nn.Module:
    """Lin et al. 2013, the paper's CIFAR-10 network: three mlpconv blocks, the last one
    producing one map per class, averaged into the logits (no fully connected layer)."""
    return nn.Sequential(
        *_mlpconv(in_channels, (192, 160, 96), 5), nn.ReLU(),
        nn.MaxPool2d(3, stride=2, padding=1), nn.Dropout(0.5),
        *_mlpconv(96, (192, 192, 192), 5), nn.ReLU(),
        nn.MaxPool2d(3, stride=2, padding=1), nn.Dropout(0.5),
        # No ReLU after the class maps: logits must be free to go negative.
        *_mlpconv(192, (192, 192, num_classes), 3),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(),
    )


def _conv_bn_relu(in_channels: int, out_channels: int, kernel_size: int) -> nn.Sequential:
    # Batch norm as in torchvision's GoogLeNet: the 2014 original trained without it, using
    # auxiliary classifiers instead, which a small network does not need.
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(),
    )


class Inception(nn.Module):
    """Four parallel paths over the same input, stacked along channels: 1x1; 1x1 then 3x3;
    1x1 then 5x5; 3x3 max pool then 1x1. The 1x1s keep the wide kernels cheap."""

    def __init__(
        self, in_channels: int, c1: int, c3: tuple[int, int], c5: tuple[int, int], pool: int
    ) -> None:
        super().__init__()
        self.path1 = _conv_bn_relu(in_channels, c1, 1)
        self.path3 = nn.Sequential(_conv_bn_relu(in_channels, c3[0], 1), _conv_bn_relu(*c3, 3))
        self.path5 = nn.Sequential(_conv_bn_relu(in_channels, c5[0], 1), _conv_bn_relu(*c5, 5))
        self.path_pool = nn.Sequential(
            nn.MaxPool2d(3, stride=1, padding=1), _conv_bn_relu(in_channels, pool, 1)
        )
        self.out_channels = c1 + c3[1] + c5[1] + pool

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        paths = (self.path1, self.path3, self.path5, self.path_pool)
        return torch.cat([path(x) for path in paths], dim=1)


def googlenet(in_channels: int, num_classes: int, image_size: int) -> nn.Module:
    """Szegedy et al. 2014, small: one 3x3 stem convolution instead of the 7x7 stride-2 stem,
    and five Inception blocks (3a, 3b, 4a, 4b, 5a) at half the paper's widths."""
    blocks = [
        Inception(64, 32, (48, 64), (8, 16), 16),  # -> 128
        Inception(128, 64, (64, 96), (16, 48), 32),  # -> 240
        Inception(240, 96, (48, 104), (8, 24), 32),  # -> 256
        Inception(256, 80, (56, 112), (12, 32), 32),  # -> 256
        Inception(256, 128, (80, 160), (16, 64), 64),  # -> 416
    ]
    return nn.Sequential(
        # Each 3x3 stride-2 pool (padding 1) halves the size; a 1x1 map stays 1x1.
        _conv_bn_relu(in_channels, 64, 3), nn.MaxPool2d(3, stride=2, padding=1),
        blocks[0], blocks[1], nn.MaxPool2d(3, stride=2, padding=1),
        blocks[2], blocks[3], nn.MaxPool2d(3, stride=2, padding=1),
        blocks[4],
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.4),
        nn.Linear(blocks[4].out_channels, num_classes),
    )


def resnet18(in_channels: int, num_classes: int, image_size: int) -> nn.Module:
    """torchvision's ResNet-18 with the usual small-image stem: its 7x7 stride-2 convolution
    and max pool would shrink a 32x32 image to 8x8 before the first residual block."""
    model = torchvision.models.resnet18(weights=None, num_classes=num_classes)
    model.conv1 = nn.Conv2d(in_channels, 64, kernel_size=3, stride=1, padding=1, bias=False)
    # Initialised the way torchvision initialises the convolution it replaces.
    nn.init.kaiming_normal_(model.conv1.weight, mode="fan_out", nonlinearity="relu")
    model.maxpool = nn.Identity()
    return model


_BUILDERS: dict[str, Callable[[int, int, int], nn.Module]] = {
    "softmax": softmax_regression,
    "mlp": mlp,
    "lenet5": lenet5,
    "lenet5-relu": lenet5_relu,
    "cifar-cnn": cifar_cnn,
    "alexnet": alexnet,
    "vgg11": vgg11,
    "nin": nin,
    "googlenet": googlenet,
    "resnet18": resnet18,
    # torchvision's zoo, with random weights: the trainer loads ImageNet's into a fresh run
    # (engine.models.pretrained), a checkpoint's load over them as they are.
    **{name: partial(pretrained.build, name) for name in pretrained.ZOO},
}

# Titles, descriptions and input sizes live in the torch-free catalog (engine.catalog).
MODELS: dict[str, ModelSpec] = {
    name: ModelSpec(name, info.title, info.description, info.input_size, _BUILDERS[name])
    for name, info in ARCHITECTURES.items()
}


def _spec(name: str) -> ModelSpec:
    if name not in MODELS:
        raise ValueError(
            f"Unknown architecture '{name}'. Choose one of: {', '.join(MODELS)}."
        )
    return MODELS[name]


def build_model(name: str, in_channels: int, num_classes: int, image_size: int) -> nn.Module:
    """A freshly initialised `name` network for (in_channels, image_size, image_size) images."""
    spec = _spec(name)
    if in_channels < 1:
        raise ValueError(f"Images need at least one channel, not {in_channels}.")
    if num_classes < 2:
        raise ValueError(
            f"A classifier needs at least two classes, not {num_classes}: add more classes "
            "to the dataset."
        )
    if image_size < MIN_IMAGE_SIZE:
        raise ValueError(
            f"Images of {image_size}x{image_size} pixels are too small; use an image size of "
            f"at least {MIN_IMAGE_SIZE}."
        )
    return spec.build(in_channels, num_classes, image_size)


def input_size_for(name: str, dataset_image_size: int, override: int = 0) -> int:
    """The square size images are resized to for `name`: a positive `override` (the config's
    image_size) wins, then the size the architecture expects, then the dataset's own."""
    spec = _spec(name)
    if override < 0:
        raise ValueError(f"Image size must be 0 (automatic) or positive, not {override}.")
    if override > 0:
        return override
    return spec.input_size if spec.input_size is not None else dataset_image_size


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
