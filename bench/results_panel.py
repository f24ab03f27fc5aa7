"""GUI-thread time the Results tab takes per epoch end, for a 10,000-image test set.

A ResultsPanel follows a RunModel in a 1280x800 window (offscreen Qt unless
QT_QPA_PLATFORM is set); a RunStart carries 10,000 test images, then `--epochs` EpochEnd
events carry synthetic evaluations (every class's probability per image, a model that gets
about 90% right). Per epoch end it times, on the GUI thread:

- handle: `RunModel.feed([epoch_end])`, i.e. every connected slot (confusion matrix,
  per-class bars, galleries, health note);
- paint: the repaint that follows (`processEvents`, including the thumbnails painted);

with the tab visible and with it hidden (results stored, drawn when shown); then a step of
the epoch slider to each epoch recorded (the tab redrawn from the kept history, with the
story galleries up to that epoch). Prints median,
90th percentile and maximum in milliseconds over the epoch ends after the first, and the
first apart (it lays the tab out and makes its first thumbnails). Target: handle + paint
< 50 ms. On a shared machine, quote the load average with the figures.

    python bench/results_panel.py [--epochs 20] [--classes 10] [--size 28] [--channels 1]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from engine.analysis import Evaluation, kept_classes  # noqa: E402
from engine.events import EpochEnd, RunStart  # noqa: E402
from gui.results_panel import ResultsPanel  # noqa: E402
from gui.run_model import RunModel  # noqa: E402

TEST_IMAGES = 10_000


def evaluation(epoch: int, labels: np.ndarray, classes: int, rng) -> Evaluation:
    n = len(labels)
    logits = rng.normal(size=(n, classes)).astype(np.float32)
    logits[np.arange(n), labels] += rng.normal(3.5, 1.5, n).astype(np.float32)
    probs = np.exp(logits - logits.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    kept = kept_classes(classes, n)
    order = np.argsort(-probs, axis=1)[:, :kept]
    return Evaluation(epoch=epoch, num_classes=classes, labels=labels,
                      top_classes=order.astype(np.int32),
                      top_probs=np.take_along_axis(probs, order, 1),
                      true_probs=probs[np.arange(n), labels])


def summary(name: str, values: list[float]) -> str:
    ms = sorted(v * 1000 for v in values)
    p90 = ms[min(len(ms) - 1, int(round(0.9 * (len(ms) - 1))))]
    return (f"{name:<28} median {statistics.median(ms):6.1f} ms   p90 {p90:6.1f} ms   "
            f"max {ms[-1]:6.1f} ms")


def measure(app: QApplication, panel: ResultsPanel, run: RunModel, visible: bool,
            epochs: int, labels: np.ndarray, classes: int) -> dict[str, list[float]]:
    rng = np.random.default_rng(1)
    events = [EpochEnd(epoch=e, epochs=epochs, train_loss=1 / e, train_acc=0.9, val_loss=None,
                       val_acc=None, test_loss=1 / e, test_acc=0.9, lr=0.01, seconds=1.0,
                       evaluation=evaluation(e, labels, classes, rng))
              for e in range(1, epochs + 1)]
    panel.setVisible(visible)
    app.processEvents()
    times: dict[str, list[float]] = {"handle": [], "paint": [], "total": []}
    for event in events:
        t0 = time.perf_counter()
        run.feed([event])
        t1 = time.perf_counter()
        app.processEvents()
        t2 = time.perf_counter()
        times["handle"].append(t1 - t0)
        times["paint"].append(t2 - t1)
        times["total"].append(t2 - t0)
    return times


def measure_slider(app: QApplication, panel: ResultsPanel) -> list[float]:
    """A step of the epoch slider to each recorded epoch, oldest first, redrawn and painted."""
    panel.show()
    app.processEvents()
    times = []
    for epoch in panel.epoch_slider.epochs():
        t0 = time.perf_counter()
        panel.epoch_slider.set_epoch(epoch)
        app.processEvents()
        times.append(time.perf_counter() - t0)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--size", type=int, default=28)
    parser.add_argument("--channels", type=int, default=1)
    args = parser.parse_args()

    app = QApplication.instance() or QApplication([])
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (TEST_IMAGES, args.channels, args.size, args.size),
                          dtype=np.uint8)
    labels = rng.integers(0, args.classes, TEST_IMAGES).astype(np.int64)
    run = RunModel()
    panel = ResultsPanel.following(run)
    panel.resize(1280, 800)
    panel.show()
    run.feed([RunStart(arch="lenet5", dataset="mnist", device="CPU", epochs=args.epochs,
                       start_epoch=0, batches_per_epoch=100, train_size=60_000, val_size=0,
                       test_size=TEST_IMAGES, num_params=1,
                       class_names=tuple(f"class {i}" for i in range(args.classes)),
                       input_shape=(args.channels, args.size, args.size), test_images=images,
                       test_labels=labels)])
    app.processEvents()
    print(f"{TEST_IMAGES:,} test images of {args.channels}x{args.size}x{args.size}, "
          f"{args.classes} classes, {args.epochs} epoch ends each")
    for visible in (True, False):
        times = measure(app, panel, run, visible, args.epochs, labels, args.classes)
        where = "visible" if visible else "hidden"
        for part, values in times.items():
            print(summary(f"{where}: {part}", values[1:]) + f"   (first {values[0] * 1000:.1f} ms)")
    print(summary("slider: a step", measure_slider(app, panel)))
    panel.close()


if __name__ == "__main__":
    main()
