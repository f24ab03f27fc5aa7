"""Training under torchrun: real 2-process gloo runs on the CPU, compared with one process.

Each torchrun run is a subprocess (`python -m torch.distributed.run --standalone`, which
picks a free port) with cwd = this checkout's root, bounded by a timeout so that a hang
fails the test instead of stalling the suite.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.config import ConfigError, TrainConfig
from engine.control import Control
from engine.events import EpochEnd
from engine.records import runs
from engine.records.checkpoint import load_checkpoint
from engine.training import distributed
from engine.training.trainer import Trainer

REPO = Path(__file__).resolve().parents[2]
WORKER = REPO / "tests" / "engine" / "torchrun_worker.py"
TIMEOUT = 240  # seconds; a run takes ~10 s on a busy 2-core machine
METRICS = ("train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc")


def settings(digits_dir: Path) -> TrainConfig:
    """LeNet-5 (no dropout, no BatchNorm): two processes take exactly one process's steps.
    A fixed thread count, as for any comparison of runs (engine/runtime/cpu.py)."""
    return TrainConfig(arch="lenet5-relu", dataset="mnist", data_dir=str(digits_dir), epochs=2,
                       batch_size=20, optimizer="sgd", lr=0.02, val_split=0.1, seed=3,
                       device="cpu", threads=1)


def flags(config: TrainConfig) -> list[str]:
    return ["--arch", config.arch, "--dataset", config.dataset, "--data-dir", config.data_dir,
            "--epochs", str(config.epochs), "--batch-size", str(config.batch_size),
            "--optimizer", config.optimizer, "--lr", str(config.lr),
            "--val-split", str(config.val_split), "--seed", str(config.seed),
            "--device", config.device, "--threads", str(config.threads), "--no-tensorboard"]


def torchrun_command(script: Path, args: list[str]) -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", "--standalone",
            "--nproc_per_node", "2", str(script), *args]


def environment(home: Path) -> dict[str, str]:
    """HOME in the test's folder: the default runs folder (~/.traindesk/runs) is there."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RANK", "LOCAL_RANK"))}
    env.update(HOME=str(home), OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    return env


def torchrun(script: Path, args: list[str], home: Path) -> subprocess.CompletedProcess:
    return subprocess.run(torchrun_command(script, args), cwd=REPO, env=environment(home),
                          capture_output=True, text=True, timeout=TIMEOUT)


def history(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]


def assert_same_metrics(ours: list[dict], theirs: list[dict]) -> None:
    assert [r["epoch"] for r in ours] == [r["epoch"] for r in theirs]
    assert [r["steps"] for r in ours] == [r["steps"] for r in theirs]
    for mine, other in zip(ours, theirs, strict=True):
        for key in METRICS:
            assert math.isclose(mine[key], other[key], rel_tol=1e-4, abs_tol=1e-6), (
                key, mine, other)


def assert_same_weights(ours: dict, theirs: dict) -> None:
    assert list(ours) == list(theirs)  # the plain model's names: no "module." prefix
    for name in ours:
        torch.testing.assert_close(ours[name], theirs[name], rtol=1e-4, atol=1e-5)


def trained_in_one_process(config: TrainConfig, resume_from: Path | None = None,
                           run_dir: Path | None = None) -> tuple[Trainer, list]:
    trainer, events = Trainer(config, run_dir=run_dir, resume_from=resume_from,
                              tensorboard=False), []
    end = trainer.run(events.append)
    assert end.reason in ("finished", "learned_nothing"), end.message  # all epochs trained
    return trainer, events


@pytest.mark.slow
def test_two_processes_resume_train_and_stop_as_one_process_would(digits_dir, tmp_path):
    """One torchrun run for all of it (each costs ~10 s): it resumes a one-process
    checkpoint, trains epochs as one process does, writes one run folder, stops on Ctrl+C,
    and its checkpoint goes on in one process."""
    config = settings(digits_dir)
    first = tmp_path / "first"
    trained_in_one_process(config.replace(epochs=1), run_dir=first)

    evaluations = tmp_path / "evaluation"
    command = torchrun_command(WORKER, [
        "--evaluation", str(evaluations), "train", *flags(config.replace(epochs=10_000)),
        "--resume", str(first / "checkpoint.pt"), "--new-run-dir"])  # `first` stays as it is
    launcher = subprocess.Popen(command, cwd=REPO, env=environment(tmp_path / "home"),
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                start_new_session=True)  # its own group, as a terminal's
    lines = []
    try:
        deadline = time.monotonic() + TIMEOUT
        for line in launcher.stdout:
            lines.append(line)
            if line.startswith("Epoch 3/") or time.monotonic() > deadline:
                break
        os.killpg(launcher.pid, signal.SIGINT)  # what Ctrl+C in the terminal does
        lines += launcher.stdout.readlines()
        launcher.wait(timeout=TIMEOUT)
    finally:
        if launcher.poll() is None:
            os.killpg(launcher.pid, signal.SIGKILL)
            launcher.wait()
    output = "".join(lines)
    assert "Resumed after epoch 1" in output and "Stopped by you after" in output, output
    assert output.count("Run folder:") == 1 and output.count("Epoch 2/10000") == 1
    assert launcher.returncode != 0

    folders = list((tmp_path / "home" / ".traindesk" / "runs").iterdir())
    assert len(folders) == 1  # rank 0 alone chose and wrote it
    record = runs.read_run(folders[0])
    assert (record.status, record.device, record.world_size) == ("stopped", "2 x CPU", 2)
    saved = load_checkpoint(folders[0] / "checkpoint.pt")
    done = saved.epoch
    assert done >= 3 and record.epochs_done == done

    # One process, from the same checkpoint to the same epoch: the same numbers.
    one, events = trained_in_one_process(config.replace(epochs=done),
                                         resume_from=first / "checkpoint.pt")
    assert_same_metrics(record.history, one.history)
    assert_same_weights(saved.model_state, one.checkpoint().model_state)
    # The per-image evaluation the Results tab shows, gathered from both processes' halves.
    ours = [e for e in events if isinstance(e, EpochEnd)][-1].evaluation
    gathered = np.load(f"{evaluations}-{done}.npz")
    np.testing.assert_array_equal(gathered["labels"], ours.labels)
    np.testing.assert_array_equal(gathered["top_classes"], ours.top_classes)
    np.testing.assert_allclose(gathered["top_probs"], ours.top_probs, atol=1e-5)
    np.testing.assert_allclose(gathered["true_probs"], ours.true_probs, atol=1e-5)

    # Resumed in one process, the torchrun checkpoint goes on as the one-process run does.
    more = config.replace(epochs=done + 1)
    resumed, _ = trained_in_one_process(more, resume_from=folders[0] / "checkpoint.pt")
    reference, _ = trained_in_one_process(more, resume_from=first / "checkpoint.pt")
    assert_same_metrics(resumed.history, reference.history)


@pytest.mark.slow
def test_sigterm_to_torchrun_stops_every_process_with_130_and_the_record_says_so(
        digits_dir, tmp_path):
    """`kill` on torchrun (SLURM's scancel, a job's time limit): torchrun passes SIGTERM to
    its processes, which stop together as on Ctrl+C. torchrun itself exits 1 with its own
    traceback about the signal (that is torchrun's: its processes' codes are not its)."""
    config = settings(digits_dir).replace(epochs=10_000)
    folder, codes = tmp_path / "run", tmp_path / "exit-code"
    command = torchrun_command(WORKER, ["--exit-codes", str(codes), "train", *flags(config),
                                        "--run-dir", str(folder)])
    launcher = subprocess.Popen(command, cwd=REPO, env=environment(tmp_path / "home"),
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    try:
        for line in launcher.stdout:
            lines.append(line)
            if line.startswith("Epoch 1/"):
                break
        launcher.send_signal(signal.SIGTERM)  # to torchrun alone, as `kill PID` does
        lines += launcher.stdout.readlines()
        launcher.wait(timeout=TIMEOUT)
    finally:
        if launcher.poll() is None:
            launcher.kill()
            launcher.wait()
    output = "".join(lines)
    assert [Path(f"{codes}-{rank}").read_text() for rank in (0, 1)] == ["130", "130"], output
    assert output.count("Stopped by SIGTERM after") == 1 and output.count("Run folder:") == 1
    record = runs.read_run(folder)
    assert record.status == "stopped" and record.epochs_done >= 1
    assert load_checkpoint(folder / "checkpoint.pt").epoch == record.epochs_done
    assert not (folder / "run.lock").exists()


@pytest.mark.slow
def test_a_rank_that_fails_ends_the_other_with_a_message_and_no_hang(digits_dir, tmp_path):
    config = settings(digits_dir).replace(epochs=50)
    folder = tmp_path / "run"
    steps_per_epoch = 9  # 180 training images (10% held out), batches of 20
    result = torchrun(WORKER, ["--fail", "1", str(steps_per_epoch + 3), "train",
                               *flags(config), "--run-dir", str(folder)], tmp_path / "home")
    assert result.returncode != 0
    assert "[rank 1]" in result.stderr and "injected failure at step 12" in result.stderr
    assert "Another process of this torchrun run failed" in result.stderr
    record = runs.read_run(folder)
    assert record.status == "failed" and "Another process" in record.message
    assert record.epochs_done == 1  # the epoch before the failure is kept
    assert load_checkpoint(folder / "checkpoint.pt").epoch == 1


# -- the pieces, without processes -------------------------------------------------------


def processes(rank: int, world_size: int) -> distributed.Processes:
    return distributed.Processes(rank=rank, world_size=world_size, local_rank=rank,
                                 local_world_size=world_size, device=torch.device("cpu"),
                                 backend="gloo", label=f"{world_size} x CPU")


@pytest.mark.parametrize("world_size", [2, 3, 4])
@pytest.mark.parametrize("batch", [7, 20, 64])
def test_the_shares_of_a_batch_make_it_up_and_weigh_as_the_whole(world_size, batch):
    indices = torch.randperm(100)[:batch]
    shares = [processes(r, world_size).share(indices) for r in range(world_size)]
    assert sorted(torch.cat(shares).tolist()) == sorted(indices.tolist())
    assert max(map(len, shares)) - min(map(len, shares)) <= 1
    # DDP averages the processes' weighted gradients: that must be the whole batch's mean.
    per_example = torch.rand(100, dtype=torch.float64)  # stands for each example's gradient
    averaged = sum(processes(r, world_size).loss_weight(len(share), batch)
                   * per_example[share].mean() for r, share in enumerate(shares)) / world_size
    assert math.isclose(averaged, per_example[indices].mean(), rel_tol=1e-12)


@pytest.mark.parametrize("n", [0, 1, 5, 60, 10_001])
def test_evaluation_slices_cover_every_image_once(n):
    for world_size in (1, 2, 3, 8):
        spans = [processes(r, world_size).span(n) for r in range(world_size)]
        covered = [i for start, stop in spans for i in range(start, stop)]
        assert covered == list(range(n))


def test_a_last_batch_is_kept_when_every_process_gets_two_of_it():
    two = processes(0, 2)
    assert two.batch_count(200, 20) == 10
    assert two.batch_count(203, 20) == 10  # 3 left: one process would get 1
    assert two.batch_count(204, 20) == 11


def test_a_batch_smaller_than_the_processes_is_refused_with_what_to_do():
    with pytest.raises(ConfigError, match="--batch-size 8 or more") as raised:
        processes(0, 4).check_batch_size(3)
    assert raised.value.field == "batch_size"
    processes(0, 4).check_batch_size(4)


def test_a_stop_is_seen_only_once_the_processes_agree():
    control = Control()
    agreed = distributed.AgreedControl(control)
    control.stop()
    assert not agreed.stop_requested  # not before the next flush: the others go on too
    agreed.agreed_stop = True
    assert agreed.stop_requested and not agreed.paused and agreed.take_changes() == {}


def test_threads_per_process_follow_omp_num_threads_or_share_the_cores():
    assert distributed.threads_per_process(2, {"OMP_NUM_THREADS": "3"}) == 3
    cores = len(os.sched_getaffinity(0))
    assert distributed.threads_per_process(2, {}) == max(1, cores // 2)
    assert distributed.threads_per_process(64, {}) == 1


def test_torchrun_is_recognised_by_its_variables():
    env = {"RANK": "0", "WORLD_SIZE": "2", "LOCAL_RANK": "0", "MASTER_ADDR": "localhost",
           "MASTER_PORT": "29500"}
    assert distributed.launched_by_torchrun(env)
    assert not distributed.launched_by_torchrun({k: v for k, v in env.items() if k != "RANK"})


@pytest.mark.parametrize("value", ["abc", "0", "-5"])
def test_a_bad_timeout_says_what_to_do(value):
    with pytest.raises(distributed.DistributedError, match="unset it for the default"):
        distributed.timeout_seconds({distributed.TIMEOUT_ENV: value})
    assert distributed.timeout_seconds({distributed.TIMEOUT_ENV: "60"}) == 60


def test_mps_and_a_missing_gpu_are_refused_before_any_process_waits():
    with pytest.raises(distributed.DistributedError, match="not on Apple's MPS"):
        distributed.start("mps", {"RANK": "0", "WORLD_SIZE": "2", "LOCAL_RANK": "0"})
    if not torch.cuda.is_available():
        with pytest.raises(distributed.DistributedError, match="use --device cpu"):
            distributed.start("cuda", {"RANK": "0", "WORLD_SIZE": "2", "LOCAL_RANK": "0"})


def test_a_lost_process_is_told_from_an_own_failure():
    two = processes(0, 2)
    gloo = RuntimeError("[/pytorch/third_party/gloo/gloo/transport/tcp/pair.cc:545] Read "
                        "error [127.0.0.1]:14226: Connection reset by peer. This is typically")
    assert two.lost_peer(gloo) and not two.lost_peer(RuntimeError("shape mismatch"))
    message = two.lost_peer_message(gloo)
    assert "process 0 of 2 stopped too" in message
    assert "Connection reset by peer" in message and "pair.cc" not in message


# -- one process: a world of one ----------------------------------------------------------


def test_one_process_is_a_world_of_one():
    one, alone = distributed.OneProcess(), processes(0, 1)
    assert (one.rank, one.world_size, one.local_rank, one.local_world_size) == (0, 1, 0, 1)
    assert one.is_main and one.description() == ""  # the log says nothing of spreading
    batch = torch.randperm(100)[:17]
    assert one.share(batch) is batch and torch.equal(alone.share(batch), batch)
    assert one.loss_weight(17, 17) == alone.loss_weight(17, 17) == 1.0
    for n in (0, 1, 5, 60):
        assert one.span(n) == alone.span(n) == (0, n)
    for n, batch_size in ((100, 20), (101, 20), (102, 20), (1, 20), (3, 2)):
        assert one.batch_count(n, batch_size) == alone.batch_count(n, batch_size)
    assert one.batch_count(101, 20) == 5  # a last batch of one would break BatchNorm
    one.check_batch_size(1)  # any batch size has examples for one process
    totals = torch.tensor([1.5, 2.0])
    assert one.sum(totals) is totals
    # The per-batch numbers come back as they are, in one read-back.
    assert one.combine(torch.tensor([0.5, 0.25]), torch.tensor([3, 4]), [8, 7], 0.01) == (
        [0.5, 0.25], [3, 4], [8, 7])
    control = Control()
    assert one.agree(control) is control  # a stop is seen at once: nobody to agree with
    model = torch.nn.Linear(2, 2)
    assert one.wrap(model) is model
    one.sync_buffers(model)
    with one.main_first():
        pass
    assert not one.lost_peer(RuntimeError("Gloo: Connection reset by peer"))
    assert one.ended_together("failed")
    assert one.fixed_threads() is None  # the trainer chooses or tunes its threads itself
    assert one.device_label(None) == "the device" and one.device_label(torch.device("cpu")) == "CPU"


def test_one_process_flushes_by_time_and_draws_the_runs_own_random_numbers():
    one = distributed.OneProcess()

    class Tally:
        pending = 3
        last_flush = time.perf_counter()

    assert not one.flush_due(Tally)
    Tally.last_flush -= distributed.FLUSH_SECONDS
    assert one.flush_due(Tally)
    # On the CPU augmentation draws on from the shuffling generator, with the run's seed.
    shuffling = torch.Generator().manual_seed(7)
    assert one.own_generator(7, torch.device("cpu"), shuffling) is shuffling
    # ... and dropout from the global generator, seeded with it too.
    assert torch.equal(torch.rand(3), torch.rand(3, generator=torch.Generator().manual_seed(7)))
