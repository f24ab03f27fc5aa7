"""TrainDesk entry point.

    {prog}                 open the app
    {prog} train --help    train headless from the command line
    {prog} sweep --help    search settings: many runs, the best named
    {prog} export --help   export a trained model to TorchScript or ONNX
    {prog} predict --help  predict the classes of image files and folders, into a CSV file
    {prog} --version       print the version

Nothing here imports PyTorch: help, usage errors and --version answer at once, and the app
shows its window before it loads PyTorch.
"""

from __future__ import annotations

import difflib
import os
import sys

COMMANDS = ("train", "sweep", "export", "predict")


def program_name(argv0: str) -> str:
    """How the person started us: "traindesk" (the console script) or "python main.py"."""
    name = os.path.basename(argv0) or "traindesk"
    return f"python {name}" if name.endswith(".py") else name


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    prog = program_name(sys.argv[0])
    if argv and argv[0] == "train":
        from engine.cli.train import main as train_main

        return train_main(argv[1:], prog=f"{prog} train")
    if argv and argv[0] == "sweep":
        from engine.cli.sweep import main as sweep_main

        return sweep_main(argv[1:], prog=f"{prog} sweep")
    if argv and argv[0] == "export":
        from engine.cli.export import main as export_main

        return export_main(argv[1:], prog=f"{prog} export")
    if argv and argv[0] == "predict":
        from engine.cli.predict import main as predict_main

        return predict_main(argv[1:], prog=f"{prog} predict")
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__.split("\n\n")[1].format(prog=prog).strip("\n"))
        return 0
    if argv and argv[0] in ("-V", "--version"):
        from engine.version import app_version

        print(f"TrainDesk {app_version()}")
        return 0
    if argv and not argv[0].startswith("-"):
        return unknown_command(argv[0], prog)
    from gui.app import run_app

    return run_app(argv)


def unknown_command(word: str, prog: str) -> int:
    """Say that `word` is no command, list the commands (and the closest one), exit 2: a
    mistyped command must not open the window instead."""
    lines = [f"{prog}: unknown command {word!r}"]
    close = difflib.get_close_matches(word, COMMANDS, n=1)
    if close:
        lines.append(f"Did you mean '{close[0]}'?")
    lines.append("Commands:")
    lines.append(__doc__.split("\n\n")[1].format(prog=prog).strip("\n"))
    print("\n".join(lines), file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
