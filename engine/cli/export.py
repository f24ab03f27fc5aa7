"""`traindesk export CHECKPOINT --format torchscript|onnx --out PATH`: a trained model as a
file other programs run (engine.inference.export).

As with `train`, help and usage errors answer without importing PyTorch; the path of the
exported file goes to stdout, messages to stderr.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine.cli.console import USAGE_ERROR
from engine.records.run_folder import CHECKPOINT_FILE

FORMATS = ("torchscript", "onnx")  # engine.inference.export.FORMATS, known here without torch
DEFAULT_PROG = "traindesk export"


def build_parser(prog: str = DEFAULT_PROG) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Export a trained model to TorchScript or ONNX, with a JSON file beside it "
                    "(<file>.json) that\nrecords its class names, normalisation and input size. "
                    "The exported model takes images\non the 0..1 scale and returns class "
                    "probabilities: resizing and normalisation are inside it.",
        epilog="examples:\n"
               f"  {prog} ~/.traindesk/runs/<run>/{CHECKPOINT_FILE}\n"
               "      TorchScript, beside the checkpoint (checkpoint.torchscript.pt)\n"
               f"  {prog} model.pt --format onnx --out digits.onnx\n"
               "      ONNX (needs: pip install \"traindesk[onnx]\")\n\n"
               "exit codes:\n  0    exported\n  1    the export failed (the reason is on "
               "stderr)\n  2    usage error: a bad flag, not a checkpoint, or an --out that would "
               "replace\n       the checkpoint or another run file",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("checkpoint", metavar="CHECKPOINT",
                        help=f"A checkpoint saved by TrainDesk (a run folder's {CHECKPOINT_FILE}).")
    parser.add_argument("--format", choices=FORMATS, default=None,
                        help="torchscript (needs only PyTorch to run) or onnx (ONNX Runtime "
                             "and others). Default: onnx when --out ends in .onnx, else "
                             "torchscript.")
    parser.add_argument("--out", default=None, metavar="PATH",
                        help="The file to write (default: beside the checkpoint).")
    return parser


def main(argv: list[str] | None = None, prog: str = DEFAULT_PROG) -> int:
    args = build_parser(prog).parse_args(list(sys.argv[1:] if argv is None else argv))
    fmt = args.format or ("onnx" if str(args.out or "").lower().endswith(".onnx")
                          else "torchscript")
    from engine.inference.export import (
        ExportError,
        default_export_path,
        export_model,
        output_problem,
    )
    from engine.records.checkpoint import CheckpointError, load_checkpoint  # imports PyTorch

    out = Path(args.out).expanduser() if args.out else default_export_path(args.checkpoint, fmt)
    problem = output_problem(out, args.checkpoint)
    if problem:
        print(f"{prog}: error: --out: {problem}", file=sys.stderr)
        return USAGE_ERROR
    try:
        ckpt = load_checkpoint(args.checkpoint)
    except CheckpointError as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return USAGE_ERROR
    try:
        result = export_model(ckpt, out, fmt, source=args.checkpoint)
    except ExportError as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 1
    print(f"Exported ({result.format}, {result.bytes / 1e6:.1f} MB; its description: "
          f"{result.sidecar.name}):", file=sys.stderr)
    print(result.path)
    return 0
