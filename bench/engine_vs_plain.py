"""Engine vs the plain tutorial loop: one epoch of LeNet-5 on Fashion-MNIST, CPU.

Both train the same model (engine.models.architectures "lenet5", 32x32 input) with Adam 1e-3,
batch 256, for one epoch over the 60,000 training images, in one process, one after the other:

- engine: `Trainer.run` (uint8 tensors in memory, batches resized/normalised as tensors);
- plain:  torchvision's FashionMNIST with `Resize(32) + ToTensor()` transforms and a
          `DataLoader` (per-sample PIL work), the loop from the PyTorch/d2l tutorials. It is
          timed with num_workers=0 (PyTorch tutorial default) and with 2 worker processes
          (one per core here); the ratio is taken against the faster of the two.

Only the training epoch is timed (no dataset loading, no test pass). Prints examples/s.

    python bench/engine_vs_plain.py [--data-dir DIR]

Data: the raw Fashion-MNIST files are found in DIR or in /usr/share/datasets/fashion-mnist
(Debian's dataset-fashion-mnist); the plain loop gets an unpacked copy in a temp folder.
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.config import TrainConfig  # noqa: E402
from engine.events import EpochEnd, RunStart  # noqa: E402
from engine.models.architectures import build_model  # noqa: E402
from engine.training.trainer import Trainer  # noqa: E402

RAW_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")


def engine_epoch(data_dir: str, threads: int = 0) -> float:
    config = TrainConfig(arch="lenet5", dataset="fashion-mnist", data_dir=data_dir, epochs=1,
                         batch_size=256, optimizer="adam", lr=1e-3, device="cpu", seed=0,
                         threads=threads)
    events = []
    started = time.perf_counter()
    end = Trainer(config).run(events.append)
    if end.reason != "finished":
        raise SystemExit(f"engine run did not finish: {end.message}")
    epoch = next(e for e in events if isinstance(e, EpochEnd))
    train_size = next(e for e in events if isinstance(e, RunStart)).train_size
    print(f"  engine: data load + run took {time.perf_counter() - started:.1f} s in all; "
          f"test accuracy {epoch.test_acc:.2%}")
    return train_size / epoch.seconds


def compare_thread_choices(data_dir: str, pairs: int) -> None:
    """Engine epochs with the thread count fixed at every core (before) and auto (now)."""
    from engine.runtime.cpu import cpu_count

    ratios = []
    for pair in range(pairs):
        fixed = engine_epoch(data_dir, threads=cpu_count())
        auto = engine_epoch(data_dir, threads=0)
        ratios.append(auto / fixed)
        print(f"pair {pair + 1}: fixed {fixed:8,.0f}  auto {auto:8,.0f} examples/s  "
              f"({auto / fixed:.1%})", flush=True)
    ratios.sort()
    print(f"median auto / fixed over {pairs} pairs: {ratios[len(ratios) // 2]:.1%} "
          "(target >= 97%)")


def unpack_for_torchvision(source: Path, root: Path) -> None:
    raw = root / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for name in RAW_FILES:
        packed, plain = source / f"{name}.gz", source / name
        if plain.exists():
            shutil.copy(plain, raw / name)
        else:
            with gzip.open(packed) as src, open(raw / name, "wb") as dst:
                shutil.copyfileobj(src, dst)


def plain_epoch(root: Path, workers: int) -> float:
    torch.manual_seed(0)
    train = datasets.FashionMNIST(root, train=True, download=False,
                                  transform=transforms.Compose([transforms.Resize(32),
                                                                transforms.ToTensor()]))
    loader = DataLoader(train, batch_size=256, shuffle=True, num_workers=workers)
    model = build_model("lenet5", 1, 10, 32)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    seen = 0
    started = time.perf_counter()
    for x, y in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        seen += len(y)
    return seen / (time.perf_counter() - started)


def find_source(data_dir: str | None) -> Path:
    for candidate in filter(None, (data_dir and Path(data_dir), SYSTEM_DIR)):
        if all((candidate / n).exists() or (candidate / f"{n}.gz").exists() for n in RAW_FILES):
            return candidate
    raise SystemExit("Fashion-MNIST raw files not found: install Debian's dataset-fashion-mnist "
                     "or pass --data-dir with the four *-ubyte(.gz) files.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--threads-pairs", type=int, default=0, metavar="N",
                        help="instead: N alternating epochs of CPU threads auto vs every core "
                             "(issue 14: auto must not be more than 3%% slower when idle)")
    args = parser.parse_args()
    source = find_source(args.data_dir)
    if args.threads_pairs:
        compare_thread_choices(str(source), args.threads_pairs)
        return
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, data from {source}")
    engine_rate = engine_epoch(str(source))
    print(f"engine:               {engine_rate:10,.0f} examples/s")
    with tempfile.TemporaryDirectory() as tmp:
        unpack_for_torchvision(source, Path(tmp))
        plain_rates = {}
        for workers in (0, 2):
            plain_rates[workers] = plain_epoch(Path(tmp), workers)
            print(f"plain, {workers} workers:     {plain_rates[workers]:10,.0f} examples/s")
    best = max(plain_rates.values())
    print(f"ratio engine / best plain: {engine_rate / best:.2f}x (target >= 2x)")


if __name__ == "__main__":
    main()
