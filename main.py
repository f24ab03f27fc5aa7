"""TrainDesk entry point.

    python main.py               open the app
    python main.py train --help  train headless from the command line
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "train":
        from engine.cli import main as train_main

        return train_main(argv[1:])
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0
    from gui.app import run_app

    return run_app(argv)


if __name__ == "__main__":
    sys.exit(main())
