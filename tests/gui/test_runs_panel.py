"""The Runs tab: listing, sorting, filtering, the run actions, overlays on the plots, and
live follow of a run another process writes."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox

from engine.config import TrainConfig
from engine.events import BatchEnd, EpochEnd, RunEnd, RunStart, SettingsChanged
from engine.records import runs
from gui.main_window import MainWindow
from gui.runs_panel import RunsPanel
from gui.runs_table import COLUMNS
from tests.gui.windows import open_window

REPO = Path(__file__).resolve().parents[2]
RUN_TIMEOUT_MS = 120_000
READ_TIMEOUT_MS = 20_000


def write_run(folder: Path, test_accs, *, lr=0.01, batches=5, end="finished",
              config: dict | None = None, device="CPU", world_size=1) -> Path:
    """A run folder as the trainer writes it, without training: the record, the metrics."""
    folder.mkdir(parents=True)
    config = config or TrainConfig(arch="mlp", dataset="mnist", lr=lr,
                                   epochs=len(test_accs)).to_dict()
    (folder / "config.json").write_text(json.dumps(config))
    recorder = runs.RunRecorder(folder, config)
    recorder(RunStart(arch=config["arch"], dataset=config["dataset"], device=device,
                      epochs=len(test_accs), start_epoch=0, batches_per_epoch=batches,
                      train_size=100, val_size=0, test_size=20, num_params=10,
                      class_names=tuple("0123456789"), input_shape=(1, 28, 28),
                      world_size=world_size))
    with open(folder / "metrics.jsonl", "w") as metrics:
        for epoch, acc in enumerate(test_accs, start=1):
            for batch in range(1, batches + 1):
                step = (epoch - 1) * batches + batch
                recorder(BatchEnd(epoch, batch, batches, step, 2.0 / step, 0.5, 100.0, lr))
            record = EpochEnd(epoch, len(test_accs), 1.0 / epoch, acc, None, None,
                              1.2 / epoch, acc, lr, 1.0)
            recorder(record)
            metrics.write(json.dumps(record.as_record()) + "\n")
    if end:
        recorder(RunEnd(end, f"{end.capitalize()}.", len(test_accs)))
    recorder.close()
    return folder


@pytest.fixture
def panel(qtbot, tmp_path):
    panel = RunsPanel(tmp_path / "runs")
    qtbot.addWidget(panel)
    return panel


def shown_rows(panel: RunsPanel) -> list[list[str]]:
    proxy = panel.proxy
    return [[proxy.index(r, c).data() for c in range(len(COLUMNS))]
            for r in range(proxy.rowCount())]


def start(qtbot, panel: RunsPanel, count: int) -> None:
    panel.library.resume()
    qtbot.waitUntil(lambda: panel.model.rowCount() == count, timeout=READ_TIMEOUT_MS)


def test_runs_are_listed_by_display_name_sortable_and_filtered(qtbot, panel, tmp_path):
    write_run(tmp_path / "runs" / "a", [0.5, 0.7])
    write_run(tmp_path / "runs" / "b", [0.9], end="diverged",
              config=TrainConfig(arch="lenet5", dataset="fashion-mnist", epochs=1).to_dict())
    (tmp_path / "runs" / "empty-folder").mkdir()
    try:
        start(qtbot, panel, 2)
        panel.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        rows = shown_rows(panel)
        assert [r[0] for r in rows] == ["a", "b"]
        assert rows[0][1:6] == ["Multilayer perceptron", "MNIST", "Finished", "70.00%", "2"]
        assert rows[1][1:5] == ["LeNet-5 (classic)", "Fashion-MNIST", "Diverged", "90.00%"]
        panel.table.sortByColumn(4, Qt.SortOrder.DescendingOrder)  # best accuracy
        assert [r[0] for r in shown_rows(panel)] == ["b", "a"]

        panel.filter_box.setText("lenet")
        assert [r[0] for r in shown_rows(panel)] == ["b"]
        panel.filter_box.setText("FINISHED")
        assert [r[0] for r in shown_rows(panel)] == ["a"]
    finally:
        panel.library.shutdown()


def test_the_table_shows_each_runs_optimizer_and_learning_rate(qtbot, panel, tmp_path):
    write_run(tmp_path / "runs" / "adam", [0.5], config=TrainConfig(
        arch="mlp", dataset="mnist", optimizer="adam", lr=0.003, epochs=1).to_dict())
    changed = write_run(tmp_path / "runs" / "sgd", [0.6], config=TrainConfig(
        arch="mlp", dataset="mnist", optimizer="sgd", lr=0.1, epochs=1).to_dict())
    change = SettingsChanged(step=3, epoch=1, batch=3, batches_per_epoch=5,
                             changes={"lr": [0.1, 0.01]})
    with open(changed / runs.RUN_FILE, "a") as record:  # as the recorder writes a change
        record.write(json.dumps({"event": "change", **change.as_record()}) + "\n")
    try:
        start(qtbot, panel, 2)
        panel.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        optimizer, rate = COLUMNS.index("Optimizer"), COLUMNS.index("Learning rate")
        rows = shown_rows(panel)
        assert [(r[optimizer], r[rate]) for r in rows] == [("Adam", "0.003"),
                                                           ("SGD", "0.1 → 0.01")]
        panel.table.sortByColumn(rate, Qt.SortOrder.AscendingOrder)
        assert [r[0] for r in shown_rows(panel)] == ["adam", "sgd"]
        panel.filter_box.setText("adamw")
        assert shown_rows(panel) == []
        panel.filter_box.setText("sgd")
        assert [r[0] for r in shown_rows(panel)] == ["sgd"]
    finally:
        panel.library.shutdown()


def test_a_torchrun_run_shows_its_devices_and_processes(qtbot, panel, tmp_path):
    write_run(tmp_path / "runs" / "laptop", [0.5])
    server = write_run(tmp_path / "runs" / "server", [0.9], device="4 x NVIDIA H100",
                       world_size=4)
    try:
        start(qtbot, panel, 2)
        panel.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        device = COLUMNS.index("Device")
        assert [row[device] for row in shown_rows(panel)] == ["CPU", "4 x NVIDIA H100"]
        tip = panel.proxy.index(1, 0).data(Qt.ItemDataRole.ToolTipRole)
        assert "Trained by 4 processes together (torchrun) on 4 x NVIDIA H100" in tip
        assert "processes" not in panel.proxy.index(0, 0).data(Qt.ItemDataRole.ToolTipRole)
        assert runs.read_run(server).world_size == 4
        panel.table.sortByColumn(device, Qt.SortOrder.DescendingOrder)
        assert [row[0] for row in shown_rows(panel)] == ["server", "laptop"]
    finally:
        panel.library.shutdown()


def test_rename_note_and_delete_with_confirmation(qtbot, panel, tmp_path, monkeypatch):
    folder = write_run(tmp_path / "runs" / "20260101-mlp", [0.5])
    write_run(tmp_path / "runs" / "other", [0.6])
    try:
        start(qtbot, panel, 2)
        panel.select(folder)
        assert panel.rename("adam, lr 3e-3")
        assert panel.edit_note("baseline")
        qtbot.waitUntil(lambda: panel.model.record(str(folder)).name == "adam, lr 3e-3",
                        timeout=READ_TIMEOUT_MS)
        assert panel.model.record(str(folder)).note == "baseline"
        assert runs.read_run(folder).name == "adam, lr 3e-3"  # kept in the folder

        answers = iter([QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Yes])
        monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: next(answers))
        assert not panel.delete_selected()
        assert folder.exists()
        assert panel.delete_selected()
        assert not folder.exists() and (tmp_path / "runs" / "other").exists()
        assert [r[0] for r in shown_rows(panel)] == ["other"]
    finally:
        panel.library.shutdown()


def exported(path) -> list[tuple[str, str, str]]:
    with open(path, newline="") as stream:
        return sorted((r["run"], r["epoch"], r["test_acc"]) for r in csv.DictReader(stream))


def test_export_csv_writes_the_ticked_runs_or_all_and_says_so(qtbot, panel, tmp_path,
                                                              monkeypatch):
    a = write_run(tmp_path / "runs" / "a", [0.5, 0.7])
    write_run(tmp_path / "runs" / "b", [0.9])
    c = write_run(tmp_path / "runs" / "c", [0.4])
    notices = []
    panel.notice.connect(notices.append)
    try:
        start(qtbot, panel, 3)
        panel.tick(a)
        panel.tick(c)
        panel.select(tmp_path / "runs" / "b")  # selected, not ticked: not exported
        out = tmp_path / "ticked.csv"
        assert panel.export_csv(str(out))
        assert exported(out) == [("a", "1", "0.5"), ("a", "2", "0.7"), ("c", "1", "0.4")]
        assert notices[-1] == f"Exported the metrics of 2 runs (3 epoch rows) to {out}."

        # Nothing ticked: every run, and the file dialog says so.
        panel.tick(a, False)
        panel.tick(c, False)
        titles = []
        everything = tmp_path / "all.csv"

        def save_as(parent, title, suggested, filters):
            titles.append(title)
            return str(everything), filters

        monkeypatch.setattr(QFileDialog, "getSaveFileName", save_as)
        assert panel.buttons["export"].isEnabled()
        panel.buttons["export"].click()
        assert titles == ["Export the metrics of all 3 runs (none is ticked)"]
        assert [r[0] for r in exported(everything)] == ["a", "a", "b", "c"]
        assert notices[-1] == f"Exported the metrics of 3 runs (4 epoch rows) to {everything}."
    finally:
        panel.library.shutdown()


def test_refresh_reads_again_what_another_program_changed(qtbot, panel, tmp_path):
    """A finished run is read again only when its record changes: a name given in another
    window (its meta file alone) shows once Refresh is clicked."""
    folder = write_run(tmp_path / "runs" / "a", [0.5])
    try:
        start(qtbot, panel, 1)
        runs.write_meta(folder, name="named elsewhere")
        qtbot.wait(500)
        assert panel.model.records[0].name == "a"  # not followed on its own
        panel.buttons["refresh"].click()
        qtbot.waitUntil(lambda: panel.model.records[0].name == "named elsewhere",
                        timeout=READ_TIMEOUT_MS)
    finally:
        panel.library.shutdown()


# -- in the window -------------------------------------------------------------------------


@pytest.fixture
def window(qtbot, tmp_path):
    window = open_window(qtbot, tmp_path)
    return window


def test_ticked_runs_overlay_their_curves_under_the_live_run(qtbot, window, tmp_path, data_dir):
    first = write_run(tmp_path / "runs" / "first", [0.4, 0.6], lr=0.01)
    second = write_run(tmp_path / "runs" / "second", [0.5, 0.8, 0.85], lr=0.05)
    panel, plots = window.runs_panel, window.plots
    qtbot.waitUntil(lambda: panel.model.rowCount() == 2, timeout=READ_TIMEOUT_MS)

    panel.tick(first)
    panel.tick(second)
    qtbot.waitUntil(lambda: all(len(plots.overlay_curves(str(f)).overlay.steps) > 0
                                for f in (first, second)), timeout=READ_TIMEOUT_MS)
    assert set(plots.overlay_keys()) == {str(first), str(second)}
    one, two = plots.overlay_curves(str(first)), plots.overlay_curves(str(second))
    assert one.overlay.colour != two.overlay.colour
    assert list(two.overlay.steps) == [float(s) for s in range(1, 16)]
    assert [r["test_acc"] for r in two.overlay.history] == [0.5, 0.8, 0.85]
    xs, ys = two.test_acc.getData()
    assert list(xs) == [1, 2, 3] and list(ys) == pytest.approx([50, 80, 85])
    assert set(plots.key.names()) == {"first", "second"}  # named below the plots
    assert plots.hint_text("accuracy") == ""  # the overlays fill the empty plots
    out = tmp_path / "compared.csv"
    assert panel.export_csv(str(out))  # the ticked two, said in the status bar
    assert window.status_text() == f"Exported the metrics of 2 runs (5 epoch rows) to {out}."

    # A run trained now is drawn on top and labelled as this run.
    window.settings_panel.set_config(TrainConfig(arch="mlp", dataset="mnist",
                                                 data_dir=str(data_dir), epochs=2,
                                                 batch_size=20, device="cpu"))
    window.tabs.setCurrentWidget(panel)  # the table is painted while its rows change (a
    # crash, once)
    window.commands.start_training()
    session = window.controller.session
    qtbot.waitUntil(lambda: panel.model.live_folder is not None, timeout=RUN_TIMEOUT_MS)
    assert panel.model.live_folder == str(session.trainer.run_dir)
    with qtbot.waitSignal(session.finished, timeout=RUN_TIMEOUT_MS):
        pass
    assert "test" in plots.legends.names("accuracy") and plots.key.names()
    live = plots._epochs.curves["accuracy"]["test"]  # noqa: SLF001 - the live curve itself
    assert live.zValue() > one.test_acc.zValue()
    assert set(plots.overlay_keys()) == {str(first), str(second)}  # still compared

    # The run just trained is listed too, and can be compared with the others.
    qtbot.waitUntil(lambda: panel.model.rowCount() == 3, timeout=READ_TIMEOUT_MS)
    panel.tick(second, False)
    assert plots.overlay_keys() == [str(first)]
    assert plots.key.names() == ["first"]
    window.grab().save(str(tmp_path / "runs-overlay.png"))


def test_use_settings_and_open_checkpoint_from_the_table(qtbot, window, tmp_path, data_dir):
    config = TrainConfig(arch="mlp", dataset="mnist", data_dir=str(data_dir), epochs=1,
                         batch_size=20, lr=0.002, device="cpu")
    window.settings_panel.set_config(config)
    window.commands.start_training()
    with qtbot.waitSignal(window.controller.session.finished, timeout=RUN_TIMEOUT_MS):
        pass
    panel = window.runs_panel
    qtbot.waitUntil(lambda: panel.model.rowCount() == 1 and panel.model.records[0].status
                    == "finished", timeout=READ_TIMEOUT_MS)
    window.settings_panel.set_config(TrainConfig())
    panel.table.selectRow(0)
    assert panel.use_settings()
    assert window.settings_panel.config().lr == 0.002
    assert window.settings_panel.config().arch == "mlp"

    assert panel.open_checkpoint()
    assert window.run.checkpoint_path == str(panel.model.records[0].checkpoint)


def test_the_runs_folder_is_a_setting_that_new_runs_use(qtbot, window, tmp_path):
    other = tmp_path / "elsewhere"
    write_run(other / "old-run", [0.3])
    window.controller.set_runs_dir(other)
    qtbot.waitUntil(lambda: [r.name for r in window.runs_panel.model.records] == ["old-run"],
                    timeout=READ_TIMEOUT_MS)
    assert window.controller.runs_dir == other
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    again = MainWindow(settings=settings)
    qtbot.addWidget(again)
    assert again.controller.runs_dir == other


FOLLOWED_WRITER = textwrap.dedent("""
    import sys
    from engine.config import TrainConfig
    from engine.events import CheckpointSaved
    from engine.training.trainer import Trainer

    def listener(event):
        if isinstance(event, CheckpointSaved) and event.epoch == 1:
            print("saved 1", flush=True)
            sys.stdin.readline()  # the test looks at the window, then lets it finish

    config = TrainConfig(arch="mlp", dataset="mnist", data_dir=sys.argv[1], epochs=2,
                         batch_size=20, device="cpu", seed=1, threads=1)
    Trainer(config, run_dir=sys.argv[2], tensorboard=False).run(listener)
