"""What a network sees in one image: its conv layers' activations, its first layer's
weights, and which pixels its answer rests on.

    insight = inspect_image(model, x)      # x: one normalised input, (1, C, S, S)

Activations are caught by forward hooks on every `nn.Conv2d`, in the order they run (an
Inception block's four paths, a ResNet's shortcut convolutions included). The map of where
the answer comes from is HiResCAM (Draelos & Carin 2020) on the last feature map of at
least 4x4 that is not a pooling layer's: Grad-CAM (Selvaraju et al. 2017) with the gradient
kept cell by cell instead of averaged per channel. Grad-CAM's average is faithful only for
networks that end in global average pooling; LeNet and the small CNN end in dense layers,
where it lit up the empty corners of a drawn digit. Networks without a feature map (softmax
regression, the MLP) get the plain saliency map: how much each input pixel moves the
winning score.

The model is left as it was: every hook is removed, each module's train/eval mode is
restored, and its weights and their `.grad` are not touched (gradients are taken with
`torch.autograd.grad`, never `backward`). Not thread-safe for a model that another thread
runs at the same time: hooks are per module, so give each thread its own copy.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

# The class map's layer: the last feature map with at least this many cells (4x4); a
# coarser one says little about where in the image the answer comes from.
MIN_CAM_CELLS = 16
_POOLS = (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)


@dataclass(frozen=True)
class LayerActivation:
    name: str  # the module's path in the model ("0", "layer1.0.conv1")
    index: int  # 1 for the first conv layer to run
    maps: np.ndarray  # float32 (shown, H, W): the first `shown` of its output channels
    channels: int  # how many maps the layer has in all

    @property
    def size(self) -> tuple[int, int]:
        return int(self.maps.shape[1]), int(self.maps.shape[2])


@dataclass(frozen=True)
class FirstLayer:
    """The weights of the first layer that has them, as images.

    kind "conv": the filters, (out_channels, in_channels, kh, kw). kind "linear": each
    unit's weights over the input pixels, reshaped to the input, (units, C, S, S); for
    softmax regression, one template per class.
    """

    name: str
    kind: str  # "conv" or "linear"
    weights: np.ndarray  # float32 (shown, C, h, w)
    count: int  # filters or units in all


@dataclass(frozen=True)
class Insight:
    probabilities: np.ndarray  # float32 (num_classes,)
    predicted: int
    activations: list[LayerActivation]  # every conv layer, in the order they ran
    first_layer: FirstLayer | None
    heat: np.ndarray  # float32 (S, S) in 0..1, at the input's size: where the answer rests
    heat_method: str  # "HiResCAM on the last 4×4 feature map (layer4)", or "saliency ..."

    @property
    def conv_layers(self) -> int:
        return len(self.activations)


def inspect_image(model: nn.Module, x: torch.Tensor, max_maps: int | None = None,
                  max_units: int | None = None) -> Insight:
    """Everything the Inside tab shows for one input `x` (1, C, S, S), normalised as the
    model was trained. `max_maps` caps the maps kept per layer, `max_units` the first
    layer's filters or units (None: all)."""
    if x.dim() != 4 or x.shape[0] != 1:
        raise ValueError(f"Expected one image as a (1, C, H, W) tensor; got shape "
                         f"{tuple(x.shape)}.")
    device = next((p.device for p in model.parameters()), x.device)
    x = x.detach().to(device=device, dtype=torch.float32)
    with _eval_mode(model), _recorded(model) as record:
        x = x.clone().requires_grad_(True)
        with torch.enable_grad():
            logits = model(x)
            if logits.dim() != 2 or logits.shape[0] != 1:
                raise ValueError(f"The model gave outputs of shape {tuple(logits.shape)} for "
                                 "one image; a classifier gives (1, classes).")
            predicted = int(logits.argmax(dim=1))
            target = _cam_layer(record.feature_maps)
            inputs = [x] if target is None else [target[1]]
            (gradient,) = torch.autograd.grad(logits[0, predicted], inputs)
    if target is None:
        heat, method = _saliency(gradient), "saliency (input gradients)"
    else:
        heat = _hires_cam(target[1].detach(), gradient, x.shape[-2:])
        height, width = target[1].shape[-2:]
        method = f"HiResCAM on the last {height}×{width} feature map{named(target[0])}"
    probabilities = torch.softmax(logits.detach().float(), dim=1)[0]
    return Insight(
        probabilities=probabilities.cpu().numpy(),
        predicted=predicted,
        activations=[
            LayerActivation(name, i + 1, _first(out[0], max_maps), int(out.shape[1]))
            for i, (name, out) in enumerate(record.convs)],
        first_layer=_first_layer(record.first, x.shape[1:], max_units),
        heat=heat,
        heat_method=method,
    )


