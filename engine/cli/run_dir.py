"""The run folder a training command line's flags choose: --run-dir, --resume and
--new-run-dir, checked before PyTorch is imported; a refused folder is said on stderr with
what to do instead."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine.config import DEFAULT_RUNS_DIR, TrainConfig
from engine.records.run_folder import (
    CHECKPOINT_FILE,
    busy_message,
    continues_own_run,
    held_run_advice,
    holds_run,
    new_run_dir,
    numbered_sibling,
    path_problem,
    reserve,
    run_dir_for,
    writer_of,
)


def choose_run_dir(args: argparse.Namespace, config: TrainConfig, prog: str) -> Path | None:
    """The run's folder (a seed group's, with --seeds > 1): --run-dir; with --resume, the
    checkpoint's own run folder (its record goes on, as in the window); else a new one,
    reserved. None (said on stderr) when the folder cannot be used: another run's, being
    written, a bad name."""
    if args.run_dir:
        run_dir = Path(args.run_dir).expanduser()
    else:
        resume_from = None if args.new_run_dir else args.resume
        if resume_from is None:  # a new run's folder, or a new seed group's
            return new_run_dir(DEFAULT_RUNS_DIR, config.arch, config.dataset, config.seeds)
        run_dir = run_dir_for(DEFAULT_RUNS_DIR, config.arch, config.dataset, resume_from)
        if run_dir != Path(resume_from).expanduser().parent:
            print(f"{resume_from} is not a run folder's own {CHECKPOINT_FILE}: the continued "
                  f"run goes to a new folder, {run_dir}.", file=sys.stderr)
            return run_dir
        print(f"Continuing the run in its own folder, {run_dir} (--new-run-dir for a new "
              "one).", file=sys.stderr)
    flag = "--run-dir" if args.run_dir else "--resume"
    problem = path_problem(run_dir)
    if problem:
        print(f"{prog}: error: {flag}: {problem}", file=sys.stderr)
        return None
    writer = writer_of(run_dir)
    taken = writer is not None or (holds_run(run_dir)
                                   and not continues_own_run(run_dir, args.resume))
    if not taken:
        return run_dir
    if not (args.new_run_dir and args.run_dir):
        why = (busy_message(run_dir, writer) if writer is not None else
               f"{run_dir} already holds a run; runs are never mixed in one folder. "
               f"{held_run_advice(run_dir, '--resume ')}")
        instead = (f"write this run to {numbered_sibling(run_dir)} beside it" if args.run_dir
                   else "continue the run in a new folder")
        print(f"{prog}: error: {flag}: {why.rstrip('.')}; or add --new-run-dir to {instead}.",
              file=sys.stderr)
        return None
    sibling = reserve(run_dir)
    print(f"{args.run_dir} {'is being written' if writer else 'already holds a run'}: this "
          f"run goes to {sibling}.", file=sys.stderr)
    return sibling
