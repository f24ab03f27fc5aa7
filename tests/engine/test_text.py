"""Counts read as a person writes them."""

from engine.text import plural


def test_one_is_singular_and_every_other_count_plural():
    assert plural(1, "epoch") == "1 epoch"
    assert plural(0, "epoch") == "0 epochs"
    assert plural(2, "epoch") == "2 epochs"
    assert plural(1200, "image") == "1,200 images"


def test_an_irregular_plural_is_given():
    assert plural(1, "class", "classes") == "1 class"
    assert plural(10, "class", "classes") == "10 classes"
