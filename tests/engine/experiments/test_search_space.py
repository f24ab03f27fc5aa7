"""--search parsed against TrainConfig's metadata, and the mistakes said with what to write."""

import pytest

from engine.experiments.search_space import (
    SearchDim,
    SearchError,
    check_space,
    grid_values,
    parse_search,
    suggest,
)


@pytest.mark.parametrize(("text", "dim"), [
    ("lr=1e-4..1e-1:log", SearchDim("lr", "float", 1e-4, 1e-1, log=True)),
    ("batch-size=64,128,256", SearchDim("batch_size", "choice", choices=(64, 128, 256))),
    ("optimizer=sgd,adam", SearchDim("optimizer", "choice", choices=("sgd", "adam"))),
    ("--epochs=2..6", SearchDim("epochs", "int", 2, 6)),
    ("weight_decay=0..0.01", SearchDim("weight_decay", "float", 0.0, 0.01)),
    ("augment=true,false", SearchDim("augment", "choice", choices=(True, False))),
])
def test_a_search_reads_as_a_dimension_and_round_trips(text, dim):
    parsed = parse_search(text)
    assert parsed == dim
    assert SearchDim.from_dict(parsed.as_dict()) == parsed
    assert parse_search(parsed.text()) == parsed


@pytest.mark.parametrize(("text", "said"), [
    ("lr", "write NAME=LOW..HIGH"),
    ("lrate=1e-4..1e-1", "Did you mean 'lr'?"),
    ("lr=0..1", "Learning rate must be a number above 0"),
    ("lr=0.1..0.001", "e.g. lr=0.001..0.1"),
    ("lr=0.1", "pass --lr 0.1"),
    ("optimizer=sgd,rmsprop", "choose from: sgd, adam, adamw"),
    ("optimizer=1..2", "list the values to try, e.g. optimizer=sgd,adam"),
    ("epochs=1.5..3", "whole numbers"),
    ("batch-size=64,64", "lists 64 twice"),
    ("momentum=0.5..0.9:lin", "the only scale a range takes is ':log'"),
    ("image-size=0..64", "list the values instead"),
    ("device=cpu,cuda", "device cannot be searched"),
    ("seeds=1,2", "the sweep's --seeds"),
])
def test_a_mistake_says_what_to_write_instead(text, said):
    with pytest.raises(SearchError) as raised:
        parse_search(text)
    assert said in str(raised.value)


def test_a_space_searches_each_setting_once_and_a_grid_needs_listed_values():
    with pytest.raises(SearchError, match="searched twice"):
        check_space((parse_search("lr=0.1,0.2"), parse_search("lr=1e-3..1e-1")))
    with pytest.raises(SearchError, match="at least one --search"):
        check_space(())
    assert grid_values(parse_search("epochs=1..3")) == [1, 2, 3]
    with pytest.raises(SearchError, match="lr=0.0001,0.0032,0.1"):
        grid_values(parse_search("lr=1e-4..1e-1:log"))


def test_suggest_asks_optuna_for_each_kind():
    import optuna

    study = optuna.create_study()
    trial = study.ask()
    space = [parse_search(t) for t in ("lr=1e-4..1e-1:log", "epochs=2..6", "optimizer=sgd,adam")]
    values = {d.field: suggest(trial, d) for d in space}
    assert 1e-4 <= values["lr"] <= 1e-1 and 2 <= values["epochs"] <= 6
    assert values["optimizer"] in ("sgd", "adam")
    assert trial.params == values
