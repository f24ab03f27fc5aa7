"""ModelChoices: what the Draw tab's picker lists and which model it keeps, without Qt."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from engine.config import TrainConfig
from gui.draw_models import ModelChoices, choice_for, last_test_accuracy


def ckpt(acc, arch="lenet5", dataset="mnist-sample", is_digits=True, history=None):
    """Just the fields the list reads (a real Checkpoint would need weights)."""
    records = history if history is not None else [{"epoch": 1, "test_acc": 0.5},
                                                   {"epoch": 2, "test_acc": acc}]
    return SimpleNamespace(config=TrainConfig(arch=arch, dataset=dataset), history=records,
                           is_digits=is_digits)


def test_a_choice_is_named_by_display_names_and_last_test_accuracy():
    choice = choice_for(ckpt(0.951), "trained", "Trained 14:05")
    assert choice.label == "Trained 14:05: LeNet-5 (classic) on MNIST sample (bundled) — 95.1%"
    opened = choice_for(ckpt(0.9, arch="cifar-cnn", dataset="cifar10", is_digits=False),
                        "opened", "cifar.pt", "/tmp/cifar.pt")
    assert opened.label == "cifar.pt: Small CNN on CIFAR-10 — 90.0%"
    unknown = choice_for(ckpt(None, history=[]), "opened", "old.pt", "/tmp/old.pt")
    assert unknown.label == "old.pt: LeNet-5 (classic) on MNIST sample (bundled) — test " \
                            "accuracy not recorded"


@pytest.mark.parametrize("value", [None, "0.9", float("nan"), True])
def test_an_accuracy_that_is_not_a_number_counts_as_not_recorded(value):
    assert last_test_accuracy(ckpt(value)) is None
    assert last_test_accuracy(ckpt(0.9, history=[{"epoch": 1}])) is None


def test_a_new_model_replaces_the_one_in_use_only_if_at_least_as_good():
    choices = ModelChoices()
    assert choices.in_use() is None
    demo = choices.add(choice_for(ckpt(0.984), "bundled", "Demo"))
    assert choices.deserves_switch(demo)  # nothing in use yet
    choices.select(demo)
    worse = choices.add(choice_for(ckpt(0.951), "trained", "Trained 14:05"))
    equal = choices.add(choice_for(ckpt(0.984), "trained", "Trained 14:10"))
    unknown = choices.add(choice_for(ckpt(None, history=[]), "trained", "Trained 14:20"))
    assert not choices.deserves_switch(worse)
    assert choices.deserves_switch(equal)
    assert not choices.deserves_switch(unknown)
    choices.select(unknown)  # a person may choose it anyway; then nothing known beats it
    assert not choices.deserves_switch(equal)
    assert len(choices) == 4 and choices.current == unknown


def test_a_file_opened_again_replaces_its_entry():
    choices = ModelChoices()
    first = choices.add(choice_for(ckpt(0.5), "opened", "a.pt", "/runs/x/../x/a.pt"))
    choices.add(choice_for(ckpt(0.7), "opened", "b.pt", "/runs/x/b.pt"))
    again = choices.add(choice_for(ckpt(0.6), "opened", "a.pt", "/runs/x/../x/a.pt"))
    assert again == first and len(choices) == 2
    assert choices[first].test_accuracy == 0.6
    with pytest.raises(IndexError):
        choices.select(5)
