"""Small helpers for text a person reads: counts with the right plural."""

from __future__ import annotations


def plural(count: int, word: str, plural_word: str | None = None) -> str:
    """'1 epoch', '2 epochs', '1,200 images'; `plural_word` where adding 's' is wrong."""
    form = word if count == 1 else (plural_word or word + "s")
    return f"{count:,} {form}"
