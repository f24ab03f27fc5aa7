"""Faults, abuse and bad input, in bulk: how TrainDesk answers, counted per category.

Categories (bench/fault_kit.py holds each; the tests run them with small counts):
  checkpoints       randomly damaged copies of a sealed checkpoint, files that would run
                    code (pickle, torch zip, legacy torch), bare weights, non-checkpoints
  saves killed      a real training run saving at every epoch, SIGKILLed at random moments;
                    after each kill the run folder must be whole and the next run resumes it
  datasets          missing/cut/corrupt IDX and CIFAR files, awkward image folders (bad,
                    huge, 16-bit, CMYK, palette, unicode, pipes, /dev/zero links), each
                    loaded in a child process with a timeout
  datasets (random) randomly damaged IDX and CIFAR files, in a child with a timeout
  settings          random bad values in random TrainConfig fields, then a run of each
  runs              NaN/Inf loss, a failing layer, out of memory, stops during evaluation
                    and in the first batch, a full disk, an unwritable folder, repeated
  run folders       races of 4 real processes for one run folder (one must win, the others
                    be told who writes it), stale and foreign locks, exported models (TorchScript,
                    ONNX) given as checkpoints, exports aimed at a run's own files, names over
                    255 bytes, a broken link as run folder, real runs ended by SIGTERM
  window            tests/gui/test_window_faults.py's close and start/stop loops with
                    large counts (offscreen), in a pytest child: its pass/fail counts
  renamed classes   a run resumed after its image folder changed: classes renamed,
                    swapped, added or removed (refused), images added (warned)

Targets: 0 crashes, 0 hangs, 0 code executions, 0 silent loads, 0 runs lost.

    python bench/faults.py [--mutations 1000] [--kills 200] [--races 50] [--closes 50] ...
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
os.chdir(REPO)  # child processes import this checkout's code

from bench.fault_kit import (  # noqa: E402
    Tally,
    checkpoint_faults,
    config_faults,
    dataset_faults,
    dataset_mutations,
    kill_during_saves,
    run_faults,
    run_folder_faults,
    table,
)


def window_faults(closes: int, start_stops: int) -> Tally:
    """The window loops, run by pytest (qtbot drives the window) in a child process."""
    tally = Tally("window (close mid-run, start/stop, pause+close)")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", TRAINDESK_TEST_CLOSES=str(closes),
               TRAINDESK_TEST_START_STOPS=str(start_stops))
    tests = ["closing_mid_run", "starting_and_stopping", "pause_then_close"]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "tests/gui/test_window_faults.py", "-k", " or ".join(tests)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=3600)
    tally.tried = closes + start_stops + 1
    if result.returncode == 0:
        tally.clear = tally.tried
    else:
        failed = result.stdout.count(" FAILED") or 1
        for _ in range(failed):
            tally.bad("crashes", result.stdout[-2000:])
    return tally


def renamed_classes_faults(root: Path, repeats: int) -> Tally:
    """Resume a run after its image folder changed: a class folder renamed (order shifted
    or kept), two swapped, one added or removed must be refused naming the change; images
    added, or a checkpoint older than the data check, resume with a warning. A resume that
    trains on changed classes without a word is a silent load."""
    import dataclasses
    import shutil

    from engine.config import TrainConfig
    from engine.events import LogLine
    from engine.records.checkpoint import load_checkpoint, save_checkpoint
    from engine.training.trainer import Trainer
    from tools.sample_datasets import write_image_folder

    def rename(a: str, b: str):
        return lambda folder: (folder / a).rename(folder / b)

    def swap(folder: Path) -> None:
        (folder / "cat").rename(folder / "tmp")
        (folder / "dog").rename(folder / "cat")
        (folder / "tmp").rename(folder / "dog")

    def add_images(folder: Path) -> None:
        more = write_image_folder(folder.parent / "more", ["cat"], per_class=4, size=16, seed=9)
        for file in (more / "cat").iterdir():
            shutil.copy(file, folder / "cat" / f"new-{file.name}")

    refused = {"renamed, order shifted": rename("cat", "zebra"),
               "renamed, order kept": rename("cat", "bat"),
               "two classes swapped": swap,
               "class added": lambda folder: shutil.copytree(folder / "dog", folder / "emu"),
               "class removed": lambda folder: shutil.rmtree(folder / "owl")}
    warned = {"images added": (add_images, "the images changed"),
              "checkpoint without fingerprint": (lambda folder: None, "cannot be checked")}
    tally = Tally("renamed classes (resume after the image folder changed)")
    for repeat in range(repeats):
        for case in [*refused, *warned]:
            tally.tried += 1
            where = root / f"{repeat}-{case.replace(' ', '-')}"
            photos = write_image_folder(where / "photos", ["cat", "dog", "owl"], per_class=8,
                                        size=16, seed=repeat)
            config = TrainConfig(arch="softmax", dataset="folder", data_dir=str(photos),
                                 epochs=1, batch_size=8, device="cpu", seed=repeat)
            try:
                first = Trainer(config, run_dir=where / "run").run(lambda event: None)
                checkpoint = first.checkpoint_path
                if case == "checkpoint without fingerprint":
                    checkpoint = save_checkpoint(where / "old.pt", dataclasses.replace(
                        load_checkpoint(checkpoint), data_fingerprint=None))
                (refused.get(case) or warned[case][0])(photos)
                events: list = []
                end = Trainer(config.replace(epochs=2), resume_from=checkpoint).run(
                    events.append)
                logs = [e.message for e in events if isinstance(e, LogLine)]
            except Exception as error:  # noqa: BLE001 - counted, not raised
                tally.bad("crashes", f"{case}: {type(error).__name__}: {error}")
                continue
            if case in refused:
                ok = end.reason == "failed" and "classes changed" in end.message
            else:
                ok = end.epochs_done == 2 and any(warned[case][1] in line for line in logs)
            if ok:
                tally.clear += 1
            else:
                tally.bad("silent_loads", f"{case}: {end.reason}: {end.message[:200]}")
    return tally


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mutations", type=int, default=1000, help="damaged checkpoints")
    parser.add_argument("--kills", type=int, default=200, help="SIGKILLs during saves")
    parser.add_argument("--dataset-mutations", type=int, default=200)
    parser.add_argument("--configs", type=int, default=500, help="random bad settings")
    parser.add_argument("--run-repeats", type=int, default=5, help="times each run fault")
    parser.add_argument("--races", type=int, default=50,
                        help="races of 4 processes for one run folder")
    parser.add_argument("--sigterms", type=int, default=10, help="runs ended by SIGTERM")
    parser.add_argument("--closes", type=int, default=50, help="window closes mid-run")
    parser.add_argument("--start-stops", type=int, default=100)
    parser.add_argument("--rename-repeats", type=int, default=3,
                        help="times each changed-folder resume")
    parser.add_argument("--only", nargs="*", metavar="CATEGORY",
                        help="run only these categories (e.g. checkpoints 'saves killed')")
    args = parser.parse_args()

    tallies = []
    with tempfile.TemporaryDirectory(prefix="traindesk-faults-") as temp:
        root = Path(temp)
        steps = [
            ("checkpoints", lambda: checkpoint_faults(root / "ckpt", args.mutations)),
            ("saves killed", lambda: kill_during_saves(root / "kills", args.kills)),
            ("datasets", lambda: dataset_faults(root / "data")[0]),
            ("datasets (random)", lambda: dataset_mutations(root / "mutated",
                                                            args.dataset_mutations)),
            ("settings", lambda: config_faults(args.configs)),
            ("runs", lambda: run_faults(root / "runs", args.run_repeats)),
            ("run folders", lambda: run_folder_faults(root / "folders", args.races,
                                                      args.sigterms)),
            ("window", lambda: window_faults(args.closes, args.start_stops)),
            ("renamed classes", lambda: renamed_classes_faults(root / "renamed",
                                                               args.rename_repeats)),
        ]
        for name, step in steps:
            if args.only and name not in args.only:
                continue
            started = time.perf_counter()
            tally = step()
            tallies.append(tally)
            print(f"{name}: {tally.tried} inputs in {time.perf_counter() - started:.0f} s",
                  file=sys.stderr)
            print(table([tally]) + "\n")
            for problem in tally.problems[:10]:
                print(f"  {problem}")
    print("All categories:\n")
    print(table(tallies))
    sys.exit(0 if all(t.ok for t in tallies) else 1)


if __name__ == "__main__":
    main()