""")


def test_a_run_another_process_writes_appears_and_updates_live(qtbot, window, tmp_path,
                                                                data_dir):
    panel, plots = window.runs_panel, window.plots
    folder = tmp_path / "runs" / "from-a-terminal"
    writer = subprocess.Popen([sys.executable, "-c", FOLLOWED_WRITER, str(data_dir),
                               str(folder)], cwd=REPO, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "saved 1"
        qtbot.waitUntil(lambda: (panel.model.record(str(folder)) is not None
                                 and panel.model.record(str(folder)).epochs_done == 1),
                        timeout=READ_TIMEOUT_MS)
        assert panel.model.record(str(folder)).status == "running"
        row = panel.proxy.mapFromSource(panel.model.index(panel.model.row_of(str(folder)), 3))
        assert row.data() == "Running (1/2)"
        panel.tick(folder)
        qtbot.waitUntil(lambda: str(folder) in plots.overlay_keys() and len(
            plots.overlay_curves(str(folder)).overlay.steps) == 10, timeout=READ_TIMEOUT_MS)

        writer.stdin.write("\n")
        writer.stdin.close()
        assert writer.wait(timeout=60) == 0
        qtbot.waitUntil(lambda: panel.model.record(str(folder)).status == "finished",
                        timeout=READ_TIMEOUT_MS)
        qtbot.waitUntil(lambda: len(plots.overlay_curves(str(folder)).overlay.steps) == 20,
                        timeout=READ_TIMEOUT_MS)
        assert len(plots.overlay_curves(str(folder)).overlay.history) == 2
    finally:
        writer.kill()
        writer.wait()
        writer.stdout.close()


def test_a_running_run_s_batch_file_is_watched_only_while_its_curves_are_shown(qtbot, panel,
                                                                              tmp_path):
    """Its batch file grows many times a second: watching it for nothing started a scan of
    the runs folder at each write, taking CPU from the run being trained."""
    folder = write_run(tmp_path / "runs" / "live", [0.5, 0.6], end=None)
    start(qtbot, panel, 1)
    qtbot.waitUntil(lambda: str(folder / runs.RUN_FILE) in panel.library._watcher.files(),
                    timeout=READ_TIMEOUT_MS)
    assert str(folder / runs.BATCHES_FILE) not in panel.library._watcher.files()
    panel.library.set_overlaid({str(folder)})
    assert str(folder / runs.BATCHES_FILE) in panel.library._watcher.files()
    panel.library.pause()  # its polling timer stops, as when the window hides
