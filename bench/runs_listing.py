"""How long listing a runs folder takes: 500 run folders of 20 epochs each, as the trainer
writes them (record, per-epoch metrics, ~2000 per-batch points), read by engine.records.runs.

    python bench/runs_listing.py [runs] [epochs]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.config import TrainConfig  # noqa: E402
from engine.events import BatchEnd, EpochEnd, RunEnd, RunStart  # noqa: E402
from engine.records import runs  # noqa: E402
from engine.records.run_folder import METRICS_FILE  # noqa: E402


def write_runs(root: Path, count: int, epochs: int, batches: int = 100) -> None:
    for i in range(count):
        folder = root / f"20260101-{i:04d}-mlp-mnist"
        folder.mkdir()
        config = TrainConfig(arch="mlp", dataset="mnist", epochs=epochs, seed=i).to_dict()
        recorder = runs.RunRecorder(folder, config)
        recorder(RunStart("mlp", "mnist", "CPU", epochs, 0, batches, 6400, 0, 1000, 1000,
                          tuple("0123456789"), (1, 28, 28)))
        with open(folder / METRICS_FILE, "w") as metrics:
            for epoch in range(1, epochs + 1):
                for batch in range(1, batches + 1):
                    step = (epoch - 1) * batches + batch
                    recorder(BatchEnd(epoch, batch, batches, step, 1.0 / step, 0.9, 1e4, 1e-3))
                end = EpochEnd(epoch, epochs, 0.1, 0.9, None, None, 0.2, 0.9, 1e-3, 1.0)
                metrics.write(f"{end.as_record()}\n".replace("'", '"').replace("None", "null"))
        recorder(RunEnd("finished", "Finished.", epochs))
        recorder.close()


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_runs(root, count, epochs)
        timings = []
        for _ in range(3):
            t0 = time.perf_counter()
            listed = runs.list_runs(root)
            timings.append(time.perf_counter() - t0)
        assert len(listed) == count and listed[0].epochs_done == epochs
        print(f"list_runs: {count} runs x {epochs} epochs: best {min(timings):.3f} s, "
              f"worst {max(timings):.3f} s (of 3; files in the page cache)")
        t0 = time.perf_counter()
        record = runs.read_run(listed[0].folder)
        print(f"read_run with per-batch data ({len(record.batches['step'])} points): "
              f"{(time.perf_counter() - t0) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
