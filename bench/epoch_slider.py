"""What dragging the Draw and Inside tabs' epoch slider costs (gui/epoch_networks.py).

A run folder of `--epochs` per-epoch checkpoints of one architecture (random weights,
saved as a run saves them) is opened in the real Draw tab (offscreen) with a digit drawn:

1. Reading an epoch: from the slider's step to the Draw tab reading with that epoch's
   network, for an epoch not in memory (its checkpoint read and turned into a predictor on
   the background thread). Median and max over the epochs.
2. A step to an epoch in memory: the GUI thread's whole cost of the step (the shared choice,
   both sliders, the Draw tab's new reading of the drawing). Median and max.

    python bench/epoch_slider.py [--arch lenet5] [--epochs 10]

Figures (quiet 2-core CPU, LeNet-5, 10 epochs): reading an epoch not in memory median
13.7 ms, max 16.0 ms; a step to an epoch in memory median 3.8 ms, max 4.5 ms.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", default="lenet5")
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args()

    from PySide6.QtWidgets import QApplication

    from engine.config import TrainConfig
    from engine.models.architectures import build_model
    from engine.records.checkpoint import load_checkpoint
    from engine.records.epoch_checkpoints import save_epoch_checkpoint, weights_bytes
    from gui import draw_panel
    from gui.draw_panel import DrawPanel
    from gui.epoch_networks import EpochNetworks
    from gui.run_model import OpenedRun, RunModel
    from gui.worker import leave_the_cores_to_training
    from tools.digit_strokes import all_drawings, place

    app = QApplication.instance() or QApplication([])
    leave_the_cores_to_training()
    demo = load_checkpoint(draw_panel.BUNDLED_MODEL)
    folder = Path(tempfile.mkdtemp(prefix="epoch-slider-"))
    for epoch in range(1, args.epochs + 1):
        model = build_model(args.arch, 1, 10, demo.input_size)
        save_epoch_checkpoint(folder, dataclasses.replace(
            demo, config=TrainConfig(arch=args.arch, dataset="mnist-sample"),
            model_state=model.state_dict(), epoch=epoch, optimizer_state=None,
            scheduler_state=None, scaler_state=None))
    draw, run = DrawPanel(), RunModel()
    networks = EpochNetworks(run, draw)
    draw.follow_epochs(networks)
    draw.resize(1000, 700)
    draw.show()
    draw.load_bundled_model()
    [(_, _, drawing)] = [d for d in all_drawings() if d[:2] == (7, "plain")]
    draw.canvas.set_strokes(place(drawing, (0.5, 0.5), 0.8))
    draw.predict_if_pending()
    run.show_opened(demo, str(folder / "checkpoint.pt"),
                    OpenedRun(folder.name, "finished", args.epochs, [], folder))
    size = weights_bytes(model.state_dict()) / 2**20
    print(f"{args.arch}: {args.epochs} epochs of {size:.2f} MB each")

    reads = []
    for epoch in networks.epochs:
        networks.wait()  # a read-ahead under way is not this step's
        app.processEvents()
        if epoch in networks.cached_epochs():
            continue
        start = time.perf_counter()
        draw.epoch_bar.slider.set_epoch(epoch)
        while draw.epoch_network() is None or draw.epoch_network().epoch != epoch:
            app.processEvents()
            time.sleep(0.0005)
        reads.append((time.perf_counter() - start) * 1000)
    steps = []
    for epoch in reversed(networks.cached_epochs()):
        start = time.perf_counter()
        draw.epoch_bar.slider.set_epoch(epoch)
        steps.append((time.perf_counter() - start) * 1000)
        assert draw.epoch_network().epoch == epoch
    print(f"reading an epoch not in memory: median {statistics.median(reads):.1f} ms, "
          f"max {max(reads):.1f} ms ({len(reads)} epochs; the others were read ahead)")
    print(f"a step to an epoch in memory (GUI thread): median {statistics.median(steps):.1f} "
          f"ms, max {max(steps):.1f} ms ({len(steps)} steps)")


if __name__ == "__main__":
    main()
