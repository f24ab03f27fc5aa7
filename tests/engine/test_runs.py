"""Run records: written as the run goes, read back, listed, followed; a writer killed mid-run
loses nothing it had flushed; a half-written last line is tolerated; exports read back."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from engine.config import TrainConfig
from engine.control import Control
from engine.events import BatchEnd, EpochEnd, RunStart
from engine.records import runs
from engine.records.checkpoint import load_checkpoint
from engine.records.metrics_export import METRIC_COLUMNS, write_metrics_csv
from engine.training.trainer import Trainer

REPO = Path(__file__).resolve().parents[2]


def small_config(digits_dir, **changes) -> TrainConfig:
    return TrainConfig(arch="mlp", dataset="mnist", data_dir=str(digits_dir), epochs=2,
                       batch_size=20, lr=3e-3, device="cpu", seed=1, threads=1
                       ).replace(**changes)


def train(config, folder, **kwargs):
    events = []
    end = Trainer(config, run_dir=folder, tensorboard=False, **kwargs).run(events.append)
    return end, events


def test_a_run_writes_its_record_and_reads_back(digits_dir, tmp_path):
    folder = tmp_path / "run"
    end, events = train(small_config(digits_dir), folder)
    assert end.reason == "finished"

    record = runs.read_run(folder)
    assert record.status == "finished" and record.message == end.message
    assert record.arch == "mlp" and record.dataset == "mnist"
    assert record.device == next(e for e in events if isinstance(e, RunStart)).device
    assert [r["epoch"] for r in record.history] == [1, 2]
    epochs = [e for e in events if isinstance(e, EpochEnd)]
    assert [r["test_acc"] for r in record.history] == [e.test_acc for e in epochs]
    batches = [e for e in events if isinstance(e, BatchEnd)]
    assert record.batches["step"] == [float(b.step) for b in batches]  # 20 steps: kept all
    assert record.batches["loss"] == pytest.approx([b.loss for b in batches])
    assert record.started <= record.ended and record.duration >= 0
    assert record.epochs_planned == 2 and record.epochs_done == 2
    assert record.checkpoint == folder / "checkpoint.pt"
    assert load_checkpoint(record.checkpoint).epoch == 2
    best = max(record.history, key=lambda r: (r["test_acc"], -r["epoch"]))["epoch"]
    assert record.best_epoch == best and record.best_by == "test_acc"
    # best.pt holds the best epoch, whichever epoch came last.
    assert record.best_checkpoint == folder / "best.pt"
    assert load_checkpoint(record.best_checkpoint).epoch == best
    assert record.damaged_lines == 0


def test_a_continued_run_appends_to_its_own_record(digits_dir, tmp_path):
    folder = tmp_path / "run"
    train(small_config(digits_dir, epochs=1), folder)
    end, _ = train(small_config(digits_dir, epochs=3), folder,
                   resume_from=folder / "checkpoint.pt")
    assert end.reason == "finished"
    record = runs.read_run(folder)
    assert [r["epoch"] for r in record.history] == [1, 2, 3]
    assert record.batches["step"] == [float(s) for s in range(1, 31)]
    lines = [json.loads(x) for x in (folder / "run.jsonl").read_text().splitlines()]
    assert [x["event"] for x in lines].count("begin") == 2
    assert record.status == "finished" and record.epochs_planned == 3


def test_a_run_that_trained_nothing_leaves_no_record(digits_dir, tmp_path):
    control = Control()
    control.stop()
    end = Trainer(small_config(digits_dir), run_dir=tmp_path / "run",
                  tensorboard=False).run(lambda e: None, control)
    assert end.reason == "stopped"
    assert not (tmp_path / "run").exists()


def _start(epochs=3, batches=4) -> RunStart:
    return RunStart(arch="mlp", dataset="mnist", device="CPU", epochs=epochs, start_epoch=0,
                    batches_per_epoch=batches, train_size=80, val_size=0, test_size=20,
                    num_params=10, class_names=("0", "1"), input_shape=(1, 28, 28))


def _batch(epoch, batch, loss, batches=4) -> BatchEnd:
    return BatchEnd(epoch=epoch, batch=batch, batches_per_epoch=batches,
                    step=(epoch - 1) * batches + batch, loss=loss, accuracy=0.5,
                    examples_per_sec=100.0, lr=0.1)


def test_per_batch_losses_are_downsampled_to_buckets(tmp_path, monkeypatch):
    monkeypatch.setattr(runs, "MAX_BATCH_POINTS", 3)
    recorder = runs.RunRecorder(tmp_path, {"arch": "mlp"})
    recorder(_start(epochs=2, batches=4))  # 8 steps, at most 3 points: buckets of 3
    for epoch in (1, 2):
        for batch, loss in zip(range(1, 5), (4.0, 2.0, 3.0, 1.0), strict=True):
            recorder(_batch(epoch, batch, loss))
    recorder.close()
    lines = [json.loads(x) for x in (tmp_path / "batches.jsonl").read_text().splitlines()]
    # A bucket never spans an epoch's end.
    assert [(x["step"], x["n"]) for x in lines] == [(3, 3), (4, 1), (7, 3), (8, 1)]
    assert lines[0]["loss"] == pytest.approx(3.0)
    assert (lines[0]["lo"], lines[0]["hi"]) == (2.0, 4.0)


def test_a_half_written_last_line_is_left_for_the_next_read(tmp_path):
    recorder = runs.RunRecorder(tmp_path, {"arch": "mlp", "dataset": "mnist"})
    recorder(_start())
    recorder.close()
    with open(tmp_path / "metrics.jsonl", "w") as out:
        out.write(json.dumps({"epoch": 1, "test_acc": 0.5}) + "\n")
        out.write('{"epoch": 2, "test_a')  # its writer died here, or is still writing
    reader = runs.RunReader(tmp_path)
    reader.poll()
    assert [r["epoch"] for r in reader.record().history] == [1]
    assert reader.record().damaged_lines == 0

    with open(tmp_path / "metrics.jsonl", "a") as out:
        out.write('cc": 0.75}\n')
    assert reader.poll()
    assert [(r["epoch"], r["test_acc"]) for r in reader.record().history] == [(1, 0.5),
                                                                               (2, 0.75)]
    assert not reader.poll()  # nothing new


def test_a_damaged_line_is_skipped_and_counted(tmp_path):
    (tmp_path / "metrics.jsonl").write_text(
        '{"epoch": 1, "test_acc": 0.5}\n\x00\x00garbage\n{"epoch": 2, "test_acc": 0.6}\n')
    record = runs.read_run(tmp_path)
    assert [r["epoch"] for r in record.history] == [1, 2]
    assert record.damaged_lines == 1


def test_a_replaced_file_is_read_again_whole(tmp_path):
    metrics = tmp_path / "metrics.jsonl"
    metrics.write_text('{"epoch": 1}\n{"epoch": 2}\n{"epoch": 3}\n')
    reader = runs.RunReader(tmp_path)
    reader.poll()
    replacement = tmp_path / "new.jsonl"  # a resumed run restarts it from its checkpoint
    replacement.write_text('{"epoch": 1}\n')
    os.replace(replacement, metrics)
    assert reader.poll()
    assert [r["epoch"] for r in reader.record().history] == [1]


def test_settings_changed_mid_run_are_recorded_and_read_back(tmp_path):
    from engine.events import SettingsChanged

    recorder = runs.RunRecorder(tmp_path, {"arch": "mlp"})
    recorder(_start())
    change = SettingsChanged(step=6, epoch=2, batch=2, batches_per_epoch=4,
                             changes={"lr": [0.1, 0.01]})
    recorder(change)
    recorder.close()
    changes = runs.read_run(tmp_path).changes
    assert len(changes) == 1
    assert SettingsChanged.from_record(changes[0]) == change


def test_names_and_notes_are_kept_beside_the_record(tmp_path):
    (tmp_path / "a").mkdir()
    runs.RunRecorder(tmp_path / "a", {}).close()
    runs.write_meta(tmp_path / "a", name="  wide lr  ")
    runs.write_meta(tmp_path / "a", note="lr 0.1 diverged at first")
    record = runs.read_run(tmp_path / "a")
    assert (record.name, record.note) == ("wide lr", "lr 0.1 diverged at first")


def test_listing_finds_run_folders_newest_first_and_skips_others(tmp_path):
    for name, started in (("old", 100.0), ("new", 200.0)):
        (tmp_path / name).mkdir()
        runs.RunRecorder(tmp_path / name, {"arch": "mlp"}, clock=lambda t=started: t).close()
    (tmp_path / "not-a-run").mkdir()
    (tmp_path / "a-file.txt").write_text("x")
    legacy = tmp_path / "legacy"  # written before run records existed
    legacy.mkdir()
    (legacy / "metrics.jsonl").write_text('{"epoch": 1, "test_acc": 0.9}\n')

    listed = runs.list_runs(tmp_path)
    names = [r.folder.name for r in listed]
    assert names.index("new") < names.index("old")  # by start time, newest first
    assert {r.folder.name for r in listed} == {"new", "old", "legacy"}
    assert next(r for r in listed if r.folder.name == "legacy").status == "finished"
    assert runs.list_runs(tmp_path / "missing") == []


def test_delete_removes_a_run_folder_but_refuses_another_folder(tmp_path):
    (tmp_path / "run").mkdir()
    runs.RunRecorder(tmp_path / "run", {}).close()
    runs.delete_run(tmp_path / "run")
    assert not (tmp_path / "run").exists()
    (tmp_path / "photos").mkdir()
    with pytest.raises(ValueError, match="does not look like a run folder"):
        runs.delete_run(tmp_path / "photos")
    assert (tmp_path / "photos").exists()


KILLED_WRITER = textwrap.dedent("""
    import sys, time
    from engine.config import TrainConfig
    from engine.events import CheckpointSaved
    from engine.training.trainer import Trainer

    def listener(event):
        if isinstance(event, CheckpointSaved) and event.epoch == 2:
            print("saved 2", flush=True)
            time.sleep(600)  # killed here, mid-run

    config = TrainConfig(arch="mlp", dataset="mnist", data_dir=sys.argv[1], epochs=5,
                         batch_size=20, device="cpu", seed=1, threads=1)
    Trainer(config, run_dir=sys.argv[2], tensorboard=False).run(listener)
