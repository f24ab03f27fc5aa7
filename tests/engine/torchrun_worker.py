"""`main.py train` as torchrun runs it, with two test hooks (never used outside tests).

    python -m torch.distributed.run ... tests/engine/torchrun_worker.py \
        [--fail RANK STEP] [--evaluation PATH] train --dataset ...

--fail RANK STEP: that rank raises at its STEP-th training step (a process that crashes
mid-run: a bad GPU, a bug on one machine); the others train normally.
--evaluation PATH: rank 0 saves each epoch's per-image evaluation (what the Results tab
shows) to PATH-<epoch>.npz, to compare with a one-process run's.
--exit-codes PATH: each process writes the exit code main() returned to PATH-<rank>
(torchrun reports its own, not its processes').
"""

import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from engine.cli import torchrun as torchrun_cli  # noqa: E402
from engine.events import EpochEnd  # noqa: E402
from engine.training import loop  # noqa: E402
from main import main  # noqa: E402


def failing_at(step: int):
    real_step = loop.train_step
    steps = []

    def step_or_fail(*args, **kwargs):
        steps.append(1)
        if len(steps) == step:
            raise RuntimeError(f"injected failure at step {step}")
        return real_step(*args, **kwargs)

    return step_or_fail


def saving_evaluation(path: str):
    class Printer(torchrun_cli.ConsolePrinter):
        def __call__(self, event):
            if isinstance(event, EpochEnd) and event.evaluation is not None:
                e = event.evaluation
                np.savez(f"{path}-{event.epoch}.npz", top_classes=e.top_classes,
                         top_probs=e.top_probs, true_probs=e.true_probs, labels=e.labels)
            super().__call__(event)

    return Printer


if __name__ == "__main__":
    argv = sys.argv[1:]
    rank = int(os.environ["RANK"])
    if argv[0] == "--fail":
        if rank == int(argv[1]):
            loop.train_step = failing_at(int(argv[2]))
        argv = argv[3:]
    if argv[0] == "--evaluation":
        torchrun_cli.ConsolePrinter = saving_evaluation(argv[1])
        argv = argv[2:]
    codes = None
    if argv[0] == "--exit-codes":
        codes, argv = Path(f"{argv[1]}-{rank}"), argv[2:]
    code = main(argv)
    if codes is not None:
        codes.write_text(str(code))
    sys.exit(code)
