"""One mapping from a problem to its message, shared by a run and the LR finder."""

from __future__ import annotations

import pytest

from engine.config import TrainConfig
from engine.events import LogLine
from engine.lr_finder.search import LRFinder
from engine.training import loop, outcomes
from engine.training.trainer import Trainer


@pytest.fixture
def config(digits_dir) -> TrainConfig:
    return TrainConfig(arch="mlp", dataset="mnist", data_dir=str(digits_dir), epochs=1,
                       batch_size=20, optimizer="sgd", lr=0.05, device="cpu", seed=1,
                       threads=1)


def test_each_problem_has_its_message_and_only_an_unknown_one_its_traceback():
    config = TrainConfig(arch="resnet18", batch_size=1)
    lines = []
    oom = outcomes.failure_message(RuntimeError("CUDA out of memory."), config, lines.append,
                                   on="CUDA 0: H100")
    assert oom.startswith("Out of memory on CUDA 0: H100 with batch size 1.")
    assert outcomes.failure_message(MemoryError(), config, lines.append).startswith(
        "Out of memory with batch size 1.")
    norm = ValueError("Expected more than 1 value per channel when training")
    assert "too small for" in outcomes.failure_message(norm, config, lines.append)
    assert lines == []  # known problems need no traceback
    try:
        {}["x"]
    except KeyError as error:
        odd = outcomes.failure_message(error, config, lines.append, what="The test")
    assert odd == "The test failed: KeyError: 'x'"
    assert len(lines) == 1 and "Traceback" in lines[0].message and lines[0].level == "error"


def out_of_memory(*args, **kwargs):
    raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")


def test_a_run_and_the_lr_finder_say_out_of_memory_alike(config, monkeypatch):
    monkeypatch.setattr(loop, "train_step", out_of_memory)
    run = Trainer(config).run(lambda _event: None)
    test = LRFinder.for_config(config, steps=10).run(lambda _event: None)
    advice = "Try a smaller batch size (e.g. 10) or a smaller model."
    assert run.reason == test.reason == "failed"
    assert run.message.startswith(f"Out of memory on CPU with batch size 20. {advice}")
    assert test.message == f"Out of memory with batch size 20. {advice}"


def test_a_bad_setting_reads_the_same_in_a_run_and_the_lr_finder(config):
    bad = config.replace(epochs=0)
    events = []
    run = Trainer(bad).run(events.append)
    test = LRFinder.for_config(bad, steps=10).run(lambda _event: None)
    assert run.message == test.message and run.message.startswith("Invalid setting:")
    assert not any(isinstance(e, LogLine) and e.level == "error" for e in events)
