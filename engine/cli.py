"""Headless training: `python main.py train --arch lenet5 --dataset fashion-mnist ...`.

The flags are generated from `TrainConfig`'s fields, so the CLI and the GUI form always
offer the same choices. Progress is a tqdm bar per epoch; metrics and the checkpoint go to
a run folder.
"""

from __future__ import annotations

import argparse
import dataclasses
import signal
import sys
import time
from pathlib import Path
from typing import TextIO

from tqdm import tqdm

from engine.checkpoint import CheckpointError, load_checkpoint
from engine.config import DEFAULT_RUNS_DIR, ConfigError, TrainConfig, config_fields
from engine.control import Control
from engine.durations import estimate_sentence
from engine.events import (
    BatchEnd,
    DataProgress,
    EpochEnd,
    Event,
    LogLine,
    RunEnd,
    RunEstimate,
    RunStart,
)
from engine.run_folder import continues_own_run, holds_run, numbered_sibling

EXIT_CODES = {"finished": 0, "stopped": 130, "diverged": 3, "failed": 1,
              "learned_nothing": 4}


def build_parser() -> argparse.ArgumentParser:
    from engine.data import DATASETS
    from engine.models import MODELS

    parser = argparse.ArgumentParser(
        prog="python main.py train",
        description="Train an image classifier headless, with the same engine as the app.",
    )
    defaults = TrainConfig()
    # Settings flags default to "not given" so that --resume keeps the checkpoint's settings
    # and changes only the ones named on the command line.
    for f in config_fields():
        flag = "--" + f.name.replace("_", "-")
        default = getattr(defaults, f.name)
        help_text = f"{f.metadata['help']} (default: {default})"
        choices = f.metadata["choices"]
        if f.name == "arch":
            choices = tuple(MODELS)
        elif f.name == "dataset":
            choices = tuple(DATASETS)
        if f.type in ("bool", bool):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction,
                                default=argparse.SUPPRESS, help=help_text)
        else:
            kind = {"int": int, "float": float}.get(str(f.type), str)
            parser.add_argument(flag, type=kind, default=argparse.SUPPRESS, choices=choices,
                                help=help_text, metavar=None if choices else f.name.upper())
    parser.add_argument("--run-dir", default=None,
                        help=f"Folder for the checkpoint and metrics (default: a new folder "
                             f"under {DEFAULT_RUNS_DIR}).")
    parser.add_argument("--new-run-dir", action="store_true",
                        help="If --run-dir already holds a run, write this one to a new "
                             "numbered folder beside it (<dir>-2, <dir>-3, ...) instead of "
                             "refusing.")
    parser.add_argument("--resume", default=None, metavar="CHECKPOINT",
                        help="Continue a run from its checkpoint.pt, with its settings; flags "
                             "given change those settings (e.g. --epochs 10).")
    return parser


def config_from_args(args: argparse.Namespace, base: TrainConfig | None = None) -> TrainConfig:
    """The flags given on the command line applied over `base` (the defaults if None)."""
    given = {f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig)
             if hasattr(args, f.name)}
    return (base or TrainConfig()).replace(**given)


