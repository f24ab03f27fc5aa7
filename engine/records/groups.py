"""A seed group's folder as a record: `group.json` and one ordinary run folder per member.

A group's folder is named as a run's, with `-seeds<K>` after it
(engine.records.run_folder.new_run_dir). `<group>/group.json` holds `{"kind": "seeds",
"config": <the shared settings, seed = the first>, "seeds": [s, s+1, ...], "created":
<time.time()>}`, and, once the group has ended, its `status` and `message`. Each member is
`<group>/seed-<seed>/`, a run folder like any other (engine/records/runs.py). While the
group runs, its process holds the group folder's `run.lock` (engine/records/run_folder.py),
so a reader knows it is still under way between two members.

Reading never fails for a group still running, one whose member folders are missing or
damaged, or one whose group.json is damaged: the record says what it found in `problems`.

Torch-free: the window's background reader and the command lines use it.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.records.atomic_files import write_text_atomic
from engine.records.run_folder import GROUP_FILE, writer_of
from engine.records.runs import RunRecord, is_run_folder, read_json, read_run
from engine.stats import Summary, summarize

GROUP_KIND = "seeds"
MEMBER_PREFIX = "seed-"
GROUP_STATUSES = ("running", "finished", "stopped", "failed", "partial")
# A member's status that counts in the group's summary (its training ran to the end).
FINISHED_STATUSES = ("finished", "learned_nothing")


def member_dir(folder: str | Path, seed: int) -> Path:
    """The run folder of the group's member trained with `seed`."""
    return Path(folder) / f"{MEMBER_PREFIX}{seed}"


def write_group(folder: str | Path, config_dict: dict, seeds: list[int] | tuple[int, ...]
                ) -> None:
    """Write a new group's group.json (atomically)."""
    _write(Path(folder), {"kind": GROUP_KIND, "config": config_dict, "seeds": list(seeds),
                          "created": time.time()})


def end_group(folder: str | Path, status: str, message: str) -> None:
    """Record in group.json how the group ended ("finished", "stopped" or "failed")."""
    folder = Path(folder)
    data = read_json(folder / GROUP_FILE) or {}
    data.update(status=status, message=message, ended=time.time())
    _write(folder, data)


def is_group_folder(path: str | Path) -> bool:
    return (Path(path) / GROUP_FILE).is_file()


@dataclass
class GroupRecord:
    """A seed group as its folder tells it.

    `members` are the member run folders present, in the order of `seeds`; `missing` the
    seeds whose folder is not there; `best` and `final` summarise the best and the last
    epoch's test accuracy of the members that finished (diverged, stopped or failed ones
    are left out; `diverged` counts those that diverged); `problems` says in sentences what
    is missing or damaged."""

    folder: Path
    name: str
    config: dict
    seeds: list[int]
    members: list[RunRecord]
    best: Summary
    final: Summary
    status: str
    message: str = ""
    created: float | None = None
    missing: list[int] = field(default_factory=list)
    diverged: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def run_id(self) -> str:
        return str(self.folder)


def final_test_acc(record: RunRecord) -> float | None:
    """The last epoch's test accuracy, None before the first epoch ends."""
    value = record.history[-1].get("test_acc") if record.history else None
    return float(value) if isinstance(value, (int, float)) else None


def read_group(folder: str | Path) -> GroupRecord:
    folder = Path(folder)
    data = read_json(folder / GROUP_FILE)
    problems: list[str] = []
    if data is None:
        problems.append(f"{folder / GROUP_FILE} is missing or damaged; the members were found "
                        f"by their folder names ({MEMBER_PREFIX}<seed>).")
        data = {}
    seeds = _seeds(data.get("seeds"))
    if seeds is None:
        seeds = seeds_on_disk(folder)
        if data:
            problems.append(f"{folder / GROUP_FILE} names no valid list of seeds; the members "
                            "were found by their folder names.")
    members, missing = [], []
    for seed in seeds:
        path = member_dir(folder, seed)
        if path.is_dir() and is_run_folder(path):
            members.append(read_run(path, with_batches=False))
        else:
            missing.append(seed)
    finished = [m for m in members if m.status in FINISHED_STATUSES]
    unreadable = [m.folder.name for m in finished if m.best_test_acc is None]
    status = _status(folder, data, members, missing)
    if status == "finished" and unreadable:
        status = "partial"
    if missing and status not in ("running", "stopped", "failed"):
        problems.append("No run folder for seed " + ", ".join(map(str, missing)) + ".")
    damaged = [m.folder.name for m in members if m.damaged_lines]
    if damaged:
        problems.append("Damaged lines were skipped in " + ", ".join(damaged) + ".")
    if unreadable:
        problems.append("No test accuracy could be read from " + ", ".join(unreadable)
                        + "; it is left out of the summary.")
    config = data.get("config") if isinstance(data.get("config"), dict) else (
        dict(members[0].config) if members else {})
    return GroupRecord(
        folder=folder, name=folder.name, config=config, seeds=seeds, members=members,
        best=summarize(m.best_test_acc for m in finished if m.best_test_acc is not None),
        final=summarize(v for v in map(final_test_acc, finished) if v is not None),
        status=status, message=str(data.get("message") or ""),
        created=data.get("created") if isinstance(data.get("created"), (int, float)) else None,
        missing=missing, diverged=sum(m.status == "diverged" for m in members),
        problems=problems)


def list_groups(runs_dir: str | Path) -> list[GroupRecord]:
    """Every seed group folder directly inside runs_dir, newest first."""
    root = Path(runs_dir).expanduser()
    try:
        entries = [Path(entry.path) for entry in os.scandir(root) if entry.is_dir()]
    except OSError:
        return []
    groups = [read_group(path) for path in entries if is_group_folder(path)]
    groups.sort(key=lambda g: g.created or 0.0, reverse=True)
    return groups


def _status(folder: Path, data: dict, members: list[RunRecord], missing: list[int]) -> str:
    """running while the group's process holds its folder (or a member is being written);
    then how group.json says it ended; "partial" where it says nothing (its process was
    killed) or a finished group lacks a member."""
    if writer_of(folder) is not None or any(m.status == "running" for m in members):
        return "running"
    recorded = data.get("status")
    if recorded == "finished":
        ended_well = all(m.status in (*FINISHED_STATUSES, "diverged") for m in members)
        return "finished" if ended_well and not missing else "partial"
    if recorded in ("stopped", "failed"):
        return str(recorded)
    return "partial"


def _seeds(value: Any) -> list[int] | None:
    if isinstance(value, list) and value and all(
            isinstance(v, int) and not isinstance(v, bool) for v in value):
        return list(value)
    return None


def seeds_on_disk(folder: Path) -> list[int]:
    """The seeds of the member folders in a group's folder, in order."""
    try:
        names = [entry.name for entry in os.scandir(folder) if entry.is_dir()]
    except OSError:
        return []
    found = [int(n[len(MEMBER_PREFIX):]) for n in names
             if n.startswith(MEMBER_PREFIX) and n[len(MEMBER_PREFIX):].isdigit()]
    return sorted(found)


def _write(folder: Path, data: dict) -> None:
    write_text_atomic(folder / GROUP_FILE, json.dumps(data, indent=2))
