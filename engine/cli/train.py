"""Headless training: `traindesk train --arch lenet5 --dataset fashion-mnist ...`.

The flags are generated from `TrainConfig`'s fields, so the CLI and the GUI form always
offer the same choices. As shells expect, the final summary and the run folder go to stdout;
progress and the log go to stderr (a progress bar on a terminal, one line per epoch
otherwise); the exit code says how the run ended (engine/cli/console.py's `EXIT_CODES`).

Help, usage errors and --version answer without importing PyTorch: the parser is built from
`engine.config` and `engine.catalog` only, and the engine is imported once a run starts.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import textwrap
from pathlib import Path

from engine.catalog import (
    ARCHITECTURES,
    DATASET_INFO,
    arch_title,
    dataset_title,
    download_note,
)
from engine.cli.console import (
    EXIT_CODE_MEANINGS,
    USAGE_ERROR,
    ConsolePrinter,
    report_run,
    stop_on_signals,
)
from engine.cli.run_dir import choose_run_dir
from engine.config import DEFAULT_RUNS_DIR, ConfigError, TrainConfig, config_fields, is_whole
from engine.control import Control
from engine.lr_finder.lr_range import DEFAULT_END_LR, DEFAULT_START_LR, DEFAULT_STEPS, range_problem
from engine.records.run_folder import CHECKPOINT_FILE, name_problem
from engine.text import plural
from engine.version import app_version

DEFAULT_PROG = "traindesk train"


def _examples(prog: str) -> tuple[tuple[str, str], ...]:
    defaults = TrainConfig()
    return (
        (f"{prog}", f"{arch_title(defaults.arch)} on {dataset_title(defaults.dataset)}: "
                    "offline, in seconds"),
        (f"{prog} --arch resnet18 --dataset cifar10 --epochs 10 --device cuda",
         "ResNet-18 on CIFAR-10 (downloaded once) on a GPU"),
        (f"{prog} --resume ~/.traindesk/runs/<run>/{CHECKPOINT_FILE} --epochs 10",
         "train a run on to 10 epochs in all, in its own folder"),
        (f"{prog} --dataset fashion-mnist > result.txt", "summary to a file, progress on screen"),
        (f"{prog} --optimizer sgd --find-lr", "find a learning rate first (trains nothing)"),
    )


def _epilog(prog: str) -> str:
    lines = ["examples:"]
    for command, note in _examples(prog):
        lines.append(f"  {command}")
        if note:
            lines.append(f"      {note}")
    lines += ["", "exit codes:"]
    lines += [f"  {code:<4} {meaning}" for code, meaning in EXIT_CODE_MEANINGS]
    return "\n".join(lines)


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the line breaks of a flag's help (its list of choices), wrapping each line."""

    def _split_lines(self, text: str, width: int) -> list[str]:
        lines: list[str] = []
        for line in text.splitlines():
            if line.startswith(" "):  # a choice and its title, aligned: keep the spaces
                title_at = len(line) - len(line.lstrip().split("  ", 1)[-1].lstrip())
                lines += textwrap.wrap(line, width, subsequent_indent=" " * title_at)
            else:
                lines += super()._split_lines(line, width)
        return lines


def _choices_help(intro: str, titles: dict[str, str], default: str) -> str:
    width = max(len(name) for name in titles)
    rows = [f"  {name:<{width}}  {title}" for name, title in titles.items()]
    return f"{intro} (default: {default}):\n" + "\n".join(rows)


