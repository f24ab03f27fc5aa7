"""A seed group's row in the Runs tab (gui/runs_table.py): its columns' text, sort keys and
tooltip, and the numbers compared when two rows are ticked.

A group is one row (its best test accuracy as mean ± std with n) that unfolds to its members,
each an ordinary run row under it.
"""

from __future__ import annotations

import datetime

from engine.catalog import OPTIMIZER_TITLES, arch_title, dataset_title
from engine.durations import rough_duration
from engine.records import groups, runs
from engine.stats import Summary, compare
from engine.text import plural

GROUP_STATUS_TITLES = {"partial": "Partial"}  # the others are a run's (runs_table.STATUS_TITLES)
FOLDED, UNFOLDED = "▸", "▾"
MEMBER_INDENT = "      "  # a member's name sits under its group's, past the arrow


def summary_text(summary: Summary) -> str:
    """"91.2% ± 0.4% (n=3)"; "" before any member finished."""
    if summary.n == 0:
        return ""
    return f"{summary.mean:.1%} ± {summary.std:.1%} (n={summary.n})"


def group_text(group: groups.GroupRecord, column: str, status_title: str, unfolded: bool
               ) -> str:
    """The text of the group's cell in `column` (runs_table.COLUMNS' name)."""
    members = group.members
    if column == "Name":
        arrow = UNFOLDED if unfolded else FOLDED
        return f"{arrow} {group.name} · {plural(len(group.seeds), 'seed')}"
    if column == "Network":
        return arch_title(str(group.config.get("arch", "")))
    if column == "Dataset":
        return dataset_title(str(group.config.get("dataset", "")))
    if column == "Status":
        if group.status == "running":
            done = sum(m.status != "running" for m in members)
            return f"{status_title} ({done}/{len(group.seeds)} seeds)"
        return status_title
    if column == "Best test acc.":
        return summary_text(group.best)
    if column == "Epochs":
        return str(group.config.get("epochs", ""))
    if column == "Optimizer":
        value = group.config.get("optimizer")
        return "" if value is None else OPTIMIZER_TITLES.get(value, str(value))
    if column == "Learning rate":
        value = group.config.get("lr")
        return f"{value:g}" if isinstance(value, (int, float)) else ""
    if column == "Duration":
        total = group_duration(group)
        return "" if total is None else rough_duration(total)
    if column == "Device":
        return members[-1].device if members else ""
    if column == "Started":
        return started_text(group_started(group))
    return ""


def group_sort_key(group: groups.GroupRecord, column: int) -> object:
    """The key the column sorts the group's row by, of the type a run's row has there."""
    config = group.config
    keys = (group.name.lower(), arch_title(str(config.get("arch", ""))),
            dataset_title(str(config.get("dataset", ""))), group.status,
            group.best.mean if group.best.n else -1, sort_number(config.get("epochs")),
            str(config.get("optimizer", "")), sort_number(config.get("lr")),
            group_duration(group) or 0.0,
            (1, group.members[-1].device if group.members else ""),
            group_started(group) or 0.0)
    return keys[column]


def sort_number(value: object) -> float:
    """A setting as a number to sort by; -1 where it is none."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return -1.0


def started_text(started: float | None) -> str:
    """When a run or group started, as the Started column says it."""
    if started is None:
        return ""
    return datetime.datetime.fromtimestamp(started).strftime("%Y-%m-%d %H:%M")


def group_duration(group: groups.GroupRecord) -> float | None:
    spans = [m.duration for m in group.members if m.duration is not None]
    return sum(spans) if spans else None


def group_started(group: groups.GroupRecord) -> float | None:
    starts = [m.started for m in group.members if m.started is not None]
    return group.created if group.created is not None else min(starts, default=None)


def group_tooltip(group: groups.GroupRecord) -> str:
    seeds = ", ".join(map(str, group.seeds))
    lines = [str(group.folder), f"A seed group: the same settings with seeds {seeds}."]
    if group.best.n:
        lines.append(f"Best test accuracy: {group.best.text()}, over the members that "
                     "finished.")
    if group.final.n:
        lines.append(f"Last epoch's test accuracy: {group.final.text()}.")
    if group.diverged:
        lines.append(f"{plural(group.diverged, 'member')} diverged (left out of the numbers).")
    if group.message:
        lines.append(group.message)
    lines += group.problems
    lines.append("Click its name to show or hide its members.")
    return "\n".join(lines)


def comparison_sentence(a: runs.RunRecord | groups.GroupRecord,
                        b: runs.RunRecord | groups.GroupRecord) -> str:
    """Whether two ticked rows' best test accuracies differ by more than the seed-to-seed
    noise (engine/stats.py: Welch's t-test, n on both sides; with one seed on a
    side it says it cannot tell)."""
    return compare(best_values(a), best_values(b), names=(a.name, b.name)).sentence


def runs_of(records: list) -> list[runs.RunRecord]:
    """The runs the rows stand for: a seed group's members in its place, each run once."""
    found: dict[str, runs.RunRecord] = {}
    for record in records:
        for run in record.members if isinstance(record, groups.GroupRecord) else [record]:
            found.setdefault(run.run_id, run)
    return list(found.values())


def best_values(record: runs.RunRecord | groups.GroupRecord) -> tuple[float, ...]:
    """The best test accuracies a ticked row stands for: a group's finished members', a
    run's own (none before its first epoch)."""
    if isinstance(record, groups.GroupRecord):
        return tuple(record.best.values)
    best = record.best_test_acc
    return () if best is None else (float(best),)
