"""`traindesk train ... --find-lr`: the learning-rate range test, headless.

Runs engine/lr_finder/search.py on the model the same flags would train, writes nothing to disk,
and prints the curve as a small table, the rates checked and the suggested rate to stdout
(progress and the log go to stderr, as for a run). Exit codes are the training command's:
0 done, 1 failed or no sure rate to suggest (why, on stderr), 130 interrupted by Ctrl+C.
"""

from __future__ import annotations

import math
import shlex
import sys
from typing import TYPE_CHECKING, TextIO

from engine.catalog import arch_title, dataset_title
from engine.cli.console import EXIT_CODES, ConsolePrinter, stop_on_signals
from engine.config import TrainConfig
from engine.control import Control
from engine.events import Event
from engine.lr_finder.lr_range import lr_text

if TYPE_CHECKING:
    from engine.lr_finder.search import LRTestEnd, LRTestResult

TABLE_ROWS = 16  # rows of the printed curve
BAR_WIDTH = 30
# Flags left out of the "train with" command line printed (with how many values each takes):
# the test's own, and the learning rate it replaces.
_REPLACED_FLAGS = {"--find-lr": 0, "--find-lr-batches": 1, "--find-lr-range": 2, "--lr": 1}


def find_lr(config: TrainConfig, argv: list[str], prog: str, start_lr: float, end_lr: float,
            steps: int, resume_from: str | None = None, out: TextIO | None = None,
            err: TextIO | None = None) -> int:
    """Run the range test for `config` and report it; returns the exit code."""
    from engine.lr_finder.search import LRFinder  # imports PyTorch

    out, err = out or sys.stdout, err or sys.stderr
    finder = LRFinder.for_config(config, resume_from=resume_from, start_lr=start_lr,
                                 end_lr=end_lr, steps=steps)
    print(f"Testing learning rates from {lr_text(start_lr)} to {lr_text(end_lr)} over up to "
          f"{steps} batches: {arch_title(config.arch)} on {dataset_title(config.dataset)}, "
          f"batch size {config.batch_size}. Nothing is saved.", file=err)
    control = Control()
    printer = _TestPrinter(ConsolePrinter(err))
    # Ctrl+C or SIGTERM stops the test at the next batch, as they stop a run; the curve so
    # far is still printed.
    try:
        with stop_on_signals(control):
            end = finder.run(printer, control)
    finally:
        printer.close()
    return report(end, prog, argv, out, err)


def report(end: LRTestEnd, prog: str, argv: list[str], out: TextIO, err: TextIO) -> int:
    """The curve, the checks and the suggestion on `out`, a failure or doubt on `err`; the
    exit code. A "Train with" line only for a suggestion the test is sure of."""
    result = end.result
    if result is not None and result.lrs:
        print(curve_table(result), file=out)
        print(file=out)
    not_done = EXIT_CODES["stopped" if end.reason == "stopped" else "failed"]
    if end.reason == "failed" or result is None or result.suggested is None:
        print(f"error: {end.message}", file=err)
        return not_done
    print(end.message, file=out)
    if not result.sure:
        print(f"Not sure: {lr_text(result.suggested)} was only the best of the rates checked, "
              "so no command line is suggested.", file=out)
        print(f"error: no sure learning rate: {result.unsure}", file=err)
        return not_done
    print(f"Suggested learning rate: {lr_text(result.suggested)} (it trained best of the "
          "rates checked).", file=out)
    print(f"Train with: {train_command(prog, argv, result.suggested)}", file=out)
    out.flush()
    return EXIT_CODES["finished"]


def curve_table(result: LRTestResult) -> str:
    """The smoothed loss at up to TABLE_ROWS rates spread over the curve, with a bar each,
    the rows nearest the suggestions marked."""
    count = len(result.lrs)
    rows = sorted({round(i * (count - 1) / max(TABLE_ROWS - 1, 1))
                   for i in range(min(TABLE_ROWS, count))})
    marks: dict[int, list[str]] = {}
    suggested = "suggested" if result.sure else "best checked (unsure)"
    for label, lr in ((suggested, result.suggested), ("lowest loss", result.min_loss_lr)):
        if lr is not None:
            row = min(rows, key=lambda i, lr=lr: abs(math.log(result.lrs[i] / lr)))
            marks.setdefault(row, []).append(f"{label} {lr_text(lr)}")
    shown = [result.smoothed[i] for i in rows]
    # Scaled to the part before the minimum: the explosion after it runs off the end (>).
    lowest = shown.index(min(shown))
    low, high = shown[lowest], max(shown[:lowest + 1])
    lines = [f"{'lr':>9}  {'loss':>8}  smoothed loss, lowest to highest before the minimum"]
    for i, loss in zip(rows, shown, strict=True):
        share = (loss - low) / (high - low) if high > low else 0.0
        bar = "#" * (1 + round(min(share, 1.0) * (BAR_WIDTH - 1))) + (">" if share > 1 else "")
        note = f"<- {', '.join(marks[i])}" if i in marks else ""
        lines.append(f"{lr_text(result.lrs[i]):>9}  {loss:>8.4f}  {bar:<{BAR_WIDTH + 1}} {note}"
                     .rstrip())
    return "\n".join(lines)


def train_command(prog: str, argv: list[str], lr: float) -> str:
    """The command line given, without the test's flags, training at `lr`."""
    kept, skip = [], 0
    for word in argv:
        if skip:
            skip -= 1
            continue
        flag = word.split("=", 1)[0]
        if flag in _REPLACED_FLAGS:
            skip = 0 if "=" in word else _REPLACED_FLAGS[flag]
            continue
        kept.append(word)
    return " ".join([prog, *map(shlex.quote, kept), "--lr", lr_text(lr)])


class _TestPrinter:
    """The run's console printer, with the test's own progress: a bar on a terminal."""

    def __init__(self, printer: ConsolePrinter) -> None:
        self.printer = printer
        self.bar = None

    def __call__(self, event: Event) -> None:
        from engine.lr_finder.search import LRCheckStep, LRTestStep

        if not isinstance(event, (LRTestStep, LRCheckStep)):
            self.printer(event)
            return
        if not self.printer.interactive:
            return
        if isinstance(event, LRCheckStep):
            if event.batch == 1:
                self.close()
                self._bar(event.batches, f"checking {lr_text(event.lr)} "
                                         f"({event.index} of {event.checks})")
            self.bar.set_postfix({"loss": f"{event.loss:.4f}"}, refresh=False)
            self.bar.update(event.batch - self.bar.n)
            return
        if self.bar is None:
            self._bar(event.steps, "learning-rate test")
        self.bar.set_postfix({"lr": lr_text(event.lr), "loss": f"{event.smoothed:.4f}"},
                             refresh=False)
        self.bar.update(event.step - self.bar.n)

    def _bar(self, total: int, desc: str) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=total, desc=desc, unit="batch", file=self.printer.stream,
                        leave=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
