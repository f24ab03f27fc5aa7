"""A seed group trains one real run per seed into its folder, summarises the members that
finished (checked against numpy over the members' own metrics.jsonl), and ends as its
members dictate: a stop or a failure ends the group, a divergence is counted and skipped."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import engine.training.setup as training_setup
from engine.config import TrainConfig
from engine.control import Control
from engine.events import (
    BatchEnd,
    GroupEnd,
    GroupMemberEnd,
    GroupMemberStart,
    GroupStart,
    RunEnd,
    RunStart,
)
from engine.experiments.seeds import SeedGroup
from engine.records.groups import read_group
from engine.records.run_folder import GROUP_FILE
from engine.records.runs import read_run


@pytest.fixture
def config(digits_dir) -> TrainConfig:
    return TrainConfig(arch="softmax", dataset="mnist", data_dir=str(digits_dir), epochs=2,
                       batch_size=20, device="cpu", threads=1, seed=5, seeds=3)


def run_group(config: TrainConfig, folder: Path | None, control: Control | None = None,
              on_event=None) -> tuple[RunEnd, list, SeedGroup]:
    events: list = []

    def listen(event):
        events.append(event)
        if on_event is not None:
            on_event(event)

    group = SeedGroup(config, folder, tensorboard=False)
    return group.run(listen, control), events, group


def accuracies_of(folder: Path) -> tuple[float, float]:
    """A member's best and final test accuracy, from its metrics.jsonl."""
    accs = [json.loads(line)["test_acc"]
            for line in (folder / "metrics.jsonl").read_text().splitlines()]
    return max(accs), accs[-1]


def test_three_seeds_train_three_runs_and_summarise_them_as_numpy_does(config, tmp_path):
    folder = tmp_path / "group"
    end, events, group = run_group(config, folder)

    assert end.reason == "finished"
    assert [e.reason for e in group.members] == ["finished"] * 3
    assert isinstance(events[0], GroupStart) and events[0].seeds == (5, 6, 7)
    assert isinstance(events[-1], GroupEnd) and events[-1].end == end
    assert [e.seed for e in events if isinstance(e, GroupMemberStart)] == [5, 6, 7]
    assert sum(isinstance(e, RunStart) for e in events) == 3
    data = json.loads((folder / GROUP_FILE).read_text())
    assert data["kind"] == "seeds" and data["seeds"] == [5, 6, 7]
    assert data["config"] == config.to_dict() and data["status"] == "finished"
    for seed in (5, 6, 7):
        member = read_run(folder / f"seed-{seed}")
        assert member.status == "finished"
        assert (member.config["seed"], member.config["seeds"]) == (seed, 1)

    pairs = [accuracies_of(folder / f"seed-{s}") for s in (5, 6, 7)]
    best, final = [p[0] for p in pairs], [p[1] for p in pairs]
    summary = events[-1]
    assert summary.best.n == summary.final.n == 3
    assert summary.best.mean == pytest.approx(np.mean(best))
    assert summary.best.std == pytest.approx(np.std(best, ddof=1))
    assert summary.final.mean == pytest.approx(np.mean(final))
    assert summary.final.std == pytest.approx(np.std(final, ddof=1))
    member_ends = [e for e in events if isinstance(e, GroupMemberEnd)]
    assert [(e.best_test_acc, e.final_test_acc) for e in member_ends] == pairs
    assert f"{np.mean(best):.2%} ± {np.std(best, ddof=1):.2%} (n = 3)" in end.message

    record = read_group(folder)
    assert record.status == "finished" and record.problems == []
    assert record.seeds == [5, 6, 7] and len(record.members) == 3
    assert record.best.mean == pytest.approx(np.mean(best))
    assert record.final.std == pytest.approx(np.std(final, ddof=1))


def test_a_stop_during_the_second_member_ends_the_group_and_keeps_the_first(
        config, tmp_path):
    folder, control = tmp_path / "group", Control()
    second = {"on": False}

    def stop_in_second(event):
        if isinstance(event, GroupMemberStart):
            second["on"] = event.index == 1
        elif isinstance(event, BatchEnd) and second["on"] and event.epoch == 2:
            control.stop()

    end, events, group = run_group(config, folder, control, stop_in_second)

    assert end.reason == "stopped"
    assert "stopped by you during seed 6 (2 of 3)" in end.message
    assert [e.reason for e in group.members] == ["finished", "stopped"]
    assert not (folder / "seed-7").exists()
    assert read_run(folder / "seed-5").status == "finished"
    assert read_run(folder / "seed-6").status == "stopped"
    record = read_group(folder)
    assert record.status == "stopped" and record.best.n == 1
    assert events[-1].best.n == 1


def test_a_failing_member_ends_the_group_with_its_reason(config, tmp_path):
    images = tmp_path / "images"
    for name in ("cat", "dog"):
        (images / name).mkdir(parents=True)  # classes without a single image
    folder = tmp_path / "group"
    end, _, group = run_group(config.replace(dataset="folder", image_folder=str(images)),
                              folder)

    assert end.reason == "failed" and len(group.members) == 1
    assert end.message.startswith("Seed 5 (1 of 3) failed, and with these settings every "
                                  "seed would")
    assert group.members[0].message in end.message
    assert not folder.exists()  # nothing was saved: no group is left behind


def test_a_diverged_member_is_counted_apart_and_the_group_goes_on(
        config, tmp_path, monkeypatch):
    real_build = training_setup.build_model
    built = {"n": 0}

    def build(*args):  # the second member's outputs turn NaN in its second epoch
        model = real_build(*args)
        built["n"] += 1
        if built["n"] == 2:
            calls = {"n": 0}

            def hook(module, inputs, output):
                if module.training:
                    calls["n"] += 1
                    if calls["n"] > 13:
                        return output * float("nan")
                return output

            model.register_forward_hook(hook)
        return model

    monkeypatch.setattr(training_setup, "build_model", build)
    folder = tmp_path / "group"
    end, events, group = run_group(config, folder)

    assert [e.reason for e in group.members] == ["finished", "diverged", "finished"]
    assert end.reason == "finished" and "1 seed diverged and is left out" in end.message
    best = [accuracies_of(folder / f"seed-{s}")[0] for s in (5, 7)]
    assert events[-1].best.values == tuple(best)
    record = read_group(folder)
    assert record.status == "finished" and record.diverged == 1 and record.best.n == 2
    assert record.best.mean == pytest.approx(np.mean(best))


def test_a_bad_setting_fails_the_group_before_any_folder_is_made(config, tmp_path):
    end, events, group = run_group(config.replace(epochs=0), tmp_path / "group")
    assert end.reason == "failed" and "Epochs" in end.message
    assert group.members == [] and not (tmp_path / "group").exists()
    assert isinstance(events[-1], GroupEnd) and events[-1].best.n == 0


def test_a_folder_holding_a_group_is_refused(config, tmp_path):
    folder = tmp_path / "group"
    run_group(config.replace(seeds=1, epochs=1), folder)
    end, _, group = run_group(config.replace(seeds=1, epochs=1), folder)
    assert end.reason == "failed" and "seed group" in end.message and group.members == []


def test_a_group_without_a_folder_writes_nothing(config, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    end, _, group = run_group(config.replace(seeds=2, epochs=1), None)
    assert end.reason == "finished" and len(group.members) == 2
    assert list(tmp_path.iterdir()) == []
