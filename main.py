"""TrainDesk entry point.

    {prog}                open the app
    {prog} train --help   train headless from the command line
    {prog} export --help  export a trained model to TorchScript or ONNX
    {prog} --version      print the version

Nothing here imports PyTorch: help, usage errors and --version answer at once, and the app
shows its window before it loads PyTorch.
"""

from __future__ import annotations

import os
import sys


def program_name(argv0: str) -> str:
    """How the person started us: "traindesk" (the console script) or "python main.py"."""
    name = os.path.basename(argv0) or "traindesk"
    return f"python {name}" if name.endswith(".py") else name


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    prog = program_name(sys.argv[0])
    if argv and argv[0] == "train":
        from engine.cli import main as train_main

        return train_main(argv[1:], prog=f"{prog} train")
    if argv and argv[0] == "export":
        from engine.export_cli import main as export_main

        return export_main(argv[1:], prog=f"{prog} export")
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__.split("\n\n")[1].format(prog=prog).strip("\n"))
        return 0
    if argv and argv[0] in ("-V", "--version"):
        from engine.version import app_version

        print(f"TrainDesk {app_version()}")
        return 0
    from gui.app import run_app

    return run_app(argv)


if __name__ == "__main__":
    sys.exit(main())
