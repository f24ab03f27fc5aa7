"""Train with Seeds above 1: the seed group under way in the window.

`start_seed_group` starts an `engine.experiments.seeds.SeedGroup` in the runs folder through
the run controller's generic job start, so pause, stop and the run's end work as for one run.
Each member shows as the run on screen while it trains (its RunStart begins its curves);
`GroupRun` follows the group's own events: the progress panel says "Seed 2 of 3", and the
plots draw the band (mean ± std) over the members done so far (gui/group_band.py).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from engine.config import TrainConfig
from engine.events import RunStart
from engine.records.run_folder import reserve

if TYPE_CHECKING:
    from gui.plots_panel import PlotsPanel
    from gui.progress_panel import ProgressPanel
    from gui.run_controller import RunController
    from gui.run_model import RunModel


def group_dir_for(runs_dir: str | Path, config: TrainConfig) -> Path:
    """A new group folder under `runs_dir`, named as a run's with "-seeds<K>", reserved."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return reserve(Path(runs_dir) / f"{stamp}-{config.arch}-{config.dataset}-seeds{config.seeds}")


def start_seed_group(controller: RunController, config: TrainConfig) -> bool:
    """Train `config.seeds` runs with seeds seed, seed+1, ... as one group; False where a
    run is going or PyTorch has not loaded."""
    if controller.session is not None or not controller.engine_ready:
        return False
    from engine.experiments.seeds import SeedGroup  # imports PyTorch

    folder = group_dir_for(controller.runs_dir, config)
    job = SeedGroup(config, folder, tensorboard=controller.tensorboard)
    return controller.start_job(job, config, folder)


class GroupRun(QObject):
    """The seed group under way (or the last one), as its events tell it."""

    changed = Signal()  # a group began, a member began or ended, or the group ended

    def __init__(self, run: RunModel, plots: PlotsPanel, progress: ProgressPanel,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._run, self._plots, self._progress = run, plots, progress
        self.seeds: tuple[int, ...] = ()  # the group's seeds; () while no group is on screen
        self.done: list[tuple[dict, ...]] = []  # the histories of the members done
        self.ended = False
        run.run_beginning.connect(lambda _continuing: self._forget())
        run.run_started.connect(self._on_member_started)
        run.job_event.connect(self._on_event)

    def member_text(self) -> str:
        """"Seed 2 of 3 (seed 43)" while a group trains; "" otherwise."""
        if not self.seeds or self.ended:
            return ""
        index = min(len(self.done), len(self.seeds) - 1)
        return f"Seed {index + 1} of {len(self.seeds)} (seed {self.seeds[index]})"

    def _forget(self) -> None:
        """A new run or job is loading: no group is on screen until it says it is one."""
        self.seeds, self.done, self.ended = (), [], False
        self._plots.clear_group()
        self._show()

    def _on_member_started(self, _start: RunStart) -> None:
        if self.seeds:
            self._show()

    def _on_event(self, event: object) -> None:
        from engine.events import GroupEnd, GroupMemberEnd, GroupStart

        if isinstance(event, GroupStart):
            self.seeds, self.done, self.ended = tuple(event.seeds), [], False
            self._plots.show_group([])
        elif isinstance(event, GroupMemberEnd) and self.seeds:
            self.done.append(tuple(self._run.history))
            self._plots.show_group(self.done)
        elif isinstance(event, GroupEnd) and self.seeds:
            self.ended = True
        else:
            return
        self._show()

    def _show(self) -> None:
        self._progress.show_member(self.member_text())
        self.changed.emit()
