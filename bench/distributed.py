"""Examples/s of one process against N under torchrun (DistributedDataParallel).

Trains LeNet-5 (classic) and ResNet-18 on CIFAR-10 with `main.py train`, first as one
process, then under `torchrun --standalone --nproc_per_node N` (gloo on the CPU, nccl with
`--device cuda`), and prints each one's training speed (the engine's examples/s of the last
epoch: the first carries the warm-up) and the scaling ratio (N processes against one).

The data is a slice of the real CIFAR-10 when it is in --data-dir (written in CIFAR-10's
binary format to a temporary folder), else generated CIFAR-format images of the same shape;
the output says which. On the CPU each process trains as it would for a person: one
process with the engine's automatic thread count (engine/runtime/cpu.py), each of N processes on
its share of the cores (OMP_NUM_THREADS = cores / N, without tuning:
engine/training/distributed.py).
(A fixed thread count for the one process collapses beside other busy programs: measured
on this shared machine, 528 examples/s for LeNet-5 against 2,376 for two processes.) The
default run is short (under a minute on an idle 2-core machine); --lenet-images,
--resnet-images and --epochs make it longer.

    python bench/distributed.py [--procs 2] [--device cpu|cuda] [--epochs 2]
                                [--lenet-images 1024] [--resnet-images 128]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SPEED = re.compile(r"^Epoch (\d+)/\d+: .* \| ([\d,]+) examples/s$", re.MULTILINE)
TEST_IMAGES = 100


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def real_cifar(data_dir: Path, n: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The first n training and TEST_IMAGES test images of the real CIFAR-10, if present."""
    sys.path.insert(0, str(REPO))
    from engine.data import cifar

    if not cifar.locate(data_dir):
        return None
    from engine.data import load_dataset

    data = load_dataset("cifar10", str(data_dir))
    images = np.concatenate([data.train_images[:n].numpy(),
                             data.test_images[:TEST_IMAGES].numpy()])
    labels = np.concatenate([data.train_labels[:n].numpy(),
                             data.test_labels[:TEST_IMAGES].numpy()])
    return images, labels


def generated_cifar(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n + TEST_IMAGES 32x32 colour images, one colour pattern per class plus noise."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n + TEST_IMAGES)
    patterns = rng.uniform(40, 215, (10, 3, 32, 32))
    noise = rng.normal(0, 40, (len(labels), 3, 32, 32))
    return np.clip(patterns[labels] + noise, 0, 255).astype(np.uint8), labels


def write_cifar_binary(folder: Path, images: np.ndarray, labels: np.ndarray) -> None:
    """CIFAR-10's binary version: each record a label byte and 3072 pixel bytes."""
    folder.mkdir(parents=True)
    records = np.concatenate([labels.astype(np.uint8)[:, None],
                              images.reshape(len(images), -1)], axis=1)
    train, test = records[:-TEST_IMAGES], records[-TEST_IMAGES:]
    for i, part in enumerate(np.array_split(train, 5), start=1):
        (folder / f"data_batch_{i}.bin").write_bytes(part.tobytes())
    (folder / "test_batch.bin").write_bytes(test.tobytes())


def train_speed(arch: str, data_dir: Path, procs: int, args: argparse.Namespace,
                run_dir: Path) -> float:
    train = ["train", "--arch", arch, "--dataset", "cifar10", "--data-dir", str(data_dir),
             "--epochs", str(args.epochs), "--batch-size", str(args.batch_size),
             "--device", args.device, "--no-tensorboard", "--run-dir", str(run_dir)]
    env = dict(os.environ)
    if procs == 1:
        command = [sys.executable, "main.py", *train]
    else:
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                   "--nproc_per_node", str(procs), "main.py", *train]
        env["OMP_NUM_THREADS"] = str(max(1, cores() // procs))
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True,
                            timeout=3600)
    # Every epoch trained is enough: so short a run may end "learned nothing" (exit code 4,
    # which torchrun reports as its own failure).
    speeds = SPEED.findall(result.stderr)
    if not speeds or int(speeds[-1][0]) != args.epochs:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr[-3000:]}")
    return float(speeds[-1][1].replace(",", ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--procs", type=int, default=2)
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lenet-images", type=int, default=1024)
    parser.add_argument("--resnet-images", type=int, default=128)
    parser.add_argument("--data-dir", default=str(Path.home() / ".traindesk" / "data"))
    args = parser.parse_args()

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for arch, n in (("lenet5", args.lenet_images), ("resnet18", args.resnet_images)):
            real = real_cifar(Path(args.data_dir).expanduser(), n)
            source = "real CIFAR-10" if real is not None else "generated CIFAR-format"
            images, labels = real if real is not None else generated_cifar(n)
            data_dir = Path(tmp) / f"{arch}-data"
            write_cifar_binary(data_dir / "cifar-10-batches-bin", images, labels)
            one = train_speed(arch, data_dir, 1, args, Path(tmp) / f"{arch}-1")
            many = train_speed(arch, data_dir, args.procs, args, Path(tmp) / f"{arch}-n")
            rows.append((arch, source, len(labels) - TEST_IMAGES, one, many))

    backend = "gloo" if args.device == "cpu" else "nccl"
    print(f"{cores()} cores; device {args.device}; batch {args.batch_size} (the whole batch "
          f"of all processes); examples/s of epoch {args.epochs} of {args.epochs}")
    print(f"{'model':<10} {'data':<24} {'images':>6} {'1 process':>10} "
          f"{f'{args.procs} x ({backend})':>12} {'scaling':>8}")
    for arch, source, n, one, many in rows:
        print(f"{arch:<10} {source:<24} {n:>6} {one:>10,.0f} {many:>12,.0f} {many / one:>7.2f}x")


if __name__ == "__main__":
    main()
