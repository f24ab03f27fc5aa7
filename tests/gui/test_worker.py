"""The training thread's hand-off to the GUI: coalesced, ordered, nothing lost."""

from __future__ import annotations

import pytest

from engine.config import TrainConfig
from engine.events import BatchEnd, DataProgress, EpochEnd, LogLine, RunEnd, RunStart
from gui.worker import UPDATE_INTERVAL_S, TrainingSession, TrainingWorker
from tools.sample_datasets import write_idx_dataset


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def batch(step: int) -> BatchEnd:
    return BatchEnd(epoch=1, batch=step, batches_per_epoch=10_000, step=step, loss=1.0,
                    accuracy=0.5, examples_per_sec=1e5, lr=0.1)


class ScriptedTrainer:
    """Stands in for the engine: reports a scripted stream of events at a scripted pace."""

    def __init__(self, clock: FakeClock, events, seconds_per_event: float) -> None:
        self.clock, self.events, self.pace = clock, events, seconds_per_event

    def run(self, listener, control):
        for event in self.events:
            self.clock.now += self.pace
            listener(event)
        end = RunEnd("finished", "done", 1)
        listener(end)
        return end


def run_worker(trainer, clock):
    worker = TrainingWorker(trainer, control=None, clock=clock)
    updates, ends = [], []
    worker.events.connect(updates.append)
    worker.done.connect(ends.append)
    worker.run()  # on this thread: the signals are delivered directly
    return updates, ends


def test_ten_thousand_batches_a_second_reach_the_gui_as_a_few_updates_a_second(qtbot):
    clock = FakeClock()
    events = [batch(step) for step in range(1, 100_001)]  # 10 s at 10,000 batches/s
    updates, ends = run_worker(ScriptedTrainer(clock, events, 1e-4), clock)

    assert len(updates) <= 10 / UPDATE_INTERVAL_S + 1
    assert len(updates) >= 10 / UPDATE_INTERVAL_S * 0.9  # still live, not starved
    delivered = [e.step for update in updates for e in update]
    assert delivered == list(range(1, 100_001))  # every batch, in order
    assert ends == [RunEnd("finished", "done", 1)]


def test_epoch_ends_and_log_lines_are_delivered_at_once_in_order(qtbot):
    clock = FakeClock()
    epoch = EpochEnd(epoch=1, epochs=1, train_loss=1, train_acc=0.5, val_loss=None,
                     val_acc=None, test_loss=1, test_acc=0.5, lr=0.1, seconds=1)
    start = RunStart("mlp", "mnist", "CPU", 1, 0, 2, 4, 0, 2, 10, ("a", "b"), (1, 28, 28))
    events = [start, batch(1), batch(2), epoch, LogLine("epoch done")]
    updates, _ = run_worker(ScriptedTrainer(clock, events, 1e-6), clock)
    flat = [e for update in updates for e in update]
    assert flat == events
    assert isinstance(updates[-1][-1], LogLine)  # nothing waits for a timer


def test_only_the_latest_download_progress_is_kept(qtbot):
    clock = FakeClock()
    events = [DataProgress("mnist", "Downloading", done, 1000) for done in range(0, 1001, 10)]
    updates, _ = run_worker(ScriptedTrainer(clock, events, 1e-4), clock)
    flat = [e for update in updates for e in update]
    assert len(flat) <= 3
    assert flat[-1].done == 1000


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("worker-data")
    write_idx_dataset(root, n_train=100, n_test=20)
    return root


def test_a_real_session_trains_on_its_thread_and_reports_everything(qtbot, data_dir, tmp_path):
    config = TrainConfig(arch="softmax", dataset="mnist", data_dir=str(data_dir), epochs=2,
                         batch_size=10, device="cpu")
    session = TrainingSession(config, run_dir=tmp_path / "run")
    updates = []
    session.events.connect(updates.append)
    with qtbot.waitSignal(session.finished, timeout=60_000) as finished:
        session.start()
    assert finished.args[0].reason == "finished"
    assert not session.is_running()
    steps = [e.step for update in updates for e in update if isinstance(e, BatchEnd)]
    assert steps == list(range(1, 21))
    assert (tmp_path / "run" / "checkpoint.pt").exists()