def add_settings_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per `TrainConfig` field, with its help, choices and bounds (train and sweep)."""
    defaults = TrainConfig()
    titled = {
        "arch": {name: info.title for name, info in ARCHITECTURES.items()},
        "dataset": {name: download_note(name) for name in DATASET_INFO},  # sizes too
    }
    # Settings flags default to "not given" so that --resume keeps the checkpoint's settings
    # and changes only the ones named on the command line.
    for f in config_fields():
        flag = "--" + f.name.replace("_", "-")
        default = getattr(defaults, f.name)
        choices = f.metadata["choices"]
        if f.name in titled:
            choices = tuple(titled[f.name])
            help_text = _choices_help(f.metadata["help"].rstrip("."), titled[f.name], default)
        elif f.metadata["bounds"] is not None:  # the range, from the field's bounds
            bounds_words = f.metadata["bounds"].words(is_whole(f.name))
            help_text = f.metadata["help"] + f" ({bounds_words}; default: {default})"
        else:  # an empty default (no image folder) goes unsaid
            help_text = f.metadata["help"] + (f" (default: {default})" if default != "" else "")
        if f.type in ("bool", bool):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction,
                                default=argparse.SUPPRESS, help=help_text)
        else:
            kind = {"int": int, "float": float}.get(str(f.type), str)
            metavar = f.name.upper() if f.name in titled or not choices else None
            parser.add_argument(flag, type=kind, default=argparse.SUPPRESS, choices=choices,
                                help=help_text, metavar=metavar)


def build_parser(prog: str = DEFAULT_PROG) -> argparse.ArgumentParser:
    """The `train` command's parser; `prog` is how the person invoked it."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Train an image classifier headless, with the same engine as the app.\n"
                    "The final summary and the run folder go to stdout; progress and the log\n"
                    "go to stderr.",
        epilog=_epilog(prog),
        formatter_class=HelpFormatter,
    )
    add_settings_flags(parser)
    parser.add_argument("--run-dir", default=None,
                        help=f"Folder for the checkpoint and metrics (default: a new folder "
                             f"under {DEFAULT_RUNS_DIR}; with --resume, the folder of the "
                             f"run's own {CHECKPOINT_FILE}, whose record goes on).")
    parser.add_argument("--new-run-dir", action="store_true",
                        help="If --run-dir already holds a run (or another process is "
                             "writing it), write this one to a new numbered folder beside it "
                             "(<dir>-2, <dir>-3, ...) instead of refusing; with --resume and "
                             "no --run-dir, continue the run in a new folder instead of its "
                             "own.")
    parser.add_argument("--tensorboard", action=argparse.BooleanOptionalAction, default=None,
                        help="Also write TensorBoard event files to the run folder (default: "
                             "on when the tensorboard package is installed); then "
                             f"tensorboard --logdir {DEFAULT_RUNS_DIR} shows every run.")
    parser.add_argument("--compile", action="store_true",
                        help="Train a torch.compile'd model (faster steps on a GPU, after a "
                             "compile of seconds to minutes, reported on its own).")
    parser.add_argument("--resume", default=None, metavar="CHECKPOINT",
                        help=f"Continue a run from its {CHECKPOINT_FILE}, in its own folder, with "
                             "its settings; flags given change those settings (--epochs is "
                             "the total: --epochs 10 after 4 trains 6 more).")
    parser.add_argument("--find-lr", action="store_true",
                        help="Do not train: run the learning-rate range test on the model "
                             "these settings would train (the rate rises exponentially batch "
                             "by batch until the loss explodes), check the rates 3 to 100 "
                             "times below the curve's lowest point by training each briefly, "
                             "print the curve, the checks and the rate that trained best, and "
                             "exit (1 when it is not sure). Writes nothing.")
    parser.add_argument("--find-lr-batches", type=int, default=DEFAULT_STEPS, metavar="N",
                        help=f"The most batches the test takes (default: {DEFAULT_STEPS}).")
    parser.add_argument("--find-lr-range", type=float, nargs=2, metavar=("LOW", "HIGH"),
                        default=(DEFAULT_START_LR, DEFAULT_END_LR),
                        help=f"The rates the test rises from and to (default: "
                             f"{DEFAULT_START_LR:g} {DEFAULT_END_LR:g}).")
    parser.add_argument("--version", action="version", version=f"TrainDesk {app_version()}")
    return parser


