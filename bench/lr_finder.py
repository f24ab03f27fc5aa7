"""Does the learning-rate finder suggest a rate that trains? For each network, dataset and
optimizer: run the finder (engine/lr_finder/search.py, as Find… and --find-lr do), then train 2
epochs at the suggested rate and at a few hand-picked rates, from the same seed, and print
the test accuracy of each; the ratio is the suggestion's accuracy over the best hand-picked
one's (the target: 95% or more).

    python bench/lr_finder.py [--train-subset 6000] [--test-subset 2000] [--rows NAME ...]

Only real data that is here offline is used: Fashion-MNIST (read from the data folder or
/usr/share/datasets/fashion-mnist) and the bundled MNIST sample. The colour networks (the
small CNN, ResNet-18) are fed those greyscale images, as the app feeds them; there is no
CIFAR offline. A seeded random subset of the training (and test) images keeps it to minutes
on a CPU; every row says which data it used. CPU, one thread, seed 0.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

import engine.training.setup as training_setup  # noqa: E402
import engine.training.trainer as trainer_module  # noqa: E402
from engine.config import TrainConfig  # noqa: E402
from engine.lr_finder.lr_range import lr_text  # noqa: E402
from engine.lr_finder.search import LRFinder  # noqa: E402

HAND_PICKED = {"adam": (3e-4, 1e-3, 3e-3, 1e-2), "sgd": (3e-3, 0.01, 0.03, 0.1)}
# name: (arch, dataset, optimizer, batch size, share of the subsets, the finder's sweep in
# batches or None for --batches): ResNet-18 is slow on a CPU, so it gets less of each.
ROWS = {
    "softmax-adam": ("softmax", "fashion-mnist", "adam", 64, 1.0, None),
    "softmax-sgd": ("softmax", "fashion-mnist", "sgd", 64, 1.0, None),
    "mlp-adam": ("mlp", "fashion-mnist", "adam", 64, 1.0, None),
    "mlp-sgd": ("mlp", "fashion-mnist", "sgd", 64, 1.0, None),
    "lenet5-adam": ("lenet5", "fashion-mnist", "adam", 64, 1.0, None),
    "lenet5-sgd": ("lenet5", "fashion-mnist", "sgd", 64, 1.0, None),
    "lenet5-relu-adam": ("lenet5-relu", "fashion-mnist", "adam", 64, 1.0, None),
    "lenet5-relu-sgd": ("lenet5-relu", "fashion-mnist", "sgd", 64, 1.0, None),
    "cifar-cnn-adam": ("cifar-cnn", "fashion-mnist", "adam", 64, 1.0, None),
    "cifar-cnn-sgd": ("cifar-cnn", "fashion-mnist", "sgd", 64, 1.0, None),
    "mlp-adam-sample": ("mlp", "mnist-sample", "adam", 64, 1.0, None),
    "lenet5-adam-sample": ("lenet5", "mnist-sample", "adam", 64, 1.0, None),
    "resnet18-adam": ("resnet18", "fashion-mnist", "adam", 32, 1 / 6, 60),
    "resnet18-sgd": ("resnet18", "fashion-mnist", "sgd", 32, 1 / 6, 60),
}


FULL_LOADER = training_setup.load_dataset


def subset_loader(train: int, test: int):
    """engine.training.setup's own load_dataset, cut to seeded random subsets."""

    def load(name, data_dir, **kwargs):
        data = FULL_LOADER(name, data_dir, **kwargs)
        pick = torch.Generator().manual_seed(0)
        tr = torch.randperm(len(data.train_labels), generator=pick)[:train]
        te = torch.randperm(len(data.test_labels), generator=pick)[:test]
        return dataclasses.replace(
            data, train_images=data.train_images[tr], train_labels=data.train_labels[tr],
            test_images=data.test_images[te], test_labels=data.test_labels[te])

    return load


def accuracy(config: TrainConfig) -> float:
    """The test accuracy after training with `config` (0 for a run that diverged before its
    first epoch ended)."""
    trainer = trainer_module.Trainer(config, tensorboard=False)
    end = trainer.run(lambda _event: None)
    if end.reason == "failed":
        raise SystemExit(f"{config.arch} at lr {config.lr:g}: {end.message}")
    return trainer.history[-1]["test_acc"] if trainer.history else 0.0


def bench_row(name: str, args: argparse.Namespace) -> str:
    arch, dataset, optimizer, batch_size, share, batches = ROWS[name]
    train, test = int(args.train_subset * share), int(args.test_subset * share)
    training_setup.load_dataset = subset_loader(train, test)
    config = TrainConfig(arch=arch, dataset=dataset, optimizer=optimizer, epochs=args.epochs,
                         batch_size=batch_size, device="cpu", threads=1, seed=0)
    started = time.perf_counter()
    end = LRFinder.for_config(config, steps=batches or args.batches).run(lambda _e: None)
    result = end.result
    suggested = result.suggested if result is not None else None
    scores = {lr: accuracy(config.replace(lr=lr)) for lr in HAND_PICKED[optimizer]}
    best = max(scores, key=scores.get)
    if suggested is None:
        shown, mine, ratio = "none", "-", "-"
    else:
        score = scores.get(suggested) if suggested in scores else accuracy(
            config.replace(lr=suggested))
        shown = lr_text(suggested) + ("" if result.sure else " (unsure)")
        mine, ratio = f"{score:.1%}", f"{score / scores[best]:.0%}"
    data = f"{dataset} {train:,}/{test:,}, batch {batch_size}"
    if batches:
        data += f", sweep {batches} batches"
    others = " ".join(f"{lr_text(lr)}:{acc:.1%}" for lr, acc in scores.items())
    return (f"| {arch} | {optimizer} | {data} | {shown} | {mine} | {lr_text(best)} | "
            f"{scores[best]:.1%} | {ratio} | {others} | "
            f"{time.perf_counter() - started:.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train-subset", type=int, default=6000)
    parser.add_argument("--test-subset", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batches", type=int, default=100, help="the finder's sweep")
    parser.add_argument("--rows", nargs="*", default=list(ROWS), choices=list(ROWS))
    args = parser.parse_args()
    torch.set_num_threads(1)
    print("| network | optimizer | data (train/test images) | suggested | its accuracy | "
          "best hand-picked | its accuracy | ratio | all hand-picked | seconds |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in args.rows:
        print(bench_row(name, args), flush=True)


if __name__ == "__main__":
    main()
