"""`traindesk predict MODEL FILES_OR_FOLDERS... --out predictions.csv`: a trained model's
answers for many image files, one CSV row each (engine/inference/prediction_csv.py).

Every image is read as the Draw tab reads it (engine.inference.image_trial.try_images:
prepared alone exactly as the model's training images were, the model reading a batch at a
time); folders are searched, with their sub-folders, for image files. A file that cannot be
read gets a row saying why and is listed again at the end, on stderr; the others go on.
As with `train`, help and usage errors answer without importing PyTorch, the progress bar
and messages go to stderr, and the exit code says how it went.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from engine.cli.console import USAGE_ERROR
from engine.config import DEVICE_PATTERN, device_choice_problem
from engine.inference.image_files import FoundImage, find_images
from engine.records.run_folder import BEST_FILE, CHECKPOINT_FILE, is_run_file_name
from engine.text import plural

if TYPE_CHECKING:
    from engine.inference.model_files import OpenedModel

DEFAULT_PROG = "traindesk predict"
DEFAULT_TOP_K = 3  # engine.inference.prediction_csv.DEFAULT_TOP_K, known here without torch
DEFAULT_BATCH_SIZE = 32  # engine.inference.image_trial.BATCH_SIZE, likewise
INTERRUPTED = 130  # engine.cli.console.EXIT_CODES["stopped"]
SOME_UNREADABLE = 1


def build_parser(prog: str = DEFAULT_PROG) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Predict the class of every image given, each read exactly as the "
                    "model's training images were,\nand write one CSV row per image: path, "
                    "class_1, probability_1, ... class_K, probability_K,\nerror (why an "
                    "image could not be read), note.",
        epilog="examples:\n"
               f"  {prog} ~/.traindesk/runs/<run> photos/ --out predictions.csv\n"
               f"      the run's {BEST_FILE} (else its {CHECKPOINT_FILE}) on every image in "
               "photos/ and its sub-folders\n"
               f"  {prog} digits.onnx scan1.png scan2.png --top-k 1\n"
               "      an exported model (its .json beside it); the table to stdout\n\n"
               "exit codes:\n  0    every image predicted\n  1    some images could not be "
               "read (their rows say why, and stderr lists them),\n       or the predictions "
               "could not be written\n  2    usage error: a bad flag, no images, or a model "
               "that cannot be opened\n  130  interrupted by Ctrl+C or SIGTERM (the rows so "
               "far are written)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("model", metavar="CHECKPOINT_OR_EXPORTED_MODEL",
                        help=f"A run folder, a checkpoint ({CHECKPOINT_FILE}, {BEST_FILE}) or "
                             "a model exported by `export` (TorchScript or ONNX, with its "
                             ".json beside it).")
    parser.add_argument("inputs", nargs="+", metavar="FILES_OR_FOLDERS",
                        help="Image files, and folders searched (with their sub-folders) for "
                             "PNG, JPEG, BMP, GIF, TIFF, WebP, PPM and PGM files.")
    parser.add_argument("--out", default="-", metavar="PATH",
                        help="The CSV file to write (default: stdout).")
    parser.add_argument("--top-k", type=int, default=DEFAULT_TOP_K, metavar="K",
                        help=f"The K likeliest classes per image (default: {DEFAULT_TOP_K}).")
    parser.add_argument("--device", default="auto", type=_device_choice,
                        help="auto, cpu, cuda, cuda:N or mps (default: auto; an ONNX model "
                             "runs on the CPU).")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, metavar="N",
                        help="Images the model reads at once (default: "
                             f"{DEFAULT_BATCH_SIZE}).")
    return parser


def main(argv: list[str] | None = None, prog: str = DEFAULT_PROG) -> int:
    parser = build_parser(prog)
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    if args.top_k < 1:
        parser.error("--top-k: give 1 or more classes")
    if args.batch_size < 1:
        parser.error("--batch-size: give 1 or more images")
    images = find_images(args.inputs)
    problem = _out_problem(args.out, args.model, images)
    if problem:
        parser.error(f"--out: {problem}")
    if not images:
        parser.error(f"no image files in {', '.join(args.inputs)}")

    from engine.inference.model_files import ModelFileError, open_model  # imports PyTorch
    from engine.runtime.devices import resolve_device

    problem = device_choice_problem(args.device)  # on this computer?
    if problem:
        parser.error(f"--device: {problem}")
    try:
        device = resolve_device(args.device)
        opened = open_model(args.model, device)
    except (ModelFileError, RuntimeError, ValueError) as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return USAGE_ERROR
    print(f"Predicting {plural(len(images), 'image')} with {opened.description}, on "
          f"{opened.classifier.device}, {args.batch_size} at a time.", file=sys.stderr)
    try:
        with _output(args.out) as stream:
            done, failures = _predict(opened, images, stream, args.top_k, args.batch_size)
    except OSError as error:
        print(f"{prog}: error: could not write {args.out}: {error.strerror or error}",
              file=sys.stderr)
        return 1
    return _report(len(images), done, failures, args.out)


def _predict(opened: OpenedModel, images: list[FoundImage], stream: TextIO, top_k: int,
             batch_size: int) -> tuple[int | None, list[str]]:
    """Write every image's row; (images done, or None when all were; why each image that
    could not be read could not)."""
    from tqdm import tqdm

    from engine.inference.image_trial import ImageFailure, try_images
    from engine.inference.prediction_csv import PredictionCsv

    table = PredictionCsv(stream, opened.classifier.class_names, top_k)
    failures: list[str] = []
    # disable=None: no bar when stderr is not a terminal (a log, a pipe).
    with tqdm(total=len(images), unit="image", file=sys.stderr, disable=None) as bar, \
            _interrupted_by_sigterm():
        try:
            for start in range(0, len(images), batch_size):
                chunk = images[start:start + batch_size]
                results = try_images(opened.classifier, opened.recipe,
                                     [(str(found.path), found.path) for found in chunk],
                                     batch_size, pictures=False)
                for found, result in zip(chunk, results, strict=True):
                    table.add(str(found.path), result)
                    if isinstance(result, ImageFailure):
                        failures.append(result.message)  # naming its image
                stream.flush()
                bar.update(len(chunk))
        except KeyboardInterrupt:
            return table.rows, failures
    return None, failures


def _report(total: int, done: int | None, failures: list[str], out: str) -> int:
    if failures:
        print(f"{plural(len(failures), 'image')} could not be read:", file=sys.stderr)
        for message in failures:
            print(f"  {message}", file=sys.stderr)
    where = "" if out == "-" else f" in {out}"
    if done is not None:
        print(f"Stopped after {done} of {plural(total, 'image')}: their rows are{where}.",
              file=sys.stderr)
        return INTERRUPTED
    print(f"{total - len(failures)} of {plural(total, 'image')} predicted; one row each{where}.",
          file=sys.stderr)
    if out != "-":
        print(out)
    return SOME_UNREADABLE if failures else 0


def _out_problem(out: str, model: str, images: list[FoundImage]) -> str | None:
    """Why the CSV must not be written to `out`, or None: it would replace the model, an
    image, or a run folder's own file."""
    if out == "-":
        return None
    path = Path(out).expanduser()
    if path.is_dir():
        return f"{out} is a folder: give a file name, e.g. {path / 'predictions.csv'}"
    if is_run_file_name(path.name):
        return (f"{path.name} is the name of a run folder's own file: choose another, e.g. "
                "predictions.csv")
    resolved = path.resolve()
    if resolved == Path(model).expanduser().resolve() or any(
            resolved == found.path.resolve() for found in images):
        return f"{out} is the model or one of the images: it would be replaced"
    return None


def _device_choice(text: str) -> str:
    if not re.fullmatch(DEVICE_PATTERN, text):
        raise argparse.ArgumentTypeError(f"unknown device {text!r}: use auto, cpu, cuda, "
                                         "cuda:N or mps")
    return text


@contextlib.contextmanager
def _output(out: str) -> Iterator[TextIO]:
    if out == "-":
        yield sys.stdout
        return
    path = Path(out).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as stream:
        yield stream


@contextlib.contextmanager
def _interrupted_by_sigterm() -> Iterator[None]:
    """SIGTERM stops the predictions as Ctrl+C does: the rows so far are kept."""
    def interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
