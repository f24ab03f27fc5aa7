"""Reading a seed group's folder: while it runs, once it ended, and when a member or
group.json is missing or damaged (said in `problems`, never an exception)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from engine.config import TrainConfig
from engine.events import GroupMemberEnd
from engine.experiments.seeds import SeedGroup
from engine.records.groups import (
    is_group_folder,
    list_groups,
    new_group_dir,
    read_group,
    write_group,
)
from engine.records.run_folder import GROUP_FILE, holds_run

SEEDS = [3, 4, 5]


@pytest.fixture(scope="module")
def finished_group(digits_dir, tmp_path_factory) -> tuple[Path, list]:
    """A finished 3-seed group, and read_group's records taken after each member ended."""
    folder = tmp_path_factory.mktemp("groups") / "group"
    config = TrainConfig(arch="softmax", dataset="mnist", data_dir=str(digits_dir), epochs=1,
                         batch_size=20, device="cpu", threads=1, seed=3, seeds=3)
    while_running: list = []

    def listen(event):
        if isinstance(event, GroupMemberEnd):
            while_running.append(read_group(folder))

    assert SeedGroup(config, folder, tensorboard=False).run(listen).reason == "finished"
    return folder, while_running


@pytest.fixture
def group(finished_group, tmp_path) -> Path:
    """A copy of the finished group to damage."""
    return Path(shutil.copytree(finished_group[0], tmp_path / "group"))


def best_accuracies(folder: Path, seeds) -> list[float]:
    return [max(json.loads(line)["test_acc"] for line in
                (folder / f"seed-{s}" / "metrics.jsonl").read_text().splitlines())
            for s in seeds]


def test_a_running_group_reads_as_running_with_the_members_so_far(finished_group):
    folder, while_running = finished_group
    assert [r.status for r in while_running] == ["running"] * 3
    first = while_running[0]
    assert first.seeds == SEEDS and [m.folder.name for m in first.members] == ["seed-3"]
    assert first.missing == [4, 5] and first.problems == []
    assert first.best.n == 1
    assert first.best.mean == pytest.approx(best_accuracies(folder, [3])[0])


def test_a_finished_group_reads_as_finished_with_numpy_s_summary(finished_group):
    record = read_group(finished_group[0])
    best = best_accuracies(finished_group[0], SEEDS)
    assert record.status == "finished" and record.problems == [] and record.missing == []
    assert record.config["seeds"] == 3 and record.config["seed"] == 3
    assert record.best.mean == pytest.approx(np.mean(best))
    assert record.best.std == pytest.approx(np.std(best, ddof=1))
    assert record.final.n == 3


def test_a_missing_member_makes_the_group_partial_and_says_which(group):
    shutil.rmtree(group / "seed-4")
    record = read_group(group)
    assert record.status == "partial" and record.missing == [4]
    assert record.problems == ["No run folder for seed 4."]
    assert record.best.n == 2
    assert record.best.mean == pytest.approx(np.mean(best_accuracies(group, [3, 5])))


def test_a_damaged_member_is_read_as_far_as_it_goes(group):
    (group / "seed-5" / "run.jsonl").write_bytes(b"\x00\xffnot json\n{also not\n")
    (group / "seed-5" / "metrics.jsonl").write_text("garbage\n")
    record = read_group(group)
    assert [m.folder.name for m in record.members] == ["seed-3", "seed-4", "seed-5"]
    assert record.best.n == 2  # seed 5 no longer reads as finished
    assert record.status == "partial"
    assert any("seed-5" in problem for problem in record.problems)


def test_a_damaged_group_file_still_finds_the_members_by_their_folders(group):
    (group / GROUP_FILE).write_text("{not json")
    record = read_group(group)
    assert record.seeds == SEEDS and len(record.members) == 3
    assert record.status == "partial" and "missing or damaged" in record.problems[0]
    assert record.config["arch"] == "softmax"  # the first member's settings
    assert record.best.n == 3


def test_a_group_whose_process_was_killed_is_partial(tmp_path):
    (tmp_path / "g").mkdir()
    write_group(tmp_path / "g", {"arch": "lenet5"}, [0, 1])  # no end recorded, no lock
    record = read_group(tmp_path / "g")
    assert record.status == "partial" and record.members == [] and record.missing == [0, 1]
    assert record.best.n == 0


def test_groups_are_listed_newest_first_and_refused_as_run_folders(finished_group, tmp_path):
    older, newer = tmp_path / "older", tmp_path / "newer"
    for folder in (older, newer):
        folder.mkdir()
        write_group(folder, {}, [0])
    (tmp_path / "a-run").mkdir()
    (tmp_path / "a-run" / "metrics.jsonl").write_text("")
    assert [g.name for g in list_groups(tmp_path)] == ["newer", "older"]
    assert is_group_folder(newer) and not is_group_folder(tmp_path / "a-run")
    assert holds_run(newer)  # a plain run is never claimed into a group's folder


def test_a_new_group_folder_is_named_as_a_run_s_with_its_seeds(tmp_path):
    folder = new_group_dir(tmp_path, "lenet5", "mnist", 3)
    assert folder.is_dir() and folder.name.endswith("-lenet5-mnist-seeds3")
    assert new_group_dir(tmp_path, "lenet5", "mnist", 3) != folder
