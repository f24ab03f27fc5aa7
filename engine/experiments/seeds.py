"""`SeedGroup(config, group_dir).run(listener, control)`: the same settings trained once per
seed (seed, seed+1, ... `config.seeds` of them), one after another, as one group.

One seed says little: two settings a point apart may swap places with the next seed. A
group reports its best and final test accuracy as mean ± std over its seeds
(engine/stats.py), which the window and `train --seeds K` show, and which a
comparison of two groups tests against the seed-to-seed noise.

Each member is an ordinary run (engine.training.trainer.Trainer, `seeds=1`, its own seed)
in its own run folder `<group>/seed-<seed>/`; the group folder holds group.json
(engine/records/groups.py). How members end decides how the group goes on:

- finished (or learned nothing): counted in the summary; the next seed follows;
- diverged: recorded and left out of the summary (divergence depends on the seed), which
  says how many diverged; the next seed follows;
- stopped: the group ends "stopped" (the members done are kept);
- failed: the settings' own problem (a bad setting, missing data, out of memory) would fail
  every seed, so the group ends "failed" with the member's message.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from engine.config import ConfigError, TrainConfig
from engine.control import Control
from engine.events import (
    GroupEnd,
    GroupMemberEnd,
    GroupMemberStart,
    GroupStart,
    Listener,
    LogLine,
    RunEnd,
)
from engine.records import groups, run_folder
from engine.records.run_folder import RunFolder, RunFolderError
from engine.stats import Summary, summarize
from engine.text import plural
from engine.training.trainer import Trainer

# How a member ended that lets the group go on (counted in its summary where finished).
GOES_ON = ("finished", "learned_nothing", "diverged")


def member_seeds(config: TrainConfig) -> tuple[int, ...]:
    return tuple(range(config.seed, config.seed + config.seeds))


class SeedGroup:
    """A job like `Trainer`: `run(listener, control) -> RunEnd`, one member after another.

    `members` holds each member's RunEnd as it ends, `current` the member's Trainer under
    way (or the last one), `epochs_done` that member's epochs done. Without a `group_dir`
    nothing is written (as a Trainer without a run folder). `tensorboard`, `compile_model`
    and `keep_epochs` are passed to every member's Trainer.
    """

    def __init__(self, config: TrainConfig, group_dir: Path | None,
                 tensorboard: bool | None = None, compile_model: bool = False,
                 keep_epochs: bool = True) -> None:
        self.config = config
        self.keep_epochs = keep_epochs
        self.group_dir = Path(group_dir) if group_dir is not None else None
        self.tensorboard = tensorboard
        self.compile_model = compile_model
        self.seeds = member_seeds(config)
        self.members: list[RunEnd] = []
        self.current: Trainer | None = None
        self._best: list[float] = []  # of the members that finished
        self._final: list[float] = []

    @property
    def epochs_done(self) -> int:
        return self.current.epochs_done if self.current is not None else 0

    def run(self, listener: Listener, control: Control | None = None) -> RunEnd:
        """Train every seed, or until a member is stopped or fails; never raises for a
        training problem (the RunEnd says what happened, with mean ± std and n). A group
        refused before it begins (a bad setting, a folder it cannot use) emits only its
        GroupEnd, as a refused Trainer emits only its RunEnd."""
        control = control or Control()
        try:
            self.config.validate()
            claimed = self._claim()
        except (ConfigError, RunFolderError) as error:
            if self.group_dir is not None:
                run_folder.unreserve(self.group_dir)  # a folder reserved for it, still empty
            end = RunEnd("failed", str(error), 0)
            listener(GroupEnd(summarize(()), summarize(()), (), end))
            return end
        try:
            listener(GroupStart(self.group_dir.name if self.group_dir else "",
                                str(self.group_dir) if self.group_dir else "", self.seeds,
                                self.config))
            end = self._run_members(listener, control)
            if claimed is not None:
                self._record_end(claimed, end)
        finally:
            if claimed is not None:
                run_folder.release(claimed)
        listener(GroupEnd(summarize(self._best), summarize(self._final), tuple(self.members),
                          end))
        return end

    # -- members ----------------------------------------------------------------------

    def _run_members(self, listener: Listener, control: Control) -> RunEnd:
        for index, seed in enumerate(self.seeds):
            if control.stop_requested:  # asked between two members
                return self._stopped(index, seed, control.stopped_by)
            run_dir = groups.member_dir(self.group_dir, seed) if self.group_dir else None
            listener(GroupMemberStart(index, seed, str(run_dir) if run_dir else None))
            listener(LogLine(f"Seed {seed} ({index + 1} of {len(self.seeds)})"
                             + (f": {run_dir}" if run_dir else "") + "."))
            self.current = Trainer(self.config.replace(seed=seed, seeds=1), run_dir=run_dir,
                                   tensorboard=self.tensorboard,
                                   compile_model=self.compile_model,
                                   keep_epochs=self.keep_epochs)
            end = self.current.run(listener, control)
            self.members.append(end)
            best, final = self._accuracies(self.current.history)
            if end.reason in ("finished", "learned_nothing"):
                self._best += [best] if best is not None else []
                self._final += [final] if final is not None else []
            listener(GroupMemberEnd(index, seed, str(run_dir) if run_dir else None, end,
                                    best, final))
            if end.reason == "stopped":
                return self._stopped(index, seed, control.stopped_by, end)
            if end.reason not in GOES_ON:
                return RunEnd(end.reason, (
                    f"Seed {seed} ({index + 1} of {len(self.seeds)}) failed, and with these "
                    f"settings every seed would, so the group ends here. {end.message}"),
                    end.epochs_done, end.checkpoint_path, end.missing_data)
        last = self.members[-1]
        return RunEnd(self._reason(), self.summary_sentence(), last.epochs_done,
                      last.checkpoint_path)

    @staticmethod
    def _accuracies(history: list[dict]) -> tuple[float | None, float | None]:
        """A member's best and last epoch's test accuracy (None before its first epoch)."""
        accs = [float(r["test_acc"]) for r in history if r.get("test_acc") is not None]
        return (max(accs), accs[-1]) if accs else (None, None)

    def _reason(self) -> str:
        """finished if any member finished; else learned_nothing if all learned nothing,
        else diverged (every member did, or diverged and learned nothing)."""
        reasons = {end.reason for end in self.members}
        if "finished" in reasons:
            return "finished"
        return "learned_nothing" if reasons == {"learned_nothing"} else "diverged"

    def _stopped(self, index: int, seed: int, by: str, end: RunEnd | None = None) -> RunEnd:
        where = (f"during seed {seed} ({index + 1} of {len(self.seeds)})" if end is not None
                 else f"before seed {seed} ({index + 1} of {len(self.seeds)})")
        kept = (f" {plural(len(self._best), 'finished run')} kept: "
                + self.summary_sentence() if self._best else " No run of the group finished.")
        last = end or (self.members[-1] if self.members else RunEnd("stopped", "", 0))
        return RunEnd("stopped", f"Seed group stopped by {by} {where}.{kept}",
                      last.epochs_done, last.checkpoint_path)

    def summary_sentence(self) -> str:
        """The group's best and final test accuracy so far, mean ± std with n, and how many
        members diverged (left out)."""
        best, final = summarize(self._best), summarize(self._final)
        text = (f"Best test accuracy {best.text()}; final test accuracy {final.text()} over "
                f"seeds {self._seed_span()}.")
        diverged = sum(end.reason == "diverged" for end in self.members)
        if diverged:
            text += (f" {plural(diverged, 'seed')} diverged and {'is' if diverged == 1 else 'are'}"
                     " left out.")
        return text

    @property
    def best(self) -> Summary:
        return summarize(self._best)

    @property
    def final(self) -> Summary:
        return summarize(self._final)

    def _seed_span(self) -> str:
        first, last = self.seeds[0], self.seeds[-1]
        return str(first) if first == last else f"{first}-{last}"

    # -- the group folder -------------------------------------------------------------

    def _claim(self) -> RunFolder | None:
        """Lock the group folder (a folder holding a run or another group is refused) and
        write its group.json; None without a folder."""
        if self.group_dir is None:
            return None
        claimed = run_folder.claim(self.group_dir)
        try:
            groups.write_group(claimed.path, self.config.to_dict(), self.seeds)
        except OSError as error:
            run_folder.release(claimed)
            raise RunFolderError(f"The group folder {claimed.path} cannot be written "
                                 f"({error.strerror or error}).") from error
        return claimed

    def _record_end(self, claimed: RunFolder, end: RunEnd) -> None:
        """Say in group.json how the group ended; a group none of whose members saved
        anything is no record, and its group.json goes (as a run's folder does)."""
        if not any(groups.member_dir(claimed.path, s).exists() for s in self.seeds):
            with contextlib.suppress(OSError):
                (claimed.path / run_folder.GROUP_FILE).unlink()
            return
        status = "finished" if end.reason in GOES_ON else end.reason
        with contextlib.suppress(OSError):  # the members' own records are what counts
            groups.end_group(claimed.path, status, end.message)
