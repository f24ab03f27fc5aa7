"""Faults during a run (NaN/Inf loss, a failing layer, out of memory, stops at awkward
moments, a full disk, a folder that cannot be written), and runs killed while saving: each
ends with the right reason and message, and the history up to that point is kept."""

from __future__ import annotations

import os

import pytest

from bench.fault_kit import (
    RUN_FAULTS,
    kill_during_saves,
    run_folder_faults,
    run_with_fault,
    write_fault_data,
)

# CI kills a few times; bench/faults.py many more.
KILLS = int(os.environ.get("TRAINDESK_TEST_KILLS", "15"))


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return write_fault_data(tmp_path_factory.mktemp("fault-data"))


@pytest.mark.parametrize("fault", RUN_FAULTS, ids=[f.name for f in RUN_FAULTS])
def test_a_fault_mid_run_ends_with_the_right_reason_and_keeps_the_history(fault, data_dir,
                                                                           tmp_path):
    assert run_with_fault(fault, data_dir, tmp_path) is None


def test_runs_killed_while_saving_always_leave_a_whole_run_folder(tmp_path):
    tally = kill_during_saves(tmp_path, kills=KILLS, seed=7)
    assert tally.problems == []
    assert (tally.tried, tally.clear) == (KILLS, KILLS)


def test_a_batch_too_small_for_batch_norm_is_explained(data_dir):
    from bench.fault_kit import fault_config
    from engine.training.trainer import Trainer

    config = fault_config(data_dir).replace(arch="resnet18", batch_size=1, image_size=8,
                                            epochs=1, val_split=0.0)
    end = Trainer(config).run(lambda event: None)
    assert end.reason == "failed"
    assert "Batch size 1 is too small for ResNet-18" in end.message
    assert "Use a batch size of 2 or more" in end.message


def test_run_folders_are_never_shared_or_damaged_and_each_fault_is_explained(tmp_path):
    """Races for one folder, stale and foreign locks, exported models given as checkpoints,
    exports aimed at a run's own files, names over 255 bytes, a broken link, SIGTERM."""
    tally = run_folder_faults(tmp_path, races=2, sigterms=1)
    assert tally.problems == [] and tally.clear == tally.tried