def named(module_name: str) -> str:
    """' (layer4)' for a module with a name a person can place; '' for a bare position in
    a Sequential ('3', '0.0'), which says nothing."""
    return f" ({module_name})" if any(c.isalpha() for c in module_name) else ""


def conv_layer_names(model: nn.Module) -> list[str]:
    """The model's conv layers, in the order they were registered."""
    return [name for name, module in model.named_modules() if isinstance(module, nn.Conv2d)]


# --- hooks -----------------------------------------------------------------------------


class _Record:
    def __init__(self) -> None:
        self.convs: list[tuple[str, torch.Tensor]] = []
        self.feature_maps: list[tuple[str, torch.Tensor]] = []  # non-pool 4-D outputs
        self.first: tuple[str, nn.Module] | None = None


@contextmanager
def _recorded(model: nn.Module) -> Iterator[_Record]:
    """Hooks on every submodule for one forward pass; all removed on the way out."""
    record = _Record()

    def hook(name: str, module: nn.Module, output: object) -> None:
        if isinstance(module, (nn.Conv2d, nn.Linear)) and record.first is None:
            record.first = (name, module)
        if not isinstance(output, torch.Tensor) or output.dim() != 4:
            return
        if isinstance(module, nn.Conv2d):
            # A copy: a later in-place operation (ReLU(inplace=True)) must not change it.
            record.convs.append((name, output.detach().clone()))
        if not isinstance(module, _POOLS):
            record.feature_maps.append((name, output))

    handles = [module.register_forward_hook(
        lambda m, _inputs, output, name=name: hook(name, m, output))
        for name, module in model.named_modules() if name]
    try:
        yield record
    finally:
        for handle in handles:
            handle.remove()


@contextmanager
def _eval_mode(model: nn.Module) -> Iterator[None]:
    """Evaluation mode (batch norm's running statistics, no dropout), then each module's
    own mode back."""
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        yield
    finally:
        for module, training in modes:
            module.training = training


# --- the pieces ------------------------------------------------------------------------


def _first(maps: torch.Tensor, limit: int | None) -> np.ndarray:
    kept = maps if limit is None else maps[:limit]
    return kept.detach().float().cpu().numpy()


def _cam_layer(feature_maps: list[tuple[str, torch.Tensor]]) -> tuple[str, torch.Tensor] | None:
    """The last feature map of at least MIN_CAM_CELLS cells, else the last one above 1x1."""
    for min_cells in (MIN_CAM_CELLS, 2):
        for name, output in reversed(feature_maps):
            if output.shape[-1] * output.shape[-2] >= min_cells and output.requires_grad:
                return name, output
    return None


def _hires_cam(activation: torch.Tensor, gradient: torch.Tensor,
               size: torch.Size) -> np.ndarray:
    cam = torch.relu((gradient * activation).sum(dim=1, keepdim=True))
    cam = F.interpolate(cam, size=tuple(size), mode="bilinear", align_corners=False)
    return _unit_range(cam[0, 0])


def _saliency(gradient: torch.Tensor) -> np.ndarray:
    return _unit_range(gradient[0].abs().amax(dim=0))


def _unit_range(values: torch.Tensor) -> np.ndarray:
    values = values.detach().float()
    peak = float(values.max())
    if not np.isfinite(peak) or peak <= 0:
        return np.zeros(tuple(values.shape), np.float32)
    return (values.clamp(min=0) / peak).cpu().numpy()


def _first_layer(first: tuple[str, nn.Module] | None, input_shape: torch.Size,
                 limit: int | None) -> FirstLayer | None:
    if first is None:
        return None
    name, module = first
    weights = module.weight.detach().float()
    if isinstance(module, nn.Conv2d):
        kind = "conv"
    else:
        if weights.shape[1] != input_shape.numel():
            return None  # a linear layer after some reshaping of our own: no image to show
        kind, weights = "linear", weights.reshape(-1, *input_shape)
    count = int(weights.shape[0])
    kept = weights if limit is None else weights[:limit]
    return FirstLayer(name, kind, kept.cpu().numpy().copy(), count)
