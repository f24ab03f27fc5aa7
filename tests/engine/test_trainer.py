"""The training loop on tiny generated datasets in the real raw formats."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest
import torch

import engine.training.distributed as distributed_module
import engine.training.loop as loop_module
import engine.training.setup as training_setup
from engine.config import TrainConfig
from engine.control import Control
from engine.events import (
    BatchEnd,
    DataProgress,
    EpochEnd,
    LogLine,
    RunEnd,
    RunEstimate,
    RunStart,
)
from engine.records.checkpoint import load_checkpoint
from engine.training.trainer import Trainer
from tools.sample_datasets import write_idx_dataset, write_image_folder


@pytest.fixture
def config(digits_dir) -> TrainConfig:
    # A fixed thread count: these tests compare runs bit for bit (engine/runtime/cpu.py says why).
    return TrainConfig(arch="mlp", dataset="mnist", data_dir=str(digits_dir), epochs=2,
                       batch_size=20, lr=3e-3, device="cpu", seed=1, threads=1)


def run(config: TrainConfig, control: Control | None = None, **kwargs):
    events = []
    end = Trainer(config, **kwargs).run(events.append, control)
    return end, events


def of(kind, events):
    return [e for e in events if isinstance(e, kind)]


def test_a_run_reports_every_batch_and_epoch_then_finishes(config, tmp_path):
    trainer = Trainer(config.replace(epochs=3), run_dir=tmp_path / "run")
    events = []
    end = trainer.run(events.append)

    assert end.reason == "finished" and end.epochs_done == 3
    assert isinstance(events[-1], RunEnd) and events[-1] == end
    start = of(RunStart, events)[0]
    assert events.index(start) < events.index(of(BatchEnd, events)[0])
    assert (start.train_size, start.test_size, start.batches_per_epoch) == (200, 60, 10)
    batches = of(BatchEnd, events)
    assert [b.step for b in batches] == list(range(1, 31))
    assert [b.batch for b in batches[:10]] == list(range(1, 11))
    epochs = of(EpochEnd, events)
    assert [e.epoch for e in epochs] == [1, 2, 3]
    # The data is learnable: three epochs of an MLP get it nearly all right.
    assert epochs[-1].test_acc >= 0.9
    assert epochs[-1].train_loss < epochs[0].train_loss
    assert trainer.history == [e.as_record() for e in epochs]
    assert "Finished 3 epochs" in end.message

    # The run folder: one metrics line per epoch, the config, a loadable checkpoint.
    lines = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [1, 2, 3]
    assert json.loads((tmp_path / "run" / "config.json").read_text())["arch"] == "mlp"
    saved = load_checkpoint(end.checkpoint_path)
    assert saved.epoch == 3 and saved.history == trainer.history
    for key, value in trainer.model.state_dict().items():
        assert torch.equal(saved.model_state[key], value)


def test_same_seed_same_numbers_on_the_cpu(config):
    config = config.replace(augment=True, val_split=0.1)
    _, first = run(config)
    _, second = run(config)
    _, other_seed = run(config.replace(seed=2))
    losses = [b.loss for b in of(BatchEnd, first)]
    assert losses == [b.loss for b in of(BatchEnd, second)]
    assert losses != [b.loss for b in of(BatchEnd, other_seed)]


def test_validation_split_is_held_out_and_reported(config):
    end, events = run(config.replace(val_split=0.25))
    start = of(RunStart, events)[0]
    assert (start.train_size, start.val_size) == (150, 50)
    assert all(e.val_acc is not None and e.val_loss is not None for e in of(EpochEnd, events))
    assert end.reason == "finished"


@pytest.mark.parametrize("schedule", ["none", "step", "cosine", "onecycle"])
def test_resuming_continues_exactly(config, tmp_path, schedule):
    """2 epochs straight == 1 epoch, save, resume for the 2nd (weights and numbers)."""
    config = config.replace(schedule=schedule, augment=True, optimizer="sgd", lr=0.05)
    straight = Trainer(config)
    straight.run(lambda e: None)

    first = Trainer(config, run_dir=tmp_path / "a")
    control = Control()  # stopped right after epoch 1, as a person's click would
    first.run(lambda e: control.stop() if isinstance(e, EpochEnd) else None, control)
    assert first.epochs_done == 1
    resumed = Trainer(config, run_dir=tmp_path / "b",
                      resume_from=tmp_path / "a" / "checkpoint.pt")
    events = []
    end = resumed.run(events.append)

    assert end.reason == "finished"
    assert of(RunStart, events)[0].start_epoch == 1
    assert [e.epoch for e in of(EpochEnd, events)] == [2]
    assert _without_timing(resumed.history) == _without_timing(straight.history)
    for key, value in straight.model.state_dict().items():
        assert torch.equal(resumed.model.state_dict()[key], value), key


def _without_timing(history: list[dict]) -> list[dict]:
    return [{k: v for k, v in record.items() if k != "seconds"} for record in history]


def test_stop_is_honoured_within_one_batch(config, monkeypatch):
    monkeypatch.setattr(distributed_module, "FLUSH_SECONDS", 0.0)  # report every batch
    control = Control()
    events = []

    def listener(event):
        events.append(event)
        if isinstance(event, BatchEnd) and event.step == 4:
            control.stop()

    end = Trainer(config).run(listener, control)
    assert end.reason == "stopped"
    assert [b.step for b in of(BatchEnd, events)] == [1, 2, 3, 4]
    assert "Stopped" in end.message


def test_pause_blocks_before_the_next_batch_and_resume_finishes(config, monkeypatch):
    monkeypatch.setattr(distributed_module, "FLUSH_SECONDS", 0.0)
    control = Control()
    events = []
    paused = threading.Event()

    def listener(event):
        events.append(event)
        if isinstance(event, BatchEnd) and event.step == 3:
            control.pause()
        if isinstance(event, LogLine) and event.message.startswith("Paused"):
            paused.set()

    thread = threading.Thread(target=lambda: Trainer(config).run(listener, control))
    thread.start()
    assert paused.wait(60), "the trainer never paused"
    # While paused no further batch runs: the last reported batch is the one that paused it.
    assert of(BatchEnd, events)[-1].step == 3
    assert not thread.join(0.2) and thread.is_alive()
    assert of(BatchEnd, events)[-1].step == 3
    control.resume()
    thread.join(60)
    assert not thread.is_alive()
    assert of(RunEnd, events)[0].reason == "finished"
    assert len(of(BatchEnd, events)) == 20


def test_stop_while_paused_ends_the_run(config, monkeypatch):
    monkeypatch.setattr(distributed_module, "FLUSH_SECONDS", 0.0)
    control = Control()

    def listener(event):
        if isinstance(event, BatchEnd) and event.step == 2:
            control.pause()
        if isinstance(event, LogLine) and event.message.startswith("Paused"):
            control.stop()

    end = Trainer(config).run(listener, control)
    assert end.reason == "stopped"


def _model_that_breaks(monkeypatch, after_batches: int, breakage):
    """Make the built model misbehave in training after some batches (a forward hook)."""
    real_build = training_setup.build_model

    def build(*args):
        model = real_build(*args)
        calls = {"n": 0}

        def hook(module, inputs, output):
            if module.training:
                calls["n"] += 1
                if calls["n"] > after_batches:
                    return breakage(output)
            return output

        model.register_forward_hook(hook)
        return model

    monkeypatch.setattr(training_setup, "build_model", build)


def test_nan_loss_stops_as_diverged_and_keeps_the_last_good_weights(config, monkeypatch,
                                                                    tmp_path):
    one_epoch = Trainer(config.replace(epochs=1))
    one_epoch.run(lambda e: None)

    _model_that_breaks(monkeypatch, after_batches=13, breakage=lambda out: out * float("nan"))
    trainer = Trainer(config, run_dir=tmp_path)
    events = []
    end = trainer.run(events.append)

    assert end.reason == "diverged"
    assert "Lower the learning rate" in end.message and "epoch 2" in end.message
    assert trainer.epochs_done == 1
    # Weights are those after epoch 1, identical to a clean one-epoch run.
    for key, value in one_epoch.model.state_dict().items():
        assert torch.equal(trainer.model.state_dict()[key], value)
    saved = load_checkpoint(end.checkpoint_path)
    assert all(torch.isfinite(v).all() for v in saved.model_state.values())


def test_out_of_memory_fails_with_a_smaller_batch_hint(config, monkeypatch):
    def out_of_memory(_):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    _model_that_breaks(monkeypatch, after_batches=3, breakage=out_of_memory)
    trainer = Trainer(config.replace(batch_size=20))
    end = trainer.run(lambda e: None)
    assert end.reason == "failed"
    assert "Out of memory" in end.message and "batch size (e.g. 10)" in end.message
    assert all(torch.isfinite(v).all() for v in trainer.model.state_dict().values())


def test_an_invalid_setting_fails_before_anything_runs(config):
    end, events = run(config.replace(lr=-1.0))
    assert end.reason == "failed" and "Learning rate" in end.message
    assert not of(RunStart, events)


def test_missing_dataset_fails_with_the_loaders_message(config, tmp_path):
    empty = tmp_path / "nothing-here"
    empty.mkdir()

    def offline(*args, **kwargs):
        raise OSError("network is unreachable")

    import urllib.request

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(urllib.request, "urlopen", offline)
        end, events = run(config.replace(dataset="mnist", data_dir=str(empty)))
    assert end.reason == "failed"
    assert "train-images-idx3-ubyte" in end.message
    assert not of(RunStart, events)
    missing = end.missing_data  # the same, as parts a window can offer as actions
    assert missing.title == "MNIST" and missing.folder == str(empty / "MNIST" / "raw")
    assert "train-images-idx3-ubyte.gz" in missing.files and len(missing.files) == 4
    assert missing.source.startswith("http") and "network is unreachable" in missing.details


def test_stop_during_loading_with_a_run_folder_ends_cleanly(config, monkeypatch, tmp_path):
    def loader(name, data_dir, progress, image_size):
        progress(DataProgress(name, "Downloading", 1, 10))
        raise AssertionError("the loader went on after a stop")

    monkeypatch.setattr(training_setup, "load_dataset", loader)
    control = Control()
    control.stop()
    end = Trainer(config, run_dir=tmp_path / "run").run(lambda e: None, control)
    assert end.reason == "stopped" and end.checkpoint_path is None


def test_a_stop_mid_epoch_keeps_the_epoch_boundary_and_resumes_exactly(config, tmp_path,
                                                                        monkeypatch):
    """Stopped in the middle of epoch 2: model, file and history are those after epoch 1,
    and continuing gives exactly the uninterrupted run (one-cycle included)."""
    monkeypatch.setattr(distributed_module, "FLUSH_SECONDS", 0.0)
    config = config.replace(schedule="onecycle", optimizer="sgd", lr=0.05, augment=True)
    straight = Trainer(config)
    straight.run(lambda e: None)

    control = Control()
    stopped = Trainer(config, run_dir=tmp_path / "a")
    end = stopped.run(lambda e: control.stop() if isinstance(e, BatchEnd) and e.step == 15
                      else None, control)
    assert end.reason == "stopped" and end.epochs_done == 1
    assert "after epoch 1 was kept" in end.message
    saved = load_checkpoint(end.checkpoint_path)
    assert saved.epoch == 1 and len(saved.history) == 1
    for key, value in stopped.model.state_dict().items():
        assert torch.equal(saved.model_state[key], value)

    resumed = Trainer(config, resume_from=end.checkpoint_path)
    assert resumed.run(lambda e: None).reason == "finished"
    for key, value in straight.model.state_dict().items():
        assert torch.equal(resumed.model.state_dict()[key], value), key


def test_resuming_with_new_settings_uses_them(config, tmp_path):
    first = Trainer(config.replace(epochs=1, schedule="onecycle"), run_dir=tmp_path / "a")
    first.run(lambda e: None)
    changed = config.replace(epochs=3, schedule="onecycle", batch_size=10, lr=1e-3)
    events = []
    trainer = Trainer(changed, resume_from=tmp_path / "a" / "checkpoint.pt")
    end = trainer.run(events.append)
    assert end.reason == "finished" and end.epochs_done == 3
    assert any("starts afresh over the remaining 2 epochs" in e.message
               for e in of(LogLine, events))
    assert max(b.lr for b in of(BatchEnd, events)) == pytest.approx(1e-3, rel=1e-3)

    plain = Trainer(config.replace(epochs=2, lr=5e-4), resume_from=tmp_path / "a" /
                    "checkpoint.pt")
    events = []
    plain.run(events.append)
    assert {b.lr for b in of(BatchEnd, events)} == {5e-4}


def test_resuming_a_finished_run_says_there_is_nothing_to_do(config, tmp_path):
    Trainer(config, run_dir=tmp_path / "a").run(lambda e: None)
    end = Trainer(config, resume_from=tmp_path / "a" / "checkpoint.pt").run(lambda e: None)
    assert end.reason == "finished"
    assert "Nothing to do" in end.message and "Raise the number of epochs" in end.message


def test_too_few_training_images_are_explained(tmp_path):
    write_idx_dataset(tmp_path, n_train=3, n_test=5)
    config = TrainConfig(arch="mlp", dataset="mnist", data_dir=str(tmp_path), val_split=0.5,
                         device="cpu")
    end, _ = run(config)
    assert end.reason == "failed"
    assert "Lower the validation split" in end.message


def test_a_pause_that_races_with_a_stop_cannot_block_the_run(config, monkeypatch):
    monkeypatch.setattr(distributed_module, "FLUSH_SECONDS", 0.0)
    control = Control()

    def listener(event):
        if isinstance(event, BatchEnd) and event.step == 2:
            control.stop()
            control.pause()  # after the stop: must not leave the trainer waiting

    assert Trainer(config).run(listener, control).reason == "stopped"


def test_a_fixed_thread_count_is_used_for_every_batch(config):
    counts = []
    Trainer(config.replace(threads=2, epochs=1)).run(
        lambda e: counts.append(torch.get_num_threads()) if isinstance(e, BatchEnd) else None)
    assert counts and set(counts) == {2}


def test_auto_threads_follow_the_tuner_and_say_when_they_change(config, monkeypatch):
    decisions = iter(["Training on 1 CPU thread instead of 2: faster."])
    monkeypatch.setattr(training_setup.ThreadTuner, "batch_done",
                        lambda self, examples: next(decisions, None))
    end, events = run(config.replace(threads=0, epochs=1))
    assert end.reason == "finished"
    assert "Training on 1 CPU thread instead of 2: faster." in [e.message
                                                                 for e in of(LogLine, events)]


def test_a_run_at_chance_ends_as_learned_nothing_and_keeps_its_model(config, tmp_path):
    """lr 10 with SGD trains without NaNs but learns nothing: not a "finished" run."""
    config = config.replace(arch="lenet5", optimizer="sgd", lr=10.0)
    trainer = Trainer(config, run_dir=tmp_path / "run")
    end = trainer.run(lambda e: None)

    assert end.reason == "learned_nothing" and end.epochs_done == 2
    assert end.message.startswith("Learned nothing: after 2 epochs the test accuracy is")
    assert "no better than guessing (10.0%)" in end.message
    assert "learning rate 10 is probably too high" in end.message
    # Still a complete record, saved and said so.
    assert end.checkpoint_path == str(tmp_path / "run" / "checkpoint.pt")
    assert f"saved in {end.checkpoint_path}" in end.message
    assert load_checkpoint(end.checkpoint_path).epoch == 2 and trainer.saved.epoch == 2


def test_a_short_run_that_learned_a_little_is_not_flagged(config):
    end, events = run(config.replace(optimizer="sgd", lr=0.002))
    test_acc = of(EpochEnd, events)[-1].test_acc
    assert 0.25 < test_acc < 0.8  # a little, far from good
    assert end.reason == "finished"


def test_a_perfect_run_on_a_tiny_test_set_gets_no_verdict(tmp_path):
    """2 classes x 20 images: 8 test images, all right, cannot tell learning from luck."""
    write_image_folder(tmp_path / "photos", classes=2, per_class=20, size=16)
    config = TrainConfig(arch="softmax", dataset="folder", data_dir=str(tmp_path / "photos"),
                         epochs=5, batch_size=8, lr=3e-3, device="cpu", seed=1, threads=1)
    end, events = run(config)

    assert of(EpochEnd, events)[-1].test_acc == 1.0
    assert end.reason == "finished", end.message
    assert "Learned nothing" not in end.message
    assert ("The test set of 8 images is too small to judge whether the model learned more "
            "than guessing would score (50.0%)") in end.message


def test_a_test_set_of_one_class_is_said_to_tell_nothing(tmp_path):
    photos = write_image_folder(tmp_path / "photos", classes=["a", "b"], per_class=10, size=16)
    for extra in range(1, 10):
        (photos / "b" / f"{extra}.png").unlink()  # b keeps one image: none of it is tested
    config = TrainConfig(arch="softmax", dataset="folder", data_dir=str(photos), epochs=1,
                         batch_size=8, lr=3e-3, device="cpu", seed=1, threads=1)
    end, _ = run(config)

    assert end.reason == "finished", end.message
    assert "Every test image is of one class" in end.message


def test_images_too_small_for_the_network_fail_without_a_traceback(tmp_path):
    import numpy as np

    from tools.sample_datasets import IDX_FILES, write_idx

    rng = np.random.default_rng(0)
    arrays = {"train_images": rng.integers(0, 255, (40, 3, 3), dtype=np.uint8),
              "train_labels": (np.arange(40) % 10).astype(np.uint8),
              "test_images": rng.integers(0, 255, (20, 3, 3), dtype=np.uint8),
              "test_labels": (np.arange(20) % 10).astype(np.uint8)}
    for key, array in arrays.items():
        write_idx(tmp_path / "MNIST" / "raw" / (IDX_FILES[key] + ".gz"), array)
    config = TrainConfig(arch="mlp", dataset="mnist", data_dir=str(tmp_path), device="cpu")
    end, events = run(config)
    assert end.reason == "failed"
    assert "3x3" in end.message and "image size of at least 8" in end.message
    assert not any("Traceback" in e.message for e in of(LogLine, events))


def test_a_pause_first_reports_every_batch_that_ran_before_it(config, monkeypatch):
    monkeypatch.setattr(distributed_module, "FLUSH_SECONDS", 1e9)  # read back only when it must
    control = Control()
    real_step, steps = loop_module.train_step, []

    def step_then_pause_after_three(*args, **kwargs):
        steps.append(1)
        if len(steps) == 3:
            control.pause()
        return real_step(*args, **kwargs)

    monkeypatch.setattr(loop_module, "train_step", step_then_pause_after_three)
    events = []

    def listener(event):
        events.append(event)
        if isinstance(event, LogLine) and event.message.startswith("Paused"):
            control.resume()  # the trainer waits right after this line: it goes on at once

    end = Trainer(config.replace(epochs=1)).run(listener, control)
    assert end.reason == "finished"
    paused = next(e for e in events if isinstance(e, LogLine) and e.message.startswith("Paused"))
    assert paused.message == "Paused at epoch 1, batch 4."
    before = of(BatchEnd, events[:events.index(paused)])
    assert [b.batch for b in before] == [1, 2, 3]


def test_the_run_is_estimated_once_from_its_first_batches(config, monkeypatch):
    monkeypatch.setattr(distributed_module, "FLUSH_SECONDS", 0.0)
    monkeypatch.setattr(loop_module, "ESTIMATE_AFTER_SECONDS", 0.0)
    _, events = run(config.replace(epochs=3))
    estimates = of(RunEstimate, events)
    assert len(estimates) == 1
    estimate = estimates[0]
    batches_before = of(BatchEnd, events[:events.index(estimate)])
    assert len(batches_before) == loop_module.ESTIMATE_AFTER_BATCHES
    assert estimate.epochs == 3 and estimate.device == "CPU"
    assert estimate.seconds_per_epoch > 0
    assert estimate.total_seconds == pytest.approx(3 * estimate.seconds_per_epoch)


def test_a_run_quicker_than_the_estimate_is_estimated_at_its_first_epoch_end(config,
                                                                             monkeypatch):
    monkeypatch.setattr(loop_module, "ESTIMATE_AFTER_SECONDS", 1e9)
    _, events = run(config)
    estimates = of(RunEstimate, events)
    assert len(estimates) == 1
    assert len(of(BatchEnd, events[:events.index(estimates[0])])) == 10  # the whole epoch
    assert events.index(estimates[0]) < events.index(of(EpochEnd, events)[0])


def test_a_resumed_run_estimates_only_the_epochs_it_trains(config, tmp_path):
    first = Trainer(config.replace(epochs=1), run_dir=tmp_path / "run")
    first_end = first.run(lambda e: None)
    _, events = run(config.replace(epochs=3), resume_from=first_end.checkpoint_path)
    (estimate,) = of(RunEstimate, events)
    assert estimate.epochs == 2


def test_messages_name_the_network_and_dataset_and_count_in_the_right_number(config):
    end, events = run(config.replace(epochs=1))
    assert end.message.startswith("Finished 1 epoch:")
    logs = "\n".join(e.message for e in of(LogLine, events))
    assert "Multilayer perceptron: " in logs and "MNIST: 200 training" in logs
    assert "10 classes" in logs and "60 test images" in logs
    assert "mlp:" not in logs and "epochs:" not in end.message


def test_each_epoch_end_carries_the_models_answer_for_every_test_image(config, tmp_path):
    trainer = Trainer(config.replace(epochs=1), run_dir=tmp_path / "run")
    events = []
    trainer.run(events.append)
    start, epoch = of(RunStart, events)[0], of(EpochEnd, events)[0]
    evaluation = epoch.evaluation
    assert evaluation is not None and evaluation.epoch == 1 and len(evaluation) == 60
    # The test images reach the GUI as the dataset's own memory, not a copy.
    assert np.shares_memory(start.test_images, trainer.dataset.test_images.numpy())
    assert start.test_images.shape == (60, 1, 28, 28) and start.test_images.dtype == np.uint8
    assert np.array_equal(start.test_labels, evaluation.labels)

    # The kept answers are the model's: recompute them from the final model.
    with torch.inference_mode():
        x = trainer.setup.pipeline(trainer.dataset.test_images)
        probs = trainer.model.eval()(x).softmax(1).numpy()
    assert evaluation.kept == 10  # every class: the full distribution per image
    assert np.array_equal(evaluation.predicted, probs.argmax(1))
    np.testing.assert_allclose(evaluation.top_probs, -np.sort(-probs, axis=1), atol=1e-5)
    np.testing.assert_allclose(evaluation.true_probs,
                               probs[np.arange(60), evaluation.labels], atol=1e-5)
    assert epoch.test_acc == pytest.approx((evaluation.predicted == evaluation.labels).mean())
    # Shown, never saved: the history and metrics.jsonl hold the numbers only.
    assert "evaluation" not in epoch.as_record()
    assert "evaluation" not in (tmp_path / "run" / "metrics.jsonl").read_text()


def test_the_test_pass_reads_the_device_back_once(config, monkeypatch):
    """Loss, accuracy and every image's answer come back in one transfer per evaluation."""
    reads: list[str] = []
    inside = [False]
    for name in ("item", "tolist", "cpu"):  # (numpy() only works on the host already)
        original = getattr(torch.Tensor, name)

        def counted(self, *args, _original=original, _name=name, **kwargs):
            if inside[0]:
                reads.append(_name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, counted)
    evaluate = loop_module.evaluate

    def watched(*args, **kwargs):
        inside[0] = True
        try:
            return evaluate(*args, **kwargs)
        finally:
            inside[0] = False

    monkeypatch.setattr(loop_module, "evaluate", watched)
    end, events = run(config.replace(epochs=1))
    assert end.reason == "finished" and of(EpochEnd, events)[0].evaluation is not None
    assert reads == ["cpu"]  # one transfer, for the whole test pass
