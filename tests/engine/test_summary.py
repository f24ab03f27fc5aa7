import pytest
from torch import nn

from engine.models.architectures import MODELS, build_model, count_parameters
from engine.models.summary import summarize


def test_lenet5_layer_shapes_match_the_classic_sequence():
    model = build_model("lenet5", 1, 10, 32)
    summary = summarize(model, (1, 32, 32))
    shapes = [
        row.output_shape
        for row in summary.rows
        if row.name.startswith(("Conv2d", "AvgPool2d", "Linear"))
    ]
    assert shapes == [(6, 28, 28), (6, 14, 14), (16, 10, 10), (16, 5, 5), (120,), (84,), (10,)]
    assert summary.total_params == count_parameters(model) == 61_706
    assert summary.trainable_params == 61_706
    assert summary.input_shape == (1, 32, 32)
    assert [row.num_params for row in summary.rows if row.name.startswith("Conv2d")] == [156, 2416]
    assert "61,706" in summary.text and "Conv2d" in summary.text


@pytest.mark.parametrize("name", list(MODELS))
def test_every_registry_entry_summarizes(name):
    model = build_model(name, 3, 10, 32)
    summary = summarize(model, (3, 32, 32))
    assert summary.total_params == count_parameters(model)
    assert summary.rows and all(1 <= row.depth <= 3 for row in summary.rows)
    assert all(row.num_params <= summary.total_params for row in summary.rows)
    assert summary.rows[-1].output_shape == (10,) or name == "resnet18"


def test_depth_limits_the_rows_and_nested_layers_count_their_children():
    model = build_model("resnet18", 3, 10, 32)
    shallow = summarize(model, (3, 32, 32), depth=1)
    assert {row.depth for row in shallow.rows} == {1}
    layer1 = next(row for row in shallow.rows if row.name == "Sequential (layer1)")
    assert layer1.num_params == count_parameters(model.layer1)
    assert layer1.output_shape == (64, 32, 32)


def test_frozen_layers_are_reported_as_not_trainable():
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3), nn.Linear(3, 2))
    model[1].requires_grad_(False)
    summary = summarize(model, (1, 2, 2))
    assert [row.trainable for row in summary.rows] == [False, False, True]
    assert summary.total_params == 15 + 8
    assert summary.trainable_params == 8


def test_summary_leaves_the_model_in_its_training_mode():
    model = build_model("vgg11", 3, 10, 32)
    model.train()
    summarize(model, (3, 32, 32))
    assert model.training


def test_a_mismatched_input_gets_a_clear_message():
    model = build_model("lenet5", 1, 10, 32)
    with pytest.raises(ValueError, match="cannot take a 3x32x32 input"):
        summarize(model, (3, 32, 32))
