"""Head-only fine-tuning of a pretrained network on a folder of photos: epochs per second
with the frozen network's features recomputed for every batch (before) and kept
(engine/training/feature_cache.py, after), and the whole `traindesk train` command's time
for 10 epochs over its time for 1 (issue 23's target for ResNet-18: at most 1.5x).

    python bench/head_only.py [--photos 300] [--epochs 3] [--ratio-epochs 10]
                              [--archs resnet18-imagenet ...] [--image-size 224]
                              [--ratio-before]

The photos are written by tools/sample_datasets.py (3 classes; the folder's own test split).
The ImageNet weights are random ones saved under torchvision's file names in a temporary
TORCH_HOME: the same speed as the real ones, and nothing is downloaded. "Before" is forced
with TRAINDESK_RECOMPUTE_FEATURES=1 (the engine's switch for this bench). CPU, default
threads, augmentation off, batch 32. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import torch  # noqa: E402
import torchvision  # noqa: E402

from engine.catalog import arch_title  # noqa: E402
from engine.config import TrainConfig  # noqa: E402
from engine.events import EpochEnd, LogLine, RunStart  # noqa: E402
from engine.models import pretrained  # noqa: E402
from engine.training.feature_cache import RECOMPUTE_ENV  # noqa: E402
from engine.training.trainer import Trainer  # noqa: E402
from tools.sample_datasets import write_image_folder  # noqa: E402

ARCHS = ("resnet18-imagenet", "mobilenet-v3-small-imagenet", "efficientnet-b0-imagenet")


def write_random_weights(arch: str) -> None:
    """A random network's state under torchvision's file name in $TORCH_HOME."""
    path = pretrained.weights_path(arch)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        net = torchvision.models.get_model(pretrained.ZOO[arch].model, weights=None)
        torch.save(net.state_dict(), path)


def set_recompute(recompute: bool) -> None:
    if recompute:
        os.environ[RECOMPUTE_ENV] = "1"
    else:
        os.environ.pop(RECOMPUTE_ENV, None)


def timed_run(config: TrainConfig, recompute: bool) -> tuple[float, float]:
    """(epochs per second after the run started, seconds of the feature pass before it)."""
    set_recompute(recompute)
    marks: dict[str, float] = {}
    ends: list[float] = []

    def listen(event: object) -> None:
        now = time.perf_counter()
        if isinstance(event, LogLine) and "computed once per image" in event.message:
            marks["features"] = now
        elif isinstance(event, RunStart):
            marks["start"] = now
        elif isinstance(event, EpochEnd):
            ends.append(now)

    end = Trainer(config, tensorboard=False).run(listen)
    if end.reason == "failed":
        raise SystemExit(f"{config.arch}: {end.message}")
    features = marks["start"] - marks["features"] if "features" in marks else 0.0
    return len(ends) / (ends[-1] - marks["start"]), features


def command_seconds(photos: Path, arch: str, epochs: int, image_size: int, recompute: bool,
                    runs: Path) -> float:
    """Wall time of the whole `traindesk train` command, start-up included."""
    set_recompute(recompute)
    command = [sys.executable, str(REPO / "main.py"), "train", "--arch", arch,
               "--dataset", "folder", "--image-folder", str(photos), "--fine-tune", "head",
               "--epochs", str(epochs), "--batch-size", "32", "--no-augment",
               "--image-size", str(image_size), "--run-dir", str(runs / f"{arch}-{epochs}"),
               "--no-tensorboard"]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 4):  # 4: finished but learned nothing (random weights)
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, default=300)
    parser.add_argument("--epochs", type=int, default=3, help="per in-process run")
    parser.add_argument("--ratio-epochs", type=int, default=10)
    parser.add_argument("--archs", nargs="+", default=list(ARCHS), choices=ARCHS)
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--ratio-before", action="store_true",
                        help="also time the command recomputing the features (slow)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        temp = Path(temp)
        os.environ["TORCH_HOME"] = str(temp / "torch-home")
        photos = write_image_folder(temp / "photos", classes=3, per_class=args.photos // 3,
                                    size=args.image_size)
        print(f"{args.photos} photos of {args.image_size}x{args.image_size}, "
              f"{args.epochs} epochs per run, CPU, {torch.get_num_threads()} threads\n")
        print("| network | before: epochs/s | after: epochs/s | after: feature pass (s) "
              "| epochs faster |")
        print("|---|---|---|---|---|")
        for arch in args.archs:
            write_random_weights(arch)
            config = TrainConfig(arch=arch, dataset="folder", image_folder=str(photos),
                                 fine_tune="head", epochs=args.epochs, batch_size=32,
                                 augment=False, image_size=args.image_size, device="cpu")
            before, _ = timed_run(config, recompute=True)
            after, features = timed_run(config, recompute=False)
            print(f"| {arch_title(arch)} | {before:.3f} | {after:.1f} | {features:.1f} "
                  f"| {after / before:,.0f}x |", flush=True)
        arch = "resnet18-imagenet"
        write_random_weights(arch)
        print(f"\nWhole `traindesk train` command, {arch_title(arch)}:")
        for recompute in (False, True) if args.ratio_before else (False,):
            one, many = (command_seconds(photos, arch, epochs, args.image_size, recompute,
                                         temp / ("before" if recompute else "after"))
                         for epochs in (1, args.ratio_epochs))
            print(f"  {'before' if recompute else 'after'}: 1 epoch {one:.1f} s, "
                  f"{args.ratio_epochs} epochs {many:.1f} s: {many / one:.2f}x", flush=True)
        set_recompute(False)


if __name__ == "__main__":
    main()
