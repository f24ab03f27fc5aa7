"""`traindesk sweep`: search settings with Optuna, each trial an ordinary run in one folder.

Takes `train`'s settings flags (the base every trial starts from) plus the search space
(`--search`, repeatable) and how to search it. Progress and each trial's log go to stderr;
the best trial, its command line and the sweep folder go to stdout. Exit codes as `train`:
0 done, 1 every trial failed, 2 a usage error, 130 stopped by Ctrl+C or SIGTERM.

Help and usage errors answer without importing PyTorch or Optuna.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TextIO

from engine.cli.console import (
    EXIT_CODES,
    USAGE_ERROR,
    ConsolePrinter,
    stop_on_signals,
)
from engine.cli.train import (
    HelpFormatter,
    add_settings_flags,
    config_from_args,
    numeric_values_attached,
)
from engine.config import DEFAULT_RUNS_DIR, ConfigError
from engine.control import Control
from engine.events import Event, RunEnd, TrialEnd, TrialStart
from engine.experiments.search_space import SearchError, check_space, grid_values, parse_search
from engine.experiments.sweep import params_text
from engine.records.run_folder import SWEEP_STORAGE_FILE, path_problem
from engine.version import app_version

DEFAULT_PROG = "traindesk sweep"
DEFAULT_TRIALS = 20


def _epilog(prog: str) -> str:
    return f"""examples:
  {prog} --epochs 3 --search lr=1e-4..1e-1:log --search batch-size=64,128,256 --trials 12
      12 trials drawn by TPE into a new folder under {DEFAULT_RUNS_DIR}
  {prog} --search optimizer=sgd,adam --search lr=0.001,0.01,0.1 --sampler grid
      every combination once (6 trials)
  {prog} --epochs 10 --search lr=1e-4..1e-1:log --prune --seeds 3
      stop trials that trail the others; each trial's value is the mean of 3 seeds
  {prog} --search lr=1e-4..1e-1:log --storage postgresql://user:pw@host/db --study s1
      one worker of several sharing a study (run the same line on each machine)

