"""Which runs in the runs folder are a parent and its child ("Train again without them"),
read from their recorded settings (engine/config.py's LINEAGE_FIELDS)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from engine.records import runs


def left_out_count(config: dict) -> int:
    """The training and test images a run's recorded settings leave out."""
    return len(config.get("leave_out") or ()) + len(config.get("leave_out_test") or ())


def lineage_text(config: dict) -> str:
    """A child run's parent and how many images it leaves out: "child of mnist-3: 12 left
    out"; "" for a run that is no child."""
    parent = str(config.get("parent") or "")
    if not parent:
        return ""
    return f"child of {Path(parent).name}: {left_out_count(config):,} left out"


def parent_and_child(records: Sequence[object]
                     ) -> tuple[runs.RunRecord, runs.RunRecord] | None:
    """(parent, child) when the two records are runs and one is the other's child."""
    if len(records) != 2 or not all(isinstance(r, runs.RunRecord) for r in records):
        return None
    first, second = records
    for parent, child in ((first, second), (second, first)):
        named = str(child.config.get("parent") or "")
        if named and Path(named) == Path(parent.folder):
            return parent, child
    return None
