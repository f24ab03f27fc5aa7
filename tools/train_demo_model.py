"""Train the bundled demo model: LeNet-5 (ReLU) on the bundled real MNIST sample, with
augmentation that imitates how people write digits.

    python tools/train_demo_model.py [--epochs N] [--out PATH]

Writes resources/pretrained/digits-lenet5.pt (an ordinary, sealed TrainDesk checkpoint,
loaded with weights_only=True like any other) and prints its accuracy on the sample's 2,000
held-out digits and on the outside digits (tests/data/outside-digits, built by
tools/build_outside_digits.py); record both figures in resources/pretrained/README.md.
Deterministic on the CPU with a fixed thread count (set here).

Why not the trainer's own augmentation: its random crops only shift. A digit drawn on the
canvas, written by another hand or printed in a font is also rotated, slanted, squeezed and
stroked thinner or thicker than MNIST's, and a model that never saw that reads it wrong.
`engine.data.handwriting` draws all of those per image, on whole batches.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
from torch import nn  # noqa: E402

from engine.config import TrainConfig  # noqa: E402
from engine.data import load_dataset  # noqa: E402
from engine.data.handwriting import augment_handwriting  # noqa: E402
from engine.data.idx import read_idx  # noqa: E402
from engine.data.pipeline import resize_and_normalise  # noqa: E402
from engine.events import EpochEnd  # noqa: E402
from engine.models.architectures import build_model, input_size_for  # noqa: E402
from engine.records.checkpoint import (  # noqa: E402
    Checkpoint,
    build_model_from_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from engine.resources import RESOURCES_DIR  # noqa: E402
from engine.training.optim import build_optimizer, build_scheduler  # noqa: E402

DEMO_CHECKPOINT = RESOURCES_DIR / "pretrained" / "digits-lenet5.pt"
OUTSIDE_DIR = Path(__file__).resolve().parents[1] / "tests" / "data" / "outside-digits"
# augment=False: the trainer's random crops are not used; the handwriting augmentation
# (above) is, on every training image.
DEMO_CONFIG = TrainConfig(arch="lenet5-relu", dataset="mnist-sample", epochs=40, batch_size=64,
                          optimizer="adam", lr=2e-3, schedule="cosine", augment=False,
                          weight_decay=0.0, device="cpu", seed=0, threads=1)
EVAL_BATCH = 1000


def train(config: TrainConfig, log=print) -> Checkpoint:
    torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    data = load_dataset(config.dataset, config.data_dir)
    size = input_size_for(config.arch, data.image_size, config.image_size)
    model = build_model(config.arch, data.channels, data.num_classes, size)
    mean = torch.tensor(data.mean).view(1, -1, 1, 1)
    std = torch.tensor(data.std).view(1, -1, 1, 1)
    n = len(data.train_labels)
    batches = n // config.batch_size
    optimizer = build_optimizer(model, config)
    scheduler = build_scheduler(optimizer, config, batches)
    loss_fn = nn.CrossEntropyLoss()
    history: list[dict] = []
    for epoch in range(1, config.epochs + 1):
        started = time.perf_counter()
        generator = torch.Generator().manual_seed(config.seed * 100_003 + epoch)
        order = torch.randperm(n, generator=generator)
        model.train()
        seen = correct = 0
        loss_sum = 0.0
        for batch in range(batches):
            idx = order[batch * config.batch_size:(batch + 1) * config.batch_size]
            x = augment_handwriting(data.train_images[idx].float() / 255, generator)
            y = data.train_labels[idx]
            logits = model(resize_and_normalise(x, size, mean, std))
            loss = loss_fn(logits, y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            seen += len(y)
            correct += int((logits.argmax(1) == y).sum())
            loss_sum += loss.item() * len(y)
        seconds = time.perf_counter() - started
        test_loss, test_acc = evaluate(model, data.test_images, data.test_labels, size, mean,
                                       std)
        record = EpochEnd(epoch=epoch, epochs=config.epochs, train_loss=loss_sum / seen,
                          train_acc=correct / seen, val_loss=None, val_acc=None,
                          test_loss=test_loss, test_acc=test_acc,
                          lr=optimizer.param_groups[0]["lr"], seconds=seconds)
        history.append(record.as_record())
        log(f"epoch {epoch}/{config.epochs}: train loss {record.train_loss:.4f}, acc "
            f"{record.train_acc:.2%} | test loss {test_loss:.4f}, acc {test_acc:.2%} "
            f"({seconds:.1f} s)")
    return Checkpoint(
        config=config, model_state={k: v.detach().clone() for k, v in
                                    model.state_dict().items()},
        optimizer_state=optimizer.state_dict(), scheduler_state=scheduler.state_dict(),
        scaler_state=None, epoch=config.epochs, history=history,
        class_names=data.class_names, mean=data.mean, std=data.std,
        in_channels=data.channels, input_size=size, is_digits=data.is_digits)


def evaluate(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, size: int,
             mean: torch.Tensor, std: torch.Tensor) -> tuple[float, float]:
    """Mean cross-entropy and accuracy on uint8 images, prepared as the app prepares them."""
    model.eval()
    loss_sum = 0.0
    correct = 0
    with torch.inference_mode():
        for start in range(0, len(labels), EVAL_BATCH):
            x = resize_and_normalise(images[start:start + EVAL_BATCH].float() / 255, size,
                                     mean, std)
            y = labels[start:start + EVAL_BATCH]
            logits = model(x)
            loss_sum += float(nn.functional.cross_entropy(logits, y, reduction="sum"))
            correct += int((logits.argmax(1) == y).sum())
    return loss_sum / len(labels), correct / len(labels)


def accuracies(ckpt: Checkpoint) -> dict[str, tuple[float, int]]:
    """Accuracy and count on the sample's held-out digits and on each set of
    tests/data/outside-digits (already in MNIST form)."""
    model = build_model_from_checkpoint(ckpt)
    mean = torch.tensor(ckpt.mean).view(1, -1, 1, 1)
    std = torch.tensor(ckpt.std).view(1, -1, 1, 1)
    data = load_dataset(ckpt.config.dataset, ckpt.config.data_dir)
    _, held_out = evaluate(model, data.test_images, data.test_labels, ckpt.input_size, mean, std)
    found = {"held-out MNIST sample": (held_out, len(data.test_labels))}
    for labels_file in sorted(OUTSIDE_DIR.glob("*-labels-idx1-ubyte.gz")):
        name = labels_file.name.split("-")[0]
        images = torch.from_numpy(read_idx(OUTSIDE_DIR / f"{name}-images-idx3-ubyte.gz", 3)
                                  .copy()).unsqueeze(1)
        labels = torch.from_numpy(read_idx(labels_file, 1).astype("int64"))
        _, accuracy = evaluate(model, images, labels, ckpt.input_size, mean, std)
        found[name] = (accuracy, len(labels))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=DEMO_CONFIG.epochs)
    parser.add_argument("--out", type=Path, default=DEMO_CHECKPOINT)
    parser.add_argument("--measure", type=Path, default=None, metavar="CHECKPOINT",
                        help="Only measure this checkpoint (e.g. an older demo model).")
    args = parser.parse_args(argv)
    if args.measure is not None:
        ckpt = load_checkpoint(args.measure)
    else:
        ckpt = train(DEMO_CONFIG.replace(epochs=args.epochs))
        save_checkpoint(args.out, ckpt)
        print(f"Saved {args.out}.")
    for name, (accuracy, count) in accuracies(ckpt).items():
        print(f"{name}: {accuracy:.2%} of {count:,} digits")
    return 0


if __name__ == "__main__":
    sys.exit(main())
