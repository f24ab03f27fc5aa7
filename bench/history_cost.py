"""What recording each image's history costs: time as a share of an epoch, and bytes.

A real run (LeNet-5 on generated MNIST-format digits, 10,000 test images by default) is
trained with its run folder; the work the history adds at each epoch's end is timed where
it happens (engine/records/run_story.py's `RunStory.save`: adding the epoch to
samples.npz and rewriting it, and writing epochs/epoch-NNNN.pt), against each epoch's whole
time (from one epoch's end to the next: training, evaluation, every file written). The
target is under 2%. Also prints samples.npz's bytes per epoch. Prints figures; asserts
nothing.

    python bench/history_cost.py [--train 20000] [--test 10000] [--epochs 5] [--arch lenet5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.config import TrainConfig  # noqa: E402
from engine.events import CheckpointSaved, RunStart  # noqa: E402
from engine.records import run_story  # noqa: E402
from engine.records.epoch_checkpoints import epoch_checkpoint_path  # noqa: E402
from engine.records.sample_history import samples_path  # noqa: E402
from engine.training.trainer import Trainer  # noqa: E402
from tools.sample_datasets import write_idx_dataset  # noqa: E402


def timed_story() -> list[float]:
    """Wrap RunStory.save to time each call; the list fills as the run goes."""
    seconds: list[float] = []
    real = run_story.RunStory.save

    def save(self, saved, evaluation):
        started = time.perf_counter()
        real(self, saved, evaluation)
        seconds.append(time.perf_counter() - started)

    run_story.RunStory.save = save
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", type=int, default=20_000)
    parser.add_argument("--test", type=int, default=10_000)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--arch", default="lenet5")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as temp:
        data, folder = Path(temp) / "data", Path(temp) / "run"
        write_idx_dataset(data, n_train=args.train, n_test=args.test)
        config = TrainConfig(arch=args.arch, dataset="mnist", data_dir=str(data),
                             epochs=args.epochs, batch_size=128, val_split=0.0,
                             device=args.device)
        story = timed_story()
        ends: list[float] = []
        sizes: list[int] = []
        starts: list[RunStart] = []

        def listen(event: object) -> None:
            if isinstance(event, RunStart):
                starts.append(event)
                ends.append(time.perf_counter())  # the first epoch is timed from here
            elif isinstance(event, CheckpointSaved):
                ends.append(time.perf_counter())
                sizes.append(samples_path(folder).stat().st_size)

        end = Trainer(config, run_dir=folder, tensorboard=False).run(listen)
        if end.epochs_done != args.epochs:
            raise SystemExit(f"the run did not finish: {end.message}")
        epoch_seconds = [b - a for a, b in zip(ends, ends[1:], strict=False)]
        shares = [s / e for s, e in zip(story, epoch_seconds, strict=True)]
        keeps = starts[0].keeps_epochs
        weights = (epoch_checkpoint_path(folder, 1).stat().st_size if keeps else 0)

    print(f"{args.arch}, {args.train:,} training and {args.test:,} test images, "
          f"{args.epochs} epochs on {starts[0].device}")
    print("epoch  epoch s  history ms  share")
    for epoch, (seconds, spent, share) in enumerate(zip(epoch_seconds, story, shares,
                                                        strict=True), 1):
        print(f"{epoch:>5}  {seconds:7.2f}  {spent * 1000:10.1f}  {share:6.2%}")
    print(f"history's share of an epoch: median {statistics.median(shares):.2%}, "
          f"max {max(shares):.2%} (target < 2%)")
    growth = [b - a for a, b in zip(sizes, sizes[1:], strict=False)]
    print(f"samples.npz: {sizes[-1]:,} bytes after {args.epochs} epochs; "
          f"{statistics.median(growth) if growth else sizes[0]:,.0f} bytes per epoch for "
          f"{args.test:,} test images")
    print(f"epochs/: {weights:,} bytes per epoch" if keeps else
          "epochs/: not kept (the model's weights are over the limit)")


if __name__ == "__main__":
    main()