def default_run_dir(config: TrainConfig) -> Path:
    """A new folder under the runs folder: two runs started in the same second get two."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return numbered_sibling(Path(DEFAULT_RUNS_DIR) / f"{stamp}-{config.arch}-{config.dataset}")


def numeric_values_attached(argv: list[str]) -> list[str]:
    """argv with `--flag -5` written `--flag=-5` for numeric flags.

    argparse takes any word starting with '-' that is not a plain number ('-inf', '-1e-3')
    for an option, and answers "expected one argument"; attached, the value reaches the
    settings' own check, which says what a valid value is.
    """
    numeric = {"--" + f.name.replace("_", "-") for f in config_fields()
               if str(f.type) in ("int", "float")}
    out: list[str] = []
    i = 0
    while i < len(argv):
        word = argv[i]
        if word in numeric and i + 1 < len(argv) and _is_number_word(argv[i + 1]):
            out.append(f"{word}={argv[i + 1]}")
            i += 2
            continue
        out.append(word)
        i += 1
    return out


def _is_number_word(word: str) -> bool:
    if not word.startswith("-"):
        return False
    try:
        float(word)
    except ValueError:
        return False
    return True


class ConsolePrinter:
    """Prints engine events: a progress bar per epoch, one line per epoch, log lines."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.bar: tqdm | None = None
        self.epochs = 0

    def __call__(self, event: Event) -> None:
        if isinstance(event, BatchEnd):
            if self.bar is None:
                self.bar = tqdm(total=event.batches_per_epoch,
                                desc=f"epoch {event.epoch}/{self.epochs}",
                                unit="batch", file=self.stream, leave=False)
            self.bar.n = event.batch
            self.bar.set_postfix(loss=f"{event.loss:.4f}", acc=f"{event.accuracy:.1%}",
                                 ex_s=f"{event.examples_per_sec:,.0f}", refresh=False)
            self.bar.refresh()
        elif isinstance(event, EpochEnd):
            self._close_bar()
        elif isinstance(event, LogLine):
            self._write(("" if event.level == "info" else event.level.upper() + ": ")
                        + event.message)
        elif isinstance(event, DataProgress):
            if event.total:
                done = event.done >= event.total
                self._write(f"{event.message} {event.done / event.total:.0%}",
                            end="\n" if done else "\r")
        elif isinstance(event, RunStart):
            self.epochs = event.epochs
            self._write(f"Training {event.arch} on {event.dataset} for epochs "
                        f"{event.start_epoch + 1}-{event.epochs} on {event.device}.")
        elif isinstance(event, RunEstimate):
            self._write(estimate_sentence(event))
        elif isinstance(event, RunEnd):
            self._close_bar()
            self._write(f"{event.reason.upper()}: {event.message}")
            if event.checkpoint_path:
                self._write(f"Checkpoint: {event.checkpoint_path}")

    def _close_bar(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def _write(self, text: str, end: str = "\n") -> None:
        if self.bar is not None:
            self.bar.write(text, file=self.stream)
        else:
            print(text, end=end, file=self.stream, flush=True)


def main(argv: list[str] | None = None) -> int:
    from engine.trainer import Trainer

    args = build_parser().parse_args(
        numeric_values_attached(list(sys.argv[1:] if argv is None else argv)))
    base = None
    if args.resume:
        try:
            # The device is this computer's choice, not the checkpoint's.
            base = load_checkpoint(args.resume).config.replace(device="auto")
        except CheckpointError as error:
            print(f"error: --resume: {error}", file=sys.stderr)
            return 2
    config = config_from_args(args, base)
    try:
        config.validate()
    except ConfigError as error:
        print(f"error: --{error.field.replace('_', '-')}: {error}", file=sys.stderr)
        return 2
    run_dir = Path(args.run_dir).expanduser() if args.run_dir else default_run_dir(config)
    if holds_run(run_dir) and not continues_own_run(run_dir, args.resume):
        if not args.new_run_dir:
            print(f"error: --run-dir: {run_dir} already holds a run; runs are never mixed in "
                  f"one folder. Continue it with --resume {run_dir / 'checkpoint.pt'}, choose "
                  "a new folder, or add --new-run-dir to write this run to "
                  f"{numbered_sibling(run_dir)} beside it.", file=sys.stderr)
            return 2
        run_dir = numbered_sibling(run_dir)
        print(f"{args.run_dir} already holds a run: this run goes to {run_dir}.",
              file=sys.stderr)
    control = Control()
    # Ctrl+C stops cleanly at the next batch and still writes the checkpoint.
    previous = signal.signal(signal.SIGINT, lambda *_: control.stop())
    try:
        end = Trainer(config, run_dir=run_dir, resume_from=args.resume).run(
            ConsolePrinter(), control)
    finally:
        signal.signal(signal.SIGINT, previous)
    if holds_run(run_dir):  # not a folder the run was refused, or left empty and removed
        print(f"Run folder: {run_dir}", file=sys.stderr)
    return EXIT_CODES[end.reason]
