"""Train the bundled demo model: LeNet-5 on the bundled real MNIST sample.

    python tools/train_demo_model.py

Writes resources/pretrained/digits-lenet5.pt (an ordinary TrainDesk checkpoint, loaded with
weights_only=True like any other) and prints its test accuracy on the sample's 2,000 held-out
digits; record that figure in resources/pretrained/README.md. Deterministic on the CPU.

The ReLU variant with random-crop augmentation is used because the draw tab feeds it digits
drawn with a mouse: shifted a little, stroked a little differently from MNIST's pens.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.checkpoint import save_checkpoint  # noqa: E402
from engine.cli import ConsolePrinter  # noqa: E402
from engine.config import TrainConfig  # noqa: E402
from engine.resources import RESOURCES_DIR  # noqa: E402
from engine.trainer import Trainer  # noqa: E402

DEMO_CHECKPOINT = RESOURCES_DIR / "pretrained" / "digits-lenet5.pt"
DEMO_CONFIG = TrainConfig(arch="lenet5-relu", dataset="mnist-sample", epochs=20, batch_size=64,
                          optimizer="adam", lr=2e-3, schedule="cosine", augment=True,
                          device="cpu", seed=0)


def main() -> int:
    trainer = Trainer(DEMO_CONFIG)
    end = trainer.run(ConsolePrinter())
    if end.reason != "finished":
        return 1
    save_checkpoint(DEMO_CHECKPOINT, trainer.checkpoint())
    print(f"Saved {DEMO_CHECKPOINT}: test accuracy {trainer.history[-1]['test_acc']:.2%} on "
          f"{len(trainer.dataset.test_labels)} held-out real MNIST digits.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
