"""Training speed beside other busy programs: a fixed thread count (before) vs auto (now).

For each model, trains on Fashion-MNIST through `Trainer.run` (the engine the CLI and the app
use) for a fixed number of batches or seconds, and reads the engine's own examples/s. Each
measurement runs idle, beside one busy competitor process (`while True: pass`) and beside
two, and with the thread count fixed at every core (what TrainDesk did before: PyTorch's
default) and with `threads=0` (auto, engine/runtime/cpu.py). Idle and busy runs alternate within
each repeat, so a pair shares the machine's drift; the "kept" figure is the median over
repeats of busy / idle in the same repeat. Targets (issue 14): with one competitor each
model keeps >= 45% of its idle throughput; idle auto is within 3% of idle fixed.

    python bench/contention.py [--repeats 3] [--models lenet5,mlp,cifar-cnn,resnet18]

The machine must otherwise be quiet: any other busy process is a competitor too.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.competitors import Competitors  # noqa: E402
from engine.config import TrainConfig  # noqa: E402
from engine.control import Control  # noqa: E402
from engine.events import BatchEnd  # noqa: E402
from engine.runtime.cpu import cpu_count  # noqa: E402
from engine.training.trainer import Trainer  # noqa: E402

SYSTEM_DIR = "/usr/share/datasets/fashion-mnist"
# (batch size, batches, seconds at most): a few hundred batches where the model allows.
MODELS = {
    "mlp": (256, 300, 6.0),
    "lenet5": (256, 200, 8.0),
    "cifar-cnn": (64, 150, 8.0),
    "resnet18": (32, 12, 12.0),
}
MODES = {"fixed": None, "auto": 0}  # fixed = every core, as before; auto = the tuner


def measure(arch: str, threads: int, data_dir: str) -> float:
    """The engine's examples/s after `batches` batches or `seconds`, whichever comes first."""
    batch_size, batches, seconds = MODELS[arch]
    config = TrainConfig(arch=arch, dataset="fashion-mnist", data_dir=data_dir, epochs=1,
                         batch_size=batch_size, optimizer="sgd", lr=0.05, momentum=0.9,
                         device="cpu", threads=threads, seed=0)
    control = Control()
    last: list[BatchEnd] = []
    started: list[float] = []

    def listen(event: object) -> None:
        if isinstance(event, BatchEnd):
            if not started:
                started.append(time.perf_counter())
            last[:] = [event]
            if event.batch >= batches or time.perf_counter() - started[0] >= seconds:
                control.stop()

    Trainer(config).run(listen, control)
    return last[0].examples_per_sec


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--data-dir", default=SYSTEM_DIR)
    parser.add_argument("--loads", default="0,1,2", help="competitor counts to measure")
    args = parser.parse_args()
    models = args.models.split(",")
    loads = [int(n) for n in args.loads.split(",")]
    cores = cpu_count()
    print(f"{cores} cores; fixed = {cores} threads (PyTorch's default); "
          "auto = engine/runtime/cpu.py")
    # results[(arch, mode, load)] = [examples/s per repeat]
    results: dict[tuple[str, str, int], list[float]] = {}
    measure(models[0], 0, args.data_dir)  # load the dataset once, outside any timing
    for repeat in range(args.repeats):
        for arch in models:
            for mode, threads in MODES.items():
                for load in loads:
                    with Competitors(load):
                        rate = measure(arch, threads if threads is not None else cores,
                                       args.data_dir)
                    results.setdefault((arch, mode, load), []).append(rate)
                    print(f"  repeat {repeat + 1}: {arch:9} {mode:5} {load} busy: "
                          f"{rate:9,.0f} ex/s", flush=True)

    print("\nmedian examples/s, and the share of idle speed kept (median of paired ratios)")
    header = f"{'model':10} {'mode':6}" + "".join(
        f" {f'{n} busy':>9} {'kept':>6}" if n else f" {'idle':>9}" for n in loads)
    print(header)
    for arch in models:
        for mode in MODES:
            idle = results[(arch, mode, 0)] if 0 in loads else None
            row = f"{arch:10} {mode:6}"
            for load in loads:
                rates = results[(arch, mode, load)]
                row += f" {statistics.median(rates):9,.0f}"
                if load and idle:
                    kept = statistics.median(b / i for b, i in zip(rates, idle, strict=True))
                    row += f" {kept:6.0%}"
            print(row)
        if 0 in loads:
            ratio = statistics.median(
                a / f for a, f in zip(results[(arch, "auto", 0)], results[(arch, "fixed", 0)],
                                      strict=True))
            print(f"{'':10} idle auto / idle fixed: {ratio:.1%}")


if __name__ == "__main__":
    main()