""")


def test_a_writer_killed_mid_run_loses_nothing_it_had_flushed(digits_dir, tmp_path):
    folder = tmp_path / "run"
    writer = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(digits_dir),
                               str(folder)], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "saved 2"
        os.kill(writer.pid, signal.SIGKILL)
    finally:
        writer.kill()
        writer.wait()
        writer.stdout.close()

    record = runs.read_run(folder)
    assert record.status == "interrupted"  # its process is gone, and said no end
    assert "ended without saying how" in record.message
    assert [r["epoch"] for r in record.history] == [1, 2]
    assert record.batches["step"] == [float(s) for s in range(1, 21)]
    assert record.checkpoint is not None and load_checkpoint(record.checkpoint).epoch == 2
    assert record.epochs_planned == 5 and record.device


def test_a_run_written_by_another_process_is_followed_as_it_goes(digits_dir, tmp_path):
    script = textwrap.dedent("""
        import sys
        from engine.config import TrainConfig
        from engine.events import CheckpointSaved
        from engine.training.trainer import Trainer

        def listener(event):
            if isinstance(event, CheckpointSaved):
                print(f"saved {event.epoch}", flush=True)
                sys.stdin.readline()  # the test reads the folder, then lets it go on

        config = TrainConfig(arch="mlp", dataset="mnist", data_dir=sys.argv[1], epochs=2,
                             batch_size=20, device="cpu", seed=1, threads=1)
        Trainer(config, run_dir=sys.argv[2], tensorboard=False).run(listener)
    """)
    folder = tmp_path / "run"
    writer = subprocess.Popen([sys.executable, "-c", script, str(digits_dir), str(folder)],
                              cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    reader = runs.RunReader(folder)
    try:
        assert writer.stdout.readline().strip() == "saved 1"
        assert reader.poll()
        mid = reader.record()
        assert mid.status == "running" and mid.epochs_done == 1
        assert len(mid.batches["step"]) == 10
        writer.stdin.write("\n")
        writer.stdin.flush()
        assert writer.stdout.readline().strip() == "saved 2"
        writer.stdin.write("\n")
        writer.stdin.close()
        assert writer.wait(timeout=60) == 0
    finally:
        writer.kill()
        writer.wait()
        writer.stdout.close()
    assert reader.poll()
    done = reader.record()
    assert done.status == "finished" and done.epochs_done == 2
    assert len(done.batches["step"]) == 20


def test_metrics_of_several_runs_export_to_one_tidy_csv(tmp_path):
    folders = []
    for name, accs in (("a", (0.5, 0.7)), ("b", (0.6,))):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "config.json").write_text(json.dumps({"arch": "mlp", "dataset": "mnist"}))
        (folder / "metrics.jsonl").write_text("".join(
            json.dumps({"epoch": i + 1, "train_loss": 1.0, "train_acc": 0.5, "val_loss": None,
                        "val_acc": None, "test_loss": 0.9, "test_acc": acc, "lr": 0.01,
                        "seconds": 1.5}) + "\n" for i, acc in enumerate(accs)))
        folders.append(folder)
    records = [runs.read_run(f) for f in folders]
    runs.write_meta(folders[1], name="second, with a comma")
    records[1] = runs.read_run(folders[1])

    assert write_metrics_csv(tmp_path / "out.csv", records) == 3
    rows = list(csv.DictReader(io.StringIO((tmp_path / "out.csv").read_text())))
    assert list(rows[0]) == ["run", "folder", "arch", "dataset", *METRIC_COLUMNS]
    assert [(r["run"], r["epoch"], r["test_acc"]) for r in rows] == [
        ("a", "1", "0.5"), ("a", "2", "0.7"), ("second, with a comma", "1", "0.6")]
    assert rows[0]["val_acc"] == "" and rows[0]["folder"] == str(folders[0])


def test_recorded_times_are_wall_clock_seconds(digits_dir, tmp_path):
    before = time.time()
    train(small_config(digits_dir, epochs=1), tmp_path / "run")
    record = runs.read_run(tmp_path / "run")
    assert before <= record.started <= record.ended <= time.time()
