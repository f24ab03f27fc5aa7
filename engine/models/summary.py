"""A model's layers with their output shapes and parameter counts, as the tutorials print."""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass

import torchinfo
from torch import nn


@dataclass(frozen=True)
class LayerRow:
    name: str  # class, then attribute name: "Conv2d (conv1)"
    depth: int  # 1 = a direct child of the model, 2 = a grandchild, ...
    output_shape: tuple[int, ...]  # for one example, without the batch dimension
    num_params: int  # this layer's parameters, sub-layers included
    trainable: bool  # training updates at least some of those parameters


@dataclass(frozen=True)
class ModelSummary:
    rows: list[LayerRow]
    total_params: int
    trainable_params: int
    input_shape: tuple[int, ...]  # (channels, height, width)
    text: str  # torchinfo's printed table


def summarize(
    model: nn.Module, input_shape: tuple[int, int, int], depth: int = 3
) -> ModelSummary:
    """Run one (channels, height, width) example through `model` and tabulate every layer
    down to `depth` levels of nesting.

    The forward pass runs without gradients in eval mode, on the CPU; a model that lives on
    another device is summarised through a CPU copy, so the caller's model never moves.
    """
    on_cpu = all(
        t.device.type == "cpu" for t in itertools.chain(model.parameters(), model.buffers())
    )
    subject = model if on_cpu else copy.deepcopy(model).cpu()
    try:
        stats = torchinfo.summary(
            subject, input_size=(1, *input_shape), depth=depth, device="cpu", mode="eval",
            verbose=0,
        )
    except RuntimeError as error:
        cause = error.__cause__ or error
        shape = "x".join(str(n) for n in input_shape)
        raise ValueError(
            f"{type(model).__name__} cannot take a {shape} input ({cause}). Check that the "
            "channels and image size match the ones the model was built for."
        ) from error
    rows = [
        LayerRow(
            name=layer.get_layer_name(show_var_name=True, show_depth=False),
            depth=layer.depth,
            output_shape=tuple(layer.output_size[1:]),
            # A module called twice (is_recursive) owns no extra parameters.
            num_params=0 if layer.is_recursive else layer.num_params,
            trainable=layer.trainable_params > 0,
        )
        for layer in stats.summary_list
        if 1 <= layer.depth <= depth  # depth 0 is the whole model: the totals say it
    ]
    return ModelSummary(
        rows=rows,
        total_params=stats.total_params,
        trainable_params=stats.trainable_params,
        input_shape=tuple(input_shape),
        text=str(stats),
    )