def config_from_args(args: argparse.Namespace, base: TrainConfig | None = None) -> TrainConfig:
    """The flags given on the command line applied over `base` (the defaults if None)."""
    given = {f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig)
             if hasattr(args, f.name)}
    return (base or TrainConfig()).replace(**given)


def numeric_values_attached(argv: list[str]) -> list[str]:
    """argv with `--flag -5` written `--flag=-5` for numeric flags.

    argparse takes any word starting with '-' that is not a plain number ('-inf', '-1e-3')
    for an option, and answers "expected one argument"; attached, the value reaches the
    settings' own check, which says what a valid value is.
    """
    numeric = {"--" + f.name.replace("_", "-") for f in config_fields()
               if f.metadata["bounds"] is not None}
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


def main(argv: list[str] | None = None, prog: str = DEFAULT_PROG) -> int:
    args = build_parser(prog).parse_args(
        numeric_values_attached(list(sys.argv[1:] if argv is None else argv)))
    base, done = None, 0
    if args.resume:
        problem = name_problem(Path(args.resume).expanduser())
        if problem:
            print(f"{prog}: error: --resume: {args.resume} cannot be read: {problem}.",
                  file=sys.stderr)
            return USAGE_ERROR
        from engine.records.checkpoint import CheckpointError, load_checkpoint  # imports PyTorch

        try:
            resumed = load_checkpoint(args.resume)
        except CheckpointError as error:
            print(f"{prog}: error: --resume: {error}", file=sys.stderr)
            return USAGE_ERROR
        # The device is this computer's choice, not the checkpoint's.
        base, done = resumed.config.replace(device="auto"), resumed.epoch
    config = config_from_args(args, base)
    try:
        config.validate()
    except ConfigError as error:
        print(f"{prog}: error: --{error.field.replace('_', '-')}: {error}", file=sys.stderr)
        return USAGE_ERROR
    if args.resume and not args.find_lr and config.epochs <= done:
        print(f"{prog}: error: --epochs: {nothing_to_resume(done, config.epochs)}",
              file=sys.stderr)
        return USAGE_ERROR
    if args.find_lr:
        low, high = args.find_lr_range
        problem = range_problem(low, high, args.find_lr_batches)
        if problem:
            print(f"{prog}: error: --find-lr: {problem}", file=sys.stderr)
            return USAGE_ERROR
        from engine.cli.find_lr import find_lr

        return find_lr(config, list(sys.argv[1:] if argv is None else argv), prog, low, high,
                       args.find_lr_batches, resume_from=args.resume)
    from engine.training.distributed import launched_by_torchrun

    if launched_by_torchrun():
        from engine.cli.torchrun import train_under_torchrun  # imports PyTorch

        return train_under_torchrun(args, config, prog)
    from engine.training.trainer import Trainer  # only now, with a run to do, is PyTorch imported

    run_dir = choose_run_dir(args, config, prog)
    if run_dir is None:
        return USAGE_ERROR
    control = Control()
    with stop_on_signals(control):
        end = Trainer(config, run_dir=run_dir, resume_from=args.resume,
                      tensorboard=args.tensorboard, compile_model=args.compile).run(
            ConsolePrinter(), control)
    return report_run(end, run_dir, sys.stdout, sys.stderr)


def nothing_to_resume(done: int, epochs: int) -> str:
    """Why a resume to `epochs` in all trains nothing after `done`, and what to pass."""
    already = f"all {epochs}" if epochs == done else f"more than the {epochs}"
    return (f"the checkpoint has {plural(done, 'epoch')} done, {already} asked for: --epochs "
            f"is the total number of epochs, not how many more. Pass --epochs "
            f"{done + epochs} for {plural(epochs, 'more epoch')}"
            + ("." if epochs == 1 else f" (--epochs {done + 1} for one more)."))
