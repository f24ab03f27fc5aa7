"""What every command line shares with the person at the terminal: the exit codes, engine
events printed to stderr, a run's outcome, and Ctrl+C or SIGTERM as a clean stop.

Torch-free, so help and usage errors answer before PyTorch is imported.
"""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from engine.catalog import arch_title, dataset_title
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
from engine.records.run_folder import holds_run
from engine.text import plural

if TYPE_CHECKING:
    from tqdm import tqdm

USAGE_ERROR = 2  # argparse's own exit code for a bad flag or value
EXIT_CODES = {"finished": 0, "failed": 1, "diverged": 3, "learned_nothing": 4, "stopped": 130}
EXIT_CODE_MEANINGS = (
    (0, "finished"),
    (1, "failed (the reason is on stderr)"),
    (USAGE_ERROR, "usage error: a bad flag or value"),
    (3, "diverged: the loss became NaN or infinite"),
    (4, "learned nothing: test accuracy stayed at chance"),
    (130, "interrupted by Ctrl+C or SIGTERM (the model so far is kept)"),
)
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class ConsolePrinter:
    """Prints engine events to stderr: log lines, and per epoch a progress bar on a terminal.

    When the stream is not a terminal (a pipe, a file, a CI log) there is no bar: the
    trainer's one line per epoch is the progress.
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.interactive = _is_terminal(self.stream)
        self.bar: tqdm | None = None
        self.epochs = 0
        self.prefix = ""  # before every line: which run of several this is (cli/seeds.py)

    def __call__(self, event: Event) -> None:
        if isinstance(event, BatchEnd):
            if self.interactive:
                self._show_batch(event)
        elif isinstance(event, EpochEnd):
            self._close_bar()
        elif isinstance(event, LogLine):
            self._write(("" if event.level == "info" else event.level.upper() + ": ")
                        + event.message)
        elif isinstance(event, DataProgress):
            if event.total:
                done = event.done >= event.total
                if self.interactive or done:
                    self._write(f"{event.message} {event.done / event.total:.0%}",
                                end="\n" if done else "\r")
        elif isinstance(event, RunStart):
            self.epochs = event.epochs
            self._write(f"Training {arch_title(event.arch)} on {dataset_title(event.dataset)} "
                        f"for {_epoch_span(event.start_epoch, event.epochs)} on {event.device}.")
        elif isinstance(event, RunEstimate):
            self._write(estimate_sentence(event))
        elif isinstance(event, RunEnd):
            self._close_bar()

    def _show_batch(self, event: BatchEnd) -> None:
        postfix = {"loss": f"{event.loss:.4f}", "acc": f"{event.accuracy:.1%}",
                   "examples_s": f"{event.examples_per_sec:,.0f}"}
        if self.bar is None:
            from tqdm import tqdm

            # Counted from the first batch seen, so the first rates are real ones (a bar
            # started at batch 1 with no time elapsed showed thousands of batches a second).
            self.bar = tqdm(total=event.batches_per_epoch, initial=event.batch,
                            desc=f"{self.prefix}epoch {event.epoch}/{self.epochs}",
                            unit="batch",
                            file=self.stream, leave=False, smoothing=0.1)
            self.bar.set_postfix(postfix)
        else:  # redrawn by update() at most every 0.1 s
            self.bar.set_postfix(postfix, refresh=False)
            self.bar.update(event.batch - self.bar.n)

    def _close_bar(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def note(self, text: str) -> None:
        """A line of the printer's own, as its events' lines are printed."""
        self._write(text)

    def _write(self, text: str, end: str = "\n") -> None:
        text = self.prefix + text
        if self.bar is not None:
            self.bar.write(text, file=self.stream)
        else:
            print(text, end=end, file=self.stream, flush=True)


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or already closed
        return False


def _epoch_span(start_epoch: int, epochs: int) -> str:
    if epochs <= start_epoch:  # --epochs is the total: nothing is left to train
        return f"no more epochs ({start_epoch} of {epochs} already done)"
    if start_epoch == 0:
        return plural(epochs, "epoch")
    if epochs - start_epoch == 1:
        return f"epoch {epochs}"
    return f"epochs {start_epoch + 1}-{epochs}"


def report_run(end: RunEnd, run_dir: Path, out: TextIO, err: TextIO) -> int:
    """The run's outcome: the summary of a kept model and the run folder on `out`, the
    reason a run failed, diverged or learned nothing on `err`; returns the exit code."""
    if end.reason in ("finished", "stopped"):
        print(end.message, file=out)
    else:
        print(f"error: {end.message}", file=err)
    if holds_run(run_dir):  # not a folder the run was refused, or left empty and removed
        print(f"Run folder: {run_dir}", file=out)
    out.flush()
    return EXIT_CODES.get(end.reason, 1)


@contextlib.contextmanager
def stop_on_signals(control: Control) -> Iterator[None]:
    """Ctrl+C (SIGINT) and SIGTERM (kill, torchrun, SLURM's scancel, a container stopping)
    stop the run cleanly at the next batch: the checkpoint and the run's end record are
    written, the summary printed, and the exit code is 130."""
    def stop(signum: int, _frame: object) -> None:
        control.stop("you" if signum == signal.SIGINT else signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, stop) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
