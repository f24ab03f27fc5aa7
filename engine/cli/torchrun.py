"""`traindesk train` when torchrun started it: one of N processes training one model.

Rank 0 is the run as a person sees it: it chooses and writes the run folder, prints the
progress and the summary, and its exit code is the run's. The other processes train
silently and speak only when they fail (their messages carry their rank). Ctrl+C (SIGINT
from the terminal, or SIGTERM from torchrun or SLURM) asks every process to stop; they stop
together at the next flush (engine.training.distributed.AgreedControl), rank 0 keeps the last
epoch's checkpoint, and the exit code is 130. A process that fails ends the others: they notice at
their next collective and stop with a message saying so; nothing waits forever.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from engine.cli.console import (
    EXIT_CODES,
    USAGE_ERROR,
    ConsolePrinter,
    report_run,
    stop_on_signals,
)
from engine.cli.run_dir import choose_run_dir
from engine.config import TrainConfig
from engine.control import Control
from engine.events import Event, LogLine
from engine.records.run_folder import unreserve
from engine.training.distributed import DistributedError, Processes, start
from engine.training.trainer import Trainer


class RankErrors:
    """The listener of a process other than rank 0: only its errors, with its rank."""

    def __init__(self, rank: int) -> None:
        self.rank = rank

    def __call__(self, event: Event) -> None:
        if isinstance(event, LogLine) and event.level == "error":
            print(f"[rank {self.rank}] {event.message}", file=sys.stderr, flush=True)


def train_under_torchrun(args: argparse.Namespace, config: TrainConfig, prog: str) -> int:
    """Train as process RANK of the torchrun run; the exit code is how the run ended."""
    rank = int(os.environ["RANK"])
    run_dir: Path | None = None
    if rank == 0:
        run_dir = choose_run_dir(args, config, prog)
        if run_dir is None:
            return USAGE_ERROR  # torchrun then ends the other processes
    try:
        processes = start(config.device)
    except DistributedError as error:
        print(f"{prog}: error: [rank {rank}] {error}", file=sys.stderr)
        if run_dir is not None:
            unreserve(run_dir)
        return 1
    end = None
    try:
        end = _train(processes, args, config, run_dir)
    finally:
        processes.close(together=end is not None and processes.ended_together(end.reason))
    if processes.is_main:
        return report_run(end, run_dir, sys.stdout, sys.stderr)
    if end.reason == "failed":
        print(f"error: [rank {rank}] {end.message}", file=sys.stderr, flush=True)
    return EXIT_CODES.get(end.reason, 1)


def _train(processes: Processes, args: argparse.Namespace, config: TrainConfig,
           run_dir: Path | None):
    control = Control()
    with stop_on_signals(control):
        trainer = Trainer(config, run_dir=run_dir, resume_from=args.resume,
                          tensorboard=args.tensorboard if processes.is_main else False,
                          processes=processes, compile_model=args.compile)
        listener = ConsolePrinter() if processes.is_main else RankErrors(processes.rank)
        return trainer.run(listener, control)
