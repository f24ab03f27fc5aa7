"""Per-epoch metrics of one or several runs as one tidy CSV file: a row per run and epoch,
with the run's name, folder, architecture and dataset in columns of their own."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

from engine.records.atomic_files import write_text_atomic
from engine.records.runs import RunRecord

RUN_COLUMNS = ("run", "folder", "arch", "dataset")
METRIC_COLUMNS = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "test_loss",
                  "test_acc", "lr", "seconds")


def metrics_csv(records: Sequence[RunRecord]) -> str:
    """The CSV text; an empty cell where a run has no value (no validation split)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(RUN_COLUMNS + METRIC_COLUMNS)
    for record in records:
        for epoch in record.history:
            writer.writerow([record.name, str(record.folder), record.arch, record.dataset]
                            + ["" if epoch.get(k) is None else epoch[k] for k in METRIC_COLUMNS])
    return out.getvalue()


def write_metrics_csv(path: str | Path, records: Sequence[RunRecord]) -> int:
    """Write `metrics_csv(records)` to path (atomically); return the number of rows."""
    write_text_atomic(Path(path), metrics_csv(records))
    return sum(len(record.history) for record in records)
