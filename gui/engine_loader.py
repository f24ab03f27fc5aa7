"""Loads PyTorch and the engine behind the visible window, on a background thread.

`import torch` takes seconds (about as long as everything else at start-up together), so
the window is shown first and the import runs on a plain Python thread: the GUI thread keeps
painting and answering the settings form meanwhile. Measured on a 2-core machine
(bench/startup.py, medians): importing on the GUI thread after the first paint froze the
window for the whole import (3.5 s quiet, 7.0 s busy); on this thread the GUI thread's
longest wait was 0.3 s (0.6 s busy), p99 0.14 s, mostly torch._C's initialisation, which
holds the GIL; PyTorch was ready about as soon (3.7 s against 3.5 s). The modules are
imported here only; the GUI thread uses them once `loaded` has been emitted.
"""

from __future__ import annotations

import contextlib
import gc
import sys
import threading

from PySide6.QtCore import QObject, Signal

# What the torch-needing parts of the window import: training, checkpoints, prediction,
# the model summary and the device list.
ENGINE_MODULES = (
    "torch",
    "engine.runtime.devices",
    "engine.models.architectures",
    "engine.models.summary",
    "engine.records.checkpoint",
    "engine.inference.predict",
    "engine.training.trainer",
)


def import_engine() -> None:
    """Import every module in ENGINE_MODULES (a no-op for those already imported)."""
    import importlib

    for name in ENGINE_MODULES:
        importlib.import_module(name)


def freeze_loaded_objects() -> None:
    """Put every object alive once the engine has loaded (PyTorch's, the engine's, the
    window's: about 400,000) out of the garbage collector's reach, once per process.

    A full collection walks every object it tracks: with these, one took about 200 ms, and
    whenever one fell due during a run it stalled the GUI and training threads alike
    (bench/gui_overhead.py: the event loop 134-159 ms late in some runs). Without them it
    takes a millisecond. They live as long as the program anyway; a cycle among them that
    is dropped later is not reclaimed.
    """
    if gc.get_freeze_count() == 0:
        gc.freeze()


class EngineLoader(QObject):
    """`start()` imports the engine on a background thread; then `loaded` or `failed(text)`
    is emitted on the GUI thread (where this object lives)."""

    loaded = Signal()
    failed = Signal(str)  # what went wrong, for a person

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread: threading.Thread | None = None

    @staticmethod
    def already_loaded() -> bool:
        """True when another part of the program has imported the engine already."""
        return all(name in sys.modules for name in ENGINE_MODULES)

    def start(self) -> None:
        if self._thread is not None:
            return
        # Not a daemon: a window closed within the first seconds lets the import finish
        # before the interpreter exits, rather than tearing it down mid-import.
        self._thread = threading.Thread(target=self._load, name="load-pytorch")
        self._thread.start()

    def _load(self) -> None:
        try:
            import_engine()
        except Exception as error:  # noqa: BLE001 - a broken install must be said, not crash
            self._emit(self.failed, f"{type(error).__name__}: {error}")
        else:
            self._emit(self.loaded)

    def _emit(self, signal, *args: object) -> None:
        # Emitted from this thread, the signal is queued to the GUI thread by Qt. If the
        # window was closed and deleted meanwhile, there is nobody to tell.
        with contextlib.suppress(RuntimeError):
            signal.emit(*args)
