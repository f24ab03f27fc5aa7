"""A sweep's overhead per trial against the same runs started by hand.

The same N trials (the same settings: the sweep's are enqueued, so Optuna hands them out in
order) run twice in one process, alternating which goes first per repeat:

- by hand: `Trainer(config, run_dir).run(...)` for each setting, one after another;
- sweep:   `SweepJob(plan).run(...)`: Optuna's study in the folder's SQLite file, its
           heartbeat thread, the trial bookkeeping, sweep.json and the sweep's events.

Start-up (importing Optuna, creating the study and its tables) is timed on its own and left
out of the per-trial figure; the target is under 5% per trial plus that start-up. Prints
seconds; asserts nothing.

    python bench/sweep_overhead.py [--trials 6] [--repeats 3] [--train 2000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.config import TrainConfig  # noqa: E402
from engine.experiments.search_space import parse_search  # noqa: E402
from engine.experiments.sweep import SweepJob, SweepPlan, open_study  # noqa: E402
from engine.training.trainer import Trainer  # noqa: E402
from tools.sample_datasets import write_idx_dataset  # noqa: E402

LRS = (1e-3, 2e-3, 3e-3, 5e-3, 7e-3, 1e-2, 1.5e-2, 2e-2)


def by_hand(base: TrainConfig, lrs: list[float], folder: Path) -> float:
    started = time.perf_counter()
    for i, lr in enumerate(lrs):
        end = Trainer(base.replace(lr=lr), run_dir=folder / f"run-{i}",
                      tensorboard=False).run(lambda _e: None)
        if end.reason not in ("finished", "learned_nothing"):  # both trained every epoch
            raise SystemExit(f"a run by hand did not finish: {end.message}")
    return time.perf_counter() - started


def swept(base: TrainConfig, lrs: list[float], folder: Path) -> tuple[float, float]:
    """(start-up seconds: opening the study, trials seconds)."""
    plan = SweepPlan(base, (parse_search("lr=" + ",".join(map(str, LRS))),), len(lrs), folder,
                     sampler="random")
    started = time.perf_counter()
    study = open_study(plan)
    for lr in lrs:
        study.enqueue_trial({"lr": lr})
    opened = time.perf_counter()
    end = SweepJob(plan, tensorboard=False).run(lambda _e: None)
    if end.reason != "finished":
        raise SystemExit(f"the sweep did not finish: {end.message}")
    return opened - started, time.perf_counter() - opened


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--train", type=int, default=2000, help="training images")
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    lrs = [LRS[i % len(LRS)] for i in range(args.trials)]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_idx_dataset(root / "data", n_train=args.train, n_test=args.train // 5)
        base = TrainConfig(arch="lenet5", dataset="mnist", data_dir=str(root / "data"),
                           epochs=args.epochs, batch_size=64, device="cpu", threads=1)
        started = time.perf_counter()
        import optuna  # noqa: F401 - its import is part of a sweep's start-up

        imported = time.perf_counter() - started
        by_hand(base, lrs[:1], root / "warm-up")  # torch's own first-run costs, for neither
        hands, sweeps, openings = [], [], []
        for repeat in range(args.repeats):
            order = ("hand", "sweep") if repeat % 2 == 0 else ("sweep", "hand")
            for which in order:
                folder = root / f"{which}-{repeat}"
                if which == "hand":
                    hands.append(by_hand(base, lrs, folder))
                else:
                    opening, trials = swept(base, lrs, folder)
                    openings.append(opening)
                    sweeps.append(trials)
    hand, sweep = statistics.median(hands), statistics.median(sweeps)
    per_trial = (sweep - hand) / args.trials
    print(f"{args.trials} trials of LeNet-5, {args.epochs} epochs on {args.train} images, CPU, "
          f"1 thread; medians of {args.repeats} repeats")
    print(f"  by hand: {hand:.2f} s ({hand / args.trials:.3f} s per run)")
    print(f"  sweep:   {sweep:.2f} s ({sweep / args.trials:.3f} s per trial)")
    share = per_trial / (hand / args.trials)
    print(f"  overhead per trial: {per_trial * 1000:+.0f} ms ({share:+.1%})")
    print(f"  start-up: import optuna {imported:.2f} s, open the study "
          f"{statistics.median(openings):.2f} s")
    print("  each repeat (hand / sweep): "
          + ", ".join(f"{h:.2f}/{s:.2f}" for h, s in zip(hands, sweeps, strict=True)))


if __name__ == "__main__":
    main()