exit codes:
  0    done (the best trial and its command line are on stdout)
  1    every trial failed, or the storage could not be used (the reason is on stderr)
  {USAGE_ERROR}    usage error: a bad flag, value or --search
  130  interrupted by Ctrl+C or SIGTERM (the trial under way is marked failed)"""


def build_parser(prog: str = DEFAULT_PROG) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Search settings: train trials whose settings Optuna draws from a search "
                    "space,\neach an ordinary run folder inside one sweep folder, and name "
                    "the best.\nThe settings flags are every trial's base; --search varies "
                    "some of them.",
        epilog=_epilog(prog), formatter_class=HelpFormatter)
    add_settings_flags(parser)
    sweep = parser.add_argument_group("the search")
    sweep.add_argument("--search", action="append", default=[], metavar="SPACE",
                       help="A setting to vary (repeat for several): NAME=LOW..HIGH, "
                            "NAME=LOW..HIGH:log (a log scale, for rates) or NAME=A,B,C "
                            "(values or choices), e.g. lr=1e-4..1e-1:log, epochs=2..6, "
                            "batch-size=64,128,256, optimizer=sgd,adam.")
    sweep.add_argument("--trials", type=int, default=DEFAULT_TRIALS, metavar="N",
                       help=f"Trials this worker runs (default: {DEFAULT_TRIALS}; a grid "
                            "ends sooner once every combination has run).")
    sweep.add_argument("--sampler", choices=("tpe", "random", "grid"), default="tpe",
                       help="How settings are drawn: tpe (Optuna's TPE, learns from the "
                            "trials so far; default), random, or grid (every combination of "
                            "listed values).")
    sweep.add_argument("--prune", action="store_true",
                       help="Stop a trial whose accuracy at an epoch is below the median of "
                            "the trials before it at that epoch (Optuna's median pruner, "
                            "after 3 complete trials); it ends as 'pruned', its folder kept.")
    sweep.add_argument("--sweep-dir", default=None, metavar="DIR",
                       help="The sweep's folder: its sweep.json, its trials' run folders "
                            f"(trial-0000, ...) and by default its {SWEEP_STORAGE_FILE} "
                            f"(default: a new folder under {DEFAULT_RUNS_DIR}; with --study, "
                            "the study's name there).")
    sweep.add_argument("--storage", default=None, metavar="URL",
                       help="An Optuna storage URL shared by several workers: "
                            "sqlite:///path/optuna.db (one machine), "
                            "postgresql://user:password@host/db or mysql://... (several; "
                            f"the driver installed). Default: the sweep folder's "
                            f"{SWEEP_STORAGE_FILE}.")
    sweep.add_argument("--study", default=None, metavar="NAME",
                       help="The study's name in the storage; workers with the same "
                            "--storage and --study share it (default: the sweep folder's "
                            "name).")
    parser.add_argument("--tensorboard", action=argparse.BooleanOptionalAction, default=None,
                        help="Also write TensorBoard event files to each trial's folder "
                             "(default: on when the tensorboard package is installed).")
    parser.add_argument("--version", action="version", version=f"TrainDesk {app_version()}")
    return parser


def main(argv: list[str] | None = None, prog: str = DEFAULT_PROG) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(prog).parse_args(numeric_values_attached(argv))
    plan = _plan(args, prog)
    if plan is None:
        return USAGE_ERROR
    from engine.experiments.sweep import SweepJob  # imports Optuna; PyTorch at the first trial

    control = Control()
    job = SweepJob(plan, tensorboard=args.tensorboard, prog=_train_prog(prog))
    printer = SweepPrinter()
    with stop_on_signals(control):
        end = job.run(printer, control)
    if end.reason == "failed":
        print(f"error: {end.message}", file=sys.stderr)
    else:
        print(end.message, file=sys.stdout)
    print(f"Sweep folder: {plan.sweep_dir}", file=sys.stdout)
    sys.stdout.flush()
    return EXIT_CODES.get(end.reason, 1)


def _plan(args: argparse.Namespace, prog: str):  # -> SweepPlan | None, said on stderr
    """The sweep the flags ask for, checked; None after saying on stderr what is wrong."""
    from engine.experiments.sweep import SweepPlan  # Optuna-free until a sweep runs

    def usage(flag: str, message: str) -> None:
        print(f"{prog}: error: {flag}: {message}", file=sys.stderr)

    # --seeds is a settings flag: the plan's, each trial's run itself one seed at a time.
    full = config_from_args(args)
    config, seeds = full.replace(seeds=1), full.seeds
    try:
        full.validate()  # --seeds too, and its last seed within the largest
        space = tuple(parse_search(text) for text in args.search)
        check_space(space)
        if args.sampler == "grid":
            for dim in space:
                grid_values(dim)
    except SearchError as error:
        usage("--search", str(error))
        return None
    except ConfigError as error:
        usage(f"--{error.field.replace('_', '-')}", str(error))
        return None
    if args.trials < 1:
        usage("--trials", f"a sweep runs at least 1 trial, not {args.trials}.")
        return None
    if args.storage is not None and "://" not in args.storage:
        usage("--storage", f"'{args.storage}' is no storage URL: write sqlite:///path/to/"
                           "optuna.db, postgresql://user:password@host/database or mysql://...")
        return None
    sweep_dir = _sweep_dir(args, config.arch, config.dataset)
    problem = path_problem(sweep_dir)
    if problem:
        usage("--sweep-dir", problem)
        return None
    return SweepPlan(config, space, args.trials, sweep_dir, sampler=args.sampler,
                     prune=args.prune, seeds=seeds, storage=args.storage, study=args.study)


def _sweep_dir(args: argparse.Namespace, arch: str, dataset: str) -> Path:
    if args.sweep_dir:
        return Path(args.sweep_dir).expanduser()
    name = args.study or f"sweep-{time.strftime('%Y%m%d-%H%M%S')}-{arch}-{dataset}"
    return Path(DEFAULT_RUNS_DIR) / name


def _train_prog(prog: str) -> str:
    """`train`'s prog beside this `sweep`'s: "python main.py sweep" -> "python main.py train"."""
    head, _, last = prog.rpartition(" ")
    return f"{head} train" if last == "sweep" and head else "traindesk train"


class SweepPrinter:
    """The sweep's progress on stderr: each trial's start and end with the best so far, and
    the trials' own runs as `train` prints them."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.runs = ConsolePrinter(self.stream)
        self.last_run_end: RunEnd | None = None

    def __call__(self, event: Event) -> None:
        if isinstance(event, TrialStart):
            self._say(f"Trial {event.number} ({event.index} of {event.trials} here): "
                      f"{params_text(event.params)}")
        elif isinstance(event, TrialEnd):
            value = f": {event.value:.2%}" if event.value is not None else ""
            best = (f"; best so far: trial {event.best_number}, {event.best_value:.2%}"
                    if event.best_number is not None else "")
            self._say(f"Trial {event.number} {event.state}{value} in {event.seconds:.1f} s"
                      f"{best}")
            if event.state == "failed" and self.last_run_end is not None:
                self._say(f"  why: {self.last_run_end.message}")
        else:
            if isinstance(event, RunEnd):
                self.last_run_end = event  # said with its trial's end when that failed
            self.runs(event)

    def _say(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

