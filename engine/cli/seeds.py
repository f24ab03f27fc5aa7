"""`train --seeds K`: the same run with seeds s, s+1, ... as one group
(engine/experiments/seeds.py), in one process, one member after another.

Each member's progress is printed as a normal run's, each line after `[run 2/3, seed 1]`;
at the end stdout gets the group's best and final test accuracy as mean ± std (n = the
members that finished) and the group folder. The exit code is as for one run: 0 finished,
130 stopped, 1 failed (engine/cli/console.py).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from engine.cli.console import EXIT_CODES, ConsolePrinter, stop_on_signals
from engine.config import TrainConfig
from engine.control import Control
from engine.events import Event, GroupMemberEnd, GroupMemberStart, RunEnd
from engine.records.groups import is_group_folder


class GroupPrinter:
    """A ConsolePrinter whose lines say which member of the group they are about, and
    which says how each member ended (on stderr, as the rest of the progress)."""

    def __init__(self, seeds: int, printer: ConsolePrinter | None = None) -> None:
        self.seeds = seeds
        self.printer = printer if printer is not None else ConsolePrinter()

    def __call__(self, event: Event) -> None:
        if isinstance(event, GroupMemberStart):
            self.printer.prefix = f"[run {event.index + 1}/{self.seeds}, seed {event.seed}] "
        self.printer(event)
        if isinstance(event, RunEnd):
            self.printer.note(event.message)
        elif isinstance(event, GroupMemberEnd):
            self.printer.prefix = ""


def train_group(args: argparse.Namespace, config: TrainConfig, group_dir: Path) -> int:
    """Train the group into `group_dir`; the exit code."""
    from engine.experiments.seeds import SeedGroup  # imports PyTorch

    control = Control()
    with stop_on_signals(control):
        end = SeedGroup(config, group_dir, tensorboard=args.tensorboard,
                        compile_model=args.compile).run(GroupPrinter(config.seeds), control)
    return report_group(end, group_dir, sys.stdout, sys.stderr)


def report_group(end: RunEnd, group_dir: Path, out: TextIO, err: TextIO) -> int:
    """The group's outcome (mean ± std with n) and folder on `out`, the reason a group
    failed on `err`; returns the exit code."""
    if end.reason in ("finished", "stopped"):
        print(end.message, file=out)
    else:
        print(f"error: {end.message}", file=err)
    if is_group_folder(group_dir):
        print(f"Group folder: {group_dir}", file=out)
    out.flush()
    return EXIT_CODES.get(end.reason, 1)
