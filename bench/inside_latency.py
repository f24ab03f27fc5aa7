"""How soon the Inside tab's feature maps are ready after a stroke ends, and what a look
costs per architecture.

1. Stroke end to feature maps: the real Draw and Inside panels (offscreen), the bundled
   digit model; each round draws a digit stroke by stroke with mouse events (as a person
   does: press, moves, release) and times from each release to the Inside tab's result
   for that drawing (the Draw tab's prediction throttle included). Median, 90th percentile
   and max over all strokes. Target: < 100 ms.
2. One look (forward + backward pass, hooks, colour maps for every tile) per architecture,
   on one thread as in the app, for a 1x28x28 drawing or a 3x32x32 image: median of
   `--repeats`.

    python bench/inside_latency.py [--rounds 10] [--repeats 5]

Figures (2-core machine, other test suites running): stroke end to feature maps median
17 ms, p90 21 ms, max 24 ms (12 strokes); before strokes were read at their end (only
after the Draw tab's 60 ms throttle) median 65 ms, p90 89 ms, max 129 ms. One look:
softmax 1-7 ms, MLP 14-18, LeNet-5 8-12, small CNN 19-26, VGG-11 21-27, NiN 31-41,
AlexNet 40-44, GoogLeNet 60-74, ResNet-18 114-117 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def stroke_to_maps(rounds: int) -> list[float]:
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from gui.draw_panel import DrawPanel
    from gui.inside_panel import InsidePanel
    from gui.run_model import RunModel
    from gui.worker import leave_the_cores_to_training
    from tools.digit_strokes import all_drawings, place

    app = QApplication.instance() or QApplication([])
    leave_the_cores_to_training()
    draw, run = DrawPanel(), RunModel()
    inside = InsidePanel(draw, run)
    inside.resize(1100, 760)
    inside.show()
    assert draw.load_bundled_model()
    arrived: list[float] = []
    inside._job.done.connect(lambda *_: arrived.append(time.perf_counter()))
    side = inside.canvas.width()
    drawings = [d for _, _, d in all_drawings()]
    latencies = []
    for r in range(rounds):
        inside.canvas.clear()
        _wait(app, lambda: not draw.prediction_pending() and not inside.busy())
        for stroke in place(drawings[r % len(drawings)], (0.5, 0.5), 0.8):
            points = [QPoint(round(x * side), round(y * side)) for x, y in stroke]
            QTest.mousePress(inside.canvas, Qt.MouseButton.LeftButton, pos=points[0])
            for point in points[1:]:
                QTest.mouseMove(inside.canvas, point)
                app.processEvents()
            QTest.mouseRelease(inside.canvas, Qt.MouseButton.LeftButton, pos=points[-1])
            released = time.perf_counter()
            # Ready when the Draw tab has read the final drawing and the Inside tab's look
            # at it has arrived (before the release, if the release added no point).
            _wait(app, lambda: not draw.prediction_pending() and not inside.busy())
            latencies.append(max(arrived[-1] - released, 0.0))
    inside.close()
    return latencies


def _wait(app, done, timeout: float = 10.0) -> None:
    end = time.perf_counter() + timeout
    while not done():
        if time.perf_counter() > end:
            raise TimeoutError("no result")
        app.processEvents()
        time.sleep(0.0005)


def per_architecture(repeats: int) -> dict[str, float]:
    import numpy as np
    import torch

    from engine.catalog import is_pretrained
    from engine.inference.predict import Predictor
    from engine.models.architectures import MODELS, build_model
    from gui.inside_panel import _Job, _look

    torch.set_num_threads(1)
    times = {}
    for arch in MODELS:
        # The pretrained networks take colour at their own size (224); the others 28/32.
        shapes = ((3, 224),) if is_pretrained(arch) else ((1, 28), (3, 32))
        for channels, size in shapes:
            input_size = max(size, 32)
            model = build_model(arch, channels, 10, input_size)
            predictor = Predictor(model, class_names=tuple("0123456789"), mean=(0.5,) * channels,
                                  std=(0.25,) * channels, input_size=input_size,
                                  in_channels=channels)
            image = np.random.default_rng(0).integers(0, 255, (channels, size, size), np.uint8)
            picture = image[0] if channels == 1 else image.transpose(1, 2, 0)
            job = _Job(predictor, None, image, picture, predictor.class_names, arch)
            models: list = []
            _look(job, models)  # the model's copy and first-run allocations
            runs = [_look(job, models).seconds for _ in range(repeats)]
            times[f"{arch} {channels}x{size}x{size}"] = statistics.median(runs)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    latencies = sorted(stroke_to_maps(args.rounds))
    p90 = latencies[int(0.9 * (len(latencies) - 1))]
    print(f"Stroke end -> feature maps ({len(latencies)} strokes, bundled LeNet-5): median "
          f"{statistics.median(latencies) * 1000:.0f} ms, p90 {p90 * 1000:.0f} ms, max "
          f"{latencies[-1] * 1000:.0f} ms (target < 100 ms)")
    print("One look, median (forward + backward, hooks, pictures; one thread):")
    for name, seconds in per_architecture(args.repeats).items():
        print(f"  {name:38s} {seconds * 1000:7.1f} ms")


if __name__ == "__main__":
    main()
