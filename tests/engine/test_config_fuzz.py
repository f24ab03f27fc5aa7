"""Every TrainConfig field with values of every kind: problems() names what is wrong in a
sentence, or the config is valid and a run on a tiny dataset ends with a clear RunEnd."""

from __future__ import annotations

import dataclasses
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.config import MAX_SEED, OPTIMIZERS, SCHEDULES, TrainConfig

FIELDS = {f.name: f for f in dataclasses.fields(TrainConfig)}
# The kind of value each field holds; an int is also a fine float; a tuple holds image
# indices (whole numbers from 0).
KINDS = {name: {"str": str, "int": int, "float": float, "bool": bool,
                "tuple[int, ...]": tuple}[f.type]
         for name, f in FIELDS.items()}
SMALL_ARCHS = ("softmax", "mlp", "lenet5", "lenet5-relu", "cifar-cnn")

any_value = st.one_of(
    st.none(), st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12), st.binary(max_size=4),
    st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=2), st.integers(),
                                                          max_size=1),
    st.sampled_from(["", "nan", "inf", "-1", "0", "1e9", "cuda:99", "mps", "folder",
                     "\0", "~nobody-td/x", "lenet5", "mnist", "adam", "cosine"]),
)


def fits_its_kind(name: str, value: object) -> bool:
    kind = KINDS[name]
    if kind is bool:
        return isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is tuple:
        return isinstance(value, tuple) and all(
            isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in value)
    if kind is float:
        return (isinstance(value, (int, float)) and not isinstance(value, bool)
                and math.isfinite(value))
    return isinstance(value, str)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.sampled_from(sorted(FIELDS)), any_value, min_size=1))
def test_any_values_in_any_fields_give_sentences_never_an_exception(changes):
    config = TrainConfig().replace(**changes)
    problems = config.problems()
    assert set(problems) <= set(FIELDS)
    for message in problems.values():
        assert isinstance(message, str) and message.endswith(".")
        assert message[:1].isupper() or message[:1] == "'"  # a sentence, or a quoted name first
        assert "Traceback" not in message
    for name, value in changes.items():
        if not fits_its_kind(name, value):
            assert name in problems, f"{name}={value!r} was accepted"


@pytest.fixture(scope="module")
def tiny_mnist(tmp_path_factory):
    from tools.sample_datasets import write_idx_dataset

    root = tmp_path_factory.mktemp("fuzz-data")
    write_idx_dataset(root, n_train=24, n_test=10)
    return root


def valid_configs(data_dir) -> st.SearchStrategy[TrainConfig]:
    unit = st.floats(min_value=0, max_value=0.999)
    return st.builds(
        TrainConfig,
        arch=st.sampled_from(SMALL_ARCHS), dataset=st.just("mnist"),
        data_dir=st.just(str(data_dir)), epochs=st.just(1),
        batch_size=st.integers(1, 64), optimizer=st.sampled_from(OPTIMIZERS),
        lr=st.floats(min_value=1e-6, max_value=10), momentum=unit,
        nesterov=st.booleans(), weight_decay=unit, schedule=st.sampled_from(SCHEDULES),
        label_smoothing=unit, augment=st.booleans(),
        val_split=st.floats(min_value=0, max_value=0.5),
        image_size=st.one_of(st.just(0), st.integers(8, 40)),
        seed=st.integers(0, MAX_SEED), device=st.just("cpu"), threads=st.integers(0, 2),
        amp=st.just(False),
    )


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_valid_configs_train_or_end_with_a_clear_message(tiny_mnist, data):
    from engine.training.trainer import Trainer

    config = data.draw(valid_configs(tiny_mnist))
    if config.problems():  # e.g. Nesterov without momentum: said in a sentence above
        return
    end = Trainer(config).run(lambda event: None)
    assert end.reason in ("finished", "learned_nothing", "diverged", "failed")
    if end.reason == "failed":  # a clear message, never an unexpected exception
        assert not end.message.startswith("Training failed:"), end.message
